// One Factormer layer (models/factormer): its backward against central finite
// differences in double, for every parameter tensor and both node inputs; its
// attention block against the literal §4 formulas; the float layer on the
// GraphBLAS path against the fused path.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "attention_fixtures.h"
#include "factormer_layer.h"
#include "helpers.h"
#include "rng.h"

TestSuite(factormer_layer, .init = fm_test_setup);

typedef struct layer_problem {
    fm_params *layout;                   // offsets of the layer's tensors
    double *values, *grads;              // the parameter block, in double
    double *targets, *sources, *weights; // node features; weights of the loss Σ w ⊙ out
    fm_attention_shape shape;
} layer_problem;

static double normal(uint64_t seed, uint64_t counter) { return fm_rng_normal(fm_rng_stream(seed, 9), counter); }

static layer_problem layer_problem_new(int64_t targets, int64_t sources, int heads, int width, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    layer_problem p = {.shape = {targets, sources, heads, width}};
    fm_tensor_spec specs[FM_LAYER_TENSORS];
    char names[FM_LAYER_TENSORS][FM_LAYER_NAME];
    fm_layer_specs(specs, names, "", width);
    cr_assert_eq(fm_params_new(&p.layout, specs, FM_LAYER_TENSORS, msg), FM_OK, "%s", msg);
    p.values = calloc(p.layout->count, sizeof(double));
    p.grads = calloc(p.layout->count, sizeof(double));
    for (int k = 0; k < FM_LAYER_TENSORS; k++) {
        const int64_t n = fm_params_size(p.layout, k);
        const bool gamma = strstr(names[k], "gamma") != NULL;
        for (int64_t e = 0; e < n; e++)
            p.values[p.layout->offsets[k] + e] = (gamma ? 1 : 0) + 0.4 * normal(seed, (uint64_t)(k << 20) + e);
    }
    p.targets = calloc(targets * width + 1, sizeof(double));
    p.sources = calloc(sources * width + 1, sizeof(double));
    p.weights = calloc(targets * width + 1, sizeof(double));
    for (int64_t e = 0; e < targets * width; e++) {
        p.targets[e] = normal(seed + 1, e);
        p.weights[e] = normal(seed + 2, e);
    }
    for (int64_t e = 0; e < sources * width; e++) p.sources[e] = normal(seed + 3, e);
    return p;
}

static void layer_problem_free(layer_problem *p)
{
    fm_params_free(&p->layout);
    free(p->values);
    free(p->grads);
    free(p->targets);
    free(p->sources);
    free(p->weights);
}

static double layer_loss(layer_problem *p, const fm_message_graph *mg, fm_direction dir)
{
    char msg[FM_MSG_LEN];
    fm_layer_weights_f64 w;
    fm_layer_bind_f64(&w, p->values, p->layout->offsets);
    fm_layer_saved_f64 saved;
    cr_assert_eq(fm_layer_saved_new_f64(&saved, p->shape, msg), FM_OK, "%s", msg);
    double *out = calloc(p->shape.targets * p->shape.width + 1, sizeof(double));
    cr_assert_eq(fm_layer_forward_f64(out, &saved, p->targets, p->sources, &w, mg, dir, msg), FM_OK, "%s", msg);
    double loss = 0;
    for (int64_t e = 0; e < p->shape.targets * p->shape.width; e++) loss += p->weights[e] * out[e];
    free(out);
    fm_layer_saved_free_f64(&saved);
    return loss;
}

typedef struct layer_context { layer_problem *p; const fm_message_graph *mg; fm_direction dir; } layer_context;

static double context_loss(void *context)
{
    layer_context *c = context;
    return layer_loss(c->p, c->mg, c->dir);
}

// Central differences on up to 12 entries of `array` against `analytic`,
// relative to max(‖numeric‖, 1e-3): the gradient of the key bias is zero
// (q_j·b_K is the same for every edge of target j and cancels in the
// softmax), and there the test is that both sides are ~0.
static double probe_array(layer_problem *p, double *array, const double *analytic, int64_t size,
                          const fm_message_graph *mg, fm_direction dir)
{
    layer_context context = {p, mg, dir};
    return central_differences(array, analytic, size, 12, 1e-3, context_loss, &context, NULL);
}

static void check_layer_gradients(fm_graph *g, fm_direction dir, int heads, int width, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    fm_message_graph mg;
    cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    const fm_edges *edges = dir == FM_TO_ROWS ? &mg.rows : &mg.columns;
    layer_problem p = layer_problem_new(edges->targets, edges->sources, heads, width, seed);

    fm_layer_weights_f64 w;
    fm_layer_grads_f64 grads;
    fm_layer_bind_f64(&w, p.values, p.layout->offsets);
    fm_layer_bind_grads_f64(&grads, p.grads, p.layout->offsets);
    fm_layer_saved_f64 saved;
    cr_assert_eq(fm_layer_saved_new_f64(&saved, p.shape, msg), FM_OK, "%s", msg);
    const int64_t nt = p.shape.targets * width, ns = p.shape.sources * width;
    double *out = calloc(nt + 1, sizeof(double)), *d_targets = calloc(nt + 1, sizeof(double));
    double *d_sources = calloc(ns + 1, sizeof(double));
    cr_assert_eq(fm_layer_forward_f64(out, &saved, p.targets, p.sources, &w, &mg, dir, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_layer_backward_f64(d_targets, d_sources, &grads, p.weights, &saved, p.targets, p.sources, &w,
                                       &mg, dir, msg), FM_OK, "%s", msg);
    fm_layer_saved_free_f64(&saved);

    for (int k = 0; k < FM_LAYER_TENSORS; k++) {
        const int64_t at = p.layout->offsets[k];
        const double err = probe_array(&p, p.values + at, p.grads + at, fm_params_size(p.layout, k), &mg, dir);
        cr_expect_lt(err, 1e-6, "%s: relative error %.3g (direction %d)", p.layout->specs[k].name, err, (int)dir);
    }
    const double et = probe_array(&p, p.targets, d_targets, nt, &mg, dir);
    const double es = probe_array(&p, p.sources, d_sources, ns, &mg, dir);
    cr_expect_lt(et, 1e-6, "targets: relative error %.3g (direction %d)", et, (int)dir);
    cr_expect_lt(es, 1e-6, "sources: relative error %.3g (direction %d)", es, (int)dir);
    free(out);
    free(d_targets);
    free(d_sources);
    layer_problem_free(&p);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
}

Test(factormer_layer, backward_matches_finite_differences_sparse)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL;
    cr_assert_eq(ref_random_graph(&g, 9, 7, 0.4, 5, msg), FM_OK, "%s", msg);
    check_layer_gradients(g, FM_TO_COLUMNS, 2, 8, 10);
    check_layer_gradients(g, FM_TO_ROWS, 2, 8, 20);
    fm_graph_free(&g);
}

Test(factormer_layer, backward_matches_finite_differences_full)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL;
    float *x = fm_test_uniform(6 * 5, 8);
    cr_assert_eq(fm_graph_from_dense(&g, 6, 5, x, FM_KIND_DENSE, msg), FM_OK, "%s", msg);
    check_layer_gradients(g, FM_TO_COLUMNS, 2, 4, 30);
    check_layer_gradients(g, FM_TO_ROWS, 1, 4, 40);
    fm_graph_free(&g);
    free(x);
}

//------------------------------------------------------------------------------
// The attention block against the literal §4 formulas
//------------------------------------------------------------------------------

// fm_attention_block_forward_f64 (fused, double) against
// ref_attention_block_forward: e_ij, kE_ij and vE_ij materialized per edge,
// nothing dropped. Norm-wise over all targets, and apart over the targets
// with in-edges and over those without (whose literal message is the empty
// sum, 0), so that a failure says where it is.
static void block_against_literal(fm_graph *g, fm_direction dir, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    problem p = problem_new(g, dir, 2, 8, 1.0, seed);   // for its edges and shape
    block_problem b = block_problem_new(p.shape, seed);
    const int64_t d = p.shape.width, n = p.shape.targets * d;
    double *literal = zeros64(n), *messages = zeros64(n);
    cr_assert_eq(ref_attention_block_forward(literal, b.targets, b.sources, &b.params, &p.edges, p.shape, msg),
                 FM_OK, "%s", msg);
    fm_attention_saved_f64 saved;
    fm_message_graph mg;
    cr_assert_eq(fm_attention_saved_new_f64(&saved, p.shape, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_message_graph_open(&mg, p.graph, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_attention_block_forward_f64(messages, &saved, b.targets, b.sources, &b.weights, &mg, dir, msg),
                 FM_OK, "%s", msg);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    const double error = relative_error64(messages, literal, n);
    cr_expect_lt(error, 1e-10, "block (fused, double) vs literal formulas, %s: relative error %.3g",
                 problem_name(&p), error);
    // the same rows apart: with in-edges (compacted to the front), without
    double *with = zeros64(n), *with_literal = zeros64(n), isolated = 0;
    int64_t rows = 0, isolated_rows = 0;
    for (int64_t j = 0; j < p.shape.targets; j++) {
        if (p.edges.ptr[j + 1] == p.edges.ptr[j]) {
            for (int64_t c = 0; c < d; c++) isolated = fmax(isolated, fabs(messages[j * d + c] - literal[j * d + c]));
            isolated_rows++;
            continue;
        }
        memcpy(with + rows * d, messages + j * d, sizeof(double) * d);
        memcpy(with_literal + rows * d, literal + j * d, sizeof(double) * d);
        rows++;
    }
    const double connected = relative_error64(with, with_literal, rows * d);
    cr_expect_lt(connected, 1e-10, "%s, targets with in-edges: relative error %.3g", problem_name(&p), connected);
    cr_expect_eq(isolated, 0.0, "%s, %lld targets without in-edges: the literal message is the empty sum 0, the "
                 "block's differs by up to %.3g", problem_name(&p), (long long)isolated_rows, isolated);
    cr_log_info("block vs literal formulas, %s: %.3g (targets with in-edges %.3g, largest difference on targets "
                "without %.3g)", problem_name(&p), error, connected, isolated);
    fm_attention_saved_free_f64(&saved);
    block_problem_free(&b);
    free(literal);
    free(messages);
    free(with);
    free(with_literal);
    problem_free(&p);
}

Test(factormer_layer, block_matches_literal_formulas)
{
    for (int dir = 0; dir < 2; dir++) {
        block_against_literal(random_graph(23, 17, 0.3, 91), (fm_direction)dir, 92 + dir);
        block_against_literal(dense_graph(70, 300, 93), (fm_direction)dir, 94 + dir);
    }
}

//------------------------------------------------------------------------------
// The float layer on the GraphBLAS path against the fused path
//------------------------------------------------------------------------------

// Outputs and gradients of the float layer on one path.
typedef struct layer_run {
    float *out, *d_targets, *d_sources, *grads;   // grads: the whole gradient block
} layer_run;

static layer_run run_layer(fm_params *params, fm_graph *g, fm_kernels kernels, fm_direction dir,
                           fm_attention_shape shape, const float *targets, const float *sources, const float *d_out)
{
    char msg[FM_MSG_LEN];
    const int64_t nt = shape.targets * shape.width, ns = shape.sources * shape.width;
    layer_run run = {zeros32(nt), zeros32(nt), zeros32(ns), zeros32(params->count)};
    fm_layer_weights w;
    fm_layer_grads grads;
    fm_layer_saved saved;
    fm_message_graph mg;
    fm_params_zero_grads(params);
    fm_layer_bind(&w, params->values, params->offsets);
    fm_layer_bind_grads(&grads, params->grads, params->offsets);
    cr_assert_eq(fm_layer_saved_new(&saved, shape, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_message_graph_open(&mg, g, kernels, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_layer_forward(run.out, &saved, targets, sources, &w, &mg, dir, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_layer_backward(run.d_targets, run.d_sources, &grads, d_out, &saved, targets, sources, &w, &mg,
                                   dir, msg),
                 FM_OK, "%s", msg);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    memcpy(run.grads, params->grads, sizeof(float) * params->count);
    fm_layer_saved_free(&saved);
    return run;
}

static void layer_run_free(layer_run *run)
{
    free(run->out);
    free(run->d_targets);
    free(run->d_sources);
    free(run->grads);
}

static double expect_close(const float *graphblas, const float *fused, int64_t n, const char *name, int dir)
{
    cr_expect(all_finite(graphblas, n), "%s not finite (direction %d)", name, dir);
    const double error = relative_error_float(graphblas, fused, n);
    cr_expect_lt(error, 1e-4, "%s: GraphBLAS vs fused, relative error %.3g (direction %d)", name, error, dir);
    return error;
}

static double norm32(const float *a, int64_t n)
{
    double sum = 0;
    for (int64_t e = 0; e < n; e++) sum += (double)a[e] * a[e];
    return sqrt(sum);
}

Test(factormer_layer, layer_graphblas_matches_fused)
{
    char msg[FM_MSG_LEN];
    const int heads = 2, width = 8, rows = 40, cols = 30;
    fm_tensor_spec specs[FM_LAYER_TENSORS];
    char names[FM_LAYER_TENSORS][FM_LAYER_NAME];
    fm_params *params = NULL;
    fm_layer_specs(specs, names, "", width);
    cr_assert_eq(fm_params_new(&params, specs, FM_LAYER_TENSORS, msg), FM_OK, "%s", msg);
    fm_params_init(params, 101);
    // biases off zero and gammas off one
    for (int64_t e = 0; e < params->count; e++) params->values[e] += (float)(0.1 * normal(102, e));
    fm_graph *g = random_graph(rows, cols, 0.3, 103);
    for (int dir = 0; dir < 2; dir++) {
        const fm_attention_shape shape = {dir == FM_TO_ROWS ? rows : cols, dir == FM_TO_ROWS ? cols : rows, heads,
                                          width};
        const int64_t nt = shape.targets * width, ns = shape.sources * width;
        float *targets = zeros32(nt), *sources = zeros32(ns), *d_out = zeros32(nt);
        for (int64_t e = 0; e < nt; e++) {
            targets[e] = (float)normal(104 + dir, e);
            d_out[e] = (float)normal(106 + dir, e);
        }
        for (int64_t e = 0; e < ns; e++) sources[e] = (float)normal(108 + dir, e);
        layer_run fused = run_layer(params, g, FM_KERNELS_FUSED, (fm_direction)dir, shape, targets, sources, d_out);
        layer_run graphblas =
            run_layer(params, g, FM_KERNELS_GRAPHBLAS, (fm_direction)dir, shape, targets, sources, d_out);
        double worst = expect_close(graphblas.out, fused.out, nt, "output", dir);
        worst = fmax(worst, expect_close(graphblas.d_targets, fused.d_targets, nt, "d targets", dir));
        worst = fmax(worst, expect_close(graphblas.d_sources, fused.d_sources, ns, "d sources", dir));
        const int key_bias = fm_params_find(params, "key.bias"), key_weight = fm_params_find(params, "key.weight");
        for (int k = 0; k < FM_LAYER_TENSORS; k++) {
            const int64_t at = params->offsets[k], n = fm_params_size(params, k);
            if (k == key_bias) continue;
            worst = fmax(worst, expect_close(graphblas.grads + at, fused.grads + at, n, params->specs[k].name, dir));
        }
        // d key.bias is zero in exact arithmetic (q_j·b_K is the same for
        // every edge of target j and cancels in the softmax): both paths
        // leave rounding there, which has no relative accuracy to compare.
        // Both must be that small next to d key.weight, the same sum over
        // the key gradients times sources of O(1).
        const int64_t weights = fm_params_size(params, key_weight), biases = fm_params_size(params, key_bias);
        const double scale = norm32(fused.grads + params->offsets[key_weight], weights);
        const double bias_fused = norm32(fused.grads + params->offsets[key_bias], biases) / scale;
        const double bias_graphblas = norm32(graphblas.grads + params->offsets[key_bias], biases) / scale;
        cr_expect_lt(bias_fused, 1e-4, "‖d key.bias‖ / ‖d key.weight‖ = %.3g on the fused path (direction %d)",
                     bias_fused, dir);
        cr_expect_lt(bias_graphblas, 1e-4, "‖d key.bias‖ / ‖d key.weight‖ = %.3g on the GraphBLAS path (direction %d)",
                     bias_graphblas, dir);
        cr_log_info("layer, direction %d: GraphBLAS vs fused, worst relative error %.3g; ‖d key.bias‖ / "
                    "‖d key.weight‖ %.3g (fused), %.3g (GraphBLAS)", dir, worst, bias_fused, bias_graphblas);
        layer_run_free(&fused);
        layer_run_free(&graphblas);
        free(targets);
        free(sources);
        free(d_out);
    }
    fm_graph_free(&g);
    fm_params_free(&params);
}
