// The component-set L-Factormer (models/nmf/lfactormer.h, docs/factormer-math.md
// §5.1): its backward against central finite differences (the inputs' too,
// which cross sides through the Grams of the cross terms and through the
// gathered term's sums over the edges); its forward
// against the per-component network run by hand on the features of §5.1;
// permuting the components permutes the outputs; one parameter block runs
// at every rank; the forward alone equals the forward kept for the
// backward; a template of rank 0 and a width that is not a multiple of the
// rank are refused. The first three with and without the gathered term u.
// The pooled set (§5.2) the same: its backward, its forward against the
// pool, network and decoder by hand, permutations, every rank; its residual
// decoder the first three. Both give the same bits on any number of threads.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "attention_fixtures.h"
#include "helpers.h"
#include "lfactormer.h"
#include "lfactormer_fixtures.h"
#include "network_graph.h"

TestSuite(lfactormer_components, .init = fm_test_setup);

// form: bit 0 gathered, bit 1 pooled, bit 2 residual (pooled only)
static fm_lfactormer_config component_config(int channels, int rank, int layers, int form)
{
    return (fm_lfactormer_config){.inputs = channels * rank, .rank = rank, .width = 8, .heads = 2, .layers = layers,
                                  .components = true, .gathered = form & 1, .pooled = form & 2, .residual = form & 4};
}

Test(lfactormer_components, backward_matches_finite_differences)
{
    fm_graph *graphs[2] = {random_graph(7, 6, 0.5, 3), dense_graph(5, 4, 4)};
    int64_t clamped = 0;
    for (int gi = 0; gi < 2; gi++)
        for (int channels = 1; channels <= 2; channels++)
            for (int layers = 2; layers <= 3; layers++)
                for (int form = 0; form < 8; form++) {
                    const bool pooled = form & 2;
                    if ((pooled && layers == 3) || (form & 4 && !pooled)) continue;
                    const fm_lfactormer_config config = component_config(channels, 3, layers, form);
                    // a residual decoder on its plain twin's weights: the skip is all that differs
                    clamped += lf_check_gradients(graphs[gi], &config,
                                                  1103 + 17 * gi + 2 * channels + layers + 40 * (form & 3));
                }
    cr_expect_gt(clamped, 0, "no output clamped to 0 in any configuration: the relu's mask is not checked");
    for (int gi = 0; gi < 2; gi++) fm_graph_free(&graphs[gi]);
}

// f_ic = √k [a_ic(1..p), ā_i(1..p), z_ic(1..p) (, u_ic(1..p))] of §5.1, in
// plain loops: `other` is the other side's input (others × p·k), whose Gram
// z reads; x(i, j) the edge from node j of the other side to node i, 0 where
// none (u only, where `edges` is not NULL).
static double edge_value(const fm_edges *e, int64_t t, int64_t s)
{
    if (!e->ptr) return e->val[t * e->sources + s];
    for (GrB_Index at = e->ptr[t]; at < e->ptr[t + 1]; at++)   // a sample's edge counts 1/π times
        if ((int64_t)e->idx[at] == s) return e->val[at] / (e->log_pi ? exp(e->log_pi[at]) : 1.0);
    return 0;
}

static void features_by_hand(double *f, const double *in, int64_t nodes, const double *other, int64_t others, int p,
                             int k, int c, const fm_edges *edges)
{
    const int nf = edges ? 4 : 3;
    for (int64_t i = 0; i < nodes; i++)
        for (int q = 0; q < p; q++) {
            double mean = 0, z = 0, g_cc = 0, u = 0;
            for (int r = 0; r < k; r++) mean += in[i * p * k + q * k + r];
            for (int64_t j = 0; j < others; j++) g_cc += pow(other[j * p * k + q * k + c], 2);
            for (int d = 0; d < k; d++) {
                double g_dc = 0;
                for (int64_t j = 0; j < others; j++) g_dc += other[j * p * k + q * k + d] * other[j * p * k + q * k + c];
                z += in[i * p * k + q * k + d] * g_dc;
            }
            for (int64_t j = 0; edges && j < others; j++) u += edge_value(edges, i, j) * other[j * p * k + q * k + c];
            f[i * nf * p + q] = sqrt((double)k) * in[i * p * k + q * k + c];
            f[i * nf * p + p + q] = sqrt((double)k) * (mean / k);
            f[i * nf * p + 2 * p + q] = sqrt((double)k) * (z / g_cc);
            if (edges) f[i * nf * p + 3 * p + q] = sqrt((double)k) * (u / g_cc);
        }
}

// The fused kernels' graph of g, or with `sampled` a uniform sample of it
// (fanout 2, both directions) that takes the backward too.
static void open_graph_or_sample(fm_message_graph *mg, fm_graph *g, bool sampled, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    if (!sampled) {
        cr_assert_eq(fm_message_graph_open(mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
        return;
    }
    fm_edges rows, columns;
    cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&columns, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    const fm_sampler_options options = {.strategy = FM_SAMPLER_UNIFORM, .fanout = 2, .seed = seed};
    cr_assert_eq(fm_message_graph_sample(mg, g, &rows, &columns, 1.0, &options, 0, 3, true, msg), FM_OK, "%s", msg);
    cr_assert(mg->rows.log_pi && mg->rows.count < rows.count, "the sample drew every edge");
    cr_assert_eq(fm_edges_return(&rows, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_return(&columns, msg), FM_OK, "%s", msg);
}

// On the graph, and on a sample of it (fanout 2 of degrees up to 5), whose
// gathered sums weigh each drawn edge by 1/π.
static void check_by_hand(bool sampled)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = random_graph(6, 5, 0.6, 11);
    fm_message_graph mg;
    open_graph_or_sample(&mg, g, sampled, 5);
    for (int run = 0; run < 4; run++) {
        const int k = 4, p = 1 + run % 2, nf = run < 2 ? 3 : 4;
        const fm_lfactormer_config config = component_config(p, k, 3, nf == 4), inner = fm_lfactormer_inner(&config);
        cr_assert(inner.inputs == nf * p && inner.rank == 1 && !inner.components && !inner.gathered);
        const fm_edges *rows = nf == 4 ? &mg.rows : NULL, *columns = nf == 4 ? &mg.columns : NULL;
        lf_model model = lf_model_new(&config, &mg, 40 + p);
        lf_model_gradients(&model);   // the set model's outputs into model.w_out, model.ht_out
        const int64_t m = model.rows, n = model.cols;
        fm_lfactormer_weights_f64 w;
        fm_lfactormer_bind_f64(&w, &inner, model.values, model.layout->offsets);
        fm_lfactormer_saved_f64 saved;
        cr_assert_eq(fm_lfactormer_saved_new_f64(&saved, &inner, m, n, msg), FM_OK, "%s", msg);
        double *fw = zeros64(m * nf * p), *fh = zeros64(n * nf * p), *ow = zeros64(m), *oh = zeros64(n);
        double worst = 0;
        for (int c = 0; c < k; c++) {
            features_by_hand(fw, model.w_in, m, model.ht_in, n, p, k, c, rows);
            features_by_hand(fh, model.ht_in, n, model.w_in, m, p, k, c, columns);
            cr_assert_eq(fm_lfactormer_forward_f64(ow, oh, &saved, fw, fh, &w, &mg, msg), FM_OK, "%s", msg);
            for (int64_t i = 0; i < m; i++) worst = fmax(worst, fabs(ow[i] / sqrt(k) - model.w_out[i * k + c]));
            for (int64_t j = 0; j < n; j++) worst = fmax(worst, fabs(oh[j] / sqrt(k) - model.ht_out[j * k + c]));
        }
        cr_expect_lt(worst, 1e-10, "sampled %d, p = %d, %d features: the set model differs from the network by hand "
                     "by %.3g", sampled, p, nf, worst);
        lf_expect_some_positive(&model, "by hand");
        free(fw), free(fh), free(ow), free(oh);
        fm_lfactormer_saved_free_f64(&saved);
        lf_model_free(&model);
    }
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    fm_graph_free(&g);
}

Test(lfactormer_components, forward_is_the_per_component_network_on_the_features)
{
    check_by_hand(false);
    check_by_hand(true);
}

// One side of §5.2 by hand from its features (k arrays of nodes × nf·p) and h
// (nodes × d, the inner network's output): the pool into s0 (nodes × d), or,
// where h is not NULL, the decoder into out (nodes × k), adding feature `own`
// (the residual decoder's skip) where it is not -1.
static void pooled_side_by_hand(double *s0, double *out, double *const *features, const double *h, int64_t nodes,
                                int k, int nfp, int d, int own, const fm_lfactormer_weights_f64 *w, int side)
{
    const double *P = w->pooled[side].pool_weight, *pb = w->pooled[side].pool_bias;
    const double *F = w->pooled[side].features, *C = w->pooled[side].context, *b = w->pooled[side].bias;
    const double *o = w->pooled[side].out, *o0 = w->pooled[side].out_bias;
    for (int64_t i = 0; i < nodes; i++)
        for (int c = 0; c < k; c++) {
            const double *f = features[c] + i * nfp;
            double y = o0[0] + (own >= 0 ? f[own] : 0);
            for (int a = 0; a < d; a++) {
                double pool = pb[a], pre = b[a];
                for (int e = 0; e < nfp; e++) pool += P[a * nfp + e] * f[e], pre += F[a * nfp + e] * f[e];
                if (!h) {
                    s0[i * d + a] += fmax(pool, 0) / k;
                    continue;
                }
                for (int e = 0; e < d; e++) pre += C[a * d + e] * h[i * d + e];
                y += o[a] * fmax(pre, 0);
            }
            if (h) out[i * k + c] = fmax(y, 0) / sqrt(k);
        }
}

// The pooled set's forward: features by hand, pooled and decoded by hand
// around its inner network, on the graph and on a sample; on a graph of
// hundreds of nodes the fused pool and decoder share their nodes among the
// threads (FM_POOLED_SERIAL_WORK).
static void check_pooled_by_hand(bool sampled, int64_t rows, int64_t cols, double density)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = random_graph(rows, cols, density, 17);
    fm_message_graph mg;
    open_graph_or_sample(&mg, g, sampled, 9);
    for (int run = 0; run < 8; run++) {
        const int k = 4, p = 1 + run % 2, nf = run % 4 < 2 ? 3 : 4, d = 8, nfp = nf * p, own = run >= 4 ? p - 1 : -1;
        const fm_lfactormer_config config = component_config(p, k, 2, (nf == 4) | 2 | (own >= 0) << 2),
                                   inner = fm_lfactormer_inner(&config);
        cr_assert(inner.inputs == d && inner.rank == d && !inner.components && !inner.pooled);
        const fm_edges *rows = nf == 4 ? &mg.rows : NULL, *columns = nf == 4 ? &mg.columns : NULL;
        lf_model model = lf_model_new(&config, &mg, 60 + run);
        lf_model_gradients(&model);   // the pooled model's outputs into model.w_out, model.ht_out
        const int64_t m = model.rows, n = model.cols;
        fm_lfactormer_weights_f64 w, inner_w;
        fm_lfactormer_bind_f64(&w, &config, model.values, model.layout->offsets);
        fm_lfactormer_bind_f64(&inner_w, &inner, model.values, model.layout->offsets);
        double *fw[4], *fh[4];
        for (int c = 0; c < k; c++) {
            fw[c] = zeros64(m * nfp), fh[c] = zeros64(n * nfp);
            features_by_hand(fw[c], model.w_in, m, model.ht_in, n, p, k, c, rows);
            features_by_hand(fh[c], model.ht_in, n, model.w_in, m, p, k, c, columns);
        }
        double *s0w = zeros64(m * d), *s0h = zeros64(n * d), *hw = zeros64(m * d), *hh = zeros64(n * d);
        double *ow = zeros64(m * k), *oh = zeros64(n * k);
        pooled_side_by_hand(s0w, NULL, fw, NULL, m, k, nfp, d, own, &w, 0);
        pooled_side_by_hand(s0h, NULL, fh, NULL, n, k, nfp, d, own, &w, 1);
        fm_lfactormer_saved_f64 saved;
        cr_assert_eq(fm_lfactormer_saved_new_f64(&saved, &inner, m, n, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_lfactormer_forward_f64(hw, hh, &saved, s0w, s0h, &inner_w, &mg, msg), FM_OK, "%s", msg);
        pooled_side_by_hand(NULL, ow, fw, hw, m, k, nfp, d, own, &w, 0);
        pooled_side_by_hand(NULL, oh, fh, hh, n, k, nfp, d, own, &w, 1);
        double worst = 0;
        for (int64_t e = 0; e < m * k; e++) worst = fmax(worst, fabs(ow[e] - model.w_out[e]));
        for (int64_t e = 0; e < n * k; e++) worst = fmax(worst, fabs(oh[e] - model.ht_out[e]));
        cr_expect_lt(worst, 1e-10, "sampled %d, p = %d, %d features, residual %d: the pooled model differs from the "
                     "one by hand by %.3g", sampled, p, nf, own >= 0, worst);
        lf_expect_some_positive(&model, "pooled by hand");
        for (int c = 0; c < k; c++) free(fw[c]), free(fh[c]);
        free(s0w), free(s0h), free(hw), free(hh), free(ow), free(oh);
        fm_lfactormer_saved_free_f64(&saved);
        lf_model_free(&model);
    }
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    fm_graph_free(&g);
}

Test(lfactormer_components, the_pooled_forward_is_its_pool_network_and_decoder)
{
    check_pooled_by_hand(false, 6, 5, 0.6);
    check_pooled_by_hand(true, 6, 5, 0.6);
    check_pooled_by_hand(false, 300, 240, 0.05);
}

// The float forward of a block at `config` on w_in, ht_in; outputs allocated.
static void run_float(float **w_out, float **ht_out, const fm_params *params, const fm_lfactormer_config *config,
                      const fm_message_graph *mg, const float *w_in, const float *ht_in, bool backward)
{
    char msg[FM_MSG_LEN];
    const int64_t m = mg->graph->stats.rows, n = mg->graph->stats.cols;
    fm_lfactormer_weights w;
    fm_lfactormer_bind(&w, config, params->values, params->offsets);
    fm_lfactormer_saved saved;
    cr_assert_eq(fm_lfactormer_saved_new_for(&saved, config, m, n, backward, 0, msg), FM_OK, "%s", msg);
    *w_out = zeros32(m * config->rank);
    *ht_out = zeros32(n * config->rank);
    cr_assert_eq(fm_lfactormer_forward(*w_out, *ht_out, &saved, w_in, ht_in, &w, mg, msg), FM_OK, "%s", msg);
    fm_lfactormer_saved_free(&saved);
}

// A block of the template with the fixture's values (rank-independent).
static fm_params *template_params(const fm_lfactormer_config *config, const fm_message_graph *mg, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    lf_model model = lf_model_new(config, mg, seed);
    fm_params *params = NULL;
    cr_assert_eq(fm_lfactormer_params_new(&params, config, msg), FM_OK, "%s", msg);
    for (int64_t e = 0; e < params->count; e++) params->values[e] = (float)model.values[e];
    lf_model_free(&model);
    return params;
}

static float *random_inputs(int64_t count, uint64_t seed)
{
    float *a = zeros32(count);
    for (int64_t e = 0; e < count; e++) a[e] = (float)fabs(lf_normal(seed, (uint64_t)e));
    return a;
}

static void check_permutation(int form)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = random_graph(9, 7, 0.5, 5);
    fm_message_graph mg;
    cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    const int64_t m = 9, n = 7;
    const int k = 5, p = 2, order[5] = {3, 0, 4, 1, 2};
    const fm_lfactormer_config config = component_config(p, k, 2, form);
    fm_params *params = template_params(&config, &mg, 7);
    float *w_in = random_inputs(m * p * k, 1), *ht_in = random_inputs(n * p * k, 2);
    float *w_perm = zeros32(m * p * k), *ht_perm = zeros32(n * p * k);
    // component c of the permuted input is component order[c] of the input, in both channels
    for (int64_t i = 0; i < m; i++)
        for (int q = 0; q < p; q++)
            for (int c = 0; c < k; c++) w_perm[(i * p + q) * k + c] = w_in[(i * p + q) * k + order[c]];
    for (int64_t j = 0; j < n; j++)
        for (int q = 0; q < p; q++)
            for (int c = 0; c < k; c++) ht_perm[(j * p + q) * k + c] = ht_in[(j * p + q) * k + order[c]];
    float *w_out, *ht_out, *w_pout, *ht_pout;
    run_float(&w_out, &ht_out, params, &config, &mg, w_in, ht_in, false);
    run_float(&w_pout, &ht_pout, params, &config, &mg, w_perm, ht_perm, false);
    double worst = 0, scale = 0;
    int64_t positive = 0;
    for (int64_t i = 0; i < m; i++)
        for (int c = 0; c < k; c++) {
            worst = fmax(worst, fabs(w_pout[i * k + c] - w_out[i * k + order[c]]));
            scale = fmax(scale, fabs(w_out[i * k + c]));
            positive += w_out[i * k + c] > 0;
        }
    for (int64_t j = 0; j < n; j++)
        for (int c = 0; c < k; c++) worst = fmax(worst, fabs(ht_pout[j * k + c] - ht_out[j * k + order[c]]));
    cr_expect_gt(positive, 0, "every output is 0: the comparison is empty");
    // the means are summed in another order: float rounding only
    cr_expect_leq(worst, 1e-5 * fmax(scale, 1),
                  "form %d: permuted outputs differ by %.3g (largest output %.3g)", form, worst, scale);
    float *arrays[] = {w_in, ht_in, w_perm, ht_perm, w_out, ht_out, w_pout, ht_pout};
    for (int a = 0; a < 8; a++) free(arrays[a]);
    fm_params_free(&params);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    fm_graph_free(&g);
}

Test(lfactormer_components, permuting_the_components_permutes_the_outputs)
{
    for (int form = 0; form < 8; form++)
        if (!(form & 4) || (form & 2)) check_permutation(form);
}

// The Grams and cross terms run in parallel above a size (nodes · k² above
// 2^18): the outputs are the same bits on 1, 2 and 3 threads.
Test(lfactormer_components, the_outputs_do_not_depend_on_the_threads)
{
    char msg[FM_MSG_LEN];
    const int threads = fm_get_threads();
    const int64_t m = 700, n = 500;
    const int k = 24;   // (700 + 500) · 24² = 691 200
    fm_graph *g = random_graph(m, n, 0.02, 19);
    fm_message_graph mg;
    cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    for (int form = 1; form <= 3; form += 2) {   // gathered; gathered and pooled
        const fm_lfactormer_config config = component_config(1, k, 2, form);
        fm_params *params = template_params(&config, &mg, 23);
        float *w_in = random_inputs(m * k, 3), *ht_in = random_inputs(n * k, 4), *w_one, *ht_one;
        fm_set_threads(1);
        run_float(&w_one, &ht_one, params, &config, &mg, w_in, ht_in, false);
        for (int t = 2; t <= 3; t++) {
            float *w_out, *ht_out;
            fm_set_threads(t);
            run_float(&w_out, &ht_out, params, &config, &mg, w_in, ht_in, false);
            cr_expect_arr_eq(w_out, w_one, sizeof(float) * m * k, "form %d: W on %d threads differs from 1", form, t);
            cr_expect_arr_eq(ht_out, ht_one, sizeof(float) * n * k, "form %d: Hᵀ on %d threads differs from 1", form,
                             t);
            free(w_out), free(ht_out);
        }
        fm_set_threads(threads);
        free(w_in), free(ht_in), free(w_one), free(ht_one);
        fm_params_free(&params);
    }
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    fm_graph_free(&g);
}

static void check_every_rank(bool pooled)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = dense_graph(8, 6, 9);
    fm_message_graph mg;
    cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    const int64_t m = 8, n = 6;
    const fm_lfactormer_config template = {.inputs = 1, .rank = 0, .width = 8, .heads = 2, .layers = 3,
                                           .components = true, .pooled = pooled};
    cr_assert_eq(fm_lfactormer_check(&template, msg), FM_OK, "%s", msg);
    fm_params *params = template_params(&(fm_lfactormer_config){.inputs = 1, .rank = 1, .width = 8, .heads = 2,
                                                                 .layers = 3, .components = true, .pooled = pooled},
                                        &mg, 13);
    fm_params *from_template = NULL;
    cr_assert_eq(fm_lfactormer_params_new(&from_template, &template, msg), FM_OK, "%s", msg);
    cr_expect_eq(from_template->count, params->count, "the template's block has %lld values, rank 1's %lld",
                 (long long)from_template->count, (long long)params->count);
    fm_params_free(&from_template);
    const int ranks[] = {1, 2, 5, 6};
    for (int r = 0; r < 4; r++) {
        const fm_lfactormer_config at = fm_lfactormer_at_rank(&template, ranks[r]);
        cr_assert(at.inputs == ranks[r] && at.rank == ranks[r] && at.components);
        float *w_in = random_inputs(m * at.inputs, 20 + r), *ht_in = random_inputs(n * at.inputs, 30 + r);
        float *w_a, *ht_a, *w_b, *ht_b;
        run_float(&w_a, &ht_a, params, &at, &mg, w_in, ht_in, false);
        run_float(&w_b, &ht_b, params, &at, &mg, w_in, ht_in, true);
        cr_expect_arr_eq(w_a, w_b, sizeof(float) * m * at.rank, "pooled %d, rank %d: the forward alone differs",
                         pooled, ranks[r]);
        cr_expect_arr_eq(ht_a, ht_b, sizeof(float) * n * at.rank, "pooled %d, rank %d: the forward alone differs",
                         pooled, ranks[r]);
        for (int64_t e = 0; e < m * at.rank; e++)
            cr_assert(isfinite(w_a[e]) && w_a[e] >= 0, "rank %d: output %g", ranks[r], (double)w_a[e]);
        free(w_in), free(ht_in), free(w_a), free(ht_a), free(w_b), free(ht_b);
    }
    fm_params_free(&params);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    fm_graph_free(&g);
}

Test(lfactormer_components, one_block_runs_at_every_rank_and_the_forward_alone_agrees)
{
    check_every_rank(false);
    check_every_rank(true);
}

Test(lfactormer_components, a_template_and_a_width_not_a_multiple_of_the_rank_are_refused)
{
    char msg[FM_MSG_LEN];
    const fm_lfactormer_config template = {.inputs = 2, .rank = 0, .width = 8, .heads = 2, .layers = 2,
                                           .components = true};
    fm_lfactormer_saved saved;
    cr_expect_eq(fm_lfactormer_saved_new(&saved, &template, 4, 4, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "at a rank") != NULL, "%s", msg);
    const fm_lfactormer_config odd = {.inputs = 7, .rank = 3, .width = 8, .heads = 2, .layers = 2,
                                      .components = true};
    cr_expect_eq(fm_lfactormer_check(&odd, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "multiple of 3") != NULL, "%s", msg);
    const fm_lfactormer_config rank0 = {.inputs = 2, .rank = 0, .width = 8, .heads = 2, .layers = 2};
    cr_expect_eq(fm_lfactormer_check(&rank0, msg), FM_ERR_INVALID, "rank 0 is for component-set templates only");
    const fm_lfactormer_config pooled = {.inputs = 2, .rank = 2, .width = 8, .heads = 2, .layers = 2, .pooled = true};
    cr_expect_eq(fm_lfactormer_check(&pooled, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "pooled network belongs to a component-set model") != NULL, "%s", msg);
}

// A component whose column on the other side is 1e-5 of the others' (G_cc
// 1e-10 of theirs, below FM_COMPONENT_GRAM_RELATIVE) counts as zero there:
// its z and u are 0, not (W G)_ic / G_cc of order 1e5, and the outputs are
// those of the exactly zero column up to that column's own contributions to
// the other components (1e-5 relative). The set model and the pooled one.
Test(lfactormer_components, a_component_near_zero_on_the_other_side_reads_as_zero)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = dense_graph(9, 7, 3);
    fm_message_graph mg;
    cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    const int64_t m = 9, n = 7;
    const int k = 4, tiny = 2;
    for (int pooled = 0; pooled < 2; pooled++) {
        const fm_lfactormer_config config = component_config(1, k, 2, 1 | 2 * pooled);
        fm_params *params = template_params(&config, &mg, 31);
        float *w_in = random_inputs(m * k, 3), *ht_near = random_inputs(n * k, 4), *ht_zero = zeros32(n * k);
        for (int64_t j = 0; j < n; j++) {
            ht_near[j * k + tiny] *= 1e-5f;
            for (int c = 0; c < k; c++) ht_zero[j * k + c] = c == tiny ? 0 : ht_near[j * k + c];
        }
        float *w_near, *ht_out_near, *w_zero, *ht_out_zero;
        run_float(&w_near, &ht_out_near, params, &config, &mg, w_in, ht_near, false);
        run_float(&w_zero, &ht_out_zero, params, &config, &mg, w_in, ht_zero, false);
        double worst = 0, scale = 0;
        for (int64_t e = 0; e < m * k; e++) {
            worst = fmax(worst, fabs(w_near[e] - w_zero[e]));
            scale = fmax(scale, fabs(w_zero[e]));
        }
        cr_expect_gt(scale, 0, "pooled %d: every output is 0", pooled);
        cr_expect_leq(worst, 1e-3 * scale, "pooled %d: W's outputs differ by %.3g (largest %.3g): the near-zero "
                      "component's cross term and gathered sum were not dropped", pooled, worst, scale);
        float *arrays[] = {w_in, ht_near, ht_zero, w_near, ht_out_near, w_zero, ht_out_zero};
        for (int a = 0; a < 7; a++) free(arrays[a]);
        fm_params_free(&params);
    }
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    fm_graph_free(&g);
}
