// One factor update of AO-ADMM (§3): `inner` ADMM steps for the nonnegative
// least-squares problem of the targets' factor with the sources' fixed.
//
// Targets are stored as rows: the H-update updates Hᵀ (cols × k) from W over
// the edges of Aᵀ; the W-update updates W (rows × k) from Hᵀ over the edges of
// A. By the symmetry of §1 one routine serves both.
#ifndef FM_ADMM_H
#define FM_ADMM_H

#include <stdbool.h>

#include "graph.h"

typedef struct fm_admm_factor {
    fm_dense *targets;     // the factor being updated, targets × k
    fm_dense *duals;       // U, the scaled dual, carried across outer iterations
} fm_admm_factor;

// Dense and sparse kinds: every target shares G = SᵀS. `gram` is SᵀS (k×k,
// double, without the penalty). On return `rhs` holds F = the products of the
// edges with the sources (targets × k), which the loss reuses.
int fm_admm_update_shared(fm_admm_factor factor, fm_dense *rhs, const fm_edges *edges,
                          const fm_dense *sources, const double *gram, fm_penalty penalty,
                          int inner, char *msg);

// The same steps with F given in `rhs` (a product formed elsewhere: the
// fused W-update of ops/admm_full.c pushes the next H-update's Xᵀ·W).
int fm_admm_steps_shared(fm_admm_factor factor, const fm_dense *rhs, const fm_edges *edges, const double *gram,
                         fm_penalty penalty, int inner, char *msg);

// The steps of `count` consecutive targets at once (rows of t, u, f: count
// × k), given the shared inverse: B = F + ρ(T + U), T̃ = B·(G + ρI)⁻¹ as one
// small SGEMM (the inverse is symmetric), then the projection, elementwise.
// One GEMM per block instead of a k×k matvec per target, which vectorizes
// poorly at k = 10-20. `b` and `tt` hold count × k floats each.
#define FM_ADMM_BLOCK 256
void fm_admm_steps_block(float *restrict t, float *restrict u, const float *restrict f, const float *restrict inverse,
                         float rho, float shrink, int inner, int k, int64_t count, float *restrict b,
                         float *restrict tt);

// (G + λ2·c·I + ρI)⁻¹ of the shared update into `inverse` (k×k; c = |Ω_i| =
// `sources` with the per-entry ridge, else 1), ρ and the L1 shrink λ1/ρ.
int fm_admm_shared_system(float *inverse, float *rho, float *shrink, const double *gram, fm_penalty penalty,
                          int64_t sources, int k, char *msg);

// Dense kind (ops/admm_full.c): the W-update of the shared routine fused
// with the products around it, in one pass over X by rows: F = X·Hᵀ into
// `rhs`, the steps, and `pushed` = Xᵀ·W of the updated W (sources × k), the
// next H-update's right-hand side (fm_admm_steps_shared); with `residual`
// non-NULL also Σ (x − w·h)² of the updated W. fm_admm_full_fits says
// whether it serves `rows` at rank k (full storage, and the per-part copies
// of Xᵀ·W within budget); the workspace holds those copies for a run.
typedef struct fm_admm_full fm_admm_full;
bool fm_admm_full_fits(const fm_edges *rows, int k);
int fm_admm_full_new(fm_admm_full **out, const fm_edges *rows, int k, char *msg);
void fm_admm_full_free(fm_admm_full **work);
// From now on the workspace's updates are the exact block updates of
// ops/hals.h (`sweeps` sweeps per target; the duals are not read) instead of
// ADMM steps; 0 goes back to ADMM.
void fm_admm_full_exact(fm_admm_full *work, int sweeps);
int fm_admm_update_full(fm_admm_full *work, fm_admm_factor factor, fm_dense *rhs, fm_dense *pushed,
                        double *residual, const fm_edges *rows, const fm_dense *sources, const double *gram,
                        fm_penalty penalty, int inner, char *msg);

// Incomplete kind: each target j has its own G_j = Σ_{i∈Ω_j} s_i s_iᵀ and
// ρ_j = trace(G_j)/k, factored once per update and solved in place.
int fm_admm_update_masked(fm_admm_factor factor, const fm_edges *edges, const fm_dense *sources,
                          fm_penalty penalty, int inner, char *msg);

// ρ = trace(G)/k, or 1 for a zero Gram (a zero factor): never divide by zero.
double fm_admm_rho(const double *G, int k);

// Cholesky of a small SPD matrix in place (lower triangle, row-major), and
// the solve with it. Returns nonzero if the matrix is not positive definite.
int fm_chol_small(double *L, int k);
void fm_chol_solve_small(const double *L, int k, double *x);

// `inner` ADMM steps of one target with a Gram of its own: G in L (double
// k×k, no ridge or ρ yet; overwritten by the factor of G + ridge·I + ρI), F
// in f; the ridge counts `ridge_weight` entries when it is per entry. Each
// step solves, then projects onto t ≥ 0 with the l1 shrink and moves the
// dual. The incomplete kind's update (ops/admm.c) and the speckled holdout's
// (ops/admm_mask.c). Nonzero when the system is not positive definite.
static inline int fm_admm_target_steps(float *restrict t, float *restrict u, const double *restrict f,
                                       double *restrict L, int64_t ridge_weight, fm_penalty penalty, int inner,
                                       int k)
{
    double b[k];
    const double ridge = penalty.l2 * (penalty.l2_per_entry ? (double)ridge_weight : 1.0);
    for (int a = 0; a < k; a++) L[a * k + a] += ridge;
    const double rho = fm_admm_rho(L, k);
    for (int a = 0; a < k; a++) L[a * k + a] += rho;
    if (fm_chol_small(L, k)) return 1;
    const float shrink = (float)(penalty.l1 / rho);
    for (int step = 0; step < inner; step++) {
        for (int r = 0; r < k; r++) b[r] = f[r] + rho * ((double)t[r] + u[r]);
        fm_chol_solve_small(L, k, b);
        for (int r = 0; r < k; r++) {
            const float tt = (float)b[r], v = tt - u[r] - shrink, next = v > 0 ? v : 0;
            u[r] += next - tt;
            t[r] = next;
        }
    }
    return 0;
}

#endif
