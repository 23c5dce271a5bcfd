// The evaluation's statistics (models/nmf/evaluate): quartiles against a
// reference that reads the definition, the summary of hand-made curves, the
// checks of §9, the CSV files; and runs of every method on real graphs.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"
#include "helpers.h"
#include "learned_reference.h"
#include "train_data.h"

TestSuite(eval, .init = fm_test_setup);

// The p-quantile by its definition: the order statistic at (n − 1)·p, and
// between two of them the straight line (numpy's "linear").
static double quantile_reference(const double *v, int n, double p)
{
    double *sorted = malloc(sizeof(double) * n);
    cr_assert_not_null(sorted);
    memcpy(sorted, v, sizeof(double) * n);
    // selection sort: obviously correct
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (sorted[j] < sorted[i]) {
                const double x = sorted[i];
                sorted[i] = sorted[j];
                sorted[j] = x;
            }
    const double at = (n - 1) * p;
    const int lo = (int)at;
    const double frac = at - lo;
    const double q = frac == 0 ? sorted[lo] : sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
    free(sorted);
    return q;
}

Test(eval, quartiles_match_their_definition)
{
    for (int n = 1; n <= 40; n++) {
        double *v = fm_test_uniform_range(n, 100 + n, -3, 5);
        double *copy = fm_test_copy(v, n), q[3];
        fm_quartiles(copy, n, q);
        for (int k = 0; k < 3; k++) {
            const double want = quantile_reference(v, n, (k + 1) / 4.0);
            cr_expect(fabs(q[k] - want) <= 1e-12 * fmax(1, fabs(want)), "n %d, quartile %d: %.17g, %.17g", n, k + 1,
                      q[k], want);
        }
        for (int i = 1; i < n; i++) cr_expect_leq(copy[i - 1], copy[i], "sorted in place");
        free(v);
        free(copy);
    }
    // never reached (+inf) sorts last and is the answer where it is the order statistic
    double v[5] = {INFINITY, 2, INFINITY, 1, 3}, q[3];
    fm_quartiles(v, 5, q);
    cr_expect_eq(q[0], 2);
    cr_expect_eq(q[1], 3);
    cr_expect(isinf(q[2]));
    double w[4] = {1, INFINITY, INFINITY, INFINITY};
    fm_quartiles(w, 4, q);
    cr_expect(isinf(q[0]) && isinf(q[1]) && isinf(q[2]), "%g %g %g", q[0], q[1], q[2]);
}

// Three matrices, 4 iterations, hand-made curves.
static fm_eval_set *hand_made(void)
{
    char msg[FM_MSG_LEN];
    const bool ran[FM_EVAL_METHODS] = {true, true, true};
    fm_eval_set *set = NULL;
    cr_assert_eq(fm_eval_set_new(&set, 3, 4, ran, msg), FM_OK, "%s", msg);
    const double plain[3][5] = {{8, 4, 2, 1, 0.5}, {6, 3, 2, 1.5, 1}, {10, 5, 4, 3, 2}};
    const double init[3][5] = {{2, 1, 1, 0.5, 0.25}, {3, 3, 3, 3, 3}, {1, 1, 1, 1, 1}};
    const double accel[3][5] = {{8, 4, 1, 0.5, 0.5}, {6, 3, 1, 0.75, 0.5}, {10, 5, 5, 2, 1}};
    for (int i = 0; i < 3; i++)
        for (int t = 0; t < 5; t++) {
            set->rmse[FM_EVAL_PLAIN][i * 5 + t] = plain[i][t];
            set->rmse[FM_EVAL_INIT][i * 5 + t] = init[i][t];
            set->rmse[FM_EVAL_ACCEL][i * 5 + t] = accel[i][t];
            for (int m = 0; m < FM_EVAL_METHODS; m++) set->seconds[m][i * 5 + t] = 0.1 * (t + 1) + 0.01 * m;
        }
    return set;
}

Test(eval, the_summary_of_hand_made_curves)
{
    char msg[FM_MSG_LEN];
    fm_eval_set *set = hand_made();
    fm_eval_summary *s = NULL;
    cr_assert_eq(fm_eval_summarize(&s, set, msg), FM_OK, "%s", msg);
    cr_expect_eq(s->target_iteration, 4, "fewer than 20 iterations: the last is the target");
    // iteration 2: plain 2, 2, 4 (median 2); init ratios 0.5, 1.5, 0.25 (median 0.5)
    cr_expect_eq(s->rmse[FM_EVAL_PLAIN][2 * 3 + 1], 2);
    cr_expect_eq(s->rmse[FM_EVAL_PLAIN][2 * 3 + 0], 2);
    cr_expect_eq(s->rmse[FM_EVAL_PLAIN][2 * 3 + 2], 3);
    cr_expect_eq(s->ratio[FM_EVAL_INIT][2 * 3 + 1], 0.5);
    cr_expect_eq(s->ratio[FM_EVAL_INIT][2 * 3 + 0], 0.375);
    cr_expect_eq(s->ratio[FM_EVAL_INIT][2 * 3 + 2], 1.0);
    for (int t = 0; t <= 4; t++) cr_expect_eq(s->ratio[FM_EVAL_PLAIN][t * 3 + 1], 1);
    // the race to plain's RMSE at iteration 4 (0.5, 1, 2; seconds 0.1·(t+1) +
    // 0.01·method): plain at its last iteration (0.5 s each); init at 3
    // (0.41), never (3 > 1), at 0 (0.11); accelerated at 3 (0.42), 2 (0.32), 3
    cr_expect_eq(s->reached[FM_EVAL_PLAIN], 3);
    cr_expect_eq(s->reached[FM_EVAL_INIT], 2);
    cr_expect_eq(s->reached[FM_EVAL_ACCEL], 3);
    cr_expect(fabs(s->reach_seconds[FM_EVAL_PLAIN][1] - 0.5) < 1e-12);
    cr_expect(fabs(s->reach_seconds[FM_EVAL_INIT][0] - 0.26) < 1e-12, "%g", s->reach_seconds[FM_EVAL_INIT][0]);
    cr_expect(fabs(s->reach_seconds[FM_EVAL_INIT][1] - 0.41) < 1e-12, "%g", s->reach_seconds[FM_EVAL_INIT][1]);
    cr_expect(isinf(s->reach_seconds[FM_EVAL_INIT][2]), "the matrix that never got there is the largest time");
    cr_expect(fabs(s->reach_seconds[FM_EVAL_ACCEL][0] - 0.37) < 1e-12, "%g", s->reach_seconds[FM_EVAL_ACCEL][0]);
    cr_expect(fabs(s->reach_seconds[FM_EVAL_ACCEL][1] - 0.42) < 1e-12, "%g", s->reach_seconds[FM_EVAL_ACCEL][1]);
    // the checks: init at 0 (median 2) <= plain at 4 (median 1)? no
    cr_expect_not(fm_eval_init_headline(s));
    int first;
    // accel medians 1, 0.75, 0.5 against plain 2, 1.5, 1 at 2..4: below; at 1 equal
    cr_expect(fm_eval_accel_below(s, 2, 4, &first));
    cr_expect_eq(first, -1);
    cr_expect_not(fm_eval_accel_below(s, 1, 4, &first));
    cr_expect_eq(first, 1);
    // the headline holds when init's median at 0 is at most plain's at the target
    set->rmse[FM_EVAL_INIT][1 * 5 + 0] = 0.5;
    set->rmse[FM_EVAL_INIT][0 * 5 + 0] = 1;
    fm_eval_summary_free(&s);
    cr_assert_eq(fm_eval_summarize(&s, set, msg), FM_OK, "%s", msg);
    cr_expect(fm_eval_init_headline(s), "median %g against %g", s->rmse[FM_EVAL_INIT][1], s->rmse[FM_EVAL_PLAIN][13]);
    fm_eval_summary_free(&s);
    fm_eval_set_free(&set);
}

static int count_lines(const char *path, char *first, size_t size)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (n == 0) snprintf(first, size, "%s", line);
        n++;
    }
    fclose(f);
    return n;
}

Test(eval, the_csv_files)
{
    char msg[FM_MSG_LEN], header[4096];
    fm_eval_set *set = hand_made();
    set->ran[FM_EVAL_INIT] = false;   // a method that did not run has no columns
    fm_eval_summary *s = NULL;
    cr_assert_eq(fm_eval_summarize(&s, set, msg), FM_OK, "%s", msg);
    const char *dir = fm_test_tmpdir();
    const char *summary = fm_test_path(dir, "s.csv");
    cr_assert_eq(fm_eval_write_summary(summary, s, msg), FM_OK, "%s", msg);
    cr_expect_eq(count_lines(summary, header, sizeof header), 6);
    cr_expect_str_eq(header,
                     "iteration,plain_rmse_q1,plain_rmse_median,plain_rmse_q3,plain_ratio_q1,plain_ratio_median,"
                     "plain_ratio_q3,accelerated_rmse_q1,accelerated_rmse_median,accelerated_rmse_q3,"
                     "accelerated_ratio_q1,accelerated_ratio_median,accelerated_ratio_q3\n");
    const char *traces = fm_test_path(dir, "t.csv");
    cr_assert_eq(fm_eval_write_traces(traces, set, msg), FM_OK, "%s", msg);
    cr_expect_eq(count_lines(traces, header, sizeof header), 1 + 3 * 2 * 5);
    cr_expect_str_eq(header, "matrix,method,iteration,seconds,rmse\n");
    // an unwritable path: an error and nothing left
    cr_expect_eq(fm_eval_write_summary(fm_test_path(dir, "none/s.csv"), s, msg), FM_ERR_IO);
    cr_expect_eq(fm_test_count_files(dir), 2);
    fm_eval_summary_free(&s);
    fm_eval_set_free(&set);
    fm_test_remove_dir(dir);
}

// Every method on three validation matrices: plain ADMM is the solver's own
// run, the learned ones start where the networks put them.
Test(eval, the_runs_are_the_solvers)
{
    char msg[FM_MSG_LEN];
    const int rank = 3, iters = 12;
    const char *dir = fm_test_tmpdir();
    char init_path[512], accel_path[512];
    snprintf(init_path, sizeof init_path, "%s", fm_test_path(dir, "init.fmw"));
    snprintf(accel_path, sizeof accel_path, "%s", fm_test_path(dir, "accel.fmw"));
    fm_test_train_tiny(init_path, FM_MODEL_INIT, rank);
    fm_test_train_tiny(accel_path, FM_MODEL_ACCEL, rank);
    fm_learned init = { 0 }, accel = { 0 };
    cr_assert_eq(fm_learned_load(&init, init_path, FM_MODEL_INIT, rank, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_learned_load(&accel, accel_path, FM_MODEL_ACCEL, rank, msg), FM_OK, "%s", msg);
    const bool ran[FM_EVAL_METHODS] = {true, true, true};
    fm_eval_set *set = NULL;
    cr_assert_eq(fm_eval_set_new(&set, 3, iters, ran, msg), FM_OK, "%s", msg);
    set->keep_factors = true;
    fm_solver_options base;
    fm_solver_options_default(&base);
    base.rank = rank;
    base.tol = 0.5;   // the evaluation runs every iteration whatever the tolerance
    for (int i = 0; i < 3; i++) {
        fm_graph *g = NULL;
        cr_assert_eq(fm_train_matrix(&g, NULL, NULL, NULL, NULL, FM_SET_VALID_SMALL, i, 3, rank, 42, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_eval_matrix(set, i, g, &base, &init, &accel, msg), FM_OK, "%s", msg);
        for (int m = 0; m < FM_EVAL_METHODS; m++) {
            fm_solver_options o = base;
            o.iters = iters;
            o.tol = 0;
            o.init = m == FM_EVAL_INIT ? FM_INIT_LEARNED : FM_INIT_NNDSVD;
            o.init_network = &init;
            o.accelerate = m == FM_EVAL_ACCEL;
            o.accel_give_up = false;   // as fm_eval_matrix: §9 takes every step
            o.accel_network = &accel;
            fm_solver_result *r = NULL;
            cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_OK, "%s", msg);
            for (int t = 0; t <= iters; t++) {
                cr_expect_eq(set->rmse[m][i * (iters + 1) + t], r->trace[t].rmse, "matrix %d, method %d, it %d", i,
                             m, t);
                if (t) cr_expect_geq(set->seconds[m][i * (iters + 1) + t], set->seconds[m][i * (iters + 1) + t - 1]);
            }
            double rmse;
            cr_assert_eq(fm_rmse(&rmse, g, set->W[m], set->H[m], msg), FM_OK, "%s", msg);
            cr_expect(fabs(rmse - r->trace[iters].rmse) <= 1e-5 * rmse, "the kept factors are the last run's");
            fm_solver_result_free(&r);
        }
        // the initialization network moved the start
        cr_expect_neq(set->rmse[FM_EVAL_INIT][i * (iters + 1)], set->rmse[FM_EVAL_PLAIN][i * (iters + 1)]);
        fm_graph_free(&g);
    }
    // a learned method without its network is refused
    fm_graph *g = NULL;
    cr_assert_eq(fm_train_matrix(&g, NULL, NULL, NULL, NULL, FM_SET_VALID_SMALL, 0, 3, rank, 42, msg), FM_OK, "%s", msg);
    cr_expect_eq(fm_eval_matrix(set, 0, g, &base, NULL, &accel, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_eval_matrix(set, 3, g, &base, &init, &accel, msg), FM_ERR_INVALID);
    fm_graph_free(&g);
    fm_eval_set_free(&set);
    fm_learned_free(&init);
    fm_learned_free(&accel);
    fm_test_remove_dir(dir);
}

// fm_eval_set.charged (eval --charge-load) is added to every time of its
// method and to no other's; the RMSEs are the same runs'.
Test(eval, the_charge_is_added_to_its_method)
{
    char msg[FM_MSG_LEN];
    const int rank = 3, iters = 4;
    const char *dir = fm_test_tmpdir();
    char init_path[512];
    snprintf(init_path, sizeof init_path, "%s", fm_test_path(dir, "init.fmw"));
    fm_test_train_tiny(init_path, FM_MODEL_INIT, rank);
    fm_learned init = { 0 };
    cr_assert_eq(fm_learned_load(&init, init_path, FM_MODEL_INIT, rank, msg), FM_OK, "%s", msg);
    const bool ran[FM_EVAL_METHODS] = {true, true, false};
    fm_eval_set *plain = NULL, *charged = NULL;
    cr_assert_eq(fm_eval_set_new(&plain, 1, iters, ran, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_eval_set_new(&charged, 1, iters, ran, msg), FM_OK, "%s", msg);
    cr_expect_eq(plain->charged[FM_EVAL_INIT], 0, "a new set charges nothing");
    const double charge = 1000;   // seconds: far above any run's own time
    charged->charged[FM_EVAL_INIT] = charge;
    fm_solver_options base;
    fm_solver_options_default(&base);
    base.rank = rank;
    fm_graph *g = NULL;
    cr_assert_eq(fm_train_matrix(&g, NULL, NULL, NULL, NULL, FM_SET_VALID_SMALL, 0, 1, rank, 42, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_eval_matrix(plain, 0, g, &base, &init, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_eval_matrix(charged, 0, g, &base, &init, NULL, msg), FM_OK, "%s", msg);
    for (int t = 0; t <= iters; t++) {
        cr_expect_lt(charged->seconds[FM_EVAL_PLAIN][t], charge, "plain ADMM carries no charge");
        cr_expect_geq(charged->seconds[FM_EVAL_INIT][t], charge, "iteration %d", t);
        cr_expect_lt(charged->seconds[FM_EVAL_INIT][t], charge + 100, "iteration %d", t);
        cr_expect_lt(plain->seconds[FM_EVAL_INIT][t], charge, "iteration %d", t);
        for (int m = 0; m < 2; m++) cr_expect_eq(charged->rmse[m][t], plain->rmse[m][t], "method %d, it %d", m, t);
    }
    fm_graph_free(&g);
    fm_eval_set_free(&plain);
    fm_eval_set_free(&charged);
    fm_learned_free(&init);
    fm_test_remove_dir(dir);
}
