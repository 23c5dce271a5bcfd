// Samples of X's graph for the learned networks: see network_graph.h.
#include "network_graph.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"

void fm_network_graph_free(fm_network_graph *ng)
{
    if (!ng) return;
    fm_message_graph_close(&ng->graph, NULL);
    for (int l = 0; l < ng->layer_count; l++) fm_message_graph_close(&ng->layers[l], NULL);
    free(ng->layers);
    memset(ng, 0, sizeof *ng);
}

int fm_network_graph_draw(fm_network_graph *ng, fm_graph *g, const fm_edges *rows, const fm_edges *columns,
                          double mean, const fm_sampler_options *options, bool once, int layers, uint64_t call,
                          bool backward, char *msg)
{
#define FREE_ALL fm_network_graph_free(ng)
    fm_network_graph_free(ng);
    FM_CHECK(options && layers >= 1, FM_ERR_INVALID, "fm_network_graph_draw: sampler options and at least one "
             "layer are needed");
    if (once) {
        FM_TRY(fm_message_graph_sample(&ng->graph, g, rows, columns, mean, options, call, 3, backward, msg));
        ng->edges = ng->graph.rows.count + ng->graph.columns.count;
        return FM_OK;
    }
    FM_ALLOC(ng->layers, layers);
    ng->layer_count = layers;
    for (int l = 0; l < layers; l++) {
        // layer l of the L-Factormer (models/nmf/lfactormer.h): even layers update the columns
        const fm_direction direction = l % 2 == 0 ? FM_TO_COLUMNS : FM_TO_ROWS;
        fm_message_graph *layer = &ng->layers[l];
        FM_TRY(fm_message_graph_sample(layer, g, rows, columns, mean, options, call * (uint64_t)layers + (uint64_t)l,
                                       1u << direction, backward, msg));
        ng->edges += direction == FM_TO_ROWS ? layer->rows.count : layer->columns.count;
    }
    // the parent the network is given: only its graph and its layers are read
    ng->graph.kernels = FM_KERNELS_FUSED;
    ng->graph.graph = g;
    ng->graph.forward_only = !backward;
    ng->graph.layers = ng->layers;
    ng->graph.layer_count = layers;
    return FM_OK;
#undef FREE_ALL
}

int fm_network_graph_pack(fm_network_graph *ng, char *msg)
{
#define FREE_ALL fm_network_graph_free(ng)
    FM_CHECK(ng && (ng->layers || ng->graph.sampled_directions), FM_ERR_INVALID,
             "fm_network_graph_pack: no drawn sample to pack");
    if (!ng->layers) FM_TRY(fm_message_graph_pack(&ng->graph, msg));
    for (int l = 0; l < ng->layer_count; l++) FM_TRY(fm_message_graph_pack(&ng->layers[l], msg));
    ng->graph.kernels = FM_KERNELS_GRAPHBLAS;
    return FM_OK;
#undef FREE_ALL
}
