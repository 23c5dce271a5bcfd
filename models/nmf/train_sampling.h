// Sampled message passing in training (docs/factormer-math.md §8 [ext]): one
// training matrix prepared for the model, and what the network reads of it.
//
// Node-wise samplers (uniform, weighted, stratified): each visit of a matrix
// draws one sample per layer (engine/sampler, with the backward's by-source
// orientation), shared by the chain's network calls; the ADMM iterations and
// the loss read every edge. Call c of the draw (rounds c·L + l) is a hash of
// (seed, epoch, set, index): a matrix gets a fresh sample every epoch, and a
// validation matrix the same one every epoch, so validations compare.
//
// Subgraph samplers (edge, random-walk; engine/subgraph): each visit trains
// on the subgraph X[R, C] of a draw of round hash(seed, epoch, index) as a
// matrix of its own (its NNDSVD start, its ADMM, its network), the softmax
// corrected by GraphSAINT's aggregator normalization (log α as the log π of
// §8) and the loss by its loss normalization (ω; ops/loss_grad.h), from
// `presamples` draws of rounds fixed per matrix. A draw with fewer than rank
// rows or columns (NNDSVD needs rank ≤ both) is drawn again, the next round,
// up to FM_TRAIN_SUBGRAPH_TRIES times; then the step fails and says to raise
// the budget. Validation reads whole matrices, as GraphSAINT's does.
#ifndef FM_TRAIN_SAMPLING_H
#define FM_TRAIN_SAMPLING_H

#include <stdint.h>

#include "attention.h"
#include "network_graph.h"
#include "subgraph.h"
#include "train_data.h"

#define FM_TRAIN_SUBGRAPH_TRIES 8

typedef struct fm_train_sampling {
    fm_sampler sampler;        // FM_SAMPLER_FULL: every edge (§7)
    int64_t fanout;            // node-wise: in-edges per target
    double zero_ratio;         // stratified: unstored zeros per target = ratio × fanout
    int64_t budget;            // edge: edges drawn; random-walk: walks; 0: the matrix's edges (edge) or rows (walks)
    int walk_length;           // random-walk
    int64_t presamples;        // subgraph normalization draws
} fm_train_sampling;

// Every edge; fanout 32, zero ratio 1, budget 0, walk length
// FM_SUBGRAPH_WALK_LENGTH, FM_SUBGRAPH_PRESAMPLES.
void fm_train_sampling_default(fm_train_sampling *sampling);
// FM_OK if the sampling fits data of `data`'s kind (NULL: dense).
int fm_train_sampling_check(const fm_train_sampling *sampling, const fm_train_data *data, char *msg);

// One matrix prepared for the model.
typedef struct fm_train_sample {
    fm_graph *graph;          // X / mean (a subgraph: X[R, C] / the whole matrix's mean)
    fm_message_graph mg;      // opened for the fused kernels
    float *w_start, *ht_start;   // NNDSVD of the scaled X: rows × rank, cols × rank
    double mean;              // the mean of X over Ω before scaling
    int64_t rows, cols;
    int svd_power;            // the start's power iterations (fm_train_options.svd_power)
    // a subgraph: its nodes and normalization (mg's log π and loss weights
    // point into these)
    fm_subgraph_matrix subgraph;
    float *columns_log_pi;    // log α of the H-direction, in the positions of mg.columns
} fm_train_sample;

// The subgraph a subgraph sampler draws from `whole` for a visit in `epoch`
// (see above); *out is overwritten.
int fm_train_sample_subgraph(fm_train_sample *out, const fm_train_sample *whole, const fm_train_sampling *sampling,
                             uint64_t seed, fm_train_set set, int64_t index, int epoch, int rank, char *msg);

// What the network reads of `sample` in `epoch` (validation: epoch −1) with a
// node-wise sampler: *reads is the sample's graph with per-layer draws
// (owned by *ng) for a network of `layers` layers. With FM_SAMPLER_FULL or a
// subgraph sampler, *reads is the sample's graph itself and *ng stays empty.
int fm_train_network_graph(fm_network_graph *ng, fm_message_graph *reads, fm_train_sample *sample,
                           const fm_train_sampling *sampling, int layers, uint64_t seed, fm_train_set set,
                           int64_t index, int epoch, char *msg);

#endif
