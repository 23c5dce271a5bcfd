// The dense ops (linear, layernorm, relu, FFN) and the parameter block.
// Every backward is checked against central finite differences of the double
// forward (loss = Σ c ⊙ output for random c, so d_out = c); the float build
// against the double one; and every result for 1, 2 and 5 threads (5 threads
// also changes how many blocks of partials are in flight).
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ffn.h"
#include "helpers.h"
#include "layernorm.h"
#include "linear.h"
#include "params.h"
#include "relu.h"
#include "rng.h"
#include "row_blocks.h"

TestSuite(dense_ops, .init = fm_test_setup);

#define FD_STEP 1e-6
#define FD_TOLERANCE 1e-6      // double backward vs finite differences
#define FLOAT_TOLERANCE 1e-5   // float build vs double build

//------------------------------------------------------------------------------
// Arrays and errors
//------------------------------------------------------------------------------


static double relative_error_float(const float *a, const double *b, int64_t n)
{
    double diff = 0, norm = 0;
    for (int64_t e = 0; e < n; e++) {
        diff += (a[e] - b[e]) * (a[e] - b[e]);
        norm += b[e] * b[e];
    }
    return norm > 0 ? sqrt(diff / norm) : sqrt(diff);
}

static void expect_gradient(const double *after, const double *before, const double *fd, int64_t n,
                            const char *what)
{
    const double error = fm_test_relative_error(after, before, fd, n);
    cr_assert(error < FD_TOLERANCE, "%s: finite-difference relative error %.3g", what, error);
}

static void expect_float(const float *a, const double *b, int64_t n, const char *what)
{
    const double error = relative_error_float(a, b, n);
    cr_assert(error < FLOAT_TOLERANCE, "%s: float vs double relative error %.3g", what, error);
}

static void expect_same(const float *a, const float *b, int64_t n, const char *what, int threads)
{
    for (int64_t e = 0; e < n; e++)
        cr_assert(a[e] == b[e], "%s: entry %lld is %.9g with 1 thread, %.9g with %d", what,
                  (long long)e, b[e], a[e], threads);
}

static double weighted_sum(const double *c, const double *out, int64_t n)
{
    double loss = 0;
    for (int64_t e = 0; e < n; e++) loss += c[e] * out[e];
    return loss;
}

// Central differences of loss(ctx) with respect to each x[e].
typedef double (*loss_fn)(void *ctx);
static double *finite_differences(double *x, int64_t n, loss_fn loss, void *ctx)
{
    double *grad = malloc(sizeof(double) * (n > 0 ? n : 1));
    cr_assert_not_null(grad);
    for (int64_t e = 0; e < n; e++) grad[e] = fm_test_central_difference(x, e, FD_STEP, loss, ctx);
    return grad;
}

static const int thread_counts[] = { 1, 2, 5 };

//------------------------------------------------------------------------------
// Linear
//------------------------------------------------------------------------------

typedef struct linear_case {
    int64_t rows;
    int in_dim, out_dim;
    double *in, *weight, *bias, *c, *out;   // bias NULL: no bias
} linear_case;

static linear_case linear_case_new(int64_t rows, int in_dim, int out_dim, bool bias, uint64_t seed)
{
    linear_case k = { rows, in_dim, out_dim, NULL, NULL, NULL, NULL, NULL };
    k.in = fm_test_uniform_range(rows * in_dim, seed, -1, 1);
    k.weight = fm_test_uniform_range((int64_t)out_dim * in_dim, seed + 1, -1, 1);
    k.bias = bias ? fm_test_uniform_range(out_dim, seed + 2, -1, 1) : NULL;
    k.c = fm_test_uniform_range(rows * out_dim, seed + 3, -1, 1);
    k.out = fm_test_uniform_range(rows * out_dim, seed + 4, -1, 1);
    return k;
}

static void linear_case_free(linear_case *k)
{
    free(k->in);
    free(k->weight);
    free(k->bias);
    free(k->c);
    free(k->out);
}

static double linear_loss(void *ctx)
{
    linear_case *k = ctx;
    fm_linear_forward_f64(k->out, k->in, k->weight, k->bias, k->rows, k->in_dim, k->out_dim);
    return weighted_sum(k->c, k->out, k->rows * k->out_dim);
}

static void check_linear_fd(int64_t rows, int in_dim, int out_dim, bool bias)
{
    char msg[FM_MSG_LEN];
    linear_case k = linear_case_new(rows, in_dim, out_dim, bias, 100 + rows);
    const int64_t n_in = rows * in_dim, n_w = (int64_t)out_dim * in_dim;
    // gradients start nonzero: the backward must add to them
    double *d_in0 = fm_test_uniform_range(n_in, 7, -1, 1), *d_w0 = fm_test_uniform_range(n_w, 8, -1, 1), *d_b0 = fm_test_uniform_range(out_dim, 9, -1, 1);
    double *d_in = fm_test_copy(d_in0, n_in), *d_w = fm_test_copy(d_w0, n_w), *d_b = fm_test_copy(d_b0, out_dim);
    cr_assert_eq(fm_linear_backward_f64(d_in, d_w, bias ? d_b : NULL, k.c, k.in, k.weight, rows, in_dim,
                                        out_dim, msg),
                 FM_OK, "%s", msg);
    double *fd_in = finite_differences(k.in, n_in, linear_loss, &k);
    double *fd_w = finite_differences(k.weight, n_w, linear_loss, &k);
    char what[96];
    snprintf(what, sizeof what, "linear %lld rows, bias %d: d_in", (long long)rows, bias);
    expect_gradient(d_in, d_in0, fd_in, n_in, what);
    snprintf(what, sizeof what, "linear %lld rows, bias %d: d_weight", (long long)rows, bias);
    expect_gradient(d_w, d_w0, fd_w, n_w, what);
    if (bias) {
        double *fd_b = finite_differences(k.bias, out_dim, linear_loss, &k);
        snprintf(what, sizeof what, "linear %lld rows: d_bias", (long long)rows);
        expect_gradient(d_b, d_b0, fd_b, out_dim, what);
        free(fd_b);
    } else {
        for (int c = 0; c < out_dim; c++) cr_assert_eq(d_b[c], d_b0[c], "d_bias not passed, not touched");
    }
    free(fd_in);
    free(fd_w);
    free(d_in0);
    free(d_w0);
    free(d_b0);
    free(d_in);
    free(d_w);
    free(d_b);
    linear_case_free(&k);
}

Test(dense_ops, linear_backward_matches_finite_differences)
{
    const int64_t rows[] = { 0, 1, 7, 300 };
    for (int r = 0; r < 4; r++) {
        check_linear_fd(rows[r], 5, 4, true);
        check_linear_fd(rows[r], 5, 4, false);
    }
    check_linear_fd(3, 1, 6, true);   // one input, one output column
    check_linear_fd(3, 6, 1, true);
}

Test(dense_ops, linear_forward_is_the_formula)
{
    // out = in · weightᵀ + bias, by hand, in both builds; rows spanning 3 blocks
    const int64_t rows = 2 * FM_ROW_BLOCK + 9;
    const int in_dim = 3, out_dim = 2;
    linear_case k = linear_case_new(rows, in_dim, out_dim, true, 5);
    float *in = fm_test_to_float(k.in, rows * in_dim), *w = fm_test_to_float(k.weight, out_dim * in_dim);
    float *b = fm_test_to_float(k.bias, out_dim), *out = malloc(sizeof(float) * rows * out_dim);
    fm_linear_forward_f64(k.out, k.in, k.weight, k.bias, rows, in_dim, out_dim);
    fm_linear_forward(out, in, w, b, rows, in_dim, out_dim);
    for (int64_t r = 0; r < rows; r++)
        for (int c = 0; c < out_dim; c++) {
            double expected = k.bias[c];
            for (int i = 0; i < in_dim; i++) expected += k.in[r * in_dim + i] * k.weight[c * in_dim + i];
            cr_assert(fabs(k.out[r * out_dim + c] - expected) < 1e-12, "double row %lld col %d", (long long)r, c);
            cr_assert(fabs(out[r * out_dim + c] - expected) < 1e-5, "float row %lld col %d", (long long)r, c);
        }
    // no bias: no bias added
    fm_linear_forward_f64(k.out, k.in, k.weight, NULL, rows, in_dim, out_dim);
    for (int c = 0; c < out_dim; c++) {
        double expected = 0;
        for (int i = 0; i < in_dim; i++) expected += k.in[(rows - 1) * in_dim + i] * k.weight[c * in_dim + i];
        cr_assert(fabs(k.out[(rows - 1) * out_dim + c] - expected) < 1e-12);
    }
    free(in);
    free(w);
    free(b);
    free(out);
    linear_case_free(&k);
}

Test(dense_ops, linear_backward_parts_are_independent)
{
    // asking for one gradient gives exactly what asking for all three gives
    char msg[FM_MSG_LEN];
    const int64_t rows = 700;
    const int in_dim = 6, out_dim = 5;
    linear_case k = linear_case_new(rows, in_dim, out_dim, true, 17);
    const int64_t n_in = rows * in_dim, n_w = out_dim * in_dim;
    double *d_in = fm_test_uniform_range(n_in, 1, -1, 1), *d_w = fm_test_uniform_range(n_w, 2, -1, 1), *d_b = fm_test_uniform_range(out_dim, 3, -1, 1);
    double *d_in1 = fm_test_copy(d_in, n_in), *d_w1 = fm_test_copy(d_w, n_w), *d_b1 = fm_test_copy(d_b, out_dim);
    cr_assert_eq(fm_linear_backward_f64(d_in, d_w, d_b, k.c, k.in, k.weight, rows, in_dim, out_dim, msg), FM_OK);
    cr_assert_eq(fm_linear_backward_f64(d_in1, NULL, NULL, k.c, k.in, k.weight, rows, in_dim, out_dim, msg), FM_OK);
    cr_assert_eq(fm_linear_backward_f64(NULL, d_w1, NULL, k.c, k.in, k.weight, rows, in_dim, out_dim, msg), FM_OK);
    cr_assert_eq(fm_linear_backward_f64(NULL, NULL, d_b1, k.c, k.in, k.weight, rows, in_dim, out_dim, msg), FM_OK);
    cr_assert_eq(fm_linear_backward_f64(NULL, NULL, NULL, k.c, k.in, k.weight, rows, in_dim, out_dim, msg), FM_OK);
    cr_assert_arr_eq(d_in, d_in1, sizeof(double) * n_in, "d_in alone");
    cr_assert_arr_eq(d_w, d_w1, sizeof(double) * n_w, "d_weight alone");
    cr_assert_arr_eq(d_b, d_b1, sizeof(double) * out_dim, "d_bias alone");
    free(d_in);
    free(d_w);
    free(d_b);
    free(d_in1);
    free(d_w1);
    free(d_b1);
    linear_case_free(&k);
}

// Float forward and backward of one linear case; outputs into the given arrays.
static void linear_float(float *out, float *d_in, float *d_w, float *d_b, const linear_case *k)
{
    char msg[FM_MSG_LEN];
    const int64_t n_in = k->rows * k->in_dim, n_w = (int64_t)k->out_dim * k->in_dim;
    float *in = fm_test_to_float(k->in, n_in), *w = fm_test_to_float(k->weight, n_w), *b = fm_test_to_float(k->bias, k->out_dim);
    float *c = fm_test_to_float(k->c, k->rows * k->out_dim);
    fm_linear_forward(out, in, w, b, k->rows, k->in_dim, k->out_dim);
    memset(d_in, 0, sizeof(float) * n_in);
    memset(d_w, 0, sizeof(float) * n_w);
    memset(d_b, 0, sizeof(float) * k->out_dim);
    cr_assert_eq(fm_linear_backward(d_in, d_w, d_b, c, in, w, k->rows, k->in_dim, k->out_dim, msg), FM_OK,
                 "%s", msg);
    free(in);
    free(w);
    free(b);
    free(c);
}

// 20 blocks: more than one batch of partials for 1 and 2 threads, one for 5
#define MANY_ROWS (20 * FM_ROW_BLOCK - 37)

Test(dense_ops, linear_float_matches_double)
{
    char msg[FM_MSG_LEN];
    const int64_t rows = MANY_ROWS;
    const int in_dim = 24, out_dim = 16;
    linear_case k = linear_case_new(rows, in_dim, out_dim, true, 23);
    const int64_t n_in = rows * in_dim, n_w = out_dim * in_dim, n_out = rows * out_dim;
    double *d_in = calloc(n_in, sizeof(double)), *d_w = calloc(n_w, sizeof(double));
    double *d_b = calloc(out_dim, sizeof(double));
    fm_linear_forward_f64(k.out, k.in, k.weight, k.bias, rows, in_dim, out_dim);
    cr_assert_eq(fm_linear_backward_f64(d_in, d_w, d_b, k.c, k.in, k.weight, rows, in_dim, out_dim, msg), FM_OK);
    float *out = malloc(sizeof(float) * n_out), *f_in = malloc(sizeof(float) * n_in);
    float *f_w = malloc(sizeof(float) * n_w), *f_b = malloc(sizeof(float) * out_dim);
    linear_float(out, f_in, f_w, f_b, &k);
    expect_float(out, k.out, n_out, "linear out");
    expect_float(f_in, d_in, n_in, "linear d_in");
    expect_float(f_w, d_w, n_w, "linear d_weight");
    expect_float(f_b, d_b, out_dim, "linear d_bias");
    free(d_in);
    free(d_w);
    free(d_b);
    free(out);
    free(f_in);
    free(f_w);
    free(f_b);
    linear_case_free(&k);
}

Test(dense_ops, linear_same_for_any_thread_count)
{
    const int64_t rows = MANY_ROWS;
    const int in_dim = 24, out_dim = 16;
    linear_case k = linear_case_new(rows, in_dim, out_dim, true, 29);
    const int64_t n_in = rows * in_dim, n_w = out_dim * in_dim, n_out = rows * out_dim;
    float *ref[4] = { NULL };
    for (int t = 0; t < 3; t++) {
        fm_set_threads(thread_counts[t]);
        float *out = malloc(sizeof(float) * n_out), *d_in = malloc(sizeof(float) * n_in);
        float *d_w = malloc(sizeof(float) * n_w), *d_b = malloc(sizeof(float) * out_dim);
        linear_float(out, d_in, d_w, d_b, &k);
        if (t == 0) {
            ref[0] = out, ref[1] = d_in, ref[2] = d_w, ref[3] = d_b;
            continue;
        }
        expect_same(out, ref[0], n_out, "linear out", thread_counts[t]);
        expect_same(d_in, ref[1], n_in, "linear d_in", thread_counts[t]);
        expect_same(d_w, ref[2], n_w, "linear d_weight", thread_counts[t]);
        expect_same(d_b, ref[3], out_dim, "linear d_bias", thread_counts[t]);
        free(out);
        free(d_in);
        free(d_w);
        free(d_b);
    }
    fm_set_threads(0);
    for (int a = 0; a < 4; a++) free(ref[a]);
    linear_case_free(&k);
}

//------------------------------------------------------------------------------
// LayerNorm
//------------------------------------------------------------------------------

typedef struct layernorm_case {
    int64_t rows;
    int d;
    double *in, *gamma, *beta, *c, *out, *mean, *rstd;
} layernorm_case;

static layernorm_case layernorm_case_new(int64_t rows, int d, uint64_t seed)
{
    layernorm_case k = { rows, d, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
    k.in = fm_test_uniform_range(rows * d, seed, -2, 2);
    k.gamma = fm_test_uniform_range(d, seed + 1, 0.5, 1.5);
    k.beta = fm_test_uniform_range(d, seed + 2, -1, 1);
    k.c = fm_test_uniform_range(rows * d, seed + 3, -1, 1);
    k.out = fm_test_uniform_range(rows * d, seed + 4, -1, 1);
    k.mean = fm_test_uniform_range(rows, seed + 5, -1, 1);
    k.rstd = fm_test_uniform_range(rows, seed + 6, -1, 1);
    return k;
}

static void layernorm_case_free(layernorm_case *k)
{
    free(k->in);
    free(k->gamma);
    free(k->beta);
    free(k->c);
    free(k->out);
    free(k->mean);
    free(k->rstd);
}

static double layernorm_loss(void *ctx)
{
    layernorm_case *k = ctx;
    fm_layernorm_forward_f64(k->out, k->mean, k->rstd, k->in, k->gamma, k->beta, k->rows, k->d);
    return weighted_sum(k->c, k->out, k->rows * k->d);
}

Test(dense_ops, layernorm_backward_matches_finite_differences)
{
    char msg[FM_MSG_LEN];
    const int64_t rows_list[] = { 0, 1, 7, 300 };
    for (int r = 0; r < 4; r++) {
        const int64_t rows = rows_list[r];
        const int d = 10;
        layernorm_case k = layernorm_case_new(rows, d, 200 + rows);
        double *d_in0 = fm_test_uniform_range(rows * d, 1, -1, 1), *d_g0 = fm_test_uniform_range(d, 2, -1, 1), *d_b0 = fm_test_uniform_range(d, 3, -1, 1);
        double *d_in = fm_test_copy(d_in0, rows * d), *d_g = fm_test_copy(d_g0, d), *d_b = fm_test_copy(d_b0, d);
        layernorm_loss(&k);   // the saved mean and rstd
        cr_assert_eq(fm_layernorm_backward_f64(d_in, d_g, d_b, k.c, k.in, k.gamma, k.mean, k.rstd, rows, d,
                                               msg),
                     FM_OK, "%s", msg);
        double *fd_in = finite_differences(k.in, rows * d, layernorm_loss, &k);
        double *fd_g = finite_differences(k.gamma, d, layernorm_loss, &k);
        double *fd_b = finite_differences(k.beta, d, layernorm_loss, &k);
        char what[64];
        snprintf(what, sizeof what, "layernorm %lld rows: d_in", (long long)rows);
        expect_gradient(d_in, d_in0, fd_in, rows * d, what);
        snprintf(what, sizeof what, "layernorm %lld rows: d_gamma", (long long)rows);
        expect_gradient(d_g, d_g0, fd_g, d, what);
        snprintf(what, sizeof what, "layernorm %lld rows: d_beta", (long long)rows);
        expect_gradient(d_b, d_b0, fd_b, d, what);
        free(fd_in);
        free(fd_g);
        free(fd_b);
        free(d_in0);
        free(d_g0);
        free(d_b0);
        free(d_in);
        free(d_g);
        free(d_b);
        layernorm_case_free(&k);
    }
}

Test(dense_ops, layernorm_forward_normalizes)
{
    // gamma = 1, beta = 0: every row has mean 0 and variance 1 − eps/(var + eps);
    // out may alias in
    const int64_t rows = 3 * FM_ROW_BLOCK + 1;
    const int d = 16;
    double *x = fm_test_uniform_range(rows * d, 3, -3, 5), *mean = malloc(sizeof(double) * rows);
    double *rstd = malloc(sizeof(double) * rows), *gamma = malloc(sizeof(double) * d);
    double *beta = calloc(d, sizeof(double)), *x0 = fm_test_copy(x, rows * d);
    for (int i = 0; i < d; i++) gamma[i] = 1;
    fm_layernorm_forward_f64(x, mean, rstd, x, gamma, beta, rows, d);
    for (int64_t r = 0; r < rows; r++) {
        double m = 0, v = 0, m0 = 0, v0 = 0;
        for (int i = 0; i < d; i++) m += x[r * d + i], m0 += x0[r * d + i];
        m /= d, m0 /= d;
        for (int i = 0; i < d; i++)
            v += (x[r * d + i] - m) * (x[r * d + i] - m), v0 += (x0[r * d + i] - m0) * (x0[r * d + i] - m0);
        v /= d, v0 /= d;
        cr_assert(fabs(m) < 1e-12, "row %lld mean %g", (long long)r, m);
        cr_assert(fabs(v - v0 / (v0 + FM_LAYERNORM_EPS)) < 1e-12, "row %lld variance %g", (long long)r, v);
        cr_assert(fabs(mean[r] - m0) < 1e-12, "saved mean");
        cr_assert(fabs(rstd[r] - 1 / sqrt(v0 + FM_LAYERNORM_EPS)) < 1e-9, "saved rstd");
    }
    free(x);
    free(x0);
    free(mean);
    free(rstd);
    free(gamma);
    free(beta);
}

static void layernorm_float(float *out, float *d_in, float *d_g, float *d_b, const layernorm_case *k)
{
    char msg[FM_MSG_LEN];
    const int64_t n = k->rows * k->d;
    float *in = fm_test_to_float(k->in, n), *gamma = fm_test_to_float(k->gamma, k->d), *beta = fm_test_to_float(k->beta, k->d);
    float *c = fm_test_to_float(k->c, n), *mean = malloc(sizeof(float) * k->rows), *rstd = malloc(sizeof(float) * k->rows);
    fm_layernorm_forward(out, mean, rstd, in, gamma, beta, k->rows, k->d);
    memset(d_in, 0, sizeof(float) * n);
    memset(d_g, 0, sizeof(float) * k->d);
    memset(d_b, 0, sizeof(float) * k->d);
    cr_assert_eq(fm_layernorm_backward(d_in, d_g, d_b, c, in, gamma, mean, rstd, k->rows, k->d, msg), FM_OK,
                 "%s", msg);
    free(in);
    free(gamma);
    free(beta);
    free(c);
    free(mean);
    free(rstd);
}

Test(dense_ops, layernorm_float_matches_double)
{
    char msg[FM_MSG_LEN];
    const int64_t rows = MANY_ROWS;
    const int d = 32;
    layernorm_case k = layernorm_case_new(rows, d, 31);
    double *d_in = calloc(rows * d, sizeof(double)), *d_g = calloc(d, sizeof(double));
    double *d_b = calloc(d, sizeof(double));
    layernorm_loss(&k);
    cr_assert_eq(fm_layernorm_backward_f64(d_in, d_g, d_b, k.c, k.in, k.gamma, k.mean, k.rstd, rows, d, msg),
                 FM_OK);
    float *out = malloc(sizeof(float) * rows * d), *f_in = malloc(sizeof(float) * rows * d);
    float *f_g = malloc(sizeof(float) * d), *f_b = malloc(sizeof(float) * d);
    layernorm_float(out, f_in, f_g, f_b, &k);
    expect_float(out, k.out, rows * d, "layernorm out");
    expect_float(f_in, d_in, rows * d, "layernorm d_in");
    expect_float(f_g, d_g, d, "layernorm d_gamma");
    expect_float(f_b, d_b, d, "layernorm d_beta");
    free(d_in);
    free(d_g);
    free(d_b);
    free(out);
    free(f_in);
    free(f_g);
    free(f_b);
    layernorm_case_free(&k);
}

Test(dense_ops, layernorm_same_for_any_thread_count)
{
    const int64_t rows = MANY_ROWS;
    const int d = 32;
    layernorm_case k = layernorm_case_new(rows, d, 37);
    float *ref[4] = { NULL };
    for (int t = 0; t < 3; t++) {
        fm_set_threads(thread_counts[t]);
        float *out = malloc(sizeof(float) * rows * d), *d_in = malloc(sizeof(float) * rows * d);
        float *d_g = malloc(sizeof(float) * d), *d_b = malloc(sizeof(float) * d);
        layernorm_float(out, d_in, d_g, d_b, &k);
        if (t == 0) {
            ref[0] = out, ref[1] = d_in, ref[2] = d_g, ref[3] = d_b;
            continue;
        }
        expect_same(out, ref[0], rows * d, "layernorm out", thread_counts[t]);
        expect_same(d_in, ref[1], rows * d, "layernorm d_in", thread_counts[t]);
        expect_same(d_g, ref[2], d, "layernorm d_gamma", thread_counts[t]);
        expect_same(d_b, ref[3], d, "layernorm d_beta", thread_counts[t]);
        free(out);
        free(d_in);
        free(d_g);
        free(d_b);
    }
    fm_set_threads(0);
    for (int a = 0; a < 4; a++) free(ref[a]);
    layernorm_case_free(&k);
}

//------------------------------------------------------------------------------
// ReLU
//------------------------------------------------------------------------------

typedef struct relu_case {
    int64_t count;
    double *in, *c, *out;
} relu_case;

static double relu_loss(void *ctx)
{
    relu_case *k = ctx;
    fm_relu_forward_f64(k->out, k->in, k->count);
    return weighted_sum(k->c, k->out, k->count);
}

Test(dense_ops, relu_backward_matches_finite_differences)
{
    const int64_t count = 7 * 13;
    relu_case k = { count, fm_test_uniform_range(count, 41, -1, 1), fm_test_uniform_range(count, 42, -1, 1), fm_test_uniform_range(count, 43, -1, 1) };
    for (int64_t e = 0; e < count; e++)   // away from the kink: |x| >= 0.1
        k.in[e] = k.in[e] < 0 ? k.in[e] - 0.1 : k.in[e] + 0.1;
    relu_loss(&k);
    double *d_in0 = fm_test_uniform_range(count, 44, -1, 1), *d_in = fm_test_copy(d_in0, count);
    fm_relu_backward_f64(d_in, k.c, k.out, count);
    double *fd = finite_differences(k.in, count, relu_loss, &k);
    expect_gradient(d_in, d_in0, fd, count, "relu d_in");
    int positive = 0;
    for (int64_t e = 0; e < count; e++) positive += k.out[e] > 0;
    cr_assert(positive > 0 && positive < count, "both sides of the kink are tested");
    // float build, and in place
    float *x = fm_test_to_float(k.in, count), *c = fm_test_to_float(k.c, count), *dx = calloc(count, sizeof(float));
    fm_relu_forward(x, x, count);
    fm_relu_backward(dx, c, x, count);
    expect_float(x, k.out, count, "relu out");
    for (int64_t e = 0; e < count; e++) d_in[e] -= d_in0[e];
    expect_float(dx, d_in, count, "relu d_in");
    free(x);
    free(c);
    free(dx);
    free(fd);
    free(d_in0);
    free(d_in);
    free(k.in);
    free(k.c);
    free(k.out);
}

//------------------------------------------------------------------------------
// FFN
//------------------------------------------------------------------------------

typedef struct ffn_case {
    int64_t rows;
    int d;
    double *in, *w1, *b1, *w2, *b2, *c, *out, *hidden;
} ffn_case;

static ffn_case ffn_case_new(int64_t rows, int d, uint64_t seed)
{
    const int h = FM_FFN_HIDDEN(d);
    ffn_case k = { rows, d, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
    k.in = fm_test_uniform_range(rows * d, seed, -1, 1);
    k.w1 = fm_test_uniform_range((int64_t)h * d, seed + 1, -0.6, 0.6);
    k.b1 = fm_test_uniform_range(h, seed + 2, -0.3, 0.3);
    k.w2 = fm_test_uniform_range((int64_t)d * h, seed + 3, -0.6, 0.6);
    k.b2 = fm_test_uniform_range(d, seed + 4, -0.3, 0.3);
    k.c = fm_test_uniform_range(rows * d, seed + 5, -1, 1);
    k.out = fm_test_uniform_range(rows * d, seed + 6, -1, 1);
    k.hidden = fm_test_uniform_range(rows * h, seed + 7, -1, 1);
    return k;
}

static void ffn_case_free(ffn_case *k)
{
    free(k->in);
    free(k->w1);
    free(k->b1);
    free(k->w2);
    free(k->b2);
    free(k->c);
    free(k->out);
    free(k->hidden);
}

static double ffn_loss(void *ctx)
{
    ffn_case *k = ctx;
    fm_ffn_forward_f64(k->out, k->hidden, k->in, k->w1, k->b1, k->w2, k->b2, k->rows, k->d);
    return weighted_sum(k->c, k->out, k->rows * k->d);
}

Test(dense_ops, ffn_backward_matches_finite_differences)
{
    char msg[FM_MSG_LEN];
    const int64_t rows_list[] = { 0, 1, 7, 300 };
    for (int r = 0; r < 4; r++) {
        const int64_t rows = rows_list[r];
        const int d = 6, h = FM_FFN_HIDDEN(d);
        ffn_case k = ffn_case_new(rows, d, 300 + rows);
        const int64_t sizes[5] = { rows * d, (int64_t)h * d, h, (int64_t)d * h, d };
        double *vars[5] = { k.in, k.w1, k.b1, k.w2, k.b2 }, *before[5], *grads[5];
        for (int v = 0; v < 5; v++) {
            before[v] = fm_test_uniform_range(sizes[v], 50 + v, -1, 1);
            grads[v] = fm_test_copy(before[v], sizes[v]);
        }
        double *scratch = fm_test_uniform_range(rows * h, 60, -1, 1);   // overwritten, whatever it holds
        ffn_loss(&k);
        cr_assert_eq(fm_ffn_backward_f64(grads[0], grads[1], grads[2], grads[3], grads[4], scratch, k.c, k.in,
                                         k.hidden, k.w1, k.w2, rows, d, msg),
                     FM_OK, "%s", msg);
        static const char *names[5] = { "d_in", "d_w1", "d_b1", "d_w2", "d_b2" };
        for (int v = 0; v < 5; v++) {
            double *fd = finite_differences(vars[v], sizes[v], ffn_loss, &k);
            char what[64];
            snprintf(what, sizeof what, "ffn %lld rows: %s", (long long)rows, names[v]);
            expect_gradient(grads[v], before[v], fd, sizes[v], what);
            free(fd);
            free(before[v]);
            free(grads[v]);
        }
        if (rows > 0) {   // the hidden layer is live: some units on, some off
            int positive = 0;
            for (int64_t e = 0; e < rows * h; e++) positive += k.hidden[e] > 0;
            cr_assert(positive > 0 && positive < rows * h);
        }
        free(scratch);
        ffn_case_free(&k);
    }
}

Test(dense_ops, ffn_backward_of_the_second_layer_only)
{
    // d_in, d_w1, d_b1 not wanted: d_hidden may be NULL, and d_w2, d_b2 are
    // exactly those of the full backward
    char msg[FM_MSG_LEN];
    const int64_t rows = 300;
    const int d = 6, h = FM_FFN_HIDDEN(d);
    ffn_case k = ffn_case_new(rows, d, 71);
    ffn_loss(&k);
    double *d_in = calloc(rows * d, sizeof(double)), *d_w1 = calloc(h * d, sizeof(double));
    double *d_b1 = calloc(h, sizeof(double)), *d_w2 = calloc(d * h, sizeof(double)), *d_b2 = calloc(d, sizeof(double));
    double *d_w2_only = calloc(d * h, sizeof(double)), *d_b2_only = calloc(d, sizeof(double));
    double *scratch = malloc(sizeof(double) * rows * h);
    cr_assert_eq(fm_ffn_backward_f64(d_in, d_w1, d_b1, d_w2, d_b2, scratch, k.c, k.in, k.hidden, k.w1, k.w2, rows,
                                     d, msg),
                 FM_OK);
    cr_assert_eq(fm_ffn_backward_f64(NULL, NULL, NULL, d_w2_only, d_b2_only, NULL, k.c, k.in, k.hidden, k.w1, k.w2,
                                     rows, d, msg),
                 FM_OK);
    cr_assert_arr_eq(d_w2, d_w2_only, sizeof(double) * d * h);
    cr_assert_arr_eq(d_b2, d_b2_only, sizeof(double) * d);
    // d_in wanted without scratch: refused
    cr_assert_eq(fm_ffn_backward_f64(d_in, NULL, NULL, NULL, NULL, NULL, k.c, k.in, k.hidden, k.w1, k.w2, rows, d,
                                     msg),
                 FM_ERR_INVALID);
    free(d_in);
    free(d_w1);
    free(d_b1);
    free(d_w2);
    free(d_b2);
    free(d_w2_only);
    free(d_b2_only);
    free(scratch);
    ffn_case_free(&k);
}

typedef struct ffn_float_result {
    float *out, *hidden, *grads[5];
} ffn_float_result;

static ffn_float_result ffn_float(const ffn_case *k)
{
    char msg[FM_MSG_LEN];
    const int d = k->d, h = FM_FFN_HIDDEN(d);
    const int64_t sizes[5] = { k->rows * d, (int64_t)h * d, h, (int64_t)d * h, d };
    float *in = fm_test_to_float(k->in, sizes[0]), *w1 = fm_test_to_float(k->w1, sizes[1]), *b1 = fm_test_to_float(k->b1, sizes[2]);
    float *w2 = fm_test_to_float(k->w2, sizes[3]), *b2 = fm_test_to_float(k->b2, sizes[4]), *c = fm_test_to_float(k->c, k->rows * d);
    float *scratch = malloc(sizeof(float) * k->rows * h);
    ffn_float_result res = { malloc(sizeof(float) * k->rows * d), malloc(sizeof(float) * k->rows * h), { NULL } };
    for (int v = 0; v < 5; v++) res.grads[v] = calloc(sizes[v], sizeof(float));
    fm_ffn_forward(res.out, res.hidden, in, w1, b1, w2, b2, k->rows, d);
    cr_assert_eq(fm_ffn_backward(res.grads[0], res.grads[1], res.grads[2], res.grads[3], res.grads[4], scratch, c,
                                 in, res.hidden, w1, w2, k->rows, d, msg),
                 FM_OK, "%s", msg);
    free(in);
    free(w1);
    free(b1);
    free(w2);
    free(b2);
    free(c);
    free(scratch);
    return res;
}

static void ffn_float_free(ffn_float_result *res)
{
    free(res->out);
    free(res->hidden);
    for (int v = 0; v < 5; v++) free(res->grads[v]);
}

Test(dense_ops, ffn_float_matches_double)
{
    char msg[FM_MSG_LEN];
    const int64_t rows = MANY_ROWS;
    const int d = 16, h = FM_FFN_HIDDEN(d);
    ffn_case k = ffn_case_new(rows, d, 83);
    const int64_t sizes[5] = { rows * d, (int64_t)h * d, h, (int64_t)d * h, d };
    double *grads[5];
    for (int v = 0; v < 5; v++) grads[v] = calloc(sizes[v], sizeof(double));
    double *scratch = malloc(sizeof(double) * rows * h);
    ffn_loss(&k);
    cr_assert_eq(fm_ffn_backward_f64(grads[0], grads[1], grads[2], grads[3], grads[4], scratch, k.c, k.in, k.hidden,
                                     k.w1, k.w2, rows, d, msg),
                 FM_OK);
    ffn_float_result res = ffn_float(&k);
    expect_float(res.out, k.out, rows * d, "ffn out");
    expect_float(res.hidden, k.hidden, rows * h, "ffn hidden");
    static const char *names[5] = { "ffn d_in", "ffn d_w1", "ffn d_b1", "ffn d_w2", "ffn d_b2" };
    for (int v = 0; v < 5; v++) {
        expect_float(res.grads[v], grads[v], sizes[v], names[v]);
        free(grads[v]);
    }
    ffn_float_free(&res);
    free(scratch);
    ffn_case_free(&k);
}

Test(dense_ops, ffn_same_for_any_thread_count)
{
    const int64_t rows = MANY_ROWS;
    const int d = 16, h = FM_FFN_HIDDEN(d);
    ffn_case k = ffn_case_new(rows, d, 89);
    const int64_t sizes[5] = { rows * d, (int64_t)h * d, h, (int64_t)d * h, d };
    fm_set_threads(1);
    ffn_float_result ref = ffn_float(&k);
    for (int t = 1; t < 3; t++) {
        fm_set_threads(thread_counts[t]);
        ffn_float_result res = ffn_float(&k);
        expect_same(res.out, ref.out, rows * d, "ffn out", thread_counts[t]);
        expect_same(res.hidden, ref.hidden, rows * h, "ffn hidden", thread_counts[t]);
        for (int v = 0; v < 5; v++) expect_same(res.grads[v], ref.grads[v], sizes[v], "ffn gradient", thread_counts[t]);
        ffn_float_free(&res);
    }
    fm_set_threads(0);
    ffn_float_free(&ref);
    ffn_case_free(&k);
}

//------------------------------------------------------------------------------
// Parameter block
//------------------------------------------------------------------------------

static const fm_tensor_spec layer_specs[] = {
    { "attention.query.weight", 12, 12 }, { "attention.query.bias", 12, 1 },
    { "ln1.gamma", 12, 1 },               { "ln1.beta", 12, 1 },
    { "ffn.w1", 24, 12 },                 { "ffn.b1", 24, 1 },
    { "edge.a_k", 1, 3 },                 { "scalar", 1, 1 },
    { "odd", 5, 7 },
};
#define LAYER_TENSORS ((int)(sizeof layer_specs / sizeof layer_specs[0]))

Test(dense_ops, params_layout_is_aligned_and_disjoint)
{
    char msg[FM_MSG_LEN];
    // names are copied: the caller's strings may change afterwards
    fm_tensor_spec specs[LAYER_TENSORS];
    char names[LAYER_TENSORS][32];
    for (int t = 0; t < LAYER_TENSORS; t++) {
        snprintf(names[t], sizeof names[t], "%s", layer_specs[t].name);
        specs[t] = (fm_tensor_spec){ names[t], layer_specs[t].rows, layer_specs[t].cols };
    }
    fm_params *p = NULL;
    cr_assert_eq(fm_params_new(&p, specs, LAYER_TENSORS, msg), FM_OK, "%s", msg);
    for (int t = 0; t < LAYER_TENSORS; t++) names[t][0] = '#';
    cr_assert_eq(p->tensors, LAYER_TENSORS);
    cr_assert_eq(p->count % FM_PARAMS_ALIGN, 0);
    int64_t end = 0;
    for (int t = 0; t < LAYER_TENSORS; t++) {
        cr_assert_eq(p->offsets[t] % FM_PARAMS_ALIGN, 0, "tensor %d at %lld", t, (long long)p->offsets[t]);
        cr_assert_geq(p->offsets[t], end, "tensor %d overlaps the one before", t);
        end = p->offsets[t] + fm_params_size(p, t);
        cr_assert_eq(fm_params_size(p, t), (int64_t)layer_specs[t].rows * layer_specs[t].cols);
        cr_assert_eq(p->specs[t].rows, layer_specs[t].rows);
        cr_assert_eq(p->specs[t].cols, layer_specs[t].cols);
        cr_assert_eq(fm_params_find(p, layer_specs[t].name), t, "find %s", layer_specs[t].name);
        cr_assert_eq(fm_params_values(p, t), p->values + p->offsets[t]);
        cr_assert_eq(fm_params_grads(p, t), p->grads + p->offsets[t]);
        cr_assert_eq((uintptr_t)fm_params_values(p, t) % 64, 0);
        cr_assert_eq((uintptr_t)fm_params_grads(p, t) % 64, 0);
    }
    cr_assert_leq(end, p->count);
    cr_assert_lt(p->count, end + FM_PARAMS_ALIGN * LAYER_TENSORS, "padding only");
    cr_assert_eq(p->grads, p->values + p->count);
    cr_assert_eq(p->m, p->grads + p->count);
    cr_assert_eq(p->v, p->m + p->count);
    cr_assert_eq(fm_params_find(p, "ffn.w2"), -1);
    cr_assert_eq(fm_params_find(p, "ln1"), -1);
    for (int64_t e = 0; e < 4 * p->count; e++) cr_assert_eq(p->values[e], 0, "blocks start zeroed");
    // every element of every block is writable (the sanitizer build checks the bounds)
    for (int64_t e = 0; e < p->count; e++) p->values[e] = p->grads[e] = p->m[e] = p->v[e] = 1;
    fm_params_free(&p);
    cr_assert_null(p);
}

Test(dense_ops, params_refuse_bad_specs)
{
    char msg[FM_MSG_LEN];
    fm_params *p = NULL;
    const fm_tensor_spec twice[] = { { "w", 2, 2 }, { "b", 2, 1 }, { "w", 3, 3 } };
    cr_assert_eq(fm_params_new(&p, twice, 3, msg), FM_ERR_INVALID);
    cr_assert_null(p);
    cr_assert(strstr(msg, "'w'"), "the message names the tensor: %s", msg);
    const fm_tensor_spec empty[] = { { "w", 0, 2 } };
    cr_assert_eq(fm_params_new(&p, empty, 1, msg), FM_ERR_INVALID);
    cr_assert_null(p);
    const fm_tensor_spec unnamed[] = { { "w", 2, 2 }, { NULL, 2, 2 } };
    cr_assert_eq(fm_params_new(&p, unnamed, 2, msg), FM_ERR_INVALID);
    cr_assert_null(p);
    cr_assert_eq(fm_params_new(&p, NULL, -1, msg), FM_ERR_INVALID);
    cr_assert_null(p);
    // no tensors at all is a valid, empty block
    cr_assert_eq(fm_params_new(&p, NULL, 0, msg), FM_OK, "%s", msg);
    cr_assert_eq(p->count, 0);
    fm_params_zero_grads(p);
    fm_params_init(p, 1);
    fm_params_free(&p);
}

Test(dense_ops, params_zero_grads_leaves_the_rest)
{
    char msg[FM_MSG_LEN];
    fm_params *p = NULL;
    cr_assert_eq(fm_params_new(&p, layer_specs, LAYER_TENSORS, msg), FM_OK, "%s", msg);
    for (int64_t e = 0; e < p->count; e++) p->values[e] = 2, p->grads[e] = 3, p->m[e] = 4, p->v[e] = 5;
    fm_params_zero_grads(p);
    for (int64_t e = 0; e < p->count; e++) {
        cr_assert_eq(p->grads[e], 0);
        cr_assert_eq(p->values[e], 2);
        cr_assert_eq(p->m[e], 4);
        cr_assert_eq(p->v[e], 5);
    }
    fm_params_free(&p);
}

static bool has_suffix(const char *name, const char *suffix)
{
    const size_t n = strlen(name), s = strlen(suffix);
    return n >= s && strcmp(name + n - s, suffix) == 0;
}

Test(dense_ops, params_init_is_glorot_and_deterministic)
{
    char msg[FM_MSG_LEN];
    fm_params *p = NULL, *q = NULL, *r = NULL;
    cr_assert_eq(fm_params_new(&p, layer_specs, LAYER_TENSORS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_params_new(&q, layer_specs, LAYER_TENSORS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_params_new(&r, layer_specs, LAYER_TENSORS, msg), FM_OK, "%s", msg);
    for (int64_t e = 0; e < 4 * p->count; e++) p->values[e] = 7;   // init overwrites everything
    fm_set_threads(1);
    fm_params_init(p, 42);
    fm_set_threads(2);
    fm_params_init(q, 42);
    fm_params_init(r, 43);
    fm_set_threads(0);
    cr_assert_arr_eq(p->values, q->values, sizeof(float) * 4 * p->count, "same seed, same parameters");
    for (int64_t e = 0; e < p->count; e++) {
        cr_assert_eq(p->grads[e], 0);
        cr_assert_eq(p->m[e], 0);
        cr_assert_eq(p->v[e], 0);
    }
    bool differs = false;
    for (int t = 0; t < p->tensors; t++) {
        const fm_tensor_spec *s = &p->specs[t];
        const float *x = fm_params_values(p, t), *y = fm_params_values(r, t);
        const int64_t size = fm_params_size(p, t);
        if (s->rows > 1 && s->cols > 1) {
            const double limit = sqrt(6.0 / (s->rows + s->cols));
            double lo = limit, hi = -limit, sum = 0;
            for (int64_t e = 0; e < size; e++) {
                cr_assert(fabs(x[e]) <= limit, "%s[%lld] = %g outside ±%g", s->name, (long long)e, x[e], limit);
                lo = fmin(lo, x[e]), hi = fmax(hi, x[e]), sum += x[e];
                differs |= x[e] != y[e];
            }
            cr_assert(lo < -0.5 * limit && hi > 0.5 * limit, "%s spans [%g, %g] of ±%g", s->name, lo, hi, limit);
            cr_assert(fabs(sum / size) < 0.25 * limit, "%s mean %g", s->name, sum / size);
        } else {
            const float expected = has_suffix(s->name, "gamma") ? 1 : 0;
            for (int64_t e = 0; e < size; e++) cr_assert_eq(x[e], expected, "%s[%lld]", s->name, (long long)e);
        }
    }
    cr_assert(differs, "another seed gives other weights");
    cr_assert_eq(fm_params_values(p, fm_params_find(p, "ln1.gamma"))[11], 1);
    fm_params_free(&p);
    fm_params_free(&q);
    fm_params_free(&r);
}

Test(dense_ops, params_layout_carries_a_double_copy)
{
    // the same offsets lay out a double array: a linear layer run on tensors
    // carved from it matches the float one run on the float block
    char msg[FM_MSG_LEN];
    const fm_tensor_spec specs[] = { { "w", 5, 3 }, { "b", 5, 1 } };
    fm_params *p = NULL;
    cr_assert_eq(fm_params_new(&p, specs, 2, msg), FM_OK, "%s", msg);
    fm_params_init(p, 9);
    for (int c = 0; c < 5; c++) fm_params_values(p, 1)[c] = 0.1f * c;
    double *block = calloc(p->count, sizeof(double));
    for (int64_t e = 0; e < p->count; e++) block[e] = p->values[e];
    const int64_t rows = 4;
    double *in = fm_test_uniform_range(rows * 3, 1, -1, 1), out[20];
    float *fin = fm_test_to_float(in, rows * 3), fout[20];
    fm_linear_forward_f64(out, in, block + p->offsets[0], block + p->offsets[1], rows, 3, 5);
    fm_linear_forward(fout, fin, fm_params_values(p, 0), fm_params_values(p, 1), rows, 3, 5);
    expect_float(fout, out, 20, "linear on the carved blocks");
    free(block);
    free(in);
    free(fin);
    fm_params_free(&p);
}
