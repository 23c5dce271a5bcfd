// One linear system A x = b solved by preconditioned CG or GMRES(m) (P1,
// P3-P6): the system read and checked for the method, the preconditioner
// built and timed (setup), the Krylov method run and timed (solve), the trace
// of its residuals kept. The driver of `factormer solve` and `factormer bench
// solve`.
#ifndef FM_SOLVE_RUN_H
#define FM_SOLVE_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "krylov.h"
#include "learned_lu.h"
#include "neuralif.h"
#include "precond.h"
#include "square.h"

// The Krylov methods (P3).
typedef enum fm_solve_method {
    FM_SOLVE_CG = 0,       // SPD A
    FM_SOLVE_GMRES,        // general A: GMRES(m), right preconditioning
} fm_solve_method;

// "cg", "gmres"; the parse is FM_ERR_INVALID naming the text.
const char *fm_solve_method_name(fm_solve_method m);
int fm_solve_method_parse(fm_solve_method *out, const char *text, char *msg);

// The preconditioners a run can ask for, by their command-line names.
typedef enum fm_solve_precond {
    FM_SOLVE_NONE = 0,
    FM_SOLVE_JACOBI,
    FM_SOLVE_IC0,          // CG
    FM_SOLVE_NEURALIF,     // CG
    FM_SOLVE_DIRECT,       // CHOLMOD for CG, UMFPACK for GMRES
    FM_SOLVE_ILU0,         // GMRES
    FM_SOLVE_ILUT,         // GMRES
    FM_SOLVE_LEARNED_LU,   // GMRES
    FM_SOLVE_PRECONDS      // how many
} fm_solve_precond;

// "none", "jacobi", "ic0", "neuralif", "direct", "ilu0", "ilut", "learned-lu".
const char *fm_solve_precond_name(fm_solve_precond p);
// FM_ERR_INVALID naming the text and the choices.
int fm_solve_precond_parse(fm_solve_precond *out, const char *text, char *msg);
// Whether `method` takes `p`: CG none, jacobi, ic0, neuralif, direct; GMRES
// none, jacobi, ilu0, ilut, learned-lu, direct.
bool fm_solve_method_takes(fm_solve_method method, fm_solve_precond p);
// The names `method` takes, as "a, b or c" (static storage).
const char *fm_solve_method_preconds(fm_solve_method method);

// The system of `matrix` (a Matrix Market file, `symmetric` or `general`)
// checked for `method` (fm_solve_check): square (the reader), every diagonal
// entry present, finite (the reader names the line). `rhs` (may be NULL:
// then b is all ones) is a vector of A's length (else both lengths and both
// files are named), finite. Every message names the file.
int fm_solve_read(fm_square **A, double **b, const char *matrix, const char *rhs, fm_solve_method method,
                  char *msg);
// The method's checks on a graph already built. CG: symmetric (a `general`
// file's first asymmetric pair named, 1-based, and GMRES suggested) and a
// positive diagonal (the row named). GMRES: none beyond the graph's own.
// `name` names the matrix in messages (a file, or a generated set's member).
int fm_solve_check(const fm_square *A, const char *name, fm_solve_method method, char *msg);

// Called after every PCG iteration with the recursive residual ‖r‖/‖b‖ and
// the seconds since the solve began; nonzero stops the solve.
typedef int (*fm_solve_progress)(void *context, int64_t iteration, double seconds, double relative_residual);

typedef struct fm_solve_options {
    fm_solve_method method;
    fm_solve_precond precond;
    const char *model;     // neuralif, learned-lu: the checkpoint (NULL: the default path)
    const fm_neuralif *network;   // neuralif: a model already loaded (then `model` names its file)
    const fm_learned_lu *lu_network;   // learned-lu: the same
    fm_neuralif_options inference;  // neuralif: drop tolerance, normalize_diag (P5)
    fm_ilut_options ilut;  // ilut: SuperLU's drop tolerance and fill factor
    int64_t restart;       // GMRES(m): m (default 50)
    double tol;            // relative residual (default 1e-6)
    int64_t max_iters;     // 0: PCG's default (10 n)
    fm_solve_progress progress;   // may be NULL
    void *context;
    bool keep_precond;     // keep M in the result (a benchmark times its application)
} fm_solve_options;

void fm_solve_defaults(fm_solve_options *opt);

// One row of the trace: row 0 is the start (x_0 = 0, residual 1).
typedef struct fm_solve_step {
    int64_t iteration;
    double seconds;        // since the solve began (setup not included)
    double relative_residual;   // the recursive ‖r‖/‖b‖ PCG stops on
} fm_solve_step;

typedef struct fm_solve_result {
    int64_t n;
    int64_t iterations;
    bool converged;        // the recursive residual reached tol
    bool stopped;          // the progress callback stopped the solve
    double relative_residual;  // the true ‖b − A x‖/‖b‖, recomputed at the end
    double setup_seconds;  // building M: factorization or network inference (not reading the model file)
    double solve_seconds;  // PCG
    double total_seconds;  // setup + solve
    fm_solve_method method;
    int64_t restart;       // GMRES's m (0 for CG)
    fm_solve_precond precond;
    double shift;          // IC(0)'s α (P4), 0 otherwise
    int shift_tries;       // IC(0): factorizations attempted
    int64_t factor_entries;// entries of L (of L and U for the LU kinds; the direct solver's
                           // factors for direct), 0 for none and Jacobi
    int64_t zero_pivots;   // ILU(0): pivots replaced (P4)
    int64_t clamped;       // learned LU: diagonal entries set to ±ε (P6)
    double drop_tolerance, fill_factor;   // ILUT: SuperLU's, as used
    double tol;
    int64_t max_iters;     // the limit the solve ran under
    char *model;           // neuralif, learned-lu: the checkpoint read, else NULL
    double *x;             // n
    fm_solve_step *trace;  // trace_len rows
    int64_t trace_len;
    bool has_paths;        // the preconditioner is a factor: its triangular solves' paths
    fm_solve_path lower_path, upper_path; // (fm_precond_paths, after the solve)
    fm_precond *M;         // with keep_precond, else NULL
} fm_solve_result;

// Builds the preconditioner of opt->precond for A and solves A x = b by
// opt->method (a preconditioner the method does not take is FM_ERR_INVALID).
// A breakdown (P3) is FM_ERR_NUMERIC; hitting max_iters is not an error.
int fm_solve_run(fm_solve_result **out, const fm_square *A, const double *b, const fm_solve_options *opt,
                 char *msg);
void fm_solve_result_free(fm_solve_result **r);

// What building a preconditioner reports beyond fm_precond_info.
typedef struct fm_solve_built {
    double setup_seconds;  // the time of the build
    fm_neuralif_info growth;   // neuralif's safeguard
    fm_learned_lu_info lu;     // learned-lu's inference step
} fm_solve_built;

// The preconditioner alone, as fm_solve_run builds it from opt's method,
// preconditioner, models (opt->network, opt->lu_network: loaded already)
// and options.
int fm_solve_precond_build(fm_precond **M, fm_solve_built *built, const fm_square *A, const fm_solve_options *opt,
                           char *msg);

// iteration,seconds,relative_residual; each line of `comment` (may be NULL)
// first as a line starting with "# ".
int fm_solve_write_trace(const char *path, const fm_solve_result *r, const char *comment, char *msg);

#endif
