// The KL loss's solver (issue 18, "A second loss"): its objective never
// rising (the multiplicative updates' majorization-minimization guarantee),
// per iteration and per half-step, and its convergence to a stationary
// point, on random dense, sparse and incomplete data (the last over Ω only);
// its trace against a recomputation from the factors; the same run on 1 and
// 2 threads; the tolerance, a warm start, keep_best and patience; the errors
// of the options it does not take. The divergence, the kernels and the
// command line: tests/test_kl.c.
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "kl.h"
#include "kl_fixtures.h"

TestSuite(kl_solver, .init = fm_test_setup);

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
    kl_problem pr = kl_problem_new(60, 45, zeros, kind, seed);
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
    kl_problem_free(&pr);
}

Test(kl_solver, objective_never_rises_dense)
{
    never_rises(FM_KIND_DENSE, 0.1, 0, 0, 80);
    never_rises(FM_KIND_DENSE, 0.1, 0.5, 1.0, 81);
}

Test(kl_solver, objective_never_rises_sparse)
{
    never_rises(FM_KIND_SPARSE, 0.7, 0, 0, 82);
    never_rises(FM_KIND_SPARSE, 0.7, 0.2, 3.0, 83);
}

Test(kl_solver, objective_never_rises_incomplete)
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
    kl_problem pr = kl_problem_new(40, 30, zeros, kind, seed);
    fm_graph *g = pr.g;
    const int64_t rows = pr.rows, cols = pr.cols;
    const int k = 4;
    const bool masked = kind == FM_KIND_INCOMPLETE;
    char msg[FM_MSG_LEN];
    fm_edges er = { 0 }, ec = { 0 };
    cr_assert_eq(fm_edges_borrow(&er, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&ec, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    fm_dense *W = kl_random_factor(rows, k, 0.0, seed + 1), *Ht = kl_random_factor(cols, k, 0.0, seed + 2);
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
    kl_problem_free(&pr);
}

Test(kl_solver, half_steps_never_rise)
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
    kl_problem pr = kl_problem_new(14, 11, 0.3, kind, seed);
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
    kl_problem_free(&pr);
}

Test(kl_solver, converges_to_a_stationary_point)
{
    stationary(FM_KIND_DENSE, 0, 0, 130);
    stationary(FM_KIND_SPARSE, 0, 0, 131);
    stationary(FM_KIND_SPARSE, 0.2, 1.5, 132);
    stationary(FM_KIND_INCOMPLETE, 0.2, 1.5, 133);
}

// The trace's last row against the divergence and RMSE recomputed from the
// factors the run returns (by brute force, and fm_rmse).
Test(kl_solver, trace_matches_the_factors)
{
    const int k = 4;
    for (int kind = FM_KIND_DENSE; kind <= FM_KIND_INCOMPLETE; kind++) {
        kl_problem pr = kl_problem_new(50, 40, 0.5, (fm_kind)kind, 90);
        fm_graph *g = pr.g;
        const int64_t cols = pr.cols;
        fm_solver_options o = kl_options(k, 25);
        fm_solver_result *r = run_kl(g, &o);
        fm_dense *Ht = NULL;
        char msg[FM_MSG_LEN];
        cr_assert_eq(fm_dense_new(&Ht, cols, k, msg), FM_OK);
        fm_dense_transpose(Ht->data, r->H);
        const double expected = kl_brute_force(&pr, r->W, Ht);
        const fm_solver_iterate *last = &r->trace[r->trace_len - 1];
        cr_assert_lt(kl_relative(last->objective, expected), 1e-5, "%s: the trace says %.10g, the factors give %.10g",
                     fm_kind_name((fm_kind)kind), last->objective, expected);
        double rmse;
        cr_assert_eq(fm_rmse(&rmse, g, r->W, r->H, msg), FM_OK, "%s", msg);
        cr_assert_lt(kl_relative(last->rmse, rmse), 1e-4, "rmse %.9g, recomputed %.9g", last->rmse, rmse);
        cr_assert_str_eq(r->stop_reason, "iterations");
        fm_dense_free(&Ht);
        fm_solver_result_free(&r);
        kl_problem_free(&pr);
    }
}

// A whole run from a seeded random start on 1 and 2 threads: the same
// factors (the kernels are thread-count independent; the penalties' sums
// are off here).
Test(kl_solver, solver_same_on_one_and_two_threads)
{
    const int64_t rows = 120, cols = 90;
    float *x = kl_random_counts(rows, cols, 0.6, 100);
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

Test(kl_solver, tolerance_stops_on_the_divergence)
{
    float *x = kl_random_counts(40, 30, 0.5, 110);
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

Test(kl_solver, options_it_does_not_take)
{
    float *x = kl_random_counts(20, 15, 0.5, 120);
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
Test(kl_solver, warm_start_continues_exactly)
{
    for (int kind = FM_KIND_SPARSE; kind <= FM_KIND_INCOMPLETE; kind++) {
        kl_problem pr = kl_problem_new(70, 50, 0.6, (fm_kind)kind, 150);
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
        kl_problem_free(&pr);
    }
}

// The incomplete kind's holdout: the best iteration is the trace's lowest
// held-out RMSE; keep_best returns that iteration's factors (those of a run
// stopped there); patience stops the run that many iterations after it.
Test(kl_solver, keep_best_and_patience)
{
    kl_problem pr = kl_problem_new(60, 40, 0.2, FM_KIND_INCOMPLETE, 160);
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
    kl_problem_free(&pr);
}

Test(kl_solver, duals_refused)
{
    kl_problem pr = kl_problem_new(20, 15, 0.5, FM_KIND_SPARSE, 170);
    fm_solver_options o = kl_options(3, 5);
    o.keep_duals = true;
    fm_solver_result *r = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_solver_run(&r, pr.g, NULL, &o, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "no duals"), "%s", msg);
    cr_assert_null(r);
    kl_problem_free(&pr);
}
