// Initial factors (§3 "Initializations"): random, and NNDSVD with its
// variants, from a randomized SVD that only multiplies by X and Xᵀ.
#ifndef FM_INIT_H
#define FM_INIT_H

#include <stdbool.h>

#include "graph.h"
#include "rng.h"

// W (rows × k) and Hᵀ (cols × k). The edges of both directions are borrowed
// by the caller (`row_edges` from A, `col_edges` from Aᵀ). Every method but
// FM_INIT_LEARNED (models/nmf/learned.h, run by the solver).
// `power`: the randomized SVD's power iterations (FM_SVD_POWER_AUTO: the rule
// of fm_rsvd_power).
int fm_init_factors(fm_dense **W, fm_dense **Ht, const fm_graph *g, const fm_edges *row_edges,
                    const fm_edges *col_edges, int rank, fm_init_method method, int power, uint64_t seed,
                    char *msg);

// The leading `rank` singular triplets, X ≈ U diag(sigma) Vᵀ, by the
// randomized range finder (Halko, Martinsson & Tropp 2011) with oversampling
// and power iterations. For the incomplete kind the unobserved entries count
// as zeros and the result is rescaled by mn/|Ω|, the usual unbiased estimate
// of the full matrix from its observed part.
int fm_rsvd(fm_dense **U, double *sigma, fm_dense **V, const fm_graph *g,
            const fm_edges *row_edges, const fm_edges *col_edges, int rank, int power, uint64_t seed,
            char *msg);

// The pieces a distributed run assembles (models/nmf/distributed_init.c):
// the columns of Y (rows × cols, row-major) orthonormalized in place
// (Householder QR); per column r of M the sums of squares of its positive
// and negative entries (squares[2r], squares[2r + 1]); NNDSVD (Boutsidis &
// Gallopoulos 2008) given those sums of U's and V's columns: for each
// singular pair the larger of (u₊, v₊) and (u₋, v₋) by the product of their
// norms, scaled; and nndsvda's and nndsvdar's fill of the zeros (the mean,
// or a draw keyed by `offset` + the entry's index).
int fm_init_orthonormalize(fm_dense *Y, char *msg);
// The randomized SVD's sketch width (rank plus the oversampling, at most the
// smaller side) and its power iterations: `power` when it is 0 or more, else
// (FM_SVD_POWER_AUTO) scikit-learn's rule.
int fm_rsvd_width(int rank, int64_t smaller);
int fm_rsvd_power(int power, int rank, int64_t smaller);
// Whether `power` is a count fm_rsvd_power takes: FM_SVD_POWER_AUTO or 0 to
// FM_MAX_SVD_POWER.
bool fm_svd_power_valid(int power);
// The power iterations a run's start takes (§3, §6): -1 for the random start
// (no SVD); `power` when it is 0 or more; for the learned initialization
// FM_LEARNED_SVD_POWER, else the rule of fm_rsvd_power.
int fm_start_svd_power(fm_init_method method, int power, int rank, int64_t rows, int64_t cols);
// The SVD's factors from the range Q (rows × w) and the small SVD of
// Bᵀ = XᵀQ = U_b S V_bᵀ (double, row-major: Vbt w × w, Ub cols × w): U = Q V_b
// (Q's rows × rank) and V = U_b's first rank columns (cols × rank). Each
// entry of U is the dot product Σ_c q_ic (V_bᵀ)_rc summed in order in double,
// the rows in parallel. FM_ERR_MEMORY is its only failure.
int fm_rsvd_factors(fm_dense *U, fm_dense *V, const fm_dense *Q, const double *Vbt, const double *Ub, char *msg);
void fm_nndsvd_squares(double *squares, const fm_dense *M);
void fm_nndsvd_apply(fm_dense *U, const double *sigma, fm_dense *V, const double *u_squares, const double *v_squares);
void fm_init_fill_zeros(fm_dense *M, double mean, bool random, fm_rng rng, uint64_t offset);
// The random start's entries of M (rows × rank), uniform in (0, 2√(mean/rank)),
// entry e drawn as the whole W·Hᵀ pair's entry `offset` + e: W's from 0, Hᵀ's
// from rows·rank (fm_init_factors; a distributed run's blocks at theirs).
void fm_init_random_fill(fm_dense *M, double mean, uint64_t seed, uint64_t offset);

#endif
