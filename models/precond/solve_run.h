// One linear system A x = b solved by preconditioned CG (P1, P3, P4, P5):
// the system read and checked for CG, the preconditioner built and timed
// (setup), PCG run and timed (solve), the trace of its residuals kept. The
// driver of `factormer solve` and `factormer bench solve`.
#ifndef FM_SOLVE_RUN_H
#define FM_SOLVE_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "krylov.h"
#include "neuralif.h"
#include "precond.h"
#include "square.h"

// The preconditioners a run can ask for, by their command-line names.
typedef enum fm_solve_precond {
    FM_SOLVE_NONE = 0,
    FM_SOLVE_JACOBI,
    FM_SOLVE_IC0,
    FM_SOLVE_NEURALIF,
    FM_SOLVE_DIRECT,
    FM_SOLVE_PRECONDS      // how many
} fm_solve_precond;

// "none", "jacobi", "ic0", "neuralif", "direct".
const char *fm_solve_precond_name(fm_solve_precond p);
// FM_ERR_INVALID naming the text and the choices.
int fm_solve_precond_parse(fm_solve_precond *out, const char *text, char *msg);

// The system of `matrix` (a Matrix Market file, `symmetric` or `general`)
// checked for CG: square (the reader), symmetric (a `general` file's first
// asymmetric pair named, 1-based), every diagonal entry present and > 0
// (the row named), finite (the reader names the line). `rhs` (may be NULL:
// then b is all ones) is a vector of A's length (else both lengths and both
// files are named), finite. Every message names the file.
int fm_solve_read(fm_square **A, double **b, const char *matrix, const char *rhs, char *msg);
// The checks above on a graph already built: symmetric and a positive
// diagonal. `name` names the matrix in messages (a file, or a generated set's
// member).
int fm_solve_check(const fm_square *A, const char *name, char *msg);

// Called after every PCG iteration with the recursive residual ‖r‖/‖b‖ and
// the seconds since the solve began; nonzero stops the solve.
typedef int (*fm_solve_progress)(void *context, int64_t iteration, double seconds, double relative_residual);

typedef struct fm_solve_options {
    fm_solve_precond precond;
    const char *model;     // neuralif: the checkpoint (NULL: fm_neuralif_default_path)
    const fm_neuralif *network;   // neuralif: a model already loaded (then `model` names its file)
    fm_neuralif_options inference;  // neuralif: drop tolerance, normalize_diag (P5)
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
    fm_solve_precond precond;
    double shift;          // IC(0)'s α (P4), 0 otherwise
    int shift_tries;       // IC(0): factorizations attempted
    int64_t factor_entries;// entries of L (CHOLMOD's factor for direct), 0 for none and Jacobi
    double tol;
    int64_t max_iters;     // the limit the solve ran under
    char *model;           // neuralif: the checkpoint read, else NULL
    double *x;             // n
    fm_solve_step *trace;  // trace_len rows
    int64_t trace_len;
    fm_precond *M;         // with keep_precond, else NULL
} fm_solve_result;

// Builds the preconditioner of opt->precond for A and solves A x = b. A
// breakdown (P3) is FM_ERR_NUMERIC; hitting max_iters is not an error.
int fm_solve_run(fm_solve_result **out, const fm_square *A, const double *b, const fm_solve_options *opt,
                 char *msg);
void fm_solve_result_free(fm_solve_result **r);

// The preconditioner alone, as fm_solve_run builds it; `network` is the
// model of neuralif (ignored otherwise). `setup_seconds` receives the time
// of the build.
int fm_solve_precond_build(fm_precond **M, double *setup_seconds, const fm_square *A, fm_solve_precond precond,
                           const fm_neuralif *network, const fm_neuralif_options *inference,
                           fm_neuralif_info *growth, char *msg);   // growth: neuralif's safeguard (may be NULL)

// iteration,seconds,relative_residual; each line of `comment` (may be NULL)
// first as a line starting with "# ".
int fm_solve_write_trace(const char *path, const fm_solve_result *r, const char *comment, char *msg);

#endif
