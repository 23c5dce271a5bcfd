// `factorize --init-from PREFIX` and `--save-state` end to end: 50 + 50
// iterations through the files give the factors of 100, in the exact phase
// and in the ADMM phase; a state of other factors is noticed and not used;
// bad states give a clear error and no outputs.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_program.h"
#include "helpers.h"

TestSuite(cli_warm_start, .init = fm_test_setup);

static double relative_difference(const fm_dense *a, const fm_dense *b)
{
    double d = 0, s = 0;
    for (int64_t e = 0; e < a->rows * a->cols; e++) {
        d += ((double)a->data[e] - b->data[e]) * ((double)a->data[e] - b->data[e]);
        s += (double)b->data[e] * b->data[e];
    }
    return sqrt(d / s);
}

// factorize X at rank 3 for `iters` into ROOT/NAME.* (and the extra argument
// when not NULL)
static void factorize(const scratch *s, const char *x, const char *name, const char *iters, const char *extra)
{
    char prefix[400];
    snprintf(prefix, sizeof prefix, "%s/%s", s->root, name);
    run r = RUN(s, "factorize", x, "--rank", "3", "--iters", iters, "--tol", "0", "--out", prefix, "--quiet", extra);
    expect_success(&r);
    run_free(&r);
}

static fm_dense *factor(const char *dir, const char *name, int64_t rows, int64_t cols)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return read_factor(path, rows, cols);
}

// factorize the matrix X at rank 4 with --finish FINISH for ITERS into
// ROOT/NAME.* (and --init-from FROM, --save-state: each when not NULL)
static run factorize_4(const scratch *s, const char *x, const char *finish, const char *iters, const char *name,
                       const char *from, bool save)
{
    char prefix[400];
    snprintf(prefix, sizeof prefix, "%s/%s", s->root, name);
    arguments a = { { FM_BINARY, NULL }, 1 };
    const char *words[] = { "factorize", x, "--rank", "4", "--finish", finish, "--iters", iters, "--tol", "0",
                            "--out", prefix };
    for (size_t w = 0; w < sizeof words / sizeof *words; w++) arguments_add(&a, words[w]);
    if (from) {
        arguments_add(&a, "--init-from");
        arguments_add(&a, from);
    }
    if (save) arguments_add(&a, "--save-state");
    return run_arguments(s, &a);
}

// The continued run against the whole one, in the default exact phase and
// with --finish none: with the state (saved by --save-state) to float
// rounding (measured: bit for bit); without it measurably further (measured
// 4e-3 for both phases). A noisy matrix at rank 4 and 10 + 10 iterations:
// the exact phase reaches its fixed point on a noise-free one, or after
// more iterations, from any start near it.
Test(cli_warm_start, ten_plus_ten_is_twenty)
{
    scratch s = scratch_new();
    char x[400], half[400];
    snprintf(x, sizeof x, "%s", fm_test_path(s.root, "X.mtx"));
    run r = RUN(&s, "generate", x, "--rows", "40", "--cols", "30", "--rank", "3", "--noise", "0.3", "--density",
                "0.6", "--seed", "5");   // the sparse kind
    expect_success(&r);
    run_free(&r);
    snprintf(half, sizeof half, "%s/half", s.root);
    fm_graph *g = graph_of(x, FM_KIND_SPARSE);
    for (int phase = 0; phase < 2; phase++) {
        const char *finish = phase ? "none" : "hals", *name = phase ? "admm" : "exact";
        remove_tree(s.out);
        cr_assert_eq(mkdir(s.out, 0755), 0);
        r = factorize_4(&s, x, finish, "20", "full", NULL, false);
        expect_success(&r);
        run_free(&r);
        r = factorize_4(&s, x, finish, "10", "half", NULL, true);
        expect_success(&r);
        run_free(&r);
        expect_files(s.root, "X.mtx", "out", "full.W.mtx", "full.H.mtx", "full.trace.csv", "full.summary.json",
                     "half.W.mtx", "half.H.mtx", "half.trace.csv", "half.summary.json", "half.state.W.mtx",
                     "half.state.H.mtx", NULL);
        char *text = fm_test_read_text(fm_test_path(s.root, "half.state.W.mtx"));
        cr_assert(strstr(text, phase ? "phase admm iterations 10\n" : "phase exact iterations 10 extrapolating 1"),
                  "%s", text);
        free(text);
        // no --rank: the factors' rank
        run c = RUN(&s, "factorize", x, "--finish", finish, "--iters", "10", "--tol", "0", "--init-from", half,
                    "--out", out_prefix(&s));
        expect_success(&c);
        cr_assert(strstr(c.out, phase ? "warm start, its ADMM duals carried"
                                      : "warm start, in its exact phase, the extrapolation carried"), "%s", c.out);
        run_free(&c);
        outputs o = check_outputs(&s, g, 4, 10, false);   // exactly the four files
        cr_assert(json_string_is(o.summary, "init", "warm"), "%s", o.summary);
        cr_assert(json_string_is(o.summary, "init_state", name), "%s", o.summary);
        fm_dense *W = factor(s.root, "full.W.mtx", 40, 4), *H = factor(s.root, "full.H.mtx", 4, 30);
        const double dw = relative_difference(o.W, W), dh = relative_difference(o.H, H);
        cr_assert_lt(dw, 1e-5, "%s: W differs by %g from the 20-iteration run's", name, dw);
        cr_assert_lt(dh, 1e-5, "%s: H differs by %g from the 20-iteration run's", name, dh);
        outputs_free(&o);

        // without the state: another path
        remove_tree(fm_test_path(s.root, "half.state.W.mtx"));
        remove_tree(fm_test_path(s.root, "half.state.H.mtx"));
        remove_tree(s.out);
        cr_assert_eq(mkdir(s.out, 0755), 0);
        c = RUN(&s, "factorize", x, "--finish", finish, "--iters", "10", "--tol", "0", "--init-from", half, "--out",
                out_prefix(&s));
        expect_success(&c);
        cr_assert(strstr(c.out, "the factors alone"), "%s", c.out);
        run_free(&c);
        o = check_outputs(&s, g, 4, 10, false);
        cr_assert(json_string_is(o.summary, "init_state", "none"), "%s", o.summary);
        const double nw = relative_difference(o.W, W), nh = relative_difference(o.H, H);
        cr_log_info("%s: with the state W %.2e H %.2e; without W %.2e H %.2e", name, dw, dh, nw, nh);
        cr_assert_gt(fmax(nw, nh), 10 * fmax(fmax(dw, dh), 1e-6), "%s", name);
        outputs_free(&o);
        fm_dense_free(&W);
        fm_dense_free(&H);
    }
    fm_graph_free(&g);
    scratch_free(&s);
}

// A later run under the same prefix without --save-state leaves the older
// state there: it names other factors, so it is not carried.
Test(cli_warm_start, state_of_other_factors_is_not_used)
{
    scratch s = scratch_new();
    char x[400], half[400];
    snprintf(x, sizeof x, "%s", generate(&s, NULL));
    snprintf(half, sizeof half, "%s/half", s.root);
    factorize(&s, x, "half", "20", "--save-state");
    factorize(&s, x, "half", "30", NULL);
    run r = RUN(&s, "factorize", x, "--iters", "5", "--init-from", half, "--out", out_prefix(&s), "--quiet");
    expect_success(&r);
    cr_assert(strstr(r.err, "belongs to other factors") && strstr(r.err, "the factors alone"), "%s", r.err);
    run_free(&r);
    char *summary = fm_test_read_text(fm_test_path(s.out, "run.summary.json"));
    cr_assert(json_string_is(summary, "init_state", "none"), "%s", summary);
    free(summary);
    scratch_free(&s);
}

Test(cli_warm_start, bad_states)
{
    scratch s = scratch_new();
    char x[400], half[400], other[400];
    snprintf(x, sizeof x, "%s", generate(&s, NULL));   // 40 x 30
    snprintf(half, sizeof half, "%s/half", s.root);
    factorize(&s, x, "half", "10", "--save-state");
    // the rank of the factors against --rank
    run r = FACTORIZE_BAD(&s, x, "--init-from", half, "--rank", "2");
    EXPECT_FAILURE(&r, 1, "--rank 2", "rank 3");
    expect_no_outputs(&s);
    run_free(&r);
    // another matrix's shape: 30 x 40
    snprintf(other, sizeof other, "%s/other.mtx", s.root);
    r = RUN(&s, "generate", other, "--rows", "30", "--cols", "40", "--rank", "3");
    expect_success(&r);
    run_free(&r);
    r = FACTORIZE_BAD(&s, other, "--init-from", half);
    EXPECT_FAILURE(&r, 1, "do not fit", "30 x 40");
    expect_no_outputs(&s);
    run_free(&r);
    // a missing prefix
    r = FACTORIZE_BAD(&s, x, "--init-from", fm_test_path(s.root, "nothing"));
    EXPECT_FAILURE(&r, 1, "nothing.W.mtx");
    expect_no_outputs(&s);
    run_free(&r);
    // options that choose another start
    r = FACTORIZE_BAD(&s, x, "--init-from", half, "--accelerate");
    EXPECT_FAILURE(&r, 2, "--init-from", "--accelerate");
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--init-from", half, "--init", "learned");
    EXPECT_FAILURE(&r, 2, "--init-from", "--init");
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--init-from", half, "--init", "random");
    EXPECT_FAILURE(&r, 2, "--init-from", "--init");
    run_free(&r);
    expect_no_outputs(&s);
    // --save-state saves the last iterate's state, --keep best another's factors
    r = FACTORIZE_BAD(&s, x, "--save-state", "--keep", "best", "--holdout", "0.1");
    EXPECT_FAILURE(&r, 2, "--save-state", "--keep best");
    run_free(&r);
    // a damaged state line, then a state line unlike its partner's: the file named
    char duals[420];
    snprintf(duals, sizeof duals, "%s.state.W.mtx", half);
    char *saved = fm_test_read_text(duals), *text = fm_test_read_text(duals);
    char *phase = strstr(text, "phase exact");
    cr_assert(phase, "%s", text);
    memcpy(phase, "phase exakt", 11);
    fm_test_write(duals, text);
    r = FACTORIZE_BAD(&s, x, "--init-from", half);
    EXPECT_FAILURE(&r, 1, "half.state.W.mtx", "%factormer-state factors FINGERPRINT", "exakt");
    expect_no_outputs(&s);
    run_free(&r);
    memcpy(strstr(text, "phase exakt"), "phase exact", 11);
    cr_assert(strstr(text, "iterations 10 "), "%s", text);
    memcpy(strstr(text, "iterations 10 "), "iterations 11 ", 14);
    fm_test_write(duals, text);
    free(text);
    r = FACTORIZE_BAD(&s, x, "--init-from", half);
    EXPECT_FAILURE(&r, 1, "half.state.W.mtx and", "the state lines differ", "not the state of one run");
    expect_no_outputs(&s);
    run_free(&r);
    fm_test_write(duals, saved);
    free(saved);
    // the exact phase's state, continued with ADMM: noted
    r = RUN(&s, "factorize", x, "--iters", "2", "--init-from", half, "--finish", "none", "--out", out_prefix(&s),
            "--quiet");
    expect_success(&r);
    cr_assert(strstr(r.err, "saved in the exact phase; --finish none continues with ADMM from zero duals"), "%s",
              r.err);
    run_free(&r);
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    // a damaged state file: its line named
    snprintf(duals, sizeof duals, "%s.state.H.mtx", half);
    text = fm_test_read_text(duals);
    char *size_line = strstr(text, "\n3 30\n");
    cr_assert(size_line, "%s", text);
    memcpy(strchr(size_line + 6, '\n') + 1, "nan", 3);   // the second value
    fm_test_write(duals, text);
    free(text);
    r = FACTORIZE_BAD(&s, x, "--init-from", half);
    EXPECT_FAILURE(&r, 1, "half.state.H.mtx:", "finite");
    expect_no_outputs(&s);
    run_free(&r);
    // factors of two runs: W of rank 3, H of rank 2
    const char *mixed = fm_test_path(s.root, "mixed");
    char path[400];
    snprintf(path, sizeof path, "%s.W.mtx", mixed);
    fm_test_write(path, "%%MatrixMarket matrix array real general\n2 1\n1\n1\n");
    snprintf(path, sizeof path, "%s.H.mtx", mixed);
    fm_test_write(path, "%%MatrixMarket matrix array real general\n2 1\n1\n1\n");
    r = FACTORIZE_BAD(&s, x, "--init-from", mixed);
    EXPECT_FAILURE(&r, 1, "not the factors", "of one run");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}
