// Initial factors (§3 "Initializations"): random, and NNDSVD with its
// variants, from a randomized SVD that only multiplies by X and Xᵀ.
#ifndef FM_INIT_H
#define FM_INIT_H

#include "graph.h"

// W (rows × k) and Hᵀ (cols × k). The edges of both directions are borrowed
// by the caller (`row_edges` from A, `col_edges` from Aᵀ). Every method but
// FM_INIT_LEARNED (models/nmf/learned.h, run by the solver).
int fm_init_factors(fm_dense **W, fm_dense **Ht, const fm_graph *g, const fm_edges *row_edges,
                    const fm_edges *col_edges, int rank, fm_init_method method, uint64_t seed,
                    char *msg);

// The leading `rank` singular triplets, X ≈ U diag(sigma) Vᵀ, by the
// randomized range finder (Halko, Martinsson & Tropp 2011) with oversampling
// and power iterations. For the incomplete kind the unobserved entries count
// as zeros and the result is rescaled by mn/|Ω|, the usual unbiased estimate
// of the full matrix from its observed part.
int fm_rsvd(fm_dense **U, double *sigma, fm_dense **V, const fm_graph *g,
            const fm_edges *row_edges, const fm_edges *col_edges, int rank, uint64_t seed,
            char *msg);

#endif
