// The checks of the dense ops' tests (tests/dense_checks.h).
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "dense_checks.h"
#include "helpers.h"

double dense_relative_error_float(const float *a, const double *b, int64_t n)
{
    double diff = 0, norm = 0;
    for (int64_t e = 0; e < n; e++) {
        diff += (a[e] - b[e]) * (a[e] - b[e]);
        norm += b[e] * b[e];
    }
    return norm > 0 ? sqrt(diff / norm) : sqrt(diff);
}

void dense_expect_gradient(const double *after, const double *before, const double *fd, int64_t n,
                            const char *what)
{
    const double error = fm_test_relative_error(after, before, fd, n);
    cr_assert(error < FD_TOLERANCE, "%s: finite-difference relative error %.3g", what, error);
}

void dense_expect_float(const float *a, const double *b, int64_t n, const char *what)
{
    const double error = dense_relative_error_float(a, b, n);
    cr_assert(error < FLOAT_TOLERANCE, "%s: float vs double relative error %.3g", what, error);
}

void dense_expect_same(const float *a, const float *b, int64_t n, const char *what, int threads)
{
    for (int64_t e = 0; e < n; e++)
        cr_assert(a[e] == b[e], "%s: entry %lld is %.9g with 1 thread, %.9g with %d", what,
                  (long long)e, b[e], a[e], threads);
}

double dense_weighted_sum(const double *c, const double *out, int64_t n)
{
    double loss = 0;
    for (int64_t e = 0; e < n; e++) loss += c[e] * out[e];
    return loss;
}

// Central differences of loss(ctx) with respect to each x[e].
double *dense_finite_differences(double *x, int64_t n, dense_loss_fn loss, void *ctx)
{
    double *grad = malloc(sizeof(double) * (n > 0 ? n : 1));
    cr_assert_not_null(grad);
    for (int64_t e = 0; e < n; e++) grad[e] = fm_test_central_difference(x, e, FD_STEP, loss, ctx);
    return grad;
}

const int dense_thread_counts[3] = { 1, 2, 5 };
