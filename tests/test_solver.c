// AO-ADMM (§3): planted problems are recovered, the objective does not rise,
// the three kinds agree where they describe the same problem (the ADMM
// update against brute-force nonnegative least squares: test_solver_nnls.c).
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "admm.h"
#include "products.h"
#include "helpers.h"
#include "rng.h"

TestSuite(solver, .init = fm_test_setup);

static fm_solver_result *solve(fm_graph *g, int rank, int iters, int inner, fm_init_method init)
{
    fm_solver_options o;
    fm_solver_options_default(&o);
    o.rank = rank;
    o.iters = iters;
    o.inner = inner;
    o.init = init;
    o.tol = 0;
    o.finish_below = 0;   // every kind in the same phase (the incomplete kind's default waits for ADMM to slow)
    fm_solver_result *r = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_OK, "%s", msg);
    return r;
}

static double relative_rmse(const fm_solver_result *r, fm_graph *g)
{
    fm_graph_stats st;
    fm_graph_stats_get(g, &st);
    return r->trace[r->trace_len - 1].rmse / sqrt(st.sumsq / fm_graph_omega(g));
}

// Planted W·H whose factors have exact zeros, so that X has true zeros.
static float *planted_with_zeros(int64_t rows, int64_t cols, int rank, uint64_t seed)
{
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    float *W = malloc(sizeof(float) * rows * rank), *H = malloc(sizeof(float) * rank * cols);
    float *X = calloc(rows * cols, sizeof(float));
    for (int64_t e = 0; e < rows * rank; e++)
        W[e] = fm_rng_uniform(rng, 2 * e) < 0.5 ? 0 : (float)fm_rng_exponential(rng, 2 * e + 1, 1);
    for (int64_t e = 0; e < rank * cols; e++)
        H[e] = fm_rng_uniform(rng, 1000000 + 2 * e) < 0.5 ? 0 : (float)fm_rng_exponential(rng, 1000001 + 2 * e, 1);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            for (int r = 0; r < rank; r++) X[i * cols + j] += W[i * rank + r] * H[r * cols + j];
    free(W);
    free(H);
    return X;
}

Test(solver, planted_dense_is_recovered)
{
    float *X = fm_test_planted(60, 40, 3, 1);
    fm_graph *g = fm_test_graph_dense(X, 60, 40, FM_KIND_DENSE);
    fm_solver_result *r = solve(g, 3, 400, 3, FM_INIT_NNDSVD);
    double rel = relative_rmse(r, g);
    cr_assert_lt(rel, 1e-3, "relative RMSE %g", rel);
    fm_solver_result_free(&r);
    fm_graph_free(&g);
    free(X);
}

Test(solver, planted_sparse_is_recovered)
{
    float *X = planted_with_zeros(60, 40, 3, 2);
    int64_t zeros = 0;
    for (int e = 0; e < 60 * 40; e++) zeros += X[e] == 0;
    cr_assert_gt(zeros, 60 * 40 / 5, "the planted matrix should have many true zeros (%lld)", (long long)zeros);
    fm_graph *g = fm_test_graph_dense(X, 60, 40, FM_KIND_SPARSE);
    fm_solver_result *r = solve(g, 3, 400, 3, FM_INIT_NNDSVD);
    double rel = relative_rmse(r, g);
    cr_assert_lt(rel, 1e-3, "relative RMSE %g", rel);
    // the reported RMSE is the one of the written factors, zeros included
    double check;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_rmse(&check, g, r->W, r->H, msg), FM_OK, "%s", msg);
    cr_assert(fabs(check - r->trace[r->trace_len - 1].rmse) <= 1e-6 * check + 1e-9);
    fm_solver_result_free(&r);
    fm_graph_free(&g);
    free(X);
}

Test(solver, planted_incomplete_is_recovered)
{
    const int64_t rows = 80, cols = 60;
    float *X = fm_test_planted(rows, cols, 3, 3);
    fm_rng rng = fm_rng_stream(7, FM_STREAM_HOLDOUT);
    fm_triplets t = { .rows = rows, .cols = cols };
    t.row = malloc(sizeof(int64_t) * rows * cols);
    t.col = malloc(sizeof(int64_t) * rows * cols);
    t.val = malloc(sizeof(float) * rows * cols);
    for (int64_t e = 0; e < rows * cols; e++)
        if (fm_rng_uniform(rng, e) < 0.3) {
            t.row[t.count] = e / cols;
            t.col[t.count] = e % cols;
            t.val[t.count++] = X[e];
        }
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_graph_from_triplets(&g, &t, FM_KIND_INCOMPLETE, msg), FM_OK, "%s", msg);
    fm_solver_result *r = solve(g, 3, 600, 3, FM_INIT_NNDSVD);
    double rel = relative_rmse(r, g);
    cr_assert_lt(rel, 1e-3, "relative RMSE over the observed entries %g", rel);
    fm_solver_result_free(&r);
    fm_graph_free(&g);
    free(t.row);
    free(t.col);
    free(t.val);
    free(X);
}

Test(solver, objective_never_rises)
{
    float *X = fm_test_uniform(50 * 35, 4);
    for (int kk = 0; kk < 3; kk++) {
        fm_kind kind = (fm_kind[]){ FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE }[kk];
        for (int init = 0; init < 2; init++) {
            fm_graph *g = fm_test_graph_dense(X, 50, 35, kind);
            fm_solver_result *r = solve(g, 4, 60, 1, init ? FM_INIT_NNDSVD : FM_INIT_RANDOM);
            for (int i = 1; i < r->trace_len; i++)
                cr_assert_leq(r->trace[i].objective, r->trace[i - 1].objective * (1 + 1e-6),
                              "%s kind, %s init: the objective rose at iteration %d: %.9g -> %.9g",
                              fm_kind_name(kind), init ? "nndsvd" : "random", i, r->trace[i - 1].objective,
                              r->trace[i].objective);
            fm_solver_result_free(&r);
            fm_graph_free(&g);
        }
    }
    free(X);
}

static double max_relative_difference(const fm_dense *a, const fm_dense *b)
{
    double diff = 0, scale = 0;
    for (int64_t e = 0; e < a->rows * a->cols; e++) {
        diff = fmax(diff, fabs(a->data[e] - b->data[e]));
        scale = fmax(scale, fabs(b->data[e]));
    }
    return diff / scale;
}

Test(solver, complete_incomplete_follows_dense)
{
    float *X = fm_test_uniform(40 * 30, 5);
    fm_graph *dense = fm_test_graph_dense(X, 40, 30, FM_KIND_DENSE);
    fm_graph *incomplete = fm_test_graph_dense(X, 40, 30, FM_KIND_INCOMPLETE);
    for (int iters = 1; iters <= 20; iters += 19) {
        fm_solver_result *a = solve(dense, 4, iters, 1, FM_INIT_NNDSVD);
        fm_solver_result *b = solve(incomplete, 4, iters, 1, FM_INIT_NNDSVD);
        for (int i = 0; i < a->trace_len; i++)
            cr_assert(fabs(a->trace[i].rmse - b->trace[i].rmse) <= 1e-5 * a->trace[i].rmse,
                      "iteration %d: rmse %.9g vs %.9g", i, a->trace[i].rmse, b->trace[i].rmse);
        cr_assert_leq(max_relative_difference(b->W, a->W), 1e-5, "W after %d iterations", iters);
        cr_assert_leq(max_relative_difference(b->H, a->H), 1e-5, "H after %d iterations", iters);
        fm_solver_result_free(&a);
        fm_solver_result_free(&b);
    }
    fm_graph_free(&dense);
    fm_graph_free(&incomplete);
    free(X);
}

Test(solver, sparse_follows_dense_with_its_zeros)
{
    float *X = fm_test_uniform(45 * 32, 6);
    for (int e = 0; e < 45 * 32; e++)
        if (X[e] < 0.6f) X[e] = 0;   // 60% true zeros
    fm_graph *dense = fm_test_graph_dense(X, 45, 32, FM_KIND_DENSE);
    fm_graph *sparse = fm_test_graph_dense(X, 45, 32, FM_KIND_SPARSE);
    fm_graph_stats st;
    fm_graph_stats_get(sparse, &st);
    cr_assert_lt(st.entries, 45 * 32 / 2);
    fm_solver_result *a = solve(dense, 3, 20, 1, FM_INIT_NNDSVD);
    fm_solver_result *b = solve(sparse, 3, 20, 1, FM_INIT_NNDSVD);
    for (int i = 0; i < a->trace_len; i++)
        cr_assert(fabs(a->trace[i].rmse - b->trace[i].rmse) <= 1e-5 * a->trace[i].rmse,
                  "iteration %d: rmse %.9g vs %.9g", i, a->trace[i].rmse, b->trace[i].rmse);
    cr_assert_leq(max_relative_difference(b->W, a->W), 1e-5);
    cr_assert_leq(max_relative_difference(b->H, a->H), 1e-5);
    fm_solver_result_free(&a);
    fm_solver_result_free(&b);
    fm_graph_free(&dense);
    fm_graph_free(&sparse);
    free(X);
}

static fm_solver_result *solve_threads(fm_graph *g, int threads, double serial_below)
{
    fm_solver_options o;
    fm_solver_options_default(&o);
    o.rank = 5;
    o.iters = 15;
    o.tol = 0;
    o.serial_below = serial_below;
    fm_set_threads(threads);
    fm_solver_result *r = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_OK, "%s", msg);
    return r;
}

Test(solver, results_do_not_depend_on_threads)
{
    float *X = fm_test_uniform(300 * 200, 8);
    for (int kk = 0; kk < 3; kk++) {
        fm_kind kind = (fm_kind[]){ FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE }[kk];
        fm_graph *g = fm_test_graph_dense(X, 300, 200, kind);
        // serial_below 0: both threads, though the matrix is small
        fm_solver_result *a = solve_threads(g, 1, 0), *b = solve_threads(g, 2, 0);
        cr_assert_eq(b->threads, 2);
        double ra = a->trace[a->trace_len - 1].rmse, rb = b->trace[b->trace_len - 1].rmse;
        cr_assert(fabs(ra - rb) <= 1e-5 * ra, "%s: %.9g with 1 thread, %.9g with 2", fm_kind_name(kind), ra, rb);
        cr_assert_leq(max_relative_difference(a->W, b->W), 1e-4);
        fm_solver_result_free(&a);
        fm_solver_result_free(&b);
        fm_graph_free(&g);
    }
    fm_set_threads(0);
    free(X);
}

// (300·200 + 500·5)·5 = 312500 entry-ranks: below FM_SERIAL_WORK, one
// thread by default, and the caller's count is back afterwards.
Test(solver, a_small_matrix_runs_on_one_thread)
{
    float *X = fm_test_uniform(300 * 200, 3);
    fm_graph *g = fm_test_graph_dense(X, 300, 200, FM_KIND_SPARSE);
    fm_solver_options o;
    fm_solver_options_default(&o);
    fm_solver_result *serial = solve_threads(g, 2, o.serial_below), *both = solve_threads(g, 2, 312500);
    cr_assert_eq(serial->threads, 1);
    cr_assert_eq(both->threads, 2, "at the threshold the run keeps its threads");
    cr_assert_eq(omp_get_max_threads(), 2, "the caller's thread count was not restored");
    fm_solver_result_free(&serial);
    fm_solver_result_free(&both);
    fm_set_threads(0);
    fm_graph_free(&g);
    free(X);
}

Test(solver, penalties_shrink_the_factors)
{
    float *X = fm_test_uniform(60 * 40, 9);
    fm_graph *g = fm_test_graph_dense(X, 60, 40, FM_KIND_DENSE);
    fm_solver_options o;
    fm_solver_options_default(&o);
    o.rank = 5;
    o.iters = 80;
    o.tol = 0;
    char msg[FM_MSG_LEN];
    fm_solver_result *plain = NULL, *l1 = NULL, *l2 = NULL;
    cr_assert_eq(fm_solver_run(&plain, g, NULL, &o, msg), FM_OK, "%s", msg);
    o.penalty_h.l1 = o.penalty_w.l1 = 2.0f;
    cr_assert_eq(fm_solver_run(&l1, g, NULL, &o, msg), FM_OK, "%s", msg);
    o.penalty_h.l1 = o.penalty_w.l1 = 0;
    o.penalty_h.l2 = o.penalty_w.l2 = 20.0f;
    cr_assert_eq(fm_solver_run(&l2, g, NULL, &o, msg), FM_OK, "%s", msg);
    int zeros_plain = 0, zeros_l1 = 0;
    double norm_plain = 0, norm_l2 = 0;
    for (int e = 0; e < 5 * 40; e++) {
        zeros_plain += plain->H->data[e] == 0;
        zeros_l1 += l1->H->data[e] == 0;
    }
    for (int e = 0; e < 60 * 5; e++) {
        norm_plain += plain->W->data[e] * plain->W->data[e];
        norm_l2 += l2->W->data[e] * l2->W->data[e];
    }
    for (int e = 0; e < 5 * 40; e++) {
        norm_plain += plain->H->data[e] * plain->H->data[e];
        norm_l2 += l2->H->data[e] * l2->H->data[e];
    }
    cr_assert_gt(zeros_l1, zeros_plain, "L1 should zero more entries of H (%d vs %d)", zeros_l1, zeros_plain);
    cr_assert_lt(norm_l2, norm_plain, "L2 should shrink the factors (%g vs %g)", norm_l2, norm_plain);
    fm_solver_result_free(&plain);
    fm_solver_result_free(&l1);
    fm_solver_result_free(&l2);
    fm_graph_free(&g);
    free(X);
}

// The objective a row reports, f = ½ Σ_Ω r² + λ1ᵂ Σ W + ½ λ2ᵂ ‖W‖² + λ1ᴴ Σ H
// + ½ λ2ᴴ ‖H‖², each factor with its own penalties (different on W and H
// here, so that one factor's taken for the other's shows), against the sum
// by hand over the written factors.
Test(solver, the_reported_objective_takes_each_factors_own_penalties)
{
    const int m = 30, n = 20, k = 3;
    float *X = fm_test_uniform(m * n, 21);
    for (int kk = 0; kk < 3; kk++) {
        const fm_kind kind = (fm_kind[]){ FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE }[kk];
        fm_graph *g = fm_test_graph_dense(X, m, n, kind);
        fm_solver_options o;
        fm_solver_options_default(&o);
        o.rank = k;
        o.iters = 5;
        o.tol = 0;
        o.exact_objective = true;
        o.penalty_w = (fm_penalty){ .l1 = 0.03f, .l2 = 0.2f };
        o.penalty_h = (fm_penalty){ .l1 = 0.1f, .l2 = 0.01f };
        char msg[FM_MSG_LEN];
        fm_solver_result *r = NULL;
        cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_OK, "%s", msg);
        const float *w = r->W->data, *h = r->H->data;   // H is k × n
        double f = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double p = 0;
                for (int c = 0; c < k; c++) p += (double)w[i * k + c] * h[c * n + j];
                f += 0.5 * (X[i * n + j] - p) * (X[i * n + j] - p);
            }
        for (int e = 0; e < m * k; e++) f += o.penalty_w.l1 * w[e] + 0.5 * o.penalty_w.l2 * (double)w[e] * w[e];
        for (int e = 0; e < k * n; e++) f += o.penalty_h.l1 * h[e] + 0.5 * o.penalty_h.l2 * (double)h[e] * h[e];
        const double reported = r->trace[r->trace_len - 1].objective;
        cr_assert(fabs(reported - f) <= 1e-5 * f, "%s: reported %.9g, by hand %.9g", fm_kind_name(kind), reported, f);
        fm_solver_result_free(&r);
        fm_graph_free(&g);
    }
    free(X);
}

Test(solver, stops_on_tolerance_and_bad_options_fail)
{
    float *X = fm_test_planted(30, 20, 2, 10);
    fm_graph *g = fm_test_graph_dense(X, 30, 20, FM_KIND_DENSE);
    fm_solver_options o;
    fm_solver_options_default(&o);
    o.rank = 2;
    o.iters = 100000;
    o.tol = 1e-3;
    char msg[FM_MSG_LEN];
    fm_solver_result *r = NULL;
    cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_OK, "%s", msg);
    cr_assert_str_eq(r->stop_reason, "tolerance");
    cr_assert_lt(r->trace_len, 100000);
    fm_solver_result_free(&r);
    o.rank = 0;
    cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "rank 0"), "%s", msg);
    o.rank = 21;
    cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "min(30, 20) = 20"), "%s", msg);
    o.rank = 2;
    o.penalty_w.l2 = -1;
    cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_ERR_INVALID);
    cr_assert_null(r);
    o.penalty_w.l2 = 0;
    o.svd_power = FM_MAX_SVD_POWER + 1;
    cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "svd_power"), "%s", msg);
    cr_assert_null(r);
    fm_graph_free(&g);
    free(X);
}

// Whether trace row i meets the relative tolerance rule of the solver:
// |f_{i−1} − f_i| <= tol·f_{i−1} (or f_i = 0), on the rows' own objectives.
static bool meets_tolerance(const fm_solver_result *r, int i, double tol)
{
    const double previous = r->trace[i - 1].objective, f = r->trace[i].objective;
    return f == 0 || fabs(previous - f) <= tol * previous;
}

// A tolerance that the change of row i meets exactly, tol·f_{i−1} = |Δf| in
// double as the solver computes it (so the rule's <= decides), if a double
// within a few ulps of |Δf|/f_{i−1} gives it; else 0.
static double boundary_tolerance(const fm_solver_result *r, int i)
{
    const double previous = r->trace[i - 1].objective, change = fabs(previous - r->trace[i].objective);
    double t = change / previous;
    for (int step = 0; step < 4; step++) t = nextafter(t, 0);
    for (int step = 0; step < 9; step++, t = nextafter(t, INFINITY))
        if (t * previous == change) return t;
    return 0;
}

// Run with tolerance `tol` and check that it stops at the first row that
// meets the rule, at row `expected`, and that no earlier row meets it.
static void expect_stop(fm_graph *g, fm_solver_options o, double tol, int expected)
{
    char msg[FM_MSG_LEN];
    fm_solver_result *r = NULL;
    o.tol = tol;
    cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_OK, "%s", msg);
    cr_assert_str_eq(r->stop_reason, "tolerance", "tolerance %.17g", tol);
    const int stopped = r->trace_len - 1;
    for (int i = 1; i < stopped; i++)
        cr_assert(!meets_tolerance(r, i, tol), "row %d meets the tolerance %.17g, but the run went on to row %d", i,
                  tol, stopped);
    cr_assert(meets_tolerance(r, stopped, tol), "the run stopped at row %d, which does not meet the tolerance %.17g",
              stopped, tol);
    // the same rows as the run without a tolerance: the row picked is the one
    cr_assert_eq(stopped, expected, "tolerance %.17g: stopped at row %d; the rule first holds at row %d of the run "
                 "without a tolerance", tol, stopped, expected);
    fm_solver_result_free(&r);
}

// The run stops at the first row that meets the rule, and no earlier row
// meets it. Every row is exact (exact_objective), so the rule is decided on
// the trace itself, on any machine. The tolerances are picked from a run
// without one, at rows whose relative change is below every earlier row's:
// one between the row's change over f_i and over f_{i−1}, so that a rule that
// divides by the new objective, or an absolute one (the objectives are in
// the hundreds), stops elsewhere; and, where the doubles allow it, one that
// the change meets with equality, so that the rule's <= is checked too.
Test(solver, tolerance_stops_at_the_first_row_that_meets_it)
{
    float *X = fm_test_uniform(40 * 30, 13);
    for (int e = 0; e < 40 * 30; e++) X[e] *= 10;
    fm_graph *g = fm_test_graph_dense(X, 40, 30, FM_KIND_DENSE);
    fm_solver_options o;
    fm_solver_options_default(&o);
    o.rank = 4;
    o.iters = 300;
    o.tol = 0;
    o.exact_objective = true;
    char msg[FM_MSG_LEN];
    fm_solver_result *free_run = NULL;
    cr_assert_eq(fm_solver_run(&free_run, g, NULL, &o, msg), FM_OK, "%s", msg);
    cr_assert_gt(free_run->trace[0].objective, 100, "the objectives should be far from 1");
    int between_row = 0, boundary_row = 0;
    double between = 0, boundary = 0, lowest = INFINITY;
    for (int i = 1; i < free_run->trace_len && !(between_row && boundary_row); i++) {
        const double previous = free_run->trace[i - 1].objective, f = free_run->trace[i].objective;
        const double change = fabs(previous - f), by_previous = change / previous, by_current = change / f;
        const double upper = fmin(lowest, by_current);
        if (i >= 5 && f > 0 && by_previous > 0 && upper > by_previous * 1.001) {
            if (!between_row) {
                between_row = i;
                between = sqrt(by_previous * upper);
            }
            if (!boundary_row && (boundary = boundary_tolerance(free_run, i)) > 0) boundary_row = i;
        }
        lowest = fmin(lowest, by_previous);
    }
    cr_assert_gt(between_row, 0, "no row to stop at in %d iterations", free_run->trace_len - 1);
    expect_stop(g, o, between, between_row);
    if (boundary_row) expect_stop(g, o, boundary, boundary_row);
    else cr_log_warn("no row whose change a double tolerance meets with equality: <= not checked");
    fm_solver_result_free(&free_run);
    fm_graph_free(&g);
    free(X);
}

Test(solver, zero_matrix_does_not_divide_by_zero)
{
    float X[12] = { 0 };
    X[5] = 1;   // one nonzero: the other factor rows stay zero
    fm_graph *g = fm_test_graph_dense(X, 4, 3, FM_KIND_DENSE);
    fm_solver_result *r = solve(g, 2, 10, 1, FM_INIT_NNDSVD);
    for (int i = 0; i < r->trace_len; i++) cr_assert(isfinite(r->trace[i].rmse));
    for (int e = 0; e < 8; e++) cr_assert(isfinite(r->W->data[e]));
    fm_solver_result_free(&r);
    fm_graph_free(&g);
}

Test(solver, holdout_split_is_seeded_and_exact)
{
    char msg[FM_MSG_LEN];
    const int64_t count = 20000;
    fm_triplets t = { .rows = 200, .cols = 100, .count = count };
    t.row = malloc(sizeof(int64_t) * count);
    t.col = malloc(sizeof(int64_t) * count);
    t.val = malloc(sizeof(float) * count);
    for (int64_t e = 0; e < count; e++) {
        t.row[e] = e / 100;
        t.col[e] = e % 100;
        t.val[e] = (float)e;
    }
    fm_triplets *kept = NULL, *held = NULL, *kept2 = NULL, *held2 = NULL;
    cr_assert_eq(fm_holdout_split(&kept, &held, &t, 0.1, 5, msg), FM_OK, "%s", msg);
    cr_assert_eq(kept->count + held->count, count);
    cr_assert(fabs(held->count - 0.1 * count) < 0.01 * count, "held %lld", (long long)held->count);
    cr_assert_eq(fm_holdout_split(&kept2, &held2, &t, 0.1, 5, msg), FM_OK);
    cr_assert_eq(held2->count, held->count);
    for (int64_t e = 0; e < held->count; e++) cr_assert_eq(held->val[e], held2->val[e]);
    cr_assert_eq(fm_holdout_split(&kept2, &held2, &t, 1.5, 5, msg), FM_ERR_INVALID);
    fm_triplets_free(&kept);
    fm_triplets_free(&held);
    fm_triplets_free(&kept2);
    fm_triplets_free(&held2);
    free(t.row);
    free(t.col);
    free(t.val);
}

Test(solver, stops_on_the_time_limit)
{
    float *X = fm_test_uniform(40 * 30, 12);
    fm_graph *g = fm_test_graph_dense(X, 40, 30, FM_KIND_DENSE);
    fm_solver_options o;
    fm_solver_options_default(&o);
    o.rank = 3;
    o.iters = 1000000;
    o.tol = 0;
    o.time_limit = 1e-9;
    char msg[FM_MSG_LEN];
    fm_solver_result *r = NULL;
    cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_OK, "%s", msg);
    cr_assert_str_eq(r->stop_reason, "time limit");
    cr_assert_eq(r->trace_len, 1, "the limit is checked after each iteration, initialization included");
    fm_solver_result_free(&r);
    fm_graph_free(&g);
    free(X);
}
