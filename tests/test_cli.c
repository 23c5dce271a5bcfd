// The `factormer` program end to end: it is run as a child process (with
// OMP_NUM_THREADS=2) on files made by its own `generate`, and what it writes
// is read back with the library and checked against a recomputation. This
// suite: factorize end to end, its bad inputs, info, help and usage; the
// other subcommands have suites of their own (tests/test_cli_*.c), and the
// helpers they share are in tests/cli_program.h.
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
// End to end
//------------------------------------------------------------------------------

Test(cli, dense_end_to_end)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    char *text = fm_test_read_text(x);
    cr_assert(strstr(text, "array real general"), "generate wrote no array file");
    free(text);
    run r = RUN(&s, "factorize", x, "--rank", "3", "--iters", "50", "--out", out_prefix(&s), "--quiet");
    expect_success(&r);
    cr_assert_str_eq(r.out, "", "--quiet printed: %s", r.out);
    fm_graph *g = graph_of(x, FM_KIND_DENSE);
    outputs o = check_outputs(&s, g, 3, 50, false);
    cr_assert(json_string_is(o.summary, "kind", "dense"), "%s", o.summary);
    cr_assert(json_string_is(o.summary, "stop_reason", "iterations"), "%s", o.summary);
    outputs_free(&o);
    fm_graph_free(&g);
    run_free(&r);
    scratch_free(&s);
}

// --exact-objective: every row exact. On a noisy matrix the default rows
// come from the expansion after the first few (models/nmf/objective.h), within
// FM_TRACE_PRECISION; the iterates, and so the last (exact) row, are the
// same. Both kinds: the dense one runs the fused W-update (ops/admm_full.c).
Test(cli, exact_objective_rows)
{
    scratch s = scratch_new();
    const char *x = fm_test_path(s.root, "X.mtx");
    run r = RUN(&s, "generate", x, "--rows", "60", "--cols", "50", "--rank", "3", "--noise", "0.3", "--seed", "5");
    expect_success(&r);
    run_free(&r);
    for (int dense = 0; dense < 2; dense++) {
        const char *kind = dense ? "dense" : "sparse";
        const char *fast_prefix = fm_test_path(s.out, "fast"), *exact_prefix = fm_test_path(s.out, "exact");
        // ADMM (--finish none): the exact phase's rows are all exact
        r = RUN(&s, "factorize", x, "--kind", kind, "--rank", "3", "--iters", "40", "--tol", "0", "--finish", "none",
                "--out", fast_prefix, "--quiet");
        expect_success(&r);
        run_free(&r);
        r = RUN(&s, "factorize", x, "--kind", kind, "--rank", "3", "--iters", "40", "--tol", "0", "--finish", "none",
                "--exact-objective", "--out", exact_prefix, "--quiet");
        expect_success(&r);
        run_free(&r);
        trace fast = check_trace(fm_test_path(s.out, "fast.trace.csv"), false);
        trace exact = check_trace(fm_test_path(s.out, "exact.trace.csv"), false);
        cr_assert_eq(fast.rows, 41);
        cr_assert_eq(exact.rows, 41);
        int differ = 0;
        for (int i = 0; i < fast.rows; i++) {
            differ += fast.rmse[i] != exact.rmse[i];
            cr_expect(close_relative(fast.rmse[i], exact.rmse[i], 5e-4), "%s, row %d: rmse %.9g, exact %.9g", kind,
                      i, fast.rmse[i], exact.rmse[i]);
        }
        cr_expect_gt(differ, 0, "%s: every row was exact without --exact-objective", kind);
        cr_expect_eq(fast.rmse[40], exact.rmse[40], "%s: the last row is exact either way", kind);
        trace_free(&fast);
        trace_free(&exact);
    }
    scratch_free(&s);
}

Test(cli, sparse_end_to_end)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    char *text = fm_test_read_text(x);
    cr_assert(strstr(text, "coordinate real general"), "generate --density wrote no coordinate file");
    free(text);
    run r = RUN(&s, "factorize", x, "--kind", "sparse", "--rank", "3", "--iters", "50", "--out",
                out_prefix(&s), "--quiet");
    expect_success(&r);
    fm_graph *g = graph_of(x, FM_KIND_SPARSE);
    outputs o = check_outputs(&s, g, 3, 50, false);
    outputs_free(&o);
    fm_graph_free(&g);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, incomplete_with_holdout_end_to_end)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    run r = RUN(&s, "factorize", x, "--kind", "incomplete", "--holdout", "0.2", "--rank", "3", "--iters",
                "50", "--out", out_prefix(&s), "--quiet");
    expect_success(&r);

    // The split depends on the seed (default 42) and the coordinates only:
    // redo it to get the entries fitted and the entries held out.
    fm_triplets *all = read_triplets(x, true), *kept = NULL, *held = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_holdout_split(&kept, &held, all, 0.2, 42, msg), FM_OK, "%s", msg);
    cr_assert(held->count > 0 && kept->count > 0);
    fm_graph *g = NULL;
    cr_assert_eq(fm_graph_from_triplets(&g, kept, FM_KIND_INCOMPLETE, msg), FM_OK, "%s", msg);

    outputs o = check_outputs(&s, g, 3, 50, true);
    cr_assert_eq(json_number(o.summary, "holdout_entries"), held->count);
    const double summary = json_number(o.summary, "holdout_rmse");
    const double recomputed = fm_rmse_triplets(held, o.W, o.H);
    cr_assert(close_relative(summary, recomputed, 1e-5), "summary holdout_rmse %.9g, recomputed %.9g", summary,
              recomputed);
    outputs_free(&o);
    fm_graph_free(&g);
    fm_triplets_free(&all);
    fm_triplets_free(&kept);
    fm_triplets_free(&held);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, incomplete_with_test_file)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    const char *test = fm_test_path(s.root, "test.mtx");
    fm_test_write(test, "%%MatrixMarket matrix coordinate real general\n"
                        "% held-out entries\n"
                        "40 30 6\n"
                        "1 1 0.5\n"
                        "2 7 1.25\n"
                        "13 30 0\n"
                        "40 1 2\n"
                        "40 30 0.75\n"
                        "21 15 3.5\n");
    run r = RUN(&s, "factorize", x, "--kind", "incomplete", "--test", test, "--rank", "3",
                "--iters", "20", "--out", out_prefix(&s), "--quiet");
    expect_success(&r);
    fm_graph *g = graph_of(x, FM_KIND_INCOMPLETE);
    outputs o = check_outputs(&s, g, 3, 20, true);
    cr_assert_eq(json_number(o.summary, "holdout_entries"), 6);
    fm_triplets *held = read_triplets(test, true);
    const double summary = json_number(o.summary, "holdout_rmse");
    const double recomputed = fm_rmse_triplets(held, o.W, o.H);
    cr_assert(close_relative(summary, recomputed, 1e-5), "summary holdout_rmse %.9g, recomputed %.9g", summary,
              recomputed);
    fm_triplets_free(&held);
    outputs_free(&o);
    fm_graph_free(&g);
    run_free(&r);
    scratch_free(&s);
}

// generate --entries: coordinates of the observed-entries generator, read
// back as an incomplete matrix; the options that do not go together refused.
Test(cli, generate_observed_entries)
{
    scratch s = scratch_new();
    const char *x = fm_test_path(s.root, "R.mtx");
    run r = RUN(&s, "generate", x, "--rows", "300", "--cols", "80", "--rank", "3", "--entries", "2400", "--degrees",
                "power-law");
    expect_success(&r);
    run_free(&r);
    fm_triplets *t = read_triplets(x, true);   // duplicates would be an error
    cr_expect(t->rows == 300 && t->cols == 80 && labs((long)t->count - 2400) < 100, "%lld x %lld, %lld entries",
              (long long)t->rows, (long long)t->cols, (long long)t->count);
    fm_triplets_free(&t);
    r = RUN(&s, "generate", x, "--rows", "30", "--cols", "8", "--entries", "20", "--density", "0.5");
    EXPECT_FAILURE(&r, 2, "--density or --entries");
    run_free(&r);
    r = RUN(&s, "generate", x, "--rows", "30", "--cols", "8", "--degrees", "power-law");
    EXPECT_FAILURE(&r, 2, "--degrees needs --entries");
    run_free(&r);
    r = RUN(&s, "generate", x, "--rows", "30", "--cols", "8", "--entries", "200");
    EXPECT_FAILURE(&r, 1, "half of every row");
    run_free(&r);
    scratch_free(&s);
}

Test(cli, default_demo)
{
    scratch s = scratch_new();
    const char *prefix = fm_test_path(s.out, "demo");
    run r = RUN(&s, "factorize", "--iters", "5", "--out", prefix);
    expect_success(&r);
    cr_assert(strstr(r.out, "planted"), "stdout lacks \"planted\":\n%s", r.out);
    cr_assert(strstr(r.out, "rmse"), "stdout lacks \"rmse\":\n%s", r.out);
    expect_files(s.out, "demo.W.mtx", "demo.H.mtx", "demo.trace.csv", "demo.summary.json", NULL);
    fm_dense *W = read_factor(fm_test_path(s.out, "demo.W.mtx"), 1000, 10);
    fm_dense *H = read_factor(fm_test_path(s.out, "demo.H.mtx"), 10, 500);
    trace t = check_trace(fm_test_path(s.out, "demo.trace.csv"), false);
    cr_assert_eq(t.rows, 6);
    trace_free(&t);
    fm_dense_free(&W);
    fm_dense_free(&H);
    run_free(&r);
    scratch_free(&s);
}

//------------------------------------------------------------------------------
// Bad inputs: a nonzero exit, a message that says what is wrong, no outputs
//------------------------------------------------------------------------------

Test(cli, missing_data_file)
{
    scratch s = scratch_new();
    const char *path = fm_test_path(s.root, "missing.mtx");
    run r = FACTORIZE_BAD(&s, path, "--rank", "3");
    EXPECT_FAILURE(&r, 1, path, "cannot open", strerror(ENOENT));
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, data_file_is_a_directory)
{
    scratch s = scratch_new();
    const char *dir = fm_test_path(s.root, "folder.mtx");
    cr_assert_eq(mkdir(dir, 0755), 0);
    run r = FACTORIZE_BAD(&s, dir, "--rank", "3");
    EXPECT_FAILURE(&r, 1, dir, "is a directory");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, empty_data_file)
{
    scratch s = scratch_new();
    const char *path = fm_test_path(s.root, "empty.mtx");
    fm_test_write(path, "");
    run r = FACTORIZE_BAD(&s, path, "--rank", "3");
    EXPECT_FAILURE(&r, 1, "empty.mtx:1:", "empty");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, negative_value)
{
    scratch s = scratch_new();
    const char *path = fm_test_path(s.root, "neg.mtx");
    fm_test_write(path, "%%MatrixMarket matrix coordinate real general\n"
                        "3 3 2\n"
                        "1 1 1\n"
                        "2 3 -0.5\n");
    run r = FACTORIZE_BAD(&s, path, "--rank", "1");
    EXPECT_FAILURE(&r, 1, "neg.mtx:4:", "negative");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, rank_zero_is_an_argument_error)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    run r = FACTORIZE_BAD(&s, x, "--rank", "0");
    EXPECT_FAILURE(&r, 2, "--rank", "'0'");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, rank_above_the_smaller_side)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    run r = FACTORIZE_BAD(&s, x, "--rank", "31", "--iters", "5");
    EXPECT_FAILURE(&r, 1, "rank", "31");
    expect_no_outputs(&s);
    run_free(&r);
    // The largest valid rank, min(40, 30), runs.
    r = FACTORIZE_BAD(&s, x, "--rank", "30", "--iters", "2", "--quiet");
    expect_success(&r);
    run_free(&r);
    scratch_free(&s);
}

// --holdout is speckled for the dense kind (tests/test_holdout.c); --test
// names observed entries, which only the incomplete kind has.
Test(cli, test_file_needs_the_incomplete_kind)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    run r = FACTORIZE_BAD(&s, x, "--rank", "3", "--test", x);
    EXPECT_FAILURE(&r, 1, "--test", "incomplete");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, unknown_option)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    run r = FACTORIZE_BAD(&s, x, "--rank", "3", "--frobnicate", "1");
    EXPECT_FAILURE(&r, 2, "unknown option", "--frobnicate");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

// --option=value is --option value for every option; a flag given a value
// is an error that names it, not a second data file.
Test(cli, option_equals_value)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    char out[4200];
    snprintf(out, sizeof out, "--out=%s", out_prefix(&s));
    run r = RUN(&s, "factorize", x, "--rank=3", "--iters=20", out, "--quiet");
    expect_success(&r);
    fm_graph *g = graph_of(x, FM_KIND_DENSE);
    outputs o = check_outputs(&s, g, 3, 20, false);
    outputs_free(&o);
    fm_graph_free(&g);
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--quiet=yes");
    EXPECT_FAILURE(&r, 2, "--quiet takes no value", "'--quiet=yes'");
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--iters=abc");
    EXPECT_FAILURE(&r, 2, "--iters", "'abc'");
    run_free(&r);
    scratch_free(&s);
}

Test(cli, non_numeric_iterations)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    run r = FACTORIZE_BAD(&s, x, "--iters", "abc");
    EXPECT_FAILURE(&r, 2, "--iters", "'abc'");
    expect_no_outputs(&s);
    run_free(&r);
    // A number with trailing characters is no number either.
    r = FACTORIZE_BAD(&s, x, "--iters", "5x");
    EXPECT_FAILURE(&r, 2, "--iters", "'5x'");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

// --svd-power: checked; the count the start took is in the summary (the
// rule's 4 here: rank 3 is a tenth of the 30 columns), none for a random
// start; the rule's count given is the default run bit for bit, another
// count another start.
Test(cli, svd_power_is_checked_and_reported)
{
    scratch s = scratch_new();
    char x[512];   // generate's path is one of fm_test_path's rotating buffers
    snprintf(x, sizeof x, "%s", generate(&s, NULL));
    const char *bad[] = { "-1", "65", "many", "2x" };
    for (int b = 0; b < 4; b++) {
        run r = FACTORIZE_BAD(&s, x, "--svd-power", bad[b]);
        EXPECT_FAILURE(&r, 2, "--svd-power", bad[b]);
        expect_no_outputs(&s);
        run_free(&r);
    }
    const char *powers[] = { "auto", "4", "1" };
    char *factors[3];
    for (int p = 0; p < 3; p++) {
        run r = RUN(&s, "factorize", x, "--rank", "3", "--iters", "5", "--svd-power", powers[p], "--out",
                    out_prefix(&s), "--quiet");
        expect_success(&r);
        run_free(&r);
        char *summary = fm_test_read_text(fm_test_path(s.out, "run.summary.json"));
        cr_expect_eq(json_number(summary, "svd_power"), p == 2 ? 1 : 4, "--svd-power %s: %s", powers[p], summary);
        free(summary);
        factors[p] = fm_test_read_text(fm_test_path(s.out, "run.W.mtx"));
    }
    // the values, after the comments (which name the command)
    cr_expect_str_eq(strstr(factors[0], "\n40 3\n"), strstr(factors[1], "\n40 3\n"));
    cr_expect_str_neq(strstr(factors[0], "\n40 3\n"), strstr(factors[2], "\n40 3\n"));
    for (int p = 0; p < 3; p++) free(factors[p]);
    run r = RUN(&s, "factorize", x, "--rank", "3", "--iters", "5", "--init", "random", "--out", out_prefix(&s),
                "--quiet");
    expect_success(&r);
    run_free(&r);
    char *summary = fm_test_read_text(fm_test_path(s.out, "run.summary.json"));
    cr_expect(strstr(summary, "\"svd_power\": null"), "%s", summary);
    free(summary);
    scratch_free(&s);
}

Test(cli, output_directory_does_not_exist)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    char prefix[400];
    snprintf(prefix, sizeof prefix, "%s/missing/run", s.root);
    run r = RUN(&s, "factorize", x, "--rank", "3", "--iters", "5", "--out", prefix, "--quiet");
    EXPECT_FAILURE(&r, 1, "missing/run.W.mtx", strerror(ENOENT));
    // Nothing anywhere: the scratch root holds the data and the empty out/.
    expect_files(s.root, "X.mtx", "out", NULL);
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

//------------------------------------------------------------------------------
// info, help and usage
//------------------------------------------------------------------------------

Test(cli, info)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    run r = RUN(&s, "info", x);
    expect_success(&r);
    cr_assert(strstr(r.out, "40 x 30"), "no shape in:\n%s", r.out);
    cr_assert(strstr(r.out, "dense"), "no kind in:\n%s", r.out);
    cr_assert(strstr(r.out, "1200 stored"), "no entry count in:\n%s", r.out);
    run_free(&r);
    r = RUN(&s, "info", fm_test_path(s.root, "nothing.mtx"));
    EXPECT_FAILURE(&r, 1, "nothing.mtx", "cannot open");
    run_free(&r);
    scratch_free(&s);
}

Test(cli, help)
{
    scratch s = scratch_new();
    static const char *const commands[] = { NULL, "factorize", "info", "generate" };
    for (int c = 0; c < 4; c++) {
        run r = commands[c] ? RUN(&s, commands[c], "--help") : RUN(&s, "--help");
        expect_success(&r);
        cr_assert(strstr(r.out, "usage"), "'%s --help' printed no usage:\n%s", commands[c] ? commands[c] : "",
                  r.out);
        run_free(&r);
    }
    expect_no_outputs(&s);
    scratch_free(&s);
}

Test(cli, usage_errors)
{
    scratch s = scratch_new();
    run r = run_program(&s, (const char *)NULL);
    EXPECT_FAILURE(&r, 2, "usage");
    run_free(&r);
    r = RUN(&s, "factorise");
    EXPECT_FAILURE(&r, 2, "unknown command", "factorise");
    run_free(&r);
    scratch_free(&s);
}

Test(cli, summary_escapes_the_data_name)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    char odd[600];
    snprintf(odd, sizeof odd, "%s/a\"b\\c.mtx", s.root);
    cr_assert_eq(rename(x, odd), 0);
    run r = RUN(&s, "factorize", odd, "--rank", "2", "--iters", "3", "--out", out_prefix(&s), "--quiet");
    expect_success(&r);
    char *summary = fm_test_read_text(fm_test_path(s.out, "run.summary.json"));
    cr_assert(strstr(summary, "/a\\\"b\\\\c.mtx\""), "the name is not escaped: %s", summary);
    free(summary);
    run_free(&r);
    scratch_free(&s);
}
