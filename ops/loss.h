// The masked Frobenius loss of §1: Σ_Ω r² with r_ij = x_ij − w_i·h_j.
#ifndef FM_LOSS_H
#define FM_LOSS_H

#include "graph.h"

// Σ_Ω r² for W (rows × k) and Hᵀ (cols × k). `row_edges` are the edges of A
// (borrowed). For the dense and sparse kinds, `XHt` = X·Hᵀ as the W-update
// left it and the two Grams (double k×k, WᵀW and HHᵀ) give the expansion
// ‖X‖² − 2⟨X,WH⟩ + ‖WH‖² without forming W·H; when that estimate falls below
// 1e-4·‖X‖² the float rounding of X·Hᵀ is no longer negligible next to it,
// and ⟨X,WH⟩ is recomputed exactly in double over the stored entries (the
// dense kind then sums the residuals directly). Pass XHt = NULL to go
// straight to the exact path. The incomplete kind always sums over Ω.
int fm_loss_residual(double *residual, const fm_graph *g, const fm_edges *row_edges, const fm_dense *W,
                     const fm_dense *Ht, const fm_dense *XHt, const double *gram_w, const double *gram_h,
                     char *msg);

// Σ (x − w_i·h_j)² over a list of entries (the held-out ones).
double fm_loss_residual_triplets(const fm_triplets *t, const fm_dense *W, const fm_dense *Ht);

#endif
