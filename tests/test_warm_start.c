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

// The options of a continuation of `first`: its factors and its state.
static void continue_from(fm_solver_options *o, const fm_solver_result *first, bool duals)
{
    o->start_W = first->W;
    o->start_H = first->H;
    o->start_dual_W = duals ? first->dual_W : NULL;
    o->start_dual_H = duals ? first->dual_H : NULL;
    o->start_state = first->state;
    o->start_prev_W = first->state.extrapolating ? first->prev_W : NULL;
    o->start_prev_H = first->state.extrapolating ? first->prev_H : NULL;
}

// 50 + 50 against 100 iterations, for the three kinds, in both phases (the
// default exact phase with its extrapolation, and ADMM to the end), with
// penalties on both factors. The dense kind runs the fused W-update, whose
// Xᵀ·W the next H-update reuses (and the extrapolation moves): the continued
// run forms it anew, a float-rounding difference. With the state carried
// the factors agree to float rounding amplified over 50 iterations (1e-5
// asked; measured: bit for bit for the sparse and incomplete kinds, 3e-7
// for the dense one with ADMM, 9e-7 in the exact phase). Without it the
// continued run takes another path: ADMM restarts from U = 0 (measured 6e-4
// to 9e-4), the extrapolation from β₀ without a move (measured 4e-3 to
// 2e-2); asked: more than 10 times as far as with it.
Test(warm_start, fifty_plus_fifty_is_one_hundred)
{
    const fm_kind kinds[3] = { FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE };
    for (int phase = 0; phase < 2; phase++)
        for (int kk = 0; kk < 3; kk++) {
            const char *name = fm_kind_name(kinds[kk]), *phase_name = phase ? "admm" : "exact";
            fm_graph *g = noisy_graph(120, 90, kinds[kk], 20 + kk);
            fm_solver_options o;
            options(&o, 4, 100);
            if (phase) o.finish = FM_FINISH_NONE;
            else o.finish_below = 0;   // the exact phase from iteration 1 for every kind
            o.penalty_w = (fm_penalty){ .l1 = 0.01f, .l2 = 0.01f };
            o.penalty_h = (fm_penalty){ .l2 = 0.02f, .l2_per_entry = true };
            fm_solver_result *whole = run_ok(g, &o);
            o.iters = 50;
            fm_solver_result *first = run_ok(g, &o);
            cr_assert(first->dual_W && first->dual_H);
            cr_assert(first->dual_W->rows == 120 && first->dual_W->cols == 4);
            cr_assert(first->dual_H->rows == 4 && first->dual_H->cols == 90);
            cr_assert_eq(first->state.iterations, 50);
            cr_assert_eq(first->state.exact, !phase, "%s: the state's phase", phase_name);
            cr_assert_eq(first->state.extrapolating, !phase);
            cr_assert_eq(!first->prev_W, phase);
            if (!phase) cr_assert(first->prev_W->rows == 120 && first->prev_H->rows == 4 && first->prev_H->cols == 90);
            continue_from(&o, first, true);
            fm_solver_result *second = run_ok(g, &o);
            cr_assert_eq(second->state.iterations, 100);
            cr_assert_eq(second->finish_iteration, phase ? 0 : 1);
            // without the state: the factors only
            o.start_dual_W = o.start_dual_H = o.start_prev_W = o.start_prev_H = NULL;
            o.start_state = (fm_solver_state){ 0 };
            fm_solver_result *bare = run_ok(g, &o);
            const double dw = relative_difference(second->W, whole->W), dh = relative_difference(second->H, whole->H);
            const double nw = relative_difference(bare->W, whole->W), nh = relative_difference(bare->H, whole->H);
            cr_log_info("%s, %s phase: with the state W %.2e H %.2e, without W %.2e H %.2e", name, phase_name, dw, dh,
                        nw, nh);
            cr_assert_lt(dw, 1e-5, "%s, %s: W differs by %g from the 100-iteration run's", name, phase_name, dw);
            cr_assert_lt(dh, 1e-5, "%s, %s: H differs by %g from the 100-iteration run's", name, phase_name, dh);
            cr_assert_gt(fmax(nw, nh), 10 * fmax(fmax(dw, dh), 1e-6),
                         "%s, %s: without the state the run should differ more", name, phase_name);
            // the last trace row: the same objective as the whole run's
            const double f = second->trace[second->trace_len - 1].objective;
            const double f_whole = whole->trace[whole->trace_len - 1].objective;
            cr_assert_lt(fabs(f - f_whole), 1e-5 * f_whole, "objective %.9g against %.9g", f, f_whole);
            fm_solver_result_free(&whole);
            fm_solver_result_free(&first);
            fm_solver_result_free(&second);
            fm_solver_result_free(&bare);
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
    // and the state given is the state kept
    o.iters = 10;
    o.start_W = o.start_H = NULL;
    o.keep_duals = true;
    fm_solver_result *kept = run_ok(g, &o);
    cr_assert(kept->state.exact && kept->state.extrapolating && kept->prev_W);
    o.iters = 0;
    continue_from(&o, kept, true);
    fm_solver_result *still = run_ok(g, &o);
    const fm_solver_state *a = &still->state, *b = &kept->state;
    cr_assert(a->iterations == b->iterations && a->exact == b->exact && a->extrapolating == b->extrapolating &&
              a->moved == b->moved && a->beta == b->beta && a->ceiling == b->ceiling &&
              a->objective == b->objective && a->residual == b->residual);
    cr_assert(!memcmp(still->prev_W->data, kept->prev_W->data, sizeof(float) * 40 * 3));
    cr_assert(!memcmp(still->prev_H->data, kept->prev_H->data, sizeof(float) * 3 * 30));
    fm_solver_result_free(&kept);
    fm_solver_result_free(&still);
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
    // the exact phase's state
    o.start_prev_W = W;
    expect_refused(g, &o, "previous iterate of both factors or of neither");
    o.start_prev_H = H;
    expect_refused(g, &o, "which its state does not say");
    o.start_state = (fm_solver_state){ .exact = true, .extrapolating = true, .beta = 0.8, .ceiling = 0.5 };
    expect_refused(g, &o, "0 <= beta <= ceiling <= 1");
    o.start_state.ceiling = 1;
    o.start_state.objective = NAN;
    expect_refused(g, &o, "finite numbers >= 0");
    o.start_state.objective = 1;
    o.start_state.extrapolating = false;
    o.start_prev_W = o.start_prev_H = NULL;
    o.keep_best = true;
    expect_refused(g, &o, "keep_best");
    o.keep_best = false;
    fm_solver_result *r = run_ok(g, &o);
    fm_solver_result_free(&r);
    fm_dense_free(&W);
    fm_dense_free(&H);
    fm_dense_free(&UW);
    fm_dense_free(&UH);
    fm_solver_result_free(&fit);
    fm_graph_free(&g);
}

// With --finish-below the exact phase starts once the objective's decrease
// slows; a run continued in the ADMM phase before that switch counts the
// earlier run's iterations (a fresh run's first two are never due) and
// switches at the same iteration as the longer run, then goes on to its
// factors (measured: bit for bit on the sparse kind).
Test(warm_start, the_switch_to_the_exact_phase_falls_where_it_did)
{
    fm_graph *g = noisy_graph(120, 90, FM_KIND_SPARSE, 31);
    fm_solver_options o;
    options(&o, 5, 100);
    o.finish_below = 1e-3;
    fm_solver_result *whole = run_ok(g, &o);
    const int at = whole->finish_iteration;
    cr_assert(at > 4 && at < 100, "the switch at %d: expected one inside the run", at);
    // still ADMM, and the continuation's second iteration is the switch's
    // (fm_finish_due compares it with the first: due only if the earlier
    // iterations count)
    o.iters = at - 2;
    fm_solver_result *first = run_ok(g, &o);
    cr_assert(!first->state.exact);
    continue_from(&o, first, true);
    o.iters = 100 - first->state.iterations;
    fm_solver_result *second = run_ok(g, &o);
    cr_assert_eq(second->finish_iteration + first->state.iterations, at, "the switch at %d of the continuation",
                 second->finish_iteration);
    const double dw = relative_difference(second->W, whole->W), dh = relative_difference(second->H, whole->H);
    cr_log_info("switch at %d; continued from %d: W %.2e H %.2e", at, first->state.iterations, dw, dh);
    cr_assert_lt(fmax(dw, dh), 1e-5);
    fm_solver_result_free(&whole);
    fm_solver_result_free(&first);
    fm_solver_result_free(&second);
    fm_graph_free(&g);
}
