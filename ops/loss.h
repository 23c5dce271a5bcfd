// The masked Frobenius loss of §1: Σ_Ω r² with r_ij = x_ij − w_i·h_j.
#ifndef FM_LOSS_H
#define FM_LOSS_H

#include "graph.h"

// Σ_Ω r² for W (rows × k) and Hᵀ (cols × k), as exactly as float factors
// allow: the dense kind sums the residuals directly; the sparse kind takes
// ⟨X,WH⟩ in double over the stored entries and ‖WH‖² = Σ (WᵀW ⊙ HHᵀ) from
// the two Grams (double k×k); the incomplete kind sums over Ω. `row_edges`
// are the edges of A (borrowed).
int fm_loss_residual(double *residual, const fm_graph *g, const fm_edges *row_edges, const fm_dense *W,
                     const fm_dense *Ht, const double *gram_w, const double *gram_h, char *msg);

// The expansion ‖X‖² − 2⟨W, X·Hᵀ⟩ + Σ (WᵀW ⊙ HHᵀ) of Σ r² (dense and sparse
// kinds), from the X·Hᵀ the W-update formed: O(rows·k + k²), no pass over X.
// Its error is the float rounding of X·Hᵀ; models/nmf/objective.h decides when
// it is precise enough.
double fm_loss_expansion(const fm_graph *g, const fm_dense *W, const fm_dense *XHt, const double *gram_w,
                         const double *gram_h);

// Σ (x − w_i·h_j)² over a list of entries (the held-out ones).
double fm_loss_residual_triplets(const fm_triplets *t, const fm_dense *W, const fm_dense *Ht);

#endif
