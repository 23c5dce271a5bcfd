// Fixtures of the unrolled chains' tests (tests/unroll_fixtures.h).
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention_fixtures.h"
#include "helpers.h"
#include "init.h"
#include "rng.h"
#include "unroll_fixtures.h"

static double normal(uint64_t seed, uint64_t counter) { return fm_rng_normal(fm_rng_stream(seed, 11), counter); }

// X = W·H planted (mean about 1), every entry stored.
static fm_graph *planted_dense(int64_t rows, int64_t cols, int rank, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL;
    float *values = fm_test_planted(rows, cols, rank, seed);
    cr_assert_eq(fm_graph_from_dense(&g, rows, cols, values, FM_KIND_DENSE, msg), FM_OK, "%s", msg);
    free(values);
    return g;
}

// Planted values, each entry observed with probability 0.6, plus the
// diagonal band (i, i mod cols), so that every row and column has an entry.
static fm_graph *planted_incomplete(int64_t rows, int64_t cols, int rank, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    float *values = fm_test_planted(rows, cols, rank, seed);
    double *keep = fm_test_uniform_range(rows * cols, seed + 1, 0, 1);
    fm_triplets t = {.rows = rows, .cols = cols};
    t.row = calloc(rows * cols, sizeof(int64_t));
    t.col = calloc(rows * cols, sizeof(int64_t));
    t.val = calloc(rows * cols, sizeof(float));
    cr_assert(t.row && t.col && t.val);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            if (keep[i * cols + j] < 0.6 || j == i % cols || i == j % rows) {
                t.row[t.count] = i;
                t.col[t.count] = j;
                t.val[t.count++] = values[i * cols + j];
            }
    fm_graph *g = NULL;
    cr_assert_eq(fm_graph_from_triplets(&g, &t, FM_KIND_INCOMPLETE, msg), FM_OK, "%s", msg);
    cr_assert_lt(t.count, rows * cols, "the incomplete graph is complete");
    free(t.row);
    free(t.col);
    free(t.val);
    free(values);
    free(keep);
    return g;
}

fm_graph *unroll_make_graph(unroll_graph_case which, uint64_t seed)
{
    switch (which) {
    case GRAPH_DENSE: return planted_dense(6, 5, 2, seed);
    case GRAPH_SPARSE: return random_graph(7, 6, 0.5, seed);
    default: return planted_incomplete(7, 6, 2, seed);
    }
}

fm_unroll_config unroll_tiny_config(fm_unroll_mode mode, int steps, int admm)
{
    fm_unroll_config config;
    fm_unroll_config_default(&config, mode, 2);
    config.model.width = 4;
    config.model.heads = 1;
    config.model.layers = 2;
    config.steps = steps;
    config.admm = admm;
    return config;
}

// Weights 0.4·N(0,1), layernorm gammas 1 + 0.4·N(0,1), output heads D_W, D_H
// 0.25·N(0,1) and c_W, c_H output_bias + 0.2·N(0,1): with 1 most network
// outputs are positive (as in test_lfactormer); with 0.2 many are clamped,
// and so are many ADMM entries after them. All float-exact.
static void fill_parameters(double *values, const fm_params *layout, double output_bias_mean, uint64_t seed)
{
    for (int t = 0; t < layout->tensors; t++) {
        const char *name = layout->specs[t].name;
        const bool gamma = strstr(name, "gamma") != NULL;
        const bool output_bias = !strcmp(name, "out_w.bias") || !strcmp(name, "out_h.bias");
        const bool output_weight = !strcmp(name, "out_w.weight") || !strcmp(name, "out_h.weight");
        for (int64_t e = 0; e < fm_params_size(layout, t); e++) {
            const double z = normal(seed, ((uint64_t)t << 20) + e);
            const double value = output_bias ? output_bias_mean + 0.2 * z : output_weight ? 0.25 * z : (gamma ? 1 : 0) + 0.4 * z;
            values[layout->offsets[t] + e] = fm_test_rounded(value);
        }
    }
}

// Takes ownership of g.
unroll_chain unroll_chain_new(fm_graph *g, const fm_unroll_config *config, double output_bias, uint64_t seed,
                              const char *name)
{
    char msg[FM_MSG_LEN];
    unroll_chain c = {.config = *config, .graph = g, .rows = g->stats.rows, .cols = g->stats.cols,
               .k = config->model.rank};
    snprintf(c.name, sizeof c.name, "%s", name);
    cr_assert_eq(fm_message_graph_open(&c.mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_lfactormer_params_new(&c.params, &config->model, msg), FM_OK, "%s", msg);
    c.values = zeros64(c.params->count);
    c.grads = zeros64(c.params->count);
    fill_parameters(c.values, c.params, output_bias, seed);
    for (int64_t e = 0; e < c.params->count; e++) c.params->values[e] = (float)c.values[e];
    fm_dense *W = NULL, *Ht = NULL;
    cr_assert_eq(fm_init_factors(&W, &Ht, g, &c.mg.rows, &c.mg.columns, c.k, FM_INIT_NNDSVD, FM_SVD_POWER_AUTO, seed,
                                 msg), FM_OK, "%s", msg);
    c.w_start = to_double(W->data, c.rows * c.k);
    c.ht_start = to_double(Ht->data, c.cols * c.k);
    c.w_start32 = to_float(c.w_start, c.rows * c.k);
    c.ht_start32 = to_float(c.ht_start, c.cols * c.k);
    fm_dense_free(&W);
    fm_dense_free(&Ht);
    return c;
}

void unroll_chain_free(unroll_chain *c)
{
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_message_graph_close(&c->mg, msg), FM_OK, "%s", msg);
    fm_graph_free(&c->graph);
    fm_params_free(&c->params);
    free(c->values);
    free(c->grads);
    free(c->w_start);
    free(c->ht_start);
    free(c->w_start32);
    free(c->ht_start32);
    free(c->sides);
}
