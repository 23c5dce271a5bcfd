// Fixtures of the KL loss's tests (tests/test_kl.c, tests/test_kl_solver.c):
// random counts and factors, a test matrix as its kind sees it (which
// entries are observed, and the graph), the divergence by brute force over
// every observed entry, and a relative difference.
#ifndef FM_TEST_KL_FIXTURES_H
#define FM_TEST_KL_FIXTURES_H

#include <stdint.h>

#include "graph.h"

// A test matrix as the kind sees it: the values, which entries are
// observed (every one for the dense and sparse kinds; a seeded 60%, zeros
// included, for the incomplete kind), and the graph.
typedef struct kl_problem {
    int64_t rows, cols;
    fm_kind kind;
    float *x;
    unsigned char *observed;
    fm_graph *g;
} kl_problem;

float *kl_random_counts(int64_t rows, int64_t cols, double zeros, uint64_t seed);
fm_dense *kl_random_factor(int64_t rows, int k, double lo, uint64_t seed);
kl_problem kl_problem_new(int64_t rows, int64_t cols, double zeros, fm_kind kind, uint64_t seed);
void kl_problem_free(kl_problem *p);
double kl_brute_force(const kl_problem *pr, const fm_dense *W, const fm_dense *Ht);
// |a − b| / |b|.
double kl_relative(double a, double b);

#endif
