// The learned initialization and acceleration in the solver (models/nmf/learned,
// docs/factormer-math.md §5 "Scale", §6), with the tiny models of
// tests/learned_fixtures.c:
//   - the view of the solver's borrowed edges: scaled values, shared
//     structure, nothing returned to GraphBLAS, no backward;
//   - iteration 0 of a learned initialization is the network's output,
//     recomputed by hand (tests/learned_reference.c), for the three kinds;
//   - the solver's iterates are the training chains' (models/nmf/unroll) in X's
//     units: the initialization chain and the acceleration chain;
//   - the accelerator's schedule: every c iterations, T steps, then plain
//     ADMM; both models in one run; the result and the trace name them.
// The model files, the safeguards and sampling: tests/test_learned_files.c.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "helpers.h"
#include "init.h"
#include "learned.h"
#include "learned_fixtures.h"
#include "learned_reference.h"
#include "train_data.h"
#include "unroll.h"

TestSuite(learned, .init = fm_test_setup);

#define RANK FM_TEST_LEARNED_RANK
#define SEED FM_TEST_LEARNED_SEED
#define close_relative fm_test_learned_close
static const fm_kind *const kinds = fm_test_learned_kinds;

//------------------------------------------------------------------------------
// The view
//------------------------------------------------------------------------------

Test(learned, a_view_scales_the_borrowed_edges_and_returns_nothing)
{
    char msg[FM_MSG_LEN];
    for (int kk = 0; kk < 3; kk++) {
        fm_triplets *t = fm_test_learned_planted(kinds[kk], 3.0);
        fm_graph *g = fm_test_learned_graph(t, kinds[kk]);
        const double mean = fm_graph_mean(g);
        fm_edges rows = {0}, cols = {0};
        cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_edges_borrow(&cols, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
        fm_message_graph view;
        cr_assert_eq(fm_message_graph_view(&view, g, &rows, &cols, mean, msg), FM_OK, "%s", msg);
        cr_expect(view.forward_only && view.kernels == FM_KERNELS_FUSED && view.graph == g);
        cr_expect(view.rows.ptr == rows.ptr && view.rows.idx == rows.idx && view.columns.ptr == cols.ptr &&
                  view.columns.idx == cols.idx, "the structure is not shared");
        cr_expect(view.rows.val != rows.val && view.columns.val != cols.val, "the values are not a copy");
        double sum = 0;
        for (int64_t e = 0; e < rows.count; e++) {
            cr_assert_eq(view.rows.val[e], (float)((double)rows.val[e] / mean), "edge %lld", (long long)e);
            cr_assert_eq(view.columns.val[e], (float)((double)cols.val[e] / mean), "edge %lld", (long long)e);
            sum += view.rows.val[e];
        }
        cr_expect(close_relative(sum / fm_graph_omega(g), 1.0, 1e-5), "%s: the view's mean is %g",
                  fm_kind_name(kinds[kk]), sum / fm_graph_omega(g));
        // the backward needs position maps that a view does not have
        fm_attention_grads grads = {0};
        fm_attention_outputs d_out = {0}, saved = {0};
        fm_attention_inputs in = {0};
        const fm_attention_shape shape = {view.columns.targets, view.columns.sources, 1, 8};
        cr_expect_eq(fm_attention_backward(&grads, &d_out, &in, &saved, &view, FM_TO_COLUMNS, shape, msg),
                     FM_ERR_INVALID);
        cr_expect(strstr(msg, "view"), "%s", msg);
        cr_assert_eq(fm_message_graph_close(&view, msg), FM_OK, "%s", msg);
        // the edges are still the caller's, and go back as usual
        cr_expect_eq(rows.owner, g->A);
        cr_assert_eq(fm_edges_return(&rows, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_edges_return(&cols, msg), FM_OK, "%s", msg);
        GrB_Index nvals;
        cr_assert_eq(GrB_Matrix_nvals(&nvals, g->A), GrB_SUCCESS);
        cr_expect_eq((int64_t)nvals, g->stats.entries);
        // divisor 1 shares the values; a divisor of 0 or edges not borrowed are refused
        cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_edges_borrow(&cols, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_message_graph_view(&view, g, &rows, &cols, 1.0, msg), FM_OK, "%s", msg);
        cr_expect(view.rows.val == rows.val && view.view_values == NULL);
        cr_assert_eq(fm_message_graph_close(&view, msg), FM_OK, "%s", msg);
        cr_expect_eq(fm_message_graph_view(&view, g, &rows, &cols, 0.0, msg), FM_ERR_INVALID);
        cr_expect_eq(fm_message_graph_view(&view, g, &cols, &rows, 2.0, msg), FM_ERR_INVALID);
        cr_assert_eq(fm_edges_return(&rows, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_edges_return(&cols, msg), FM_OK, "%s", msg);
        cr_expect_eq(fm_message_graph_view(&view, g, &rows, &cols, 2.0, msg), FM_ERR_INVALID);
        fm_graph_free(&g);
        fm_triplets_free(&t);
    }
}

//------------------------------------------------------------------------------
// Learned initialization
//------------------------------------------------------------------------------

// Iteration 0 is the network's output on X / mean from its NNDSVD, with W
// scaled back: the RMSE and the factors of a run of 0 iterations.
Test(learned, iteration_zero_is_the_network_output)
{
    fm_test_models s = fm_test_models_new();
    char msg[FM_MSG_LEN];
    for (int kk = 0; kk < 3; kk++) {
        const fm_kind kind = kinds[kk];
        fm_triplets *t = fm_test_learned_planted(kind, 7.0);
        fm_graph *g = fm_test_learned_graph(t, kind);
        fm_dense *W = NULL, *H = NULL;
        fm_test_learned_init(&W, &H, t, kind, s.init, RANK, SEED);
        double expected;
        cr_assert_eq(fm_rmse(&expected, g, W, H, msg), FM_OK, "%s", msg);

        fm_solver_options o = fm_test_learned_options(0);
        o.init = FM_INIT_LEARNED;
        o.init_model = s.init;
        fm_solver_result *r = fm_test_learned_solve(g, &o);
        cr_assert_eq(r->trace_len, 1);
        cr_expect(close_relative(r->trace[0].rmse, expected, 1e-6), "%s: iteration 0 at %.9g, the network's %.9g",
                  fm_kind_name(kind), r->trace[0].rmse, expected);
        for (int64_t e = 0; e < W->rows * W->cols; e++)
            cr_assert(close_relative(r->W->data[e], W->data[e], 1e-5) || fabs(r->W->data[e] - W->data[e]) < 1e-6,
                      "%s: W[%lld] %.9g, by hand %.9g", fm_kind_name(kind), (long long)e, r->W->data[e],
                      W->data[e]);
        for (int64_t e = 0; e < H->rows * H->cols; e++)
            cr_assert(close_relative(r->H->data[e], H->data[e], 1e-5) || fabs(r->H->data[e] - H->data[e]) < 1e-6,
                      "%s: H[%lld] %.9g, by hand %.9g", fm_kind_name(kind), (long long)e, r->H->data[e],
                      H->data[e]);
        cr_expect_str_eq(r->init_model, s.init);
        cr_expect_null(r->accel_model);
        cr_expect_eq(r->accel_steps, 0);
        cr_expect(!r->trace[0].accelerated);
        fm_solver_result_free(&r);
        // and ADMM goes on from there: the same first row, then falling
        o.iters = 20;
        r = fm_test_learned_solve(g, &o);
        cr_expect(close_relative(r->trace[0].rmse, expected, 1e-6));
        cr_expect_lt(r->trace[20].rmse, r->trace[0].rmse, "%s", fm_kind_name(kind));
        fm_solver_result_free(&r);
        fm_dense_free(&W);
        fm_dense_free(&H);
        fm_graph_free(&g);
        fm_triplets_free(&t);
    }
    fm_test_models_free(&s);
}

//------------------------------------------------------------------------------
// The training chains, in X's units
//------------------------------------------------------------------------------

// X / mean, its fused message graph and its NNDSVD start: a training sample
// of the data.
typedef struct sample {
    fm_graph *scaled;
    fm_message_graph mg;
    fm_dense *w0, *ht0;
    double mean;
} sample;

// `power`: the start's sketch, the learned initialization's own
// (FM_LEARNED_SVD_POWER) or the NNDSVD's an accelerated run starts from.
static sample sample_of(const fm_triplets *t, fm_kind kind, int power)
{
    sample p = {0};
    char msg[FM_MSG_LEN];
    fm_graph *g = fm_test_learned_graph(t, kind);
    p.mean = fm_graph_mean(g);
    fm_graph_free(&g);
    fm_triplets copy = *t;
    const int64_t values = t->array ? t->rows * t->cols : t->count;
    copy.val = malloc(sizeof(float) * values);
    for (int64_t e = 0; e < values; e++) copy.val[e] = (float)((double)t->val[e] / p.mean);
    p.scaled = fm_test_learned_graph(&copy, kind);
    free(copy.val);
    cr_assert_eq(fm_message_graph_open(&p.mg, p.scaled, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_init_factors(&p.w0, &p.ht0, p.scaled, &p.mg.rows, &p.mg.columns, RANK, FM_INIT_NNDSVD, power,
                                 SEED, msg), FM_OK, "%s", msg);
    return p;
}

static void sample_free(sample *p)
{
    fm_message_graph_close(&p->mg, NULL);
    fm_graph_free(&p->scaled);
    fm_dense_free(&p->w0);
    fm_dense_free(&p->ht0);
}

// The RMSE over X of state `s` of a chain (in the network's frame). The
// solver's ADMM (ops/admm) and the chain's (ops/admm_grad) are different
// float code: their RMSEs agree to about 1e-6 relative over these ten
// iterations (measured), so the comparisons below allow 1e-5.
static double state_rmse(fm_graph *g, const fm_unroll_tape *tape, int s, double mean)
{
    const int64_t m = tape->rows, n = tape->cols, k = RANK;
    fm_dense *W = NULL, *H = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_dense_new(&W, m, k, msg), FM_OK);
    cr_assert_eq(fm_dense_new(&H, k, n, msg), FM_OK);
    for (int64_t e = 0; e < m * k; e++) W->data[e] = (float)(tape->w_states[s * m * k + e] * mean);
    for (int64_t j = 0; j < n; j++)
        for (int64_t r = 0; r < k; r++) H->data[r * n + j] = tape->ht_states[s * n * k + j * k + r];
    double rmse;
    cr_assert_eq(fm_rmse(&rmse, g, W, H, msg), FM_OK, "%s", msg);
    fm_dense_free(&W);
    fm_dense_free(&H);
    return rmse;
}

static fm_unroll_tape *chain(const sample *p, const char *path, fm_unroll_mode mode, int steps, fm_params **params)
{
    char msg[FM_MSG_LEN];
    fm_checkpoint_header h;
    const fm_checkpoint_expect expect = {.kind = mode == FM_UNROLL_ACCEL ? FM_MODEL_ACCEL : FM_MODEL_INIT,
                                         .rank = RANK};
    cr_assert_eq(fm_checkpoint_read(path, &h, params, NULL, &expect, msg), FM_OK, "%s", msg);
    fm_lfactormer_weights w;
    fm_lfactormer_bind(&w, &h.config, (*params)->values, (*params)->offsets);
    fm_unroll_config config;
    fm_unroll_config_default(&config, mode, RANK);
    config.model = h.config;
    config.steps = steps;
    double loss;
    fm_unroll_tape *tape = NULL;
    cr_assert_eq(fm_unroll_forward(&loss, &tape, p->w0->data, p->ht0->data, &w, &config, &p->mg, msg), FM_OK, "%s",
                 msg);
    return tape;
}

// A small problem runs on one thread (serial_below), and with more threads
// to hand the learned start draws its sketch on one while another allocates
// the network's activations: the run is the same to the bit as on one
// thread alone, for the three kinds.
Test(learned, a_small_problem_sketches_beside_its_allocation_and_changes_nothing)
{
    fm_test_models s = fm_test_models_new();
    const int threads = fm_get_threads();
    for (int kk = 0; kk < 3; kk++) {
        const fm_kind kind = kinds[kk];
        fm_triplets *t = fm_test_learned_planted(kind, 7.0);
        fm_graph *g = fm_test_learned_graph(t, kind);
        fm_solver_options o = fm_test_learned_options(5);
        o.init = FM_INIT_LEARNED;
        o.init_model = s.init;
        fm_set_threads(1);
        fm_solver_result *one = fm_test_learned_solve(g, &o);
        fm_set_threads(2);
        fm_solver_result *two = fm_test_learned_solve(g, &o);
        fm_set_threads(threads);
        cr_assert_eq(one->threads, 1, "%s: the problem is not small", fm_kind_name(kind));
        cr_assert_eq(two->threads, 1);
        cr_assert_eq(one->trace_len, two->trace_len);
        for (int it = 0; it < one->trace_len; it++)
            cr_expect_eq(one->trace[it].rmse, two->trace[it].rmse, "%s, iteration %d: %.17g on one thread, %.17g",
                         fm_kind_name(kind), it, one->trace[it].rmse, two->trace[it].rmse);
        cr_expect_eq(memcmp(one->W->data, two->W->data, sizeof(float) * one->W->rows * one->W->cols), 0, "%s: W",
                     fm_kind_name(kind));
        cr_expect_eq(memcmp(one->H->data, two->H->data, sizeof(float) * one->H->rows * one->H->cols), 0, "%s: H",
                     fm_kind_name(kind));
        fm_solver_result_free(&one);
        fm_solver_result_free(&two);
        fm_graph_free(&g);
        fm_triplets_free(&t);
    }
    fm_test_models_free(&s);
}

// Algorithm 1: the network, then n_unroll = 5 ADMM iterations; the solver's
// rows 0..5 are the chain's states 0..5.
Test(learned, the_solver_runs_the_initialization_chain)
{
    fm_test_models s = fm_test_models_new();
    for (int kk = 0; kk < 3; kk++) {
        const fm_kind kind = kinds[kk];
        fm_triplets *t = fm_test_learned_planted(kind, 0.25);
        fm_graph *g = fm_test_learned_graph(t, kind);
        sample p = sample_of(t, kind, FM_LEARNED_SVD_POWER);
        fm_params *params = NULL;
        fm_unroll_tape *tape = chain(&p, s.init, FM_UNROLL_INIT, 5, &params);
        fm_solver_options o = fm_test_learned_options(5);
        o.init = FM_INIT_LEARNED;
        o.init_model = s.init;
        fm_solver_result *r = fm_test_learned_solve(g, &o);
        for (int it = 0; it <= 5; it++) {
            const double chained = state_rmse(g, tape, it, p.mean);
            cr_expect(close_relative(r->trace[it].rmse, chained, 1e-5), "%s, iteration %d: solver %.9g, chain %.9g",
                      fm_kind_name(kind), it, r->trace[it].rmse, chained);
        }
        fm_solver_result_free(&r);
        fm_unroll_tape_free(&tape);
        fm_params_free(&params);
        sample_free(&p);
        fm_graph_free(&g);
        fm_triplets_free(&t);
    }
    fm_test_models_free(&s);
}

// Algorithm 2 with c = 5, T = 2 from the NNDSVD start, the duals carried:
// the solver's row j of step t is the chain's state (t−1)(c+1) + j, and
// its rows c, 2c the accelerator's outputs.
Test(learned, the_solver_runs_the_acceleration_chain)
{
    fm_test_models s = fm_test_models_new();
    for (int kk = 0; kk < 3; kk++) {
        const fm_kind kind = kinds[kk];
        fm_triplets *t = fm_test_learned_planted(kind, 4.0);
        fm_graph *g = fm_test_learned_graph(t, kind);
        sample p = sample_of(t, kind, FM_SVD_POWER_AUTO);
        fm_params *params = NULL;
        fm_unroll_tape *tape = chain(&p, s.accel, FM_UNROLL_ACCEL, 2, &params);
        fm_solver_options o = fm_test_learned_options(10);
        o.accelerate = true;
        o.accel_model = s.accel;
        o.accel_steps = 2;
        fm_solver_result *r = fm_test_learned_solve(g, &o);
        cr_expect_eq(r->accel_steps, 2);
        for (int it = 0; it <= 10; it++) {
            const int step = it == 0 ? 0 : (it - 1) / 5, state = step * 6 + (it - step * 5) + (it % 5 == 0 && it > 0);
            const double chained = state_rmse(g, tape, state, p.mean);
            cr_expect(close_relative(r->trace[it].rmse, chained, 1e-5),
                      "%s, iteration %d (state %d): solver %.9g, chain %.9g", fm_kind_name(kind), it, state,
                      r->trace[it].rmse, chained);
            cr_expect_eq(r->trace[it].accelerated, it == 5 || it == 10, "iteration %d", it);
        }
        fm_solver_result_free(&r);
        fm_unroll_tape_free(&tape);
        fm_params_free(&params);
        sample_free(&p);
        fm_graph_free(&g);
        fm_triplets_free(&t);
    }
    fm_test_models_free(&s);
}

//------------------------------------------------------------------------------
// The accelerator's schedule
//------------------------------------------------------------------------------

Test(learned, the_accelerator_runs_every_c_iterations_t_times)
{
    fm_test_models s = fm_test_models_new();
    fm_triplets *t = fm_test_learned_planted(FM_KIND_DENSE, 1.0);
    fm_graph *g = fm_test_learned_graph(t, FM_KIND_DENSE);
    const int cases[][3] = {{5, 5, 40}, {3, 2, 20}, {1, 4, 6}, {5, 5, 4}, {4, 0, 12}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int every = cases[c][0], steps = cases[c][1], iters = cases[c][2];
        fm_solver_options o = fm_test_learned_options(iters);
        o.accelerate = true;
        o.accel_model = s.accel;
        o.accel_every = every;
        o.accel_steps = steps;
        fm_solver_result *r = fm_test_learned_solve(g, &o);
        const int expected = steps < iters / every ? steps : iters / every;
        cr_expect_eq(r->accel_steps, expected, "every %d, at most %d, %d iterations: %d steps", every, steps, iters,
                     r->accel_steps);
        int seen = 0;
        for (int it = 0; it < r->trace_len; it++) {
            const bool due = it > 0 && it % every == 0 && it / every <= steps;
            cr_expect_eq(r->trace[it].accelerated, due, "every %d: iteration %d", every, it);
            seen += r->trace[it].accelerated;
        }
        cr_expect_eq(seen, r->accel_steps);
        cr_expect_str_eq(r->accel_model, s.accel);
        cr_expect_null(r->init_model);
        fm_solver_result_free(&r);
    }
    // no steps: the plain NNDSVD run, up to the balance of the start (the
    // accelerated run's NNDSVD is X / mean's, its W scaled back)
    fm_solver_options o = fm_test_learned_options(15);
    fm_solver_result *plain = fm_test_learned_solve(g, &o);
    o.accelerate = true;
    o.accel_model = s.accel;
    o.accel_steps = 0;
    fm_solver_result *none = fm_test_learned_solve(g, &o);
    for (int it = 0; it <= 15; it++)
        cr_expect(close_relative(none->trace[it].rmse, plain->trace[it].rmse, 1e-4), "iteration %d: %.9g and %.9g", it,
                  none->trace[it].rmse, plain->trace[it].rmse);
    fm_solver_result_free(&plain);
    fm_solver_result_free(&none);
    // bad schedules
    char msg[FM_MSG_LEN];
    fm_solver_result *r = NULL;
    o.accel_every = 0;
    cr_expect_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "every 0 iterations"), "%s", msg);
    o.accel_every = 5;
    o.accel_steps = -1;
    cr_expect_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_ERR_INVALID);
    cr_expect_null(r);
    fm_graph_free(&g);
    fm_triplets_free(&t);
    fm_test_models_free(&s);
}

// Both models in one run, on an incomplete matrix with a holdout; the graph
// is intact afterwards (the solver and the view returned what they borrowed).
Test(learned, both_models_in_one_run)
{
    fm_test_models s = fm_test_models_new();
    char msg[FM_MSG_LEN];
    fm_triplets *t = fm_test_learned_planted(FM_KIND_INCOMPLETE, 2.0), *kept = NULL, *held = NULL;
    cr_assert_eq(fm_holdout_split(&kept, &held, t, 0.2, SEED, msg), FM_OK, "%s", msg);
    fm_graph *g = fm_test_learned_graph(kept, FM_KIND_INCOMPLETE);
    fm_dense *W = NULL, *H = NULL;
    fm_test_learned_init(&W, &H, kept, FM_KIND_INCOMPLETE, s.init, RANK, SEED);
    double expected;
    cr_assert_eq(fm_rmse(&expected, g, W, H, msg), FM_OK, "%s", msg);
    fm_solver_options o = fm_test_learned_options(12);
    o.init = FM_INIT_LEARNED;
    o.init_model = s.init;
    o.accelerate = true;
    o.accel_model = s.accel;
    fm_solver_result *r = NULL;
    cr_assert_eq(fm_solver_run(&r, g, held, &o, msg), FM_OK, "%s", msg);
    cr_expect(close_relative(r->trace[0].rmse, expected, 1e-6), "%.9g, %.9g", r->trace[0].rmse, expected);
    cr_expect_eq(r->accel_steps, 2);
    cr_expect(r->trace[5].accelerated && r->trace[10].accelerated && !r->trace[11].accelerated);
    cr_expect_str_eq(r->init_model, s.init);
    cr_expect_str_eq(r->accel_model, s.accel);
    for (int it = 0; it < r->trace_len; it++) cr_expect(isfinite(r->trace[it].holdout_rmse));
    // the trace CSV names the model of each network row
    const char *csv = fm_test_path(s.dir, "trace.csv");
    cr_assert_eq(fm_trace_write_csv(csv, r, NULL, msg), FM_OK, "%s", msg);
    FILE *f = fopen(csv, "r");
    cr_assert_not_null(f);
    char line[1024];
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_expect_str_eq(line, "iteration,seconds,rmse,holdout_rmse,objective,model\n");
    for (int it = 0; fgets(line, sizeof line, f); it++) {
        const char *model = strrchr(line, ',') + 1;
        const char *want = it == 0 ? s.init : it == 5 || it == 10 ? s.accel : "";
        cr_expect(!strncmp(model, want, strlen(want)) && model[strlen(want)] == '\n', "row %d: %s", it, line);
    }
    fclose(f);
    remove(csv);
    double check;
    cr_assert_eq(fm_rmse(&check, g, r->W, r->H, msg), FM_OK, "%s", msg);
    cr_expect(close_relative(check, r->trace[12].rmse, 1e-6));
    fm_solver_result_free(&r);
    fm_dense_free(&W);
    fm_dense_free(&H);
    fm_graph_free(&g);
    fm_triplets_free(&t);
    fm_triplets_free(&kept);
    fm_triplets_free(&held);
    fm_test_models_free(&s);
}
