// Warm starts (fm_solver_options.start_*): a run continued from the factors
// and duals of a iterations gives the factors of a + b iterations; without
// the duals it takes another path; bad starting states are refused.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

TestSuite(warm_start, .init = fm_test_setup);

static void options(fm_solver_options *o, int rank, int iters)
{
    fm_solver_options_default(o);
    o->rank = rank;
    o->iters = iters;
    o->tol = 0;
    o->keep_duals = true;
}

static fm_solver_result *run_ok(fm_graph *g, const fm_solver_options *o)
{
    fm_solver_result *r = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_solver_run(&r, g, NULL, o, msg), FM_OK, "%s", msg);
    return r;
}

static double relative_difference(const fm_dense *a, const fm_dense *b)
{
    double d = 0, s = 0;
    for (int64_t e = 0; e < a->rows * a->cols; e++) {
        d += ((double)a->data[e] - b->data[e]) * ((double)a->data[e] - b->data[e]);
        s += (double)b->data[e] * b->data[e];
    }
    return sqrt(d / s);
}

// A noisy planted matrix of `kind` (incomplete: 60% observed; sparse: the
// entries below 0.3 dropped).
static fm_graph *noisy_graph(int m, int n, fm_kind kind, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    float *X = fm_test_planted(m, n, 4, seed), *noise = fm_test_uniform(m * n, seed + 1);
    fm_triplets t = { .rows = m, .cols = n };
    t.row = malloc(sizeof(int64_t) * m * n);
    t.col = malloc(sizeof(int64_t) * m * n);
    t.val = malloc(sizeof(float) * m * n);
    for (int e = 0; e < m * n; e++) {
        const float x = X[e] * (0.8f + 0.4f * noise[e]);
        if (kind == FM_KIND_INCOMPLETE && noise[(e * 7 + 3) % (m * n)] > 0.6f) continue;
        if (kind == FM_KIND_SPARSE && x < 0.3f) continue;
        t.row[t.count] = e / n, t.col[t.count] = e % n, t.val[t.count++] = x;
    }
    fm_graph *g = NULL;
    cr_assert_eq(fm_graph_from_triplets(&g, &t, kind, msg), FM_OK, "%s", msg);
    free(t.row);
    free(t.col);
    free(t.val);
    free(X);
    free(noise);
    return g;
}

// 50 + 50 against 100 iterations, for the three kinds (the dense one runs
// the fused W-update, whose Xᵀ·W the next H-update reuses: the continued
// run's first H-update forms it anew, a float-rounding difference), with
// penalties on both factors. With the duals the factors agree to float
// rounding amplified over 50 iterations (1e-5 asked; measured 3e-7 for the
// dense kind, and bit for bit for the others); without them the continued
// run starts each ADMM from U = 0 and lands elsewhere (measured 6e-4 to
// 9e-4; asked: more than 10 times as far as with them).
Test(warm_start, fifty_plus_fifty_is_one_hundred)
{
    const fm_kind kinds[3] = { FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE };
    for (int kk = 0; kk < 3; kk++) {
        fm_graph *g = noisy_graph(120, 90, kinds[kk], 20 + kk);
        fm_solver_options o;
        options(&o, 4, 100);
        o.penalty_w = (fm_penalty){ .l1 = 0.01f, .l2 = 0.01f };
        o.penalty_h = (fm_penalty){ .l2 = 0.02f, .l2_per_entry = true };
        fm_solver_result *whole = run_ok(g, &o);
        o.iters = 50;
        fm_solver_result *first = run_ok(g, &o);
        cr_assert(first->dual_W && first->dual_H);
        cr_assert(first->dual_W->rows == 120 && first->dual_W->cols == 4);
        cr_assert(first->dual_H->rows == 4 && first->dual_H->cols == 90);
        o.start_W = first->W;
        o.start_H = first->H;
        o.start_dual_W = first->dual_W;
        o.start_dual_H = first->dual_H;
        fm_solver_result *second = run_ok(g, &o);
        o.start_dual_W = o.start_dual_H = NULL;
        fm_solver_result *no_duals = run_ok(g, &o);
        const double dw = relative_difference(second->W, whole->W), dh = relative_difference(second->H, whole->H);
        const double nw = relative_difference(no_duals->W, whole->W), nh = relative_difference(no_duals->H, whole->H);
        cr_log_info("%s: with duals W %.2e H %.2e, without W %.2e H %.2e", fm_kind_name(kinds[kk]), dw, dh, nw, nh);
        cr_assert_lt(dw, 1e-5, "%s: W differs by %g from the 100-iteration run's", fm_kind_name(kinds[kk]), dw);
        cr_assert_lt(dh, 1e-5, "%s: H differs by %g from the 100-iteration run's", fm_kind_name(kinds[kk]), dh);
        cr_assert_gt(fmax(nw, nh), 10 * fmax(fmax(dw, dh), 1e-6), "%s: without the duals the run should differ more",
                     fm_kind_name(kinds[kk]));
        // the last trace row: the same objective as the whole run's
        const double f = second->trace[second->trace_len - 1].objective;
        const double f_whole = whole->trace[whole->trace_len - 1].objective;
        cr_assert_lt(fabs(f - f_whole), 1e-5 * f_whole, "objective %.9g against %.9g", f, f_whole);
        fm_solver_result_free(&whole);
        fm_solver_result_free(&first);
        fm_solver_result_free(&second);
        fm_solver_result_free(&no_duals);
        fm_graph_free(&g);
    }
}

// Zero iterations from a warm start give the starting factors back, exactly.
Test(warm_start, zero_iterations_keep_the_start)
{
    fm_graph *g = noisy_graph(40, 30, FM_KIND_DENSE, 5);
    fm_solver_options o;
    options(&o, 3, 10);
    o.keep_duals = false;
    fm_solver_result *first = run_ok(g, &o);
    cr_assert_null(first->dual_W);
    cr_assert_null(first->dual_H);
    o.iters = 0;
    o.start_W = first->W;
    o.start_H = first->H;
    fm_solver_result *again = run_ok(g, &o);
    cr_assert(!memcmp(again->W->data, first->W->data, sizeof(float) * 40 * 3));
    cr_assert(!memcmp(again->H->data, first->H->data, sizeof(float) * 3 * 30));
    fm_solver_result_free(&first);
    fm_solver_result_free(&again);
    fm_graph_free(&g);
}

static void expect_refused(fm_graph *g, const fm_solver_options *o, const char *words)
{
    char msg[FM_MSG_LEN] = "";
    fm_solver_result *r = NULL;
    cr_assert_eq(fm_solver_run(&r, g, NULL, o, msg), FM_ERR_INVALID, "expected a refusal about '%s'", words);
    cr_assert_null(r);
    cr_assert(strstr(msg, words), "the message '%s' should say '%s'", msg, words);
}

Test(warm_start, bad_starts_are_refused)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = noisy_graph(40, 30, FM_KIND_DENSE, 6);
    fm_solver_options o;
    options(&o, 3, 5);
    fm_solver_result *fit = run_ok(g, &o);
    fm_dense *W = NULL, *H = NULL, *UW = NULL, *UH = NULL;
    cr_assert_eq(fm_dense_copy(&W, fit->W, msg), FM_OK);
    cr_assert_eq(fm_dense_copy(&H, fit->H, msg), FM_OK);
    cr_assert_eq(fm_dense_copy(&UW, fit->dual_W, msg), FM_OK);
    cr_assert_eq(fm_dense_copy(&UH, fit->dual_H, msg), FM_OK);

    options(&o, 3, 5);
    o.start_W = W;
    expect_refused(g, &o, "both factors");
    o.start_H = H;
    o.start_dual_W = UW;
    expect_refused(g, &o, "of both factors or of neither");
    o.start_dual_H = UH;
    o.rank = 2;   // the factors are of rank 3
    expect_refused(g, &o, "this run needs 40 x 2");
    o.rank = 3;
    o.start_W = H;   // W and H swapped
    o.start_H = W;
    expect_refused(g, &o, "W is 3 x 30");
    o.start_W = W;
    o.start_H = H;
    o.init = FM_INIT_LEARNED;
    expect_refused(g, &o, "learned initialization");
    o.init = FM_INIT_NNDSVD;
    o.accelerate = true;
    expect_refused(g, &o, "acceleration network");
    o.accelerate = false;
    W->data[4] = -1;
    expect_refused(g, &o, ">= 0");
    W->data[4] = 0.5f;
    UH->data[7] = NAN;
    expect_refused(g, &o, "dual of H");
    UH->data[7] = -2;   // a dual may be negative
    fm_solver_result *r = run_ok(g, &o);
    fm_solver_result_free(&r);
    fm_dense_free(&W);
    fm_dense_free(&H);
    fm_dense_free(&UW);
    fm_dense_free(&UH);
    fm_solver_result_free(&fit);
    fm_graph_free(&g);
}
