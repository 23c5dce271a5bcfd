// Fixtures of the unrolled chains' tests (tests/test_unroll.c,
// tests/test_unroll_training.c): the graphs they run on (a planted dense
// one, the sparse fixture, an incomplete one) and one unrolled problem: a
// graph, a configuration, the parameters in double and in float, the
// NNDSVD starting factors.
#ifndef FM_TEST_UNROLL_FIXTURES_H
#define FM_TEST_UNROLL_FIXTURES_H

#include <stdint.h>

#include "unroll.h"

typedef enum { GRAPH_DENSE, GRAPH_SPARSE, GRAPH_INCOMPLETE } unroll_graph_case;

// Dense 6x5 (planted), sparse 7x6 (random_graph, density 0.5), incomplete 7x6 (planted).
fm_graph *unroll_make_graph(unroll_graph_case which, uint64_t seed);

typedef struct unroll_chain {
    char name[96];
    fm_unroll_config config;
    fm_graph *graph;
    fm_message_graph mg;       // fused
    int64_t rows, cols;
    int k;
    fm_params *params;         // the layout, and the float blocks (values, grads)
    double *values, *grads;    // the double blocks at the same offsets
    double *w_start, *ht_start;
    float *w_start32, *ht_start32;
    unsigned char *sides;      // the relu sides at the point where the gradients are taken
    int64_t side_count, crossings, clamped_network, clamped_admm, carried[2];
} unroll_chain;

// Width 4, one head, two layers, rank 2.
fm_unroll_config unroll_tiny_config(fm_unroll_mode mode, int steps, int admm);
// Takes ownership of g; the parameters filled with output biases about `output_bias`.
unroll_chain unroll_chain_new(fm_graph *g, const fm_unroll_config *config, double output_bias, uint64_t seed,
                              const char *name);
void unroll_chain_free(unroll_chain *c);

#endif
