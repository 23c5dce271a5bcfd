// Fixtures of the attention suites (attention_fixtures.h).
#include "attention_fixtures.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "rng.h"

const char *const input_names[INPUTS] = { "queries", "keys", "values", "sources", "probes", "edge_scales" };
const char *const output_names[OUTPUTS] = { "value_sums", "source_sums", "edge_sums", "log_norms" };

//------------------------------------------------------------------------------
// Arrays and norms
//------------------------------------------------------------------------------

double *zeros64(int64_t n)
{
    double *a = calloc(n > 0 ? n : 1, sizeof(double));
    cr_assert_not_null(a);
    return a;
}

float *zeros32(int64_t n)
{
    float *a = calloc(n > 0 ? n : 1, sizeof(float));
    cr_assert_not_null(a);
    return a;
}

void fill_uniform(double *a, int64_t n, double scale, uint64_t seed)
{
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    for (int64_t e = 0; e < n; e++) a[e] = (float)(scale * (2.0 * fm_rng_uniform(rng, e) - 1.0));
}

float *to_float(const double *a, int64_t n)
{
    float *f = zeros32(n);
    for (int64_t e = 0; e < n; e++) f[e] = (float)a[e];
    return f;
}

double *to_double(const float *a, int64_t n)
{
    double *d = zeros64(n);
    for (int64_t e = 0; e < n; e++) d[e] = a[e];
    return d;
}

// ‖a − b‖ / max(‖b‖, floor); ‖a − b‖ when that is 0.
static double scaled_error(const double *a, const double *b, int64_t n, double floor)
{
    double diff = 0, norm = 0;
    for (int64_t e = 0; e < n; e++) {
        diff += (a[e] - b[e]) * (a[e] - b[e]);
        norm += b[e] * b[e];
    }
    const double scale = fmax(sqrt(norm), floor);
    return scale > 0 ? sqrt(diff) / scale : sqrt(diff);
}

double relative_error64(const double *a, const double *b, int64_t n) { return scaled_error(a, b, n, 0); }

double relative_error32(const float *a, const double *b, int64_t n)
{
    double *wide = to_double(a, n);
    const double error = relative_error64(wide, b, n);
    free(wide);
    return error;
}

double relative_error_float(const float *a, const float *b, int64_t n)
{
    double *wide = to_double(b, n);
    const double error = relative_error32(a, wide, n);
    free(wide);
    return error;
}

bool all_finite(const float *a, int64_t n)
{
    for (int64_t e = 0; e < n; e++)
        if (!isfinite(a[e])) return false;
    return true;
}

double central_differences(double *array, const double *analytic, int64_t size, int64_t probes,
                           double floor, double (*loss)(void *context), void *context,
                           double *numeric_norm)
{
    const int64_t n = size < probes ? size : probes;
    double *numeric = zeros64(n), *exact = zeros64(n);
    double norm = 0;
    for (int64_t k = 0; k < n; k++) {
        const int64_t e = n == size ? k : (k * 7919) % size;
        numeric[k] = fm_test_central_difference(array, e, 1e-5, loss, context);
        exact[k] = analytic[e];
        norm += numeric[k] * numeric[k];
    }
    const double error = scaled_error(exact, numeric, n, floor);
    if (numeric_norm) *numeric_norm = sqrt(norm);
    free(numeric);
    free(exact);
    return error;
}

//------------------------------------------------------------------------------
// Graphs
//------------------------------------------------------------------------------

fm_graph *random_graph(int64_t rows, int64_t cols, double density, uint64_t seed)
{
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(ref_random_graph(&g, rows, cols, density, seed, msg), FM_OK, "%s", msg);
    return g;
}

fm_graph *dense_graph(int64_t rows, int64_t cols, uint64_t seed)
{
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    float *values = fm_test_uniform(rows * cols, seed);
    for (int64_t e = 0; e < rows * cols; e++) values[e] += 0.1f;
    cr_assert_eq(fm_graph_from_dense(&g, rows, cols, values, FM_KIND_DENSE, msg), FM_OK, "%s", msg);
    free(values);
    return g;
}

fm_graph *one_by_one(uint64_t seed) { return random_graph(1, 1, 1.0, seed); }
fm_graph *seven_by_five(uint64_t seed) { return random_graph(7, 5, 0.5, seed); }
fm_graph *forty_by_sixty(uint64_t seed) { return random_graph(40, 60, 0.3, seed); }
fm_graph *sixty_by_forty(uint64_t seed) { return random_graph(60, 40, 0.3, seed); }
fm_graph *dense_nine_by_six(uint64_t seed) { return dense_graph(9, 6, seed); }
fm_graph *dense_seventy_by_300(uint64_t seed) { return dense_graph(70, 300, seed); }

//------------------------------------------------------------------------------
// One attention problem
//------------------------------------------------------------------------------

problem problem_new(fm_graph *g, fm_direction direction, int heads, int width, double scale, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    problem p = { .graph = g, .direction = direction };
    cr_assert_eq(ref_edges_from_graph(&p.edges, g, direction, msg), FM_OK, "%s", msg);
    p.shape = (fm_attention_shape){ p.edges.targets, p.edges.sources, heads, width };
    const int64_t nt = p.shape.targets, ns = p.shape.sources, d = width, nh = heads;
    const int64_t in[INPUTS] = { nt * d, ns * d, ns * d, ns * d, nt * nh * d, nt * nh };
    const int64_t out[OUTPUTS] = { nt * d, nt * nh * d, nt * nh, nt * nh };
    memcpy(p.input_size, in, sizeof in);
    memcpy(p.output_size, out, sizeof out);
    for (int k = 0; k < INPUTS; k++) {
        p.in64[k] = zeros64(p.input_size[k]);
        fill_uniform(p.in64[k], p.input_size[k], scale, seed * 16 + k);
    }
    problem_round_inputs(&p);
    return p;
}

void problem_free(problem *p)
{
    fm_graph_free(&p->graph);
    ref_edges_free(&p->edges);
    for (int k = 0; k < INPUTS; k++) {
        free(p->in64[k]);
        free(p->in32[k]);
    }
}

// The message graph of a path: the graph's own, or its sample (packed for
// the GraphBLAS path).
static void open_graph(fm_message_graph *mg, problem *p, fm_kernels kernels)
{
    char msg[FM_MSG_LEN];
    if (!p->sampled) {
        cr_assert_eq(fm_message_graph_open(mg, p->graph, kernels, msg), FM_OK, "%s", msg);
        return;
    }
    fm_edges rows, columns;
    cr_assert_eq(fm_edges_borrow(&rows, p->graph, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&columns, p->graph, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    const int status = fm_message_graph_sample(mg, p->graph, &rows, &columns, 1.0, &p->sampler, p->round,
                                               1u << p->direction, true, msg);
    cr_assert_eq(status, FM_OK, "%s", msg);
    if (kernels == FM_KERNELS_GRAPHBLAS) cr_assert_eq(fm_message_graph_pack(mg, msg), FM_OK, "%s", msg);
    // the sample keeps copies: the graph's arrays can go back at once
    cr_assert_eq(fm_edges_return(&rows, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_return(&columns, msg), FM_OK, "%s", msg);
}

void problem_sample(problem *p, const fm_sampler_options *options, uint64_t round)
{
    char msg[FM_MSG_LEN];
    p->sampled = true;
    p->sampler = *options;
    p->round = round;
    fm_message_graph mg;
    open_graph(&mg, p, FM_KERNELS_FUSED);
    ref_edges_free(&p->edges);
    const fm_edges *edges = p->direction == FM_TO_ROWS ? &mg.rows : &mg.columns;
    cr_assert_eq(ref_edges_from_csr(&p->edges, edges, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
}

void problem_round_inputs(problem *p)
{
    for (int k = 0; k < INPUTS; k++) {
        free(p->in32[k]);
        p->in32[k] = to_float(p->in64[k], p->input_size[k]);
    }
}

fm_attention_inputs_f64 inputs64(const problem *p)
{
    return (fm_attention_inputs_f64){ p->in64[QUERIES], p->in64[KEYS], p->in64[VALUES],
                                      p->in64[SOURCES], p->in64[PROBES], p->in64[EDGE_SCALES] };
}

fm_attention_inputs inputs32(const problem *p)
{
    return (fm_attention_inputs){ p->in32[QUERIES], p->in32[KEYS], p->in32[VALUES],
                                  p->in32[SOURCES], p->in32[PROBES], p->in32[EDGE_SCALES] };
}

const char *problem_name(const problem *p)
{
    static char name[160];
    snprintf(name, sizeof name, "%lldx%lld %s, %d heads, width %d", (long long)p->shape.targets,
             (long long)p->shape.sources, p->direction == FM_TO_ROWS ? "to rows" : "to columns",
             p->shape.heads, p->shape.width);
    return name;
}

results64 results64_new(const problem *p, uint64_t seed)
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

results32 results32_new(const problem *p, const results64 *r64)
{
    results32 r;
    for (int k = 0; k < OUTPUTS; k++) {
        r.out[k] = zeros32(p->output_size[k]);
        r.weight[k] = to_float(r64->weight[k], p->output_size[k]);
    }
    for (int k = 0; k < INPUTS; k++) r.grad[k] = zeros32(p->input_size[k]);
    return r;
}

void results64_free(results64 *r)
{
    for (int k = 0; k < OUTPUTS; k++) { free(r->out[k]); free(r->weight[k]); }
    for (int k = 0; k < INPUTS; k++) free(r->grad[k]);
}

void results_widen(results64 *wide, const problem *p, const results32 *r)
{
    for (int k = 0; k < OUTPUTS; k++)
        for (int64_t e = 0; e < p->output_size[k]; e++) wide->out[k][e] = r->out[k][e];
    for (int k = 0; k < INPUTS; k++)
        for (int64_t e = 0; e < p->input_size[k]; e++) wide->grad[k][e] = r->grad[k][e];
}

void results32_free(results32 *r)
{
    for (int k = 0; k < OUTPUTS; k++) { free(r->out[k]); free(r->weight[k]); }
    for (int k = 0; k < INPUTS; k++) free(r->grad[k]);
}

//------------------------------------------------------------------------------
// Paths
//------------------------------------------------------------------------------

const char *path_name(attention_path path)
{
    static const char *names[] = { "reference", "fused (double)", "fused (float)", "GraphBLAS" };
    return names[path];
}

void run32(problem *p, results32 *r, fm_kernels kernels, int backward_calls)
{
    char msg[FM_MSG_LEN];
    fm_message_graph mg;
    fm_attention_inputs in = inputs32(p);
    fm_attention_outputs out = { r->out[VALUE_SUMS], r->out[SOURCE_SUMS], r->out[EDGE_SUMS], r->out[LOG_NORMS] };
    fm_attention_outputs d_out = { r->weight[VALUE_SUMS], r->weight[SOURCE_SUMS], r->weight[EDGE_SUMS], NULL };
    fm_attention_grads grads = { r->grad[QUERIES], r->grad[KEYS], r->grad[VALUES],
                                 r->grad[SOURCES], r->grad[PROBES], r->grad[EDGE_SCALES] };
    open_graph(&mg, p, kernels);
    cr_assert_eq(fm_attention_forward(&out, &in, &mg, p->direction, p->shape, msg), FM_OK, "%s", msg);
    for (int c = 0; c < backward_calls; c++)
        cr_assert_eq(fm_attention_backward(&grads, &d_out, &in, &out, &mg, p->direction, p->shape, msg), FM_OK,
                     "%s", msg);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
}

// The forward of a double path into r's outputs.
static void forward64(problem *p, results64 *r, attention_path path)
{
    char msg[FM_MSG_LEN];
    fm_attention_inputs_f64 in = inputs64(p);
    fm_attention_outputs_f64 out = { r->out[VALUE_SUMS], r->out[SOURCE_SUMS], r->out[EDGE_SUMS],
                                     r->out[LOG_NORMS] };
    if (path == PATH_REFERENCE) {
        cr_assert_eq(ref_attention_forward(&out, &in, &p->edges, p->shape, msg), FM_OK, "%s", msg);
        return;
    }
    fm_message_graph mg;
    open_graph(&mg, p, FM_KERNELS_FUSED);
    cr_assert_eq(fm_attention_forward_f64(&out, &in, &mg, p->direction, p->shape, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
}

void run64(problem *p, results64 *r, attention_path path, int backward_calls)
{
    char msg[FM_MSG_LEN];
    if (path == PATH_FUSED || path == PATH_GRAPHBLAS) {
        results32 r32 = results32_new(p, r);
        for (int k = 0; k < INPUTS; k++)
            for (int64_t e = 0; e < p->input_size[k]; e++) r32.grad[k][e] = (float)r->grad[k][e];
        run32(p, &r32, path == PATH_FUSED ? FM_KERNELS_FUSED : FM_KERNELS_GRAPHBLAS, backward_calls);
        results_widen(r, p, &r32);
        results32_free(&r32);
        return;
    }
    forward64(p, r, path);
    fm_attention_inputs_f64 in = inputs64(p);
    fm_attention_outputs_f64 saved = { r->out[VALUE_SUMS], r->out[SOURCE_SUMS], r->out[EDGE_SUMS],
                                       r->out[LOG_NORMS] };
    fm_attention_outputs_f64 d_out = { r->weight[VALUE_SUMS], r->weight[SOURCE_SUMS], r->weight[EDGE_SUMS], NULL };
    fm_attention_grads_f64 grads = { r->grad[QUERIES], r->grad[KEYS], r->grad[VALUES],
                                     r->grad[SOURCES], r->grad[PROBES], r->grad[EDGE_SCALES] };
    fm_message_graph mg = { 0 };
    if (path == PATH_FUSED_F64) open_graph(&mg, p, FM_KERNELS_FUSED);
    for (int c = 0; c < backward_calls; c++) {
        const int status = path == PATH_REFERENCE
                               ? ref_attention_backward(&grads, &d_out, &in, &p->edges, p->shape, msg)
                               : fm_attention_backward_f64(&grads, &d_out, &in, &saved, &mg, p->direction,
                                                           p->shape, msg);
        cr_assert_eq(status, FM_OK, "%s", msg);
    }
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
}

double loss64(problem *p, results64 *r, attention_path path)
{
    forward64(p, r, path);
    double loss = 0;
    for (int k = 0; k < LOG_NORMS; k++)
        for (int64_t e = 0; e < p->output_size[k]; e++) loss += r->weight[k][e] * r->out[k][e];
    return loss;
}

//------------------------------------------------------------------------------
// Comparisons
//------------------------------------------------------------------------------

static bool all_finite64(const double *a, int64_t n)
{
    for (int64_t e = 0; e < n; e++)
        if (!isfinite(a[e])) return false;
    return true;
}

differences compare_results(const problem *p, const results64 *a, const results64 *b, double grad_factor,
                            double out_tolerance, double grad_tolerance, const char *what)
{
    differences worst = { 0, 0 };
    const char *where = problem_name(p);
    for (int k = 0; k < OUTPUTS; k++) {
        cr_assert(all_finite64(a->out[k], p->output_size[k]), "%s, %s: %s not finite", what, where, output_names[k]);
        const double error = relative_error64(a->out[k], b->out[k], p->output_size[k]);
        cr_expect_lt(error, out_tolerance, "%s, %s: %s relative error %.3g", what, where, output_names[k], error);
        worst.forward = fmax(worst.forward, error);
    }
    for (int k = 0; k < INPUTS; k++) {
        double *scaled = zeros64(p->input_size[k]);
        for (int64_t e = 0; e < p->input_size[k]; e++) scaled[e] = grad_factor * b->grad[k][e];
        cr_assert(all_finite64(a->grad[k], p->input_size[k]), "%s, %s: d %s not finite", what, where, input_names[k]);
        const double error = relative_error64(a->grad[k], scaled, p->input_size[k]);
        cr_expect_lt(error, grad_tolerance, "%s, %s: d %s relative error %.3g", what, where, input_names[k], error);
        worst.backward = fmax(worst.backward, error);
        free(scaled);
    }
    return worst;
}

differences compare_paths(problem *p, uint64_t seed, attention_path tried, attention_path against,
                          double out_tolerance, double grad_tolerance)
{
    results64 reference = results64_new(p, seed), result = results64_new(p, seed);
    run64(p, &reference, against, 1);
    run64(p, &result, tried, 2);
    char what[64];
    snprintf(what, sizeof what, "%s vs %s", path_name(tried), path_name(against));
    const differences error = compare_results(p, &result, &reference, 2.0, out_tolerance, grad_tolerance, what);
    results64_free(&reference);
    results64_free(&result);
    return error;
}

double sweep(graph_maker make, uint64_t seed, attention_path path, double tolerance)
{
    // (2 heads over a width of 16: the shipped models' shape, which the fused kernel compiles on its own)
    const int heads[] = { 1, 2, 4 }, widths[] = { 4, 8, 16 };
    double worst = 0;
    for (int dir = 0; dir < 2; dir++)
        for (int h = 0; h < 3; h++)
            for (int w = 0; w < 3; w++) {
                const uint64_t s = seed * 100 + dir * 10 + h * 3 + w;
                problem p = problem_new(make(seed), dir == 0 ? FM_TO_ROWS : FM_TO_COLUMNS, heads[h],
                                        widths[w], 1.0, s);
                const differences error = compare_paths(&p, s, path, PATH_REFERENCE, tolerance, tolerance);
                worst = fmax(worst, fmax(error.forward, error.backward));
                problem_free(&p);
            }
    return worst;
}

typedef struct loss_context { problem *p; results64 *r; attention_path path; } loss_context;

static double context_loss(void *context)
{
    loss_context *c = context;
    return loss64(c->p, c->r, c->path);
}

double check_finite_differences(problem *p, attention_path path, int64_t probes, uint64_t seed)
{
    results64 r = results64_new(p, seed);
    run64(p, &r, path, 1);
    loss_context context = { p, &r, path };
    double worst = 0;
    for (int k = 0; k < INPUTS; k++) {
        double norm;
        const double error = central_differences(p->in64[k], r.grad[k], p->input_size[k], probes, 0,
                                                 context_loss, &context, &norm);
        cr_assert_gt(norm, 0, "the gradient of %s is zero: the check would be empty", input_names[k]);
        cr_expect_lt(error, 1e-6, "%s: d %s vs central differences, relative error %.3g (%s)", path_name(path),
                     input_names[k], error, problem_name(p));
        worst = fmax(worst, error);
    }
    results64_free(&r);
    return worst;
}

differences check_thread_counts(problem *p, attention_path path, uint64_t seed, int64_t *entries_differ)
{
    const int threads = fm_get_threads();
    results64 one = results64_new(p, seed);
    fm_set_threads(1);   // omp_set_num_threads and GxB_NTHREADS alike
    run64(p, &one, path, 1);
    differences worst = { 0, 0 };
    int64_t differ = 0;
    // 3 and 7: the sparse backward's rounds over blocks of targets and
    // sources, one block each per thread, with an odd count and more blocks
    // than some graphs have nodes with edges
    const int counts[] = { 2, 3, 7 };
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        results64 many = results64_new(p, seed);
        fm_set_threads(counts[c]);
        run64(p, &many, path, 1);
        char what[64];
        snprintf(what, sizeof what, "%s, %d threads vs 1", path_name(path), counts[c]);
        const differences error = compare_results(p, &many, &one, 1.0, 1e-5, 1e-5, what);
        worst.forward = fmax(worst.forward, error.forward);
        worst.backward = fmax(worst.backward, error.backward);
        for (int k = 0; k < OUTPUTS; k++)
            for (int64_t e = 0; e < p->output_size[k]; e++) differ += one.out[k][e] != many.out[k][e];
        for (int k = 0; k < INPUTS; k++)
            for (int64_t e = 0; e < p->input_size[k]; e++) differ += one.grad[k][e] != many.grad[k][e];
        results64_free(&many);
    }
    fm_set_threads(threads);
    *entries_differ = differ;
    results64_free(&one);
    return worst;
}

double largest_log_norm(const problem *p, const results64 *r)
{
    double largest = 0;
    for (int64_t e = 0; e < p->output_size[LOG_NORMS]; e++) largest = fmax(largest, fabs(r->out[LOG_NORMS][e]));
    return largest;
}

void check_isolated_node_zeros(const problem *p, const results32 *r)
{
    const int64_t d = p->shape.width, nh = p->shape.heads;
    cr_assert_eq(p->edges.ptr[1], 0, "target 0 should be isolated");
    for (int64_t a = 0; a < d; a++) cr_expect_eq(r->out[VALUE_SUMS][a], 0.0f);
    for (int64_t a = 0; a < nh * d; a++) cr_expect_eq(r->out[SOURCE_SUMS][a], 0.0f);
    for (int64_t h = 0; h < nh; h++) {
        cr_expect_eq(r->out[EDGE_SUMS][h], 0.0f);
        cr_expect_eq(r->out[LOG_NORMS][h], 0.0f);
        cr_expect_eq(r->grad[EDGE_SCALES][h], 0.0f);
    }
    for (int64_t a = 0; a < d; a++) cr_expect_eq(r->grad[QUERIES][a], 0.0f);
    for (int64_t a = 0; a < nh * d; a++) cr_expect_eq(r->grad[PROBES][a], 0.0f);
    // and source 0 sends nothing: its gradients stay zero
    for (int64_t e = 0; e < p->edges.count; e++) cr_assert_neq(p->edges.idx[e], 0, "source 0 should be isolated");
    for (int64_t a = 0; a < d; a++) {
        cr_expect_eq(r->grad[KEYS][a], 0.0f);
        cr_expect_eq(r->grad[VALUES][a], 0.0f);
        cr_expect_eq(r->grad[SOURCES][a], 0.0f);
    }
}

//------------------------------------------------------------------------------
// The attention block
//------------------------------------------------------------------------------

block_problem block_problem_new(fm_attention_shape shape, uint64_t seed)
{
    const int64_t d = shape.width;
    const int64_t size[BLOCK_TENSORS] = { d * d, d, d * d, d, d * d, d, d, d * d, d, d * d, d };
    block_problem b = { .targets = zeros64(shape.targets * d), .sources = zeros64(shape.sources * d) };
    fill_uniform(b.targets, shape.targets * d, 1.0, seed);
    fill_uniform(b.sources, shape.sources * d, 1.0, seed + 1);
    for (int k = 0; k < BLOCK_TENSORS; k++) {
        b.tensor[k] = zeros64(size[k]);
        fill_uniform(b.tensor[k], size[k], 0.7, seed + 8 + k);
    }
    double *const *t = b.tensor;
    b.params = (ref_block_params){ t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10] };
    b.weights = (fm_attention_weights_f64){ t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10] };
    return b;
}

void block_problem_free(block_problem *b)
{
    free(b->targets);
    free(b->sources);
    for (int k = 0; k < BLOCK_TENSORS; k++) free(b->tensor[k]);
}
