// Small SPD test problems for the solver suites, each as a dense row-major
// array (the references' input) and as the graph of its nonzeros.
#ifndef FM_TEST_SOLVER_FIXTURES_H
#define FM_TEST_SOLVER_FIXTURES_H

#include <stdbool.h>
#include <stdint.h>

#include "square.h"

typedef struct fm_test_system {
    int64_t n;
    double *dense;      // n × n row-major
    fm_square *graph;   // its nonzeros (every diagonal entry kept)
} fm_test_system;

// A = M Mᵀ + α I with `entries` N(0, 1) entries of M at random positions.
fm_test_system fm_test_random_spd(int64_t n, int64_t entries, double alpha, uint64_t seed);
// The 5-point Laplacian on a side × side grid (Dirichlet): 4 on the diagonal.
fm_test_system fm_test_laplacian(int64_t side);
// The same Laplacian as a graph only, built from the triplets of its lower
// part (mirrored), for grids too large for a dense copy.
fm_square *fm_test_grid_square(int64_t side);
// Kershaw's 4 × 4 SPD matrix (IC(0) meets a negative pivot on it), repeated
// `copies` times along the diagonal and chained by weak couplings.
fm_test_system fm_test_kershaw(int64_t copies);
// The graph of n × n triplets (fm_square_from_triplets: duplicates summed,
// the lower triangle mirrored with `mirror_lower`), which frees them: row,
// col and val are malloc'd arrays of `count` (the test fails on error).
fm_square *fm_test_square_taking(int64_t n, int64_t count, int64_t *row, int64_t *col, double *val,
                                 bool mirror_lower);
// The graph of a dense row-major array's nonzeros and its diagonal (the test
// fails on error).
fm_square *fm_test_square_dense(const double *dense, int64_t n);
void fm_test_system_free(fm_test_system *s);

// A random sparse SPD graph: `per_row` symmetric off-diagonal entries in
// (−1, 1) per row, a diagonal above the row's absolute sum (diagonally
// dominant), then S A S with S = diag(row_scale) where given (what P2 undoes).
fm_square *fm_test_dominant_spd(int64_t n, int per_row, uint64_t seed, const double *row_scale);
// A random lower factor by rows: about `per_row` earlier columns at random
// (with `band` also the `band` columns just before the diagonal), values
// N(0, 1) / (row length), a diagonal of 1 + U(0, 1) with a random sign; the
// off-diagonal row sums stay below the diagonal, so L is well conditioned.
fm_csr *fm_test_random_lower(int64_t n, int64_t per_row, int64_t band, uint64_t seed);
// An n × n fm_csr holding copies of start (n + 1), index and value (count);
// the arrays stay the caller's.
fm_csr *fm_test_csr_of(int64_t n, int64_t count, const int64_t *start, const int64_t *index, const double *value);
// n draws of N(0, 1) (malloc'd).
double *fm_test_normal_vector(int64_t n, uint64_t seed);

// x = A⁻¹ b by LAPACKE_dposv on a copy of the dense A (the test fails if A
// is not positive definite).
void fm_test_dense_solve(const double *dense, int64_t n, const double *b, double *x);
// max_i |a_i − b_i| / max_i |b_i|
double fm_test_max_relative(const double *a, const double *b, int64_t n);

#endif
