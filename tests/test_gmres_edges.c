// GMRES(m) (P3) at its edges: happy breakdown, a singular matrix, a zero
// right-hand side, the iteration limit, an observer that stops it, NaN and
// overflow, bad arguments, a basis over the memory limit, and the same bits
// for 1 and 2 threads. (test_gmres.c: against a dense LAPACK solve.)
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gmres_fixtures.h"
#include "helpers.h"
#include "krylov.h"
#include "solver_fixtures.h"

TestSuite(gmres, .init = fm_test_setup);

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
    double *dense = fm_test_random_nonsymmetric(30, 4, 1.1, 7);
    fm_square *g = fm_test_square_dense(dense, 30);
    fm_precond *M = fm_test_make_precond(PRECOND_ILU0, g);
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
    fm_square *g = fm_test_upwind_grid(12);
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
    fm_square *g = fm_test_upwind_grid(10);
    double *b = fm_test_uniform_range(g->n, 9, 0, 1), *x = calloc(g->n, sizeof(double));
    fm_krylov_options opt;
    fm_krylov_defaults(&opt, g->n);
    fm_test_history h = { .stop_at = 3 };
    opt.observer = fm_test_record_residual;
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
    fm_square *g = fm_test_upwind_grid(6);
    g->A->value[17] = NAN;   // after the graph's checks, as a corrupted matrix
    double *b = fm_test_uniform_range(g->n, 10, 0, 1), *x = calloc(g->n, sizeof(double));
    fm_krylov_result result;
    char msg[FM_MSG_LEN];
    for (int kind = PRECOND_NONE; kind <= PRECOND_JACOBI; kind++) {
        fm_precond *M = fm_test_make_precond(kind, g);
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
    fm_square *g = fm_test_upwind_grid(4);
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
    fm_square *g = fm_test_upwind_grid(4);
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
    fm_square *g = fm_test_upwind_grid(210);
    fm_krylov_options opt;
    fm_krylov_defaults(&opt, g->n);
    opt.max_iters = 40;
    opt.restart = 15;
    opt.tol = 0;
    double *b = fm_test_uniform_range(g->n, 12, 0, 1);
    double *x1 = calloc(g->n, sizeof(double)), *x2 = calloc(g->n, sizeof(double));
    for (int kind = PRECOND_NONE; kind <= PRECOND_ILU0; kind++) {
        fm_precond *M = fm_test_make_precond(kind, g);
        fm_krylov_result r1, r2;
        char msg[FM_MSG_LEN];
        fm_set_threads(1);
        cr_assert_eq(fm_gmres(&r1, g->A, b, x1, M, &opt, msg), FM_OK, "%s", msg);
        fm_set_threads(2);
        cr_assert_eq(fm_gmres(&r2, g->A, b, x2, M, &opt, msg), FM_OK, "%s", msg);
        cr_assert_eq(r1.iterations, 40);
        cr_assert_eq(r1.iterations, r2.iterations, "%s", fm_test_precond_names[kind]);
        cr_assert_eq(r1.relative_residual, r2.relative_residual, "%s", fm_test_precond_names[kind]);
        cr_assert_eq(memcmp(x1, x2, sizeof(double) * g->n), 0, "%s", fm_test_precond_names[kind]);
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
    fm_square *g = fm_test_upwind_grid(50);
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
