// Sampled message passing in training: see train_sampling.h.
#include "train_sampling.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "status.h"
#include "train.h"

void fm_train_sampling_default(fm_train_sampling *sampling)
{
    *sampling = (fm_train_sampling){ .sampler = FM_SAMPLER_FULL, .fanout = 32, .zero_ratio = 1, .budget = 0,
                                     .walk_length = FM_SUBGRAPH_WALK_LENGTH, .presamples = FM_SUBGRAPH_PRESAMPLES };
}

// The options of a subgraph draw over a graph with `edges` stored edges and
// `rows` rows (the budget's default).
static fm_subgraph_options subgraph_options(const fm_train_sampling *s, uint64_t seed, int64_t edges, int64_t rows)
{
    const int64_t budget = s->budget ? s->budget : s->sampler == FM_SAMPLER_EDGE ? edges : rows;
    return (fm_subgraph_options){ .strategy = s->sampler, .budget = budget, .walk_length = s->walk_length,
                                  .presamples = s->presamples, .seed = seed };
}

int fm_train_sampling_check(const fm_train_sampling *s, const fm_train_data *data, char *msg)
{
#define FREE_ALL
    FM_CHECK(s, FM_ERR_INVALID, "training: no sampling options");
    FM_CHECK((unsigned)s->sampler < FM_SAMPLER_COUNT, FM_ERR_INVALID, "training: unknown sampler %d",
             (int)s->sampler);
    const fm_kind kind = data ? data->kind : FM_KIND_DENSE;
    if (s->sampler == FM_SAMPLER_FULL) return FM_OK;
    if (s->sampler < FM_SAMPLER_NODE_WISE) {
        FM_CHECK(s->fanout >= 1, FM_ERR_INVALID, "training: the %s sampler's fanout %lld must be at least 1",
                 fm_sampler_name(s->sampler), (long long)s->fanout);
        FM_CHECK(isfinite(s->zero_ratio) && s->zero_ratio >= 0, FM_ERR_INVALID,
                 "training: the zero ratio %g must be a finite number >= 0", s->zero_ratio);
        FM_CHECK(s->sampler != FM_SAMPLER_STRATIFIED || kind == FM_KIND_SPARSE, FM_ERR_INVALID,
                 "training: the stratified sampler draws unstored zeros, which only the sparse kind has (the "
                 "training data is %s): use --data sparse, or uniform or weighted", fm_kind_name(kind));
        return FM_OK;
    }
    FM_CHECK(s->budget >= 0, FM_ERR_INVALID, "training: the subgraph budget %lld must be >= 0 (0: the default)",
             (long long)s->budget);
    fm_subgraph_options o = subgraph_options(s, 0, 1, 1);
    return fm_subgraph_check(&o, kind, msg);
#undef FREE_ALL
}

// A hash of what identifies one draw: its purpose, the epoch (−1:
// validation), the set and the matrix.
static uint64_t draw_call(uint64_t seed, uint64_t purpose, int epoch, fm_train_set set, int64_t index)
{
    const fm_rng draw = { fm_rng_bits(fm_rng_stream(seed, FM_STREAM_SUBGRAPH), (purpose << 32) | (uint32_t)(epoch + 1)) };
    return fm_rng_bits(draw, ((uint64_t)set << 42) | (uint64_t)index);
}

enum { DRAW_LAYERS = 1, DRAW_SUBGRAPH = 2, DRAW_PRESAMPLES = 3, DRAW_NNDSVD = 4 };

int fm_train_network_graph(fm_network_graph *ng, fm_message_graph *reads, fm_train_sample *sample,
                           const fm_train_sampling *sampling, int layers, uint64_t seed, fm_train_set set,
                           int64_t index, int epoch, char *msg)
{
#define FREE_ALL fm_network_graph_free(ng)
    memset(ng, 0, sizeof *ng);
    *reads = sample->mg;
    if (sampling->sampler == FM_SAMPLER_FULL || sampling->sampler >= FM_SAMPLER_NODE_WISE) return FM_OK;
    const fm_sampler_options options = { .strategy = sampling->sampler, .fanout = sampling->fanout,
                                         .zero_ratio = sampling->zero_ratio, .seed = seed };
    FM_TRY(fm_network_graph_draw(ng, sample->graph, &sample->mg.rows, &sample->mg.columns, 1.0, &options, false,
                                 layers, draw_call(seed, DRAW_LAYERS, epoch, set, index), true, msg));
    // the ADMM and the loss read the whole graph, the layers their draws
    reads->layers = ng->layers;
    reads->layer_count = ng->layer_count;
    return FM_OK;
#undef FREE_ALL
}

int fm_train_sample_subgraph(fm_train_sample *out, const fm_train_sample *whole, const fm_train_sampling *sampling,
                             uint64_t seed, fm_train_set set, int64_t index, int epoch, int rank, char *msg)
{
    fm_subgraph_counts counts = {0};
    fm_subgraph nodes = {0};
    fm_train_sample s = {0};
#define FREE_ALL { fm_subgraph_counts_free(&counts); fm_subgraph_free(&nodes); fm_train_sample_free(&s); }
    const fm_edges *rows = &whole->mg.rows, *columns = &whole->mg.columns;
    const fm_kind kind = whole->graph->stats.kind;
    const fm_subgraph_options o = subgraph_options(sampling, seed, rows->count, rows->targets);
    FM_TRY(fm_subgraph_count(&counts, rows, columns, kind, &o, draw_call(seed, DRAW_PRESAMPLES, -1, set, index),
                             msg));
    const uint64_t round = draw_call(seed, DRAW_SUBGRAPH, epoch, set, index);
    int attempt = 0;
    for (;; attempt++) {
        FM_CHECK(attempt < FM_TRAIN_SUBGRAPH_TRIES, FM_ERR_INVALID,
                 "training: %d %s subgraphs of the %s matrix %lld (%lld x %lld) in a row had fewer than rank %d rows "
                 "or columns, which NNDSVD needs: raise --budget (now %lld)", FM_TRAIN_SUBGRAPH_TRIES,
                 fm_sampler_name(sampling->sampler), fm_train_set_name(set), (long long)index,
                 (long long)rows->targets, (long long)rows->sources, rank, (long long)o.budget);
        FM_TRY(fm_subgraph_draw(&nodes, rows, columns, &o, round + (uint64_t)attempt, msg));
        if (nodes.rows >= rank && nodes.cols >= rank) break;
    }
    const double omega = kind == FM_KIND_INCOMPLETE ? (double)rows->count : (double)rows->targets * rows->sources;
    FM_TRY(fm_subgraph_induce(&s.subgraph, &nodes, rows, kind, &counts, omega, msg));
    const fm_subgraph_matrix *sub = &s.subgraph;
    FM_TRY(fm_graph_from_csr(&s.graph, sub->nodes.rows, sub->nodes.cols, sub->ptr, sub->idx, sub->val, kind, msg));
    FM_TRY(fm_message_graph_open(&s.mg, s.graph, FM_KERNELS_FUSED, msg));
    FM_CHECK(s.mg.rows.count == sub->count, FM_ERR_INVALID,
             "training: the subgraph stores %lld edges, its graph %lld", (long long)sub->count,
             (long long)s.mg.rows.count);
    // GraphSAINT's normalizations: log α as §8's log π, ω as the loss's weights
    FM_ALLOC(s.columns_log_pi, sub->count + 1);
    for (int64_t e = 0; e < sub->count; e++) s.columns_log_pi[s.mg.row_to_column[e]] = sub->log_alpha_cols[e];
    s.mg.rows.log_pi = sub->log_alpha_rows;
    s.mg.columns.log_pi = s.columns_log_pi;
    s.mg.loss_weights = sub->loss_weights;
    s.svd_power = whole->svd_power;
    FM_TRY(fm_train_sample_start(&s, rank, draw_call(seed, DRAW_NNDSVD, epoch, set, index), msg));
    s.mean = whole->mean;
    s.rows = sub->nodes.rows;
    s.cols = sub->nodes.cols;
    fm_train_sample_free(out);
    *out = s;
    memset(&s, 0, sizeof s);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
