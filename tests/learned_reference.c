// The learned initialization by hand: see learned_reference.h.
#include "learned_reference.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "graph.h"
#include "init.h"
#include "lfactormer.h"
#include "train.h"

void fm_test_train_tiny(const char *path, fm_model_kind kind, int rank)
{
    fm_train_options o;
    fm_train_options_default(&o, kind);
    o.rank = rank;
    o.width = 8;
    o.heads = 1;
    o.layers = 1;
    o.epochs = 1;
    o.train_size = 8;
    o.valid_size = 2;
    o.valid_steps = 1;
    o.checkpoint_every = 0;
    o.out = path;
    fm_train_result *r = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_train_run(&r, &o, msg), FM_OK, "%s", msg);
    fm_train_result_free(&r);
}

void fm_test_learned_init(fm_dense **W, fm_dense **H, const fm_triplets *t, fm_kind kind, const char *path,
                          int rank, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL, *scaled = NULL;
    cr_assert_eq(fm_graph_from_triplets(&g, t, kind, msg), FM_OK, "%s", msg);
    const double mean = fm_graph_mean(g);
    cr_assert_gt(mean, 0);
    const int64_t m = t->rows, n = t->cols;
    const int64_t values = t->array ? m * n : t->count;
    fm_triplets copy = *t;
    copy.val = malloc(sizeof(float) * (size_t)(values > 0 ? values : 1));
    cr_assert_not_null(copy.val);
    for (int64_t e = 0; e < values; e++) copy.val[e] = (float)((double)t->val[e] / mean);
    cr_assert_eq(fm_graph_from_triplets(&scaled, &copy, kind, msg), FM_OK, "%s", msg);
    free(copy.val);

    fm_message_graph mg;
    cr_assert_eq(fm_message_graph_open(&mg, scaled, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    fm_dense *w0 = NULL, *ht0 = NULL, *w = NULL, *ht = NULL;
    // the learned start's own sketch (§6)
    cr_assert_eq(fm_init_factors(&w0, &ht0, scaled, &mg.rows, &mg.columns, rank, FM_INIT_NNDSVD, FM_LEARNED_SVD_POWER,
                                 seed, msg), FM_OK, "%s", msg);
    fm_checkpoint_header header;
    fm_params *params = NULL;
    const fm_checkpoint_expect expect = {.kind = FM_MODEL_INIT, .rank = rank};
    cr_assert_eq(fm_checkpoint_read(path, &header, &params, NULL, &expect, msg), FM_OK, "%s", msg);
    // a model of any rank (§5.1) runs at the rank asked for
    const fm_lfactormer_config config =
        header.config.components ? fm_lfactormer_at_rank(&header.config, rank) : header.config;
    fm_lfactormer_weights weights;
    fm_lfactormer_bind(&weights, &config, params->values, params->offsets);
    fm_lfactormer_saved saved;
    cr_assert_eq(fm_lfactormer_saved_new(&saved, &config, m, n, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_dense_new(&w, m, rank, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_dense_new(&ht, n, rank, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_lfactormer_forward(w->data, ht->data, &saved, w0->data, ht0->data, &weights, &mg, msg), FM_OK,
                 "%s", msg);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);

    for (int64_t e = 0; e < m * rank; e++) w->data[e] = (float)(w->data[e] * mean);
    cr_assert_eq(fm_dense_new(H, rank, n, msg), FM_OK, "%s", msg);
    for (int64_t j = 0; j < n; j++)
        for (int r = 0; r < rank; r++) (*H)->data[r * n + j] = ht->data[j * rank + r];
    *W = w;
    fm_lfactormer_saved_free(&saved);
    fm_params_free(&params);
    fm_dense_free(&w0);
    fm_dense_free(&ht0);
    fm_dense_free(&ht);
    fm_graph_free(&scaled);
    fm_graph_free(&g);
}
