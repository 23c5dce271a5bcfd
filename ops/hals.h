// Exact block updates of NMF's factors (§3.1): coordinate descent on the
// same nonnegative least-squares subproblem the ADMM update of ops/admm.h
// solves, from the same products F (targets × k) and Gram G (k × k).
//
// For one target t with data (Ĝ = G + λ2·c·I, f), each coordinate r in turn
// is set to the exact minimizer of the subproblem along it,
//
//   t_r = max(0, t_r + (f_r − λ1 − (Ĝ t)_r) / Ĝ_rr),
//
// so no step ever raises the objective. One sweep over r at every target is
// one HALS update (Cichocki & Phan 2009) of the whole factor, the update
// scikit-learn's "cd" solver makes; `sweeps` sweeps in a row approach the
// exact NNLS solution. A coordinate whose Ĝ_rr is 0 (a zero source column,
// no ridge) does not enter the fit and is set to 0.
//
// The targets are independent of each other, so the result does not depend
// on the thread count. Sums run in double.
#ifndef FM_HALS_H
#define FM_HALS_H

#include "graph.h"

// Ĝ of the shared update into `system` (k×k, double): G plus the ridge
// λ2·c on the diagonal, c = `sources` with the per-entry ridge, else 1.
void fm_hals_system(double *system, const double *gram, fm_penalty penalty, int64_t sources, int k);

// `sweeps` sweeps of `count` consecutive targets (rows of t and f, count ×
// k) given Ĝ (fm_hals_system) and λ1.
void fm_hals_block(float *restrict t, const float *restrict f, const double *restrict system, double l1, int sweeps,
                   int k, int64_t count);

// The sweeps of one target with a Ĝ of its own (the ridge added), given f:
// the incomplete kind's update, here and over processes (models/nmf/distributed.c).
// q = f − Ĝx is kept up to date: a coordinate's change δ moves it by
// −δ·Ĝ[:, r] (Ĝ symmetric: its row r).
static inline void fm_hals_target(float *restrict t, const float *restrict f, const double *restrict G, double l1,
                               int sweeps, int k)
{
    double x[k], q[k];
    for (int r = 0; r < k; r++) x[r] = t[r];
    for (int r = 0; r < k; r++) {
        double v = f[r];
        for (int s = 0; s < k; s++) v -= G[r * k + s] * x[s];
        q[r] = v;
    }
    for (int sweep = 0; sweep < sweeps; sweep++)
        for (int r = 0; r < k; r++) {
            const double d = G[r * k + r];
            double next = d > 0 ? x[r] + (q[r] - l1) / d : 0;
            if (!(next > 0)) next = 0;
            const double delta = next - x[r];
            if (delta == 0) continue;
            x[r] = next;
            for (int s = 0; s < k; s++) q[s] -= delta * G[r * k + s];
        }
    for (int r = 0; r < k; r++) t[r] = (float)x[r];
}

// Dense and sparse kinds: every target shares G = SᵀS (k×k, double, without
// the penalty); `rhs` holds F. With `edges` given, F is first formed as the
// products of the edges with `sources` (as fm_admm_update_shared does),
// else `rhs` is read as it is.
int fm_hals_update_shared(fm_dense *targets, fm_dense *rhs, const fm_edges *edges, const fm_dense *sources,
                          const double *gram, fm_penalty penalty, int64_t source_count, int sweeps, char *msg);

// Incomplete kind: each target j has its own G_j = Σ_{i∈Ω_j} s_i s_iᵀ and
// f_j (one pass over its edges, fm_gather_gram_target), then the sweeps.
int fm_hals_update_masked(fm_dense *targets, const fm_edges *edges, const fm_dense *sources, fm_penalty penalty,
                          int sweeps, char *msg);

#endif
