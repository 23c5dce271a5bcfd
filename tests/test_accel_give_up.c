// Giving the accelerator up (fm_solver_options.accel_give_up, on by default
// with the safeguard): once the safeguard refuses an output, or a kept one
// gains less over the ADMM iterate than that iterate gained over the row
// before, the run calls the network no more; and the cost guard
// (accel_budget) does not call it when a pass would cost more than its share
// of the budget. The shipped rank-10 model on the large validation matrices
// of its training family.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "accel_guard.h"
#include "factormer.h"
#include "graph.h"
#include "helpers.h"
#include "learned.h"
#include "train_data.h"

TestSuite(accel_give_up, .init = fm_test_setup);

static fm_solver_result *solve(fm_graph *g, const fm_solver_options *o)
{
    fm_solver_result *r = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_solver_run(&r, g, NULL, o, msg), FM_OK, "%s", msg);
    return r;
}

// 24 iterations at rank 10 with the shipped accelerator, the defaults otherwise.
static fm_solver_options shipped_accelerator(void)
{
    fm_solver_options o;
    fm_solver_options_default(&o);
    o.rank = 10;
    o.iters = 24;
    o.tol = 0;
    o.seed = 42;
    o.accelerate = true;
    o.accel_model = FM_SOURCE_DIR "/models/shipped/accel-rank10.fmw";
    return o;
}

Test(accel_give_up, the_run_stops_calling_a_network_that_does_not_pay)
{
    char msg[FM_MSG_LEN];
    int gave_up = 0;
    for (int i = 0; i < 3; i++)
        for (int every = 1; every <= 4; every += 3) {
            fm_graph *g = NULL;
            cr_assert_eq(fm_train_matrix(&g, NULL, NULL, NULL, NULL, FM_SET_VALID_LARGE, i, 3, 10, 42, msg), FM_OK,
                         "%s", msg);
            fm_solver_options o = shipped_accelerator();
            o.accel_every = every;
            o.accel_steps = 5;
            cr_assert(o.accel_safeguard && o.accel_give_up, "the defaults");
            o.accel_budget = INFINITY;   // the refusals alone (the cost guard: below)
            fm_solver_result *r = solve(g, &o);
            const int given = r->accel_given_up, steps = r->accel_steps;
            // the first refusal ends the calls at once
            int first_refused = 0;
            for (int it = 1; it < r->trace_len && !first_refused; it++)
                if (r->trace[it].rejected) first_refused = it;
            if (first_refused) cr_expect_eq(given, first_refused, "matrix %d, every %d", i, every);
            if (given) {
                gave_up++;
                cr_expect_eq(given, steps * every, "given up at its last step (matrix %d)", i);
                cr_expect_lt(steps, 5);
                for (int it = given + 1; it < r->trace_len; it++)
                    cr_expect(!r->trace[it].accelerated && !r->trace[it].rejected, "iteration %d after giving up", it);
            } else {
                cr_expect_eq(steps, 5, "matrix %d, every %d", i, every);
            }
            // bit for bit the run told to take that many steps and keep them all
            fm_solver_options fixed = o;
            fixed.accel_give_up = false;
            fixed.accel_steps = steps;
            fm_solver_result *same = solve(g, &fixed);
            cr_assert_eq(same->trace_len, r->trace_len);
            for (int it = 0; it < r->trace_len; it++)
                cr_expect_eq(same->trace[it].objective, r->trace[it].objective, "matrix %d, iteration %d", i, it);
            cr_expect_eq(same->accel_given_up, 0);
            fm_solver_result_free(&same);
            // told to keep going, it takes every step
            fixed.accel_steps = 5;
            same = solve(g, &fixed);
            cr_expect_eq(same->accel_steps, 5);
            fm_solver_result_free(&same);
            fm_solver_result_free(&r);
            fm_graph_free(&g);
        }
    cr_expect_gt(gave_up, 0, "no run gave the accelerator up: the policy went unexercised");
}

// The network's predicted work over an ADMM iteration's, against the budget's
// share per step: the first decision does not depend on timing (the time per
// iteration cancels). On these 30-70 x 30-70 matrices one pass of the shipped
// accelerator is about 180 ADMM iterations of work; with the default budget
// the guard gives the accelerator up before its first pass, and the run is
// plain ADMM's bit for bit. With a budget that covers the pass, the steps run.
Test(accel_give_up, the_cost_guard_skips_a_pass_that_cannot_pay)
{
    char msg[FM_MSG_LEN];
    for (int i = 0; i < 2; i++) {
        fm_graph *g = NULL;
        cr_assert_eq(fm_train_matrix(&g, NULL, NULL, NULL, NULL, FM_SET_VALID_LARGE, i, 3, 10, 42, msg), FM_OK, "%s",
                     msg);
        fm_solver_options o = shipped_accelerator();
        cr_assert_eq(o.accel_budget, FM_ACCEL_BUDGET);
        fm_solver_result *r = solve(g, &o);
        cr_expect(r->accel_too_costly && r->accel_steps == 0 && r->accel_given_up == 0,
                  "matrix %d: too costly %d, %d steps, given up after %d", i, r->accel_too_costly, r->accel_steps,
                  r->accel_given_up);
        cr_expect(r->accel_pass_iterations > 100 && r->accel_allowed_iterations < 1,
                  "matrix %d: a pass is %g iterations of work, its share %g", i, r->accel_pass_iterations,
                  r->accel_allowed_iterations);
        // plain ADMM's run, bit for bit: no view of X / mean, no wait before the exact phase
        fm_solver_options plain = o;
        plain.accelerate = false;
        fm_solver_result *p = solve(g, &plain);
        cr_assert_eq(p->trace_len, r->trace_len);
        for (int it = 0; it < r->trace_len; it++)
            cr_expect_eq(p->trace[it].objective, r->trace[it].objective, "matrix %d, iteration %d", i, it);
        fm_solver_result_free(&p);
        fm_solver_result_free(&r);
        // a budget a thousand times the run: the first pass is allowed
        o.accel_budget = 1e4;
        r = solve(g, &o);
        cr_expect(!r->accel_too_costly && r->accel_steps >= 1, "matrix %d: %d steps", i, r->accel_steps);
        fm_solver_result_free(&r);
        fm_graph_free(&g);
    }
}

Test(accel_give_up, a_budget_that_is_not_a_share_is_refused)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL;
    cr_assert_eq(fm_train_matrix(&g, NULL, NULL, NULL, NULL, FM_SET_VALID_LARGE, 0, 3, 10, 42, msg), FM_OK, "%s", msg);
    const double bad[2] = {-0.1, NAN};
    for (int b = 0; b < 2; b++) {
        fm_solver_options o = shipped_accelerator();
        o.accel_budget = bad[b];
        fm_solver_result *r = NULL;
        cr_expect_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_ERR_INVALID, "budget %g accepted", bad[b]);
        cr_expect(strstr(msg, "budget must be >= 0"), "%s", msg);
        cr_expect_null(r);
    }
    fm_graph_free(&g);
}

// The guard's estimate of a pass (docs §6 item 4) counts the gathered term
// of §5.1: its two sparse products over p·k columns, 4pk|E|, and the fourth
// feature's share of the embeddings, k passes of 2(m + n) d p; for the
// accelerator's two channels and the initialization's one.
static void check_gathered_estimate(int p)
{
    const int k = 6, d = 8;
    const int64_t edges = 5000, rows = 90, cols = 70;
    const fm_lfactormer_config plain = {.inputs = p * k, .rank = k, .width = d, .heads = 2, .layers = 4,
                                        .components = true};
    fm_lfactormer_config gathered = plain;
    gathered.gathered = true;
    const double more =
        fm_learned_pass_flops(&gathered, edges, rows, cols) - fm_learned_pass_flops(&plain, edges, rows, cols);
    const double want = 4.0 * p * k * edges + (double)k * 2 * (rows + cols) * d * p;
    cr_expect(fabs(more - want) <= 1e-9 * want, "p = %d: the gathered term adds %.6g flops to a pass; expected %.6g", p,
              more, want);
}

Test(accel_give_up, the_estimate_counts_the_gathered_term)
{
    check_gathered_estimate(1);
    check_gathered_estimate(2);
}

// With the exact phase from the first iteration (the dense kind's default,
// §3.1) the accelerator does not hold ADMM back: it reads the exact phase's
// iterates. A refused step leaves the run as it was: the trace is plain's (up
// to rounding: the accelerated run's NNDSVD is balanced otherwise, §6); a
// kept one lowers the objective below plain's at that iteration, and the
// extrapolation starts again from it (the trace never rises).
Test(accel_give_up, an_exact_phase_from_the_start_does_not_wait_for_the_accelerator)
{
    char msg[FM_MSG_LEN];
    int refused = 0, kept = 0;
    for (int i = 0; i < 6; i++) {
        fm_graph *g = NULL;
        cr_assert_eq(fm_train_matrix(&g, NULL, NULL, NULL, NULL, FM_SET_VALID_LARGE, i, 6, 10, 42, msg), FM_OK, "%s",
                     msg);
        fm_solver_options o = shipped_accelerator();
        o.accel_every = 3;
        o.accel_budget = INFINITY;
        cr_assert(o.finish == FM_FINISH_HALS, "the default finish");
        fm_solver_result *r = solve(g, &o);
        fm_solver_options plain = o;
        plain.accelerate = false;
        fm_solver_result *p = solve(g, &plain);
        cr_expect_eq(r->finish_iteration, 1, "matrix %d: the exact phase began at %d", i, r->finish_iteration);
        cr_expect_eq(p->finish_iteration, 1);
        cr_assert_eq(p->trace_len, r->trace_len);
        cr_assert_geq(r->accel_steps, 1, "matrix %d", i);
        const int step = o.accel_every;
        const bool was_refused = r->trace[step].rejected;
        cr_expect(was_refused != r->trace[step].accelerated, "matrix %d: iteration %d", i, step);
        refused += was_refused;
        kept += !was_refused;
        for (int it = 0; it < r->trace_len; it++) {
            const double mine = r->trace[it].objective, theirs = p->trace[it].objective;
            if (it < step || (was_refused && r->accel_steps == 1))
                cr_expect(fabs(mine - theirs) <= 1e-4 * theirs, "matrix %d, iteration %d: %.9g, plain %.9g", i, it,
                          mine, theirs);
            else if (it == step)
                cr_expect(mine <= theirs * (1 + 1e-4), "matrix %d: kept step %.9g above plain's %.9g", i, mine, theirs);
            if (it > 0)
                cr_expect(mine <= r->trace[it - 1].objective * (1 + 1e-6), "matrix %d: the trace rose at %d", i, it);
        }
        fm_solver_result_free(&p);
        fm_solver_result_free(&r);
        fm_graph_free(&g);
    }
    cr_log_info("first steps refused %d, kept %d", refused, kept);
    cr_expect_gt(refused, 0, "no first step refused: the refused path went unexercised");
}

// The guard weighs a network flop against an ADMM flop by the data's kind
// (docs §6 item 4): 6 dense, 2 sparse, 1 incomplete, whose ADMM counts each
// row's and column's Gram, 4k² per entry; the 1 is the safeguard's objective.
Test(accel_give_up, the_guard_weighs_a_network_flop_by_kind)
{
    const int k = 7;
    const int64_t rows = 300, cols = 200, entries = 9000;
    const double plain = fm_learned_admm_flops(entries, rows, cols, k, false);
    cr_expect_float_eq(fm_learned_admm_flops(entries, rows, cols, k, true) - plain, 4.0 * k * k * entries,
                       1e-9 * plain);
    const fm_lfactormer_config network = {.inputs = 2 * k, .rank = k, .width = 16, .heads = 2, .layers = 2,
                                          .components = true, .pooled = true, .gathered = true};
    const fm_kind kinds[3] = {FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE};
    const double weight[3] = {6, 2, 1};
    for (int kd = 0; kd < 3; kd++) {
        struct fm_graph g = {0};
        g.stats.kind = kinds[kd];
        g.stats.rows = rows;
        g.stats.cols = cols;
        g.stats.entries = kinds[kd] == FM_KIND_DENSE ? rows * cols : entries;
        fm_solver_options o;
        fm_solver_options_default(&o);
        o.rank = k;
        fm_solver_result r = {0};
        fm_accel_first_pass_pays(&r, &o, &g, &network, 5);
        const int64_t all = g.stats.entries;   // the network reads every edge: no sampler
        const double want = 1 + weight[kd] * fm_learned_pass_flops(&network, all, rows, cols) /
                                    fm_learned_admm_flops(all, rows, cols, k, kinds[kd] == FM_KIND_INCOMPLETE);
        cr_expect(fabs(r.accel_pass_iterations - want) <= 1e-9 * want, "%s: a step is %.9g iterations, expected %.9g",
                  fm_kind_name(kinds[kd]), r.accel_pass_iterations, want);
    }
}
