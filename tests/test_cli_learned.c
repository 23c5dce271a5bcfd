// `factormer factorize --init learned` and `--accelerate` end to end, with
// tiny models trained by the program (tests/cli_program.h).
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_program.h"
#include "evaluate.h"
#include "helpers.h"
#include "learned_reference.h"
#include "lfactormer_checkpoint.h"
#include "plot.h"

TestSuite(cli, .init = fm_test_setup);

//------------------------------------------------------------------------------
// factorize --init learned and --accelerate, with tiny models trained by the
// program (width 8, 1 head, 1 layer, rank 3, 8 training and 2 + 2
// validation matrices, 1 epoch: a fraction of a second each)
//------------------------------------------------------------------------------

// The data of a kind: X.mtx (40 x 30, rank 3) as the program fits it, that
// is without the held-out entries when `holdout` (the split of seed 42).
static fm_triplets *fitted_entries(const char *x, fm_kind kind, bool holdout)
{
    fm_triplets *t = read_triplets(x, kind == FM_KIND_INCOMPLETE);
    if (!holdout) return t;
    fm_triplets *kept = NULL, *held = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_holdout_split(&kept, &held, t, 0.2, 42, msg), FM_OK, "%s", msg);
    fm_triplets_free(&t);
    fm_triplets_free(&held);
    return kept;
}

// `factorize X --rank 3 --iters 30 --tol 0 --out OUT/run --quiet`, the kind's
// options and the NULL-terminated extra arguments; then check_outputs, and
// the trace rows that name a model: row 0 names `init` (NULL: none), rows
// 5, 10, ... 25 name `accel` (NULL: none). Returns the outputs.
static outputs factorize_learned(const scratch *s, const char *x, fm_kind kind, const char *init, const char *accel,
                                 ...)
{
    arguments a = { { FM_BINARY, NULL }, 1 };
    const char *const base[] = { "factorize", x, "--kind", fm_kind_name(kind), "--rank", "3", "--iters", "30",
                                 "--tol", "0", "--out", out_prefix(s), "--quiet", NULL };
    for (int i = 0; base[i]; i++) arguments_add(&a, base[i]);
    if (kind == FM_KIND_INCOMPLETE) {
        arguments_add(&a, "--holdout");
        arguments_add(&a, "0.2");
    }
    va_list list;
    va_start(list, accel);
    arguments_add_list(&a, list);
    va_end(list);
    if (accel) arguments_add(&a, "--no-safeguard");   // every step's output is kept, and named
    run r = run_arguments(s, &a);
    expect_success(&r);
    run_free(&r);

    const bool holdout = kind == FM_KIND_INCOMPLETE;
    fm_triplets *t = fitted_entries(x, kind, holdout);
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_graph_from_triplets(&g, t, kind, msg), FM_OK, "%s", msg);
    outputs o = check_outputs(s, g, 3, 30, holdout);
    trace tr = check_trace(fm_test_path(s->out, "run.trace.csv"), holdout);
    for (int it = 0; it < tr.rows; it++) {
        const bool accelerated = it > 0 && it % 5 == 0 && it / 5 <= 5;
        const char *want = it == 0 && init ? init : accelerated && accel ? accel : "";
        cr_expect_str_eq(tr.model[it], want, "%s: trace row %d", fm_kind_name(kind), it);
    }
    cr_expect(json_string_is(o.summary, "init", init ? "learned" : "nndsvd"), "%s", o.summary);
    cr_expect(init ? json_string_is(o.summary, "init_model", init) : strstr(o.summary, "\"init_model\": null") != NULL,
              "%s", o.summary);
    cr_expect(accel ? json_string_is(o.summary, "accel_model", accel)
                    : strstr(o.summary, "\"accel_model\": null") != NULL,
              "%s", o.summary);
    cr_expect_eq(json_number(o.summary, "accel_steps"), accel ? 5 : 0, "%s", o.summary);
    cr_expect(strstr(o.summary, accel ? "\"accelerate\": true" : "\"accelerate\": false"), "%s", o.summary);
    if (init) {
        // iteration 0 is the network's output, recomputed by hand from X / mean
        fm_dense *W = NULL, *H = NULL;
        fm_test_learned_init(&W, &H, t, kind, init, 3, 42);
        double expected;
        cr_assert_eq(fm_rmse(&expected, g, W, H, msg), FM_OK, "%s", msg);
        cr_expect(close_relative(tr.rmse[0], expected, 1e-6), "%s: the trace starts at %.9g, the network's is %.9g",
                  fm_kind_name(kind), tr.rmse[0], expected);
        cr_expect_lt(tr.rmse[30], tr.rmse[0], "%s: ADMM did not improve on the network", fm_kind_name(kind));
        fm_dense_free(&W);
        fm_dense_free(&H);
    }
    trace_free(&tr);
    fm_graph_free(&g);
    fm_triplets_free(&t);
    return o;
}

// X.mtx of the kind (an array for dense, coordinates of density 0.3
// otherwise), its path copied out of fm_test_path's rotating slots.
typedef struct data_path {
    char path[512];
} data_path;

static data_path generate_kind(const scratch *s, fm_kind kind)
{
    data_path d;
    snprintf(d.path, sizeof d.path, "%s", generate(s, kind == FM_KIND_DENSE ? NULL : "0.3"));
    return d;
}

// --profile=ROOT/profile.json: a run whose ops the test reads back.
typedef struct profile_path {
    char text[400];
} profile_path;

static profile_path profile_option(const scratch *s)
{
    profile_path p;
    snprintf(p.text, sizeof p.text, "--profile=%s/profile.json", s->root);
    return p;
}

// The last run's profile shows the networks' attention on the GraphBLAS path and not on the fused one.
static void expect_graphblas_attention(const scratch *s, const char *what)
{
    char *profile = fm_test_read_text(fm_test_path(s->root, "profile.json"));
    cr_expect(strstr(profile, "attention.graphblas.forward") && !strstr(profile, "attention.fused.forward"),
              "%s: the networks' attention did not run on GraphBLAS:\n%s", what, profile);
    free(profile);
}

static void learned_end_to_end(fm_kind kind)
{
    scratch s = scratch_new();
    tiny_models m = tiny_models_new(&s);
    const data_path data = generate_kind(&s, kind);
    const char *x = data.path;
    outputs o = factorize_learned(&s, x, kind, m.init, NULL, "--init", "learned", "--model", m.init, NULL);
    outputs_free(&o);
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    o = factorize_learned(&s, x, kind, NULL, m.accel, "--accelerate", "--model", m.accel, NULL);
    outputs_free(&o);
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    o = factorize_learned(&s, x, kind, m.init, m.accel, "--init", "learned", "--accelerate", "--init-model", m.init,
                          "--accel-model", m.accel, NULL);
    const double fused = json_number(o.summary, "rmse");
    outputs_free(&o);
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    // both networks on the GraphBLAS path (a copy of every edge, packed): the same run up to rounding
    o = factorize_learned(&s, x, kind, m.init, m.accel, "--init", "learned", "--accelerate", "--init-model", m.init,
                          "--accel-model", m.accel, "--kernels", "graphblas", profile_option(&s).text, NULL);
    cr_expect(close_relative(json_number(o.summary, "rmse"), fused, 1e-4), "%s: GraphBLAS rmse %.9g, fused %.9g",
              fm_kind_name(kind), json_number(o.summary, "rmse"), fused);
    cr_expect(strstr(o.summary, "\"batch_targets\": 0"), "%s", o.summary);
    expect_graphblas_attention(&s, fm_kind_name(kind));
    outputs_free(&o);
    scratch_free(&s);
}

Test(cli, learned_dense_end_to_end)
{
    learned_end_to_end(FM_KIND_DENSE);
}

Test(cli, learned_sparse_end_to_end)
{
    learned_end_to_end(FM_KIND_SPARSE);
}

Test(cli, learned_incomplete_with_holdout_end_to_end)
{
    learned_end_to_end(FM_KIND_INCOMPLETE);
}

// The accelerator on a sample of the graph (§8): the outputs as for any run,
// the sampling in the summary; the sampler options refused where they do not
// apply, before any output.
Test(cli, learned_sampled_end_to_end)
{
    scratch s = scratch_new();
    tiny_models m = tiny_models_new(&s);
    const data_path data = generate_kind(&s, FM_KIND_INCOMPLETE);
    const char *x = data.path;
    outputs o = factorize_learned(&s, x, FM_KIND_INCOMPLETE, NULL, m.accel, "--accelerate", "--model", m.accel,
                                  "--sampler", "weighted", "--fanout", "4", "--resample", "once", "--batch-targets",
                                  "0", NULL);
    cr_expect(strstr(o.summary, "\"sampling\": {\"sampler\": \"weighted\", \"fanout\": 4, \"zero_ratio\": 1, "
                                "\"resample\": \"once\", \"trained_rank\": 0}"), "%s", o.summary);   // not pooled
    cr_expect(strstr(o.summary, "\"batch_targets\": 0"), "%s", o.summary);
    const double whole = json_number(o.summary, "rmse");
    outputs_free(&o);
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    // the GraphBLAS path on the same samples (packed): the same run up to rounding
    o = factorize_learned(&s, x, FM_KIND_INCOMPLETE, NULL, m.accel, "--accelerate", "--model", m.accel, "--sampler",
                          "weighted", "--fanout", "4", "--resample", "once", "--kernels", "graphblas",
                          profile_option(&s).text, NULL);
    cr_expect(strstr(o.summary, "\"kernels\": \"graphblas\""), "%s", o.summary);
    expect_graphblas_attention(&s, "weighted samples");
    cr_expect(close_relative(json_number(o.summary, "rmse"), whole, 1e-4), "GraphBLAS rmse %.9g, fused %.9g",
              json_number(o.summary, "rmse"), whole);
    outputs_free(&o);
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    // the network's layers in mini-batches of 7 targets: the same run up to rounding
    o = factorize_learned(&s, x, FM_KIND_INCOMPLETE, NULL, m.accel, "--accelerate", "--model", m.accel, "--sampler",
                          "weighted", "--fanout", "4", "--resample", "once", "--batch-targets", "7", NULL);
    cr_expect(strstr(o.summary, "\"batch_targets\": 7"), "%s", o.summary);
    cr_expect(close_relative(json_number(o.summary, "rmse"), whole, 1e-4), "batched rmse %.9g, whole %.9g",
              json_number(o.summary, "rmse"), whole);
    outputs_free(&o);
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    run r = RUN(&s, "factorize", x, "--rank", "3", "--accelerate", "--model", m.accel, "--batch-targets", "-1",
                "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "--batch-targets");
    run_free(&r);
    r = RUN(&s, "factorize", x, "--rank", "3", "--accelerate", "--model", m.accel, "--kernels", "semirings",
            "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "fused or graphblas", "'semirings'");
    run_free(&r);
    r = RUN(&s, "factorize", x, "--rank", "3", "--kernels", "graphblas", "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "--kernels graphblas", "--init learned or --accelerate");
    run_free(&r);
    r = RUN(&s, "factorize", x, "--rank", "3", "--accelerate", "--model", m.accel, "--kernels", "graphblas",
            "--batch-targets", "16", "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "--batch-targets runs on the fused kernels");
    run_free(&r);
    r = RUN(&s, "factorize", x, "--kind", "incomplete", "--rank", "3", "--sampler", "uniform", "--out",
                out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "--sampler uniform", "--init learned or --accelerate");
    run_free(&r);
    r = RUN(&s, "factorize", x, "--rank", "3", "--accelerate", "--model", m.accel, "--resample", "sometimes",
            "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "per-layer or once");
    run_free(&r);
    r = RUN(&s, "factorize", x, "--rank", "3", "--accelerate", "--model", m.accel, "--sampler", "everything",
            "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "unknown sampler 'everything'");
    run_free(&r);
    r = RUN(&s, "factorize", x, "--kind", "incomplete", "--rank", "3", "--accelerate", "--model", m.accel,
            "--sampler", "stratified", "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 1, "stratified", "incomplete");
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

// No --model: the files of FACTORMER_MODELS; the summary on the terminal
// names them and counts the accelerator's steps.
Test(cli, learned_models_from_factormer_models)
{
    scratch s = scratch_new();
    tiny_models m = tiny_models_new(&s);
    const data_path data = generate_kind(&s, FM_KIND_DENSE);
    const char *x = data.path;
    cr_assert_eq(setenv("FACTORMER_MODELS", m.dir, 1), 0);
    outputs o = factorize_learned(&s, x, FM_KIND_DENSE, m.init, m.accel, "--init", "learned", "--accelerate", NULL);
    outputs_free(&o);
    run r = RUN(&s, "factorize", x, "--rank", "3", "--iters", "12", "--init", "learned", "--accelerate",
                "--accel-every", "3", "--accel-steps", "2", "--keep-accelerating", "--out", out_prefix(&s));
    expect_success(&r);
    char want[800];
    snprintf(want, sizeof want, "rank         3 from learned (%s)", m.init);
    cr_expect(strstr(r.out, want), "stdout lacks \"%s\":\n%s", want, r.out);
    snprintf(want, sizeof want, "accelerated  2 steps, every 3 iterations (%s)", m.accel);
    cr_expect(strstr(r.out, want), "stdout lacks \"%s\":\n%s", want, r.out);
    cr_expect(strstr(r.err, "(learned)"), "%s", r.err);
    char *summary = fm_test_read_text(fm_test_path(s.out, "run.summary.json"));
    // each step is kept or refused by the safeguard, and said so
    const double refused = json_number(summary, "accel_rejected");
    cr_expect(refused >= 0 && refused <= 2, "%s", summary);
    cr_expect(refused == 2 || strstr(r.err, "(accelerated)"), "%s", r.err);
    cr_expect(refused == 0 || strstr(r.err, "(accelerator output refused)"), "%s", r.err);
    cr_expect(strstr(summary, "\"accel_safeguard\": true"), "%s", summary);
    cr_expect_eq(json_number(summary, "accel_steps"), 2);
    cr_expect_eq(json_number(summary, "accel_every"), 3);
    cr_expect_eq(json_number(summary, "accel_given_up"), 0);
    free(summary);
    run_free(&r);
    // by default the cost guard does not call a network whose pass is more work than its share of a tenth of
    // the run (the tiny model's pass is about 20 ADMM iterations' work on this matrix), and says so
    r = RUN(&s, "factorize", x, "--rank", "3", "--iters", "12", "--accelerate", "--accel-every", "3",
            "--accel-steps", "3", "--out", out_prefix(&s));
    expect_success(&r);
    cr_expect(strstr(r.out, "accelerator  not called: a pass is the work of"), "%s", r.out);
    summary = fm_test_read_text(fm_test_path(s.out, "run.summary.json"));
    cr_expect(strstr(summary, "\"accel_too_costly\": true"), "%s", summary);
    cr_expect_eq(json_number(summary, "accel_steps"), 0, "%s", summary);
    cr_expect_gt(json_number(summary, "accel_pass_iterations"), json_number(summary, "accel_allowed_iterations"));
    free(summary);
    run_free(&r);
    // without the guard the run gives the accelerator up at its first refusal, and says so
    r = RUN(&s, "factorize", x, "--rank", "3", "--iters", "12", "--accelerate", "--accel-every", "3",
            "--accel-steps", "3", "--accel-budget", "none", "--out", out_prefix(&s));
    expect_success(&r);
    summary = fm_test_read_text(fm_test_path(s.out, "run.summary.json"));
    const double given = json_number(summary, "accel_given_up");
    cr_expect(given == 0 || strstr(r.out, "given up after iteration"), "%s", r.out);
    cr_expect(json_number(summary, "accel_rejected") <= 1, "%s", summary);
    free(summary);
    run_free(&r);
    unsetenv("FACTORMER_MODELS");
    scratch_free(&s);
}

// Models of any rank (§5.1), trained at rank 3, found as init.fmw and
// accel.fmw in $FACTORMER_MODELS: rank 3 runs as with the rank's own models
// (iteration 0 is the network's output by hand), and ranks 2 and 5, which
// have no model of their own, run with them.
Test(cli, learned_models_of_any_rank)
{
    scratch s = scratch_new();
    char dir[400], init[500], accel[500];
    snprintf(dir, sizeof dir, "%s/any", s.root);
    cr_assert_eq(mkdir(dir, 0755), 0);
    snprintf(init, sizeof init, "%s/init.fmw", dir);
    snprintf(accel, sizeof accel, "%s/accel.fmw", dir);
    // the initialization trained at ranks 3 to 5, a rank per matrix, with the gathered term
    run r = RUN(&s, "train", "--model", "init", "--any-rank", "--gathered", "--rank", "3", "--max-rank", "5",
                TINY_MODEL, "--out", init);
    expect_success(&r);
    run_free(&r);
    // the accelerator pooled (§5.2)
    r = RUN(&s, "train", "--model", "accel", "--any-rank", "--pooled", "--rank", "3", TINY_MODEL, "--out", accel);
    expect_success(&r);
    run_free(&r);
    const data_path data = generate_kind(&s, FM_KIND_DENSE);
    cr_assert_eq(setenv("FACTORMER_MODELS", dir, 1), 0);
    outputs o = factorize_learned(&s, data.path, FM_KIND_DENSE, init, accel, "--init", "learned", "--accelerate", NULL);
    outputs_free(&o);
    const char *ranks[] = {"2", "5"};
    for (int i = 0; i < 2; i++) {
        r = RUN(&s, "factorize", data.path, "--rank", ranks[i], "--iters", "12", "--init", "learned", "--accelerate",
                "--accel-every", "3", "--out", out_prefix(&s));
        expect_success(&r);
        char want[800];
        snprintf(want, sizeof want, "rank         %s from learned (%s)", ranks[i], init);
        cr_expect(strstr(r.out, want), "stdout lacks \"%s\":\n%s", want, r.out);
        run_free(&r);
    }
    unsetenv("FACTORMER_MODELS");
    scratch_free(&s);
}

// The RMSE at iteration 0 in PREFIX.trace.csv.
static double start_rmse(const char *prefix)
{
    char path[600];
    snprintf(path, sizeof path, "%s.trace.csv", prefix);
    char *text = fm_test_read_text(path);
    const char *row = strstr(text, "\n0,");
    cr_assert_not_null(row, "%s has no row of iteration 0:\n%s", path, text);
    double seconds, rmse;
    cr_assert_eq(sscanf(row + 1, "0,%lf,%lf", &seconds, &rmse), 2, "%s", row);
    free(text);
    return rmse;
}

// A pooled model (§5.2) given no --sampler reads uniform samples of fanout 8,
// as it was trained: its start is that of --sampler uniform --fanout 8, not
// that of the full graph (--sampler full), and the report says so. With one
// layer, which draws the columns' in-edges alone, the gathered term of the
// rows reads every edge, as in training. Above the ranks its file records it
// was trained at (3), it reads (rank / 3)² times as many (§5.2): at rank 5
// ceil(8 · 25/9) = 23, neither the shipped R's 8 nor --fanout's default 32.
static void pooled_model_reads_its_own_samples(const char *layers)
{
    scratch s = scratch_new();
    char model[400];
    snprintf(model, sizeof model, "%s/pooled.fmw", s.root);
    run r = RUN(&s, "train", "--model", "init", "--any-rank", "--pooled", "--gathered", "--rank", "3", "--sampler",
                "uniform", "--fanout", "8", TINY_MODEL, "--layers", layers, "--out", model);
    expect_success(&r);
    run_free(&r);
    const data_path data = generate_kind(&s, FM_KIND_DENSE);
    const char *const samplers[3][5] = {{NULL}, {"--sampler", "uniform", "--fanout", "8", NULL},
                                        {"--sampler", "full", NULL}};
    double start[3];
    for (int v = 0; v < 3; v++) {
        char prefix[500];
        snprintf(prefix, sizeof prefix, "%s/run%d", s.out, v);
        arguments a = {{FM_BINARY, NULL}, 1};
        const char *const base[] = {"factorize", data.path, "--rank", "3", "--iters", "2", "--init", "learned",
                                    "--model", model, "--out", prefix, NULL};
        for (int i = 0; base[i]; i++) arguments_add(&a, base[i]);
        for (int i = 0; samplers[v][i]; i++) arguments_add(&a, samplers[v][i]);
        r = run_arguments(&s, &a);
        expect_success(&r);
        const bool own = strstr(r.out, "sampled      uniform, fanout 8, drawn per layer (the pooled model's own, "
                                       "trained to rank 3;") != NULL;
        cr_expect(own == (v == 0), "run %d:\n%s", v, r.out);
        run_free(&r);
        start[v] = start_rmse(prefix);
        // the summary names what the network read
        char path[600];
        snprintf(path, sizeof path, "%s.summary.json", prefix);
        char *summary = fm_test_read_text(path);
        cr_assert_not_null(summary, "%s", path);
        cr_expect(strstr(summary, v == 2 ? "\"sampling\": {\"sampler\": \"full\""
                                         : "\"sampling\": {\"sampler\": \"uniform\", \"fanout\": 8,"),
                  "run %d: %s", v, summary);
        free(summary);
    }
    cr_expect_eq(start[0], start[1], "the pooled model's default start %.9g is not that of fanout 8, %.9g", start[0],
                 start[1]);
    cr_expect_neq(start[0], start[2], "the pooled model read every edge by default (start %.9g)", start[0]);
    char prefix[500];
    snprintf(prefix, sizeof prefix, "%s/rank5", s.out);
    r = RUN(&s, "factorize", data.path, "--rank", "5", "--iters", "2", "--init", "learned", "--model", model, "--out",
            prefix);
    expect_success(&r);
    cr_expect(strstr(r.out, "sampled      uniform, fanout 23, drawn per layer"), "ceil(8 (5 / 3)^2) = 23:\n%s", r.out);
    char *summary = fm_test_read_text(strcat(prefix, ".summary.json"));
    cr_assert_not_null(summary);
    cr_expect(strstr(summary, "\"fanout\": 23, \"zero_ratio\": 1, \"resample\": \"per-layer\", \"trained_rank\": 3}"), "%s",
              summary);
    free(summary);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, a_pooled_model_reads_its_own_samples) { pooled_model_reads_its_own_samples("2"); }
Test(cli, a_pooled_model_of_one_layer_reads_its_own_samples) { pooled_model_reads_its_own_samples("1"); }

Test(cli, learned_model_refusals)
{
    scratch s = scratch_new();
    tiny_models m = tiny_models_new(&s);
    const data_path data = generate_kind(&s, FM_KIND_DENSE);
    const char *x = data.path;
    char empty[400], expected_path[500], command[700];
    snprintf(empty, sizeof empty, "%s/empty", s.root);
    cr_assert_eq(mkdir(empty, 0755), 0);

    // a rank without a model: the path looked for and the command that trains it
    cr_assert_eq(setenv("FACTORMER_MODELS", empty, 1), 0);
    snprintf(expected_path, sizeof expected_path, "%s/init.fmw", empty);
    snprintf(command, sizeof command, "factormer train --model init --any-rank --out %s", expected_path);
    run r = FACTORIZE_BAD(&s, x, "--rank", "3", "--init", "learned");
    EXPECT_FAILURE(&r, 1, "init-rank3.fmw: no learned", command, "does not exist");
    run_free(&r);
    snprintf(command, sizeof command, "factormer train --model accel --any-rank --out %s/accel.fmw", empty);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--accelerate");
    EXPECT_FAILURE(&r, 1, command);
    run_free(&r);
    unsetenv("FACTORMER_MODELS");
    // a model of another rank
    char rank2[400];
    snprintf(rank2, sizeof rank2, "%s/init-rank2.fmw", m.dir);
    train_model(&s, "init", "2", rank2);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--init", "learned", "--model", rank2);
    EXPECT_FAILURE(&r, 1, rank2, "rank-2", "needs a rank-3 model or one of any rank");
    run_free(&r);
    // the acceleration model given to --init learned, and the other way round
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--init", "learned", "--model", m.accel);
    EXPECT_FAILURE(&r, 1, m.accel, "acceleration model", "factormer train --model init --any-rank");
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--accelerate", "--model", m.init);
    EXPECT_FAILURE(&r, 1, m.init, "initialization model", "factormer train --model accel --any-rank");
    run_free(&r);
    // a corrupted file: one flipped bit
    char bad[400];
    snprintf(bad, sizeof bad, "%s/bad.fmw", m.dir);
    char *bytes = NULL;
    long size = 0;
    FILE *f = fopen(m.init, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    rewind(f);
    bytes = malloc(size);
    cr_assert_eq(fread(bytes, 1, size, f), (size_t)size);
    fclose(f);
    bytes[size / 2] ^= 0x04;
    f = fopen(bad, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(bytes, 1, size, f), (size_t)size);
    fclose(f);
    free(bytes);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--init", "learned", "--model", bad);
    EXPECT_FAILURE(&r, 1, bad);
    run_free(&r);
    // argument errors: --model for two models or for none, a model option
    // without its use, a schedule out of range
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--init", "learned", "--accelerate", "--model", m.init);
    EXPECT_FAILURE(&r, 2, "--init-model", "--accel-model");
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--model", m.init);
    EXPECT_FAILURE(&r, 2, "--model needs");
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--accel-model", m.accel);
    EXPECT_FAILURE(&r, 2, "--accel-model needs --accelerate");
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--accelerate", "--model", m.accel, "--accel-every", "0");
    EXPECT_FAILURE(&r, 2, "--accel-every");
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--init", "learnt");
    EXPECT_FAILURE(&r, 2, "learned");
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}
