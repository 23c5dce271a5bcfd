// The L-Factormer (models/nmf/lfactormer, docs/factormer-math.md §5): the
// outputs' sign and shape; the parameter layout and the binding; argument
// checks; the forward alone, with layers sharing their buffers and in
// mini-batches of targets. The backward, and the forward against §5 by hand,
// float and GraphBLAS: tests/test_lfactormer.c.
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

TestSuite(lfactormer_forward, .init = fm_test_setup);

//------------------------------------------------------------------------------
// (d) The outputs: nonnegative, m × k and n × k
//------------------------------------------------------------------------------

enum { GUARD = 16 };
static const float sentinel = -7.0f;

// Entries [0, n) nonnegative and finite, some clamped to 0 and some positive
// (the relu is there and the output not all zero); the GUARD entries after
// them still the sentinel (nothing written past n).
static void check_output(const float *out, int64_t n, const char *what)
{
    int64_t zeros = 0, positive = 0;
    for (int64_t e = 0; e < n; e++) {
        cr_assert(isfinite(out[e]) && out[e] >= 0, "%s[%lld] = %g", what, (long long)e, out[e]);
        zeros += out[e] == 0;
        positive += out[e] > 0;
    }
    cr_expect_gt(zeros, 0, "%s: no entry clamped to 0 out of %lld", what, (long long)n);
    cr_expect_gt(positive, 0, "%s: no positive entry out of %lld", what, (long long)n);
    for (int e = 0; e < GUARD; e++)
        cr_expect_eq(out[n + e], sentinel, "%s: written past its %lld entries, at %lld", what, (long long)n,
                     (long long)(n + e));
    cr_log_info("%s: %lld entries, %lld clamped to 0, %lld positive", what, (long long)n, (long long)zeros,
                (long long)positive);
}

// With the initial parameters (fm_params_init: biases zero) the pre-relu
// outputs are centred on 0, so both signs occur.
Test(lfactormer_forward, outputs_are_nonnegative_with_their_shapes)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = random_graph(9, 7, 0.5, 12);
    const int64_t m = 9, n = 7;
    for (int layers = 1; layers <= 2; layers++) {
        const fm_lfactormer_config config = lf_make_config(6, layers);
        const int64_t k = config.rank;
        lf_float_problem f = lf_float_problem_new(&config, g, 700 + layers, 0);
        float *w_out = zeros32(m * k + GUARD), *ht_out = zeros32(n * k + GUARD);
        for (int64_t e = 0; e < m * k + GUARD; e++) w_out[e] = sentinel;
        for (int64_t e = 0; e < n * k + GUARD; e++) ht_out[e] = sentinel;
        fm_lfactormer_weights w;
        fm_lfactormer_saved saved;
        fm_message_graph mg;
        fm_lfactormer_bind(&w, &config, f.params->values, f.params->offsets);
        cr_assert_eq(fm_lfactormer_saved_new(&saved, &config, m, n, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_lfactormer_forward(w_out, ht_out, &saved, f.w_in, f.ht_in, &w, &mg, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
        check_output(w_out, m * k, "W_out");
        check_output(ht_out, n * k, "Hᵀ_out");
        cr_expect_eq(memcmp(saved.w_out, w_out, sizeof(float) * m * k), 0, "the saved W_out differs from W_out");
        cr_expect_eq(memcmp(saved.ht_out, ht_out, sizeof(float) * n * k), 0, "the saved Hᵀ_out differs from Hᵀ_out");
        fm_lfactormer_saved_free(&saved);
        lf_float_problem_free(&f);
        free(w_out);
        free(ht_out);
    }
    fm_graph_free(&g);
}

//------------------------------------------------------------------------------
// (e) The parameter layout and the binding
//------------------------------------------------------------------------------

static void expect_tensor(const fm_params *p, const char *name, int rows, int cols)
{
    const int t = fm_params_find(p, name);
    cr_assert_geq(t, 0, "no tensor named %s", name);
    cr_expect(p->specs[t].rows == rows && p->specs[t].cols == cols, "%s is %d x %d; expected %d x %d", name,
              p->specs[t].rows, p->specs[t].cols, rows, cols);
}

static void check_layout(const fm_lfactormer_config *config)
{
    char msg[FM_MSG_LEN];
    fm_params *p = NULL;
    cr_assert_eq(fm_lfactormer_params_new(&p, config, msg), FM_OK, "%s", msg);
    const int L = config->layers, d = config->width;
    cr_expect_eq(p->tensors, 8 + 21 * L, "%d layers: %d tensors; expected 8 + 21·L = %d", L, p->tensors, 8 + 21 * L);
    cr_expect_eq(p->tensors, FM_LFACTORMER_TENSORS(L), "FM_LFACTORMER_TENSORS(%d) = %d, the block has %d", L,
                 FM_LFACTORMER_TENSORS(L), p->tensors);
    // names unique; offsets in order, aligned, each tensor in the block
    int64_t expected = 0;
    for (int t = 0; t < p->tensors; t++) {
        for (int u = 0; u < t; u++)
            cr_expect_neq(strcmp(p->specs[t].name, p->specs[u].name), 0, "tensors %d and %d are both %s", u, t,
                          p->specs[t].name);
        cr_expect_eq(p->offsets[t], expected, "%s starts at %lld; expected %lld", p->specs[t].name,
                     (long long)p->offsets[t], (long long)expected);
        expected += (fm_params_size(p, t) + FM_PARAMS_ALIGN - 1) / FM_PARAMS_ALIGN * FM_PARAMS_ALIGN;
    }
    cr_expect_eq(p->count, expected, "%d layers: the block holds %lld elements; the specs add up to %lld", L,
                 (long long)p->count, (long long)expected);
    // shapes, and every layer's tensors under its own prefix
    expect_tensor(p, "embed_w.weight", d, config->inputs);
    expect_tensor(p, "embed_w.bias", d, 1);
    expect_tensor(p, "embed_h.weight", d, config->inputs);
    expect_tensor(p, "embed_h.bias", d, 1);
    expect_tensor(p, "out_w.weight", config->rank, d);
    expect_tensor(p, "out_w.bias", config->rank, 1);
    expect_tensor(p, "out_h.weight", config->rank, d);
    expect_tensor(p, "out_h.bias", config->rank, 1);
    for (int l = 1; l <= L; l++) {
        fm_tensor_spec specs[FM_LAYER_TENSORS];
        char names[FM_LAYER_TENSORS][FM_LAYER_NAME], prefix[32];
        snprintf(prefix, sizeof prefix, "layer%d.", l);
        fm_layer_specs(specs, names, prefix, d);
        for (int t = 0; t < FM_LAYER_TENSORS; t++) expect_tensor(p, names[t], specs[t].rows, specs[t].cols);
    }
    char beyond[64];
    snprintf(beyond, sizeof beyond, "layer%d.query.weight", L + 1);
    cr_expect_eq(fm_params_find(p, beyond), -1, "%d layers, yet a tensor %s", L, beyond);

    // the binding points at the tensors of those names
    fm_lfactormer_weights w;
    fm_lfactormer_grads g;
    fm_lfactormer_bind(&w, config, p->values, p->offsets);
    fm_lfactormer_bind_grads(&g, config, p->grads, p->offsets);
    const struct { const char *name; const float *value; const float *grad; } ends[] = {
        {"embed_w.weight", w.embed_w_weight, g.embed_w_weight}, {"embed_w.bias", w.embed_w_bias, g.embed_w_bias},
        {"embed_h.weight", w.embed_h_weight, g.embed_h_weight}, {"embed_h.bias", w.embed_h_bias, g.embed_h_bias},
        {"out_w.weight", w.out_w_weight, g.out_w_weight},       {"out_w.bias", w.out_w_bias, g.out_w_bias},
        {"out_h.weight", w.out_h_weight, g.out_h_weight},       {"out_h.bias", w.out_h_bias, g.out_h_bias},
    };
    for (size_t e = 0; e < sizeof ends / sizeof ends[0]; e++) {
        const int t = fm_params_find(p, ends[e].name);
        cr_expect(ends[e].value == p->values + p->offsets[t], "the bound %s is not the tensor of that name",
                  ends[e].name);
        cr_expect(ends[e].grad == p->grads + p->offsets[t], "the bound gradient of %s is not the tensor of that name",
                  ends[e].name);
    }
    for (int l = 1; l <= L; l++) {
        char name[64];
        snprintf(name, sizeof name, "layer%d.query.weight", l);
        int t = fm_params_find(p, name);
        cr_expect(w.layers[l - 1].attention.query_weight == p->values + p->offsets[t], "layer %d: query weight", l);
        cr_expect(g.layers[l - 1].attention.query_weight == p->grads + p->offsets[t], "layer %d: d query weight", l);
        snprintf(name, sizeof name, "layer%d.norm2.beta", l);
        t = fm_params_find(p, name);
        cr_expect(w.layers[l - 1].norm2_beta == p->values + p->offsets[t], "layer %d: norm2 beta", l);
        cr_expect(g.layers[l - 1].norm2_beta == p->grads + p->offsets[t], "layer %d: d norm2 beta", l);
    }
    fm_params_free(&p);
}

Test(lfactormer_forward, parameter_layout)
{
    const int layers[] = {0, 1, 2, 4, FM_LFACTORMER_MAX_LAYERS};
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        fm_lfactormer_config config = lf_make_config(l % 2 ? 6 : 3, layers[l]);
        check_layout(&config);
    }
    const fm_lfactormer_config paper = {.inputs = 20, .rank = 10, .width = 100, .heads = 4, .layers = 4};
    check_layout(&paper);
}

//------------------------------------------------------------------------------
// Argument checks
//------------------------------------------------------------------------------

Test(lfactormer_forward, rejects_bad_arguments)
{
    char msg[FM_MSG_LEN];
    const fm_lfactormer_config good = lf_make_config(3, 2);
    cr_expect_eq(fm_lfactormer_check(&good, msg), FM_OK, "%s", msg);
    fm_lfactormer_config bad[5] = {good, good, good, good, good};
    bad[0].heads = 3;                              // does not divide 8
    bad[1].rank = 0;
    bad[2].inputs = 0;
    bad[3].layers = FM_LFACTORMER_MAX_LAYERS + 1;
    bad[4].layers = -1;
    for (int b = 0; b < 5; b++) {
        fm_params *p = NULL;
        cr_expect_eq(fm_lfactormer_check(&bad[b], msg), FM_ERR_INVALID, "bad configuration %d accepted", b);
        cr_expect_eq(fm_lfactormer_params_new(&p, &bad[b], msg), FM_ERR_INVALID, "bad configuration %d laid out", b);
        cr_expect_null(p);
    }

    fm_graph *g = random_graph(7, 6, 0.5, 13);
    lf_float_problem f = lf_float_problem_new(&good, g, 800, 0.1);
    fm_lfactormer_weights w;
    fm_lfactormer_saved saved;
    fm_message_graph mg;
    float *w_out = zeros32(7 * 3), *ht_out = zeros32(6 * 3);
    fm_lfactormer_bind(&w, &good, f.params->values, f.params->offsets);
    cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    // saved activations for a graph of other sizes
    cr_assert_eq(fm_lfactormer_saved_new(&saved, &good, 6, 7, msg), FM_OK, "%s", msg);
    cr_expect_eq(fm_lfactormer_forward(w_out, ht_out, &saved, f.w_in, f.ht_in, &w, &mg, msg), FM_ERR_INVALID,
                 "a 7x6 graph with activations for 6x7 accepted");
    fm_lfactormer_saved_free(&saved);
    // weights of another model
    const fm_lfactormer_config other = lf_make_config(3, 1);
    cr_assert_eq(fm_lfactormer_saved_new(&saved, &other, 7, 6, msg), FM_OK, "%s", msg);
    cr_expect_eq(fm_lfactormer_forward(w_out, ht_out, &saved, f.w_in, f.ht_in, &w, &mg, msg), FM_ERR_INVALID,
                 "weights of 2 layers with activations for 1 accepted");
    fm_lfactormer_saved_free(&saved);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    cr_expect_neq(fm_lfactormer_saved_new(&saved, &good, 0, 6, msg), FM_OK, "a graph without rows accepted");
    free(w_out);
    free(ht_out);
    lf_float_problem_free(&f);
    fm_graph_free(&g);
}

//------------------------------------------------------------------------------
// Activations for the forward alone
//------------------------------------------------------------------------------

// Layers of one direction sharing their buffers compute the same outputs, bit
// for bit, as the saved activations of the backward; the backward refuses them.
Test(lfactormer_forward, forward_only_activations_give_the_same_outputs)
{
    char msg[FM_MSG_LEN];
    const fm_lfactormer_config config = lf_make_config(6, 5);
    fm_params *params = NULL;
    cr_assert_eq(fm_lfactormer_params_new(&params, &config, msg), FM_OK, "%s", msg);
    fm_params_init(params, 3);
    fm_graph *g = random_graph(30, 20, 0.3, 4);
    const int64_t m = g->stats.rows, n = g->stats.cols;
    float *w_in = zeros32(m * config.inputs), *ht_in = zeros32(n * config.inputs);
    for (int64_t e = 0; e < m * config.inputs; e++) w_in[e] = (float)fabs(lf_normal(5, (uint64_t)e));
    for (int64_t e = 0; e < n * config.inputs; e++) ht_in[e] = (float)fabs(lf_normal(6, (uint64_t)e));
    fm_lfactormer_weights w;
    fm_lfactormer_bind(&w, &config, params->values, params->offsets);
    fm_message_graph mg;
    cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    float *outs[2][2];
    fm_lfactormer_saved saved[2];
    for (int shared = 0; shared < 2; shared++) {
        outs[shared][0] = zeros32(m * config.rank);
        outs[shared][1] = zeros32(n * config.rank);
        cr_assert_eq(fm_lfactormer_saved_new_for(&saved[shared], &config, m, n, !shared, 0, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_lfactormer_forward(outs[shared][0], outs[shared][1], &saved[shared], w_in, ht_in, &w, &mg, msg),
                     FM_OK, "%s", msg);
    }
    cr_expect(!memcmp(outs[0][0], outs[1][0], sizeof(float) * m * config.rank), "W outputs differ");
    cr_expect(!memcmp(outs[0][1], outs[1][1], sizeof(float) * n * config.rank), "Hᵀ outputs differ");
    fm_lfactormer_grads grads;
    fm_lfactormer_bind_grads(&grads, &config, params->grads, params->offsets);
    cr_expect_eq(fm_lfactormer_backward(NULL, NULL, &grads, outs[0][0], outs[0][1], &saved[1], &w, &mg, msg),
                 FM_ERR_INVALID);
    cr_expect(strstr(msg, "forward alone"), "%s", msg);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    for (int shared = 0; shared < 2; shared++) {
        fm_lfactormer_saved_free(&saved[shared]);
        free(outs[shared][0]);
        free(outs[shared][1]);
    }
    free(w_in);
    free(ht_in);
    fm_graph_free(&g);
    fm_params_free(&params);
}

//------------------------------------------------------------------------------
// Mini-batches of targets (--batch-targets)
//------------------------------------------------------------------------------

// Largest |a − b| / (1 + |b|) over n entries.
static double worst_gap(const float *a, const float *b, int64_t n)
{
    double worst = 0;
    for (int64_t e = 0; e < n; e++) {
        const double gap = fabs((double)a[e] - b[e]) / (1 + fabs((double)b[e]));
        if (gap > worst) worst = gap;
    }
    return worst;
}

// The forward in mini-batches of targets gives the outputs of the forward on
// every target at once, for batches of one target, uneven batches, one short
// of all, and more than all; on a sparse graph with empty rows and columns, a
// dense one and a sample per layer (whose views offset the sampled CSR).
static void check_batches(fm_graph *g, const fm_sampler_options *sampler, const char *what)
{
    char msg[FM_MSG_LEN];
    const fm_lfactormer_config config = lf_make_config(6, 4);
    lf_float_problem f = lf_float_problem_new(&config, g, 11, 0.1);
    const int64_t m = g->stats.rows, n = g->stats.cols;
    const float *w_in = f.w_in, *ht_in = f.ht_in;
    fm_lfactormer_weights w;
    fm_lfactormer_bind(&w, &config, f.params->values, f.params->offsets);
    fm_edges rows = {0}, columns = {0};
    cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&columns, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    fm_message_graph view;
    fm_network_graph sample = {0};
    const fm_message_graph *mg = &view;
    cr_assert_eq(fm_message_graph_view(&view, g, &rows, &columns, 1.0, msg), FM_OK, "%s", msg);
    if (sampler) {
        cr_assert_eq(fm_network_graph_draw(&sample, g, &rows, &columns, 1.0, sampler, false, config.layers, 3, false,
                                           msg),
                     FM_OK, "%s", msg);
        mg = &sample.graph;
    }
    float *whole[2] = {zeros32(m * config.rank), zeros32(n * config.rank)};
    float *batched[2] = {zeros32(m * config.rank), zeros32(n * config.rank)};
    fm_lfactormer_saved saved;
    cr_assert_eq(fm_lfactormer_saved_new_for(&saved, &config, m, n, false, 0, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_lfactormer_forward(whole[0], whole[1], &saved, w_in, ht_in, &w, mg, msg), FM_OK, "%s", msg);
    fm_lfactormer_saved_free(&saved);
    const int64_t smaller = m < n ? m : n;
    const int64_t batches[] = {1, 3, 7, smaller - 1, m > n ? m : n, 100000};
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        cr_assert_eq(fm_lfactormer_saved_new_for(&saved, &config, m, n, false, batches[b], msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_lfactormer_forward(batched[0], batched[1], &saved, w_in, ht_in, &w, mg, msg), FM_OK, "%s",
                     msg);
        fm_lfactormer_saved_free(&saved);
        const double gap = fmax(worst_gap(batched[0], whole[0], m * config.rank),
                                worst_gap(batched[1], whole[1], n * config.rank));
        cr_expect(gap < 1e-5, "%s, batches of %lld targets: outputs differ by %g", what, (long long)batches[b], gap);
    }
    for (int side = 0; side < 2; side++) {
        free(whole[side]);
        free(batched[side]);
    }
    fm_network_graph_free(&sample);
    cr_assert_eq(fm_message_graph_close(&view, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_return(&rows, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_return(&columns, msg), FM_OK, "%s", msg);
    lf_float_problem_free(&f);
}

Test(lfactormer_forward, forward_in_batches_of_targets_equals_the_whole_forward)
{
    fm_graph *sparse = random_graph(37, 23, 0.25, 5);
    check_batches(sparse, NULL, "sparse");
    const fm_sampler_options uniform = {.strategy = FM_SAMPLER_UNIFORM, .fanout = 3, .seed = 9};
    check_batches(sparse, &uniform, "sparse, uniform fanout 3 per layer");
    fm_graph_free(&sparse);
    fm_graph *dense = dense_graph(19, 26, 6);
    check_batches(dense, NULL, "dense");
    fm_graph_free(&dense);
}

// Batches keep nothing for the backward, and run on the fused kernels only.
Test(lfactormer_forward, batches_of_targets_refuse_the_backward_and_graphblas)
{
    char msg[FM_MSG_LEN];
    const fm_lfactormer_config config = lf_make_config(6, 2);
    fm_graph *g = random_graph(12, 9, 0.4, 2);
    fm_lfactormer_saved saved;
    cr_expect_eq(fm_lfactormer_saved_new_for(&saved, &config, 12, 9, true, 4, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "forward alone"), "%s", msg);
    cr_expect_eq(fm_lfactormer_saved_new_for(&saved, &config, 12, 9, false, -1, msg), FM_ERR_INVALID);
    fm_params *params = NULL;
    cr_assert_eq(fm_lfactormer_params_new(&params, &config, msg), FM_OK, "%s", msg);
    fm_params_init(params, 1);
    fm_lfactormer_weights w;
    fm_lfactormer_bind(&w, &config, params->values, params->offsets);
    float *w_in = zeros32(12 * config.inputs), *ht_in = zeros32(9 * config.inputs);
    float *w_out = zeros32(12 * config.rank), *ht_out = zeros32(9 * config.rank);
    fm_message_graph mg;
    cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_GRAPHBLAS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_lfactormer_saved_new_for(&saved, &config, 12, 9, false, 4, msg), FM_OK, "%s", msg);
    cr_expect_eq(fm_lfactormer_forward(w_out, ht_out, &saved, w_in, ht_in, &w, &mg, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "fused"), "%s", msg);
    fm_lfactormer_saved_free(&saved);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    // a batched layer on a graph with another count of targets
    cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    fm_layer_saved layer;
    const fm_attention_shape shape = {5, 12, config.heads, config.width};   // the graph has 9 column targets
    cr_assert_eq(fm_layer_saved_new_batched(&layer, shape, 2, msg), FM_OK, "%s", msg);
    float *targets = zeros32(9 * config.width), *sources = zeros32(12 * config.width), *out = zeros32(9 * config.width);
    cr_expect_eq(fm_layer_forward(out, &layer, targets, sources, &w.layers[0], &mg, FM_TO_COLUMNS, msg),
                 FM_ERR_INVALID);
    cr_expect(strstr(msg, "5 targets") && strstr(msg, "9"), "%s", msg);
    fm_layer_saved_free(&layer);
    free(targets);
    free(sources);
    free(out);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    free(w_in);
    free(ht_in);
    free(w_out);
    free(ht_out);
    fm_params_free(&params);
    fm_graph_free(&g);
}
