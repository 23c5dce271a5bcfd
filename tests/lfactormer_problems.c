// Fixtures of the L-Factormer's float tests (tests/lfactormer_problems.h).
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "attention_fixtures.h"
#include "lfactormer_fixtures.h"
#include "lfactormer_problems.h"

fm_lfactormer_config lf_make_config(int inputs, int layers)
{
    return (fm_lfactormer_config){.inputs = inputs, .rank = 3, .width = 8, .heads = 2, .layers = layers};
}

lf_float_problem lf_float_problem_new(const fm_lfactormer_config *config, const fm_graph *g, uint64_t seed,
                                      double noise)
{
    char msg[FM_MSG_LEN];
    lf_float_problem f = {0};
    const int64_t m = g->stats.rows, n = g->stats.cols;
    cr_assert_eq(fm_lfactormer_params_new(&f.params, config, msg), FM_OK, "%s", msg);
    fm_params_init(f.params, seed);
    for (int64_t e = 0; e < f.params->count; e++) f.params->values[e] += (float)(noise * lf_normal(seed + 1, e));
    f.w_in = zeros32(m * config->inputs);
    f.ht_in = zeros32(n * config->inputs);
    f.d_w_out = zeros32(m * config->rank);
    f.d_ht_out = zeros32(n * config->rank);
    for (int64_t e = 0; e < m * config->inputs; e++) f.w_in[e] = (float)fabs(lf_normal(seed + 2, e));
    for (int64_t e = 0; e < n * config->inputs; e++) f.ht_in[e] = (float)fabs(lf_normal(seed + 3, e));
    for (int64_t e = 0; e < m * config->rank; e++) f.d_w_out[e] = (float)lf_normal(seed + 4, e);
    for (int64_t e = 0; e < n * config->rank; e++) f.d_ht_out[e] = (float)lf_normal(seed + 5, e);
    return f;
}

void lf_float_problem_free(lf_float_problem *f)
{
    fm_params_free(&f->params);
    free(f->w_in);
    free(f->ht_in);
    free(f->d_w_out);
    free(f->d_ht_out);
}
