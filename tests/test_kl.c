// The KL loss (issue 18, "A second loss"): the divergence against a
// brute-force sum over every entry of small dense and sparse matrices; the
// fused kernels of ops/kl.c against their double references on random
// inputs (ranks on each side of the vector paths, with and without
// penalties) and on 1 and 2 threads; the float logarithm against libm; the
// solver's objective never rising (the multiplicative updates'
// majorization-minimization guarantee) on random dense and sparse data; its
// trace against a recomputation from the factors; the errors of the kinds
// and options it does not take; and `factorize --loss kl` end to end.
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_program.h"
#include "graph.h"
#include "helpers.h"
#include "kl.h"
#include "rng.h"

TestSuite(kl, .init = fm_test_setup);

//------------------------------------------------------------------------------
// Fixtures
//------------------------------------------------------------------------------

// A rows x cols matrix of uniform values in [0, 4) of which a seeded
// `zeros` share is zero (the sparse kind drops them, the dense stores them).
static float *random_counts(int64_t rows, int64_t cols, double zeros, uint64_t seed)
{
    float *x = fm_test_uniform(rows * cols, seed);
    float *keep = fm_test_uniform(rows * cols, seed + 1000);
    for (int64_t e = 0; e < rows * cols; e++) x[e] = keep[e] < zeros ? 0.0f : 4 * x[e];
    free(keep);
    return x;
}

// A rows x k factor of uniform values in [lo, lo + 1).
static fm_dense *random_factor(int64_t rows, int k, double lo, uint64_t seed)
{
    fm_dense *f = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_dense_new(&f, rows, k, msg), FM_OK, "%s", msg);
    float *u = fm_test_uniform(rows * k, seed);
    for (int64_t e = 0; e < rows * k; e++) f->data[e] = (float)(lo + u[e]);
    free(u);
    return f;
}

// Σ_ij [x log(x/p) − x + p] over every entry, p = w_i·h_j, all in double.
static double brute_force_kl(const float *x, int64_t rows, int64_t cols, const fm_dense *W, const fm_dense *Ht)
{
    const int64_t k = W->cols;
    double sum = 0;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            double p = 0;
            for (int64_t r = 0; r < k; r++) p += (double)W->data[i * k + r] * Ht->data[j * k + r];
            const double v = x[i * cols + j];
            sum += (v > 0 ? v * log(v / p) : 0) - v + p;
        }
    return sum;
}

static double relative(double a, double b)
{
    return fabs(a - b) / fmax(fabs(b), 1e-300);
}

//------------------------------------------------------------------------------
// The logarithm and the divergence
//------------------------------------------------------------------------------

Test(kl, log_matches_libm)
{
    fm_rng rng = fm_rng_stream(3, FM_STREAM_SYNTH);
    double worst = 0;
    for (int e = 0; e < 200000; e++) {
        // magnitudes from 2^-125 to 2^127, and values near 1 (where log is small)
        const double u = fm_rng_uniform(rng, 2 * (uint64_t)e), v = fm_rng_uniform(rng, 2 * (uint64_t)e + 1);
        const float x = e % 4 == 0 ? (float)(1 + (v - 0.5) * 1e-3) : (float)ldexp(1 + v, (int)(u * 252) - 125);
        if (!(x > 0) || !isnormal(x) || !isfinite(x)) continue;
        const double reference = log((double)x), error = fabs(fm_kl_log(x) - reference);
        // a few float roundings of the result, or of 1 near x = 1
        const double bound = 4 * FLT_EPSILON * fmax(fabs(reference), 0.05);
        cr_assert_leq(error, bound, "log(%a) = %.9g, fm_kl_log gives %.9g", (double)x, reference, fm_kl_log(x));
        if (error / fmax(fabs(reference), 0.05) > worst) worst = error / fmax(fabs(reference), 0.05);
    }
    cr_assert_gt(worst, 0, "the comparison compared nothing");
}

static void divergence_case(fm_kind kind, double zeros, int k, uint64_t seed)
{
    const int64_t rows = 23, cols = 17;
    float *x = random_counts(rows, cols, zeros, seed);
    fm_graph *g = fm_test_graph_dense(x, rows, cols, kind);
    fm_dense *W = random_factor(rows, k, 0.05, seed + 1), *Ht = random_factor(cols, k, 0.05, seed + 2);
    fm_edges edges = { 0 };
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_edges_borrow(&edges, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    double divergence = NAN, cross = NAN;
    cr_assert_eq(fm_kl_divergence(&divergence, &cross, &edges, W, Ht, FLT_MIN, msg), FM_OK, "%s", msg);
    const double expected = brute_force_kl(x, rows, cols, W, Ht);
    cr_assert_lt(relative(divergence, expected), 1e-5, "%s, rank %d: divergence %.12g, brute force %.12g",
                 fm_kind_name(kind), k, divergence, expected);
    double expected_cross = 0;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            double p = 0;
            for (int r = 0; r < k; r++) p += (double)W->data[i * k + r] * Ht->data[j * k + r];
            expected_cross += x[i * cols + j] * p;
        }
    cr_assert_lt(relative(cross, expected_cross), 1e-5, "⟨X, WH⟩ %.12g, brute force %.12g", cross,
                 expected_cross);
    cr_assert_eq(fm_edges_return(&edges, msg), FM_OK);
    fm_dense_free(&W);
    fm_dense_free(&Ht);
    fm_graph_free(&g);
    free(x);
}

Test(kl, divergence_matches_brute_force_dense)
{
    divergence_case(FM_KIND_DENSE, 0.0, 3, 11);
    divergence_case(FM_KIND_DENSE, 0.4, 5, 12);   // stored zeros: their log term is 0
}

Test(kl, divergence_matches_brute_force_sparse)
{
    // the unstored entries enter only through Σ_r (Σ_i W_ir)(Σ_j H_rj)
    divergence_case(FM_KIND_SPARSE, 0.7, 3, 13);
    divergence_case(FM_KIND_SPARSE, 0.3, 20, 14);
}

//------------------------------------------------------------------------------
// The kernels against their references
//------------------------------------------------------------------------------

static void expect_close(const float *a, const float *b, int64_t n, double tol, const char *what)
{
    for (int64_t e = 0; e < n; e++)
        cr_assert_leq(fabs((double)a[e] - b[e]), tol * fmax(fabs((double)b[e]), 1e-3), "%s[%lld]: %.9g, reference %.9g",
                      what, (long long)e, a[e], b[e]);
}

// One update of W over the edges of A (and of Hᵀ over those of Aᵀ), fast
// and reference, from the same factors.
static void update_case(fm_kind kind, double zeros, int k, double l1, double l2, uint64_t seed)
{
    const int64_t rows = 37, cols = 29;
    float *x = random_counts(rows, cols, zeros, seed);
    fm_graph *g = fm_test_graph_dense(x, rows, cols, kind);
    char msg[FM_MSG_LEN];
    for (int side = 0; side < 2; side++) {
        fm_edges edges = { 0 };
        cr_assert_eq(fm_edges_borrow(&edges, g, side ? FM_TO_COLUMNS : FM_TO_ROWS, msg), FM_OK, "%s", msg);
        fm_dense *T = random_factor(edges.targets, k, 0.0, seed + 2), *S = random_factor(edges.sources, k, 0.0, seed + 3);
        fm_dense *R = NULL;
        cr_assert_eq(fm_dense_copy(&R, T, msg), FM_OK);
        double *sums = calloc(k, sizeof(double));
        double *logs = calloc(edges.targets, sizeof(double)), *cross = calloc(edges.targets, sizeof(double));
        double *logs_ref = calloc(edges.targets, sizeof(double)), *cross_ref = calloc(edges.targets, sizeof(double));
        fm_kl_column_sums(sums, S);
        const fm_kl_step step = { sums, l1, l2, 1e-6f };
        fm_kl_update(T, &edges, S, &step, logs, cross);
        fm_kl_update_reference(R, &edges, S, &step, logs_ref, cross_ref);
        expect_close(T->data, R->data, edges.targets * k, 2e-5, "updated factor");
        for (int64_t t = 0; t < edges.targets; t++) {
            cr_assert_leq(fabs(logs[t] - logs_ref[t]), 1e-5 * (1 + fabs(logs_ref[t])), "logs[%lld] %.9g, reference %.9g",
                          (long long)t, logs[t], logs_ref[t]);
            cr_assert_leq(fabs(cross[t] - cross_ref[t]), 1e-5 * (1 + fabs(cross_ref[t])),
                          "cross[%lld] %.9g, reference %.9g", (long long)t, cross[t], cross_ref[t]);
        }
        // the terms alone, of the updated factors
        fm_kl_terms(&edges, T, S, 1e-6f, logs, cross);
        fm_kl_terms_reference(&edges, T, S, 1e-6f, logs_ref, cross_ref);
        for (int64_t t = 0; t < edges.targets; t++)
            cr_assert_leq(fabs(logs[t] - logs_ref[t]), 1e-5 * (1 + fabs(logs_ref[t])), "terms: logs[%lld]",
                          (long long)t);
        free(sums);
        free(logs);
        free(cross);
        free(logs_ref);
        free(cross_ref);
        fm_dense_free(&T);
        fm_dense_free(&R);
        fm_dense_free(&S);
        cr_assert_eq(fm_edges_return(&edges, msg), FM_OK);
    }
    fm_graph_free(&g);
    free(x);
}

Test(kl, update_matches_reference)
{
    // ranks below, at and between the vector widths, and above 32 (the array path)
    const int ranks[] = { 1, 3, 4, 10, 20, 32, 36 };
    for (size_t c = 0; c < sizeof ranks / sizeof ranks[0]; c++) {
        update_case(FM_KIND_SPARSE, 0.6, ranks[c], 0, 0, 20 + c);
        update_case(FM_KIND_DENSE, 0.2, ranks[c], 0, 0, 40 + c);
    }
    update_case(FM_KIND_SPARSE, 0.5, 7, 0.3, 0, 60);
    update_case(FM_KIND_SPARSE, 0.5, 7, 0, 2.5, 61);
    update_case(FM_KIND_DENSE, 0.1, 12, 0.7, 0.4, 62);
}

// The update on 1 and 2 threads: each target's sums run in one order on
// one thread, so the results are the same bits.
Test(kl, update_same_bits_on_one_and_two_threads)
{
    const int64_t rows = 301, cols = 203;
    const int k = 12;
    float *x = random_counts(rows, cols, 0.8, 70);
    fm_graph *g = fm_test_graph_dense(x, rows, cols, FM_KIND_SPARSE);
    char msg[FM_MSG_LEN];
    fm_edges edges = { 0 };
    cr_assert_eq(fm_edges_borrow(&edges, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    fm_dense *S = random_factor(cols, k, 0.0, 72), *T[2] = { NULL, NULL };
    double sums[12], *logs[2], *cross[2];
    fm_kl_column_sums(sums, S);
    const fm_kl_step step = { sums, 0.1, 0.2, 1e-6f };
    for (int threads = 1; threads <= 2; threads++) {
        T[threads - 1] = random_factor(rows, k, 0.0, 71);
        logs[threads - 1] = calloc(rows, sizeof(double));
        cross[threads - 1] = calloc(rows, sizeof(double));
        fm_set_threads(threads);
        fm_kl_update(T[threads - 1], &edges, S, &step, logs[threads - 1], cross[threads - 1]);
    }
    fm_set_threads(0);
    cr_assert(!memcmp(T[0]->data, T[1]->data, sizeof(float) * rows * k), "the updated factor differs");
    cr_assert(!memcmp(logs[0], logs[1], sizeof(double) * rows), "the log terms differ");
    cr_assert(!memcmp(cross[0], cross[1], sizeof(double) * rows), "the cross terms differ");
    for (int c = 0; c < 2; c++) {
        fm_dense_free(&T[c]);
        free(logs[c]);
        free(cross[c]);
    }
    fm_dense_free(&S);
    cr_assert_eq(fm_edges_return(&edges, msg), FM_OK);
    fm_graph_free(&g);
    free(x);
}

//------------------------------------------------------------------------------
// The solver
//------------------------------------------------------------------------------

static fm_solver_options kl_options(int rank, int iters)
{
    fm_solver_options o;
    fm_solver_options_default(&o);
    o.loss = FM_LOSS_KL;
    o.rank = rank;
    o.iters = iters;
    o.tol = 0;
    o.init = FM_INIT_NNDSVDA;
    o.serial_below = 0;   // the caller's threads on these small matrices
    return o;
}

static fm_solver_result *run_kl(fm_graph *g, const fm_solver_options *o)
{
    fm_solver_result *r = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_solver_run(&r, g, NULL, o, msg), FM_OK, "%s", msg);
    return r;
}

// Lee & Seung's guarantee: no update raises the divergence (nor, with the
// penalties' exact minimizer, the divergence plus the penalties). The
// objective is computed from float predictions: a rise within its rounding
// (1e-6 of it) is allowed, a real one is far larger.
static void never_rises(fm_kind kind, double zeros, double l1, double l2, uint64_t seed)
{
    const int64_t rows = 60, cols = 45;
    float *x = random_counts(rows, cols, zeros, seed);
    fm_graph *g = fm_test_graph_dense(x, rows, cols, kind);
    fm_solver_options o = kl_options(5, 60);
    o.penalty_w.l1 = o.penalty_h.l1 = (float)l1;
    o.penalty_w.l2 = o.penalty_h.l2 = (float)l2;
    o.init = FM_INIT_RANDOM;
    fm_solver_result *r = run_kl(g, &o);
    cr_assert_eq(r->trace_len, 61);
    for (int it = 1; it < r->trace_len; it++)
        cr_assert_leq(r->trace[it].objective, r->trace[it - 1].objective * (1 + 1e-6),
                      "%s (l1 %g, l2 %g): the objective rose from %.9g to %.9g at iteration %d", fm_kind_name(kind),
                      l1, l2, r->trace[it - 1].objective, r->trace[it].objective, it);
    cr_assert_lt(r->trace[r->trace_len - 1].objective, 0.9 * r->trace[0].objective, "the fit made no progress");
    fm_solver_result_free(&r);
    fm_graph_free(&g);
    free(x);
}

Test(kl, objective_never_rises_dense)
{
    never_rises(FM_KIND_DENSE, 0.1, 0, 0, 80);
    never_rises(FM_KIND_DENSE, 0.1, 0.5, 1.0, 81);
}

Test(kl, objective_never_rises_sparse)
{
    never_rises(FM_KIND_SPARSE, 0.7, 0, 0, 82);
    never_rises(FM_KIND_SPARSE, 0.7, 0.2, 3.0, 83);
}

// The same guarantee half-step by half-step, with the kernels as the solver
// calls them: an update that overshoots its minimizer can still lower the
// objective over a whole iteration (the other factor makes up for it), but
// not over each half.
static double penalties(const fm_dense *F, double l1, double l2)
{
    double sum = 0;
    for (int64_t e = 0; e < F->rows * F->cols; e++) sum += l1 * F->data[e] + 0.5 * l2 * F->data[e] * F->data[e];
    return sum;
}

static void half_steps_never_rise(fm_kind kind, double zeros, double l1, double l2, uint64_t seed)
{
    const int64_t rows = 40, cols = 30;
    const int k = 4;
    float *x = random_counts(rows, cols, zeros, seed);
    fm_graph *g = fm_test_graph_dense(x, rows, cols, kind);
    char msg[FM_MSG_LEN];
    fm_edges er = { 0 }, ec = { 0 };
    cr_assert_eq(fm_edges_borrow(&er, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&ec, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    fm_dense *W = random_factor(rows, k, 0.0, seed + 1), *Ht = random_factor(cols, k, 0.0, seed + 2);
    double sums_w[4], sums_h[4], last = INFINITY;
    const fm_kl_step step_h = { sums_w, l1, l2, 1e-6f }, step_w = { sums_h, l1, l2, 1e-6f };
    for (int half = 0; half < 400; half++) {
        fm_kl_column_sums(sums_w, W);
        fm_kl_column_sums(sums_h, Ht);
        if (half % 2) fm_kl_update(W, &er, Ht, &step_w, NULL, NULL);
        else fm_kl_update(Ht, &ec, W, &step_h, NULL, NULL);
        double d;
        cr_assert_eq(fm_kl_divergence(&d, NULL, &er, W, Ht, 1e-6f, msg), FM_OK, "%s", msg);
        const double f = d + penalties(W, l1, l2) + penalties(Ht, l1, l2);
        cr_assert_leq(f, last + 1e-6 * fabs(last), "%s (l1 %g, l2 %g): half-step %d raised the objective from %.9g "
                      "to %.9g", fm_kind_name(kind), l1, l2, half, last, f);
        last = f;
    }
    cr_assert_eq(fm_edges_return(&er, msg), FM_OK);
    cr_assert_eq(fm_edges_return(&ec, msg), FM_OK);
    fm_dense_free(&W);
    fm_dense_free(&Ht);
    fm_graph_free(&g);
    free(x);
}

Test(kl, half_steps_never_rise)
{
    half_steps_never_rise(FM_KIND_DENSE, 0.2, 0, 0, 84);
    half_steps_never_rise(FM_KIND_SPARSE, 0.6, 0, 0, 85);
    half_steps_never_rise(FM_KIND_SPARSE, 0.6, 0.3, 2.0, 86);
}

// Where the updates stop: the first-order conditions of min D + penalties
// over H ≥ 0, for every h_jr: g_jr = Σ_i w_ir (1 − x_ij / p_ij) + λ1 + λ2 h_jr
// is 0 where h_jr > 0 and ≥ 0 where h_jr = 0 (and the same for W). A wrong
// update has another fixed point.
static void stationary(fm_kind kind, double l1, double l2, uint64_t seed)
{
    const int64_t rows = 14, cols = 11;
    const int k = 2;
    float *x = random_counts(rows, cols, 0.3, seed);
    fm_graph *g = fm_test_graph_dense(x, rows, cols, kind);
    fm_solver_options o = kl_options(k, 4000);
    o.penalty_w.l1 = o.penalty_h.l1 = (float)l1;
    o.penalty_w.l2 = o.penalty_h.l2 = (float)l2;
    o.init = FM_INIT_RANDOM;
    fm_solver_result *r = run_kl(g, &o);
    double worst = 0;
    for (int side = 0; side < 2; side++)
        for (int64_t a = 0; a < (side ? cols : rows); a++)
            for (int q = 0; q < k; q++) {
                double grad = 0, scale = 0;
                for (int64_t b = 0; b < (side ? rows : cols); b++) {
                    const int64_t i = side ? b : a, j = side ? a : b;
                    double p = 0;
                    for (int rr = 0; rr < k; rr++) p += (double)r->W->data[i * k + rr] * r->H->data[rr * cols + j];
                    const double other = side ? r->W->data[i * k + q] : r->H->data[q * cols + j];
                    grad += other * (1 - x[i * cols + j] / p);
                    scale += other;
                }
                const double value = side ? r->H->data[q * cols + a] : r->W->data[a * k + q];
                grad += l1 + l2 * value;
                // relative to Σ_i w_ir + λ1, the size of each of its terms
                const double residual = (value > 1e-4 ? fabs(grad) : fmax(-grad, 0)) / (scale + l1);
                if (residual > worst) worst = residual;
            }
    cr_assert_lt(worst, 2e-3, "%s (l1 %g, l2 %g): a first-order condition is off by %.3g", fm_kind_name(kind), l1,
                 l2, worst);
    fm_solver_result_free(&r);
    fm_graph_free(&g);
    free(x);
}

Test(kl, converges_to_a_stationary_point)
{
    stationary(FM_KIND_DENSE, 0, 0, 130);
    stationary(FM_KIND_SPARSE, 0, 0, 131);
    stationary(FM_KIND_SPARSE, 0.2, 1.5, 132);
}

// The trace's last row against the divergence and RMSE recomputed from the
// factors the run returns (by brute force, and fm_rmse).
Test(kl, trace_matches_the_factors)
{
    const int64_t rows = 50, cols = 40;
    const int k = 4;
    float *x = random_counts(rows, cols, 0.5, 90);
    for (int kind = FM_KIND_DENSE; kind <= FM_KIND_SPARSE; kind++) {
        fm_graph *g = fm_test_graph_dense(x, rows, cols, (fm_kind)kind);
        fm_solver_options o = kl_options(k, 25);
        fm_solver_result *r = run_kl(g, &o);
        fm_dense *Ht = NULL;
        char msg[FM_MSG_LEN];
        cr_assert_eq(fm_dense_new(&Ht, cols, k, msg), FM_OK);
        fm_dense_transpose(Ht->data, r->H);
        const double expected = brute_force_kl(x, rows, cols, r->W, Ht);
        const fm_solver_iterate *last = &r->trace[r->trace_len - 1];
        cr_assert_lt(relative(last->objective, expected), 1e-5, "%s: the trace says %.10g, the factors give %.10g",
                     fm_kind_name((fm_kind)kind), last->objective, expected);
        double rmse;
        cr_assert_eq(fm_rmse(&rmse, g, r->W, r->H, msg), FM_OK, "%s", msg);
        cr_assert_lt(relative(last->rmse, rmse), 1e-4, "rmse %.9g, recomputed %.9g", last->rmse, rmse);
        cr_assert_str_eq(r->stop_reason, "iterations");
        fm_dense_free(&Ht);
        fm_solver_result_free(&r);
        fm_graph_free(&g);
    }
    free(x);
}

// A whole run from a seeded random start on 1 and 2 threads: the same
// factors (the kernels are thread-count independent; the penalties' sums
// are off here).
Test(kl, solver_same_on_one_and_two_threads)
{
    const int64_t rows = 120, cols = 90;
    float *x = random_counts(rows, cols, 0.6, 100);
    fm_graph *g = fm_test_graph_dense(x, rows, cols, FM_KIND_SPARSE);
    fm_solver_options o = kl_options(6, 20);
    o.init = FM_INIT_RANDOM;
    fm_solver_result *r[2];
    for (int threads = 1; threads <= 2; threads++) {
        fm_set_threads(threads);
        r[threads - 1] = run_kl(g, &o);
    }
    fm_set_threads(0);
    cr_assert_eq(r[1]->threads, 2);
    cr_assert(!memcmp(r[0]->W->data, r[1]->W->data, sizeof(float) * rows * 6), "W differs");
    cr_assert(!memcmp(r[0]->H->data, r[1]->H->data, sizeof(float) * cols * 6), "H differs");
    cr_assert_eq(r[0]->trace[20].objective, r[1]->trace[20].objective);
    fm_solver_result_free(&r[0]);
    fm_solver_result_free(&r[1]);
    fm_graph_free(&g);
    free(x);
}

Test(kl, tolerance_stops_on_the_divergence)
{
    float *x = random_counts(40, 30, 0.5, 110);
    fm_graph *g = fm_test_graph_dense(x, 40, 30, FM_KIND_SPARSE);
    fm_solver_options o = kl_options(3, 5000);
    o.tol = 1e-4;
    fm_solver_result *r = run_kl(g, &o);
    cr_assert_str_eq(r->stop_reason, "tolerance");
    const int last = r->trace_len - 1;
    cr_assert(last < 5000);
    cr_assert_leq(fabs(r->trace[last - 1].objective - r->trace[last].objective), 1e-4 * r->trace[last - 1].objective);
    cr_assert_gt(fabs(r->trace[last - 2].objective - r->trace[last - 1].objective),
                 1e-4 * r->trace[last - 2].objective, "it did not stop at the first small change");
    fm_solver_result_free(&r);
    fm_graph_free(&g);
    free(x);
}

Test(kl, kinds_and_options_it_does_not_take)
{
    float *x = random_counts(20, 15, 0.5, 120);
    char msg[FM_MSG_LEN];
    fm_solver_result *r = NULL;
    fm_graph *g = fm_test_graph_dense(x, 20, 15, FM_KIND_INCOMPLETE);
    fm_solver_options o = kl_options(3, 5);
    cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "incomplete") && strstr(msg, "dense and sparse"), "%s", msg);
    cr_assert_null(r);
    fm_graph_free(&g);
    g = fm_test_graph_dense(x, 20, 15, FM_KIND_SPARSE);
    o.init = FM_INIT_LEARNED;
    cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "KL loss"), "%s", msg);
    o = kl_options(3, 5);
    o.loss = (fm_loss)7;
    cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "unknown loss"), "%s", msg);
    cr_assert_null(r);
    fm_loss loss;
    cr_assert_eq(fm_loss_parse(&loss, "kl", msg), FM_OK);
    cr_assert_eq(loss, FM_LOSS_KL);
    cr_assert_str_eq(fm_loss_name(FM_LOSS_LS), "ls");
    cr_assert_eq(fm_loss_parse(&loss, "kullback", msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "expected ls"), "%s", msg);
    fm_graph_free(&g);
    free(x);
}

//------------------------------------------------------------------------------
// The command line
//------------------------------------------------------------------------------

// The objective column of a trace CSV.
static int trace_objectives(const char *path, double *objective, int capacity)
{
    char *text = read_text(path);
    int rows = 0;
    bool header = true;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        if (header) {
            cr_assert(!strcmp(line, "iteration,seconds,rmse,holdout_rmse,objective,model"), "header %s", line);
            header = false;
            continue;
        }
        const char *field = line;
        for (int comma = 0; comma < 4; comma++) field = strchr(field, ',') + 1;
        cr_assert_lt(rows, capacity);
        objective[rows++] = strtod(field, NULL);
    }
    free(text);
    return rows;
}

Test(kl, cli_end_to_end)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    run r = RUN(&s, "factorize", x, "--kind", "sparse", "--loss", "kl", "--rank", "3", "--iters", "40", "--tol", "0",
                "--out", out_prefix(&s));
    expect_success(&r);
    cr_assert(strstr(r.out, "loss         kl"), "the summary does not name the loss:\n%s", r.out);
    char path[512];
    snprintf(path, sizeof path, "%s.summary.json", out_prefix(&s));
    char *summary = read_text(path);
    cr_assert(json_string_is(summary, "loss", "kl"), "%s", summary);
    cr_assert(json_string_is(summary, "init", "nndsvda"), "the KL loss's default init: %s", summary);
    const double objective = json_number(summary, "objective");
    snprintf(path, sizeof path, "%s.trace.csv", out_prefix(&s));
    double trace[64];
    const int rows = trace_objectives(path, trace, 64);
    cr_assert_eq(rows, 41);
    for (int it = 1; it < rows; it++)
        cr_assert_leq(trace[it], trace[it - 1] * (1 + 1e-6), "the divergence rose at iteration %d", it);
    cr_assert_lt(relative(objective, trace[rows - 1]), 1e-6);
    // the summary's divergence is that of the written factors
    fm_graph *g = graph_of(x, FM_KIND_SPARSE);
    fm_graph_stats st;
    fm_graph_stats_get(g, &st);
    snprintf(path, sizeof path, "%s.W.mtx", out_prefix(&s));
    fm_dense *W = read_factor(path, st.rows, 3);
    snprintf(path, sizeof path, "%s.H.mtx", out_prefix(&s));
    fm_dense *H = read_factor(path, 3, st.cols), *Ht = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_dense_new(&Ht, st.cols, 3, msg), FM_OK);
    fm_dense_transpose(Ht->data, H);
    fm_edges edges = { 0 };
    cr_assert_eq(fm_edges_borrow(&edges, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    double divergence;
    cr_assert_eq(fm_kl_divergence(&divergence, NULL, &edges, W, Ht, FLT_MIN, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_return(&edges, msg), FM_OK);
    cr_assert_lt(relative(divergence, objective), 1e-5, "summary %.10g, written factors %.10g", objective, divergence);
    fm_dense_free(&W);
    fm_dense_free(&H);
    fm_dense_free(&Ht);
    fm_graph_free(&g);
    free(summary);
    run_free(&r);
    scratch_free(&s);
}

Test(kl, cli_incomplete_kind_is_an_error)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    run r = FACTORIZE_BAD(&s, x, "--kind", "incomplete", "--loss", "kl", "--rank", "3");
    EXPECT_FAILURE(&r, 1, "KL loss", "incomplete");
    expect_no_outputs(&s);
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--loss", "poisson", "--rank", "3");
    EXPECT_FAILURE(&r, 2, "unknown loss 'poisson'", "expected ls");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}
