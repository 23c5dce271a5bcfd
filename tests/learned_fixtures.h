// Fixtures of the learned-model suites (tests/test_learned.c,
// tests/test_learned_files.c): tiny models trained here, a planted matrix
// and solver options for the training chains.
#ifndef FM_TEST_LEARNED_FIXTURES_H
#define FM_TEST_LEARNED_FIXTURES_H

#include <stdbool.h>

#include "factormer.h"

#define FM_TEST_LEARNED_RANK 3
#define FM_TEST_LEARNED_SEED 42

// A scratch directory with a tiny initialization and acceleration model of
// FM_TEST_LEARNED_RANK, named as the default directory names them.
typedef struct fm_test_models {
    char dir[256], init[300], accel[300];
} fm_test_models;

fm_test_models fm_test_models_new(void);
void fm_test_models_free(const fm_test_models *s);
// 30 × 24 planted, rank 3, mean about 1 times `scale` (the models must not
// depend on the data's scale); all entries for dense, half of them otherwise.
fm_triplets *fm_test_learned_planted(fm_kind kind, double scale);
fm_graph *fm_test_learned_graph(const fm_triplets *t, fm_kind kind);
// `iters` iterations at rank 3 from seed 42, --tol 0, as the training chains
// run: no safeguard, AO-ADMM to the end.
fm_solver_options fm_test_learned_options(int iters);
// fm_solver_run, which must succeed.
fm_solver_result *fm_test_learned_solve(fm_graph *g, const fm_solver_options *o);
// |a − b| <= tol · max(|a|, |b|)
bool fm_test_learned_close(double a, double b, double tol);
// dense, sparse, incomplete
extern const fm_kind fm_test_learned_kinds[3];

#endif
