// Fixtures of the GraphNet ops' tests (tests/test_graphnet.c,
// tests/test_graphnet_graphblas.c): the lower triangle of a random square
// pattern and its edge sets by rows and by columns, a general edge set with
// repeated edges and self-loops, and the three together as the gn_cases every
// comparison runs over (gn_ prefixed).
#ifndef FM_TEST_GRAPHNET_FIXTURES_H
#define FM_TEST_GRAPHNET_FIXTURES_H

#include <stdint.h>

#include "graphnet.h"

// A random lower triangle i ≥ j of an n × n pattern, in the layout of
// fm_square (only n, lower, lower_by_columns and lower_edge are set). Row 0
// and column n−1 are empty (their diagonal entries are dropped), and so are
// some other rows, so each orientation has targets without edges.
typedef struct gn_lower_fixture {
    fm_square g;
    fm_csr by_rows, by_columns;
    int64_t *row_of;   // the row of entry k of by_rows (the fixture's own record)
} gn_lower_fixture;

gn_lower_fixture *gn_lower_fixture_new(int64_t n, double p, uint64_t seed);
void gn_lower_fixture_free(gn_lower_fixture *f);
// The fixture's edge set in one orientation (checked; the test fails on error).
fm_edge_set *gn_edges_from_lower(const gn_lower_fixture *f, fm_lower_orientation orientation);

// A general edge set: `count` random edges over nodes [0, nodes) drawn from
// the first 3/4 of the nodes (the rest have no edges), repeats and
// self-loops allowed; each group lists its edges in a scrambled order.
typedef struct gn_general_set {
    fm_edge_set s;
    int64_t *arrays;
} gn_general_set;

gn_general_set gn_general_set_new(int64_t nodes, int64_t count, uint64_t seed);

// The edge sets every comparison runs over: a lower triangle by rows and by
// columns, and a general set.
typedef struct gn_cases {
    gn_lower_fixture *lower;
    fm_edge_set *by_rows, *by_columns;
    gn_general_set general;
    const fm_edge_set *set[3];
    const char *name[3];
} gn_cases;

gn_cases *gn_cases_new(int64_t n, double p, int64_t general_count, uint64_t seed);
void gn_cases_free(gn_cases *c);
// How many of the set's nodes have no edges as a target.
int64_t gn_targets_without_edges(const fm_edge_set *s);

#endif
