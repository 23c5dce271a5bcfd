// GMRES(m) (P3) against a dense LAPACK solve with the general
// preconditioners (none, Jacobi, ILU(0), a given L U): its solutions, its
// residual history and restarts, its estimates against the Krylov
// least-squares minimum, an exact preconditioner. (test_gmres_edges.c: its
// edge cases and errors.)
#include <criterion/criterion.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gmres_fixtures.h"
#include "helpers.h"
#include "krylov.h"
#include "solver_fixtures.h"

TestSuite(gmres, .init = fm_test_setup);

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

// Every estimate at most the one before (rounding slack: the true residual
// recomputed at a restart starts the next cycle).
static void assert_monotone(const fm_test_history *h, const char *what)
{
    for (int64_t k = 1; k < h->calls && k < 4096; k++)
        cr_assert_leq(h->residual[k], h->residual[k - 1] * (1 + 1e-12) + 1e-15,
                      "%s: step %lld: %.17g after %.17g", what, (long long)(k + 1), h->residual[k],
                      h->residual[k - 1]);
}

static void solve_all(const double *dense, int64_t n, uint64_t seed, int64_t restart,
                      int64_t iterations[PRECOND_KINDS])
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
    fm_test_history h;
    opt.observer = fm_test_record_residual;
    opt.context = &h;
    for (int k = 0; k < PRECOND_KINDS; k++) {
        fm_precond *M = fm_test_make_precond(k, g);
        fm_krylov_result result;
        char msg[FM_MSG_LEN];
        h = (fm_test_history){ .stop_at = -1 };
        for (int64_t i = 0; i < n; i++) x[i] = NAN;   // x is output only
        cr_assert_eq(fm_gmres(&result, g->A, b, x, M, &opt, msg), FM_OK, "%s: %s", fm_test_precond_names[k], msg);
        cr_assert(result.converged, "%s", fm_test_precond_names[k]);
        cr_assert_not(result.stopped);
        cr_assert_eq(h.calls, result.iterations);
        cr_assert_leq(result.relative_residual, opt.tol, "%s: %g", fm_test_precond_names[k],
                      result.relative_residual);
        cr_assert_leq(dense_relative_residual(dense, n, b, x), 1.01 * opt.tol, "%s", fm_test_precond_names[k]);
        cr_assert_float_eq(result.relative_residual, dense_relative_residual(dense, n, b, x),
                           1e-3 * opt.tol, "%s: the true residual", fm_test_precond_names[k]);
        cr_assert_lt(fm_test_max_relative(x, expected, n), 1e-7, "%s", fm_test_precond_names[k]);
        assert_monotone(&h, fm_test_precond_names[k]);
        iterations[k] = result.iterations;
        if (k == PRECOND_ILU0) memcpy(x_ilu, x, sizeof(double) * n);
        if (k == PRECOND_GIVEN_LU)
            cr_assert_eq(memcmp(x, x_ilu, sizeof(double) * n), 0, "the same L U, the same x");
        fm_precond_free(&M);
    }
    cr_assert_eq(iterations[PRECOND_ILU0], iterations[PRECOND_GIVEN_LU], "the same L U, the same iterations");
    free(b);
    free(expected);
    free(x);
    free(x_ilu);
    fm_square_free(&g);
}

Test(gmres, matches_lapack_on_random_nonsymmetric)
{
    int64_t n = 150, iterations[PRECOND_KINDS];
    double *dense = fm_test_random_nonsymmetric(n, 6, 1.02, 1);
    solve_all(dense, n, 2, 50, iterations);
    cr_assert_lt(iterations[PRECOND_ILU0], iterations[PRECOND_NONE], "ILU(0) beats none");
    free(dense);
}

Test(gmres, matches_lapack_with_a_small_restart)
{
    // restart 5 on a system that needs many cycles: the residual fm_test_history
    // stays monotone across restarts
    int64_t n = 150, iterations[PRECOND_KINDS];
    double *dense = fm_test_random_nonsymmetric(n, 8, 1.0, 3);
    solve_all(dense, n, 4, 5, iterations);
    cr_assert_gt(iterations[PRECOND_NONE], 3 * 5, "several restarts (%lld steps)", (long long)iterations[PRECOND_NONE]);
    free(dense);
}

Test(gmres, matches_lapack_on_an_upwind_grid)
{
    fm_square *g = fm_test_upwind_grid(15);
    int64_t n = g->n, iterations[PRECOND_KINDS];
    double *dense = calloc(n * n, sizeof(double));
    for (int64_t i = 0; i < n; i++)
        for (int64_t q = g->A->start[i]; q < g->A->start[i + 1]; q++)
            dense[i * n + g->A->index[q]] = g->A->value[q];
    fm_square_free(&g);
    solve_all(dense, n, 5, 50, iterations);
    cr_assert_lt(iterations[PRECOND_ILU0], iterations[PRECOND_NONE], "ILU(0) beats none");
    cr_assert_gt(iterations[PRECOND_NONE], 50, "restarted at least once");
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
    double *a = fm_test_random_nonsymmetric(N, 5, 1.0, 13);
    fm_square *g = fm_test_square_dense(a, N);
    double *b = fm_test_uniform_range(N, 14, -1, 1), x[N], inverse_diagonal[N];
    for (int kind = PRECOND_NONE; kind <= PRECOND_JACOBI; kind++) {
        for (int64_t i = 0; i < N; i++) inverse_diagonal[i] = kind == PRECOND_JACOBI ? 1 / a[i * N + i] : 1;
        fm_precond *M = fm_test_make_precond(kind, g);
        fm_krylov_options opt;
        fm_krylov_defaults(&opt, N);
        opt.tol = 0;
        opt.max_iters = STEPS;
        fm_test_history h = { .stop_at = -1 };
        opt.observer = fm_test_record_residual;
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
                               "%s, step %lld: %g, %g", fm_test_precond_names[kind], (long long)k,
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
    fm_precond *M = fm_test_make_precond(PRECOND_ILU0, g);
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
