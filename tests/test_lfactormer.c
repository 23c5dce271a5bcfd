// The L-Factormer (models/nmf/lfactormer, docs/factormer-math.md §5): its backward
// against central finite differences of its double forward, for every
// parameter tensor and both inputs; its forward against the §5 recipe put
// together by hand from single layers; float against double; the GraphBLAS
// message graph against the fused one; accumulation. The outputs, the
// parameter layout, argument checks and the forward alone:
// tests/test_lfactormer_forward.c.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "attention_fixtures.h"
#include "helpers.h"
#include "lfactormer.h"
#include "lfactormer_fixtures.h"
#include "lfactormer_problems.h"
#include "network_graph.h"
#include "rng.h"

TestSuite(lfactormer, .init = fm_test_setup);

// L ∈ {2, 3}, k_in ∈ {3, 6}; some output clamped in at least one of them, so
// that the relu's backward is checked where it stops the gradient too.
static void check_configs(fm_graph *g, uint64_t seed)
{
    const int layers[] = {2, 3}, inputs[] = {3, 6};
    int64_t clamped = 0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            const fm_lfactormer_config config = lf_make_config(inputs[b], layers[a]);
            clamped += lf_check_gradients(g, &config, seed + 10 * a + b);
        }
    cr_expect_gt(clamped, 0, "no output clamped to 0 in any configuration: the relu's mask is not checked");
}

Test(lfactormer, backward_matches_finite_differences_sparse)
{
    fm_graph *g = random_graph(7, 6, 0.5, 3);
    check_configs(g, 100);
    fm_graph_free(&g);
}

Test(lfactormer, backward_matches_finite_differences_dense)
{
    fm_graph *g = dense_graph(5, 4, 4);
    check_configs(g, 200);
    fm_graph_free(&g);
}

//------------------------------------------------------------------------------
// The forward against §5 put together by hand (double)
//------------------------------------------------------------------------------

// out (rows × out_dim) = in (rows × in_dim) · weightᵀ + bias, in plain loops.
static void affine(double *out, const double *in, const double *weight, const double *bias, int64_t rows, int in_dim,
                   int out_dim)
{
    for (int64_t r = 0; r < rows; r++)
        for (int c = 0; c < out_dim; c++) {
            double sum = bias[c];
            for (int i = 0; i < in_dim; i++) sum += weight[(int64_t)c * in_dim + i] * in[r * in_dim + i];
            out[r * out_dim + c] = sum;
        }
}

// The tensor named `name` in the model's double block.
static const double *tensor(const lf_model *p, const char *name)
{
    const int t = fm_params_find(p->layout, name);
    cr_assert_geq(t, 0, "no tensor named %s", name);
    return p->values + p->layout->offsets[t];
}

// §5 from single layers, each bound by its own prefix: S_0, T_0 by loops;
// layer l (1-based) updates T from S over X when l is odd, S from T over Xᵀ
// when l is even; the output heads by loops, then relu.
static void check_forward_composition(fm_graph *g, const fm_lfactormer_config *config, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    fm_message_graph mg;
    cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    const char *name = lf_config_name(config, g);
    lf_model p = lf_model_new(config, &mg, seed);
    lf_model_gradients(&p);   // the model's outputs into p.w_out, p.ht_out
    const int64_t m = p.rows, n = p.cols, d = config->width, k = config->rank;
    double *S = zeros64(m * d), *T = zeros64(n * d), *next = zeros64((m > n ? m : n) * d);
    affine(S, p.w_in, tensor(&p, "embed_w.weight"), tensor(&p, "embed_w.bias"), m, config->inputs, config->width);
    affine(T, p.ht_in, tensor(&p, "embed_h.weight"), tensor(&p, "embed_h.bias"), n, config->inputs, config->width);
    for (int l = 1; l <= config->layers; l++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "layer%d.", l);
        int64_t offsets[FM_LAYER_TENSORS];
        fm_tensor_spec specs[FM_LAYER_TENSORS];
        char names[FM_LAYER_TENSORS][FM_LAYER_NAME];
        fm_layer_specs(specs, names, prefix, config->width);
        for (int t = 0; t < FM_LAYER_TENSORS; t++) {
            const int at = fm_params_find(p.layout, names[t]);
            cr_assert_geq(at, 0, "no tensor named %s", names[t]);
            offsets[t] = p.layout->offsets[at];
        }
        fm_layer_weights_f64 w;
        fm_layer_bind_f64(&w, p.values, offsets);
        const bool odd = l % 2 == 1;
        const fm_attention_shape shape = {odd ? n : m, odd ? m : n, config->heads, config->width};
        fm_layer_saved_f64 saved;
        cr_assert_eq(fm_layer_saved_new_f64(&saved, shape, msg), FM_OK, "%s", msg);
        if (odd)
            cr_assert_eq(fm_layer_forward_f64(next, &saved, T, S, &w, &mg, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
        else
            cr_assert_eq(fm_layer_forward_f64(next, &saved, S, T, &w, &mg, FM_TO_ROWS, msg), FM_OK, "%s", msg);
        memcpy(odd ? T : S, next, sizeof(double) * (odd ? n : m) * d);
        fm_layer_saved_free_f64(&saved);
    }
    double *w_out = zeros64(m * k), *ht_out = zeros64(n * k);
    affine(w_out, S, tensor(&p, "out_w.weight"), tensor(&p, "out_w.bias"), m, config->width, config->rank);
    affine(ht_out, T, tensor(&p, "out_h.weight"), tensor(&p, "out_h.bias"), n, config->width, config->rank);
    for (int64_t e = 0; e < m * k; e++) w_out[e] = fmax(w_out[e], 0);
    for (int64_t e = 0; e < n * k; e++) ht_out[e] = fmax(ht_out[e], 0);
    const double ew = relative_error64(p.w_out, w_out, m * k), eh = relative_error64(p.ht_out, ht_out, n * k);
    cr_expect_lt(ew, 1e-12, "%s: W_out vs §5 by hand, relative error %.3g", name, ew);
    cr_expect_lt(eh, 1e-12, "%s: Hᵀ_out vs §5 by hand, relative error %.3g", name, eh);
    cr_expect_gt(fm_test_norm(w_out, m * k), 0, "%s: W_out by hand is zero", name);
    cr_expect_gt(fm_test_norm(ht_out, n * k), 0, "%s: Hᵀ_out by hand is zero", name);
    free(S);
    free(T);
    free(next);
    free(w_out);
    free(ht_out);
    lf_model_free(&p);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
}

Test(lfactormer, forward_matches_section_5_by_hand)
{
    fm_graph *sparse = random_graph(7, 6, 0.5, 5), *dense = dense_graph(5, 4, 6);
    for (int layers = 0; layers <= 4; layers++) {
        const fm_lfactormer_config config = lf_make_config(layers % 2 ? 6 : 3, layers);
        check_forward_composition(sparse, &config, 300 + layers);
        check_forward_composition(dense, &config, 310 + layers);
    }
    fm_graph_free(&sparse);
    fm_graph_free(&dense);
}

//------------------------------------------------------------------------------
// Float runs, and comparisons of two runs
//------------------------------------------------------------------------------

// The outputs and gradients of one float forward and backward.
typedef struct float_run {
    float *w_out, *ht_out, *d_w_in, *d_ht_in, *grads;   // grads: the whole gradient block
} float_run;

// The message graph of a run: g's own for `kernels`, or with `sampler` a
// sample per layer (round 0, drawn with the backward), packed for GraphBLAS
// when the kernels say so. Returns what the network reads.
static const fm_message_graph *open_run_graph(fm_message_graph *mg, fm_network_graph *sample, fm_graph *g,
                                              fm_kernels kernels, const fm_sampler_options *sampler, int layers)
{
    char msg[FM_MSG_LEN];
    if (!sampler) {
        cr_assert_eq(fm_message_graph_open(mg, g, kernels, msg), FM_OK, "%s", msg);
        return mg;
    }
    memset(mg, 0, sizeof *mg);
    fm_edges rows = {0}, columns = {0};
    cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&columns, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_network_graph_draw(sample, g, &rows, &columns, 1.0, sampler, false, layers, 0, true, msg), FM_OK,
                 "%s", msg);
    cr_assert_eq(fm_edges_return(&rows, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_return(&columns, msg), FM_OK, "%s", msg);
    if (kernels == FM_KERNELS_GRAPHBLAS) cr_assert_eq(fm_network_graph_pack(sample, msg), FM_OK, "%s", msg);
    return &sample->graph;
}

// Forward, then `backward_calls` backward passes (accumulating), on a message
// graph opened for `kernels` (open_run_graph); d_w_in, d_ht_in not asked for
// when !with_inputs.
static float_run run_float(fm_params *params, const fm_lfactormer_config *config, fm_graph *g, fm_kernels kernels,
                           const fm_sampler_options *sampler, const float *w_in, const float *ht_in,
                           const float *d_w_out, const float *d_ht_out, int backward_calls, bool with_inputs)
{
    char msg[FM_MSG_LEN];
    const int64_t m = g->stats.rows, n = g->stats.cols;
    float_run run = {zeros32(m * config->rank), zeros32(n * config->rank), zeros32(m * config->inputs),
                     zeros32(n * config->inputs), zeros32(params->count)};
    fm_lfactormer_weights w;
    fm_lfactormer_grads grads;
    fm_lfactormer_saved saved;
    fm_message_graph own;
    fm_network_graph sample = {0};
    fm_params_zero_grads(params);
    fm_lfactormer_bind(&w, config, params->values, params->offsets);
    fm_lfactormer_bind_grads(&grads, config, params->grads, params->offsets);
    cr_assert_eq(fm_lfactormer_saved_new(&saved, config, m, n, msg), FM_OK, "%s", msg);
    const fm_message_graph *mg = open_run_graph(&own, &sample, g, kernels, sampler, config->layers);
    cr_assert_eq(fm_lfactormer_forward(run.w_out, run.ht_out, &saved, w_in, ht_in, &w, mg, msg), FM_OK, "%s", msg);
    for (int call = 0; call < backward_calls; call++)
        cr_assert_eq(fm_lfactormer_backward(with_inputs ? run.d_w_in : NULL, with_inputs ? run.d_ht_in : NULL, &grads,
                                            d_w_out, d_ht_out, &saved, &w, mg, msg),
                     FM_OK, "%s", msg);
    fm_network_graph_free(&sample);
    cr_assert_eq(fm_message_graph_close(&own, msg), FM_OK, "%s", msg);
    memcpy(run.grads, params->grads, sizeof(float) * params->count);
    fm_lfactormer_saved_free(&saved);
    return run;
}

static void float_run_free(float_run *run)
{
    free(run->w_out);
    free(run->ht_out);
    free(run->d_w_in);
    free(run->d_ht_in);
    free(run->grads);
}

// `a` against `b` (the reference), norm-wise, below `tolerance`; every entry
// of `a` finite.
static double expect_close(const double *a, const double *b, int64_t n, double tolerance, const char *what,
                           const char *name)
{
    for (int64_t e = 0; e < n; e++) cr_assert(isfinite(a[e]), "%s, %s: entry %lld not finite", name, what, (long long)e);
    const double error = relative_error64(a, b, n);
    cr_expect_lt(error, tolerance, "%s, %s: relative error %.3g", name, what, error);
    return error;
}

// Every gradient tensor of `a` against `b`'s. A key bias's gradient is zero
// in exact arithmetic and each side holds rounding there, with no relative
// accuracy to compare: both must be below `tolerance` times the gradient of
// the same layer's key weight.
static double compare_gradients(const fm_params *layout, const double *a, const double *b, double tolerance,
                                const char *name)
{
    double worst = 0;
    for (int t = 0; t < layout->tensors; t++) {
        const char *tensor_name = layout->specs[t].name;
        const int64_t at = layout->offsets[t], size = fm_params_size(layout, t);
        if (!fm_test_is_key_bias(tensor_name)) {
            worst = fmax(worst, expect_close(a + at, b + at, size, tolerance, tensor_name, name));
            continue;
        }
        char weight_name[FM_LFACTORMER_NAME];
        snprintf(weight_name, sizeof weight_name, "%.*skey.weight", (int)(strlen(tensor_name) - strlen("key.bias")),
                 tensor_name);
        const int weight = fm_params_find(layout, weight_name);
        cr_assert_geq(weight, 0, "no tensor %s", weight_name);
        const double scale = fm_test_norm(b + layout->offsets[weight], fm_params_size(layout, weight));
        cr_assert_gt(scale, 0, "%s: the gradient of %s is zero", name, weight_name);
        const double ra = fm_test_norm(a + at, size) / scale, rb = fm_test_norm(b + at, size) / scale;
        cr_expect_lt(ra, tolerance, "%s: ‖d %s‖ / ‖d %s‖ = %.3g", name, tensor_name, weight_name, ra);
        cr_expect_lt(rb, tolerance, "%s: ‖d %s‖ / ‖d %s‖ = %.3g (reference)", name, tensor_name, weight_name, rb);
    }
    return worst;
}

//------------------------------------------------------------------------------
// (b) Float against double
//------------------------------------------------------------------------------

static double check_float_against_double(fm_graph *g, const fm_lfactormer_config *config, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    fm_message_graph mg;
    cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    char name[160];
    snprintf(name, sizeof name, "float vs double, %s", lf_config_name(config, g));
    lf_model p = lf_model_new(config, &mg, seed);
    lf_model_gradients(&p);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    lf_expect_some_positive(&p, name);

    fm_params *params = NULL;
    cr_assert_eq(fm_lfactormer_params_new(&params, config, msg), FM_OK, "%s", msg);
    for (int64_t e = 0; e < params->count; e++) params->values[e] = (float)p.values[e];
    const int64_t m = p.rows, n = p.cols, k = config->rank, k_in = config->inputs;
    float *w_in = to_float(p.w_in, m * k_in), *ht_in = to_float(p.ht_in, n * k_in);
    float *dw = to_float(p.w_weight, m * k), *dh = to_float(p.ht_weight, n * k);
    float_run run = run_float(params, config, g, FM_KERNELS_FUSED, NULL, w_in, ht_in, dw, dh, 1, true);

    double *w_out = to_double(run.w_out, m * k), *ht_out = to_double(run.ht_out, n * k);
    double *d_w_in = to_double(run.d_w_in, m * k_in), *d_ht_in = to_double(run.d_ht_in, n * k_in);
    double *grads = to_double(run.grads, params->count);
    double worst = expect_close(w_out, p.w_out, m * k, 1e-4, "W_out", name);
    worst = fmax(worst, expect_close(ht_out, p.ht_out, n * k, 1e-4, "Hᵀ_out", name));
    worst = fmax(worst, expect_close(d_w_in, p.d_w_in, m * k_in, 1e-4, "d W_in", name));
    worst = fmax(worst, expect_close(d_ht_in, p.d_ht_in, n * k_in, 1e-4, "d Hᵀ_in", name));
    worst = fmax(worst, compare_gradients(params, grads, p.grads, 1e-4, name));
    cr_log_info("%s: worst relative error %.3g", name, worst);
    free(w_out);
    free(ht_out);
    free(d_w_in);
    free(d_ht_in);
    free(grads);
    free(w_in);
    free(ht_in);
    free(dw);
    free(dh);
    float_run_free(&run);
    fm_params_free(&params);
    lf_model_free(&p);
    return worst;
}

Test(lfactormer, float_matches_double)
{
    fm_graph *sparse = random_graph(7, 6, 0.5, 7), *dense = dense_graph(5, 4, 8);
    const fm_lfactormer_config configs[] = {lf_make_config(3, 2), lf_make_config(6, 3)};
    for (int c = 0; c < 2; c++) {
        check_float_against_double(sparse, &configs[c], 400 + c);
        check_float_against_double(dense, &configs[c], 410 + c);
    }
    fm_graph_free(&sparse);
    fm_graph_free(&dense);
}

//------------------------------------------------------------------------------
// (c) The GraphBLAS message graph against the fused one (float)
//------------------------------------------------------------------------------

static float_run run_problem(lf_float_problem *f, const fm_lfactormer_config *config, fm_graph *g, fm_kernels kernels,
                             int backward_calls, bool with_inputs)
{
    return run_float(f->params, config, g, kernels, NULL, f->w_in, f->ht_in, f->d_w_out, f->d_ht_out, backward_calls,
                     with_inputs);
}

// a against b, all five arrays, with `factor` × b's gradients (the outputs as they are).
static double compare_runs(const float_run *a, const float_run *b, double factor, const fm_params *layout,
                           const fm_lfactormer_config *config, const fm_graph *g, double tolerance, const char *name)
{
    const int64_t m = g->stats.rows, n = g->stats.cols, k = config->rank, k_in = config->inputs;
    const float *fa[5] = {a->w_out, a->ht_out, a->d_w_in, a->d_ht_in, a->grads};
    const float *fb[5] = {b->w_out, b->ht_out, b->d_w_in, b->d_ht_in, b->grads};
    const int64_t sizes[5] = {m * k, n * k, m * k_in, n * k_in, layout->count};
    const char *what[4] = {"W_out", "Hᵀ_out", "d W_in", "d Hᵀ_in"};
    double *wa[5], *wb[5], worst = 0;
    for (int i = 0; i < 5; i++) {
        wa[i] = to_double(fa[i], sizes[i]);
        wb[i] = to_double(fb[i], sizes[i]);
        if (i >= 2)
            for (int64_t e = 0; e < sizes[i]; e++) wb[i][e] *= factor;
    }
    for (int i = 0; i < 4; i++) worst = fmax(worst, expect_close(wa[i], wb[i], sizes[i], tolerance, what[i], name));
    worst = fmax(worst, compare_gradients(layout, wa[4], wb[4], tolerance, name));
    for (int i = 0; i < 5; i++) {
        free(wa[i]);
        free(wb[i]);
    }
    return worst;
}

static void check_graphblas_against_fused(fm_graph *g, uint64_t seed)
{
    const fm_lfactormer_config config = lf_make_config(6, 3);
    char name[160];
    snprintf(name, sizeof name, "GraphBLAS vs fused, %s", lf_config_name(&config, g));
    lf_float_problem f = lf_float_problem_new(&config, g, seed, 0.1);
    float_run fused = run_problem(&f, &config, g, FM_KERNELS_FUSED, 1, true);
    float_run graphblas = run_problem(&f, &config, g, FM_KERNELS_GRAPHBLAS, 1, true);
    double norm = 0;
    for (int64_t e = 0; e < g->stats.rows * config.rank; e++) norm += fused.w_out[e];
    cr_assert_gt(norm, 0, "%s: W_out is zero", name);
    const double worst = compare_runs(&graphblas, &fused, 1, f.params, &config, g, 1e-4, name);
    cr_log_info("%s: worst relative error %.3g", name, worst);
    float_run_free(&fused);
    float_run_free(&graphblas);
    lf_float_problem_free(&f);
}

// The network on a sample per layer (§8), packed for GraphBLAS
// (fm_network_graph_pack): outputs and every gradient as the fused path's on
// the same draws.
Test(lfactormer, graphblas_matches_fused_on_samples)
{
    fm_graph *g = random_graph(40, 30, 0.4, 19);
    const fm_lfactormer_config config = lf_make_config(6, 3);
    lf_float_problem f = lf_float_problem_new(&config, g, 520, 0.1);
    const fm_sampler strategies[] = {FM_SAMPLER_UNIFORM, FM_SAMPLER_WEIGHTED, FM_SAMPLER_STRATIFIED};
    for (int s = 0; s < 3; s++) {
        const fm_sampler_options sampler = {.strategy = strategies[s], .fanout = 3, .zero_ratio = 1, .seed = 21};
        char name[160];
        snprintf(name, sizeof name, "GraphBLAS vs fused on %s samples, %s", fm_sampler_name(strategies[s]),
                 lf_config_name(&config, g));
        float_run fused = run_float(f.params, &config, g, FM_KERNELS_FUSED, &sampler, f.w_in, f.ht_in, f.d_w_out,
                                    f.d_ht_out, 1, true);
        float_run graphblas = run_float(f.params, &config, g, FM_KERNELS_GRAPHBLAS, &sampler, f.w_in, f.ht_in,
                                        f.d_w_out, f.d_ht_out, 1, true);
        float_run whole = run_problem(&f, &config, g, FM_KERNELS_FUSED, 1, true);
        // the samples are not the whole graph
        const double gap = relative_error_float(fused.w_out, whole.w_out, g->stats.rows * config.rank);
        cr_expect_gt(gap, 1e-3, "%s: the sampled network's W_out is the whole graph's (%.3g)", name, gap);
        const double worst = compare_runs(&graphblas, &fused, 1, f.params, &config, g, 1e-4, name);
        cr_log_info("%s: worst relative error %.3g", name, worst);
        float_run_free(&fused);
        float_run_free(&graphblas);
        float_run_free(&whole);
    }
    lf_float_problem_free(&f);
    fm_graph_free(&g);
}

Test(lfactormer, graphblas_matches_fused)
{
    fm_graph *sparse = random_graph(40, 30, 0.3, 9), *dense = dense_graph(12, 9, 10);
    check_graphblas_against_fused(sparse, 500);
    check_graphblas_against_fused(dense, 510);
    fm_graph_free(&sparse);
    fm_graph_free(&dense);
}

//------------------------------------------------------------------------------
// Accumulation, and the input gradients as an option
//------------------------------------------------------------------------------

// Two backward calls add twice the gradients of one; without d_W_in, d_Hᵀ_in
// the parameter gradients are the same as with them.
Test(lfactormer, backward_accumulates_and_input_gradients_are_optional)
{
    fm_graph *g = random_graph(11, 8, 0.4, 11);
    const fm_lfactormer_config config = lf_make_config(6, 3);
    lf_float_problem f = lf_float_problem_new(&config, g, 600, 0.1);
    float_run once = run_problem(&f, &config, g, FM_KERNELS_FUSED, 1, true);
    float_run twice = run_problem(&f, &config, g, FM_KERNELS_FUSED, 2, true);
    float_run without = run_problem(&f, &config, g, FM_KERNELS_FUSED, 1, false);
    compare_runs(&twice, &once, 2, f.params, &config, g, 1e-6, "two backward calls vs twice one");
    const int64_t m = g->stats.rows, n = g->stats.cols;
    for (int64_t e = 0; e < m * config.inputs; e++)
        cr_assert_eq(without.d_w_in[e], 0.0f, "d W_in written although not asked for");
    for (int64_t e = 0; e < n * config.inputs; e++)
        cr_assert_eq(without.d_ht_in[e], 0.0f, "d Hᵀ_in written although not asked for");
    for (int64_t e = 0; e < f.params->count; e++)
        cr_assert_eq(without.grads[e], once.grads[e], "gradient entry %lld differs without the input gradients",
                     (long long)e);
    float_run_free(&once);
    float_run_free(&twice);
    float_run_free(&without);
    lf_float_problem_free(&f);
    fm_graph_free(&g);
}
