// `factormer eval` end to end, with tiny models trained by the program
// (tests/cli_program.h).
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
// factormer eval
//------------------------------------------------------------------------------

// Lines of a text file.
static int line_count(const char *path)
{
    char *text = fm_test_read_text(path);
    int n = 0;
    for (const char *c = text; *c; c++) n += *c == '\n';
    free(text);
    return n;
}

// The RMSE of `method` at `iteration` of every matrix in a traces file, in
// file order, into values (at most `max`); returns how many.
static int traced_rmses(double *values, int max, const char *traces, const char *method, int iteration)
{
    char *text = fm_test_read_text(traces);
    int n = 0;
    for (const char *line = strchr(text, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        int matrix, it;
        char name[32];
        double seconds, rmse;
        cr_assert_eq(sscanf(line, "%d,%31[^,],%d,%lf,%lf", &matrix, name, &it, &seconds, &rmse), 5, "%s", line);
        if (!strcmp(name, method) && it == iteration) {
            cr_assert_lt(n, max, "%s: more than %d rows of %s at iteration %d", traces, max, method, iteration);
            values[n++] = rmse;
        }
    }
    free(text);
    return n;
}

// The median over matrices of plain ADMM's RMSE at `iteration`, from the
// traces file, against the summary file's plain_rmse_median (column 3).
static void expect_median_matches(const char *traces, const char *summary, int iteration, int matrices)
{
    double values[64];
    const int n = traced_rmses(values, 64, traces, "plain", iteration);
    cr_assert_eq(n, matrices);
    double q[3];
    fm_quartiles(values, n, q);
    char *text = fm_test_read_text(summary);
    const char *line = text;
    for (int i = 0; i <= iteration; i++) line = strchr(line, '\n') + 1;
    int it;
    double q1, median;
    cr_assert_eq(sscanf(line, "%d,%lf,%lf", &it, &q1, &median), 3, "%s", line);
    cr_expect_eq(it, iteration);
    cr_expect(close_relative(median, q[1], 1e-6), "summary %.9g, traces %.9g", median, q[1]);
    free(text);
}

Test(cli, eval_validation_sets_end_to_end)
{
    scratch s = scratch_new();
    tiny_models m = tiny_models_new(&s);
    char dir[400];
    snprintf(dir, sizeof dir, "%s/curves", s.out);   // made by the program
    run r = RUN(&s, "eval", "--rank", "3", "--valid-size", "4", "--iters", "12", "--init-model", m.init,
                "--accel-model", m.accel, "--out", dir);
    expect_success(&r);
    const bool plots = fm_plot_available();
    if (plots)
        expect_files(dir, "valid-large.csv", "valid-large.png", "valid-large.traces.csv", "valid-small.csv",
                     "valid-small.png", "valid-small.traces.csv", NULL);
    else
        expect_files(dir, "valid-large.csv", "valid-large.traces.csv", "valid-small.csv", "valid-small.traces.csv",
                     NULL);
    for (int v = 0; v < 2; v++) {
        const char *name = v ? "valid-large" : "valid-small";
        char summary[500], traces[500];
        snprintf(summary, sizeof summary, "%s/%s.csv", dir, name);
        snprintf(traces, sizeof traces, "%s/%s.traces.csv", dir, name);
        cr_expect_eq(line_count(summary), 1 + 13);
        cr_expect_eq(line_count(traces), 1 + 4 * 3 * 13);
        expect_median_matches(traces, summary, 12, 4);
        expect_median_matches(traces, summary, 0, 4);
        char want[64];
        snprintf(want, sizeof want, "%s: 4 noise-free planted matrices", name);
        cr_expect(strstr(r.out, want), "stdout lacks \"%s\":\n%s", want, r.out);
    }
    cr_expect(strstr(r.out, "learned init at iteration 0") && strstr(r.out, "accelerated below plain ADMM"), "%s",
              r.out);
    cr_expect(strstr(r.out, "wall time to plain ADMM's RMSE at iteration 12"), "%s", r.out);
    cr_expect(strstr(r.err, m.init) && strstr(r.err, m.accel), "%s", r.err);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, eval_data_file_with_its_basis)
{
    scratch s = scratch_new();
    tiny_models m = tiny_models_new(&s);
    const char *x = generate(&s, NULL);   // X.mtx, 40 x 30: 8 x 5 images as rows
    cr_assert_eq(setenv("FACTORMER_MODELS", m.dir, 1), 0);
    run r = RUN(&s, "eval", x, "--rank", "3", "--iters", "10", "--image-shape", "8x5", "--out", s.out);
    expect_success(&r);
    if (fm_plot_available()) {
        expect_files(s.out, "X.basis.png", "X.csv", "X.png", "X.traces.csv", "X.plain.W.mtx", "X.learned_init.W.mtx",
                     "X.accelerated.W.mtx", NULL);
        char *png = fm_test_read_text(fm_test_path(s.out, "X.basis.png"));
        cr_expect(!strncmp(png + 1, "PNG", 3), "not a PNG");
        free(png);
    } else {
        expect_files(s.out, "X.csv", "X.traces.csv", "X.plain.W.mtx", "X.learned_init.W.mtx", "X.accelerated.W.mtx",
                     NULL);
    }
    fm_dense *W = read_factor(fm_test_path(s.out, "X.accelerated.W.mtx"), 40, 3);
    fm_dense_free(&W);
    cr_expect_eq(line_count(fm_test_path(s.out, "X.traces.csv")), 1 + 3 * 11);
    cr_expect(strstr(r.out, "divided by its mean"), "%s", r.out);
    run_free(&r);
    // images of a size neither side has: refused before any output
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    r = RUN(&s, "eval", x, "--rank", "3", "--iters", "10", "--image-shape", "7x7", "--out", s.out);
    EXPECT_FAILURE(&r, 1, "--image-shape 7x7 has 49 pixels", "40 x 30");
    run_free(&r);
    expect_files(s.out, NULL);
    unsetenv("FACTORMER_MODELS");
    scratch_free(&s);
}

Test(cli, eval_without_gnuplot_writes_the_csv_files)
{
    scratch s = scratch_new();
    char empty[400];
    snprintf(empty, sizeof empty, "%s/bin", s.root);
    cr_assert_eq(mkdir(empty, 0755), 0);
    const char *path = getenv("PATH");
    char *saved = strdup(path ? path : "");
    cr_assert_eq(setenv("PATH", empty, 1), 0);
    run r = RUN(&s, "eval", "--rank", "3", "--methods", "plain", "--valid-size", "2", "--iters", "5", "--out", s.out);
    setenv("PATH", saved, 1);
    free(saved);
    expect_success(&r);
    cr_expect(strstr(r.err, "gnuplot is not installed"), "%s", r.err);
    expect_files(s.out, "valid-large.csv", "valid-large.traces.csv", "valid-small.csv", "valid-small.traces.csv",
                 NULL);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, eval_refusals)
{
    scratch s = scratch_new();
    char empty[400];
    snprintf(empty, sizeof empty, "%s/empty", s.root);
    cr_assert_eq(mkdir(empty, 0755), 0);
    cr_assert_eq(setenv("FACTORMER_MODELS", empty, 1), 0);
    run r = RUN(&s, "eval", "--rank", "3", "--out", s.out);
    EXPECT_FAILURE(&r, 1, "factormer train --model init --any-rank", "does not exist");
    run_free(&r);
    r = RUN(&s, "eval", "--rank", "3", "--methods", "plain,accel", "--out", s.out);
    EXPECT_FAILURE(&r, 1, "factormer train --model accel --any-rank");
    run_free(&r);
    unsetenv("FACTORMER_MODELS");
    r = RUN(&s, "eval", "--methods", "plain,fast");
    EXPECT_FAILURE(&r, 2, "--methods", "'fast'");
    run_free(&r);
    r = RUN(&s, "eval", "--kind", "sparse");
    EXPECT_FAILURE(&r, 2, "--kind describes a data file");
    run_free(&r);
    r = RUN(&s, "eval", "--image-shape", "32by32");
    EXPECT_FAILURE(&r, 2, "--image-shape expects");
    run_free(&r);
    r = RUN(&s, "eval", "--methods", "plain", "--init-model", "x.fmw");
    EXPECT_FAILURE(&r, 2, "init is not among --methods");
    run_free(&r);
    r = RUN(&s, "eval", "--valid-size", "0");
    EXPECT_FAILURE(&r, 2, "--valid-size");
    run_free(&r);
    char missing[400];
    snprintf(missing, sizeof missing, "%s/none.mtx", s.root);
    r = RUN(&s, "eval", missing, "--methods", "plain", "--out", s.out);
    EXPECT_FAILURE(&r, 1, missing);
    run_free(&r);
    expect_files(s.out, NULL);
    scratch_free(&s);
}

// A gnuplot on PATH that appends its script to `copy` and runs the real one
// (NULL when gnuplot is not installed).
static char *gnuplot_copying_to(const scratch *s, const char *copy)
{
    if (!fm_plot_available()) return NULL;
    FILE *p = popen("command -v gnuplot", "r");
    cr_assert_not_null(p);
    char real[1024] = "";
    cr_assert_not_null(fgets(real, sizeof real, p));
    pclose(p);
    real[strcspn(real, "\n")] = 0;
    char dir[400], exe[500];
    snprintf(dir, sizeof dir, "%s/bin", s->root);
    cr_assert_eq(mkdir(dir, 0755), 0);
    snprintf(exe, sizeof exe, "%s/gnuplot", dir);
    FILE *f = fopen(exe, "w");
    cr_assert_not_null(f);
    fprintf(f, "#!/bin/sh\ntee -a '%s' | '%s' \"$@\"\n", copy, real);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(chmod(exe, 0755), 0);
    const char *path = getenv("PATH");
    char *saved = strdup(path ? path : "");
    char *with = malloc(strlen(saved) + strlen(dir) + 2);
    sprintf(with, "%s:%s", dir, saved);
    cr_assert_eq(setenv("PATH", with, 1), 0);
    free(with);
    return saved;
}

Test(cli, eval_plain_on_a_data_file_draws_its_figures)
{
    scratch s = scratch_new();
    char x[400], copy[400];
    snprintf(x, sizeof x, "%s", generate(&s, NULL));   // 40 x 30: 8 x 5 images as rows
    snprintf(copy, sizeof copy, "%s/scripts.gp", s.root);
    char *saved = gnuplot_copying_to(&s, copy);
    if (!saved) {
        cr_log_warn("gnuplot is not installed: the figures are not drawn");
        scratch_free(&s);
        return;
    }
    run r = RUN(&s, "eval", x, "--methods", "plain", "--rank", "3", "--iters", "10", "--image-shape", "8x5", "--out",
                s.out);
    expect_success(&r);
    expect_files(s.out, "X.basis.png", "X.csv", "X.png", "X.traces.csv", "X.plain.W.mtx", NULL);
    char *png = fm_test_read_text(fm_test_path(s.out, "X.png"));
    cr_expect(!strncmp(png + 1, "PNG", 3), "not a PNG");
    free(png);
    // one matrix: one curve, no bands, no [q1, q3]; the title names the file, not its path
    char *script = fm_test_read_text(copy);
    cr_expect(!strstr(script, "plot ,"), "%s", script);
    cr_expect(!strstr(script, "filledcurves"), "%s", script);
    cr_expect(strstr(script, "layout 1,1 title 'X: X.mtx, 40 x 30 dense"), "%s", script);
    cr_expect(strstr(script, "unset logscale y\nset autoscale y\n"), "%s", script);
    for (const char *line = script; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (!strncmp(line, "set multiplot", 13)) {
            const size_t n = strcspn(line, "\n");
            char *text = strndup(line, n);
            cr_expect(!strstr(text, s.root), "the title holds the path: %s", text);
            free(text);
        }
    cr_expect(!strstr(r.out, "[q1, q3]"), "%s", r.out);
    // the basis: components numbered
    cr_expect(strstr(script, "set title 'plain ADMM: 1'") && strstr(script, "set title '2'") &&
              strstr(script, "set title '3'"), "%s", script);
    free(script);
    fm_dense *W = read_factor(fm_test_path(s.out, "X.plain.W.mtx"), 40, 3);
    fm_dense_free(&W);
    char *w_text = fm_test_read_text(fm_test_path(s.out, "X.plain.W.mtx"));
    cr_expect(strstr(w_text, "ordered by weight"), "%s", w_text);
    free(w_text);
    run_free(&r);
    // validation sets (many matrices) keep their quartile bands and log axes
    remove(copy);
    r = RUN(&s, "eval", "--methods", "plain", "--rank", "3", "--valid-size", "3", "--iters", "5", "--out", s.out);
    setenv("PATH", saved, 1);
    free(saved);
    expect_success(&r);
    script = fm_test_read_text(copy);
    cr_expect(strstr(script, "filledcurves") && strstr(script, "set logscale y") && !strstr(script, "plot ,"), "%s",
              script);
    cr_expect(strstr(r.out, "[q1, q3]"), "%s", r.out);
    free(script);
    run_free(&r);
    scratch_free(&s);
}

// The RMSE of `method` at `iteration` in a traces file of one matrix.
static double traced_rmse(const char *traces, const char *method, int iteration)
{
    double found;
    cr_assert_eq(traced_rmses(&found, 1, traces, method, iteration), 1, "%s has no %s row at iteration %d", traces,
                 method, iteration);
    return found;
}

// --sampler and --fanout reach the networks (a sample of 2 in-edges a target
// changes the learned start) and not plain ADMM (the same trace); a subgraph
// sampler is refused.
Test(cli, eval_samples_the_networks_graph)
{
    scratch s = scratch_new();
    tiny_models m = tiny_models_new(&s);
    const char *x = generate(&s, NULL);   // 40 x 30, dense
    cr_assert_eq(setenv("FACTORMER_MODELS", m.dir, 1), 0);
    double plain[2], learned[2];
    for (int sampled = 0; sampled < 2; sampled++) {
        run r = sampled ? RUN(&s, "eval", x, "--rank", "3", "--iters", "5", "--methods", "plain,init", "--no-plots",
                              "--sampler", "uniform", "--fanout", "2", "--out", s.out)
                        : RUN(&s, "eval", x, "--rank", "3", "--iters", "5", "--methods", "plain,init", "--no-plots",
                              "--out", s.out);
        expect_success(&r);
        run_free(&r);
        const char *traces = fm_test_path(s.out, "X.traces.csv");
        plain[sampled] = traced_rmse(traces, "plain", 5);
        learned[sampled] = traced_rmse(traces, "learned_init", 0);
    }
    cr_expect_eq(plain[0], plain[1], "plain ADMM changed with the sampler: %.9g against %.9g", plain[0], plain[1]);
    cr_expect_neq(learned[0], learned[1], "the learned start is the same with a sample of 2 in-edges a target");
    run r = RUN(&s, "eval", x, "--rank", "3", "--sampler", "edge", "--out", s.out);
    EXPECT_FAILURE(&r, 2, "draws subgraphs for training");
    run_free(&r);
    unsetenv("FACTORMER_MODELS");
    scratch_free(&s);
}

// --holdout keeps a share of an incomplete matrix's observed entries out of
// every fit: plain ADMM's trace changes and the title says so; other kinds
// and the validation sets refuse it.
Test(cli, eval_holds_entries_out)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.6");   // 40 x 30 coordinates
    double plain[2];
    for (int held = 0; held < 2; held++) {
        run r = held ? RUN(&s, "eval", x, "--kind", "incomplete", "--holdout", "0.3", "--rank", "3", "--iters", "5",
                           "--methods", "plain", "--no-plots", "--out", s.out)
                     : RUN(&s, "eval", x, "--kind", "incomplete", "--rank", "3", "--iters", "5", "--methods", "plain",
                           "--no-plots", "--out", s.out);
        expect_success(&r);
        cr_expect(!held == !strstr(r.out, "(30% held out)"), "held %d:\n%s", held, r.out);
        run_free(&r);
        plain[held] = traced_rmse(fm_test_path(s.out, "X.traces.csv"), "plain", 5);
    }
    cr_expect_neq(plain[0], plain[1], "plain ADMM fitted the same entries with 30%% held out: %.9g", plain[0]);
    run r = RUN(&s, "eval", x, "--kind", "sparse", "--holdout", "0.3", "--out", s.out);
    EXPECT_FAILURE(&r, 2, "it needs --kind incomplete");
    run_free(&r);
    r = RUN(&s, "eval", "--holdout", "0.3", "--out", s.out);
    EXPECT_FAILURE(&r, 2, "--holdout describes a data file");
    run_free(&r);
    scratch_free(&s);
}

// --finish hals runs every method with factorize's default solver: eval's
// plain run and factorize's on the same file differ only by eval's division
// by the data's mean, the same factor for --finish none and hals, while the
// two phases' RMSEs differ. With the accelerator it is refused.
Test(cli, eval_finishes_as_factorize)
{
    scratch s = scratch_new();
    char x[400];   // a copy: fm_test_path reuses generate's buffer
    snprintf(x, sizeof x, "%s", generate(&s, NULL));   // 40 x 30, dense
    const char *phases[2] = {"none", "hals"};
    double evaluated[2], factorized[2];
    for (int p = 0; p < 2; p++) {
        run r = RUN(&s, "eval", x, "--rank", "3", "--iters", "5", "--methods", "plain", "--finish", phases[p],
                    "--no-plots", "--out", s.out);
        expect_success(&r);
        run_free(&r);
        evaluated[p] = traced_rmse(fm_test_path(s.out, "X.traces.csv"), "plain", 5);
        r = RUN(&s, "factorize", x, "--rank", "3", "--iters", "5", "--tol", "0", "--finish", phases[p], "--out",
                fm_test_path(s.out, "f"));
        expect_success(&r);
        run_free(&r);
        trace t = check_trace(fm_test_path(s.out, "f.trace.csv"), false);
        cr_assert_eq(t.rows, 6, "factorize --finish %s traced %d rows", phases[p], t.rows);
        factorized[p] = t.rmse[5];
        trace_free(&t);
    }
    cr_expect_neq(evaluated[0], evaluated[1], "--finish hals left eval's plain run as it was: %.9g", evaluated[0]);
    const double mean_none = factorized[0] / evaluated[0], mean_hals = factorized[1] / evaluated[1];
    cr_expect(close_relative(mean_none, mean_hals, 1e-5),
              "factorize over eval: %.9g with --finish none, %.9g with hals", mean_none, mean_hals);
    run r = RUN(&s, "eval", x, "--rank", "3", "--finish", "hals", "--out", s.out);
    EXPECT_FAILURE(&r, 2, "--finish hals", "--methods plain,init");
    run_free(&r);
    r = RUN(&s, "eval", x, "--finish", "fast", "--methods", "plain", "--out", s.out);
    EXPECT_FAILURE(&r, 2, "'fast'", "hals or none");
    run_free(&r);
    scratch_free(&s);
}

// --charge-load: a data file's models are read after the data, as factorize
// reads them, and that read is counted in the learned methods' times (the
// charge itself: test_eval's the_charge_is_added_to_its_method); without it
// they are read before any work, so that a damaged file fails first.
Test(cli, eval_charges_the_models_read_when_asked)
{
    scratch s = scratch_new();
    tiny_models m = tiny_models_new(&s);
    const char *x = generate(&s, NULL);
    cr_assert_eq(setenv("FACTORMER_MODELS", m.dir, 1), 0);
    const char *counted = "learned init's times include reading its model";
    run r = RUN(&s, "eval", x, "--rank", "3", "--iters", "3", "--methods", "plain,init", "--no-plots", "--out",
                s.out, "--charge-load");
    expect_success(&r);
    cr_expect(strstr(r.err, "models read in") && strstr(r.err, "counted in their methods' times"), "%s", r.err);
    cr_expect(strstr(r.out, counted), "%s", r.out);
    run_free(&r);
    r = RUN(&s, "eval", x, "--rank", "3", "--iters", "3", "--methods", "plain,init", "--no-plots", "--out", s.out);
    expect_success(&r);
    cr_expect(strstr(r.err, "not counted in the times below"), "%s", r.err);
    cr_expect(!strstr(r.out, "include reading"), "%s", r.out);
    run_free(&r);
    // a model whose header is whole and whose values are cut short, and data
    // that is not there: without --charge-load the model fails first, before
    // the output directory is made; with it the header passes and the data
    // fails first
    char cut[400], missing[400], out[400];
    snprintf(cut, sizeof cut, "%s", fm_test_path(s.root, "cut.fmw"));
    snprintf(missing, sizeof missing, "%s", fm_test_path(s.root, "missing.mtx"));
    snprintf(out, sizeof out, "%s", fm_test_path(s.root, "eval-out"));
    char *bytes = fm_test_read_text(m.init);
    struct stat st;
    cr_assert_eq(stat(m.init, &st), 0);
    FILE *f = fopen(cut, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(bytes, 1, (size_t)st.st_size / 2, f), (size_t)st.st_size / 2);
    fclose(f);
    free(bytes);
    r = RUN(&s, "eval", missing, "--rank", "3", "--methods", "plain,init", "--init-model", cut, "--out", out);
    EXPECT_FAILURE(&r, 1, "cut.fmw", "truncated");
    run_free(&r);
    cr_expect_neq(access(out, F_OK), 0, "the output directory was made before the model failed");
    r = RUN(&s, "eval", missing, "--rank", "3", "--methods", "plain,init", "--init-model", cut, "--charge-load",
            "--out", out);
    EXPECT_FAILURE(&r, 1, "missing.mtx");
    run_free(&r);
    unsetenv("FACTORMER_MODELS");
    scratch_free(&s);
}
