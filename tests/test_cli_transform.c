// `factormer transform` end to end: a fit's W (or H) applied to data, the
// written coefficients equal to the library's fm_transform and the summary's
// RMSE to one recomputed from the files; bad bases and arguments give a
// clear error and no outputs.
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_program.h"
#include "helpers.h"

TestSuite(cli_transform, .init = fm_test_setup);

// factorize X at rank 3 into ROOT/fit.*
static const char *fit(const scratch *s, const char *x, const char *kind)
{
    const char *prefix = fm_test_path(s->root, "fit");
    run r = RUN(s, "factorize", x, "--rank", "3", "--iters", "200", "--kind", kind, "--out", prefix, "--quiet");
    expect_success(&r);
    run_free(&r);
    return prefix;
}

static double max_relative(const fm_dense *a, const fm_dense *b)
{
    double d = 0, s = 0;
    for (int64_t e = 0; e < a->rows * a->cols; e++) {
        d = fmax(d, fabs((double)a->data[e] - b->data[e]));
        s = fmax(s, fabs((double)b->data[e]));
    }
    return d / (s > 0 ? s : 1);
}

// The program's output against the library on the same inputs; the summary's
// RMSE against one recomputed from the written factor.
static void check_transform(const scratch *s, const char *x, fm_kind kind, const char *basis_file, fm_side side,
                            fm_penalty penalty)
{
    char msg[FM_MSG_LEN];
    const bool columns = side == FM_SIDE_COLUMNS;
    expect_files(s->out, columns ? "run.H.mtx" : "run.W.mtx", "run.summary.json", NULL);
    fm_graph *g = graph_of(x, kind);
    fm_dense *basis = NULL, *expected = NULL;
    cr_assert_eq(fm_mtx_read_dense(&basis, basis_file, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_transform(&expected, g, basis, side, penalty, msg), FM_OK, "%s", msg);
    fm_dense *written = read_factor(fm_test_path(s->out, columns ? "run.H.mtx" : "run.W.mtx"), expected->rows,
                                    expected->cols);
    // dense data: Xᵀ·W by SGEMM per thread block, so float rounding apart
    cr_assert_leq(max_relative(written, expected), 1e-5, "the written factor differs from fm_transform's");
    char *summary = fm_test_read_text(fm_test_path(s->out, "run.summary.json"));
    double rmse;
    cr_assert_eq(fm_rmse(&rmse, g, columns ? basis : written, columns ? written : basis, msg), FM_OK, "%s", msg);
    cr_assert(close_relative(json_number(summary, "rmse"), rmse, 1e-6), "summary rmse %g, recomputed %g",
              json_number(summary, "rmse"), rmse);
    cr_assert(json_string_is(summary, "side", columns ? "columns" : "rows"), "%s", summary);
    cr_assert(json_string_is(summary, "kind", fm_kind_name(kind)), "%s", summary);
    cr_assert_eq(json_number(summary, "rank"), 3, "%s", summary);
    free(summary);
    fm_dense_free(&written);
    fm_dense_free(&expected);
    fm_dense_free(&basis);
    fm_graph_free(&g);
}

Test(cli_transform, columns_against_a_fitted_basis)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    const char *prefix = fit(&s, x, "dense");
    char basis[400];
    snprintf(basis, sizeof basis, "%s.W.mtx", prefix);
    run r = RUN(&s, "transform", x, "--basis", basis, "--out", out_prefix(&s));
    expect_success(&r);
    cr_assert(strstr(r.out, "transformed") && strstr(r.out, "rmse"), "%s", r.out);
    check_transform(&s, x, FM_KIND_DENSE, basis, FM_SIDE_COLUMNS, (fm_penalty){ 0 });
    // the fitted H is (nearly) the exact answer for the fitted W, so the
    // transform fits at least as well as the fit did, up to float rounding:
    // the fit of this noise-free matrix converges to an RMSE at float
    // rounding of the data (tests/test_transform.c): a slack of 4
    // FLT_EPSILON rms(X) beside a relative 1e-5
    char *summary = fm_test_read_text(fm_test_path(s.out, "run.summary.json"));
    char fit_summary_path[400];
    snprintf(fit_summary_path, sizeof fit_summary_path, "%s.summary.json", prefix);
    char *fit_summary = fm_test_read_text(fit_summary_path);
    const double fitted = json_number(fit_summary, "rmse"), rms_x = fitted / json_number(fit_summary, "relative_rmse");
    cr_assert(rms_x > 0.1 && rms_x < 10, "%s", fit_summary);   // entries of mean 1
    cr_assert_leq(json_number(summary, "rmse"), fitted * (1 + 1e-5) + 4 * FLT_EPSILON * rms_x, "%s\n%s", summary,
                  fit_summary);
    free(summary);
    free(fit_summary);
    run_free(&r);
    scratch_free(&s);
}

Test(cli_transform, rows_of_incomplete_data_with_penalties)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.5");
    const char *prefix = fit(&s, x, "incomplete");
    char basis[400];
    snprintf(basis, sizeof basis, "%s.H.mtx", prefix);
    run r = RUN(&s, "transform", x, "--basis", basis, "--side", "rows", "--kind", "incomplete", "--l1", "0.01",
                "--l2=0.1", "--l2-per-entry", "--out", out_prefix(&s), "--quiet");
    expect_success(&r);
    cr_assert_str_eq(r.out, "", "--quiet printed: %s", r.out);
    check_transform(&s, x, FM_KIND_INCOMPLETE, basis, FM_SIDE_ROWS,
                    (fm_penalty){ .l1 = 0.01f, .l2 = 0.1f, .l2_per_entry = true });
    run_free(&r);
    scratch_free(&s);
}

static run transform_bad(const scratch *s, const char *x, const char *basis, const char *side)
{
    return RUN(s, "transform", x, "--basis", basis, "--side", side, "--out", out_prefix(s));
}

Test(cli_transform, bad_bases)
{
    scratch s = scratch_new();
    char x[400];   // fm_test_path's names are reused after 8 calls
    snprintf(x, sizeof x, "%s", generate(&s, NULL));   // 40 x 30
    const char *prefix = fit(&s, x, "dense");
    char w[400], h[400];
    snprintf(w, sizeof w, "%s.W.mtx", prefix);
    snprintf(h, sizeof h, "%s.H.mtx", prefix);
    // the wrong factor for the side: shapes do not fit
    run r = transform_bad(&s, x, h, "columns");
    EXPECT_FAILURE(&r, 1, "fit.H.mtx", "3 x 30", "40 x 30", "--side columns needs a basis W");
    expect_no_outputs(&s);
    run_free(&r);
    r = transform_bad(&s, x, w, "rows");
    EXPECT_FAILURE(&r, 1, "fit.W.mtx", "40 x 3", "--side rows needs a basis H");
    expect_no_outputs(&s);
    run_free(&r);
    // a negative entry, NaN, a coordinate file, a missing file
    const char *negative = fm_test_path(s.root, "negative.mtx");
    fm_test_write(negative, "%%MatrixMarket matrix array real general\n2 1\n0.5\n-1\n");
    r = transform_bad(&s, x, negative, "columns");
    EXPECT_FAILURE(&r, 1, "negative.mtx:4:", "negative");
    expect_no_outputs(&s);
    run_free(&r);
    const char *nan = fm_test_path(s.root, "nan.mtx");
    fm_test_write(nan, "%%MatrixMarket matrix array real general\n2 1\nnan\n1\n");
    r = transform_bad(&s, x, nan, "columns");
    EXPECT_FAILURE(&r, 1, "nan.mtx:3:");
    expect_no_outputs(&s);
    run_free(&r);
    const char *wide = fm_test_path(s.root, "wide.mtx");   // 41 rows: one too many
    fm_test_write(wide, "%%MatrixMarket matrix array real general\n41 1\n");
    FILE *f = fopen(wide, "a");
    for (int i = 0; i < 41; i++) fprintf(f, "1\n");
    fclose(f);
    r = transform_bad(&s, x, wide, "columns");
    EXPECT_FAILURE(&r, 1, "wide.mtx", "41 x 1", "40 x 30");
    expect_no_outputs(&s);
    run_free(&r);
    const char *coordinate = fm_test_path(s.root, "coordinate.mtx");
    fm_test_write(coordinate, "%%MatrixMarket matrix coordinate real general\n40 3 1\n1 1 1\n");
    r = transform_bad(&s, x, coordinate, "columns");
    EXPECT_FAILURE(&r, 1, "coordinate.mtx", "expected an array file");
    expect_no_outputs(&s);
    run_free(&r);
    r = transform_bad(&s, x, fm_test_path(s.root, "missing.mtx"), "columns");
    EXPECT_FAILURE(&r, 1, "missing.mtx");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

Test(cli_transform, usage_errors)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    run r = RUN(&s, "transform", x, "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "--basis");
    run_free(&r);
    r = RUN(&s, "transform", x, "--basis", x);
    EXPECT_FAILURE(&r, 2, "--out");
    run_free(&r);
    r = RUN(&s, "transform", x, "--basis", x, "--side", "diagonal", "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "diagonal", "columns or rows");
    run_free(&r);
    r = RUN(&s, "transform", x, "--basis", x, "--l1", "-1", "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "--l1");
    run_free(&r);
    r = RUN(&s, "transform", x, "--basis", x, "--format", "xml", "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "xml");
    run_free(&r);
    r = RUN(&s, "transform", x, "--basis", x, "--bogus", "1", "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "--bogus");
    run_free(&r);
    r = RUN(&s, "transform", "--help");
    expect_success(&r);
    cr_assert(strstr(r.out, "--basis") && strstr(r.out, "--side"), "%s", r.out);
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}
