// The differentiable AO-ADMM factor update, float and double builds of
// ops/admm_grad.inc.
#include "admm_grad.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "profile.h"
#include "status.h"

// The edges of target t are positions [begin, end) of val (and idx for CSR);
// full storage holds every source, in order.
static inline void admm_grad_edge_range(const fm_edges *edges, int64_t t, int64_t *begin, int64_t *end)
{
    *begin = edges->ptr ? (int64_t)edges->ptr[t] : t * edges->sources;
    *end = edges->ptr ? (int64_t)edges->ptr[t + 1] : (t + 1) * edges->sources;
}

static inline int64_t admm_grad_edge_source(const fm_edges *edges, int64_t e, int64_t begin)
{
    return edges->ptr ? (int64_t)edges->idx[e] : e - begin;
}

#define FM_BODY "admm_grad.inc"
#include "instantiate.h"
