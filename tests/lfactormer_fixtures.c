// The L-Factormer's test harness in double: see lfactormer_fixtures.h.
#include "lfactormer_fixtures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "attention_fixtures.h"
#include "helpers.h"
#include "rng.h"

double lf_normal(uint64_t seed, uint64_t counter) { return fm_rng_normal(fm_rng_stream(seed, 9), counter); }

const char *lf_config_name(const fm_lfactormer_config *c, const fm_graph *g)
{
    static char name[160];
    snprintf(name, sizeof name, "%lldx%lld %s, k_in %d, k %d, d %d, %d heads, L %d%s%s%s%s", (long long)g->stats.rows,
             (long long)g->stats.cols, g->stats.kind == FM_KIND_DENSE ? "dense" : "sparse", c->inputs, c->rank,
             c->width, c->heads, c->layers, c->components ? ", component set" : "", c->gathered ? ", gathered" : "",
             c->pooled ? ", pooled" : "", c->residual ? ", residual" : "");
    return name;
}

//------------------------------------------------------------------------------
// One model in double: parameters, inputs, the weights of a linear loss
//------------------------------------------------------------------------------


// Weights 0.4·N(0,1), layernorm gammas 1 + 0.4·N(0,1); the output heads
// D_W, D_H 0.25·N(0,1) and c_W, c_H 1 + 0.2·N(0,1), so that most outputs are
// positive and a few clamped (the states of a layer's output are much alike
// from node to node, and a whole output column can fall below 0); inputs
// |N(0,1)| (factors are nonnegative); loss weights N(0,1). All float-exact.
lf_model lf_model_new(const fm_lfactormer_config *config, const fm_message_graph *mg, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    lf_model p = {.config = *config, .mg = mg, .rows = mg->graph->stats.rows, .cols = mg->graph->stats.cols};
    cr_assert_eq(fm_lfactormer_params_new(&p.layout, config, msg), FM_OK, "%s", msg);
    p.values = zeros64(p.layout->count);
    p.grads = zeros64(p.layout->count);
    for (int t = 0; t < p.layout->tensors; t++) {
        const char *name = p.layout->specs[t].name;
        const bool gamma = strstr(name, "gamma") != NULL;
        // a pooled model's outputs are its decoders' (§5.2); its pool's units start alive too, else a probe of
        // their weights can find every one clamped
        const bool output_bias = !strcmp(name, "out_w.bias") || !strcmp(name, "out_h.bias") ||
                                 strstr(name, ".out_bias") != NULL || !strcmp(name, "pool_w.bias") ||
                                 !strcmp(name, "pool_h.bias");
        const bool output_weight = !strcmp(name, "out_w.weight") || !strcmp(name, "out_h.weight");
        // the decoder's output reads d hidden units of one sign: smaller weights, or a whole side can clamp
        const bool decoder_weight = strstr(name, "decode_") && strstr(name, ".out") && !strstr(name, ".out_bias");
        for (int64_t e = 0; e < fm_params_size(p.layout, t); e++) {
            const double z = lf_normal(seed, ((uint64_t)t << 20) + e);
            // a component-set model's one output column would often clamp whole: a higher bias
            const double bias = config->components ? 1.6 : 1;
            const double value = output_bias ? bias + 0.2 * z : output_weight ? 0.25 * z : decoder_weight ? 0.1 * z : (gamma ? 1 : 0) + 0.4 * z;
            p.values[p.layout->offsets[t] + e] = fm_test_rounded(value);
        }
    }
    const int64_t m = p.rows, n = p.cols, k_in = config->inputs, k = config->rank;
    p.w_in = zeros64(m * k_in);
    p.ht_in = zeros64(n * k_in);
    p.d_w_in = zeros64(m * k_in);
    p.d_ht_in = zeros64(n * k_in);
    p.w_weight = zeros64(m * k);
    p.ht_weight = zeros64(n * k);
    p.w_out = zeros64(m * k);
    p.ht_out = zeros64(n * k);
    for (int64_t e = 0; e < m * k_in; e++) p.w_in[e] = fm_test_rounded(fabs(lf_normal(seed + 1, e)));
    for (int64_t e = 0; e < n * k_in; e++) p.ht_in[e] = fm_test_rounded(fabs(lf_normal(seed + 2, e)));
    for (int64_t e = 0; e < m * k; e++) p.w_weight[e] = fm_test_rounded(lf_normal(seed + 3, e));
    for (int64_t e = 0; e < n * k; e++) p.ht_weight[e] = fm_test_rounded(lf_normal(seed + 4, e));
    return p;
}

void lf_model_free(lf_model *p)
{
    fm_params_free(&p->layout);
    double *arrays[] = {p->values, p->grads, p->w_in, p->ht_in, p->w_weight, p->ht_weight,
                        p->w_out, p->ht_out, p->d_w_in, p->d_ht_in};
    for (size_t a = 0; a < sizeof arrays / sizeof arrays[0]; a++) free(arrays[a]);
}

// The double forward; the loss; the relu sides compared with p->w_out and
// p->ht_out when `count_crossings`.
double lf_model_loss(lf_model *p, bool count_crossings)
{
    char msg[FM_MSG_LEN];
    const int64_t wk = p->rows * p->config.rank, hk = p->cols * p->config.rank;
    fm_lfactormer_weights_f64 w;
    fm_lfactormer_saved_f64 saved;
    fm_lfactormer_bind_f64(&w, &p->config, p->values, p->layout->offsets);
    cr_assert_eq(fm_lfactormer_saved_new_f64(&saved, &p->config, p->rows, p->cols, msg), FM_OK, "%s", msg);
    double *w_out = zeros64(wk), *ht_out = zeros64(hk);
    cr_assert_eq(fm_lfactormer_forward_f64(w_out, ht_out, &saved, p->w_in, p->ht_in, &w, p->mg, msg), FM_OK, "%s",
                 msg);
    double loss = 0;
    for (int64_t e = 0; e < wk; e++) {
        loss += p->w_weight[e] * w_out[e];
        if (count_crossings && (w_out[e] > 0) != (p->w_out[e] > 0)) p->crossings++;
    }
    for (int64_t e = 0; e < hk; e++) {
        loss += p->ht_weight[e] * ht_out[e];
        if (count_crossings && (ht_out[e] > 0) != (p->ht_out[e] > 0)) p->crossings++;
    }
    fm_lfactormer_saved_free_f64(&saved);
    free(w_out);
    free(ht_out);
    return loss;
}

static double context_loss(void *context) { return lf_model_loss(context, true); }

// Forward and backward in double: the outputs, the gradients of every
// parameter and of both inputs (all zeroed first).
void lf_model_gradients(lf_model *p)
{
    char msg[FM_MSG_LEN];
    memset(p->grads, 0, sizeof(double) * p->layout->count);
    memset(p->d_w_in, 0, sizeof(double) * p->rows * p->config.inputs);
    memset(p->d_ht_in, 0, sizeof(double) * p->cols * p->config.inputs);
    fm_lfactormer_weights_f64 w;
    fm_lfactormer_grads_f64 g;
    fm_lfactormer_saved_f64 saved;
    fm_lfactormer_bind_f64(&w, &p->config, p->values, p->layout->offsets);
    fm_lfactormer_bind_grads_f64(&g, &p->config, p->grads, p->layout->offsets);
    cr_assert_eq(fm_lfactormer_saved_new_f64(&saved, &p->config, p->rows, p->cols, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_lfactormer_forward_f64(p->w_out, p->ht_out, &saved, p->w_in, p->ht_in, &w, p->mg, msg), FM_OK,
                 "%s", msg);
    cr_assert_eq(fm_lfactormer_backward_f64(p->d_w_in, p->d_ht_in, &g, p->w_weight, p->ht_weight, &saved, &w, p->mg,
                                            msg),
                 FM_OK, "%s", msg);
    fm_lfactormer_saved_free_f64(&saved);
}

static int64_t count_positive(const double *a, int64_t n)
{
    int64_t count = 0;
    for (int64_t e = 0; e < n; e++) count += a[e] > 0;
    return count;
}

// Some outputs of both factors positive, else most gradients are zero and a
// check of them empty. Returns how many outputs are clamped to 0.
int64_t lf_expect_some_positive(const lf_model *p, const char *name)
{
    const int64_t wk = p->rows * p->config.rank, hk = p->cols * p->config.rank;
    const int64_t positive_w = count_positive(p->w_out, wk), positive_h = count_positive(p->ht_out, hk);
    cr_assert(positive_w > 0 && positive_h > 0, "%s: %lld of %lld W and %lld of %lld Hᵀ outputs positive", name,
              (long long)positive_w, (long long)wk, (long long)positive_h, (long long)hk);
    cr_log_info("%s: %lld/%lld W, %lld/%lld Hᵀ outputs positive", name, (long long)positive_w, (long long)wk,
                (long long)positive_h, (long long)hk);
    return wk - positive_w + hk - positive_h;
}

//------------------------------------------------------------------------------
// (a) The backward against central finite differences (double)
//------------------------------------------------------------------------------

// Up to 8 entries of every tensor and of both inputs, norm-wise relative to
// max(‖numeric‖, 1e-3): below 1e-6, and the numeric gradient nonzero (the
// check is not empty) except for the key biases, whose gradient is zero.
// No output may change relu side during any difference. Returns how many
// outputs are clamped to 0.
int64_t lf_check_gradients(fm_graph *g, const fm_lfactormer_config *config, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    fm_message_graph mg;
    cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    const char *name = lf_config_name(config, g);
    lf_model p = lf_model_new(config, &mg, seed);
    lf_model_gradients(&p);
    const int64_t clamped = lf_expect_some_positive(&p, name);

    double worst = 0;
    for (int t = 0; t < p.layout->tensors; t++) {
        const int64_t at = p.layout->offsets[t];
        double numeric_norm = 0;
        const double error = central_differences(p.values + at, p.grads + at, fm_params_size(p.layout, t), 8, 1e-3,
                                                 context_loss, &p, &numeric_norm);
        const char *tensor = p.layout->specs[t].name;
        cr_expect_lt(error, 1e-6, "%s: d %s vs central differences, relative error %.3g", name, tensor, error);
        if (!fm_test_is_key_bias(tensor))
            cr_expect_gt(numeric_norm, 0, "%s: the numeric gradient of %s is zero: the check is empty", name, tensor);
        worst = fmax(worst, error);
    }
    double *inputs[2] = {p.w_in, p.ht_in}, *analytic[2] = {p.d_w_in, p.d_ht_in};
    const int64_t sizes[2] = {p.rows * config->inputs, p.cols * config->inputs};
    const char *input_name[2] = {"W_in", "Hᵀ_in"};
    for (int i = 0; i < 2; i++) {
        double numeric_norm = 0;
        const double error =
            central_differences(inputs[i], analytic[i], sizes[i], 8, 1e-3, context_loss, &p, &numeric_norm);
        cr_expect_lt(error, 1e-6, "%s: d %s vs central differences, relative error %.3g", name, input_name[i], error);
        cr_expect_gt(numeric_norm, 0, "%s: the numeric gradient of %s is zero", name, input_name[i]);
        worst = fmax(worst, error);
    }
    cr_expect_eq(p.crossings, 0, "%s: %lld outputs crossed 0 during the differences (relu kink)", name,
                 (long long)p.crossings);
    cr_log_info("finite differences, %s: worst relative error %.3g", name, worst);
    lf_model_free(&p);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    return clamped;
}

