// The KL loss (issue 18, "A second loss"): the divergence against a
// brute-force sum over every entry of small dense and sparse matrices; the
// fused kernels of ops/kl.c against their double references on random
// inputs (ranks on each side of the vector paths, with and without
// penalties) and on 1 and 2 threads; the float logarithm against libm; and
// `factorize --loss kl` end to end. The solver: tests/test_kl_solver.c.
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
#include "kl_fixtures.h"
#include "rng.h"

TestSuite(kl, .init = fm_test_setup);

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
    kl_problem pr = kl_problem_new(23, 17, zeros, kind, seed);
    fm_dense *W = kl_random_factor(pr.rows, k, 0.05, seed + 1), *Ht = kl_random_factor(pr.cols, k, 0.05, seed + 2);
    fm_edges edges = { 0 };
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_edges_borrow(&edges, pr.g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    double divergence = NAN;
    fm_kl_edge_sums total;
    cr_assert_eq(fm_kl_divergence(&divergence, &total, &edges, W, Ht, kind == FM_KIND_INCOMPLETE, FLT_MIN, msg),
                 FM_OK, "%s", msg);
    const double expected = kl_brute_force(&pr, W, Ht);
    cr_assert_lt(kl_relative(divergence, expected), 1e-5, "%s, rank %d: divergence %.12g, brute force %.12g",
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
    cr_assert_lt(kl_relative(total.cross, cross), 1e-5, "⟨X, WH⟩ %.12g, brute force %.12g", total.cross, cross);
    if (kind == FM_KIND_INCOMPLETE) {
        cr_assert_lt(kl_relative(total.prediction, prediction), 1e-5, "Σ p %.12g, brute force %.12g", total.prediction,
                     prediction);
        cr_assert_lt(kl_relative(total.square, square), 1e-5, "Σ p² %.12g, brute force %.12g", total.square, square);
    }
    cr_assert_eq(fm_edges_return(&edges, msg), FM_OK);
    fm_dense_free(&W);
    fm_dense_free(&Ht);
    kl_problem_free(&pr);
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
    kl_problem pr = kl_problem_new(37, 29, zeros, kind, seed);
    const bool masked = kind == FM_KIND_INCOMPLETE;
    char msg[FM_MSG_LEN];
    for (int side = 0; side < 2; side++) {
        fm_edges edges = { 0 };
        cr_assert_eq(fm_edges_borrow(&edges, pr.g, side ? FM_TO_COLUMNS : FM_TO_ROWS, msg), FM_OK, "%s", msg);
        fm_dense *T = kl_random_factor(edges.targets, k, 0.0, seed + 2),
                 *S = kl_random_factor(edges.sources, k, 0.0, seed + 3);
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
    kl_problem_free(&pr);
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
        kl_problem pr = kl_problem_new(301, 203, 0.8, (fm_kind)kind, 70);
        const int k = 12;
        char msg[FM_MSG_LEN];
        fm_edges edges = { 0 };
        cr_assert_eq(fm_edges_borrow(&edges, pr.g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
        fm_dense *S = kl_random_factor(pr.cols, k, 0.0, 72), *T[2] = { NULL, NULL };
        double totals[12];
        fm_kl_edge_sums *sums[2];
        fm_kl_column_sums(totals, S);
        const fm_kl_step step = { kind == FM_KIND_INCOMPLETE ? NULL : totals, 0.1, 0.2, false, 1e-6f, FLT_MIN };
        for (int threads = 1; threads <= 2; threads++) {
            T[threads - 1] = kl_random_factor(pr.rows, k, 0.0, 71);
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
        kl_problem_free(&pr);
    }
}

#if defined(__SSE__)
#include <xmmintrin.h>

// The kernels flush subnormal floats on their threads and restore each
// thread's control register after: no other code runs with the flush.
Test(kl, float_mode_restored)
{
    kl_problem pr = kl_problem_new(120, 90, 0.5, FM_KIND_SPARSE, 140);
    char msg[FM_MSG_LEN];
    fm_edges edges = { 0 };
    cr_assert_eq(fm_edges_borrow(&edges, pr.g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    fm_dense *T = kl_random_factor(pr.rows, 5, 0.0, 141), *S = kl_random_factor(pr.cols, 5, 0.0, 142);
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
    kl_problem_free(&pr);
}
#endif

//------------------------------------------------------------------------------
// The command line
//------------------------------------------------------------------------------

// The objective column of a trace CSV.
static int trace_objectives(const char *path, double *objective, int capacity)
{
    char *text = fm_test_read_text(path);
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
    char *summary = fm_test_read_text(path);
    cr_assert(json_string_is(summary, "loss", "kl"), "%s", summary);
    cr_assert(json_string_is(summary, "init", "nndsvda"), "the KL loss's default init: %s", summary);
    const double objective = json_number(summary, "objective");
    snprintf(path, sizeof path, "%s.trace.csv", out_prefix(&s));
    double trace[64];
    const int rows = trace_objectives(path, trace, 64);
    cr_assert_eq(rows, 41);
    for (int it = 1; it < rows; it++)
        cr_assert_leq(trace[it], trace[it - 1] * (1 + 1e-6), "the divergence rose at iteration %d", it);
    cr_assert_lt(kl_relative(objective, trace[rows - 1]), 1e-6);
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
    cr_assert_lt(kl_relative(divergence, objective), 1e-5, "summary %.10g, written factors %.10g", objective,
                 divergence);
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
    char *summary = fm_test_read_text(path);
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
