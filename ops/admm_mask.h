// The AO-ADMM factor update (§3) with a speckled mask: some entries of X,
// zeros and stored values alike, are unknown to the fit (held out). Target
// t's least-squares problem then reads only its known sources:
//
//   G_t = Σ_{s known} s sᵀ = SᵀS − Σ_{s held} s sᵀ,   F_t = Σ_{s known} x_ts s
//
// the complement of a sparse mask: the shared Gram minus a small correction
// per target. The held entries must hold no value in the edges (the split,
// models/nmf/holdout.c, leaves them out of the graph), so F = X·S over the
// stored edges is already F_t. Each target then has its own G_t and
// ρ_t = trace(G_t)/k, like the incomplete kind (ops/admm.c).
#ifndef FM_ADMM_MASK_H
#define FM_ADMM_MASK_H

#include "admm.h"

// The held-out sources of every target: row t lists the sources s of the
// unknown entries x_ts (sorted, no repeats), in CSR form.
typedef struct fm_held_edges {
    int64_t targets, sources, count;
    int64_t *ptr;   // targets + 1
    int64_t *idx;   // count
} fm_held_edges;

// One masked factor update: F = X·S over `edges` into `rhs` (targets × k),
// then for each target G_t from `gram` = SᵀS (double k×k) less the held
// sources' (or, when fewer, summed over the known sources alone), and
// `inner` ADMM steps on it. The ridge weight of l2_per_entry is every
// source, as the objective's for the dense and sparse kinds
// (models/nmf/objective.c). The same result for any thread count.
int fm_admm_update_speckled(fm_admm_factor factor, fm_dense *rhs, const fm_edges *edges, const fm_held_edges *held,
                            const fm_dense *sources, const double *gram, fm_penalty penalty, int inner, char *msg);

// The slow reference: G_t summed over the known sources and F_t over the
// known stored entries, both in double, one target after the other.
int fm_admm_update_speckled_reference(fm_admm_factor factor, const fm_edges *edges, const fm_held_edges *held,
                                      const fm_dense *sources, fm_penalty penalty, int inner, char *msg);

#endif
