// `factorize --init-from PREFIX` and `--save-state` end to end: 50 + 50
// iterations through the files give the factors of 100; duals of other
// factors are noticed and not used; bad states give a clear error and no
// outputs.
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

// factorize X at rank 3 for `iters` into ROOT/NAME.* (and the extra argument)
static void factorize(const scratch *s, const char *x, const char *name, const char *iters, const char *extra)
{
    char prefix[400];
    snprintf(prefix, sizeof prefix, "%s/%s", s->root, name);
    run r = extra ? RUN(s, "factorize", x, "--rank", "3", "--iters", iters, "--tol", "0", "--out", prefix, "--quiet",
                        extra)
                  : RUN(s, "factorize", x, "--rank", "3", "--iters", iters, "--tol", "0", "--out", prefix, "--quiet");
    expect_success(&r);
    run_free(&r);
}

static fm_dense *factor(const char *dir, const char *name, int64_t rows, int64_t cols)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return read_factor(path, rows, cols);
}

// The continued run against the whole one: with the duals (saved by
// --save-state) to float rounding; without them measurably further.
Test(cli_warm_start, fifty_plus_fifty_is_one_hundred)
{
    scratch s = scratch_new();
    char x[400], half[400];
    snprintf(x, sizeof x, "%s", generate(&s, "0.6"));   // 40 x 30, the sparse kind
    snprintf(half, sizeof half, "%s/half", s.root);
    factorize(&s, x, "full", "100", NULL);
    factorize(&s, x, "half", "50", "--save-state");
    expect_files(s.root, "X.mtx", "out", "full.W.mtx", "full.H.mtx", "full.trace.csv", "full.summary.json",
                 "half.W.mtx", "half.H.mtx", "half.trace.csv", "half.summary.json", "half.duals.W.mtx",
                 "half.duals.H.mtx", NULL);
    // no --rank: the factors' rank
    run r = RUN(&s, "factorize", x, "--iters", "50", "--tol", "0", "--init-from", half, "--out", out_prefix(&s));
    expect_success(&r);
    cr_assert(strstr(r.out, "warm start, its ADMM duals carried"), "%s", r.out);
    run_free(&r);
    fm_graph *g = graph_of(x, FM_KIND_SPARSE);
    outputs o = check_outputs(&s, g, 3, 50, false);   // exactly the four files
    cr_assert(json_string_is(o.summary, "init", "warm"), "%s", o.summary);
    cr_assert(strstr(o.summary, "\"init_duals\": true"), "%s", o.summary);
    fm_dense *W = factor(s.root, "full.W.mtx", 40, 3), *H = factor(s.root, "full.H.mtx", 3, 30);
    const double dw = relative_difference(o.W, W), dh = relative_difference(o.H, H);
    cr_assert_lt(dw, 1e-5, "W differs by %g from the 100-iteration run's", dw);
    cr_assert_lt(dh, 1e-5, "H differs by %g from the 100-iteration run's", dh);
    outputs_free(&o);

    // without the duals: another path
    remove_tree(fm_test_path(s.root, "half.duals.W.mtx"));
    remove_tree(fm_test_path(s.root, "half.duals.H.mtx"));
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    r = RUN(&s, "factorize", x, "--iters", "50", "--tol", "0", "--init-from", half, "--out", out_prefix(&s));
    expect_success(&r);
    cr_assert(strstr(r.out, "zero duals"), "%s", r.out);
    run_free(&r);
    o = check_outputs(&s, g, 3, 50, false);
    cr_assert(strstr(o.summary, "\"init_duals\": false"), "%s", o.summary);
    const double nw = relative_difference(o.W, W), nh = relative_difference(o.H, H);
    cr_log_info("with the duals W %.2e H %.2e; without W %.2e H %.2e", dw, dh, nw, nh);
    cr_assert_gt(fmax(nw, nh), 10 * fmax(fmax(dw, dh), 1e-6));
    outputs_free(&o);
    fm_dense_free(&W);
    fm_dense_free(&H);
    fm_graph_free(&g);
    scratch_free(&s);
}

// A later run under the same prefix without --save-state leaves the older
// duals there: they name other factors, so they are not carried.
Test(cli_warm_start, duals_of_other_factors_are_not_used)
{
    scratch s = scratch_new();
    char x[400], half[400];
    snprintf(x, sizeof x, "%s", generate(&s, NULL));
    snprintf(half, sizeof half, "%s/half", s.root);
    factorize(&s, x, "half", "20", "--save-state");
    factorize(&s, x, "half", "30", NULL);
    run r = RUN(&s, "factorize", x, "--iters", "5", "--init-from", half, "--out", out_prefix(&s), "--quiet");
    expect_success(&r);
    cr_assert(strstr(r.err, "belong to other factors") && strstr(r.err, "zero duals"), "%s", r.err);
    run_free(&r);
    char *summary = read_text(fm_test_path(s.out, "run.summary.json"));
    cr_assert(strstr(summary, "\"init_duals\": false"), "%s", summary);
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
    // a damaged dual file: its line named
    char duals[420];
    snprintf(duals, sizeof duals, "%s.duals.H.mtx", half);
    char *text = read_text(duals);
    char *size_line = strstr(text, "\n3 30\n");
    cr_assert(size_line, "%s", text);
    memcpy(strchr(size_line + 6, '\n') + 1, "nan", 3);   // the second value
    fm_test_write(duals, text);
    free(text);
    r = FACTORIZE_BAD(&s, x, "--init-from", half);
    EXPECT_FAILURE(&r, 1, "half.duals.H.mtx:", "finite");
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
