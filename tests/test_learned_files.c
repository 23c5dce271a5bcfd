// The learned models' files and the safeguards around their outputs
// (models/nmf/learned, models/nmf/solver.c, docs/factormer-math.md §6, §8),
// with the tiny models of tests/learned_fixtures.c:
//   - model files: the default directory ($FACTORMER_MODELS), the model of
//     any rank before the rank's own, and the refusals (missing, another
//     rank, another kind, damaged);
//   - the safeguard: a zeroed component taken from the ADMM iterate, no
//     output kept that is worse than ADMM's; models loaded once;
//   - sampled message passing: every edge sampled is the full run, seeded
//     and thread-independent draws, the sampler options checked, a pooled
//     model's own fanout by rank;
//   - the shipped model of any rank improves its start.
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "init.h"
#include "learned.h"
#include "learned_fixtures.h"
#include "learned_reference.h"
#include "solver_networks.h"
#include "train_data.h"

TestSuite(learned_files, .init = fm_test_setup);

#define RANK FM_TEST_LEARNED_RANK
#define SEED FM_TEST_LEARNED_SEED
#define close_relative fm_test_learned_close
static const fm_kind *const kinds = fm_test_learned_kinds;

//------------------------------------------------------------------------------
// Model files
//------------------------------------------------------------------------------

Test(learned_files, the_default_directory_is_factormer_models)
{
    fm_test_models s = fm_test_models_new();
    char msg[FM_MSG_LEN], path[FM_LEARNED_PATH_LEN];
    cr_assert_eq(setenv(FM_MODEL_DIR_ENV, s.dir, 1), 0);
    cr_assert_eq(fm_learned_default_path(path, sizeof path, FM_MODEL_ACCEL, 12, msg), FM_OK, "%s", msg);
    char want[400];
    snprintf(want, sizeof want, "%s/accel-rank12.fmw", s.dir);
    cr_expect_str_eq(path, want);
    fm_triplets *t = fm_test_learned_planted(FM_KIND_SPARSE, 1.0);
    fm_graph *g = fm_test_learned_graph(t, FM_KIND_SPARSE);
    fm_solver_options o = fm_test_learned_options(10);
    o.init = FM_INIT_LEARNED;
    o.accelerate = true;
    fm_solver_result *r = fm_test_learned_solve(g, &o);
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
    r = fm_test_learned_solve(g, &o);
    cr_expect_str_eq(r->init_model, any);
    fm_solver_result_free(&r);
    cr_assert_eq(remove(any), 0);
    r = fm_test_learned_solve(g, &o);
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
    fm_test_models_free(&s);
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

Test(learned_files, missing_other_rank_other_kind_and_damaged_models_are_refused)
{
    fm_test_models s = fm_test_models_new();
    fm_triplets *t = fm_test_learned_planted(FM_KIND_DENSE, 1.0);
    fm_graph *g = fm_test_learned_graph(t, FM_KIND_DENSE);
    fm_solver_options o = fm_test_learned_options(5);
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
    fm_solver_result *r = fm_test_learned_solve(g, &o);
    fm_solver_result_free(&r);
    fm_graph_free(&g);
    fm_triplets_free(&t);
    fm_test_models_free(&s);
}

// keep_rank: a component the network zeroes comes from the ADMM iterate.
// The model's output bias of W's component 1 is pushed far below zero, so
// that its relu is closed on every row.
Test(learned_files, a_zeroed_component_is_taken_from_the_admm_iterate)
{
    fm_test_models s = fm_test_models_new();
    char msg[FM_MSG_LEN];
    fm_learned model = { 0 };
    cr_assert_eq(fm_learned_load(&model, s.accel, FM_MODEL_ACCEL, RANK, msg), FM_OK, "%s", msg);
    ((float *)model.weights.out_w_bias)[1] = -1e6f;
    fm_triplets *t = fm_test_learned_planted(FM_KIND_SPARSE, 2.0);
    fm_graph *g = fm_test_learned_graph(t, FM_KIND_SPARSE);
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
    fm_test_models_free(&s);
}

// The safeguard (on by default): an accelerator output is kept only if its
// objective is at most the ADMM iterate's it replaces. Run B takes T steps;
// run A, the same options with s − 1 steps and s·c + 1 iterations, passes
// through the ADMM iterate step s of B replaced (the runs agree until then).
// Returns the outputs kept.
static int expect_safeguarded(fm_graph *g, const char *model, int rank)
{
    fm_solver_options o = fm_test_learned_options(20);
    o.rank = rank;
    o.accelerate = true;
    o.accel_model = model;
    o.accel_every = 4;
    o.accel_steps = 4;
    o.accel_safeguard = true;
    o.accel_give_up = false;    // every step taken (the giving up: test_accel_give_up.c)
    o.exact_objective = true;   // the safeguard's objectives are exact; run A's rows must be too
    fm_solver_result *b = fm_test_learned_solve(g, &o);
    cr_expect_eq(b->accel_steps, 4);
    int refusals = 0;
    for (int step = 1; step <= 4; step++) {
        const int at = step * o.accel_every;
        fm_solver_options shorter = o;
        shorter.accel_steps = step - 1;
        shorter.iters = at + 1;
        fm_solver_result *a = fm_test_learned_solve(g, &shorter);
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
    fm_solver_result *unguarded = fm_test_learned_solve(g, &o);
    cr_expect_eq(unguarded->accel_rejected, 0);
    for (int step = 1; step <= 4; step++) cr_expect(unguarded->trace[step * 4].accelerated);
    fm_solver_result_free(&unguarded);
    fm_solver_result_free(&b);
    return 4 - refusals;
}

Test(learned_files, the_safeguard_keeps_no_output_worse_than_admm)
{
    fm_test_models s = fm_test_models_new();
    for (int k = 0; k < 3; k++) {
        fm_triplets *t = fm_test_learned_planted(kinds[k], 1.0);
        fm_graph *g = fm_test_learned_graph(t, kinds[k]);
        expect_safeguarded(g, s.accel, RANK);
        fm_graph_free(&g);
        fm_triplets_free(&t);
    }
    fm_test_models_free(&s);
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
Test(learned_files, loaded_networks_give_the_runs_of_the_files)
{
    fm_test_models s = fm_test_models_new();
    char msg[FM_MSG_LEN];
    fm_learned init = { 0 }, accel = { 0 };
    cr_assert_eq(fm_learned_load(&init, s.init, FM_MODEL_INIT, RANK, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_learned_load(&accel, s.accel, FM_MODEL_ACCEL, RANK, msg), FM_OK, "%s", msg);
    for (int k = 0; k < 3; k++) {
        // the shapes change from run to run: the activation buffers follow
        fm_triplets *t = fm_test_learned_planted(kinds[k], 1.0 + k);
        fm_graph *g = fm_test_learned_graph(t, kinds[k]);
        fm_solver_options o = fm_test_learned_options(12);
        o.init = FM_INIT_LEARNED;
        o.init_model = s.init;
        o.accelerate = true;
        o.accel_model = s.accel;
        fm_solver_result *files = fm_test_learned_solve(g, &o);
        o.init_model = o.accel_model = "no such file";
        o.init_network = &init;
        o.accel_network = &accel;
        for (int twice = 0; twice < 2; twice++) {
            fm_solver_result *loaded = fm_test_learned_solve(g, &o);
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
    fm_test_models_free(&s);
}

Test(learned_files, fm_init_factors_leaves_learned_to_the_solver)
{
    fm_triplets *t = fm_test_learned_planted(FM_KIND_DENSE, 1.0);
    fm_graph *g = fm_test_learned_graph(t, FM_KIND_DENSE);
    char msg[FM_MSG_LEN];
    fm_edges rows = {0}, cols = {0};
    cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&cols, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    fm_dense *W = NULL, *Ht = NULL;
    cr_expect_eq(fm_init_factors(&W, &Ht, g, &rows, &cols, RANK, FM_INIT_LEARNED, FM_SVD_POWER_AUTO, 1, msg),
                 FM_ERR_INVALID);
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

static fm_solver_options sampled_options(const fm_test_models *s, fm_sampler sampler, int64_t fanout, bool once)
{
    fm_solver_options o = fm_test_learned_options(12);
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
Test(learned_files, a_sample_of_every_edge_is_the_full_run)
{
    fm_test_models s = fm_test_models_new();
    for (int k = 1; k < 3; k++) {
        fm_triplets *t = fm_test_learned_planted(kinds[k], 1.0);
        fm_graph *g = fm_test_learned_graph(t, kinds[k]);
        fm_solver_options full = sampled_options(&s, FM_SAMPLER_FULL, 32, false);
        fm_solver_result *reference = fm_test_learned_solve(g, &full);
        for (int once = 0; once < 2; once++)
            for (int strategy = FM_SAMPLER_UNIFORM; strategy <= FM_SAMPLER_WEIGHTED; strategy++) {
                fm_solver_options o = sampled_options(&s, (fm_sampler)strategy, 1000, once);
                fm_solver_result *r = fm_test_learned_solve(g, &o);
                cr_expect(same_traces(r, reference), "%s, %s, resample %s: not the full run",
                          fm_kind_name(kinds[k]), fm_sampler_name((fm_sampler)strategy), once ? "once" : "per layer");
                fm_solver_result_free(&r);
            }
        fm_solver_result_free(&reference);
        fm_graph_free(&g);
        fm_triplets_free(&t);
    }
    fm_test_models_free(&s);
}

// Fanout 3 on targets of about 12 edges: a sample changes the run; the same
// seed gives the same run, for 1 thread or 2; another seed another run.
Test(learned_files, sampled_runs_are_seeded_and_thread_independent)
{
    fm_test_models s = fm_test_models_new();
    fm_triplets *t = fm_test_learned_planted(FM_KIND_INCOMPLETE, 1.0);
    fm_graph *g = fm_test_learned_graph(t, FM_KIND_INCOMPLETE);
    fm_solver_options full = sampled_options(&s, FM_SAMPLER_FULL, 32, false);
    fm_solver_result *reference = fm_test_learned_solve(g, &full);
    const int threads = fm_get_threads();
    for (int strategy = FM_SAMPLER_UNIFORM; strategy <= FM_SAMPLER_WEIGHTED; strategy++)
        for (int once = 0; once < 2; once++) {
            const char *name = fm_sampler_name((fm_sampler)strategy);
            fm_solver_options o = sampled_options(&s, (fm_sampler)strategy, 3, once);
            o.serial_below = 0;   // two threads on this small matrix
            fm_set_threads(1);
            fm_solver_result *one = fm_test_learned_solve(g, &o);
            fm_set_threads(2);
            fm_solver_result *two = fm_test_learned_solve(g, &o), *again = fm_test_learned_solve(g, &o);
            o.seed = SEED + 1;
            fm_solver_result *other = fm_test_learned_solve(g, &o);
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
    fm_test_models_free(&s);
}

Test(learned_files, sampler_options_are_checked)
{
    fm_test_models s = fm_test_models_new();
    fm_triplets *t = fm_test_learned_planted(FM_KIND_INCOMPLETE, 1.0);
    fm_graph *g = fm_test_learned_graph(t, FM_KIND_INCOMPLETE);
    fm_solver_options o = sampled_options(&s, FM_SAMPLER_STRATIFIED, 3, false);
    expect_refused(g, &o, FM_ERR_INVALID, "stratified", "incomplete");
    o = sampled_options(&s, FM_SAMPLER_UNIFORM, 0, false);
    expect_refused(g, &o, FM_ERR_INVALID, "fanout 0", "at least 1");
    o = sampled_options(&s, FM_SAMPLER_UNIFORM, 3, false);
    o.zero_ratio = -1;
    expect_refused(g, &o, FM_ERR_INVALID, "zero ratio", ">= 0");
    fm_graph_free(&g);
    fm_triplets_free(&t);
    fm_test_models_free(&s);
}

// A pooled model given no sampler reads uniform samples of FM_POOLED_FANOUT
// up to the ranks it was trained at, R, and more above them, (rank / R)²
// times as many. R is its file's record; a file without one (the shipped
// models) takes its kind's shipped R (the initialization 32, the accelerator
// 20). A fanout or a sampler the caller chose is kept, and a model that is
// not pooled reads every edge.
Test(learned_files, a_pooled_model_reads_more_samples_above_its_ranks)
{
    fm_lfactormer_config pooled = {.components = true, .pooled = true}, set = {.components = true},
                         to10 = {.components = true, .pooled = true, .trained_rank = 10};
    fm_solver_options o;
    fm_solver_options_default(&o);
    const int ranks[] = {2, 10, 20, 21, 30, 32, 33, 40, 64};
    const int64_t init[] = {8, 8, 8, 8, 8, 8, 9, 13, 32};
    const int64_t accel[] = {8, 8, 8, 9, 18, 21, 22, 32, 82};
    const int64_t trained10[] = {8, 8, 32, 36, 72, 82, 88, 128, 328};
    cr_expect(fm_pooled_trained_rank(FM_MODEL_INIT, &pooled) == 32 && fm_pooled_trained_rank(FM_MODEL_ACCEL, &pooled) == 20 &&
              fm_pooled_trained_rank(FM_MODEL_INIT, &to10) == 10 && fm_pooled_trained_rank(FM_MODEL_ACCEL, &to10) == 10);
    for (size_t c = 0; c < sizeof ranks / sizeof *ranks; c++) {
        o.rank = ranks[c];
        cr_expect_eq(fm_pooled_fanout(ranks[c], 32), init[c], "rank %d: %lld", ranks[c],
                     (long long)fm_pooled_fanout(ranks[c], 32));
        cr_expect_eq(fm_pooled_fanout(ranks[c], 20), accel[c], "rank %d: %lld", ranks[c],
                     (long long)fm_pooled_fanout(ranks[c], 20));
        cr_expect_eq(fm_solver_network_sampling(&o, FM_MODEL_INIT, &to10).fanout, trained10[c], "rank %d: %lld",
                     ranks[c], (long long)fm_solver_network_sampling(&o, FM_MODEL_INIT, &to10).fanout);
        cr_expect_eq(fm_solver_network_sampling(&o, FM_MODEL_ACCEL, &to10).fanout, trained10[c]);
        const fm_solver_options s = fm_solver_network_sampling(&o, FM_MODEL_INIT, &pooled);
        cr_expect(s.sampler == FM_SAMPLER_UNIFORM && s.fanout == init[c], "rank %d: %s, %lld", ranks[c],
                  fm_sampler_name(s.sampler), (long long)s.fanout);
        cr_expect_eq(fm_solver_network_sampling(&o, FM_MODEL_ACCEL, &pooled).fanout, accel[c]);
        cr_expect_eq(fm_solver_network_sampling(&o, FM_MODEL_INIT, &set).sampler, FM_SAMPLER_FULL);
    }
    o.fanout = 5;
    o.fanout_given = true;
    cr_expect_eq(fm_solver_network_sampling(&o, FM_MODEL_INIT, &pooled).fanout, 5);
    o.sampler = FM_SAMPLER_WEIGHTED;
    o.sampler_given = true;
    cr_expect_eq(fm_solver_network_sampling(&o, FM_MODEL_ACCEL, &pooled).sampler, FM_SAMPLER_WEIGHTED);
}

// The shipped model of any rank (models/shipped/init.fmw, the pooled set of
// docs §5.2 with the gathered term, reading its own samples) runs at ranks it
// has no file of its own for, and its output is nearer the data than the
// NNDSVD start it reads, as on its validation sets (median relative RMSE
// 0.25 against 0.35 over the mix of families): compared on 3 of the large
// validation matrices at each of ranks 4, 7 and 15.
Test(learned_files, the_shipped_model_of_any_rank_improves_its_start)
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
            fm_solver_options o = fm_test_learned_options(0);
            o.rank = ranks[r];
            fm_solver_result *plain = fm_test_learned_solve(g, &o);
            o.init = FM_INIT_LEARNED;
            o.init_model = FM_SOURCE_DIR "/models/shipped/init.fmw";
            fm_solver_result *net = fm_test_learned_solve(g, &o);
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
