// The fused edge attention (ops/attention_fused.inc): its backward against
// central finite differences in double, its float build against its double
// build, stability, isolated targets, thread counts.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <omp.h>

#include "attention.h"
#include "attention_reference.h"
#include "helpers.h"
#include "rng.h"

TestSuite(attention, .init = fm_test_setup);


// The six inputs of the edge attention, in double, with their sizes.
typedef struct problem {
    fm_attention_shape shape;
    double *array[6];           // queries, keys, values, sources, probes, edge_scales
    int64_t size[6];
} problem;

enum { QUERIES, KEYS, VALUES, SOURCES, PROBES, EDGE_SCALES };

static problem problem_new(int64_t targets, int64_t sources, int heads, int width, double spread, uint64_t seed)
{
    problem p = {.shape = {targets, sources, heads, width}};
    const int64_t hd = (int64_t)heads * width;
    const int64_t size[6] = {targets * width, sources * width, sources * width, sources * width, targets * hd,
                             targets * heads};
    fm_rng rng = fm_rng_stream(seed, 7);
    for (int a = 0; a < 6; a++) {
        p.size[a] = size[a];
        p.array[a] = calloc(size[a] + 1, sizeof(double));
        for (int64_t e = 0; e < size[a]; e++) p.array[a][e] = spread * fm_rng_normal(rng, (uint64_t)(a << 24) + e);
    }
    return p;
}

static void problem_free(problem *p)
{
    for (int a = 0; a < 6; a++) free(p->array[a]);
}

static fm_attention_inputs_f64 inputs_f64(const problem *p)
{
    return (fm_attention_inputs_f64){p->array[QUERIES], p->array[KEYS], p->array[VALUES],
                                     p->array[SOURCES], p->array[PROBES], p->array[EDGE_SCALES]};
}

// Output arrays of one forward, double or float.
typedef struct sums {
    double *value_sums, *source_sums, *edge_sums, *log_norms;
} sums;

static sums sums_new(fm_attention_shape s)
{
    const int64_t hd = (int64_t)s.heads * s.width;
    return (sums){calloc(s.targets * s.width + 1, sizeof(double)), calloc(s.targets * hd + 1, sizeof(double)),
                  calloc(s.targets * s.heads + 1, sizeof(double)), calloc(s.targets * s.heads + 1, sizeof(double))};
}

static void sums_free(sums *s)
{
    free(s->value_sums);
    free(s->source_sums);
    free(s->edge_sums);
    free(s->log_norms);
}

static fm_attention_outputs_f64 as_outputs(const sums *s)
{
    return (fm_attention_outputs_f64){s->value_sums, s->source_sums, s->edge_sums, s->log_norms};
}

// L = Σ weights ⊙ (value_sums, source_sums, edge_sums)
static double loss(const sums *out, const sums *weights, fm_attention_shape s)
{
    const int64_t hd = (int64_t)s.heads * s.width;
    double total = 0;
    for (int64_t e = 0; e < s.targets * s.width; e++) total += weights->value_sums[e] * out->value_sums[e];
    for (int64_t e = 0; e < s.targets * hd; e++) total += weights->source_sums[e] * out->source_sums[e];
    for (int64_t e = 0; e < s.targets * s.heads; e++) total += weights->edge_sums[e] * out->edge_sums[e];
    return total;
}

static double forward_loss(const problem *p, const sums *weights, const fm_message_graph *mg, fm_direction dir)
{
    char msg[FM_MSG_LEN];
    sums out = sums_new(p->shape);
    fm_attention_inputs_f64 in = inputs_f64(p);
    fm_attention_outputs_f64 o = as_outputs(&out);
    cr_assert_eq(fm_attention_forward_f64(&o, &in, mg, dir, p->shape, msg), FM_OK, "%s", msg);
    const double l = loss(&out, weights, p->shape);
    sums_free(&out);
    return l;
}

static double norm_error(const double *a, const double *b, int64_t n)
{
    double diff = 0, ref = 0;
    for (int64_t e = 0; e < n; e++) {
        diff += (a[e] - b[e]) * (a[e] - b[e]);
        ref += b[e] * b[e];
    }
    return ref > 0 ? sqrt(diff / ref) : sqrt(diff);
}

// Central differences of the double forward for up to `probes_per_array`
// entries of every input, against the double backward.
static void check_gradients(fm_graph *g, fm_direction dir, int heads, int width, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    fm_message_graph mg;
    cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    const fm_edges *edges = dir == FM_TO_ROWS ? &mg.rows : &mg.columns;
    problem p = problem_new(edges->targets, edges->sources, heads, width, 0.7, seed);
    sums weights = sums_new(p.shape), out = sums_new(p.shape);
    problem weight_source = problem_new(p.shape.targets, 1, heads, width, 1.0, seed + 1);
    memcpy(weights.value_sums, weight_source.array[QUERIES], sizeof(double) * p.shape.targets * width);
    memcpy(weights.source_sums, weight_source.array[PROBES], sizeof(double) * p.shape.targets * heads * width);
    memcpy(weights.edge_sums, weight_source.array[EDGE_SCALES], sizeof(double) * p.shape.targets * heads);

    fm_attention_inputs_f64 in = inputs_f64(&p);
    fm_attention_outputs_f64 saved = as_outputs(&out), d_out = as_outputs(&weights);
    cr_assert_eq(fm_attention_forward_f64(&saved, &in, &mg, dir, p.shape, msg), FM_OK, "%s", msg);
    double *grad[6];
    for (int a = 0; a < 6; a++) grad[a] = calloc(p.size[a] + 1, sizeof(double));
    fm_attention_grads_f64 grads = {grad[0], grad[1], grad[2], grad[3], grad[4], grad[5]};
    cr_assert_eq(fm_attention_backward_f64(&grads, &d_out, &in, &saved, &mg, dir, p.shape, msg), FM_OK, "%s", msg);

    const int probes_per_array = 60;
    const double step = 1e-5;
    for (int a = 0; a < 6; a++) {
        const int64_t n = p.size[a] < probes_per_array ? p.size[a] : probes_per_array;
        double numeric[probes_per_array], analytic[probes_per_array];
        for (int64_t k = 0; k < n; k++) {
            const int64_t e = n == p.size[a] ? k : (k * 7919) % p.size[a];
            const double keep = p.array[a][e];
            p.array[a][e] = keep + step;
            const double up = forward_loss(&p, &weights, &mg, dir);
            p.array[a][e] = keep - step;
            const double down = forward_loss(&p, &weights, &mg, dir);
            p.array[a][e] = keep;
            numeric[k] = (up - down) / (2 * step);
            analytic[k] = grad[a][e];
        }
        const double err = norm_error(analytic, numeric, n);
        cr_expect_lt(err, 1e-6, "input %d: relative error %.3g (heads %d, width %d, direction %d)", a, err, heads,
                     width, (int)dir);
    }
    for (int a = 0; a < 6; a++) free(grad[a]);
    sums_free(&weights);
    sums_free(&out);
    problem_free(&weight_source);
    problem_free(&p);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
}

Test(attention, fused_backward_matches_finite_differences_sparse)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL;
    cr_assert_eq(ref_random_graph(&g, 23, 17, 0.25, 11, msg), FM_OK, "%s", msg);
    const int shapes[][2] = {{1, 4}, {2, 8}, {4, 8}};
    for (int c = 0; c < 3; c++) {
        check_gradients(g, FM_TO_COLUMNS, shapes[c][0], shapes[c][1], 100 + c);
        check_gradients(g, FM_TO_ROWS, shapes[c][0], shapes[c][1], 200 + c);
    }
    fm_graph_free(&g);
}

Test(attention, fused_backward_matches_finite_differences_full)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL;
    // more targets and sources than one tile, so tiles and the online softmax
    // across them are exercised
    float *x = fm_test_uniform(70 * 300, 5);
    cr_assert_eq(fm_graph_from_dense(&g, 70, 300, x, FM_KIND_DENSE, msg), FM_OK, "%s", msg);
    check_gradients(g, FM_TO_COLUMNS, 2, 4, 300);
    check_gradients(g, FM_TO_ROWS, 2, 4, 301);
    fm_graph_free(&g);
    free(x);
}

// The float build runs the same code as the double one; on O(1) inputs the
// two agree to float rounding.
static void float_inputs(float *out[6], const problem *p)
{
    for (int a = 0; a < 6; a++) {
        out[a] = calloc(p->size[a] + 1, sizeof(float));
        for (int64_t e = 0; e < p->size[a]; e++) out[a][e] = (float)p->array[a][e];
    }
}

static double norm_error_mixed(const float *a, const double *b, int64_t n)
{
    double diff = 0, ref = 0;
    for (int64_t e = 0; e < n; e++) {
        diff += ((double)a[e] - b[e]) * ((double)a[e] - b[e]);
        ref += b[e] * b[e];
    }
    return ref > 0 ? sqrt(diff / ref) : sqrt(diff);
}

// Forward and backward in float and in double on one graph; returns the
// largest norm-wise relative difference over the outputs and over the
// gradients, each checked finite.
typedef struct differences { double forward, backward; } differences;

static differences float_against_double(fm_graph *g, fm_direction dir, int heads, int width, double spread,
                                        uint64_t seed)
{
    char msg[FM_MSG_LEN];
    fm_message_graph mg;
    cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    const fm_edges *edges = dir == FM_TO_ROWS ? &mg.rows : &mg.columns;
    problem p = problem_new(edges->targets, edges->sources, heads, width, spread, seed);
    problem w = problem_new(edges->targets, 1, heads, width, 1.0, seed + 1);
    const fm_attention_shape s = p.shape;
    const int64_t hd = (int64_t)heads * width;
    // double
    sums out = sums_new(s);
    fm_attention_inputs_f64 in = inputs_f64(&p);
    fm_attention_outputs_f64 saved = as_outputs(&out);
    fm_attention_outputs_f64 d_out = {w.array[QUERIES], w.array[PROBES], w.array[EDGE_SCALES], NULL};
    cr_assert_eq(fm_attention_forward_f64(&saved, &in, &mg, dir, s, msg), FM_OK, "%s", msg);
    double *grad[6];
    for (int a = 0; a < 6; a++) grad[a] = calloc(p.size[a] + 1, sizeof(double));
    fm_attention_grads_f64 grads = {grad[0], grad[1], grad[2], grad[3], grad[4], grad[5]};
    cr_assert_eq(fm_attention_backward_f64(&grads, &d_out, &in, &saved, &mg, dir, s, msg), FM_OK, "%s", msg);
    // float
    float *fin[6], *fw[3], *fgrad[6], *fout[4];
    float_inputs(fin, &p);
    float *wsrc[6];
    float_inputs(wsrc, &w);
    fw[0] = wsrc[QUERIES]; fw[1] = wsrc[PROBES]; fw[2] = wsrc[EDGE_SCALES];
    for (int a = 0; a < 6; a++) fgrad[a] = calloc(p.size[a] + 1, sizeof(float));
    const int64_t out_size[4] = {s.targets * width, s.targets * hd, s.targets * heads, s.targets * heads};
    for (int o = 0; o < 4; o++) fout[o] = calloc(out_size[o] + 1, sizeof(float));
    fm_attention_inputs fi = {fin[0], fin[1], fin[2], fin[3], fin[4], fin[5]};
    fm_attention_outputs fo = {fout[0], fout[1], fout[2], fout[3]};
    fm_attention_outputs fd = {fw[0], fw[1], fw[2], NULL};
    fm_attention_grads fg = {fgrad[0], fgrad[1], fgrad[2], fgrad[3], fgrad[4], fgrad[5]};
    cr_assert_eq(fm_attention_forward(&fo, &fi, &mg, dir, s, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_attention_backward(&fg, &fd, &fi, &fo, &mg, dir, s, msg), FM_OK, "%s", msg);

    differences worst = {0, 0};
    const double *dout[4] = {out.value_sums, out.source_sums, out.edge_sums, out.log_norms};
    for (int o = 0; o < 4; o++) {
        for (int64_t e = 0; e < out_size[o]; e++) cr_assert(isfinite(fout[o][e]), "output %d not finite", o);
        worst.forward = fmax(worst.forward, norm_error_mixed(fout[o], dout[o], out_size[o]));
    }
    for (int a = 0; a < 6; a++) {
        for (int64_t e = 0; e < p.size[a]; e++) cr_assert(isfinite(fgrad[a][e]), "gradient %d not finite", a);
        worst.backward = fmax(worst.backward, norm_error_mixed(fgrad[a], grad[a], p.size[a]));
    }
    for (int a = 0; a < 6; a++) { free(fin[a]); free(fgrad[a]); free(wsrc[a]); free(grad[a]); }
    for (int o = 0; o < 4; o++) free(fout[o]);
    sums_free(&out);
    problem_free(&p);
    problem_free(&w);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    return worst;
}

Test(attention, float_build_matches_double_build)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL;
    cr_assert_eq(ref_random_graph(&g, 60, 45, 0.3, 21, msg), FM_OK, "%s", msg);
    for (int dir = 0; dir < 2; dir++) {
        const differences err = float_against_double(g, (fm_direction)dir, 4, 16, 0.5, 31 + dir);
        cr_expect_lt(err.forward, 1e-5, "direction %d: forward, float against double %.3g", dir, err.forward);
        cr_expect_lt(err.backward, 1e-5, "direction %d: backward, float against double %.3g", dir, err.backward);
    }
    fm_graph_free(&g);
    float *x = fm_test_uniform(90 * 270, 6);
    cr_assert_eq(fm_graph_from_dense(&g, 90, 270, x, FM_KIND_DENSE, msg), FM_OK, "%s", msg);
    for (int dir = 0; dir < 2; dir++) {
        const differences err = float_against_double(g, (fm_direction)dir, 4, 16, 0.5, 41 + dir);
        cr_expect_lt(err.forward, 1e-5, "full, direction %d: forward %.3g", dir, err.forward);
        cr_expect_lt(err.backward, 1e-5, "full, direction %d: backward %.3g", dir, err.backward);
    }
    fm_graph_free(&g);
    free(x);
}

// Scores of magnitude 1e4: without the running max exp() would overflow.
// Every output and gradient stays finite, and the outputs match the double
// build to the rounding of a float score of 1e4 (1e-3 absolute). The
// gradients are finite but not compared: with a one-hot softmax they are
// differences of nearly equal terms in either precision.
Test(attention, softmax_stays_finite_for_huge_scores)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL;
    cr_assert_eq(ref_random_graph(&g, 30, 20, 0.4, 51, msg), FM_OK, "%s", msg);
    // spread 60 on width 16: scores reach ~1e4
    const differences err = float_against_double(g, FM_TO_COLUMNS, 1, 16, 60.0, 61);
    cr_expect_lt(err.forward, 1e-3, "float against double with huge scores: %.3g", err.forward);
    float *x = fm_test_uniform(70 * 300, 7);
    fm_graph_free(&g);
    cr_assert_eq(fm_graph_from_dense(&g, 70, 300, x, FM_KIND_DENSE, msg), FM_OK, "%s", msg);
    const differences full = float_against_double(g, FM_TO_ROWS, 1, 16, 60.0, 62);
    cr_expect_lt(full.forward, 1e-3, "full, float against double with huge scores: %.3g", full.forward);
    fm_graph_free(&g);
    free(x);
}

// Row 0 and column 0 of the test graph have no edges: as targets they get
// zero sums, log_norm 0 and zero gradients.
Test(attention, isolated_target_gets_zero_message)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL;
    cr_assert_eq(ref_random_graph(&g, 12, 9, 0.5, 71, msg), FM_OK, "%s", msg);
    fm_message_graph mg;
    cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    for (int dir = 0; dir < 2; dir++) {
        const fm_edges *edges = dir == FM_TO_ROWS ? &mg.rows : &mg.columns;
        cr_assert_eq(edges->ptr[1], edges->ptr[0], "target 0 should have no edges");
        problem p = problem_new(edges->targets, edges->sources, 2, 8, 1.0, 81 + dir);
        float *fin[6];
        float_inputs(fin, &p);
        const fm_attention_shape s = p.shape;
        float *vs = calloc(s.targets * 8, 4), *ss = calloc(s.targets * 16, 4), *es = calloc(s.targets * 2, 4),
              *ln = calloc(s.targets * 2, 4), *dq = calloc(p.size[0], 4);
        for (int r = 0; r < 8; r++) vs[r] = NAN;      // overwritten even for an isolated target
        fm_attention_inputs fi = {fin[0], fin[1], fin[2], fin[3], fin[4], fin[5]};
        fm_attention_outputs fo = {vs, ss, es, ln};
        cr_assert_eq(fm_attention_forward(&fo, &fi, &mg, (fm_direction)dir, s, msg), FM_OK, "%s", msg);
        for (int r = 0; r < 8; r++) cr_expect_eq(vs[r], 0.0f);
        for (int r = 0; r < 16; r++) cr_expect_eq(ss[r], 0.0f);
        cr_expect_eq(es[0], 0.0f);
        cr_expect_eq(ln[0], 0.0f);
        fm_attention_outputs fd = {fin[QUERIES], fin[PROBES], fin[EDGE_SCALES], NULL};   // any finite gradients
        fm_attention_grads fg = {.queries = dq};
        cr_assert_eq(fm_attention_backward(&fg, &fd, &fi, &fo, &mg, (fm_direction)dir, s, msg), FM_OK, "%s", msg);
        for (int r = 0; r < 8; r++) cr_expect_eq(dq[r], 0.0f);
        for (int64_t e = 0; e < p.size[0]; e++) cr_assert(isfinite(dq[e]));
        free(vs); free(ss); free(es); free(ln); free(dq);
        for (int a = 0; a < 6; a++) free(fin[a]);
        problem_free(&p);
    }
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    fm_graph_free(&g);
}
