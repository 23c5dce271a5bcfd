// Giving the accelerator up (fm_solver_options.accel_give_up, on by default
// with the safeguard): once the safeguard refuses an output, or a kept one
// gains less over the ADMM iterate than that iterate gained over the row
// before, the run calls the network no more. The shipped rank-10 model on
// the large validation matrices of its training family.
#include <criterion/criterion.h>
#include <stdio.h>

#include "factormer.h"
#include "helpers.h"
#include "train_data.h"

TestSuite(accel_give_up, .init = fm_test_setup);

static fm_solver_result *solve(fm_graph *g, const fm_solver_options *o)
{
    fm_solver_result *r = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_solver_run(&r, g, NULL, o, msg), FM_OK, "%s", msg);
    return r;
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
            fm_solver_options o;
            fm_solver_options_default(&o);
            o.rank = 10;
            o.iters = 24;
            o.tol = 0;
            o.seed = 42;
            o.accelerate = true;
            o.accel_model = FM_SOURCE_DIR "/models/shipped/accel-rank10.fmw";
            o.accel_every = every;
            o.accel_steps = 5;
            cr_assert(o.accel_safeguard && o.accel_give_up, "the defaults");
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
