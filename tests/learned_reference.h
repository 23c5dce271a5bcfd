// The learned initialization recomputed without models/nmf/learned (no view, no
// solver): the suites compare the solver's iteration 0 with it, and train
// the tiny models they run.
#ifndef FM_TEST_LEARNED_REFERENCE_H
#define FM_TEST_LEARNED_REFERENCE_H

#include <stdint.h>

#include "lfactormer_checkpoint.h"
#include "factormer.h"

// A tiny model (width 8, 1 head, 1 layer, 8 training and 2 + 2 validation
// matrices, 1 epoch: well under a second) of `kind` and `rank` at `path`
// (its training state beside it, at path.state).
void fm_test_train_tiny(const char *path, fm_model_kind kind, int rank);

// §5, §6 by hand for the entries `t` of the given kind: X / mean (mean =
// fm_graph_mean of X) as a graph of its own, its message graph opened for
// the fused kernels, the NNDSVD of it with `seed`, the initialization model
// at `path` on that (fm_lfactormer_forward), W scaled back by the mean.
// Sets *W (rows × rank) and *H (rank × cols), NULL on entry.
void fm_test_learned_init(fm_dense **W, fm_dense **H, const fm_triplets *t, fm_kind kind, const char *path,
                          int rank, uint64_t seed);

#endif
