// The L-Factormer's test harness in double (tests/test_lfactormer.c,
// tests/test_lfactormer_components.c): a model with random parameters and
// inputs, a linear loss of its outputs, its gradients, and the check of
// every tensor's and input's gradient against central finite differences.
#ifndef FM_TEST_LFACTORMER_FIXTURES_H
#define FM_TEST_LFACTORMER_FIXTURES_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"
#include "lfactormer.h"
#include "network_graph.h"

double lf_normal(uint64_t seed, uint64_t counter);
// "7x6 sparse, k_in 3, …" (a static buffer).
const char *lf_config_name(const fm_lfactormer_config *c, const fm_graph *g);

typedef struct lf_model {
    fm_lfactormer_config config;
    fm_params *layout;              // the offsets of the model's tensors
    const fm_message_graph *mg;     // fused
    int64_t rows, cols;
    double *values, *grads;         // the parameter block in double, at the layout's offsets
    double *w_in, *ht_in;           // m × k_in, n × k_in
    double *w_weight, *ht_weight;   // loss = Σ w_weight ⊙ W_out + Σ ht_weight ⊙ Hᵀ_out
    double *w_out, *ht_out;         // the outputs where the gradients are taken
    double *d_w_in, *d_ht_in;
    int64_t crossings;              // outputs that changed relu side during a difference
} lf_model;

lf_model lf_model_new(const fm_lfactormer_config *config, const fm_message_graph *mg, uint64_t seed);
void lf_model_free(lf_model *p);
double lf_model_loss(lf_model *p, bool count_crossings);
void lf_model_gradients(lf_model *p);
int64_t lf_expect_some_positive(const lf_model *p, const char *name);
int64_t lf_check_gradients(fm_graph *g, const fm_lfactormer_config *config, uint64_t seed);

#endif
