// The solver's learned networks: see solver_networks.h.
#include "solver_networks.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "status.h"

int fm_solver_keep_path(char **out, const char *path, char *msg)
{
#define FREE_ALL
    FM_ALLOC(*out, strlen(path) + 1);
    memcpy(*out, path, strlen(path) + 1);
    return FM_OK;
#undef FREE_ALL
}

int fm_solver_check_network(const fm_learned *network, fm_model_kind kind, int rank, char *msg)
{
    if (!network->params || network->kind != kind)
        return fm_fail(FM_ERR_INVALID, msg, "the loaded network is not a learned %s model", fm_model_kind_name(kind));
    if (network->weights.config.rank != rank)
        return fm_fail(FM_ERR_INVALID, msg, "the loaded %s model %s is of rank %d, the run asks for rank %d",
                       fm_model_kind_name(kind), network->path, network->weights.config.rank, rank);
    return FM_OK;
}

int fm_solver_open_network(fm_learned **network, fm_learned *owned, const char *path, fm_model_kind kind,
                           const fm_solver_options *o, char **kept, char *msg)
{
#define FREE_ALL
    if (!*network) {
        FM_TRY(fm_learned_load(owned, path, kind, o->rank, msg));
        *network = owned;
    }
    FM_TRY(fm_solver_check_network(*network, kind, o->rank, msg));
    (*network)->batch_targets = o->kernels == FM_KERNELS_GRAPHBLAS ? 0 : o->batch_targets;
    FM_TRY(fm_solver_keep_path(kept, (*network)->path, msg));
    return FM_OK;
#undef FREE_ALL
}

int fm_pooled_trained_rank(fm_model_kind kind, const fm_lfactormer_config *config)
{
    if (config->trained_rank > 0) return config->trained_rank;
    return kind == FM_MODEL_ACCEL ? FM_POOLED_ACCEL_RANK : FM_POOLED_INIT_RANK;
}

int64_t fm_pooled_fanout(int rank, int trained)
{
    if (rank <= trained) return FM_POOLED_FANOUT;
    const double scale = (double)rank / trained;
    return (int64_t)ceil(FM_POOLED_FANOUT * scale * scale);
}

fm_solver_options fm_solver_network_sampling(const fm_solver_options *o, fm_model_kind kind,
                                             const fm_lfactormer_config *config)
{
    fm_solver_options s = *o;
    if (config->pooled && !o->sampler_given && o->sampler == FM_SAMPLER_FULL) {
        s.sampler = FM_SAMPLER_UNIFORM;
        if (!o->fanout_given) s.fanout = fm_pooled_fanout(o->rank, fm_pooled_trained_rank(kind, config));
    }
    return s;
}

// Per-layer draws leave a direction to the view when no layer draws it and
// the gathered term (§5.1) reads it: a gathered network of one layer.
static bool leaves_a_direction(const fm_lfactormer_config *config)
{
    return config->gathered && config->layers < 2;
}

bool fm_solver_network_reads_view(const fm_learned *network, const fm_solver_options *caller)
{
    const fm_solver_options net = fm_solver_network_sampling(caller, network->kind, &network->weights.config);
    if (caller->kernels == FM_KERNELS_GRAPHBLAS) return false;
    if (net.sampler == FM_SAMPLER_FULL) return true;
    return !net.resample_once && leaves_a_direction(&network->weights.config);
}

int fm_solver_network_graph(const fm_message_graph **reads, fm_network_graph *sample, const fm_message_graph *view,
                            const fm_learned *network, fm_graph *g, const fm_edges *rows, const fm_edges *cols,
                            double mean, const fm_solver_options *caller, uint64_t call, char *msg)
{
    const fm_solver_options net = fm_solver_network_sampling(caller, network->kind, &network->weights.config);
    const fm_solver_options *o = &net;
    *reads = view;
    const bool graphblas = o->kernels == FM_KERNELS_GRAPHBLAS;
    if (o->sampler == FM_SAMPLER_FULL && !graphblas) return FM_OK;
    const fm_sampler_options options = { .strategy = o->sampler, .fanout = o->fanout, .zero_ratio = o->zero_ratio,
                                         .seed = o->seed };
    const bool once = o->resample_once || o->sampler == FM_SAMPLER_FULL;
    int status = fm_network_graph_draw(sample, g, rows, cols, mean, &options, once, network->weights.config.layers,
                                       call, false, msg);
    if (status == FM_OK && graphblas) status = fm_network_graph_pack(sample, msg);
    if (status == FM_OK) *reads = &sample->graph;
    // (past the full sampler's return: the per-layer draws that leave a direction)
    if (status == FM_OK && fm_solver_network_reads_view(network, caller)) {
        // as in training (fm_train_network_graph): the layers read their draws, the gathered term of the
        // direction no layer draws every edge of the view
        if (!view || !view->graph)
            return fm_fail(FM_ERR_INVALID, msg, "a gathered network of one layer reads the view of X / mean, and "
                           "the run made none (fm_solver_network_reads_view)");
        sample->reads = *view;
        sample->reads.layers = sample->layers;
        sample->reads.layer_count = sample->layer_count;
        *reads = &sample->reads;
    }
    return status;
}
