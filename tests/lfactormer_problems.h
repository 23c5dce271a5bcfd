// The small models and float problems of the L-Factormer's tests
// (tests/test_lfactormer.c, tests/test_lfactormer_forward.c): a
// configuration of rank 3, width 8 and two heads, and parameters, inputs and
// output gradients in float for it on a graph.
#ifndef FM_TEST_LFACTORMER_PROBLEMS_H
#define FM_TEST_LFACTORMER_PROBLEMS_H

#include <stdint.h>

#include "graph.h"
#include "lfactormer.h"

// Rank 3, width 8, two heads.
fm_lfactormer_config lf_make_config(int inputs, int layers);

// Parameters from fm_params_init, every entry moved by 0.1·N(0,1) (biases
// off zero, gammas off one); inputs |N(0,1)|; output gradients N(0,1).
typedef struct lf_float_problem {
    fm_params *params;
    float *w_in, *ht_in, *d_w_out, *d_ht_out;
} lf_float_problem;

lf_float_problem lf_float_problem_new(const fm_lfactormer_config *config, const fm_graph *g, uint64_t seed,
                                      double noise);
void lf_float_problem_free(lf_float_problem *f);

#endif
