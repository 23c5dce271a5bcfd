// The differentiable AO-ADMM factor update for unrolled training (§7): one
// update of the targets' factor T (targets × k; Hᵀ for the H-update) with the
// sources S (sources × k) fixed, `inner` ADMM steps (§3, rows of Hᵀ), and its
// backward through every step.
//
//   G   = SᵀS                 (k×k)      per-target kind: G_t = Σ_{s∈N(t)} s sᵀ
//   F_t = Σ_{s∈N(t)} x_ts s   (targets × k; every source for full storage)
//   ρ   = trace(G)/k          (1 when the trace is 0)   per target: ρ_t = trace(G_t)/k
//   M   = (G + ρI)⁻¹          (explicit, symmetric)     per target: M_t
//   repeat inner:  B = F + ρ(T + U);  T̃ = B M;  T = relu(T̃ − U);  U = U + T − T̃
//
// Same algorithm as ops/admm.c's fm_admm_update_shared / _masked without the
// penalties, written in fm_real so the double build can be checked against
// finite differences; ops/admm.c stays the solver's fast float path.
//
// Backward, per step in reverse (M symmetric):
//   dT' ← dT' + dU'                               (U' = U + T' − T̃)
//   dV  = dT' ⊙ [T̃ − U > 0];  dT̃ = dV − dU';  dU = dU' − dV
//   dB  = dT̃ M;  dM += Bᵀ dT̃;  dF += dB;  dρ += ⟨dB, T + U⟩;  dT = dU += ρ dB
// then dA = −M dM M (A = G + ρI), dρ += trace(dA), dG = dA + (dρ/k) I (the
// trace term only when the guard is off: a guarded ρ is the constant 1), and
// dS += S (dG + dGᵀ) (from G = SᵀS; G_t sums it over the target's edges) +
// Σ_t x_ts dF_t (from F; a GEMM Xᵀ dF for full storage).
//
// A guarded ρ (zero Gram) is a constant: its gradient stops there. G = 0 means
// every source of the target is a zero row (or it has none), so the Gram's
// share of dS is 0 there anyway; ρ jumps from 1 to trace/k when such a row
// moves off zero, and no derivative exists at that point.
//
// Parallel over targets; the sums over targets (dM and dρ of the shared
// kind: one GEMM and a serial sum; the scatter of dS over the edges of CSR
// storage or per-target Grams: serial, in target order) do not depend on the
// thread count. Sized for training matrices (tens to hundreds of nodes).
//
// Kinds: FM_KIND_DENSE and FM_KIND_SPARSE share one G for every target;
// FM_KIND_INCOMPLETE has one G_t per target (a target without edges has
// G_t = 0, F_t = 0, ρ_t = 1). The edges may be CSR or full storage for any
// kind. Ranks 1..FM_ADMM_GRAD_MAX_RANK (small systems on the stack).
//
// Built twice from ops/admm_grad.inc: float (no suffix) and double (suffix
// _f64; the edge values are read in float).
#ifndef FM_ADMM_GRAD_H
#define FM_ADMM_GRAD_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"

#define FM_ADMM_GRAD_MAX_RANK 64

#define FM_ADMM_GRAD_DECLARE(real, suffix)                                                           \
    /* What the backward needs from one forward, owned by the tape.                              */ \
    typedef struct fm_admm_tape##suffix {                                                            \
        int64_t targets, sources;                                                                    \
        int k, inner;                                                                                \
        bool per_target;        /* one G_t per target (incomplete) or one shared G               */ \
        real *rhs;              /* F, targets × k                                                */ \
        real *inverse;          /* M = (G + ρI)⁻¹: k×k, or targets × k×k per target              */ \
        real *rho;              /* ρ: 1, or targets                                              */ \
        unsigned char *guarded; /* 1 where ρ is the guard's constant 1 (zero Gram): 1 or targets */ \
        real *sums;             /* T + U before each step: inner × targets × k                   */ \
        real *shifted;          /* T̃ − U of each step (the relu's input): inner × targets × k   */ \
    } fm_admm_tape##suffix;                                                                          \
                                                                                                     \
    /* One factor update: `inner` (>= 1) ADMM steps from targets and duals (targets × k each,   */ \
    /* targets = edges->targets) with sources (edges->sources × k) fixed. Writes targets_out    */ \
    /* and duals_out (each may alias its input exactly, not partly) and sets *tape (NULL on      */ \
    /* entry) to what the backward needs. `edges` are the targets' edges (CSR or full).          */ \
    int fm_admm_grad_forward##suffix(real *targets_out, real *duals_out, fm_admm_tape##suffix **tape, \
                                     const real *sources, const real *targets, const real *duals,    \
                                     const fm_edges *edges, fm_kind kind, int k, int inner,          \
                                     char *msg);                                                     \
                                                                                                     \
    /* Adds (+=) d_sources, d_targets and d_duals (the gradients of the forward's inputs; any may */ \
    /* be NULL: not wanted) given d_targets_out and d_duals_out (either may be NULL: zero), the   */ \
    /* forward's tape and the same sources and edges. d_* must not overlap the d_*_out.          */ \
    int fm_admm_grad_backward##suffix(real *d_sources, real *d_targets, real *d_duals,              \
                                      const real *d_targets_out, const real *d_duals_out,           \
                                      const fm_admm_tape##suffix *tape, const real *sources,        \
                                      const fm_edges *edges, char *msg);                            \
                                                                                                     \
    void fm_admm_tape_free##suffix(fm_admm_tape##suffix **tape);

FM_ADMM_GRAD_DECLARE(float, )
FM_ADMM_GRAD_DECLARE(double, _f64)

#endif
