// The masked Frobenius loss of §1 as a training loss, with its backward:
//
//   f(W, H) = ½ Σ_{(i,j)∈Ω} (x_ij − w_i·h_j)² / |Ω|
//
// for W (rows × k) and Hᵀ (cols × k) over `row_edges`, the edges of A (by row
// node: targets = rows, sources = cols; CSR or full storage).
//   full storage (the dense kind's edges): Ω is every entry, summed directly;
//   dense or sparse kind with CSR edges: Ω is every entry, unstored ones are 0:
//       Σ_Ω r² = Σ_stored (x² − 2x·p) + ‖WH‖²,  ‖WH‖² = Σ (WᵀW ⊙ HHᵀ)
//       df/dW = (W·HHᵀ − X·Hᵀ)/|Ω|,  df/dHᵀ = (Hᵀ·WᵀW − Xᵀ·W)/|Ω|
//   incomplete: Ω is the stored entries, summed directly;
//       df/dw_i = −Σ_j r_ij h_j /|Ω|,  df/dh_j = −Σ_i r_ij w_i /|Ω|
// The weighted loss (GraphSAINT's loss normalization, engine/subgraph.h):
//   f = ½ Σ_{(i,j)∈Ω} ω_ij (x_ij − w_i·h_j)²
// with ω given per entry of Ω (it replaces 1/|Ω|): rows × cols row-major for
// the dense and sparse kinds (every entry, unstored ones 0), per stored edge
// in the positions of `row_edges` for the incomplete kind. Direct sums,
// O(|Ω|·k): for the small matrices of training.
// An empty Ω gives f = 0 and no gradient. The loss is summed in double in
// both builds (per-row partials added in row order: the same for any thread
// count). The existing ops/loss.c (fm_loss_residual) stays the solver's float
// RMSE.
//
// Built twice from ops/loss_grad.inc: float (no suffix) and double (suffix
// _f64; the edge values are read in float).
#ifndef FM_LOSS_GRAD_H
#define FM_LOSS_GRAD_H

#include <stdint.h>

#include "graph.h"

#define FM_LOSS_GRAD_DECLARE(real, suffix)                                                         \
    /* *loss = f(W, H).                                                                        */ \
    int fm_loss_frobenius_forward##suffix(double *loss, const real *W, const real *Ht,            \
                                          const fm_edges *row_edges, fm_kind kind, int k,          \
                                          char *msg);                                              \
    /* Adds (+=) d_loss · df/dW to d_W (rows × k) and d_loss · df/dHᵀ to d_Ht (cols × k); either */ \
    /* may be NULL: not wanted.                                                                 */ \
    int fm_loss_frobenius_backward##suffix(real *d_W, real *d_Ht, real d_loss, const real *W,      \
                                           const real *Ht, const fm_edges *row_edges, fm_kind kind, \
                                           int k, char *msg);                                        \
    /* The weighted loss and its backward (the same contract, ω = `weights`).                  */ \
    int fm_loss_frobenius_weighted_forward##suffix(double *loss, const real *W, const real *Ht,   \
                                                   const fm_edges *row_edges, fm_kind kind, int k, \
                                                   const float *weights, char *msg);              \
    int fm_loss_frobenius_weighted_backward##suffix(real *d_W, real *d_Ht, real d_loss,            \
                                                    const real *W, const real *Ht,                 \
                                                    const fm_edges *row_edges, fm_kind kind, int k, \
                                                    const float *weights, char *msg);

FM_LOSS_GRAD_DECLARE(float, )
FM_LOSS_GRAD_DECLARE(double, _f64)

#endif
