// The `factormer` program from the CLI suites (tests/test_cli*.c): a scratch
// directory per test, the program run as a child process (with
// OMP_NUM_THREADS=2), and its outputs read back and checked.
#ifndef FM_TEST_CLI_PROGRAM_H
#define FM_TEST_CLI_PROGRAM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "factormer.h"

//------------------------------------------------------------------------------
// Scratch space and files
//------------------------------------------------------------------------------

// A fresh directory per test: data files at its top, the program's captured
// stdout and stderr in it, and an empty out/ for the program's outputs.
typedef struct scratch {
    char root[256];
    char out[300];
} scratch;

scratch scratch_new(void);
// Remove a file or a directory tree.
void remove_tree(const char *path);
// Called at the end of a passing test; a failing one leaves its files behind.
void scratch_free(const scratch *s);
// The directory holds exactly the given names (NULL-terminated, any order).
void expect_files(const char *dir, ...);

//------------------------------------------------------------------------------
// Running the program
//------------------------------------------------------------------------------

typedef struct run {
    int status;   // the exit code, or 128 + the signal that ended it
    char *out, *err;
} run;

void run_free(run *r);
// The environment of this process with OMP_NUM_THREADS=2.
char **child_environment(void);
// Up to 62 arguments for the program, collected from a NULL-terminated list.
typedef struct arguments {
    char *argv[64];
    int argc;
} arguments;

void arguments_add(arguments *a, const char *arg);
void arguments_add_list(arguments *a, va_list list);
// Run FM_BINARY with the arguments, stdin from /dev/null and stdout, stderr
// captured in files of `s->root`.
run run_arguments(const scratch *s, const arguments *args);
// Another program (mpirun) with the arguments (argv[0] included) in the same way.
run run_executable(const scratch *s, const char *program, const arguments *args);
// FM_BINARY with the NULL-terminated arguments.
run run_program(const scratch *s, ...);
#define RUN(s, ...) run_program((s), __VA_ARGS__, (const char *)NULL)

void expect_success(const run *r);
// Exit code `code` and stderr holding each of the NULL-terminated words.
void expect_failure(const run *r, int code, ...);
#define EXPECT_FAILURE(r, code, ...) expect_failure((r), (code), __VA_ARGS__, (const char *)NULL)

//------------------------------------------------------------------------------
// The program's outputs
//------------------------------------------------------------------------------

bool close_relative(double a, double b, double tol);
// The number after "key": in a summary; NAN for null (the test fails when
// the key is missing or holds something else).
double json_number(const char *json, const char *key);
// Whether "key": "value" is in a summary.
bool json_string_is(const char *json, const char *key, const char *value);
typedef struct trace {
    int rows;
    double *rmse, *holdout, *objective;   // per row; holdout NAN when empty
    char **model;                         // per row: the network's model file, "" for an ADMM row
} trace;

void trace_free(trace *t);
// Read a trace CSV and check it: the header, rows numbered from 0, a filled
// holdout column exactly when `holdout`, and an RMSE that does not rise by
// more than 1e-6 relative from row to row, except onto the output of an
// acceleration network (a row after the first that names a model).
trace check_trace(const char *path, bool holdout);
// A factor the program wrote, of rows x cols.
fm_dense *read_factor(const char *path, int64_t rows, int64_t cols);
// How close the summary's "rmse" must be to the exact RMSE of the written
// factors: the summary is the trace's last row, which the solver always
// computes exactly (a row before it may come from the expansion, within
// FM_TRACE_PRECISION).
#define SUMMARY_RMSE_TOLERANCE 1e-6

// What a successful `factorize ... --out OUT/run` left: exactly four files;
// factors of the right shapes; a trace of summary.iterations + 1 rows that
// ends where the summary says and stopped for the reason it gives; and a
// summary RMSE equal to one recomputed from the written factors over `g`.
typedef struct outputs {
    fm_dense *W, *H;
    char *summary;
} outputs;

outputs check_outputs(const scratch *s, fm_graph *g, int rank, int max_iters, bool holdout);
void outputs_free(outputs *o);
// The graph and the entries of a file, read by the library.
fm_graph *graph_of(const char *path, fm_kind kind);
fm_triplets *read_triplets(const char *path, bool duplicates_are_errors);
// X.mtx in the scratch directory: 40 x 30, planted rank 3, seed 5; coordinates
// when `density` is given (not NULL).
const char *generate(const scratch *s, const char *density);
const char *out_prefix(const scratch *s);

//------------------------------------------------------------------------------
// Bad inputs and tiny models
//------------------------------------------------------------------------------

// `factorize DATA --out OUT/run` and the extra NULL-terminated arguments.
run factorize_bad(const scratch *s, const char *data, ...);
#define FACTORIZE_BAD(s, data, ...) factorize_bad((s), (data), __VA_ARGS__, (const char *)NULL)

void expect_no_outputs(const scratch *s);
// A tiny model (width 8, 1 head, 1 layer, 8 training and 2 + 2 validation
// matrices, 1 epoch: a fraction of a second each).
#define TINY_MODEL "--width", "8", "--heads", "1", "--layers", "1", "--train-size", "8", "--valid-size", "2", \
                   "--valid-steps", "1", "--epochs", "1", "--quiet"

// The scratch directory's models/, with init-rank3.fmw and accel-rank3.fmw
// (tiny_models_new trains both with train_model).
typedef struct tiny_models {
    char dir[320], init[360], accel[360];
} tiny_models;

void train_model(const scratch *s, const char *model, const char *rank, const char *out);
tiny_models tiny_models_new(const scratch *s);

#endif
