// The generalized Kullback-Leibler divergence of X from W·H and the
// multiplicative updates that decrease it (Lee & Seung 2001), over the
// stored entries of X only (issue 18, "A second loss"):
//
//   D(X‖WH) = Σ_ij [x_ij log(x_ij / p_ij) − x_ij + p_ij],  p_ij = w_i·h_j.
//
// For the sparse kind an unstored entry is a zero: its log term vanishes
// and its p_ij enters only Σ_ij p_ij = Σ_r (Σ_i W_ir)(Σ_j H_rj), so no
// m × n array forms. The dense kind stores every entry (zeros included,
// whose log term is 0 · log p = 0). For the incomplete kind the sum runs
// over the observed entries Ω only, Σ_Ω p_ij included (weighted KL: the
// updates' denominators are then sums over each target's edges).
//
// As for the ADMM updates (ops/admm.h), one routine serves both factors:
// the targets' factor T (targets × k) is updated against the sources'
// factor S (sources × k) over the edges of the targets. The H-update
// passes Hᵀ, W and the edges of Aᵀ; the W-update W, Hᵀ and those of A.
//
// Every fast kernel has a slow double-precision reference beside it
// (suffix _reference), the obviously-correct loops the tests compare with.
// A target's sums run in a fixed order on one thread, so the results do not
// depend on the thread count at all.
#ifndef FM_KL_H
#define FM_KL_H

#include <stdint.h>
#include <string.h>

#include "graph.h"

// log x in float for positive normal float x, in a loop that vectorizes
// (the divergence takes one per stored entry and iteration): x = m·2^e with
// m in [√½, √2), log x = e·ln 2 + 2·atanh(s), s = (m − 1)/(m + 1),
// |s| <= 0.172, by 2s·Σ s^(2n)/(2n + 1) to n = 4 (the next term is below
// 2^-28 of the sum); ln 2 in two parts so that e·ln 2 stays exact. The
// reference is libm's log; tests/test_kl.c compares them. Zero, subnormal,
// negative, infinite and NaN inputs are outside its domain (the kernels
// floor the predictions first).
static inline float fm_kl_log(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    const int32_t e = (int32_t)(bits - 0x3f3504f3u) >> 23;   // the bits of √½
    const uint32_t scaled = bits - ((uint32_t)e << 23);
    float m;
    memcpy(&m, &scaled, sizeof m);
    const float s = (m - 1) / (m + 1), s2 = s * s;
    float series = 1.0f / 9;
    series = series * s2 + 1.0f / 7;
    series = series * s2 + 1.0f / 5;
    series = series * s2 + 1.0f / 3;
    const float ln2_hi = 0x1.62e400p-1f, ln2_lo = 0x1.7f7d1cp-20f;
    const float k = (float)e, log_m = 2 * s + 2 * s * s2 * series;
    return k * ln2_hi + (k * ln2_lo + log_m);
}

// What one multiplicative update of the targets reads besides the factors.
typedef struct fm_kl_step {
    // Σ_s S[s], per rank (k): the update's denominator for the dense and
    // sparse kinds. NULL for the incomplete kind, whose divergence runs over
    // Ω only: each target's denominator is then Σ_{s ∈ N(t)} S[s].
    const double *totals;
    double l1, l2;         // penalties λ1 Σ T and λ2/2 ‖T‖² on the targets' factor
    // λ2 weighs each target by its edges (the incomplete kind's per-entry
    // ridge, fm_penalty.l2_per_entry); the caller scales λ2 by the sources
    // for the other kinds
    bool l2_per_edge;
    // The smallest prediction a ratio x / p or a logarithm reads: p below it
    // counts as `floor` (scikit-learn floors at float's epsilon; the solver
    // takes float's epsilon times the mean stored entry, which scales with
    // the data). Must be a positive normal float.
    float floor;
    // An updated entry below `tiny` becomes 0 (the solver: FLT_MIN). The
    // updates shrink an entry that the fit does not use geometrically; as a
    // subnormal float it would slow every product with it (the kernels also
    // flush subnormal products, ops/kl.c).
    float tiny;
} fm_kl_step;

// One target's sums over its edges, in double, p = t·S[s] a float dot:
typedef struct fm_kl_edge_sums {
    double log;            // Σ x_ts log max(p, floor): the divergence's log term
    double cross;          // Σ x_ts p: ⟨X, WH⟩ at the stored entries, for the RMSE
    double prediction;     // Σ p: the incomplete kind's Σ_Ω (WH) (0 for the others)
    double square;         // Σ p²: the incomplete kind's RMSE (0 for the others)
} fm_kl_edge_sums;

// One multiplicative update of every target t, in place (majorization-
// minimization: it never raises D plus the penalties):
//   num_r = Σ_{s ∈ N(t)} S[s]_r · x_ts / max(t·S[s], floor)
//   d_r   = totals_r (or Σ_{s ∈ N(t)} S[s]_r) + λ1,  a_r = t_r · num_r
//   t_r  ← 2 a_r / (d_r + sqrt(d_r² + 4 λ2 a_r))
// the minimizer of the Lee-Seung auxiliary function plus the penalties
// (with λ2 = 0 the classic t_r · num_r / d_r; a_r = 0 gives 0; a result
// below `tiny` gives 0). When
// `sums` is not NULL, sums[t] (targets of them) as above, with the updated t
// (Σ p and Σ p² when `totals` is NULL: the incomplete kind).
void fm_kl_update(fm_dense *T, const fm_edges *edges, const fm_dense *S, const fm_kl_step *step,
                  fm_kl_edge_sums *sums);
void fm_kl_update_reference(fm_dense *T, const fm_edges *edges, const fm_dense *S, const fm_kl_step *step,
                            fm_kl_edge_sums *sums);

// sums[t] as above for the factors as they are (no update); Σ p and Σ p²
// when `masked` (the incomplete kind).
void fm_kl_terms(const fm_edges *edges, const fm_dense *T, const fm_dense *S, float floor, bool masked,
                 fm_kl_edge_sums *sums);
void fm_kl_terms_reference(const fm_edges *edges, const fm_dense *T, const fm_dense *S, float floor, bool masked,
                           fm_kl_edge_sums *sums);

// totals[r] = Σ_i F[i]_r in double, rows in order (one thread: the same
// sums for every thread count).
void fm_kl_column_sums(double *totals, const fm_dense *F);

// The targets' sums added up in order.
fm_kl_edge_sums fm_kl_total(const fm_kl_edge_sums *sums, int64_t targets);

// The data's constants of D: Σ x log x and Σ x over the stored entries
// (x = 0 adds nothing), in double.
void fm_kl_data_terms(double *xlogx, double *sum, const fm_edges *edges);

// D(X‖W·H) from its parts: Σ x log x − total.log − Σ x + Σ (WH), the last
// Σ_r totals_w_r · totals_h_r, or total.prediction (Σ_Ω) when they are NULL.
double fm_kl_assemble(double xlogx, double sum_x, const fm_kl_edge_sums *total, const double *totals_w,
                      const double *totals_h, int k);

// D(X‖W·Hᵀᵀ) in one pass over the stored entries (`rows`: the edges of A),
// predictions floored at `floor`: over every entry, or over Ω only when
// `masked` (the incomplete kind); `total` (may be NULL) receives the
// edges' sums.
int fm_kl_divergence(double *divergence, fm_kl_edge_sums *total, const fm_edges *rows, const fm_dense *W,
                     const fm_dense *Ht, bool masked, float floor, char *msg);

#endif
