// The checks of the dense ops' tests (tests/test_dense_ops.c,
// tests/test_ffn_params.c): finite differences of a double loss, the float
// build against the double one, the same bits on other thread counts.
#ifndef FM_TEST_DENSE_CHECKS_H
#define FM_TEST_DENSE_CHECKS_H

#include <stdint.h>

#include "row_blocks.h"

#define FD_STEP 1e-6
#define FD_TOLERANCE 1e-6      // double backward vs finite differences
#define FLOAT_TOLERANCE 1e-5   // float build vs double build

// Central differences of loss(ctx) with respect to each x[e] (dense_finite_differences).
typedef double (*dense_loss_fn)(void *ctx);

double dense_relative_error_float(const float *a, const double *b, int64_t n);
void dense_expect_gradient(const double *after, const double *before, const double *fd, int64_t n, const char *what);
void dense_expect_float(const float *a, const double *b, int64_t n, const char *what);
void dense_expect_same(const float *a, const float *b, int64_t n, const char *what, int threads);
double dense_weighted_sum(const double *c, const double *out, int64_t n);
double *dense_finite_differences(double *x, int64_t n, dense_loss_fn loss, void *ctx);

// Rows of a thread-count check, 20 blocks: more than one batch of partials
// for 1 and 2 threads, one for 5.
#define MANY_ROWS (20 * FM_ROW_BLOCK - 37)

// The thread counts every result is compared at: 1, 2 and 5.
extern const int dense_thread_counts[3];

#endif
