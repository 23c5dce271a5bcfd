// PCG (P3) against a dense LAPACK solve, with every preconditioner, and its
// edge cases: breakdown, the iteration limit, b = 0, the observer, bad
// arguments, and the same bits for 1 and 2 threads.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "krylov.h"
#include "solver_fixtures.h"

TestSuite(krylov, .init = fm_test_setup);

static fm_precond *make(fm_precond_kind kind, const fm_square *g)
{
    char msg[FM_MSG_LEN];
    fm_precond *M = NULL;
    int status = FM_OK;
    switch (kind) {
    case FM_PRECOND_NONE: status = fm_precond_none(&M, g->n, msg); break;
    case FM_PRECOND_JACOBI: status = fm_precond_jacobi(&M, g, msg); break;
    case FM_PRECOND_IC0: status = fm_precond_ic0(&M, g, msg); break;
    case FM_PRECOND_DIRECT: status = fm_precond_direct(&M, g, msg); break;
    case FM_PRECOND_FACTOR: {   // IC(0)'s L handed over as a given factor
        fm_precond *ic0 = make(FM_PRECOND_IC0, g);
        fm_csr *L = NULL;
        cr_assert_eq(fm_csr_copy(&L, fm_precond_lower(ic0), msg), FM_OK, "%s", msg);
        fm_precond_free(&ic0);
        status = fm_precond_from_lower(&M, &L, msg);
        break;
    }
    default: cr_assert_fail("%s: not a CG preconditioner of this suite", fm_precond_name(kind));
    }
    cr_assert_eq(status, FM_OK, "%s: %s", fm_precond_name(kind), msg);
    return M;
}

static const fm_precond_kind kinds[] = { FM_PRECOND_NONE, FM_PRECOND_JACOBI, FM_PRECOND_IC0,
                                         FM_PRECOND_FACTOR, FM_PRECOND_DIRECT };

static void solve_all(fm_test_system *s, uint64_t seed, bool ic0_helps)
{
    double *b = fm_test_uniform_range(s->n, seed, 0, 1), *expected = calloc(s->n, sizeof(double));
    double *x = calloc(s->n, sizeof(double));
    fm_test_dense_solve(s->dense, s->n, b, expected);
    fm_krylov_options opt;
    fm_krylov_defaults(&opt, s->n);
    cr_assert_eq(opt.tol, 1e-6);
    cr_assert_eq(opt.max_iters, 10 * s->n);
    cr_assert_null(opt.observer);
    opt.tol = 1e-11;
    int64_t iterations[5];
    for (int k = 0; k < 5; k++) {
        fm_precond *M = make(kinds[k], s->graph);
        fm_krylov_result result;
        char msg[FM_MSG_LEN];
        cr_assert_eq(fm_pcg(&result, s->graph->A, b, x, M, &opt, msg), FM_OK, "%s", msg);
        cr_assert(result.converged, "%s", fm_precond_name(kinds[k]));
        cr_assert_not(result.stopped);
        cr_assert_lt(result.relative_residual, 1e-9, "%s: %g", fm_precond_name(kinds[k]),
                     result.relative_residual);
        cr_assert_geq(result.seconds, 0);
        cr_assert_lt(fm_test_max_relative(x, expected, s->n), 1e-6, "%s", fm_precond_name(kinds[k]));
        iterations[k] = result.iterations;
        fm_precond_free(&M);
    }
    cr_assert_leq(iterations[4], 2, "M = A: PCG converges at once (%lld)", (long long)iterations[4]);
    cr_assert_eq(iterations[2], iterations[3], "the same L, the same iterations");
    if (ic0_helps) cr_assert_lt(iterations[2], iterations[0], "IC(0) beats none");
    free(b);
    free(expected);
    free(x);
}

Test(krylov, pcg_matches_lapack_on_a_laplacian)
{
    fm_test_system s = fm_test_laplacian(12);
    solve_all(&s, 1, true);
    fm_test_system_free(&s);
}

Test(krylov, pcg_matches_lapack_on_random_spd)
{
    fm_test_system s = fm_test_random_spd(120, 600, 0.1, 2);
    solve_all(&s, 2, true);
    fm_test_system_free(&s);
}

Test(krylov, pcg_with_shifted_ic0)
{
    // Kershaw's blocks have four eigenvalues each: CG needs few iterations
    // unpreconditioned, and the large shift makes IC(0) no better
    fm_test_system s = fm_test_kershaw(20);
    solve_all(&s, 3, false);
    fm_test_system_free(&s);
}

Test(krylov, direct_converges_in_one_iteration)
{
    fm_test_system s = fm_test_random_spd(100, 500, 1e-3, 4);
    fm_precond *M = make(FM_PRECOND_DIRECT, s.graph);
    double *b = fm_test_uniform_range(s.n, 5, 0, 1), *x = calloc(s.n, sizeof(double));
    fm_krylov_result result;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_pcg(&result, s.graph->A, b, x, M, NULL, msg), FM_OK, "%s", msg);
    cr_assert(result.converged);
    cr_assert_eq(result.iterations, 1);
    free(b);
    free(x);
    fm_precond_free(&M);
    fm_test_system_free(&s);
}

Test(krylov, indefinite_matrix_breaks_down_with_a_message)
{
    fm_test_system s = fm_test_laplacian(6);
    for (int64_t i = 0; i < s.n; i++) s.dense[i * s.n + i] = i % 2 ? 4 : -4;
    fm_square_free(&s.graph);
    s.graph = fm_test_square_dense(s.dense, s.n);
    double *b = fm_test_uniform_range(s.n, 6, 0, 1), *x = calloc(s.n, sizeof(double));
    fm_krylov_result result;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_pcg(&result, s.graph->A, b, x, NULL, NULL, msg), FM_ERR_NUMERIC);
    cr_assert_not_null(strstr(msg, "p·Ap"), "%s", msg);
    cr_assert_not_null(strstr(msg, "iteration"), "%s", msg);
    cr_assert_not(result.converged);
    cr_assert(isfinite(result.relative_residual));
    for (int64_t i = 0; i < s.n; i++) cr_assert(isfinite(x[i]));
    free(b);
    free(x);
    fm_test_system_free(&s);
}

Test(krylov, overflowing_preconditioner_breaks_down_with_a_message)
{
    // M = L Lᵀ with L = 1e-170 I: M⁻¹ r overflows to infinity
    fm_test_system s = fm_test_laplacian(4);
    fm_csr *L = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_csr_new(&L, s.n, s.n, msg), FM_OK, "%s", msg);
    for (int64_t i = 0; i < s.n; i++) {
        L->start[i + 1] = i + 1;
        L->index[i] = i;
        L->value[i] = 1e-170;
    }
    fm_precond *M = NULL;
    cr_assert_eq(fm_precond_from_lower(&M, &L, msg), FM_OK, "%s", msg);
    double b[16], x[16];
    for (int i = 0; i < 16; i++) b[i] = 1;
    fm_krylov_result result;
    cr_assert_eq(fm_pcg(&result, s.graph->A, b, x, M, NULL, msg), FM_ERR_NUMERIC);
    cr_assert_not_null(strstr(msg, "r·M⁻¹r"), "%s", msg);
    cr_assert_not_null(strstr(msg, "iteration 0"), "%s", msg);
    cr_assert_eq(result.iterations, 0);
    cr_assert_float_eq(result.relative_residual, 1, 1e-15, "x = 0");
    fm_precond_free(&M);
    fm_test_system_free(&s);
}

Test(krylov, iteration_limit_is_not_an_error)
{
    fm_test_system s = fm_test_laplacian(15);
    double *b = fm_test_uniform_range(s.n, 7, 0, 1), *x = calloc(s.n, sizeof(double));
    fm_krylov_options opt;
    fm_krylov_defaults(&opt, s.n);
    opt.max_iters = 5;
    fm_krylov_result result;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_pcg(&result, s.graph->A, b, x, NULL, &opt, msg), FM_OK, "%s", msg);
    cr_assert_not(result.converged);
    cr_assert_not(result.stopped);
    cr_assert_eq(result.iterations, 5);
    cr_assert(isfinite(result.relative_residual));
    cr_assert_gt(result.relative_residual, 1e-6);
    opt.max_iters = 0;
    cr_assert_eq(fm_pcg(&result, s.graph->A, b, x, NULL, &opt, msg), FM_OK, "%s", msg);
    cr_assert_eq(result.iterations, 0);
    cr_assert_float_eq(result.relative_residual, 1, 1e-15, "x = 0");
    free(b);
    free(x);
    fm_test_system_free(&s);
}

Test(krylov, zero_right_hand_side)
{
    fm_test_system s = fm_test_laplacian(5);
    double b[25] = { 0 }, x[25];
    for (int i = 0; i < 25; i++) x[i] = 1;
    fm_precond *M = make(FM_PRECOND_IC0, s.graph);
    fm_krylov_result result;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_pcg(&result, s.graph->A, b, x, M, NULL, msg), FM_OK, "%s", msg);
    cr_assert(result.converged);
    cr_assert_eq(result.iterations, 0);
    cr_assert_eq(result.relative_residual, 0);
    for (int i = 0; i < 25; i++) cr_assert_eq(x[i], 0);
    fm_precond_free(&M);
    fm_test_system_free(&s);
}

typedef struct trace {
    int64_t calls, last_iteration, stop_at;
    double last_seconds, first_residual;
} trace;

static int observe(void *context, int64_t iteration, double seconds, double relative_residual)
{
    trace *t = context;
    cr_assert_eq(iteration, t->last_iteration + 1, "every iteration, in order");
    cr_assert_geq(seconds, t->last_seconds);
    cr_assert(isfinite(relative_residual) && relative_residual >= 0);
    if (t->calls == 0) t->first_residual = relative_residual;
    t->calls++;
    t->last_iteration = iteration;
    t->last_seconds = seconds;
    return iteration == t->stop_at;
}

Test(krylov, observer_sees_every_iteration_and_can_stop)
{
    fm_test_system s = fm_test_laplacian(10);
    double *b = fm_test_uniform_range(s.n, 8, 0, 1), *x = calloc(s.n, sizeof(double));
    fm_krylov_options opt;
    fm_krylov_defaults(&opt, s.n);
    trace t = { .stop_at = -1 };
    opt.observer = observe;
    opt.context = &t;
    fm_krylov_result result;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_pcg(&result, s.graph->A, b, x, NULL, &opt, msg), FM_OK, "%s", msg);
    cr_assert(result.converged);
    cr_assert_eq(t.calls, result.iterations);
    cr_assert_lt(result.relative_residual, 2e-6);

    t = (trace){ .stop_at = 3 };
    cr_assert_eq(fm_pcg(&result, s.graph->A, b, x, NULL, &opt, msg), FM_OK, "%s", msg);
    cr_assert(result.stopped);
    cr_assert_not(result.converged);
    cr_assert_eq(result.iterations, 3);
    cr_assert_eq(t.calls, 3);
    free(b);
    free(x);
    fm_test_system_free(&s);
}

Test(krylov, bad_arguments)
{
    fm_test_system s = fm_test_laplacian(4);
    double b[16], x[16];
    for (int i = 0; i < 16; i++) b[i] = 1;
    fm_krylov_options opt;
    fm_krylov_defaults(&opt, s.n);
    fm_krylov_result result;
    char msg[FM_MSG_LEN];
    opt.tol = -1;
    cr_assert_eq(fm_pcg(&result, s.graph->A, b, x, NULL, &opt, msg), FM_ERR_INVALID);
    opt.tol = NAN;
    cr_assert_eq(fm_pcg(&result, s.graph->A, b, x, NULL, &opt, msg), FM_ERR_INVALID);
    fm_krylov_defaults(&opt, s.n);
    opt.max_iters = -1;
    cr_assert_eq(fm_pcg(&result, s.graph->A, b, x, NULL, &opt, msg), FM_ERR_INVALID);
    b[9] = INFINITY;
    cr_assert_eq(fm_pcg(&result, s.graph->A, b, x, NULL, NULL, msg), FM_ERR_INVALID);
    cr_assert_not_null(strstr(msg, "entry 10"), "%s", msg);
    b[9] = 1;
    fm_precond *M = NULL;
    cr_assert_eq(fm_precond_none(&M, 15, msg), FM_OK);
    cr_assert_eq(fm_pcg(&result, s.graph->A, b, x, M, NULL, msg), FM_ERR_INVALID);
    cr_assert_not_null(strstr(msg, "15"), "%s", msg);
    fm_precond_free(&M);
    fm_test_system_free(&s);
}

// A 2-D Laplacian's graph, without its dense array (n beyond a dense test).
static fm_square *laplacian_graph(int64_t side)
{
    int64_t n = side * side, count = 0;
    int64_t *row = malloc(sizeof(int64_t) * 5 * n), *col = malloc(sizeof(int64_t) * 5 * n);
    double *val = malloc(sizeof(double) * 5 * n);
    for (int64_t x = 0; x < side; x++)
        for (int64_t y = 0; y < side; y++) {
            int64_t i = x * side + y;
            const int64_t neighbours[4][2] = { { x - 1, y }, { x + 1, y }, { x, y - 1 }, { x, y + 1 } };
            row[count] = col[count] = i;
            val[count++] = 4 + 0.01 * (double)(i % 7);
            for (int k = 0; k < 4; k++)
                if (neighbours[k][0] >= 0 && neighbours[k][0] < side && neighbours[k][1] >= 0 &&
                    neighbours[k][1] < side) {
                    row[count] = i;
                    col[count] = neighbours[k][0] * side + neighbours[k][1];
                    val[count++] = -1;
                }
        }
    return fm_test_square_taking(n, count, row, col, val, false);
}

Test(krylov, same_bits_for_one_and_two_threads)
{
    // n = 44 100: eleven blocks of the dot products; A (220 000 entries) and
    // L (132 000) above the engine's thresholds for a parallel SpMV and
    // parallel solves (2^17 entries). Sixty iterations suffice to compare.
    fm_square *g = laplacian_graph(210);
    fm_krylov_options opt;
    fm_krylov_defaults(&opt, g->n);
    opt.max_iters = 60;
    double *b = fm_test_uniform_range(g->n, 9, 0, 1);
    double *x1 = calloc(g->n, sizeof(double)), *x2 = calloc(g->n, sizeof(double));
    const fm_precond_kind some[] = { FM_PRECOND_NONE, FM_PRECOND_JACOBI, FM_PRECOND_IC0 };
    for (int k = 0; k < 3; k++) {
        fm_precond *M = make(some[k], g);
        fm_krylov_result r1, r2;
        char msg[FM_MSG_LEN];
        fm_set_threads(1);
        cr_assert_eq(fm_pcg(&r1, g->A, b, x1, M, &opt, msg), FM_OK, "%s", msg);
        fm_set_threads(2);
        cr_assert_eq(fm_pcg(&r2, g->A, b, x2, M, &opt, msg), FM_OK, "%s", msg);
        cr_assert_eq(r1.iterations, r2.iterations, "%s", fm_precond_name(some[k]));
        cr_assert_eq(r1.relative_residual, r2.relative_residual);
        cr_assert_eq(memcmp(x1, x2, sizeof(double) * g->n), 0, "%s", fm_precond_name(some[k]));
        fm_precond_free(&M);
    }
    free(b);
    free(x1);
    free(x2);
    fm_square_free(&g);
}
