// The nonsymmetric problems and preconditioners the GMRES suites share
// (test_gmres.c, test_gmres_edges.c).
#ifndef FM_TEST_GMRES_FIXTURES_H
#define FM_TEST_GMRES_FIXTURES_H

#include <stdint.h>

#include "krylov.h"
#include "square.h"

// A random sparse nonsymmetric n × n matrix (row-major): `per_row` N(0, 1)
// entries at random columns of each row, and a positive diagonal of
// `dominance` times the larger of its row's and its column's off-diagonal
// sums plus 0.1. With dominance ≥ 1 the matrix is diagonally dominant by rows
// (ILU(0) exists) and its symmetric part is positive definite (GMRES(m)
// converges for every m).
double *fm_test_random_nonsymmetric(int64_t n, int per_row, double dominance, uint64_t seed);
// Upwind convection–diffusion on a side × side grid: 5-point diffusion plus
// a convection to the east and north whose strength varies over the grid.
fm_square *fm_test_upwind_grid(int64_t side);

// The general preconditioners GMRES takes; GIVEN_LU is ILU(0)'s L and U
// handed over as given factors.
enum { PRECOND_NONE, PRECOND_JACOBI, PRECOND_ILU0, PRECOND_GIVEN_LU, PRECOND_KINDS };
extern const char *const fm_test_precond_names[PRECOND_KINDS];
// One of them for g (the test fails on error).
fm_precond *fm_test_make_precond(int kind, const fm_square *g);

// What GMRES's observer saw: the relative residual of every step (the
// first 4096), and the step at which the observer asks it to stop (-1: none).
typedef struct fm_test_history {
    int64_t calls;
    double residual[4096];
    int64_t stop_at;
} fm_test_history;
// The observer (context: an fm_test_history): checks the steps come in order
// with a finite residual, records it, and stops at stop_at.
int fm_test_record_residual(void *context, int64_t iteration, double seconds, double relative_residual);

#endif
