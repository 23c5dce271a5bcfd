// Fixtures of the edge samplers' tests (tests/test_sampler.c,
// tests/test_sampler_estimator.c): graphs the tests own, in CSR (sorted
// sources per target) or full storage, their degrees, rows and stored
// positions, and a checked draw (smp_ prefixed).
#ifndef FM_TEST_SAMPLER_FIXTURES_H
#define FM_TEST_SAMPLER_FIXTURES_H

#include <stdint.h>

#include "sampler.h"

typedef struct smp_graph {
    fm_edges edges;   // a view of the arrays below (no owner: nothing to return)
    GrB_Index *ptr, *idx;
    float *val;
} smp_graph;

// targets × sources; target t has degrees[t % n] in-edges (at most sources)
// at distinct random sources. The values are exp(normal), spread over about
// a decade so that weighted sampling differs from uniform, and 0 for every
// `zero_every`-th edge (0: never).
smp_graph smp_graph_new(int64_t targets, int64_t sources, const int64_t *degrees, int n, uint64_t seed,
                        int zero_every);
// Full storage (the dense kind): every source is an in-edge of every target.
smp_graph smp_dense_new(int64_t targets, int64_t sources, uint64_t seed, int zero_every);
void smp_graph_free(smp_graph *g);

int64_t smp_degree_of(const fm_edges *e, int64_t t);
// The stored values of target t's in-edges.
const float *smp_row_values(const fm_edges *e, int64_t t);
// The position of edge (t, source) among the stored edges, or −1.
int64_t smp_stored_position(const fm_edges *e, int64_t t, GrB_Index source);

// A draw that must succeed.
fm_sampled_edges *smp_draw(const fm_edges *e, fm_kind kind, const fm_sampler_options *o, uint64_t round);
// Options of the strategy at seed 42.
fm_sampler_options smp_options_of(fm_sampler strategy, int64_t fanout, double ratio);

#endif
