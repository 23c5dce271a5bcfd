// §7's limit term (docs/factormer-math.md §7, "The limit term"): the
// training loss of the learned initialization read against
//
//   z_ij = (1 − β) x_ij + β (W* H*)_ij   on Ω,
//
// where (W*, H*) are `iters` plain ADMM outer iterations (§3) from the
// sample's own NNDSVD start: up to a constant, ½ Σ_Ω (z − w_i·h_j)² is
// (1 − β) f_X + β ½ Σ_Ω ((W*H*)_ij − w_i·h_j)², the objective blended with
// the distance to the reconstruction a long solve reaches. The objective
// alone hardly sees an error along a flat direction, which ADMM is slow to
// remove; the distance counts it in full. The ADMM of the chain still reads X.
#ifndef FM_TRAIN_LIMIT_H
#define FM_TRAIN_LIMIT_H

#include "train_sampling.h"

typedef struct fm_train_limit {
    fm_edges edges;   // z: every entry (dense and sparse kinds, full storage: the loss reads it as the
                      // dense kind) or X's stored edges (incomplete)
    float *values;    // owned: edges.val
} fm_train_limit;

// z for sample `s` at rank k (its start's), β = `weight` in (0, 1], `iters`
// ≥ 1 ADMM outer iterations of `inner` steps per factor update. Sets
// mg->loss_rows and mg->loss_kind of `reads` (the graph the chain runs on,
// s's own or a view of it) to *out, which must outlive them.
int fm_train_limit_new(fm_train_limit *out, fm_message_graph *reads, const fm_train_sample *s, int k, double weight,
                       int iters, int inner, char *msg);
void fm_train_limit_free(fm_train_limit *limit);

#endif
