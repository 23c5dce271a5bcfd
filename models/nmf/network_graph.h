// The graph a learned network reads during a solver run (docs/factormer-math.md
// §8): the view of X / mean (every edge), or a fresh sample of it for each
// call of a network, one per layer (a layer of the H-direction draws the
// columns' in-edges, one of the W-direction the rows') or one for all
// layers (--resample once). Call c of a run draws rounds c·L + l (per
// layer) or c (once) of the run's seed, so a run is reproducible and the
// same for any thread count.
#ifndef FM_NETWORK_GRAPH_H
#define FM_NETWORK_GRAPH_H

#include <stdbool.h>

#include "attention.h"

typedef struct fm_network_graph {
    fm_message_graph graph;       // a sample, or the parent of the per-layer samples
    fm_message_graph *layers;     // per layer, layer_count of them
    int layer_count;
    int64_t edges;                // sampled edges over every layer of the last draw
    fm_message_graph reads;       // per layer on the fused path: the caller's view with the layers attached
                                  // (borrowed, never closed), what the network reads
} fm_network_graph;

// Draws call `call`'s sample for a network of `layers` layers from the
// borrowed edges of g (`rows`, `columns`: the solver's), values divided by
// `mean`; what an earlier draw left is freed first. FM_SAMPLER_FULL draws a
// copy of every edge (π = 1), which the GraphBLAS path packs (the fused path
// reads the solver's view instead). With
// `backward` the samples carry what the network's backward reads (training).
int fm_network_graph_draw(fm_network_graph *ng, fm_graph *g, const fm_edges *rows, const fm_edges *columns,
                          double mean, const fm_sampler_options *options, bool once, int layers, uint64_t call,
                          bool backward, char *msg);
// The drawn samples packed for the GraphBLAS path (fm_message_graph_pack):
// the network then runs its attention as GraphBLAS semirings over them. On
// failure ng is freed (fm_network_graph_free): draw again.
int fm_network_graph_pack(fm_network_graph *ng, char *msg);
void fm_network_graph_free(fm_network_graph *ng);

#endif
