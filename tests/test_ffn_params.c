// The FFN (ffn.h) and the parameter block (params.h): the FFN's backward
// against central finite differences of the double forward, the float build
// against the double one, the same bits on 1, 2 and 5 threads; the block's
// layout, refusals, zeroed gradients, Glorot initialization and double
// copy. The other dense ops: tests/test_dense_ops.c.
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

TestSuite(ffn_params, .init = fm_test_setup);

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
    return dense_weighted_sum(k->c, k->out, k->rows * k->d);
}

Test(ffn_params, ffn_backward_matches_finite_differences)
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
            double *fd = dense_finite_differences(vars[v], sizes[v], ffn_loss, &k);
            char what[64];
            snprintf(what, sizeof what, "ffn %lld rows: %s", (long long)rows, names[v]);
            dense_expect_gradient(grads[v], before[v], fd, sizes[v], what);
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

Test(ffn_params, ffn_backward_of_the_second_layer_only)
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

Test(ffn_params, ffn_float_matches_double)
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
    dense_expect_float(res.out, k.out, rows * d, "ffn out");
    dense_expect_float(res.hidden, k.hidden, rows * h, "ffn hidden");
    static const char *names[5] = { "ffn d_in", "ffn d_w1", "ffn d_b1", "ffn d_w2", "ffn d_b2" };
    for (int v = 0; v < 5; v++) {
        dense_expect_float(res.grads[v], grads[v], sizes[v], names[v]);
        free(grads[v]);
    }
    ffn_float_free(&res);
    free(scratch);
    ffn_case_free(&k);
}

Test(ffn_params, ffn_same_for_any_thread_count)
{
    const int64_t rows = MANY_ROWS;
    const int d = 16, h = FM_FFN_HIDDEN(d);
    ffn_case k = ffn_case_new(rows, d, 89);
    const int64_t sizes[5] = { rows * d, (int64_t)h * d, h, (int64_t)d * h, d };
    fm_set_threads(1);
    ffn_float_result ref = ffn_float(&k);
    for (int t = 1; t < 3; t++) {
        fm_set_threads(dense_thread_counts[t]);
        ffn_float_result res = ffn_float(&k);
        dense_expect_same(res.out, ref.out, rows * d, "ffn out", dense_thread_counts[t]);
        dense_expect_same(res.hidden, ref.hidden, rows * h, "ffn hidden", dense_thread_counts[t]);
        for (int v = 0; v < 5; v++) dense_expect_same(res.grads[v], ref.grads[v], sizes[v], "ffn gradient", dense_thread_counts[t]);
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

Test(ffn_params, params_layout_is_aligned_and_disjoint)
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

Test(ffn_params, params_refuse_bad_specs)
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

Test(ffn_params, params_zero_grads_leaves_the_rest)
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

Test(ffn_params, params_init_is_glorot_and_deterministic)
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

Test(ffn_params, params_layout_carries_a_double_copy)
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
    dense_expect_float(fout, out, 20, "linear on the carved blocks");
    free(block);
    free(in);
    free(fin);
    fm_params_free(&p);
}
