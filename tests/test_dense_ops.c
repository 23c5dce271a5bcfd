// The dense ops (linear, layernorm, relu) against central finite
// differences of the double forward (loss = Σ c ⊙ output for random c, so
// d_out = c); the float build against the double one; and every result for
// 1, 2 and 5 threads (5 threads also changes how many blocks of partials
// are in flight). The FFN and the parameter block: tests/test_ffn_params.c.
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
#include "dense_checks.h"

TestSuite(dense_ops, .init = fm_test_setup);

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
    return dense_weighted_sum(k->c, k->out, k->rows * k->out_dim);
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
    double *fd_in = dense_finite_differences(k.in, n_in, linear_loss, &k);
    double *fd_w = dense_finite_differences(k.weight, n_w, linear_loss, &k);
    char what[96];
    snprintf(what, sizeof what, "linear %lld rows, bias %d: d_in", (long long)rows, bias);
    dense_expect_gradient(d_in, d_in0, fd_in, n_in, what);
    snprintf(what, sizeof what, "linear %lld rows, bias %d: d_weight", (long long)rows, bias);
    dense_expect_gradient(d_w, d_w0, fd_w, n_w, what);
    if (bias) {
        double *fd_b = dense_finite_differences(k.bias, out_dim, linear_loss, &k);
        snprintf(what, sizeof what, "linear %lld rows: d_bias", (long long)rows);
        dense_expect_gradient(d_b, d_b0, fd_b, out_dim, what);
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
    dense_expect_float(out, k.out, n_out, "linear out");
    dense_expect_float(f_in, d_in, n_in, "linear d_in");
    dense_expect_float(f_w, d_w, n_w, "linear d_weight");
    dense_expect_float(f_b, d_b, out_dim, "linear d_bias");
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
        fm_set_threads(dense_thread_counts[t]);
        float *out = malloc(sizeof(float) * n_out), *d_in = malloc(sizeof(float) * n_in);
        float *d_w = malloc(sizeof(float) * n_w), *d_b = malloc(sizeof(float) * out_dim);
        linear_float(out, d_in, d_w, d_b, &k);
        if (t == 0) {
            ref[0] = out, ref[1] = d_in, ref[2] = d_w, ref[3] = d_b;
            continue;
        }
        dense_expect_same(out, ref[0], n_out, "linear out", dense_thread_counts[t]);
        dense_expect_same(d_in, ref[1], n_in, "linear d_in", dense_thread_counts[t]);
        dense_expect_same(d_w, ref[2], n_w, "linear d_weight", dense_thread_counts[t]);
        dense_expect_same(d_b, ref[3], out_dim, "linear d_bias", dense_thread_counts[t]);
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
    return dense_weighted_sum(k->c, k->out, k->rows * k->d);
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
        double *fd_in = dense_finite_differences(k.in, rows * d, layernorm_loss, &k);
        double *fd_g = dense_finite_differences(k.gamma, d, layernorm_loss, &k);
        double *fd_b = dense_finite_differences(k.beta, d, layernorm_loss, &k);
        char what[64];
        snprintf(what, sizeof what, "layernorm %lld rows: d_in", (long long)rows);
        dense_expect_gradient(d_in, d_in0, fd_in, rows * d, what);
        snprintf(what, sizeof what, "layernorm %lld rows: d_gamma", (long long)rows);
        dense_expect_gradient(d_g, d_g0, fd_g, d, what);
        snprintf(what, sizeof what, "layernorm %lld rows: d_beta", (long long)rows);
        dense_expect_gradient(d_b, d_b0, fd_b, d, what);
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
    dense_expect_float(out, k.out, rows * d, "layernorm out");
    dense_expect_float(f_in, d_in, rows * d, "layernorm d_in");
    dense_expect_float(f_g, d_g, d, "layernorm d_gamma");
    dense_expect_float(f_b, d_b, d, "layernorm d_beta");
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
        fm_set_threads(dense_thread_counts[t]);
        float *out = malloc(sizeof(float) * rows * d), *d_in = malloc(sizeof(float) * rows * d);
        float *d_g = malloc(sizeof(float) * d), *d_b = malloc(sizeof(float) * d);
        layernorm_float(out, d_in, d_g, d_b, &k);
        if (t == 0) {
            ref[0] = out, ref[1] = d_in, ref[2] = d_g, ref[3] = d_b;
            continue;
        }
        dense_expect_same(out, ref[0], rows * d, "layernorm out", dense_thread_counts[t]);
        dense_expect_same(d_in, ref[1], rows * d, "layernorm d_in", dense_thread_counts[t]);
        dense_expect_same(d_g, ref[2], d, "layernorm d_gamma", dense_thread_counts[t]);
        dense_expect_same(d_b, ref[3], d, "layernorm d_beta", dense_thread_counts[t]);
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
    return dense_weighted_sum(k->c, k->out, k->count);
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
    double *fd = dense_finite_differences(k.in, count, relu_loss, &k);
    dense_expect_gradient(d_in, d_in0, fd, count, "relu d_in");
    int positive = 0;
    for (int64_t e = 0; e < count; e++) positive += k.out[e] > 0;
    cr_assert(positive > 0 && positive < count, "both sides of the kink are tested");
    // float build, and in place
    float *x = fm_test_to_float(k.in, count), *c = fm_test_to_float(k.c, count), *dx = calloc(count, sizeof(float));
    fm_relu_forward(x, x, count);
    fm_relu_backward(dx, c, x, count);
    dense_expect_float(x, k.out, count, "relu out");
    for (int64_t e = 0; e < count; e++) d_in[e] -= d_in0[e];
    dense_expect_float(dx, d_in, count, "relu d_in");
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

// fm_dense_transpose (by tiles) against Mᵀ's definition, on shapes below, at
// and past a tile in either direction, and empty ones.
Test(dense_ops, transpose_is_the_definition)
{
    const int64_t shapes[7][2] = { { 1, 1 }, { 3, 70 }, { 32, 32 }, { 33, 65 }, { 4096, 40 }, { 0, 5 }, { 5, 0 } };
    char msg[FM_MSG_LEN] = "";
    for (int s = 0; s < 7; s++) {
        fm_dense *M = NULL;
        const int64_t rows = shapes[s][0], cols = shapes[s][1];
        cr_assert_eq(fm_dense_new(&M, rows, cols, msg), FM_OK, "%s", msg);
        for (int64_t e = 0; e < rows * cols; e++) M->data[e] = (float)e;
        float *out = malloc(sizeof(float) * (size_t)(rows * cols + 1));
        cr_assert_not_null(out);
        fm_dense_transpose(out, M);
        int64_t wrong = 0;
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) wrong += out[j * rows + i] != M->data[i * cols + j];
        cr_expect_eq(wrong, 0, "%lld x %lld: %lld entries wrong", (long long)rows, (long long)cols, (long long)wrong);
        free(out);
        fm_dense_free(&M);
    }
}
