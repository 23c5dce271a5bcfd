// GMRES(m) (P3) against a dense LAPACK solve with the general
// preconditioners (none, Jacobi, ILU(0), a given L U), its residual history,
// restarts, happy breakdown, its edge cases and errors, and the same bits for
// 1 and 2 threads.
#include <criterion/criterion.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "krylov.h"
#include "rng.h"
#include "solver_fixtures.h"

TestSuite(gmres, .init = fm_test_setup);

// A random sparse nonsymmetric n × n matrix (row-major): `per_row` N(0, 1)
// entries at random columns of each row, and a positive diagonal of
// `dominance` times the larger of its row's and its column's off-diagonal
// sums plus 0.1. With dominance ≥ 1 the matrix is diagonally dominant by rows
// (ILU(0) exists) and its symmetric part is positive definite (GMRES(m)
// converges for every m).
static double *random_nonsymmetric(int64_t n, int per_row, double dominance, uint64_t seed)
{
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    double *a = calloc(n * n, sizeof(double)), *rows = calloc(n, sizeof(double)),
           *cols = calloc(n, sizeof(double));
    cr_assert(a && rows && cols);
    uint64_t counter = 0;
    for (int64_t i = 0; i < n; i++)
        for (int t = 0; t < per_row; t++) {
            int64_t j = (int64_t)(fm_rng_uniform(rng, counter++) * (double)n);
            if (j != i) a[i * n + j] += fm_rng_normal(rng, counter++);
        }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            if (i != j) {
                rows[i] += fabs(a[i * n + j]);
                cols[j] += fabs(a[i * n + j]);
            }
    for (int64_t i = 0; i < n; i++) a[i * n + i] = dominance * fmax(rows[i], cols[i]) + 0.1;
    free(rows);
    free(cols);
    return a;
}

// Upwind convection–diffusion on a side × side grid: 5-point diffusion plus
// a convection to the east and north whose strength varies over the grid.
static fm_square *upwind_grid(int64_t side)
{
    int64_t n = side * side, count = 0;
    int64_t *row = malloc(sizeof(int64_t) * 5 * n), *col = malloc(sizeof(int64_t) * 5 * n);
    double *val = malloc(sizeof(double) * 5 * n);
    cr_assert(row && col && val);
    for (int64_t x = 0; x < side; x++)
        for (int64_t y = 0; y < side; y++) {
            int64_t i = x * side + y;
            double cx = 1 + 0.5 * sin(0.1 * (double)y), cy = 0.5 + 0.25 * cos(0.07 * (double)x);
            const int64_t neighbours[4][2] = { { x - 1, y }, { x + 1, y }, { x, y - 1 }, { x, y + 1 } };
            const double weights[4] = { -1 - cx, -1, -1 - cy, -1 };
            row[count] = col[count] = i;
            val[count++] = 4 + cx + cy;
            for (int k = 0; k < 4; k++)
                if (neighbours[k][0] >= 0 && neighbours[k][0] < side && neighbours[k][1] >= 0 &&
                    neighbours[k][1] < side) {
                    row[count] = i;
                    col[count] = neighbours[k][0] * side + neighbours[k][1];
                    val[count++] = weights[k];
                }
        }
    fm_square *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_square_from_triplets(&g, n, count, row, col, val, false, msg), FM_OK, "%s", msg);
    free(row);
    free(col);
    free(val);
    return g;
}

// x = A⁻¹ b by LAPACKE_dgesv on a copy of the dense A.
static void dense_general_solve(const double *dense, int64_t n, const double *b, double *x)
{
    double *a = malloc(sizeof(double) * n * n);
    lapack_int *pivots = malloc(sizeof(lapack_int) * n);
    cr_assert(a && pivots);
    memcpy(a, dense, sizeof(double) * n * n);
    memcpy(x, b, sizeof(double) * n);
    cr_assert_eq(LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)n, 1, a, (lapack_int)n, pivots, x, 1), 0);
    free(a);
    free(pivots);
}

// ‖b − A x‖/‖b‖ with the dense A, in long double.
static double dense_relative_residual(const double *dense, int64_t n, const double *b, const double *x)
{
    long double r2 = 0, b2 = 0;
    for (int64_t i = 0; i < n; i++) {
        long double s = b[i];
        for (int64_t j = 0; j < n; j++) s -= (long double)dense[i * n + j] * x[j];
        r2 += s * s;
        b2 += (long double)b[i] * b[i];
    }
    return (double)sqrtl(r2 / b2);
}

enum { NONE, JACOBI, ILU0, GIVEN_LU, KINDS };
static const char *kind_names[KINDS] = { "none", "jacobi", "ilu0", "given L U" };

static fm_precond *make(int kind, const fm_square *g)
{
    char msg[FM_MSG_LEN];
    fm_precond *M = NULL;
    int status = FM_OK;
    switch (kind) {
    case NONE: status = fm_precond_none(&M, g->n, msg); break;
    case JACOBI: status = fm_precond_jacobi_general(&M, g, msg); break;
    case ILU0: status = fm_precond_ilu0(&M, g, msg); break;
    case GIVEN_LU: {   // ILU(0)'s L and U handed over as given factors
        fm_precond *ilu = make(ILU0, g);
        fm_csr *L = NULL, *U = NULL;
        cr_assert_eq(fm_csr_copy(&L, fm_precond_lower(ilu), msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_csr_copy(&U, fm_precond_upper(ilu), msg), FM_OK, "%s", msg);
        fm_precond_free(&ilu);
        status = fm_precond_from_lu(&M, &L, &U, msg);
        cr_assert_null(L);
        cr_assert_null(U);
        break;
    }
    }
    cr_assert_eq(status, FM_OK, "%s: %s", kind_names[kind], msg);
    return M;
}

typedef struct history {
    int64_t calls;
    double residual[4096];
    int64_t stop_at;
} history;

static int record(void *context, int64_t iteration, double seconds, double relative_residual)
{
    history *h = context;
    cr_assert_eq(iteration, h->calls + 1, "every step, in order");
    cr_assert_geq(seconds, 0);
    cr_assert(isfinite(relative_residual) && relative_residual >= 0);
    if (h->calls < 4096) h->residual[h->calls] = relative_residual;
    h->calls++;
    return iteration == h->stop_at;
}

// Every estimate at most the one before (rounding slack: the true residual
// recomputed at a restart starts the next cycle).
static void assert_monotone(const history *h, const char *what)
{
    for (int64_t k = 1; k < h->calls && k < 4096; k++)
        cr_assert_leq(h->residual[k], h->residual[k - 1] * (1 + 1e-12) + 1e-15,
                      "%s: step %lld: %.17g after %.17g", what, (long long)(k + 1), h->residual[k],
                      h->residual[k - 1]);
}

static void solve_all(const double *dense, int64_t n, uint64_t seed, int64_t restart,
                      int64_t iterations[KINDS])
{
    fm_square *g = fm_test_square_dense(dense, n);
    double *b = fm_test_uniform_range(n, seed, -1, 1), *expected = malloc(sizeof(double) * n);
    double *x = malloc(sizeof(double) * n), *x_ilu = malloc(sizeof(double) * n);
    dense_general_solve(dense, n, b, expected);
    fm_krylov_options opt;
    fm_krylov_defaults(&opt, n);
    cr_assert_eq(opt.restart, 50);
    opt.tol = 1e-10;
    opt.restart = restart;
    history h;
    opt.observer = record;
    opt.context = &h;
    for (int k = 0; k < KINDS; k++) {
        fm_precond *M = make(k, g);
        fm_krylov_result result;
        char msg[FM_MSG_LEN];
        h = (history){ .stop_at = -1 };
        for (int64_t i = 0; i < n; i++) x[i] = NAN;   // x is output only
        cr_assert_eq(fm_gmres(&result, g->A, b, x, M, &opt, msg), FM_OK, "%s: %s", kind_names[k], msg);
        cr_assert(result.converged, "%s", kind_names[k]);
        cr_assert_not(result.stopped);
        cr_assert_eq(h.calls, result.iterations);
        cr_assert_leq(result.relative_residual, opt.tol, "%s: %g", kind_names[k],
                      result.relative_residual);
        cr_assert_leq(dense_relative_residual(dense, n, b, x), 1.01 * opt.tol, "%s", kind_names[k]);
        cr_assert_float_eq(result.relative_residual, dense_relative_residual(dense, n, b, x),
                           1e-3 * opt.tol, "%s: the true residual", kind_names[k]);
        cr_assert_lt(fm_test_max_relative(x, expected, n), 1e-7, "%s", kind_names[k]);
        assert_monotone(&h, kind_names[k]);
        iterations[k] = result.iterations;
        if (k == ILU0) memcpy(x_ilu, x, sizeof(double) * n);
        if (k == GIVEN_LU)
            cr_assert_eq(memcmp(x, x_ilu, sizeof(double) * n), 0, "the same L U, the same x");
        fm_precond_free(&M);
    }
    cr_assert_eq(iterations[ILU0], iterations[GIVEN_LU], "the same L U, the same iterations");
    free(b);
    free(expected);
    free(x);
    free(x_ilu);
    fm_square_free(&g);
}

Test(gmres, matches_lapack_on_random_nonsymmetric)
{
    int64_t n = 150, iterations[KINDS];
    double *dense = random_nonsymmetric(n, 6, 1.02, 1);
    solve_all(dense, n, 2, 50, iterations);
    cr_assert_lt(iterations[ILU0], iterations[NONE], "ILU(0) beats none");
    free(dense);
}

Test(gmres, matches_lapack_with_a_small_restart)
{
    // restart 5 on a system that needs many cycles: the residual history
    // stays monotone across restarts
    int64_t n = 150, iterations[KINDS];
    double *dense = random_nonsymmetric(n, 8, 1.0, 3);
    solve_all(dense, n, 4, 5, iterations);
    cr_assert_gt(iterations[NONE], 3 * 5, "several restarts (%lld steps)", (long long)iterations[NONE]);
    free(dense);
}

Test(gmres, matches_lapack_on_an_upwind_grid)
{
    fm_square *g = upwind_grid(15);
    int64_t n = g->n, iterations[KINDS];
    double *dense = calloc(n * n, sizeof(double));
    for (int64_t i = 0; i < n; i++)
        for (int64_t q = g->A->start[i]; q < g->A->start[i + 1]; q++)
            dense[i * n + g->A->index[q]] = g->A->value[q];
    fm_square_free(&g);
    solve_all(dense, n, 5, 50, iterations);
    cr_assert_lt(iterations[ILU0], iterations[NONE], "ILU(0) beats none");
    cr_assert_gt(iterations[NONE], 50, "restarted at least once");
    free(dense);
}

// min_y ‖b − A M⁻¹ Q y‖ / ‖b‖ by LAPACK's QR least squares (dgels), Q the
// n × k Krylov basis (row-major): the residual GMRES reaches after k steps,
// found without Hessenberg matrix or rotations.
static double least_squares_residual(const double *a, const double *inverse_diagonal,
                                     const long double *Q, int64_t n, int64_t k, const double *b)
{
    double *W = malloc(sizeof(double) * n * k), *W0 = malloc(sizeof(double) * n * k);
    double *rhs = malloc(sizeof(double) * n);
    cr_assert(W && W0 && rhs);
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < k; c++) {
            long double s = 0;
            for (int64_t j = 0; j < n; j++)
                s += (long double)a[i * n + j] * inverse_diagonal[j] * Q[j * k + c];
            W[i * k + c] = W0[i * k + c] = (double)s;
        }
    memcpy(rhs, b, sizeof(double) * n);
    cr_assert_eq(LAPACKE_dgels(LAPACK_ROW_MAJOR, 'N', (lapack_int)n, (lapack_int)k, 1, W,
                               (lapack_int)k, rhs, 1), 0);
    long double r2 = 0, b2 = 0;
    for (int64_t i = 0; i < n; i++) {
        long double r = b[i];
        for (int64_t c = 0; c < k; c++) r -= (long double)W0[i * k + c] * rhs[c];
        r2 += r * r;
        b2 += (long double)b[i] * b[i];
    }
    free(W);
    free(W0);
    free(rhs);
    return (double)sqrtl(r2 / b2);
}

Test(gmres, estimates_are_the_krylov_least_squares_minimum)
{
    // the observer's estimate after step k against min ‖b − A M⁻¹ y‖ over y
    // in the Krylov space K_k(A M⁻¹, b), whose basis is built apart (dense
    // Gram–Schmidt twice in long double), for M = I and M = diag(A)
    enum { N = 80, STEPS = 12 };
    double *a = random_nonsymmetric(N, 5, 1.0, 13);
    fm_square *g = fm_test_square_dense(a, N);
    double *b = fm_test_uniform_range(N, 14, -1, 1), x[N], inverse_diagonal[N];
    for (int kind = NONE; kind <= JACOBI; kind++) {
        for (int64_t i = 0; i < N; i++) inverse_diagonal[i] = kind == JACOBI ? 1 / a[i * N + i] : 1;
        fm_precond *M = make(kind, g);
        fm_krylov_options opt;
        fm_krylov_defaults(&opt, N);
        opt.tol = 0;
        opt.max_iters = STEPS;
        history h = { .stop_at = -1 };
        opt.observer = record;
        opt.context = &h;
        fm_krylov_result result;
        char msg[FM_MSG_LEN];
        cr_assert_eq(fm_gmres(&result, g->A, b, x, M, &opt, msg), FM_OK, "%s", msg);
        cr_assert_eq(h.calls, STEPS);
        // the basis, by columns of Q (N × STEPS row-major), in long double
        static long double Q[N * STEPS], w[N];
        long double norm = 0;
        for (int64_t i = 0; i < N; i++) norm += (long double)b[i] * b[i];
        for (int64_t i = 0; i < N; i++) Q[i * STEPS] = b[i] / sqrtl(norm);
        for (int64_t k = 1; k <= STEPS; k++) {
            // Q holds k columns here (the others are zero in the product below)
            static long double Qk[N * STEPS];
            for (int64_t i = 0; i < N; i++)
                for (int64_t c = 0; c < k; c++) Qk[i * k + c] = Q[i * STEPS + c];
            double expected = least_squares_residual(a, inverse_diagonal, Qk, N, k, b);
            cr_assert_float_eq(h.residual[k - 1], expected, 1e-8 * expected + 1e-13,
                               "%s, step %lld: %g, %g", kind_names[kind], (long long)k,
                               h.residual[k - 1], expected);
            if (k == STEPS) break;
            for (int64_t i = 0; i < N; i++) {
                w[i] = 0;
                for (int64_t j = 0; j < N; j++)
                    w[i] += (long double)a[i * N + j] * inverse_diagonal[j] * Q[j * STEPS + k - 1];
            }
            for (int pass = 0; pass < 2; pass++)
                for (int64_t c = 0; c < k; c++) {
                    long double d = 0;
                    for (int64_t i = 0; i < N; i++) d += w[i] * Q[i * STEPS + c];
                    for (int64_t i = 0; i < N; i++) w[i] -= d * Q[i * STEPS + c];
                }
            norm = 0;
            for (int64_t i = 0; i < N; i++) norm += w[i] * w[i];
            for (int64_t i = 0; i < N; i++) Q[i * STEPS + k] = w[i] / sqrtl(norm);
        }
        cr_assert_float_eq(result.relative_residual, h.residual[STEPS - 1], 1e-10,
                           "the true residual at the end");
        fm_precond_free(&M);
    }
    free(a);
    free(b);
    fm_square_free(&g);
}

Test(gmres, exact_preconditioner_converges_in_one_step)
{
    // a tridiagonal matrix: ILU(0) is its exact LU, so A M⁻¹ = I
    int64_t n = 40;
    double *dense = calloc(n * n, sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        dense[i * n + i] = 3 + 0.1 * (double)i;
        if (i > 0) dense[i * n + i - 1] = -1.5;
        if (i + 1 < n) dense[i * n + i + 1] = -0.5;
    }
    fm_square *g = fm_test_square_dense(dense, n);
    fm_precond *M = make(ILU0, g);
    double *b = fm_test_uniform_range(n, 6, 0, 1), *x = calloc(n, sizeof(double));
    fm_krylov_result result;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_gmres(&result, g->A, b, x, M, NULL, msg), FM_OK, "%s", msg);
    cr_assert(result.converged);
    cr_assert_eq(result.iterations, 1);
    cr_assert_lt(dense_relative_residual(dense, n, b, x), 1e-12);
    fm_precond_free(&M);
    fm_square_free(&g);
    free(dense);
    free(b);
    free(x);
}

Test(gmres, happy_breakdown_is_convergence)
{
    // b an eigenvector of A: A v_0 = 2 v_0 exactly, h_10 = 0 at the first
    // step; with tol = 0 only an exact breakdown can converge
    double dense[16] = { 2, 0, 0, 0, 0, 4, 1, 0, 0, 0, 8, 0, 0, 0, 0, 16 };
    fm_square *g = fm_test_square_dense(dense, 4);
    double b[4] = { 2, 0, 0, 0 }, x[4];
    fm_krylov_options opt;
    fm_krylov_defaults(&opt, 4);
    opt.tol = 0;
    fm_krylov_result result;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_gmres(&result, g->A, b, x, NULL, &opt, msg), FM_OK, "%s", msg);
    cr_assert(result.converged);
    cr_assert_eq(result.iterations, 1);
    cr_assert_eq(result.relative_residual, 0);
    cr_assert_eq(x[0], 1);
    for (int i = 1; i < 4; i++) cr_assert_eq(x[i], 0);
    fm_square_free(&g);
}

Test(gmres, singular_matrix_is_an_error)
{
    double dense[4] = { 0, 0, 0, 1 };   // the first diagonal entry stored as an explicit zero
    fm_square *g = fm_test_square_dense(dense, 2);
    double b[2] = { 1, 0 }, x[2];
    fm_krylov_result result;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_gmres(&result, g->A, b, x, NULL, NULL, msg), FM_ERR_NUMERIC);
    cr_assert_not_null(strstr(msg, "singular"), "%s", msg);
    cr_assert_not_null(strstr(msg, "step 1"), "%s", msg);
    cr_assert_not(result.converged);
    cr_assert_eq(result.iterations, 0);
    cr_assert_eq(x[0], 0);
    cr_assert_eq(x[1], 0);
    fm_square_free(&g);
}

Test(gmres, zero_right_hand_side)
{
    double *dense = random_nonsymmetric(30, 4, 1.1, 7);
    fm_square *g = fm_test_square_dense(dense, 30);
    fm_precond *M = make(ILU0, g);
    double b[30] = { 0 }, x[30];
    for (int i = 0; i < 30; i++) x[i] = 1;
    fm_krylov_result result;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_gmres(&result, g->A, b, x, M, NULL, msg), FM_OK, "%s", msg);
    cr_assert(result.converged);
    cr_assert_eq(result.iterations, 0);
    cr_assert_eq(result.relative_residual, 0);
    for (int i = 0; i < 30; i++) cr_assert_eq(x[i], 0);
    fm_precond_free(&M);
    fm_square_free(&g);
    free(dense);
}

Test(gmres, iteration_limit_is_not_an_error)
{
    fm_square *g = upwind_grid(12);
    double *b = fm_test_uniform_range(g->n, 8, 0, 1), *x = calloc(g->n, sizeof(double));
    fm_krylov_options opt;
    fm_krylov_defaults(&opt, g->n);
    cr_assert_eq(opt.max_iters, 10 * g->n);
    fm_krylov_result result;
    char msg[FM_MSG_LEN];
    const int64_t limits[] = { 7, 12 };   // within the first cycle, and past a restart of 5
    for (int t = 0; t < 2; t++) {
        opt.max_iters = limits[t];
        opt.restart = t == 0 ? 50 : 5;
        cr_assert_eq(fm_gmres(&result, g->A, b, x, NULL, &opt, msg), FM_OK, "%s", msg);
        cr_assert_not(result.converged);
        cr_assert_not(result.stopped);
        cr_assert_eq(result.iterations, limits[t]);
        cr_assert(isfinite(result.relative_residual));
        cr_assert_gt(result.relative_residual, opt.tol);
        cr_assert_lt(result.relative_residual, 1, "x improved on x_0 = 0");
    }
    opt.max_iters = 0;
    cr_assert_eq(fm_gmres(&result, g->A, b, x, NULL, &opt, msg), FM_OK, "%s", msg);
    cr_assert_eq(result.iterations, 0);
    cr_assert_eq(result.relative_residual, 1, "x = 0");
    for (int64_t i = 0; i < g->n; i++) cr_assert_eq(x[i], 0);
    free(b);
    free(x);
    fm_square_free(&g);
}

Test(gmres, observer_can_stop)
{
    fm_square *g = upwind_grid(10);
    double *b = fm_test_uniform_range(g->n, 9, 0, 1), *x = calloc(g->n, sizeof(double));
    fm_krylov_options opt;
    fm_krylov_defaults(&opt, g->n);
    history h = { .stop_at = 3 };
    opt.observer = record;
    opt.context = &h;
    fm_krylov_result result;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_gmres(&result, g->A, b, x, NULL, &opt, msg), FM_OK, "%s", msg);
    cr_assert(result.stopped);
    cr_assert_not(result.converged);
    cr_assert_eq(result.iterations, 3);
    cr_assert_eq(h.calls, 3);
    cr_assert_float_eq(result.relative_residual, h.residual[2], 1e-10,
                       "x formed at the stop: the true residual is the estimate");
    free(b);
    free(x);
    fm_square_free(&g);
}

Test(gmres, nan_in_a_is_a_numeric_error)
{
    fm_square *g = upwind_grid(6);
    g->A->value[17] = NAN;   // after the graph's checks, as a corrupted matrix
    double *b = fm_test_uniform_range(g->n, 10, 0, 1), *x = calloc(g->n, sizeof(double));
    fm_krylov_result result;
    char msg[FM_MSG_LEN];
    for (int kind = NONE; kind <= JACOBI; kind++) {
        fm_precond *M = make(kind, g);
        cr_assert_eq(fm_gmres(&result, g->A, b, x, M, NULL, msg), FM_ERR_NUMERIC);
        cr_assert_not_null(strstr(msg, "step 1"), "%s", msg);
        cr_assert_not_null(strstr(msg, "non-finite"), "%s", msg);
        cr_assert_not(result.converged);
        cr_assert_eq(result.iterations, 0);
        cr_assert_eq(result.relative_residual, 1, "x stays 0");
        for (int64_t i = 0; i < g->n; i++) cr_assert_eq(x[i], 0);
        fm_precond_free(&M);
    }
    free(b);
    free(x);
    fm_square_free(&g);
}

Test(gmres, overflowing_preconditioner_is_a_numeric_error)
{
    // M = L U with L = U = 1e-170 I: M⁻¹ r overflows to infinity
    fm_square *g = upwind_grid(4);
    int64_t n = g->n;
    fm_csr *L = NULL, *U = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_csr_new(&L, n, n, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_csr_new(&U, n, n, msg), FM_OK, "%s", msg);
    for (int64_t i = 0; i < n; i++) {
        L->start[i + 1] = U->start[i + 1] = i + 1;
        L->index[i] = U->index[i] = i;
        L->value[i] = U->value[i] = 1e-170;
    }
    fm_precond *M = NULL;
    cr_assert_eq(fm_precond_from_lu(&M, &L, &U, msg), FM_OK, "%s", msg);
    double *b = fm_test_uniform_range(n, 11, 0, 1), *x = calloc(n, sizeof(double));
    fm_krylov_result result;
    cr_assert_eq(fm_gmres(&result, g->A, b, x, M, NULL, msg), FM_ERR_NUMERIC);
    cr_assert_not_null(strstr(msg, "preconditioner"), "%s", msg);
    cr_assert_not_null(strstr(msg, "step 1"), "%s", msg);
    cr_assert_eq(result.iterations, 0);
    fm_precond_free(&M);
    free(b);
    free(x);
    fm_square_free(&g);
}

Test(gmres, bad_arguments)
{
    fm_square *g = upwind_grid(4);
    double b[16], x[16];
    for (int i = 0; i < 16; i++) b[i] = 1;
    fm_krylov_options opt;
    fm_krylov_defaults(&opt, g->n);
    fm_krylov_result result;
    char msg[FM_MSG_LEN];
    opt.restart = 0;
    cr_assert_eq(fm_gmres(&result, g->A, b, x, NULL, &opt, msg), FM_ERR_INVALID);
    cr_assert_not_null(strstr(msg, "restart"), "%s", msg);
    opt.restart = -3;
    cr_assert_eq(fm_gmres(&result, g->A, b, x, NULL, &opt, msg), FM_ERR_INVALID);
    fm_krylov_defaults(&opt, g->n);
    opt.tol = -1;
    cr_assert_eq(fm_gmres(&result, g->A, b, x, NULL, &opt, msg), FM_ERR_INVALID);
    opt.tol = NAN;
    cr_assert_eq(fm_gmres(&result, g->A, b, x, NULL, &opt, msg), FM_ERR_INVALID);
    fm_krylov_defaults(&opt, g->n);
    opt.max_iters = -1;
    cr_assert_eq(fm_gmres(&result, g->A, b, x, NULL, &opt, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_gmres(NULL, g->A, b, x, NULL, NULL, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_gmres(&result, NULL, b, x, NULL, NULL, msg), FM_ERR_INVALID);
    b[9] = INFINITY;
    cr_assert_eq(fm_gmres(&result, g->A, b, x, NULL, NULL, msg), FM_ERR_INVALID);
    cr_assert_not_null(strstr(msg, "entry 10"), "%s", msg);
    b[9] = 1;
    fm_precond *M = NULL;
    cr_assert_eq(fm_precond_none(&M, 15, msg), FM_OK);
    cr_assert_eq(fm_gmres(&result, g->A, b, x, M, NULL, msg), FM_ERR_INVALID);
    cr_assert_not_null(strstr(msg, "15"), "%s", msg);
    fm_precond_free(&M);
    fm_square_free(&g);
}

Test(gmres, same_bits_for_one_and_two_threads)
{
    // n = 44 100: eleven blocks of the dot products, the Gram–Schmidt
    // updates and the combination of the basis; A (220 080 entries), L and U
    // (131 880 each) above the engine's thresholds for a parallel SpMV and
    // parallel solves (2^17 entries). 40 steps with restart 15 (two
    // restarts) suffice to compare. (Run as ctest does, with
    // OMP_WAIT_POLICY=passive: on a loaded machine spinning threads make each
    // of the solves' ~500 parallel regions wait for a time slice.)
    fm_square *g = upwind_grid(210);
    fm_krylov_options opt;
    fm_krylov_defaults(&opt, g->n);
    opt.max_iters = 40;
    opt.restart = 15;
    opt.tol = 0;
    double *b = fm_test_uniform_range(g->n, 12, 0, 1);
    double *x1 = calloc(g->n, sizeof(double)), *x2 = calloc(g->n, sizeof(double));
    for (int kind = NONE; kind <= ILU0; kind++) {
        fm_precond *M = make(kind, g);
        fm_krylov_result r1, r2;
        char msg[FM_MSG_LEN];
        fm_set_threads(1);
        cr_assert_eq(fm_gmres(&r1, g->A, b, x1, M, &opt, msg), FM_OK, "%s", msg);
        fm_set_threads(2);
        cr_assert_eq(fm_gmres(&r2, g->A, b, x2, M, &opt, msg), FM_OK, "%s", msg);
        cr_assert_eq(r1.iterations, 40);
        cr_assert_eq(r1.iterations, r2.iterations, "%s", kind_names[kind]);
        cr_assert_eq(r1.relative_residual, r2.relative_residual, "%s", kind_names[kind]);
        cr_assert_eq(memcmp(x1, x2, sizeof(double) * g->n), 0, "%s", kind_names[kind]);
        fm_precond_free(&M);
    }
    free(b);
    free(x1);
    free(x2);
    fm_square_free(&g);
}

Test(gmres, basis_over_the_memory_limit_is_refused)
{
    // 51 vectors of 2 500 entries: 1.02 MB against a limit of 0.5 MB
    fm_square *g = upwind_grid(50);
    double *b = fm_test_uniform_range(g->n, 15, 0, 1), *x = calloc(g->n, sizeof(double));
    fm_krylov_options opt;
    fm_krylov_defaults(&opt, g->n);
    fm_krylov_result result;
    char msg[FM_MSG_LEN];
    fm_set_memory_limit(500000);
    cr_assert_eq(fm_gmres(&result, g->A, b, x, NULL, &opt, msg), FM_ERR_MEMORY);
    cr_assert_not_null(strstr(msg, "restart"), "%s", msg);
    cr_assert_not_null(strstr(msg, "GMRES(50)"), "%s", msg);
    opt.restart = 10;
    cr_assert_eq(fm_gmres(&result, g->A, b, x, NULL, &opt, msg), FM_OK, "%s", msg);
    cr_assert(result.converged);
    fm_set_memory_limit(0);
    free(b);
    free(x);
    fm_square_free(&g);
}
