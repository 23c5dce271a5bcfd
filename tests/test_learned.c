// The learned initialization and acceleration in the solver (models/nmf/learned,
// docs/factormer-math.md §5 "Scale", §6), with tiny models trained here:
//   - the view of the solver's borrowed edges: scaled values, shared
//     structure, nothing returned to GraphBLAS, no backward;
//   - iteration 0 of a learned initialization is the network's output,
//     recomputed by hand (tests/learned_reference.c), for the three kinds;
//   - the solver's iterates are the training chains' (models/nmf/unroll) in X's
//     units: the initialization chain and the acceleration chain;
//   - the accelerator's schedule: every c iterations, T steps, then plain
//     ADMM; both models in one run; the result and the trace name them;
//   - model files: the default directory ($FACTORMER_MODELS), and the
//     refusals (missing, another rank, another kind, damaged).
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attention.h"
#include "helpers.h"
#include "init.h"
#include "learned.h"
#include "learned_reference.h"
#include "train_data.h"
#include "unroll.h"

TestSuite(learned, .init = fm_test_setup);

#define RANK 3
#define SEED 42

// A scratch directory with a tiny initialization and acceleration model of RANK.
typedef struct models {
    char dir[256], init[300], accel[300];
} models;

static models models_new(void)
{
    models s;
    snprintf(s.dir, sizeof s.dir, "%s", fm_test_tmpdir());
    snprintf(s.init, sizeof s.init, "%s/init-rank%d.fmw", s.dir, RANK);
    snprintf(s.accel, sizeof s.accel, "%s/accel-rank%d.fmw", s.dir, RANK);
    fm_test_train_tiny(s.init, FM_MODEL_INIT, RANK);
    fm_test_train_tiny(s.accel, FM_MODEL_ACCEL, RANK);
    return s;
}

static void models_free(const models *s) { fm_test_remove_dir(s->dir); }

// 30 × 24 planted, rank 3, mean about 1 times `scale` (the models must not
// depend on the data's scale); all entries for dense, half of them otherwise.
static fm_triplets *planted(fm_kind kind, double scale)
{
    fm_triplets *t = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_synthetic_planted(&t, 30, 24, RANK, 0.05, kind == FM_KIND_DENSE ? 1.0 : 0.5, 7, msg), FM_OK,
                 "%s", msg);
    const int64_t values = t->array ? t->rows * t->cols : t->count;
    for (int64_t e = 0; e < values; e++) t->val[e] = (float)(t->val[e] * scale);
    return t;
}

static fm_graph *graph_of(const fm_triplets *t, fm_kind kind)
{
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_graph_from_triplets(&g, t, kind, msg), FM_OK, "%s", msg);
    return g;
}

static fm_solver_options options(int iters)
{
    fm_solver_options o;
    fm_solver_options_default(&o);
    o.rank = RANK;
    o.iters = iters;
    o.tol = 0;
    o.seed = SEED;
    o.accel_safeguard = false;   // the chains of models/nmf/unroll keep every output
    o.finish = FM_FINISH_NONE;   // the chains are AO-ADMM's (§6-§7), not the exact phase's
    return o;
}

static fm_solver_result *solve(fm_graph *g, const fm_solver_options *o)
{
    fm_solver_result *r = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_solver_run(&r, g, NULL, o, msg), FM_OK, "%s", msg);
    return r;
}

static bool close_relative(double a, double b, double tol) { return fabs(a - b) <= tol * fmax(fabs(a), fabs(b)); }

static const fm_kind kinds[3] = {FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE};

//------------------------------------------------------------------------------
// The view
//------------------------------------------------------------------------------

Test(learned, a_view_scales_the_borrowed_edges_and_returns_nothing)
{
    char msg[FM_MSG_LEN];
    for (int kk = 0; kk < 3; kk++) {
        fm_triplets *t = planted(kinds[kk], 3.0);
        fm_graph *g = graph_of(t, kinds[kk]);
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
    models s = models_new();
    char msg[FM_MSG_LEN];
    for (int kk = 0; kk < 3; kk++) {
        const fm_kind kind = kinds[kk];
        fm_triplets *t = planted(kind, 7.0);
        fm_graph *g = graph_of(t, kind);
        fm_dense *W = NULL, *H = NULL;
        fm_test_learned_init(&W, &H, t, kind, s.init, RANK, SEED);
        double expected;
        cr_assert_eq(fm_rmse(&expected, g, W, H, msg), FM_OK, "%s", msg);

        fm_solver_options o = options(0);
        o.init = FM_INIT_LEARNED;
        o.init_model = s.init;
        fm_solver_result *r = solve(g, &o);
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
        r = solve(g, &o);
        cr_expect(close_relative(r->trace[0].rmse, expected, 1e-6));
        cr_expect_lt(r->trace[20].rmse, r->trace[0].rmse, "%s", fm_kind_name(kind));
        fm_solver_result_free(&r);
        fm_dense_free(&W);
        fm_dense_free(&H);
        fm_graph_free(&g);
        fm_triplets_free(&t);
    }
    models_free(&s);
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

static sample sample_of(const fm_triplets *t, fm_kind kind)
{
    sample p = {0};
    char msg[FM_MSG_LEN];
    fm_graph *g = graph_of(t, kind);
    p.mean = fm_graph_mean(g);
    fm_graph_free(&g);
    fm_triplets copy = *t;
    const int64_t values = t->array ? t->rows * t->cols : t->count;
    copy.val = malloc(sizeof(float) * values);
    for (int64_t e = 0; e < values; e++) copy.val[e] = (float)((double)t->val[e] / p.mean);
    p.scaled = graph_of(&copy, kind);
    free(copy.val);
    cr_assert_eq(fm_message_graph_open(&p.mg, p.scaled, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_init_factors(&p.w0, &p.ht0, p.scaled, &p.mg.rows, &p.mg.columns, RANK, FM_INIT_NNDSVD, SEED, msg),
                 FM_OK, "%s", msg);
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

// Algorithm 1: the network, then n_unroll = 5 ADMM iterations; the solver's
// rows 0..5 are the chain's states 0..5.
Test(learned, the_solver_runs_the_initialization_chain)
{
    models s = models_new();
    for (int kk = 0; kk < 3; kk++) {
        const fm_kind kind = kinds[kk];
        fm_triplets *t = planted(kind, 0.25);
        fm_graph *g = graph_of(t, kind);
        sample p = sample_of(t, kind);
        fm_params *params = NULL;
        fm_unroll_tape *tape = chain(&p, s.init, FM_UNROLL_INIT, 5, &params);
        fm_solver_options o = options(5);
        o.init = FM_INIT_LEARNED;
        o.init_model = s.init;
        fm_solver_result *r = solve(g, &o);
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
    models_free(&s);
}

// Algorithm 2 with c = 5, T = 2 from the NNDSVD start, the duals carried:
// the solver's row j of step t is the chain's state (t−1)(c+1) + j, and
// its rows c, 2c the accelerator's outputs.
Test(learned, the_solver_runs_the_acceleration_chain)
{
    models s = models_new();
    for (int kk = 0; kk < 3; kk++) {
        const fm_kind kind = kinds[kk];
        fm_triplets *t = planted(kind, 4.0);
        fm_graph *g = graph_of(t, kind);
        sample p = sample_of(t, kind);
        fm_params *params = NULL;
        fm_unroll_tape *tape = chain(&p, s.accel, FM_UNROLL_ACCEL, 2, &params);
        fm_solver_options o = options(10);
        o.accelerate = true;
        o.accel_model = s.accel;
        o.accel_steps = 2;
        fm_solver_result *r = solve(g, &o);
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
    models_free(&s);
}

//------------------------------------------------------------------------------
// The accelerator's schedule
//------------------------------------------------------------------------------

Test(learned, the_accelerator_runs_every_c_iterations_t_times)
{
    models s = models_new();
    fm_triplets *t = planted(FM_KIND_DENSE, 1.0);
    fm_graph *g = graph_of(t, FM_KIND_DENSE);
    const int cases[][3] = {{5, 5, 40}, {3, 2, 20}, {1, 4, 6}, {5, 5, 4}, {4, 0, 12}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int every = cases[c][0], steps = cases[c][1], iters = cases[c][2];
        fm_solver_options o = options(iters);
        o.accelerate = true;
        o.accel_model = s.accel;
        o.accel_every = every;
        o.accel_steps = steps;
        fm_solver_result *r = solve(g, &o);
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
    fm_solver_options o = options(15);
    fm_solver_result *plain = solve(g, &o);
    o.accelerate = true;
    o.accel_model = s.accel;
    o.accel_steps = 0;
    fm_solver_result *none = solve(g, &o);
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
    models_free(&s);
}

// Both models in one run, on an incomplete matrix with a holdout; the graph
// is intact afterwards (the solver and the view returned what they borrowed).
Test(learned, both_models_in_one_run)
{
    models s = models_new();
    char msg[FM_MSG_LEN];
    fm_triplets *t = planted(FM_KIND_INCOMPLETE, 2.0), *kept = NULL, *held = NULL;
    cr_assert_eq(fm_holdout_split(&kept, &held, t, 0.2, SEED, msg), FM_OK, "%s", msg);
    fm_graph *g = graph_of(kept, FM_KIND_INCOMPLETE);
    fm_dense *W = NULL, *H = NULL;
    fm_test_learned_init(&W, &H, kept, FM_KIND_INCOMPLETE, s.init, RANK, SEED);
    double expected;
    cr_assert_eq(fm_rmse(&expected, g, W, H, msg), FM_OK, "%s", msg);
    fm_solver_options o = options(12);
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
    models_free(&s);
}

//------------------------------------------------------------------------------
// Model files
//------------------------------------------------------------------------------

Test(learned, the_default_directory_is_factormer_models)
{
    models s = models_new();
    char msg[FM_MSG_LEN], path[FM_LEARNED_PATH_LEN];
    cr_assert_eq(setenv(FM_MODEL_DIR_ENV, s.dir, 1), 0);
    cr_assert_eq(fm_learned_default_path(path, sizeof path, FM_MODEL_ACCEL, 12, msg), FM_OK, "%s", msg);
    char want[400];
    snprintf(want, sizeof want, "%s/accel-rank12.fmw", s.dir);
    cr_expect_str_eq(path, want);
    fm_triplets *t = planted(FM_KIND_SPARSE, 1.0);
    fm_graph *g = graph_of(t, FM_KIND_SPARSE);
    fm_solver_options o = options(10);
    o.init = FM_INIT_LEARNED;
    o.accelerate = true;
    fm_solver_result *r = solve(g, &o);
    cr_expect_str_eq(r->init_model, s.init);
    cr_expect_str_eq(r->accel_model, s.accel);
    cr_expect_eq(r->accel_steps, 2);
    fm_solver_result_free(&r);
    // a model of any rank in the directory comes before the rank's own (issue
    // 19: the default is rank-free); the shipped one, linked
    char any[FM_LEARNED_PATH_LEN + 16];
    snprintf(any, sizeof any, "%s/init.fmw", s.dir);
    cr_assert_eq(symlink(FM_SOURCE_DIR "/models/shipped/init.fmw", any), 0, "%s", strerror(errno));
    o.accelerate = false;
    r = solve(g, &o);
    cr_expect_str_eq(r->init_model, any);
    fm_solver_result_free(&r);
    cr_assert_eq(remove(any), 0);
    r = solve(g, &o);
    cr_expect_str_eq(r->init_model, s.init, "without init.fmw, the rank's own again");
    fm_solver_result_free(&r);
    // unset or empty: the directory compiled in
    cr_assert_eq(setenv(FM_MODEL_DIR_ENV, "", 1), 0);
    cr_assert_eq(fm_learned_default_path(path, sizeof path, FM_MODEL_INIT, 10, msg), FM_OK, "%s", msg);
    cr_expect_str_eq(path, FM_SOURCE_DIR "/models/shipped/init-rank10.fmw");
    cr_assert_eq(unsetenv(FM_MODEL_DIR_ENV), 0);
    cr_assert_eq(fm_learned_default_path(path, sizeof path, FM_MODEL_INIT, 10, msg), FM_OK, "%s", msg);
    cr_expect_str_eq(path, FM_SOURCE_DIR "/models/shipped/init-rank10.fmw");
    cr_expect_eq(fm_learned_default_path(path, 20, FM_MODEL_INIT, 10, msg), FM_ERR_INVALID);
    fm_graph_free(&g);
    fm_triplets_free(&t);
    models_free(&s);
}

// A refused run: its status, no result, a message with each of the words.
static void expect_refused(fm_graph *g, const fm_solver_options *o, int status, const char *a, const char *b)
{
    char msg[FM_MSG_LEN] = "";
    fm_solver_result *r = NULL;
    cr_expect_eq(fm_solver_run(&r, g, NULL, o, msg), status, "%s", msg);
    cr_expect_null(r);
    cr_expect(strstr(msg, a) && (!b || strstr(msg, b)), "the message lacks '%s' or '%s': %s", a, b ? b : "", msg);
}

Test(learned, missing_other_rank_other_kind_and_damaged_models_are_refused)
{
    models s = models_new();
    fm_triplets *t = planted(FM_KIND_DENSE, 1.0);
    fm_graph *g = graph_of(t, FM_KIND_DENSE);
    fm_solver_options o = options(5);
    o.init = FM_INIT_LEARNED;

    // missing, in the default directory: the path and the command that trains it
    cr_assert_eq(setenv(FM_MODEL_DIR_ENV, fm_test_path(s.dir, "none"), 1), 0);
    char want[600];
    snprintf(want, sizeof want, "factormer train --model init --any-rank --out %s/none/init.fmw", s.dir);
    expect_refused(g, &o, FM_ERR_IO, want, "init-rank3.fmw: no learned initialization model for rank 3: the file does not exist, nor");
    o.init = FM_INIT_NNDSVD;
    o.accelerate = true;
    snprintf(want, sizeof want, "factormer train --model accel --any-rank --out %s/none/accel.fmw", s.dir);
    expect_refused(g, &o, FM_ERR_IO, want, NULL);
    cr_assert_eq(unsetenv(FM_MODEL_DIR_ENV), 0);
    // missing, named
    o.accel_model = fm_test_path(s.dir, "gone.fmw");
    expect_refused(g, &o, FM_ERR_IO, "gone.fmw", "factormer train --model accel --any-rank");
    o.accelerate = false;
    o.init = FM_INIT_LEARNED;

    // a model of another rank: the rank needed and how to train it
    const char *rank2 = fm_test_path(s.dir, "init-rank2.fmw");
    fm_test_train_tiny(rank2, FM_MODEL_INIT, 2);
    o.init_model = rank2;
    expect_refused(g, &o, FM_ERR_INVALID, "rank-2", "needs a rank-3 model or one of any rank");
    // the acceleration model given as the initialization's
    o.init_model = s.accel;
    expect_refused(g, &o, FM_ERR_INVALID, "acceleration model", "factormer train --model init --any-rank");
    // a damaged file: a flipped byte in the values
    const char *bad = fm_test_path(s.dir, "damaged.fmw");
    FILE *in = fopen(s.init, "rb"), *out = fopen(bad, "wb");
    cr_assert(in && out);
    int c;
    for (long at = 0; (c = fgetc(in)) != EOF; at++) fputc(at == 600 ? c ^ 0x10 : c, out);
    fclose(in);
    fclose(out);
    o.init_model = bad;
    expect_refused(g, &o, FM_ERR_PARSE, "damaged.fmw", NULL);
    // not a model at all
    fm_test_write(bad, "hello\n");
    expect_refused(g, &o, FM_ERR_PARSE, "damaged.fmw", NULL);
    // the graph is whole after every refusal
    o.init_model = s.init;
    fm_solver_result *r = solve(g, &o);
    fm_solver_result_free(&r);
    fm_graph_free(&g);
    fm_triplets_free(&t);
    models_free(&s);
}

// keep_rank: a component the network zeroes comes from the ADMM iterate.
// The model's output bias of W's component 1 is pushed far below zero, so
// that its relu is closed on every row.
Test(learned, a_zeroed_component_is_taken_from_the_admm_iterate)
{
    models s = models_new();
    char msg[FM_MSG_LEN];
    fm_learned model = { 0 };
    cr_assert_eq(fm_learned_load(&model, s.accel, FM_MODEL_ACCEL, RANK, msg), FM_OK, "%s", msg);
    ((float *)model.weights.out_w_bias)[1] = -1e6f;
    fm_triplets *t = planted(FM_KIND_SPARSE, 2.0);
    fm_graph *g = graph_of(t, FM_KIND_SPARSE);
    const double mean = fm_graph_mean(g);
    fm_edges rows = {0}, cols = {0};
    cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&cols, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    fm_message_graph view;
    cr_assert_eq(fm_message_graph_view(&view, g, &rows, &cols, mean, msg), FM_OK, "%s", msg);
    const int64_t m = g->stats.rows, n = g->stats.cols;
    fm_dense *prev_w = NULL, *prev_ht = NULL, *admm_w = NULL, *admm_ht = NULL;
    cr_assert_eq(fm_dense_new(&prev_w, m, RANK, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_dense_new(&prev_ht, n, RANK, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_dense_new(&admm_w, m, RANK, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_dense_new(&admm_ht, n, RANK, msg), FM_OK, "%s", msg);
    float *u = fm_test_uniform(2 * (m + n) * RANK, 5);
    for (int64_t e = 0; e < m * RANK; e++) {
        prev_w->data[e] = (float)(mean * u[e]);
        admm_w->data[e] = (float)(mean * u[m * RANK + e]);
    }
    for (int64_t e = 0; e < n * RANK; e++) {
        prev_ht->data[e] = u[2 * m * RANK + e];
        admm_ht->data[e] = u[2 * m * RANK + n * RANK + e];
    }
    free(u);
    for (int keep = 0; keep < 2; keep++) {
        fm_dense *W = NULL, *Ht = NULL;
        cr_assert_eq(fm_dense_copy(&W, admm_w, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_dense_copy(&Ht, admm_ht, msg), FM_OK, "%s", msg);
        int repaired = -1;
        cr_assert_eq(fm_learned_accelerate(W, Ht, prev_w, prev_ht, &model, &view, mean, keep, &repaired, msg), FM_OK,
                     "%s", msg);
        cr_expect_eq(repaired, keep ? 1 : 0);
        for (int64_t i = 0; i < m; i++) {
            const float want = keep ? admm_w->data[i * RANK + 1] : 0;
            cr_expect(fabsf(W->data[i * RANK + 1] - want) <= 1e-6f * fabsf(want), "row %lld: %g, %g", (long long)i,
                      W->data[i * RANK + 1], want);
        }
        for (int64_t j = 0; j < n; j++)
            if (keep) cr_expect_eq(Ht->data[j * RANK + 1], admm_ht->data[j * RANK + 1], "col %lld", (long long)j);
        // the other components are the network's
        double moved = 0;
        for (int64_t i = 0; i < m; i++) moved += fabs(W->data[i * RANK] - admm_w->data[i * RANK]);
        cr_expect_gt(moved, 0);
        fm_dense_free(&W);
        fm_dense_free(&Ht);
    }
    fm_dense_free(&prev_w);
    fm_dense_free(&prev_ht);
    fm_dense_free(&admm_w);
    fm_dense_free(&admm_ht);
    cr_assert_eq(fm_message_graph_close(&view, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_return(&rows, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_return(&cols, msg), FM_OK, "%s", msg);
    fm_learned_free(&model);
    fm_graph_free(&g);
    fm_triplets_free(&t);
    models_free(&s);
}

// The safeguard (on by default): an accelerator output is kept only if its
// objective is at most the ADMM iterate's it replaces. Run B takes T steps;
// run A, the same options with s − 1 steps and s·c + 1 iterations, passes
// through the ADMM iterate step s of B replaced (the runs agree until then).
// Returns the outputs kept.
static int expect_safeguarded(fm_graph *g, const char *model, int rank)
{
    fm_solver_options o = options(20);
    o.rank = rank;
    o.accelerate = true;
    o.accel_model = model;
    o.accel_every = 4;
    o.accel_steps = 4;
    o.accel_safeguard = true;
    o.accel_give_up = false;    // every step taken (the giving up: test_accel_give_up.c)
    o.exact_objective = true;   // the safeguard's objectives are exact; run A's rows must be too
    fm_solver_result *b = solve(g, &o);
    cr_expect_eq(b->accel_steps, 4);
    int refusals = 0;
    for (int step = 1; step <= 4; step++) {
        const int at = step * o.accel_every;
        fm_solver_options shorter = o;
        shorter.accel_steps = step - 1;
        shorter.iters = at + 1;
        fm_solver_result *a = solve(g, &shorter);
        const fm_solver_iterate *mine = &b->trace[at], *admm = &a->trace[at];
        cr_expect(mine->accelerated != mine->rejected, "%s, step %d: kept or refused", model, step);
        cr_expect(!admm->accelerated && !admm->rejected);
        if (mine->rejected) {
            cr_expect_eq(mine->objective, admm->objective, "%s, step %d: the ADMM iterate itself", model, step);
            refusals++;
        } else {
            cr_expect_leq(mine->objective, admm->objective, "%s, step %d", model, step);
        }
        fm_solver_result_free(&a);
    }
    cr_expect_eq(b->accel_rejected, refusals);
    // without the safeguard every output is kept
    o.accel_safeguard = false;
    fm_solver_result *unguarded = solve(g, &o);
    cr_expect_eq(unguarded->accel_rejected, 0);
    for (int step = 1; step <= 4; step++) cr_expect(unguarded->trace[step * 4].accelerated);
    fm_solver_result_free(&unguarded);
    fm_solver_result_free(&b);
    return 4 - refusals;
}

Test(learned, the_safeguard_keeps_no_output_worse_than_admm)
{
    models s = models_new();
    for (int k = 0; k < 3; k++) {
        fm_triplets *t = planted(kinds[k], 1.0);
        fm_graph *g = graph_of(t, kinds[k]);
        expect_safeguarded(g, s.accel, RANK);
        fm_graph_free(&g);
        fm_triplets_free(&t);
    }
    models_free(&s);
    // the shipped model of rank 10 keeps outputs on the data it was trained for
    char msg[FM_MSG_LEN];
    int kept = 0;
    for (int i = 0; i < 3; i++) {
        fm_graph *g = NULL;
        cr_assert_eq(fm_train_matrix(&g, NULL, NULL, NULL, NULL, FM_SET_VALID_LARGE, i, 3, 10, SEED, msg), FM_OK, "%s", msg);
        kept += expect_safeguarded(g, FM_SOURCE_DIR "/models/shipped/accel-rank10.fmw", 10);
        fm_graph_free(&g);
    }
    cr_expect_gt(kept, 0, "the shipped model's outputs were all refused");
}

// Models loaded once serve many runs with the same result as the files.
Test(learned, loaded_networks_give_the_runs_of_the_files)
{
    models s = models_new();
    char msg[FM_MSG_LEN];
    fm_learned init = { 0 }, accel = { 0 };
    cr_assert_eq(fm_learned_load(&init, s.init, FM_MODEL_INIT, RANK, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_learned_load(&accel, s.accel, FM_MODEL_ACCEL, RANK, msg), FM_OK, "%s", msg);
    for (int k = 0; k < 3; k++) {
        // the shapes change from run to run: the activation buffers follow
        fm_triplets *t = planted(kinds[k], 1.0 + k);
        fm_graph *g = graph_of(t, kinds[k]);
        fm_solver_options o = options(12);
        o.init = FM_INIT_LEARNED;
        o.init_model = s.init;
        o.accelerate = true;
        o.accel_model = s.accel;
        fm_solver_result *files = solve(g, &o);
        o.init_model = o.accel_model = "no such file";
        o.init_network = &init;
        o.accel_network = &accel;
        for (int twice = 0; twice < 2; twice++) {
            fm_solver_result *loaded = solve(g, &o);
            cr_assert_eq(loaded->trace_len, files->trace_len);
            for (int it = 0; it < files->trace_len; it++)
                cr_expect_eq(loaded->trace[it].rmse, files->trace[it].rmse, "kind %d, iteration %d", k, it);
            cr_expect_str_eq(loaded->init_model, s.init);
            cr_expect_str_eq(loaded->accel_model, s.accel);
            fm_solver_result_free(&loaded);
        }
        // one loaded in place of the other, or for another rank: refused
        o.init_network = &accel;
        expect_refused(g, &o, FM_ERR_INVALID, "not a learned initialization model", NULL);
        o.init_network = &init;
        o.rank = RANK - 1;
        expect_refused(g, &o, FM_ERR_INVALID, "rank 3", "rank 2");
        fm_solver_result_free(&files);
        fm_graph_free(&g);
        fm_triplets_free(&t);
    }
    fm_learned_free(&init);
    fm_learned_free(&accel);
    models_free(&s);
}

Test(learned, fm_init_factors_leaves_learned_to_the_solver)
{
    fm_triplets *t = planted(FM_KIND_DENSE, 1.0);
    fm_graph *g = graph_of(t, FM_KIND_DENSE);
    char msg[FM_MSG_LEN];
    fm_edges rows = {0}, cols = {0};
    cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&cols, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    fm_dense *W = NULL, *Ht = NULL;
    cr_expect_eq(fm_init_factors(&W, &Ht, g, &rows, &cols, RANK, FM_INIT_LEARNED, 1, msg), FM_ERR_INVALID);
    cr_expect_null(W);
    fm_init_method m;
    cr_assert_eq(fm_init_parse(&m, "learned", msg), FM_OK);
    cr_expect_eq(m, FM_INIT_LEARNED);
    cr_expect_str_eq(fm_init_name(FM_INIT_LEARNED), "learned");
    cr_expect_eq(fm_init_parse(&m, "learnt", msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "learned"), "%s", msg);
    fm_edges_return(&rows, NULL);
    fm_edges_return(&cols, NULL);
    fm_graph_free(&g);
    fm_triplets_free(&t);
}

//------------------------------------------------------------------------------
// Sampled message passing (§8, models/nmf/network_graph)
//------------------------------------------------------------------------------

static fm_solver_options sampled_options(const models *s, fm_sampler sampler, int64_t fanout, bool once)
{
    fm_solver_options o = options(12);
    o.init = FM_INIT_LEARNED;
    o.init_model = s->init;
    o.accelerate = true;
    o.accel_model = s->accel;
    o.accel_every = 3;
    o.sampler = sampler;
    o.fanout = fanout;
    o.resample_once = once;
    return o;
}

static bool same_traces(const fm_solver_result *a, const fm_solver_result *b)
{
    if (a->trace_len != b->trace_len) return false;
    for (int it = 0; it < a->trace_len; it++)
        if (a->trace[it].rmse != b->trace[it].rmse) return false;
    return true;
}

// A fanout above every degree keeps every edge with π = 1, in the graph's
// order: the networks compute exactly what they compute on the full graph.
Test(learned, a_sample_of_every_edge_is_the_full_run)
{
    models s = models_new();
    for (int k = 1; k < 3; k++) {
        fm_triplets *t = planted(kinds[k], 1.0);
        fm_graph *g = graph_of(t, kinds[k]);
        fm_solver_options full = sampled_options(&s, FM_SAMPLER_FULL, 32, false);
        fm_solver_result *reference = solve(g, &full);
        for (int once = 0; once < 2; once++)
            for (int strategy = FM_SAMPLER_UNIFORM; strategy <= FM_SAMPLER_WEIGHTED; strategy++) {
                fm_solver_options o = sampled_options(&s, (fm_sampler)strategy, 1000, once);
                fm_solver_result *r = solve(g, &o);
                cr_expect(same_traces(r, reference), "%s, %s, resample %s: not the full run",
                          fm_kind_name(kinds[k]), fm_sampler_name((fm_sampler)strategy), once ? "once" : "per layer");
                fm_solver_result_free(&r);
            }
        fm_solver_result_free(&reference);
        fm_graph_free(&g);
        fm_triplets_free(&t);
    }
    models_free(&s);
}

// Fanout 3 on targets of about 12 edges: a sample changes the run; the same
// seed gives the same run, for 1 thread or 2; another seed another run.
Test(learned, sampled_runs_are_seeded_and_thread_independent)
{
    models s = models_new();
    fm_triplets *t = planted(FM_KIND_INCOMPLETE, 1.0);
    fm_graph *g = graph_of(t, FM_KIND_INCOMPLETE);
    fm_solver_options full = sampled_options(&s, FM_SAMPLER_FULL, 32, false);
    fm_solver_result *reference = solve(g, &full);
    const int threads = fm_get_threads();
    for (int strategy = FM_SAMPLER_UNIFORM; strategy <= FM_SAMPLER_WEIGHTED; strategy++)
        for (int once = 0; once < 2; once++) {
            const char *name = fm_sampler_name((fm_sampler)strategy);
            fm_solver_options o = sampled_options(&s, (fm_sampler)strategy, 3, once);
            o.serial_below = 0;   // two threads on this small matrix
            fm_set_threads(1);
            fm_solver_result *one = solve(g, &o);
            fm_set_threads(2);
            fm_solver_result *two = solve(g, &o), *again = solve(g, &o);
            o.seed = SEED + 1;
            fm_solver_result *other = solve(g, &o);
            fm_set_threads(threads);
            cr_expect(!same_traces(one, reference), "%s: the sample did not change the run", name);
            cr_expect(same_traces(two, again), "%s: the same seed gave another run", name);
            for (int it = 0; it < one->trace_len; it++)
                cr_expect(close_relative(one->trace[it].rmse, two->trace[it].rmse, 1e-4),
                          "%s, iteration %d: %.9g with 1 thread, %.9g with 2", name, it, one->trace[it].rmse,
                          two->trace[it].rmse);
            cr_expect(!close_relative(other->trace[0].rmse, two->trace[0].rmse, 1e-6),
                      "%s: another seed, another sample, yet iteration 0 is %.9g both times", name,
                      two->trace[0].rmse);
            fm_solver_result_free(&one);
            fm_solver_result_free(&two);
            fm_solver_result_free(&again);
            fm_solver_result_free(&other);
        }
    fm_solver_result_free(&reference);
    fm_graph_free(&g);
    fm_triplets_free(&t);
    models_free(&s);
}

Test(learned, sampler_options_are_checked)
{
    models s = models_new();
    fm_triplets *t = planted(FM_KIND_INCOMPLETE, 1.0);
    fm_graph *g = graph_of(t, FM_KIND_INCOMPLETE);
    fm_solver_options o = sampled_options(&s, FM_SAMPLER_STRATIFIED, 3, false);
    expect_refused(g, &o, FM_ERR_INVALID, "stratified", "incomplete");
    o = sampled_options(&s, FM_SAMPLER_UNIFORM, 0, false);
    expect_refused(g, &o, FM_ERR_INVALID, "fanout 0", "at least 1");
    o = sampled_options(&s, FM_SAMPLER_UNIFORM, 3, false);
    o.zero_ratio = -1;
    expect_refused(g, &o, FM_ERR_INVALID, "zero ratio", ">= 0");
    fm_graph_free(&g);
    fm_triplets_free(&t);
    models_free(&s);
}

// The shipped model of any rank (models/shipped/init.fmw, the pooled set of
// docs §5.2 with the gathered term, reading its own samples) runs at ranks it
// has no file of its own for, and its output is nearer the data than the
// NNDSVD start it reads, as on its validation sets (median relative RMSE
// 0.25 against 0.35 over the mix of families): compared on 3 of the large
// validation matrices at each of ranks 4, 7 and 15.
Test(learned, the_shipped_model_of_any_rank_improves_its_start)
{
    char msg[FM_MSG_LEN];
    const int ranks[3] = {4, 7, 15};
    for (int r = 0; r < 3; r++) {
        double learned = 0, start = 0;
        int better = 0;
        for (int i = 0; i < 3; i++) {
            fm_graph *g = NULL;
            cr_assert_eq(fm_train_matrix(&g, NULL, NULL, NULL, NULL, FM_SET_VALID_LARGE, i, 3, ranks[r], SEED,
                                         msg),
                         FM_OK, "%s", msg);
            fm_solver_options o = options(0);
            o.rank = ranks[r];
            fm_solver_result *plain = solve(g, &o);
            o.init = FM_INIT_LEARNED;
            o.init_model = FM_SOURCE_DIR "/models/shipped/init.fmw";
            fm_solver_result *net = solve(g, &o);
            cr_assert(isfinite(net->trace[0].rmse), "rank %d: the output's RMSE is %g", ranks[r], net->trace[0].rmse);
            learned += net->trace[0].rmse;
            start += plain->trace[0].rmse;
            better += net->trace[0].rmse < plain->trace[0].rmse;
            fm_solver_result_free(&plain);
            fm_solver_result_free(&net);
            fm_graph_free(&g);
        }
        cr_expect_geq(better, 2, "rank %d: the network improved on NNDSVD on %d of 3 matrices", ranks[r], better);
        cr_expect_lt(learned, start, "rank %d: the network's RMSE sums to %g, NNDSVD's to %g", ranks[r], learned, start);
    }
}
