// The KL loss (issue 18, "A second loss"): the divergence against a
// brute-force sum over every entry of small dense and sparse matrices; the
// fused kernels of ops/kl.c against their double references on random
// inputs (ranks on each side of the vector paths, with and without
// penalties) and on 1 and 2 threads; the float logarithm against libm; the
// solver's objective never rising (the multiplicative updates'
// majorization-minimization guarantee), per iteration and per half-step, and
// its convergence to a stationary point, on random dense, sparse and
// incomplete data (the last over Ω only); its trace against a recomputation
// from the factors; the errors of the options it does not take; and
// `factorize --loss kl` end to end.
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

// A test matrix as the kind sees it: the values, which entries are
// observed (every one for the dense and sparse kinds; a seeded 60%, zeros
// included, for the incomplete kind), and the graph.
typedef struct problem {
    int64_t rows, cols;
    fm_kind kind;
    float *x;
    unsigned char *observed;
    fm_graph *g;
} problem;

static problem problem_new(int64_t rows, int64_t cols, double zeros, fm_kind kind, uint64_t seed)
{
    problem p = { rows, cols, kind, random_counts(rows, cols, zeros, seed), malloc(rows * cols), NULL };
    cr_assert_not_null(p.observed);
    float *u = fm_test_uniform(rows * cols, seed + 2000);
    int64_t count = 0;
    for (int64_t e = 0; e < rows * cols; e++) count += p.observed[e] = kind != FM_KIND_INCOMPLETE || u[e] < 0.6;
    free(u);
    if (kind != FM_KIND_INCOMPLETE) {
        p.g = fm_test_graph_dense(p.x, rows, cols, kind);
        return p;
    }
    fm_triplets t = { rows, cols, 0, malloc(sizeof(int64_t) * count), malloc(sizeof(int64_t) * count),
                      malloc(sizeof(float) * count), false };
    cr_assert(t.row && t.col && t.val);
    for (int64_t e = 0; e < rows * cols; e++)
        if (p.observed[e]) {
            t.row[t.count] = e / cols;
            t.col[t.count] = e % cols;
            t.val[t.count++] = p.x[e];
        }
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_graph_from_triplets(&p.g, &t, FM_KIND_INCOMPLETE, msg), FM_OK, "%s", msg);
    free(t.row);
    free(t.col);
    free(t.val);
    return p;
}

static void problem_free(problem *p)
{
    fm_graph_free(&p->g);
    free(p->x);
    free(p->observed);
}

// Σ [x log(x/p) − x + p] over the observed entries (every entry but for
// the incomplete kind), p = w_i·h_j, all in double.
static double brute_force_kl(const problem *pr, const fm_dense *W, const fm_dense *Ht)
{
    const int64_t k = W->cols, cols = pr->cols;
    double sum = 0;
    for (int64_t i = 0; i < pr->rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            if (!pr->observed[i * cols + j]) continue;
            double p = 0;
            for (int64_t r = 0; r < k; r++) p += (double)W->data[i * k + r] * Ht->data[j * k + r];
            const double v = pr->x[i * cols + j];
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
    problem pr = problem_new(23, 17, zeros, kind, seed);
    fm_dense *W = random_factor(pr.rows, k, 0.05, seed + 1), *Ht = random_factor(pr.cols, k, 0.05, seed + 2);
    fm_edges edges = { 0 };
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_edges_borrow(&edges, pr.g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    double divergence = NAN;
    fm_kl_edge_sums total;
    cr_assert_eq(fm_kl_divergence(&divergence, &total, &edges, W, Ht, kind == FM_KIND_INCOMPLETE, FLT_MIN, msg),
                 FM_OK, "%s", msg);
    const double expected = brute_force_kl(&pr, W, Ht);
    cr_assert_lt(relative(divergence, expected), 1e-5, "%s, rank %d: divergence %.12g, brute force %.12g",
                 fm_kind_name(kind), k, divergence, expected);
    double cross = 0, prediction = 0, square = 0;
    for (int64_t i = 0; i < pr.rows; i++)
        for (int64_t j = 0; j < pr.cols; j++) {
            // the stored entries: the observed ones, and for the sparse kind not the zeros
            if (!pr.observed[i * pr.cols + j] || (kind == FM_KIND_SPARSE && pr.x[i * pr.cols + j] == 0)) continue;
            double p = 0;
            for (int r = 0; r < k; r++) p += (double)W->data[i * k + r] * Ht->data[j * k + r];
            cross += pr.x[i * pr.cols + j] * p;
            prediction += p;
            square += p * p;
        }
    cr_assert_lt(relative(total.cross, cross), 1e-5, "⟨X, WH⟩ %.12g, brute force %.12g", total.cross, cross);
    if (kind == FM_KIND_INCOMPLETE) {
        cr_assert_lt(relative(total.prediction, prediction), 1e-5, "Σ p %.12g, brute force %.12g", total.prediction,
                     prediction);
        cr_assert_lt(relative(total.square, square), 1e-5, "Σ p² %.12g, brute force %.12g", total.square, square);
    }
    cr_assert_eq(fm_edges_return(&edges, msg), FM_OK);
    fm_dense_free(&W);
    fm_dense_free(&Ht);
    problem_free(&pr);
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

Test(kl, divergence_matches_brute_force_incomplete)
{
    // over Ω only, its zeros observations
    divergence_case(FM_KIND_INCOMPLETE, 0.3, 3, 15);
    divergence_case(FM_KIND_INCOMPLETE, 0.0, 12, 16);
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

static void expect_sums_close(const fm_kl_edge_sums *a, const fm_kl_edge_sums *b, int64_t n, const char *what)
{
    for (int64_t t = 0; t < n; t++) {
        const double got[4] = { a[t].log, a[t].cross, a[t].prediction, a[t].square };
        const double want[4] = { b[t].log, b[t].cross, b[t].prediction, b[t].square };
        for (int c = 0; c < 4; c++)
            cr_assert_leq(fabs(got[c] - want[c]), 1e-5 * (1 + fabs(want[c])), "%s: sum %d of target %lld: %.9g, "
                          "reference %.9g", what, c, (long long)t, got[c], want[c]);
    }
}

// One update of W over the edges of A (and of Hᵀ over those of Aᵀ), fast
// and reference, from the same factors; the incomplete kind divides by
// sums over the edges (no totals) and weighs the ridge by them.
static void update_case(fm_kind kind, double zeros, int k, double l1, double l2, uint64_t seed)
{
    problem pr = problem_new(37, 29, zeros, kind, seed);
    const bool masked = kind == FM_KIND_INCOMPLETE;
    char msg[FM_MSG_LEN];
    for (int side = 0; side < 2; side++) {
        fm_edges edges = { 0 };
        cr_assert_eq(fm_edges_borrow(&edges, pr.g, side ? FM_TO_COLUMNS : FM_TO_ROWS, msg), FM_OK, "%s", msg);
        fm_dense *T = random_factor(edges.targets, k, 0.0, seed + 2), *S = random_factor(edges.sources, k, 0.0, seed + 3);
        fm_dense *R = NULL;
        cr_assert_eq(fm_dense_copy(&R, T, msg), FM_OK);
        double *totals = calloc(k, sizeof(double));
        fm_kl_edge_sums *sums = calloc(edges.targets, sizeof *sums), *sums_ref = calloc(edges.targets, sizeof *sums);
        fm_kl_column_sums(totals, S);
        const fm_kl_step step = { masked ? NULL : totals, l1, l2, masked, 1e-6f, FLT_MIN };
        fm_kl_update(T, &edges, S, &step, sums);
        fm_kl_update_reference(R, &edges, S, &step, sums_ref);
        expect_close(T->data, R->data, edges.targets * k, 2e-5, "updated factor");
        expect_sums_close(sums, sums_ref, edges.targets, "update");
        // the terms alone, of the updated factors
        fm_kl_terms(&edges, T, S, 1e-6f, masked, sums);
        fm_kl_terms_reference(&edges, T, S, 1e-6f, masked, sums_ref);
        expect_sums_close(sums, sums_ref, edges.targets, "terms");
        free(totals);
        free(sums);
        free(sums_ref);
        fm_dense_free(&T);
        fm_dense_free(&R);
        fm_dense_free(&S);
        cr_assert_eq(fm_edges_return(&edges, msg), FM_OK);
    }
    problem_free(&pr);
}

Test(kl, update_matches_reference)
{
    fm_set_threads(1);   // small inputs: a parallel region would cost more than it saves
    // ranks below, at and between the vector widths, and above 32 (the array path)
    const int ranks[] = { 1, 3, 4, 10, 20, 32, 36 };
    for (size_t c = 0; c < sizeof ranks / sizeof ranks[0]; c++) {
        update_case(FM_KIND_SPARSE, 0.6, ranks[c], 0, 0, 20 + c);
        update_case(FM_KIND_DENSE, 0.2, ranks[c], 0, 0, 40 + c);
        update_case(FM_KIND_INCOMPLETE, 0.2, ranks[c], 0, 0, 50 + c);
    }
    update_case(FM_KIND_SPARSE, 0.5, 7, 0.3, 0, 60);
    update_case(FM_KIND_SPARSE, 0.5, 7, 0, 2.5, 61);
    update_case(FM_KIND_DENSE, 0.1, 12, 0.7, 0.4, 62);
    update_case(FM_KIND_INCOMPLETE, 0.1, 12, 0.7, 0.4, 63);
    fm_set_threads(0);
}

// The update on 1 and 2 threads: each target's sums run in one order on
// one thread, so the results are the same bits.
Test(kl, update_same_bits_on_one_and_two_threads)
{
    for (int kind = FM_KIND_SPARSE; kind <= FM_KIND_INCOMPLETE; kind++) {
        problem pr = problem_new(301, 203, 0.8, (fm_kind)kind, 70);
        const int k = 12;
        char msg[FM_MSG_LEN];
        fm_edges edges = { 0 };
        cr_assert_eq(fm_edges_borrow(&edges, pr.g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
        fm_dense *S = random_factor(pr.cols, k, 0.0, 72), *T[2] = { NULL, NULL };
        double totals[12];
        fm_kl_edge_sums *sums[2];
        fm_kl_column_sums(totals, S);
        const fm_kl_step step = { kind == FM_KIND_INCOMPLETE ? NULL : totals, 0.1, 0.2, false, 1e-6f, FLT_MIN };
        for (int threads = 1; threads <= 2; threads++) {
            T[threads - 1] = random_factor(pr.rows, k, 0.0, 71);
            sums[threads - 1] = calloc(pr.rows, sizeof(fm_kl_edge_sums));
            fm_set_threads(threads);
            fm_kl_update(T[threads - 1], &edges, S, &step, sums[threads - 1]);
        }
        fm_set_threads(0);
        cr_assert(!memcmp(T[0]->data, T[1]->data, sizeof(float) * pr.rows * k), "the updated factor differs");
        cr_assert(!memcmp(sums[0], sums[1], sizeof(fm_kl_edge_sums) * pr.rows), "the edges' sums differ");
        for (int c = 0; c < 2; c++) {
            fm_dense_free(&T[c]);
            free(sums[c]);
        }
        fm_dense_free(&S);
        cr_assert_eq(fm_edges_return(&edges, msg), FM_OK);
        problem_free(&pr);
    }
}

#if defined(__SSE__)
#include <xmmintrin.h>

// The kernels flush subnormal floats on their threads and restore each
// thread's control register after: no other code runs with the flush.
Test(kl, float_mode_restored)
{
    problem pr = problem_new(120, 90, 0.5, FM_KIND_SPARSE, 140);
    char msg[FM_MSG_LEN];
    fm_edges edges = { 0 };
    cr_assert_eq(fm_edges_borrow(&edges, pr.g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    fm_dense *T = random_factor(pr.rows, 5, 0.0, 141), *S = random_factor(pr.cols, 5, 0.0, 142);
    double totals[5];
    fm_kl_column_sums(totals, S);
    fm_kl_edge_sums *sums = calloc(pr.rows, sizeof *sums);
    const fm_kl_step step = { totals, 0, 0, false, 1e-6f, FLT_MIN };
    fm_set_threads(2);
    unsigned before[64] = { 0 }, after[64] = { 0 };
#pragma omp parallel
    before[omp_get_thread_num() % 64] = _mm_getcsr();
    fm_kl_update(T, &edges, S, &step, sums);
    fm_kl_terms(&edges, T, S, 1e-6f, false, sums);
#pragma omp parallel
    after[omp_get_thread_num() % 64] = _mm_getcsr();
    fm_set_threads(0);
    for (int t = 0; t < 64; t++) cr_assert_eq(after[t], before[t], "thread %d: control register %#x, was %#x", t,
                                              after[t], before[t]);
    cr_assert_eq(before[0] & 0x8040u, 0, "the test's threads flushed subnormals before the kernels ran");
    free(sums);
    fm_dense_free(&T);
    fm_dense_free(&S);
    cr_assert_eq(fm_edges_return(&edges, msg), FM_OK);
    problem_free(&pr);
}
#endif

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
    problem pr = problem_new(60, 45, zeros, kind, seed);
    fm_graph *g = pr.g;
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
    problem_free(&pr);
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

Test(kl, objective_never_rises_incomplete)
{
    never_rises(FM_KIND_INCOMPLETE, 0.2, 0, 0, 87);
    never_rises(FM_KIND_INCOMPLETE, 0.2, 0.2, 3.0, 88);
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
    problem pr = problem_new(40, 30, zeros, kind, seed);
    fm_graph *g = pr.g;
    const int64_t rows = pr.rows, cols = pr.cols;
    const int k = 4;
    const bool masked = kind == FM_KIND_INCOMPLETE;
    char msg[FM_MSG_LEN];
    fm_edges er = { 0 }, ec = { 0 };
    cr_assert_eq(fm_edges_borrow(&er, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&ec, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    fm_dense *W = random_factor(rows, k, 0.0, seed + 1), *Ht = random_factor(cols, k, 0.0, seed + 2);
    double sums_w[4], sums_h[4], last = INFINITY;
    const fm_kl_step step_h = { masked ? NULL : sums_w, l1, l2, false, 1e-6f, FLT_MIN };
    const fm_kl_step step_w = { masked ? NULL : sums_h, l1, l2, false, 1e-6f, FLT_MIN };
    for (int half = 0; half < 200; half++) {
        fm_kl_column_sums(sums_w, W);
        fm_kl_column_sums(sums_h, Ht);
        if (half % 2) fm_kl_update(W, &er, Ht, &step_w, NULL);
        else fm_kl_update(Ht, &ec, W, &step_h, NULL);
        double d;
        cr_assert_eq(fm_kl_divergence(&d, NULL, &er, W, Ht, masked, 1e-6f, msg), FM_OK, "%s", msg);
        const double f = d + penalties(W, l1, l2) + penalties(Ht, l1, l2);
        cr_assert_leq(f, last + 1e-6 * fabs(last), "%s (l1 %g, l2 %g): half-step %d raised the objective from %.9g "
                      "to %.9g", fm_kind_name(kind), l1, l2, half, last, f);
        last = f;
    }
    cr_assert_eq(fm_edges_return(&er, msg), FM_OK);
    cr_assert_eq(fm_edges_return(&ec, msg), FM_OK);
    fm_dense_free(&W);
    fm_dense_free(&Ht);
    problem_free(&pr);
}

Test(kl, half_steps_never_rise)
{
    fm_set_threads(1);
    half_steps_never_rise(FM_KIND_DENSE, 0.2, 0, 0, 84);
    half_steps_never_rise(FM_KIND_SPARSE, 0.6, 0, 0, 85);
    half_steps_never_rise(FM_KIND_SPARSE, 0.6, 0.3, 2.0, 86);
    half_steps_never_rise(FM_KIND_INCOMPLETE, 0.2, 0.3, 2.0, 89);
    fm_set_threads(0);
}

// Where the updates stop: the first-order conditions of min D + penalties
// over H ≥ 0, for every h_jr: g_jr = Σ_i w_ir (1 − x_ij / p_ij) + λ1 + λ2 h_jr
// is 0 where h_jr > 0 and ≥ 0 where h_jr = 0 (and the same for W). A wrong
// update has another fixed point.
static void stationary(fm_kind kind, double l1, double l2, uint64_t seed)
{
    problem pr = problem_new(14, 11, 0.3, kind, seed);
    fm_graph *g = pr.g;
    const int64_t rows = pr.rows, cols = pr.cols;
    const float *x = pr.x;
    const int k = 2;
    fm_solver_options o = kl_options(k, 1500);
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
                    if (!pr.observed[i * cols + j]) continue;   // the incomplete kind: Ω only
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
    cr_assert_lt(worst, 1e-4, "%s (l1 %g, l2 %g): a first-order condition is off by %.3g", fm_kind_name(kind), l1,
                 l2, worst);
    fm_solver_result_free(&r);
    problem_free(&pr);
}

Test(kl, converges_to_a_stationary_point)
{
    stationary(FM_KIND_DENSE, 0, 0, 130);
    stationary(FM_KIND_SPARSE, 0, 0, 131);
    stationary(FM_KIND_SPARSE, 0.2, 1.5, 132);
    stationary(FM_KIND_INCOMPLETE, 0.2, 1.5, 133);
}

// The trace's last row against the divergence and RMSE recomputed from the
// factors the run returns (by brute force, and fm_rmse).
Test(kl, trace_matches_the_factors)
{
    const int k = 4;
    for (int kind = FM_KIND_DENSE; kind <= FM_KIND_INCOMPLETE; kind++) {
        problem pr = problem_new(50, 40, 0.5, (fm_kind)kind, 90);
        fm_graph *g = pr.g;
        const int64_t cols = pr.cols;
        fm_solver_options o = kl_options(k, 25);
        fm_solver_result *r = run_kl(g, &o);
        fm_dense *Ht = NULL;
        char msg[FM_MSG_LEN];
        cr_assert_eq(fm_dense_new(&Ht, cols, k, msg), FM_OK);
        fm_dense_transpose(Ht->data, r->H);
        const double expected = brute_force_kl(&pr, r->W, Ht);
        const fm_solver_iterate *last = &r->trace[r->trace_len - 1];
        cr_assert_lt(relative(last->objective, expected), 1e-5, "%s: the trace says %.10g, the factors give %.10g",
                     fm_kind_name((fm_kind)kind), last->objective, expected);
        double rmse;
        cr_assert_eq(fm_rmse(&rmse, g, r->W, r->H, msg), FM_OK, "%s", msg);
        cr_assert_lt(relative(last->rmse, rmse), 1e-4, "rmse %.9g, recomputed %.9g", last->rmse, rmse);
        cr_assert_str_eq(r->stop_reason, "iterations");
        fm_dense_free(&Ht);
        fm_solver_result_free(&r);
        problem_free(&pr);
    }
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
    o.serial_below = 0;   // the caller's threads on this small matrix
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

Test(kl, options_it_does_not_take)
{
    float *x = random_counts(20, 15, 0.5, 120);
    char msg[FM_MSG_LEN];
    fm_solver_result *r = NULL;
    fm_graph *g = fm_test_graph_dense(x, 20, 15, FM_KIND_SPARSE);
    fm_solver_options o = kl_options(3, 5);
    o.init = FM_INIT_LEARNED;
    cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "KL loss"), "%s", msg);
    o = kl_options(3, 5);
    o.accelerate = true;
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

// W and H are the updates' whole state: 8 iterations, then 12 more from
// their factors, are the 20 iterations of one run, to the bit.
Test(kl, warm_start_continues_exactly)
{
    for (int kind = FM_KIND_SPARSE; kind <= FM_KIND_INCOMPLETE; kind++) {
        problem pr = problem_new(70, 50, 0.6, (fm_kind)kind, 150);
        fm_solver_options o = kl_options(4, 20);
        o.penalty_w.l2 = 0.5f;
        fm_solver_result *whole = run_kl(pr.g, &o);
        o.iters = 8;
        fm_solver_result *first = run_kl(pr.g, &o);
        o.iters = 12;
        o.start_W = first->W;
        o.start_H = first->H;
        fm_solver_result *rest = run_kl(pr.g, &o);
        cr_assert(!memcmp(whole->W->data, rest->W->data, sizeof(float) * pr.rows * 4), "%s: W differs",
                  fm_kind_name((fm_kind)kind));
        cr_assert(!memcmp(whole->H->data, rest->H->data, sizeof(float) * pr.cols * 4), "H differs");
        cr_assert_eq(rest->trace[0].objective, first->trace[8].objective);
        cr_assert_eq(rest->trace[12].objective, whole->trace[20].objective);
        fm_solver_result_free(&whole);
        fm_solver_result_free(&first);
        fm_solver_result_free(&rest);
        problem_free(&pr);
    }
}

// The incomplete kind's holdout: the best iteration is the trace's lowest
// held-out RMSE; keep_best returns that iteration's factors (those of a run
// stopped there); patience stops the run that many iterations after it.
Test(kl, keep_best_and_patience)
{
    problem pr = problem_new(60, 40, 0.2, FM_KIND_INCOMPLETE, 160);
    fm_graph_free(&pr.g);
    fm_triplets t = { pr.rows, pr.cols, 0, malloc(sizeof(int64_t) * pr.rows * pr.cols),
                      malloc(sizeof(int64_t) * pr.rows * pr.cols), malloc(sizeof(float) * pr.rows * pr.cols), false };
    for (int64_t e = 0; e < pr.rows * pr.cols; e++)
        if (pr.observed[e]) {
            t.row[t.count] = e / pr.cols;
            t.col[t.count] = e % pr.cols;
            t.val[t.count++] = pr.x[e];
        }
    fm_triplets *kept = NULL, *held = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_holdout_split(&kept, &held, &t, 0.25, 3, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_graph_from_triplets(&pr.g, kept, FM_KIND_INCOMPLETE, msg), FM_OK, "%s", msg);
    fm_solver_options o = kl_options(8, 60);   // rank 8 on 60 x 40 noise: it overfits
    fm_solver_result *plain = NULL, *best = NULL, *patient = NULL, *stopped = NULL;
    cr_assert_eq(fm_solver_run(&plain, pr.g, held, &o, msg), FM_OK, "%s", msg);
    int argmin = 0;
    for (int it = 1; it < plain->trace_len; it++)
        if (plain->trace[it].holdout_rmse < plain->trace[argmin].holdout_rmse) argmin = it;
    cr_assert_eq(plain->best_iteration, argmin);
    cr_assert_eq(plain->best_holdout_rmse, plain->trace[argmin].holdout_rmse);
    cr_assert_lt(argmin, 60, "no overfitting to select against (best at the last iteration)");
    o.keep_best = true;
    cr_assert_eq(fm_solver_run(&best, pr.g, held, &o, msg), FM_OK, "%s", msg);
    fm_solver_options at = kl_options(8, argmin);
    cr_assert_eq(fm_solver_run(&stopped, pr.g, held, &at, msg), FM_OK, "%s", msg);
    cr_assert(!memcmp(best->W->data, stopped->W->data, sizeof(float) * pr.rows * 8), "keep_best: W of another iteration");
    cr_assert(!memcmp(best->H->data, stopped->H->data, sizeof(float) * pr.cols * 8), "keep_best: H of another iteration");
    o.keep_best = false;
    o.patience = 3;
    cr_assert_eq(fm_solver_run(&patient, pr.g, held, &o, msg), FM_OK, "%s", msg);
    if (argmin + 3 <= 60) {
        cr_assert_str_eq(patient->stop_reason, "patience");
        cr_assert_eq(patient->trace_len - 1, argmin + 3);
    }
    // without held-out entries: refused
    fm_solver_result *none = NULL;
    cr_assert_eq(fm_solver_run(&none, pr.g, NULL, &o, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "held-out"), "%s", msg);
    fm_solver_result_free(&plain);
    fm_solver_result_free(&best);
    fm_solver_result_free(&patient);
    fm_solver_result_free(&stopped);
    fm_triplets_free(&kept);
    fm_triplets_free(&held);
    free(t.row);
    free(t.col);
    free(t.val);
    problem_free(&pr);
}

Test(kl, duals_refused)
{
    problem pr = problem_new(20, 15, 0.5, FM_KIND_SPARSE, 170);
    fm_solver_options o = kl_options(3, 5);
    o.keep_duals = true;
    fm_solver_result *r = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_solver_run(&r, pr.g, NULL, &o, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "no duals"), "%s", msg);
    cr_assert_null(r);
    problem_free(&pr);
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
    cr_assert_eq(fm_kl_divergence(&divergence, NULL, &edges, W, Ht, false, FLT_MIN, msg), FM_OK, "%s", msg);
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

// The incomplete kind over Ω, with held-out entries: their RMSE on every
// row, and the divergence over the fitted entries never rising.
Test(kl, cli_incomplete_with_holdout)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    run r = RUN(&s, "factorize", x, "--kind", "incomplete", "--loss", "kl", "--rank", "3", "--iters", "30", "--tol",
                "0", "--holdout", "0.2", "--out", out_prefix(&s), "--quiet");
    expect_success(&r);
    char path[512];
    snprintf(path, sizeof path, "%s.summary.json", out_prefix(&s));
    char *summary = read_text(path);
    cr_assert(json_string_is(summary, "loss", "kl") && json_string_is(summary, "kind", "incomplete"), "%s", summary);
    const double held = json_number(summary, "holdout_rmse");
    cr_assert(held > 0 && isfinite(held), "holdout rmse %g", held);
    cr_assert_gt(json_number(summary, "holdout_entries"), 0);
    snprintf(path, sizeof path, "%s.trace.csv", out_prefix(&s));
    double trace[64];
    const int rows = trace_objectives(path, trace, 64);
    cr_assert_eq(rows, 31);
    for (int it = 1; it < rows; it++)
        cr_assert_leq(trace[it], trace[it - 1] * (1 + 1e-6), "the divergence rose at iteration %d", it);
    free(summary);
    run_free(&r);
    scratch_free(&s);
}

// factorize --loss kl --init-from: 10 + 10 iterations through the files
// are the 20 of one run (the factors are written exactly: %.9g floats).
Test(kl, cli_warm_start)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    char a[400], b[400], c[400], path[512];
    snprintf(a, sizeof a, "%s/a", s.out);
    snprintf(b, sizeof b, "%s/b", s.out);
    snprintf(c, sizeof c, "%s/c", s.out);
    run r = RUN(&s, "factorize", x, "--loss", "kl", "--rank", "3", "--iters", "10", "--tol", "0", "--out", a, "--quiet");
    expect_success(&r);
    run_free(&r);
    r = RUN(&s, "factorize", x, "--loss", "kl", "--init-from", a, "--iters", "10", "--tol", "0", "--out", b, "--quiet");
    expect_success(&r);
    run_free(&r);
    r = RUN(&s, "factorize", x, "--loss", "kl", "--rank", "3", "--iters", "20", "--tol", "0", "--out", c, "--quiet");
    expect_success(&r);
    run_free(&r);
    fm_graph *g = graph_of(x, FM_KIND_SPARSE);
    fm_graph_stats st;
    fm_graph_stats_get(g, &st);
    snprintf(path, sizeof path, "%s.W.mtx", b);
    fm_dense *Wb = read_factor(path, st.rows, 3);
    snprintf(path, sizeof path, "%s.W.mtx", c);
    fm_dense *Wc = read_factor(path, st.rows, 3);
    for (int64_t e = 0; e < st.rows * 3; e++)
        cr_assert_leq(fabs(Wb->data[e] - Wc->data[e]), 1e-6 * fabs(Wc->data[e]) + 1e-30, "W[%lld]: %.9g against %.9g",
                      (long long)e, Wb->data[e], Wc->data[e]);
    fm_dense_free(&Wb);
    fm_dense_free(&Wc);
    fm_graph_free(&g);
    // a speckled holdout (the sparse kind's --holdout) is not built for this loss: refused
    r = FACTORIZE_BAD(&s, x, "--loss", "kl", "--kind", "sparse", "--holdout", "0.1", "--rank", "3");
    EXPECT_FAILURE(&r, 1, "speckled", "KL loss");
    run_free(&r);
    scratch_free(&s);
}

Test(kl, cli_unknown_loss)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    run r = FACTORIZE_BAD(&s, x, "--loss", "poisson", "--rank", "3");
    EXPECT_FAILURE(&r, 2, "unknown loss 'poisson'", "expected ls");
    expect_no_outputs(&s);
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--loss", "kl", "--accelerate", "--rank", "3");
    EXPECT_FAILURE(&r, 1, "KL loss");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}
