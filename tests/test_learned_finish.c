// When the exact phase (§3.1) follows the learned initialization: on the
// dense and sparse kinds once an ADMM iteration lowers the objective by less
// than FM_FINISH_BELOW_LEARNED of it (the network's start was trained to
// lead ADMM, §6), not from the first iteration as after the other starts;
// the incomplete kind keeps its own threshold; a threshold given is kept.
#include <criterion/criterion.h>

#include "helpers.h"
#include "learned_fixtures.h"

TestSuite(learned_finish, .init = fm_test_setup);

Test(learned_finish, the_threshold_by_kind_and_start)
{
    fm_solver_options o;
    fm_solver_options_default(&o);
    cr_expect_eq(fm_finish_below(&o, false), 0);
    o.init = FM_INIT_LEARNED;
    cr_expect_eq(fm_finish_below(&o, false), FM_FINISH_BELOW_LEARNED);
    cr_expect_eq(fm_finish_below(&o, true), FM_FINISH_BELOW_INCOMPLETE);
    o.finish_below = 0;
    cr_expect_eq(fm_finish_below(&o, false), 0);
    o.finish_below = 0.5;
    cr_expect_eq(fm_finish_below(&o, true), 0.5);
}

// The solver switches at the first iteration whose decrease fell below the
// threshold, after ADMM iterations; with the threshold 0 given, at once.
Test(learned_finish, the_solver_switches_once_admm_slows)
{
    fm_test_models s = fm_test_models_new();
    const fm_kind kinds[2] = { FM_KIND_DENSE, FM_KIND_SPARSE };
    for (int kk = 0; kk < 2; kk++) {
        fm_triplets *t = fm_test_learned_planted(kinds[kk], 1.0);
        fm_graph *g = fm_test_learned_graph(t, kinds[kk]);
        fm_solver_options o = fm_test_learned_options(60);
        o.init = FM_INIT_LEARNED;
        o.init_model = s.init;
        o.finish = FM_FINISH_HALS;
        fm_solver_result *r = fm_test_learned_solve(g, &o);
        const int at = r->finish_iteration;
        const char *kind = fm_kind_name(kinds[kk]);
        cr_assert_gt(at, 2, "%s: after the learned start ADMM runs first (the exact phase from %d)", kind, at);
        for (int it = 2; it < at - 1; it++)
            cr_expect_geq(r->trace[it - 1].objective - r->trace[it].objective,
                          FM_FINISH_BELOW_LEARNED * r->trace[it - 1].objective, "%s, iteration %d", kind, it);
        cr_expect_lt(r->trace[at - 2].objective - r->trace[at - 1].objective,
                     FM_FINISH_BELOW_LEARNED * r->trace[at - 2].objective, "%s", kind);
        fm_solver_result_free(&r);
        o.finish_below = 0;
        r = fm_test_learned_solve(g, &o);
        cr_expect_eq(r->finish_iteration, 1, "%s: --finish-below 0 given", kind);
        fm_solver_result_free(&r);
        fm_graph_free(&g);
        fm_triplets_free(&t);
    }
    fm_test_models_free(&s);
}
