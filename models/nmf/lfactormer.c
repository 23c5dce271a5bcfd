// The L-Factormer (§5): its parameter layout, and the float and double builds
// of models/nmf/lfactormer.inc.
#include "lfactormer.h"

#include <omp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "linear.h"
#include "relu.h"
#include "status.h"

int fm_lfactormer_channels(const fm_lfactormer_config *config)
{
    if (!config->components) return config->inputs;
    return config->rank > 0 ? config->inputs / config->rank : config->inputs;
}

fm_lfactormer_config fm_lfactormer_at_rank(const fm_lfactormer_config *config, int rank)
{
    fm_lfactormer_config at = *config;
    at.inputs = fm_lfactormer_channels(config) * rank;
    at.rank = rank;
    return at;
}

int fm_lfactormer_features(const fm_lfactormer_config *config)
{
    // own, mean, cross and, with `gathered`, the gathered term (§5.1)
    return (config->gathered ? 4 : 3) * fm_lfactormer_channels(config);
}

fm_lfactormer_config fm_lfactormer_inner(const fm_lfactormer_config *config)
{
    if (!config->components) return *config;
    fm_lfactormer_config inner = *config;
    // the pooled set's network reads the pooled embedding and hands each node's context to the decoder (§5.2)
    inner.inputs = config->pooled ? config->width : fm_lfactormer_features(config);
    inner.rank = config->pooled ? config->width : 1;
    inner.components = false;
    inner.gathered = false;
    inner.pooled = false;
    inner.residual = false;
    inner.trained_rank = 0;
    return inner;
}

int fm_lfactormer_tensors(const fm_lfactormer_config *config)
{
    return FM_LFACTORMER_TENSORS(config->layers) + (config->pooled ? FM_LFACTORMER_POOLED_TENSORS : 0);
}

int fm_lfactormer_check(const fm_lfactormer_config *config, char *msg)
{
    if (!config) return fm_fail(FM_ERR_INVALID, msg, "L-Factormer: no configuration");
    const fm_lfactormer_config *c = config;
    // a component-set template has rank 0 (any rank)
    if (c->inputs < 1 || c->rank < (c->components ? 0 : 1) || c->width < 1 || c->heads < 1)
        return fm_fail(FM_ERR_INVALID, msg,
                       "L-Factormer: input width %d, rank %d, width %d and heads %d must all be at least 1",
                       c->inputs, c->rank, c->width, c->heads);
    if (c->components && c->rank > 0 && c->inputs % c->rank)
        return fm_fail(FM_ERR_INVALID, msg,
                       "L-Factormer: a component-set model of rank %d reads a multiple of %d inputs, not %d", c->rank,
                       c->rank, c->inputs);
    if ((c->gathered || c->pooled) && !c->components)
        return fm_fail(FM_ERR_INVALID, msg, "L-Factormer: the %s belongs to a component-set model",
                       c->gathered ? "gathered term" : "pooled network");
    if (c->trained_rank < 0 || c->trained_rank > FM_MAX_RANK || (c->trained_rank && !c->components))
        return fm_fail(FM_ERR_INVALID, msg,
                       "L-Factormer: trained to rank %d; expected 0 (not recorded) or, for a component-set model, 1 "
                       "to %d",
                       c->trained_rank, FM_MAX_RANK);
    if (c->residual && !c->pooled)
        return fm_fail(FM_ERR_INVALID, msg, "L-Factormer: the residual decoder belongs to a pooled model");
    if (c->width % c->heads)
        return fm_fail(FM_ERR_INVALID, msg, "L-Factormer: %d heads do not divide the width %d", c->heads,
                       c->width);
    if (c->layers < 0 || c->layers > FM_LFACTORMER_MAX_LAYERS)
        return fm_fail(FM_ERR_INVALID, msg, "L-Factormer: %d layers; expected 0 to %d", c->layers,
                       FM_LFACTORMER_MAX_LAYERS);
    return FM_OK;
}

// Order matters: fm_lfactormer_bind reads the tensors in this order.
int fm_lfactormer_specs(fm_tensor_spec *specs, char (*names)[FM_LFACTORMER_NAME],
                        const fm_lfactormer_config *config, char *msg)
{
    const int status = fm_lfactormer_check(config, msg);
    if (status) return status;
    if (!specs || !names) return fm_fail(FM_ERR_INVALID, msg, "fm_lfactormer_specs: no specs or names");
    const fm_lfactormer_config inner = fm_lfactormer_inner(config);   // the network whose tensors these are
    const int d = inner.width, k_in = inner.inputs, k = inner.rank, last = 4 + FM_LAYER_TENSORS * inner.layers;
    const fm_tensor_spec ends[8] = {
        {"embed_w.weight", d, k_in}, {"embed_w.bias", d, 1}, {"embed_h.weight", d, k_in}, {"embed_h.bias", d, 1},
        {"out_w.weight", k, d},      {"out_w.bias", k, 1},   {"out_h.weight", k, d},      {"out_h.bias", k, 1},
    };
    for (int e = 0; e < 8; e++) {
        const int at = e < 4 ? e : last + e - 4;
        snprintf(names[at], FM_LFACTORMER_NAME, "%s", ends[e].name);
        specs[at] = (fm_tensor_spec){names[at], ends[e].rows, ends[e].cols};
    }
    for (int l = 0; l < config->layers; l++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "layer%d.", l + 1);
        const int at = 4 + FM_LAYER_TENSORS * l;
        fm_layer_specs(specs + at, names + at, prefix, d);
    }
    if (!config->pooled) return FM_OK;
    const int nf = fm_lfactormer_features(config);
    // the order of the weights' pooled[side] fields
    const fm_tensor_spec side[7] = {
        {"weight", d, nf}, {"bias", d, 1}, {"features", d, nf}, {"context", d, d},
        {"bias", d, 1},    {"out", 1, d},  {"out_bias", 1, 1},
    };
    for (int e = 0; e < FM_LFACTORMER_POOLED_TENSORS; e++) {
        const int at = last + 4 + e;
        snprintf(names[at], FM_LFACTORMER_NAME, "%s_%c.%s", e % 7 < 2 ? "pool" : "decode", e < 7 ? 'w' : 'h',
                 side[e % 7].name);
        specs[at] = (fm_tensor_spec){names[at], side[e % 7].rows, side[e % 7].cols};
    }
    return FM_OK;
}

int fm_lfactormer_params_new(fm_params **out, const fm_lfactormer_config *config, char *msg)
{
    fm_tensor_spec *specs = NULL;
    char (*names)[FM_LFACTORMER_NAME] = NULL;
#define FREE_ALL { free(specs); free(names); }
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_lfactormer_params_new: output handle must be non-NULL and empty");
    FM_TRY(fm_lfactormer_check(config, msg));
    const int tensors = fm_lfactormer_tensors(config);
    FM_ALLOC(specs, tensors);
    FM_ALLOC(names, tensors);
    FM_TRY(fm_lfactormer_specs(specs, names, config, msg));
    FM_TRY(fm_params_new(out, specs, tensors, msg));   // copies specs and names
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

bool fm_lfactormer_same(const fm_lfactormer_config *a, const fm_lfactormer_config *b)
{
    return a->inputs == b->inputs && a->rank == b->rank && a->width == b->width && a->heads == b->heads &&
           a->layers == b->layers && a->components == b->components && a->gathered == b->gathered &&
           a->pooled == b->pooled && a->residual == b->residual;
}

#define FM_BODY "lfactormer.inc"
#include "instantiate.h"
