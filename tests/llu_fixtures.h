// Fixtures of the learned LU suites (test_learned_lu_net,
// test_learned_lu_infer): random nonsymmetric matrices, 5-point grids with
// asymmetric values, random network parameters. Every fixture fails the
// test (Criterion) on error.
#ifndef FM_TEST_LLU_FIXTURES_H
#define FM_TEST_LLU_FIXTURES_H

#include <stdbool.h>
#include <stdint.h>

#include "learned_lu_model.h"
#include "square.h"

// A random nonsymmetric n × n matrix: `per_row` off-diagonal entries a row at
// random columns (values in (−1, 1), independent of their mirror), except the
// rows i with i % 7 == 3 when `lonely`, which hold only their diagonal; a
// diagonal of random sign and magnitude in (0.5, 2.5); then S A S with S
// spread over two orders of magnitude (what P2's scaling undoes).
fm_square *fm_test_llu_general(int64_t n, int per_row, bool lonely, uint64_t seed);

// A side × side convection-like 5-point grid: a diagonal in (4, 5), each
// neighbour's entry −1 plus its own draw in (−0.5, 0.5), different each way.
fm_square *fm_test_llu_grid(int64_t side, uint64_t seed);

// Glorot weights (fm_params_init) plus uniform noise of ±spread on every
// element, so that the biases and the 1 × w output layer are not zero and the
// ReLUs are both active and not.
fm_params *fm_test_llu_params(const fm_llu_config *config, uint64_t seed, double spread);

#endif
