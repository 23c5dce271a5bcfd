// `factormer bench solve`: every preconditioner side by side on the same
// systems (P1: iterations, setup, solve and total seconds), with the SpMV and
// triangular-solve rates beside the memory bandwidth measured in the same run.
#ifndef FM_BENCH_SOLVE_H
#define FM_BENCH_SOLVE_H

#include <stdbool.h>
#include <stdint.h>

#include "solve_run.h"

typedef enum fm_bench_solve_set {
    FM_BENCH_SOLVE_FILES = 0,      // the files given (b = ones)
    FM_BENCH_SOLVE_RANDOM_SPD,     // P7's random SPD matrices, test seeds
    FM_BENCH_SOLVE_DIFFUSION,      // P7's diffusion grids, test seeds
} fm_bench_solve_set;

// "files", "random-spd", "diffusion".
const char *fm_bench_solve_set_name(fm_bench_solve_set set);
int fm_bench_solve_set_parse(fm_bench_solve_set *out, const char *text, char *msg);
// "none,jacobi,..." into `methods`; FM_ERR_INVALID naming an unknown one.
int fm_bench_solve_methods_parse(bool methods[FM_SOLVE_PRECONDS], const char *list, char *msg);

typedef struct fm_bench_solve_row fm_bench_solve_row;
// Called after each system × method (index counts from 0 over all of them).
typedef void (*fm_bench_solve_progress)(void *context, const fm_bench_solve_row *row, int64_t index, int64_t total);

typedef struct fm_bench_solve_options {
    fm_bench_solve_set set;
    const char *const *files;  // FM_BENCH_SOLVE_FILES: file_count Matrix Market files
    int file_count;
    int count;                 // generated systems (default 10)
    int64_t size;              // random SPD: n (default 10 000, P7); diffusion: the grid side g (n = g², default 100)
    double tol;                // default 1e-6
    int64_t max_iters;         // 0: PCG's default (10 n)
    bool methods[FM_SOLVE_PRECONDS];   // default all
    const char *model;         // neuralif (NULL: fm_neuralif_default_path)
    fm_neuralif_options inference;  // neuralif's inference options (P5)
    double bandwidth_seconds;  // the bandwidth measurement's time (default 0.3; 0: not measured, NaN)
    fm_bench_solve_progress progress;  // may be NULL
    void *context;
} fm_bench_solve_options;

void fm_bench_solve_defaults(fm_bench_solve_options *opt);

// One system × method.
struct fm_bench_solve_row {
    char matrix[256];          // the file, or "random-spd seed S"
    int64_t n, entries;
    fm_solve_precond method;
    bool converged;
    int64_t iterations;
    double relative_residual;  // true, recomputed
    double setup_seconds, solve_seconds, total_seconds;
    double shift;              // IC(0)
    int64_t factor_entries;
    double spmv_gbs;           // y = A x on this system (the same for every method)
    double apply_gbs;          // z = L⁻ᵀ L⁻¹ r, the two triangular solves (ic0, neuralif; else NaN)
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
    fm_quartiles iterations, setup_seconds, solve_seconds, total_seconds, spmv_gbs, apply_gbs;
} fm_bench_solve_method;

typedef struct fm_bench_solve_report {
    fm_bench_solve_options options;    // files not owned
    int threads;
    double bandwidth_gbs;      // fm_memory_bandwidth, in this run (NaN when not measured)
    char note[512];            // why a method was skipped ("" when none was)
    char *model;               // the neuralif model read, else NULL
    fm_bench_solve_row *rows;
    int64_t row_count;
    fm_bench_solve_method method[FM_SOLVE_PRECONDS];
} fm_bench_solve_report;

int fm_bench_solve(fm_bench_solve_report **out, const fm_bench_solve_options *opt, char *msg);
void fm_bench_solve_report_free(fm_bench_solve_report **r);

// matrix,n,entries,method,converged,iterations,relative_residual,
// setup_seconds,solve_seconds,total_seconds,shift,factor_entries,spmv_gbs,
// apply_gbs,bandwidth_gbs,iterations_1e-3,total_seconds_1e-3,
// iterations_1e-6,total_seconds_1e-6: one row per system × method; the last
// four read off the trace where the run went that far (empty otherwise).
int fm_bench_solve_write_csv(const char *path, const fm_bench_solve_report *r, const char *comment, char *msg);

// Two panels: the median relative residual over the systems against the
// iteration and against the total seconds (setup, then the solve), one curve
// per method, log scale (bench_solve_plot.c, through gnuplot).
int fm_bench_solve_plot(const char *png, const fm_bench_solve_report *r, const char *title, char *msg);

// The quartiles of x[0..n) (sorted in place; NaN entries ignored; all NaN
// when none is left).
fm_quartiles fm_quartiles_of(double *x, int64_t n);

#endif
