// Fixtures of the differentiable ADMM update's and the training loss's tests
// (tests/test_admm_grad.c, tests/test_loss_grad.c): small random graphs
// (AG_ROWS x AG_COLS, rank AG_RANK) of every kind and their edge sets, and
// the comparisons against finite differences and of the float build against
// the double one, which record their worst error for the test's log (ag_
// prefixed).
#ifndef FM_TEST_ADMM_GRAD_FIXTURES_H
#define FM_TEST_ADMM_GRAD_FIXTURES_H

#include <stdbool.h>
#include <stdint.h>

#include "factormer.h"
#include "graph.h"

#define AG_ROWS 7
#define AG_COLS 5
#define AG_RANK 3
#define AG_FD_STEP 1e-6
#define AG_FD_TOLERANCE 1e-6      // double backward vs finite differences
#define AG_FLOAT_TOLERANCE 1e-4   // float build vs double build

// Dense, sparse, incomplete.
extern const fm_kind ag_kinds[3];

// X (AG_ROWS × AG_COLS) of one kind: dense stores everything; sparse and
// incomplete store a random pattern of density about 0.6. For the
// incomplete kind every column has an entry except `empty_column` (none),
// and `lonely_column` has row 0 as its only entry (-1: no such column).
typedef struct ag_problem {
    fm_kind kind;
    fm_graph *g;
    float x[AG_ROWS * AG_COLS];   // the stored values, 0 where unstored
    bool stored[AG_ROWS * AG_COLS];
} ag_problem;

ag_problem *ag_problem_new(fm_kind kind, uint64_t seed, int empty_column, int lonely_column);
void ag_problem_free(ag_problem **p);
// The problem's edges in one direction (full storage for the dense kind, CSR
// for the others: the test fails otherwise), and their return.
fm_edges ag_borrow(ag_problem *p, fm_direction direction);
void ag_give_back(fm_edges *edges);

// ‖a − b‖ / max(‖b‖, floor) for a float array against a double one.
double ag_relative_error_float(const float *a, const double *b, int64_t n, double floor);
double ag_norm2(const double *x, int64_t n);

// The worst errors the two checks below saw in this test (each test runs in
// its own process).
extern double ag_worst_fd, ag_worst_float;
// after − before against the finite differences `fd`, within AG_FD_TOLERANCE
// (fd all zero fails: nothing would be checked).
void ag_expect_gradient(const double *after, const double *before, const double *fd, int64_t n, const char *what);
// A float result against the double one within AG_FLOAT_TOLERANCE, relative
// to max(‖b‖, floor).
void ag_expect_float(const float *a, const double *b, int64_t n, double floor, const char *what);

#endif
