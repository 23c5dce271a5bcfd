// Shared test fixtures: scratch directories, files with given text (written
// and read back), words a message must hold, and planted nonnegative problems.
#ifndef FM_TEST_HELPERS_H
#define FM_TEST_HELPERS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "factormer.h"

// A fresh empty directory under /tmp; the returned path is static storage
// valid until the next call.
const char *fm_test_tmpdir(void);
// dir/name, in static storage rotated over 8 slots.
const char *fm_test_path(const char *dir, const char *name);
// Write text to a file (the test fails on error).
void fm_test_write(const char *path, const char *text);
bool fm_test_exists(const char *path);
// Number of entries in a directory, "." and ".." excluded.
int fm_test_count_files(const char *dir);
// The whole file as a NUL-terminated string (bytes after a NUL in it are read
// too), or NULL when it cannot be opened; the same, failing the test when it
// cannot. The caller frees it.
char *fm_test_read_text_or_null(const char *path);
char *fm_test_read_text(const char *path);

// `text` holds each of the NULL-terminated words; the test fails at the first
// one missing with "<what> lacks "<word>":" and the text, `what` naming it
// ("the message", "stderr").
void fm_test_expect_words(const char *what, const char *text, ...);
void fm_test_expect_words_list(const char *what, const char *text, va_list words);
#define FM_TEST_EXPECT_WORDS(what, text, ...) fm_test_expect_words((what), (text), __VA_ARGS__, (const char *)NULL)

// Start the library once per test binary (Criterion init hook).
void fm_test_setup(void);

// Planted X = W·H: W (rows×rank) and H (rank×cols) with i.i.d. Exponential
// entries scaled so that E[x] = 1. Returned as a row-major rows×cols array.
float *fm_test_planted(int64_t rows, int64_t cols, int rank, uint64_t seed);
// Uniform random values in [0, 1).
float *fm_test_uniform(int64_t count, uint64_t seed);
// The graph of a row-major rows×cols array as `kind` (the test fails on error).
fm_graph *fm_test_graph_dense(const float *values, int64_t rows, int64_t cols, fm_kind kind);

// Remove the plain files of a scratch directory, then the directory.
void fm_test_remove_dir(const char *dir);

// x rounded to float, so that a float build sees the same values.
double fm_test_rounded(double x);
// ‖a‖ in double.
double fm_test_norm(const double *a, int64_t n);
// q_j·b_K is the same for every edge of target j and cancels in the softmax:
// the gradient of a layer's key bias is zero in exact arithmetic.
bool fm_test_is_key_bias(const char *name);

// Uniform in [lo, hi) in double; never NULL, even for n = 0.
double *fm_test_uniform_range(int64_t n, uint64_t seed, double lo, double hi);
double *fm_test_copy(const double *x, int64_t n);
float *fm_test_to_float(const double *x, int64_t n);
// ‖(after − before) − expected‖ / ‖expected‖ (absolute when ‖expected‖ = 0);
// before may be NULL (zero).
double fm_test_relative_error(const double *after, const double *before, const double *expected, int64_t n);

// The central difference (loss(x[e] + step) − loss(x[e] − step)) / (2 step)
// of loss(context) in x[e], which is restored.
double fm_test_central_difference(double *x, int64_t e, double step, double (*loss)(void *context),
                                  void *context);

#endif
