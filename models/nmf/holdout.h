// The speckled holdout of the dense and sparse kinds, as the solver holds it
// (models/nmf/holdout.c): the held-out coordinates by row and by column, and
// their values, for the masked updates (ops/admm_mask.h) and the held-out
// and fitted residuals.
#ifndef FM_HOLDOUT_H
#define FM_HOLDOUT_H

#include "admm_mask.h"
#include "graph.h"

// fm_holdout_speckle of a block of a larger matrix (coordinates numbered
// in the block, which starts at row `row0`, column `col0` of a matrix of
// `cols` columns): the coordinates drawn as the whole matrix's, so the
// blocks' holdouts together are the whole matrix's (a distributed run).
int fm_holdout_speckle_block(fm_triplets **kept, fm_triplets **holdout, const fm_triplets *t, int64_t row0,
                             int64_t col0, int64_t cols, double fraction, uint64_t seed, char *msg);

typedef struct fm_speckle {
    fm_held_edges rows;   // the W-update's: row i lists the held columns j
    fm_held_edges cols;   // the H-update's: column j lists the held rows i
    float *val;           // x_ij of each held entry in rows' order (0 for an unstored zero)
    double *partial;      // per row, scratch of fm_speckle_residuals
} fm_speckle;

// From the held-out entries (coordinates and values; the dense and sparse
// kinds' zeros included) of a graph whose row edges are `rows`. Refused when
// an entry is out of range or repeated, or when the graph holds a value at a
// held coordinate (the split leaves them out: models/nmf/holdout.c).
int fm_speckle_new(fm_speckle *s, const fm_triplets *held, const fm_edges *rows, char *msg);
void fm_speckle_free(fm_speckle *s);

// Σ (x − w_i·h_j)² and Σ (w_i·h_j)² over the held entries (the second is
// what ‖X − WH‖² over the graph counts at them, which the fit leaves out).
// Summed by row, then the rows in order: the same for any thread count.
void fm_speckle_residuals(const fm_speckle *s, const fm_dense *W, const fm_dense *Ht, double *held,
                          double *predicted);

#endif
