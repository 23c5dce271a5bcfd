// The GraphBLAS edge attention (ops/attention_graphblas.c) against the
// double-precision references of tests/attention_reference.c, and the
// references against finite differences and against the literal §4 block.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention_reference.h"
#include "helpers.h"
#include "profile.h"
#include "rng.h"

TestSuite(attention_graphblas, .init = fm_test_setup);

//------------------------------------------------------------------------------
// Fixtures
//------------------------------------------------------------------------------

enum { QUERIES, KEYS, VALUES, SOURCES, PROBES, EDGE_SCALES, INPUTS };
enum { VALUE_SUMS, SOURCE_SUMS, EDGE_SUMS, LOG_NORMS, OUTPUTS };
static const char *input_names[INPUTS] = { "queries", "keys", "values", "sources", "probes", "edge_scales" };
static const char *output_names[OUTPUTS] = { "value_sums", "source_sums", "edge_sums", "log_norms" };

// One attention problem: a graph, a direction, inputs in double and the same
// values in float (the double ones are rounded to float, so both paths see
// identical inputs).
typedef struct problem {
    fm_graph *graph;
    fm_direction direction;
    fm_attention_shape shape;
    ref_edges edges;
    int64_t input_size[INPUTS], output_size[OUTPUTS];
    double *in64[INPUTS];
    float *in32[INPUTS];
} problem;

static double *zeros64(int64_t n)
{
    double *a = calloc(n > 0 ? n : 1, sizeof(double));
    cr_assert_not_null(a);
    return a;
}

static float *zeros32(int64_t n)
{
    float *a = calloc(n > 0 ? n : 1, sizeof(float));
    cr_assert_not_null(a);
    return a;
}

// Uniform in [-scale, scale), rounded to float.
static void fill_uniform(double *a, int64_t n, double scale, uint64_t seed)
{
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    for (int64_t e = 0; e < n; e++) a[e] = (float)(scale * (2.0 * fm_rng_uniform(rng, e) - 1.0));
}

static float *to_float(const double *a, int64_t n)
{
    float *f = zeros32(n);
    for (int64_t e = 0; e < n; e++) f[e] = (float)a[e];
    return f;
}

static void sizes(problem *p)
{
    const int64_t nt = p->shape.targets, ns = p->shape.sources;
    const int64_t d = p->shape.width, nh = p->shape.heads;
    const int64_t in[INPUTS] = { nt * d, ns * d, ns * d, ns * d, nt * nh * d, nt * nh };
    const int64_t out[OUTPUTS] = { nt * d, nt * nh * d, nt * nh, nt * nh };
    memcpy(p->input_size, in, sizeof in);
    memcpy(p->output_size, out, sizeof out);
}

// Takes ownership of g. Inputs uniform in [-scale, scale).
static problem problem_new(fm_graph *g, fm_direction direction, int heads, int width, double scale,
                           uint64_t seed)
{
    char msg[FM_MSG_LEN];
    problem p = { .graph = g, .direction = direction };
    cr_assert_eq(ref_edges_from_graph(&p.edges, g, direction, msg), FM_OK, "%s", msg);
    p.shape = (fm_attention_shape){ p.edges.targets, p.edges.sources, heads, width };
    sizes(&p);
    for (int k = 0; k < INPUTS; k++) {
        p.in64[k] = zeros64(p.input_size[k]);
        fill_uniform(p.in64[k], p.input_size[k], scale, seed * 16 + k);
        p.in32[k] = to_float(p.in64[k], p.input_size[k]);
    }
    return p;
}

static void problem_free(problem *p)
{
    fm_graph_free(&p->graph);
    ref_edges_free(&p->edges);
    for (int k = 0; k < INPUTS; k++) {
        free(p->in64[k]);
        free(p->in32[k]);
    }
}

static fm_attention_inputs_f64 inputs64(const problem *p)
{
    return (fm_attention_inputs_f64){ p->in64[QUERIES], p->in64[KEYS], p->in64[VALUES],
                                      p->in64[SOURCES], p->in64[PROBES], p->in64[EDGE_SCALES] };
}

static fm_attention_inputs inputs32(const problem *p)
{
    return (fm_attention_inputs){ p->in32[QUERIES], p->in32[KEYS], p->in32[VALUES],
                                  p->in32[SOURCES], p->in32[PROBES], p->in32[EDGE_SCALES] };
}

static fm_graph *random_graph(int64_t rows, int64_t cols, double density, uint64_t seed)
{
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(ref_random_graph(&g, rows, cols, density, seed, msg), FM_OK, "%s", msg);
    return g;
}

static fm_graph *dense_graph(int64_t rows, int64_t cols, uint64_t seed)
{
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    float *values = fm_test_uniform(rows * cols, seed);
    for (int64_t e = 0; e < rows * cols; e++) values[e] += 0.1f;
    cr_assert_eq(fm_graph_from_dense(&g, rows, cols, values, FM_KIND_DENSE, msg), FM_OK, "%s", msg);
    free(values);
    return g;
}

// ‖a − b‖ / ‖b‖ (b the reference); ‖a − b‖ when ‖b‖ is 0.
static double relative_error32(const float *a, const double *b, int64_t n)
{
    double diff = 0, norm = 0;
    for (int64_t e = 0; e < n; e++) {
        diff += ((double)a[e] - b[e]) * ((double)a[e] - b[e]);
        norm += b[e] * b[e];
    }
    return norm > 0 ? sqrt(diff / norm) : sqrt(diff);
}

static double relative_error64(const double *a, const double *b, int64_t n)
{
    double diff = 0, norm = 0;
    for (int64_t e = 0; e < n; e++) {
        diff += (a[e] - b[e]) * (a[e] - b[e]);
        norm += b[e] * b[e];
    }
    return norm > 0 ? sqrt(diff / norm) : sqrt(diff);
}

static bool all_finite(const float *a, int64_t n)
{
    for (int64_t e = 0; e < n; e++)
        if (!isfinite(a[e])) return false;
    return true;
}

// Outputs and gradients of both precisions, as arrays indexed like the enums.
typedef struct results64 { double *out[OUTPUTS], *grad[INPUTS], *weight[OUTPUTS]; } results64;
typedef struct results32 { float *out[OUTPUTS], *grad[INPUTS], *weight[OUTPUTS]; } results32;

static results64 results64_new(const problem *p, uint64_t seed)
{
    results64 r;
    for (int k = 0; k < OUTPUTS; k++) {
        r.out[k] = zeros64(p->output_size[k]);
        r.weight[k] = zeros64(p->output_size[k]);
        fill_uniform(r.weight[k], p->output_size[k], 1.0, seed * 16 + 8 + k);
    }
    for (int k = 0; k < INPUTS; k++) r.grad[k] = zeros64(p->input_size[k]);
    return r;
}

static results32 results32_new(const problem *p, const results64 *r64)
{
    results32 r;
    for (int k = 0; k < OUTPUTS; k++) {
        r.out[k] = zeros32(p->output_size[k]);
        r.weight[k] = to_float(r64->weight[k], p->output_size[k]);
    }
    for (int k = 0; k < INPUTS; k++) r.grad[k] = zeros32(p->input_size[k]);
    return r;
}

static void results64_free(results64 *r)
{
    for (int k = 0; k < OUTPUTS; k++) { free(r->out[k]); free(r->weight[k]); }
    for (int k = 0; k < INPUTS; k++) free(r->grad[k]);
}

static void results32_free(results32 *r)
{
    for (int k = 0; k < OUTPUTS; k++) { free(r->out[k]); free(r->weight[k]); }
    for (int k = 0; k < INPUTS; k++) free(r->grad[k]);
}

static void reference_run(const problem *p, results64 *r)
{
    char msg[FM_MSG_LEN];
    fm_attention_inputs_f64 in = inputs64(p);
    fm_attention_outputs_f64 out = { r->out[VALUE_SUMS], r->out[SOURCE_SUMS], r->out[EDGE_SUMS],
                                     r->out[LOG_NORMS] };
    fm_attention_outputs_f64 d_out = { r->weight[VALUE_SUMS], r->weight[SOURCE_SUMS], r->weight[EDGE_SUMS], NULL };
    fm_attention_grads_f64 grads = { r->grad[QUERIES], r->grad[KEYS], r->grad[VALUES],
                                     r->grad[SOURCES], r->grad[PROBES], r->grad[EDGE_SCALES] };
    cr_assert_eq(ref_attention_forward(&out, &in, &p->edges, p->shape, msg), FM_OK, "%s", msg);
    cr_assert_eq(ref_attention_backward(&grads, &d_out, &in, &p->edges, p->shape, msg), FM_OK, "%s", msg);
}

// Forward once, backward `backward_calls` times into the same gradients.
static void graphblas_run(problem *p, results32 *r, int backward_calls)
{
    char msg[FM_MSG_LEN];
    fm_attention_inputs in = inputs32(p);
    fm_attention_outputs out = { r->out[VALUE_SUMS], r->out[SOURCE_SUMS], r->out[EDGE_SUMS], r->out[LOG_NORMS] };
    fm_attention_outputs d_out = { r->weight[VALUE_SUMS], r->weight[SOURCE_SUMS], r->weight[EDGE_SUMS], NULL };
    fm_attention_grads grads = { r->grad[QUERIES], r->grad[KEYS], r->grad[VALUES],
                                 r->grad[SOURCES], r->grad[PROBES], r->grad[EDGE_SCALES] };
    cr_assert_eq(fm_attention_forward_graphblas(&out, &in, p->graph, p->direction, p->shape, msg), FM_OK,
                 "%s", msg);
    for (int c = 0; c < backward_calls; c++)
        cr_assert_eq(fm_attention_backward_graphblas(&grads, &d_out, &in, &out, p->graph, p->direction,
                                                     p->shape, msg),
                     FM_OK, "%s", msg);
}

//------------------------------------------------------------------------------
// (a) the reference backward against central differences of its forward
//------------------------------------------------------------------------------

// loss = Σ_k Σ weight_k ⊙ output_k over value_sums, source_sums, edge_sums
static double reference_loss(const problem *p, const results64 *r)
{
    char msg[FM_MSG_LEN];
    fm_attention_inputs_f64 in = inputs64(p);
    fm_attention_outputs_f64 out = { r->out[VALUE_SUMS], r->out[SOURCE_SUMS], r->out[EDGE_SUMS],
                                     r->out[LOG_NORMS] };
    cr_assert_eq(ref_attention_forward(&out, &in, &p->edges, p->shape, msg), FM_OK, "%s", msg);
    double loss = 0;
    for (int k = 0; k < LOG_NORMS; k++)
        for (int64_t e = 0; e < p->output_size[k]; e++) loss += r->weight[k][e] * r->out[k][e];
    return loss;
}

static double finite_difference_check(problem *p, uint64_t seed)
{
    results64 r = results64_new(p, seed);
    reference_run(p, &r);
    double worst = 0;
    const double step = 1e-5;
    for (int k = 0; k < INPUTS; k++) {
        const int64_t n = p->input_size[k];
        double *numeric = zeros64(n);
        for (int64_t e = 0; e < n; e++) {
            const double saved = p->in64[k][e];
            p->in64[k][e] = saved + step;
            const double up = reference_loss(p, &r);
            p->in64[k][e] = saved - step;
            const double down = reference_loss(p, &r);
            p->in64[k][e] = saved;
            numeric[e] = (up - down) / (2 * step);
        }
        double norm = 0;
        for (int64_t e = 0; e < n; e++) norm += numeric[e] * numeric[e];
        cr_assert_gt(norm, 0, "the gradient of %s is zero: the check would be empty", input_names[k]);
        const double error = relative_error64(r.grad[k], numeric, n);
        cr_expect_lt(error, 1e-6, "%s: backward vs central differences, relative error %.3g (%lldx%lld, %d heads, width %d)",
                     input_names[k], error, (long long)p->shape.targets, (long long)p->shape.sources,
                     p->shape.heads, p->shape.width);
        if (error > worst) worst = error;
        free(numeric);
    }
    results64_free(&r);
    return worst;
}

Test(attention_graphblas, reference_backward_matches_finite_differences)
{
    struct { int64_t rows, cols; double density; fm_direction direction; int heads, width; } cases[] = {
        { 7, 5, 0.5, FM_TO_ROWS, 2, 4 },
        { 7, 5, 0.5, FM_TO_COLUMNS, 1, 4 },
        { 6, 9, 0.6, FM_TO_ROWS, 4, 8 },
        { 6, 9, 0.6, FM_TO_COLUMNS, 2, 8 },
    };
    double worst = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        problem p = problem_new(random_graph(cases[c].rows, cases[c].cols, cases[c].density, 11 + c),
                                cases[c].direction, cases[c].heads, cases[c].width, 1.0, 100 + c);
        double error = finite_difference_check(&p, 200 + c);
        if (error > worst) worst = error;
        problem_free(&p);
    }
    cr_log_info("reference backward vs finite differences: worst relative error %.3g", worst);
}

//------------------------------------------------------------------------------
// (b) GraphBLAS (float) against the reference (double)
//------------------------------------------------------------------------------

// Runs both paths; the GraphBLAS backward runs twice into the same arrays
// and must give twice the reference (gradients are accumulated). Returns the
// worst relative error.
static double compare_with_reference(problem *p, uint64_t seed, double tolerance)
{
    results64 r64 = results64_new(p, seed);
    results32 r32 = results32_new(p, &r64);
    reference_run(p, &r64);
    graphblas_run(p, &r32, 2);
    double worst = 0;
    char where[160];
    snprintf(where, sizeof where, "%lldx%lld %s, %d heads, width %d", (long long)p->shape.targets,
             (long long)p->shape.sources, p->direction == FM_TO_ROWS ? "to rows" : "to columns",
             p->shape.heads, p->shape.width);
    for (int k = 0; k < OUTPUTS; k++) {
        cr_assert(all_finite(r32.out[k], p->output_size[k]), "%s: %s not finite", where, output_names[k]);
        const double error = relative_error32(r32.out[k], r64.out[k], p->output_size[k]);
        cr_expect_lt(error, tolerance, "%s: %s relative error %.3g", where, output_names[k], error);
        if (error > worst) worst = error;
    }
    for (int k = 0; k < INPUTS; k++) {
        double *twice = zeros64(p->input_size[k]);
        for (int64_t e = 0; e < p->input_size[k]; e++) twice[e] = 2 * r64.grad[k][e];
        cr_assert(all_finite(r32.grad[k], p->input_size[k]), "%s: d %s not finite", where, input_names[k]);
        const double error = relative_error32(r32.grad[k], twice, p->input_size[k]);
        cr_expect_lt(error, tolerance, "%s: d %s relative error %.3g", where, input_names[k], error);
        if (error > worst) worst = error;
        free(twice);
    }
    results64_free(&r64);
    results32_free(&r32);
    return worst;
}

// Every direction, heads ∈ {1, 2, 4} and width ∈ {4, 8} on one graph
// (made afresh by `make` for each case).
static double sweep(fm_graph *(*make)(uint64_t), uint64_t seed)
{
    const int heads[] = { 1, 2, 4 }, widths[] = { 4, 8 };
    double worst = 0;
    for (int dir = 0; dir < 2; dir++)
        for (int h = 0; h < 3; h++)
            for (int w = 0; w < 2; w++) {
                const uint64_t s = seed * 100 + dir * 10 + h * 2 + w;
                problem p = problem_new(make(seed), dir == 0 ? FM_TO_ROWS : FM_TO_COLUMNS, heads[h],
                                        widths[w], 1.0, s);
                double error = compare_with_reference(&p, s, 1e-4);
                if (error > worst) worst = error;
                problem_free(&p);
            }
    return worst;
}

static fm_graph *one_by_one(uint64_t seed) { return random_graph(1, 1, 1.0, seed); }
static fm_graph *seven_by_five(uint64_t seed) { return random_graph(7, 5, 0.5, seed); }
static fm_graph *forty_by_sixty(uint64_t seed) { return random_graph(40, 60, 0.3, seed); }
static fm_graph *sixty_by_forty(uint64_t seed) { return random_graph(60, 40, 0.3, seed); }
static fm_graph *dense_nine_by_six(uint64_t seed) { return dense_graph(9, 6, seed); }

Test(attention_graphblas, matches_reference_1x1)
{
    cr_log_info("1x1: worst relative error %.3g", sweep(one_by_one, 1));
}

Test(attention_graphblas, matches_reference_7x5)
{
    cr_log_info("7x5: worst relative error %.3g", sweep(seven_by_five, 2));
}

Test(attention_graphblas, matches_reference_40x60)
{
    cr_log_info("40x60: worst relative error %.3g", sweep(forty_by_sixty, 3));
}

Test(attention_graphblas, matches_reference_60x40)
{
    cr_log_info("60x40: worst relative error %.3g", sweep(sixty_by_forty, 4));
}

Test(attention_graphblas, matches_reference_dense_kind)
{
    cr_log_info("dense 9x6: worst relative error %.3g", sweep(dense_nine_by_six, 5));
}

// NULL members: outputs not written, d_out read as zeros, gradients skipped.
Test(attention_graphblas, null_members_are_skipped)
{
    char msg[FM_MSG_LEN];
    problem p = problem_new(random_graph(12, 9, 0.4, 7), FM_TO_COLUMNS, 2, 8, 1.0, 7);
    results64 r64 = results64_new(&p, 7);
    results32 r32 = results32_new(&p, &r64);
    fm_attention_inputs_f64 in64 = inputs64(&p);
    fm_attention_inputs in32 = inputs32(&p);
    // forward with edge_sums only
    fm_attention_outputs_f64 out64 = { NULL, NULL, r64.out[EDGE_SUMS], NULL };
    fm_attention_outputs out32 = { NULL, NULL, r32.out[EDGE_SUMS], NULL };
    cr_assert_eq(ref_attention_forward(&out64, &in64, &p.edges, p.shape, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_attention_forward_graphblas(&out32, &in32, p.graph, p.direction, p.shape, msg), FM_OK,
                 "%s", msg);
    cr_expect_lt(relative_error32(r32.out[EDGE_SUMS], r64.out[EDGE_SUMS], p.output_size[EDGE_SUMS]), 1e-4);
    // log_norms from a full forward, for the backward
    fm_attention_outputs saved = { r32.out[VALUE_SUMS], r32.out[SOURCE_SUMS], NULL, r32.out[LOG_NORMS] };
    cr_assert_eq(fm_attention_forward_graphblas(&saved, &in32, p.graph, p.direction, p.shape, msg), FM_OK,
                 "%s", msg);
    // one gradient at a time, from the source_sums gradient only
    for (int k = 0; k < INPUTS; k++) {
        fm_attention_outputs_f64 d64 = { NULL, r64.weight[SOURCE_SUMS], NULL, NULL };
        fm_attention_outputs d32 = { NULL, r32.weight[SOURCE_SUMS], NULL, NULL };
        double *g64[INPUTS] = { NULL };
        float *g32[INPUTS] = { NULL };
        g64[k] = r64.grad[k];
        g32[k] = r32.grad[k];
        fm_attention_grads_f64 grads64 = { g64[0], g64[1], g64[2], g64[3], g64[4], g64[5] };
        fm_attention_grads grads32 = { g32[0], g32[1], g32[2], g32[3], g32[4], g32[5] };
        cr_assert_eq(ref_attention_backward(&grads64, &d64, &in64, &p.edges, p.shape, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_attention_backward_graphblas(&grads32, &d32, &in32, &saved, p.graph, p.direction,
                                                     p.shape, msg),
                     FM_OK, "%s", msg);
        const double error = relative_error32(r32.grad[k], r64.grad[k], p.input_size[k]);
        cr_expect_lt(error, 1e-4, "d %s alone: relative error %.3g", input_names[k], error);
    }
    // values get nothing from source_sums alone
    double norm = 0;
    for (int64_t e = 0; e < p.input_size[VALUES]; e++) norm += fabs(r32.grad[VALUES][e]);
    cr_expect_eq(norm, 0.0, "d values from a source_sums gradient alone should be zero, is %g", norm);
    results64_free(&r64);
    results32_free(&r32);
    problem_free(&p);
}

//------------------------------------------------------------------------------
// (c) large scores and isolated targets
//------------------------------------------------------------------------------

Test(attention_graphblas, large_scores_stay_finite_and_isolated_targets_get_zeros)
{
    for (int dir = 0; dir < 2; dir++) {
        // head width 4: q·k of 4 products of numbers up to 100, over 2
        problem p = problem_new(random_graph(30, 20, 0.5, 21), dir ? FM_TO_COLUMNS : FM_TO_ROWS, 2, 8, 100.0,
                                21 + dir);
        results64 r64 = results64_new(&p, 22);
        results32 r32 = results32_new(&p, &r64);
        reference_run(&p, &r64);
        graphblas_run(&p, &r32, 1);
        double largest = 0;
        for (int64_t e = 0; e < p.output_size[LOG_NORMS]; e++)
            if (fabs(r64.out[LOG_NORMS][e]) > largest) largest = fabs(r64.out[LOG_NORMS][e]);
        cr_assert_gt(largest, 5e3, "scores should reach the order of 1e4, the largest log_norm is %g", largest);
        double worst = 0;
        for (int k = 0; k < OUTPUTS; k++) {
            cr_assert(all_finite(r32.out[k], p.output_size[k]), "%s not finite with scores ~1e4", output_names[k]);
            const double error = relative_error32(r32.out[k], r64.out[k], p.output_size[k]);
            cr_expect_lt(error, 1e-2, "%s with scores ~1e4: relative error %.3g", output_names[k], error);
            if (error > worst) worst = error;
        }
        for (int k = 0; k < INPUTS; k++) {
            cr_assert(all_finite(r32.grad[k], p.input_size[k]), "d %s not finite with scores ~1e4", input_names[k]);
            const double error = relative_error32(r32.grad[k], r64.grad[k], p.input_size[k]);
            cr_expect_lt(error, 1e-2, "d %s with scores ~1e4: relative error %.3g", input_names[k], error);
            if (error > worst) worst = error;
        }
        cr_log_info("scores ~1e4 (largest log_norm %.4g), direction %d: worst relative error %.3g",
                    largest, dir, worst);
        // target 0 has no in-edges in either direction (empty row and column 0)
        const int64_t d = p.shape.width, nh = p.shape.heads;
        cr_assert_eq(p.edges.ptr[1], 0, "target 0 should be isolated");
        for (int64_t a = 0; a < d; a++) cr_expect_eq(r32.out[VALUE_SUMS][a], 0.0f);
        for (int64_t a = 0; a < nh * d; a++) cr_expect_eq(r32.out[SOURCE_SUMS][a], 0.0f);
        for (int64_t h = 0; h < nh; h++) {
            cr_expect_eq(r32.out[EDGE_SUMS][h], 0.0f);
            cr_expect_eq(r32.out[LOG_NORMS][h], 0.0f);
            cr_expect_eq(r32.grad[EDGE_SCALES][h], 0.0f);
        }
        for (int64_t a = 0; a < d; a++) cr_expect_eq(r32.grad[QUERIES][a], 0.0f);
        for (int64_t a = 0; a < nh * d; a++) cr_expect_eq(r32.grad[PROBES][a], 0.0f);
        // and source 0 sends nothing: its gradients stay zero
        for (int64_t a = 0; a < d; a++) {
            cr_expect_eq(r32.grad[KEYS][a], 0.0f);
            cr_expect_eq(r32.grad[VALUES][a], 0.0f);
            cr_expect_eq(r32.grad[SOURCES][a], 0.0f);
        }
        results64_free(&r64);
        results32_free(&r32);
        problem_free(&p);
    }
}

//------------------------------------------------------------------------------
// (d) one thread and two
//------------------------------------------------------------------------------

Test(attention_graphblas, same_result_with_one_and_two_threads)
{
    const int threads = fm_get_threads();
    problem p = problem_new(random_graph(300, 200, 0.3, 31), FM_TO_COLUMNS, 2, 8, 1.0, 31);
    results64 r64 = results64_new(&p, 32);
    results32 one = results32_new(&p, &r64), two = results32_new(&p, &r64);
    fm_set_threads(1);
    graphblas_run(&p, &one, 1);
    fm_set_threads(2);
    graphblas_run(&p, &two, 1);
    fm_set_threads(threads);
    for (int k = 0; k < OUTPUTS; k++) {
        int64_t differ = 0;
        for (int64_t e = 0; e < p.output_size[k]; e++) differ += one.out[k][e] != two.out[k][e];
        cr_expect_eq(differ, 0, "%s: %lld entries differ between 1 and 2 threads", output_names[k], (long long)differ);
    }
    for (int k = 0; k < INPUTS; k++) {
        int64_t differ = 0;
        for (int64_t e = 0; e < p.input_size[k]; e++) differ += one.grad[k][e] != two.grad[k][e];
        cr_expect_eq(differ, 0, "d %s: %lld entries differ between 1 and 2 threads", input_names[k], (long long)differ);
    }
    results64_free(&r64);
    results32_free(&one);
    results32_free(&two);
    problem_free(&p);
}

//------------------------------------------------------------------------------
// (e) the factorization of §4.1 against the literal block formulas
//------------------------------------------------------------------------------

Test(attention_graphblas, factorized_attention_matches_literal_block)
{
    char msg[FM_MSG_LEN];
    for (int dir = 0; dir < 2; dir++) {
        const int nh = 2, d = 8, dh = d / nh;
        problem p = problem_new(random_graph(11, 8, 0.5, 41), dir ? FM_TO_COLUMNS : FM_TO_ROWS, nh, d, 1.0, 41);
        const int64_t nt = p.shape.targets, ns = p.shape.sources;
        // node features and parameters
        double *T = zeros64(nt * d), *S = zeros64(ns * d), *param[11];
        const int64_t param_size[11] = { d * d, d, d * d, d, d * d, d, d, d * d, d, d * d, d };
        fill_uniform(T, nt * d, 1.0, 42);
        fill_uniform(S, ns * d, 1.0, 43);
        for (int k = 0; k < 11; k++) {
            param[k] = zeros64(param_size[k]);
            fill_uniform(param[k], param_size[k], 0.7, 50 + k);
        }
        ref_block_params bp = { param[0], param[1], param[2], param[3], param[4], param[5],
                                param[6], param[7], param[8], param[9], param[10] };
        double *literal = zeros64(nt * d);
        cr_assert_eq(ref_attention_block_forward(literal, T, S, &bp, &p.edges, p.shape, msg), FM_OK, "%s", msg);

        // the attention inputs of §4.1: q, kN, vN, P^h_j = t_j ⊙ (B_K^hᵀ q^h_j), c^h_j = q^h_j·a_K^h
        double *in[INPUTS] = { p.in64[QUERIES], p.in64[KEYS], p.in64[VALUES], p.in64[SOURCES], p.in64[PROBES],
                               p.in64[EDGE_SCALES] };
        for (int64_t j = 0; j < nt; j++)
            for (int o = 0; o < d; o++) {
                double q = bp.b_Q[o];
                for (int k = 0; k < d; k++) q += bp.W_Q[o * d + k] * T[j * d + k];
                in[QUERIES][j * d + o] = q;
            }
        for (int64_t i = 0; i < ns; i++)
            for (int o = 0; o < d; o++) {
                double k_ = bp.b_K[o], v = bp.b_V[o];
                for (int k = 0; k < d; k++) {
                    k_ += bp.W_K[o * d + k] * S[i * d + k];
                    v += bp.W_V[o * d + k] * S[i * d + k];
                }
                in[KEYS][i * d + o] = k_;
                in[VALUES][i * d + o] = v;
                in[SOURCES][i * d + o] = S[i * d + o];
            }
        for (int64_t j = 0; j < nt; j++)
            for (int h = 0; h < nh; h++) {
                double c = 0;
                for (int a = 0; a < dh; a++) c += in[QUERIES][j * d + h * dh + a] * bp.a_K[h * dh + a];
                in[EDGE_SCALES][j * nh + h] = c;
                for (int k = 0; k < d; k++) {
                    double b = 0;
                    for (int a = 0; a < dh; a++) b += bp.B_K[(h * dh + a) * d + k] * in[QUERIES][j * d + h * dh + a];
                    in[PROBES][j * nh * d + h * d + k] = T[j * d + k] * b;
                }
            }
        for (int k = 0; k < INPUTS; k++) {
            free(p.in32[k]);
            p.in32[k] = to_float(p.in64[k], p.input_size[k]);
        }
        results64 r64 = results64_new(&p, 44);
        results32 r32 = results32_new(&p, &r64);
        fm_attention_inputs_f64 i64 = inputs64(&p);
        fm_attention_inputs i32 = inputs32(&p);
        fm_attention_outputs_f64 o64 = { r64.out[VALUE_SUMS], r64.out[SOURCE_SUMS], r64.out[EDGE_SUMS], r64.out[LOG_NORMS] };
        fm_attention_outputs o32 = { r32.out[VALUE_SUMS], r32.out[SOURCE_SUMS], r32.out[EDGE_SUMS], r32.out[LOG_NORMS] };
        cr_assert_eq(ref_attention_forward(&o64, &i64, &p.edges, p.shape, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_attention_forward_graphblas(&o32, &i32, p.graph, p.direction, p.shape, msg), FM_OK, "%s", msg);

        // msg^h_j = value_sums^h_j + edge_sums^h_j a_V^h + B_V^h (t_j ⊙ source_sums^h_j) + b_VE^h
        double *assembled64 = zeros64(nt * d), *assembled32 = zeros64(nt * d);
        for (int64_t j = 0; j < nt; j++)
            for (int h = 0; h < nh; h++) {
                const int64_t degree = p.edges.ptr[j + 1] - p.edges.ptr[j];
                for (int a = 0; a < dh; a++) {
                    const int o = h * dh + a;
                    double m64 = r64.out[VALUE_SUMS][j * d + o] + r64.out[EDGE_SUMS][j * nh + h] * bp.a_V[o];
                    double m32 = r32.out[VALUE_SUMS][j * d + o] + r32.out[EDGE_SUMS][j * nh + h] * bp.a_V[o];
                    for (int k = 0; k < d; k++) {
                        m64 += bp.B_V[o * d + k] * T[j * d + k] * r64.out[SOURCE_SUMS][j * nh * d + h * d + k];
                        m32 += bp.B_V[o * d + k] * T[j * d + k] * r32.out[SOURCE_SUMS][j * nh * d + h * d + k];
                    }
                    if (degree > 0) {   // Σ α = 1: b_VE passes through
                        m64 += bp.b_VE[o];
                        m32 += bp.b_VE[o];
                    }
                    assembled64[j * d + o] = m64;
                    assembled32[j * d + o] = m32;
                }
            }
        const double error64 = relative_error64(assembled64, literal, nt * d);
        const double error32 = relative_error64(assembled32, literal, nt * d);
        cr_expect_lt(error64, 1e-12, "factorized (double) vs literal block: relative error %.3g", error64);
        cr_expect_lt(error32, 1e-4, "factorized (GraphBLAS) vs literal block: relative error %.3g", error32);
        cr_log_info("block, direction %d: factorized double %.3g, GraphBLAS %.3g", dir, error64, error32);
        free(T);
        free(S);
        for (int k = 0; k < 11; k++) free(param[k]);
        free(literal);
        free(assembled64);
        free(assembled32);
        results64_free(&r64);
        results32_free(&r32);
        problem_free(&p);
    }
}

//------------------------------------------------------------------------------
// Profile counters and argument checks
//------------------------------------------------------------------------------

Test(attention_graphblas, profile_counts_calls_and_flops)
{
    problem p = problem_new(random_graph(10, 8, 0.5, 61), FM_TO_ROWS, 2, 4, 1.0, 61);
    results64 r64 = results64_new(&p, 62);
    results32 r32 = results32_new(&p, &r64);
    fm_profile_reset();
    fm_profile_enable(true);
    graphblas_run(&p, &r32, 2);
    fm_profile_enable(false);
    const fm_profile_entry *entries = NULL;
    const int count = fm_profile_entries(&entries);
    int forward = -1, backward = -1;
    for (int e = 0; e < count; e++) {
        if (!strcmp(entries[e].name, "attention.graphblas.forward")) forward = e;
        if (!strcmp(entries[e].name, "attention.graphblas.backward")) backward = e;
    }
    cr_assert(forward >= 0 && backward >= 0, "both ops should be recorded");
    cr_expect_eq(entries[forward].calls, 1);
    cr_expect_eq(entries[backward].calls, 2);
    cr_expect_gt(entries[forward].flops, 0);
    cr_expect_gt(entries[backward].flops, entries[forward].flops);
    cr_expect_gt(entries[forward].bytes, 0);
    fm_profile_reset();
    results64_free(&r64);
    results32_free(&r32);
    problem_free(&p);
}

Test(attention_graphblas, rejects_a_shape_that_does_not_fit)
{
    char msg[FM_MSG_LEN];
    problem p = problem_new(random_graph(10, 8, 0.5, 71), FM_TO_ROWS, 2, 4, 1.0, 71);
    results64 r64 = results64_new(&p, 72);
    results32 r32 = results32_new(&p, &r64);
    fm_attention_inputs in = inputs32(&p);
    fm_attention_outputs out = { r32.out[VALUE_SUMS], r32.out[SOURCE_SUMS], r32.out[EDGE_SUMS], r32.out[LOG_NORMS] };
    fm_attention_shape swapped = { p.shape.sources, p.shape.targets, 2, 4 };
    cr_expect_eq(fm_attention_forward_graphblas(&out, &in, p.graph, p.direction, swapped, msg), FM_ERR_INVALID);
    fm_attention_shape uneven = { p.shape.targets, p.shape.sources, 3, 4 };
    cr_expect_eq(fm_attention_forward_graphblas(&out, &in, p.graph, p.direction, uneven, msg), FM_ERR_INVALID);
    in.keys = NULL;
    cr_expect_eq(fm_attention_forward_graphblas(&out, &in, p.graph, p.direction, p.shape, msg), FM_ERR_INVALID);
    results64_free(&r64);
    results32_free(&r32);
    problem_free(&p);
}

//------------------------------------------------------------------------------
// The random graph and the message graph
//------------------------------------------------------------------------------

Test(attention_graphblas, random_graph_has_the_promised_rows_and_columns)
{
    fm_graph *g = random_graph(9, 7, 0.3, 81);
    char msg[FM_MSG_LEN];
    for (int dir = 0; dir < 2; dir++) {
        ref_edges e = { 0 };
        cr_assert_eq(ref_edges_from_graph(&e, g, dir ? FM_TO_COLUMNS : FM_TO_ROWS, msg), FM_OK, "%s", msg);
        cr_expect_eq(e.ptr[1] - e.ptr[0], 0, "node 0 should have no edges");
        cr_expect_eq(e.ptr[2] - e.ptr[1], 1, "node 1 should have one edge");
        cr_expect_eq(e.ptr[3] - e.ptr[2], e.sources - 1, "node 2 should reach every non-empty node");
        for (int64_t t = 0; t < e.targets; t++)
            for (int64_t k = e.ptr[t]; k < e.ptr[t + 1]; k++) {
                cr_expect_gt(e.val[k], 0.0);
                if (k > e.ptr[t]) cr_expect_gt(e.idx[k], e.idx[k - 1], "sources sorted within a target");
            }
        ref_edges_free(&e);
    }
    fm_graph_free(&g);
}

// For the fused path: both orientations borrowed, position maps inverse to
// each other and pointing at the same edge; the graph intact after close.
Test(attention_graphblas, message_graph_maps_positions_between_orientations)
{
    char msg[FM_MSG_LEN];
    fm_graph *graphs[2] = { random_graph(13, 9, 0.4, 91), dense_graph(4, 3, 92) };
    for (int k = 0; k < 2; k++) {
        fm_graph *g = graphs[k];
        ref_edges before = { 0 };
        cr_assert_eq(ref_edges_from_graph(&before, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
        fm_message_graph mg;
        cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
        cr_expect_eq(mg.rows.count, before.count);
        cr_expect_eq(mg.columns.count, before.count);
        if (k == 0) {
            cr_assert_not_null(mg.row_to_column);
            cr_assert_not_null(mg.column_to_row);
            for (int64_t r = 0; r < mg.rows.targets; r++)
                for (int64_t e = (int64_t)mg.rows.ptr[r]; e < (int64_t)mg.rows.ptr[r + 1]; e++) {
                    const int64_t c = (int64_t)mg.rows.idx[e], slot = mg.row_to_column[e];
                    cr_assert(slot >= (int64_t)mg.columns.ptr[c] && slot < (int64_t)mg.columns.ptr[c + 1],
                              "edge (%lld, %lld) mapped outside its column", (long long)r, (long long)c);
                    cr_expect_eq((int64_t)mg.columns.idx[slot], r);
                    cr_expect_eq(mg.columns.val[slot], mg.rows.val[e]);
                    cr_expect_eq(mg.column_to_row[slot], e);
                }
        } else {
            cr_expect_null(mg.rows.ptr);
            cr_expect_null(mg.row_to_column);
            cr_expect_eq(mg.rows.count, 12);
        }
        cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
        cr_expect_null(mg.row_to_column);
        cr_expect_null(mg.rows.owner);
        cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "a second close is harmless");
        ref_edges after = { 0 };
        cr_assert_eq(ref_edges_from_graph(&after, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
        cr_expect_eq(after.count, before.count, "the graph should be whole again after close");
        for (int64_t e = 0; e < after.count && e < before.count; e++)
            cr_expect_eq(after.val[e], before.val[e]);
        ref_edges_free(&before);
        ref_edges_free(&after);
        // the GraphBLAS path only records the graph
        cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_GRAPHBLAS, msg), FM_OK, "%s", msg);
        cr_expect_eq(mg.graph, g);
        cr_expect_null(mg.rows.owner);
        cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
        fm_graph_free(&graphs[k]);
    }
    fm_message_graph zeroed = { 0 };
    cr_expect_eq(fm_message_graph_close(&zeroed, msg), FM_OK, "closing a zeroed message graph");
}
