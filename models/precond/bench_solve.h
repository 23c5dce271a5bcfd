// `factormer bench solve`: every preconditioner side by side on the same
// systems (P1: iterations, setup, solve and total seconds), by CG on SPD sets
// and GMRES(m) on general ones, with the SpMV and triangular-solve rates
// beside the memory bandwidth measured in the same run.
#ifndef FM_BENCH_SOLVE_H
#define FM_BENCH_SOLVE_H

#include <stdbool.h>
#include <stdint.h>

#include "solve_run.h"

typedef enum fm_bench_solve_set {
    FM_BENCH_SOLVE_FILES = 0,      // the files given (b = ones), by the options' method
    FM_BENCH_SOLVE_RANDOM_SPD,     // P7's random SPD matrices, test seeds (CG)
    FM_BENCH_SOLVE_DIFFUSION,      // P7's diffusion grids, test seeds (CG)
    FM_BENCH_SOLVE_CONVECTION,     // P7's convection–diffusion grids, test seeds (GMRES)
    FM_BENCH_SOLVE_RANDOM_GENERAL, // P7's nonsymmetric random class, test seeds (GMRES)
} fm_bench_solve_set;

// "files", "random-spd", "diffusion", "convection", "random-general".
const char *fm_bench_solve_set_name(fm_bench_solve_set set);
int fm_bench_solve_set_parse(fm_bench_solve_set *out, const char *text, char *msg);
// The Krylov method of a set (files: `files_method`).
fm_solve_method fm_bench_solve_set_method(fm_bench_solve_set set, fm_solve_method files_method);

// The methods a benchmark compares: the preconditioners of solve_run.h
// (indexed by fm_solve_precond), and ILUT a second time at another drop
// tolerance ("ilut2"), so that two of its settings sit side by side.
#define FM_BENCH_ILUT_SECOND FM_SOLVE_PRECONDS
#define FM_BENCH_METHODS (FM_SOLVE_PRECONDS + 1)
// The preconditioners' names, and "ilut2".
const char *fm_bench_solve_method_name(int method);
// "none,jacobi,..." into `methods`; FM_ERR_INVALID naming an unknown one.
int fm_bench_solve_methods_parse(bool methods[FM_BENCH_METHODS], const char *list, char *msg);

typedef struct fm_bench_solve_row fm_bench_solve_row;
// Called after each system × method (index counts from 0 over all of them).
typedef void (*fm_bench_solve_progress)(void *context, const fm_bench_solve_row *row, int64_t index, int64_t total);

typedef struct fm_bench_solve_options {
    fm_bench_solve_set set;
    const char *const *files;  // FM_BENCH_SOLVE_FILES: file_count Matrix Market files
    int file_count;
    int count;                 // generated systems (default 10)
    int64_t size;              // random SPD: n (default 10 000, P7); diffusion and convection: the
                               // grid side g (n = g², default 100); random general: n (default 2 000)
    fm_solve_method method;    // the files' Krylov method (default CG; the generated sets have their own)
    double tol;                // default 1e-6
    int64_t max_iters;         // 0: the method's default (10 n)
    int64_t restart;           // GMRES(m) (default 50)
    bool methods[FM_BENCH_METHODS];   // default: all the set's method takes
    bool methods_given;        // false: the default above, whatever `methods` holds
    const char *model;         // neuralif (NULL: fm_neuralif_default_path)
    const char *lu_model;      // learned-lu (NULL: fm_learned_lu_default_path)
    fm_neuralif_options inference;  // neuralif's inference options (P5)
    fm_ilut_options ilut;      // ilut (SuperLU's defaults)
    double ilut_second_drop;   // ilut2: the drop tolerance (default 1e-2), ilut's fill factor
    double bandwidth_seconds;  // the bandwidth measurement's time (default 0.3; 0: not measured, NaN)
    fm_bench_solve_progress progress;  // may be NULL
    void *context;
} fm_bench_solve_options;

void fm_bench_solve_defaults(fm_bench_solve_options *opt);

// One system × method.
struct fm_bench_solve_row {
    char matrix[256];          // the file, or "random-spd seed S"
    int64_t n, entries;
    int method;                // fm_solve_precond, or FM_BENCH_ILUT_SECOND
    bool failed;               // the preconditioner could not be built, or the method broke down
                               // (FM_ERR_NUMERIC: the report's note says why); its figures are NaN
    bool converged;
    int64_t iterations;
    double relative_residual;  // true, recomputed
    double setup_seconds, solve_seconds, total_seconds;
    double shift;              // IC(0)
    int64_t factor_entries;
    int64_t zero_pivots;       // ILU(0)
    bool has_paths;            // a factor's: the path each of its solves took (AUTO's choice)
    fm_solve_path lower_path, upper_path;
    double spmv_gbs;           // y = A x on this system (the same for every method)
    double apply_gbs;          // z = U⁻¹ L⁻¹ r, the two triangular solves (U = Lᵀ for ic0 and neuralif;
                               // ilu0, learned-lu; else NaN)
    fm_solve_step *trace;
    int64_t trace_len;
};

// The median and quartiles of one figure over the systems.
typedef struct fm_quartiles {
    double q1, median, q3;
} fm_quartiles;

typedef struct fm_bench_solve_method {
    bool ran;
    int64_t systems, converged;
    int64_t failed;            // systems it failed on (bench_solve_row.failed)
    fm_quartiles iterations, setup_seconds, solve_seconds, total_seconds, spmv_gbs, apply_gbs;
} fm_bench_solve_method;

typedef struct fm_bench_solve_report {
    fm_bench_solve_options options;    // files not owned
    fm_solve_method method;    // the Krylov method the systems were solved by
    int threads;
    double bandwidth_gbs;      // fm_memory_bandwidth, in this run (NaN when not measured)
    char note[1024];           // why a method was skipped or failed ("" when none was)
    char *model;               // the neuralif model read, else NULL
    char *lu_model;            // the learned-lu model read, else NULL
    fm_bench_solve_row *rows;
    int64_t row_count;
    fm_bench_solve_method methods[FM_BENCH_METHODS];
} fm_bench_solve_report;

// A numerical failure of one method on one system (FM_ERR_NUMERIC: a
// breakdown, a singular factorization) is a failed row and a note, not an
// error: the other methods and systems still run.
int fm_bench_solve(fm_bench_solve_report **out, const fm_bench_solve_options *opt, char *msg);
void fm_bench_solve_report_free(fm_bench_solve_report **r);

// matrix,n,entries,method,converged,iterations,relative_residual,
// setup_seconds,solve_seconds,total_seconds,shift,factor_entries,spmv_gbs,
// apply_gbs,bandwidth_gbs,iterations_1e-3,total_seconds_1e-3,
// iterations_1e-6,total_seconds_1e-6,krylov,zero_pivots,ilut_drop_tolerance,
// lower_solve,upper_solve: one row per system × method (the last two: the
// paths of a factor's solves, fm_solve_path_name; empty without a factor); the four at 1e-3 and 1e-6 read off the trace
// where the run went that far (empty otherwise).
int fm_bench_solve_write_csv(const char *path, const fm_bench_solve_report *r, const char *comment, char *msg);

// Two panels: the median relative residual over the systems against the
// iteration and against the total seconds (setup, then the solve), one curve
// per method, log scale (bench_solve_plot.c, through gnuplot).
int fm_bench_solve_plot(const char *png, const fm_bench_solve_report *r, const char *title, char *msg);

// The quartiles of x[0..n) (sorted in place; NaN entries ignored; all NaN
// when none is left).
fm_quartiles fm_quartiles_of(double *x, int64_t n);

#endif
