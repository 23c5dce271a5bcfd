// `factormer bench` and `factormer sample` end to end (the program run as a
// child process: tests/cli_program.h).
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
// factormer bench attention
//------------------------------------------------------------------------------

Test(cli, bench_attention_small)
{
    scratch s = scratch_new();
    const char *json = fm_test_path(s.out, "bench.json");
    run r = RUN(&s, "bench", "attention", "--graphs", "small,sparse", "--sparse-nodes", "300", "--sparse-edges",
                "3000", "--width", "8", "--heads", "2", "--repeat", "1", "--json", json);
    expect_success(&r);
    cr_assert(strstr(r.out, "SGEMM 2000 x 2000 x 2000"), "stdout lacks the SGEMM rate:\n%s", r.out);
    const char *first = strstr(r.out, "fused/graphblas speedup: forward ");
    cr_assert_not_null(first, "stdout lacks the speedup line:\n%s", r.out);
    cr_assert_not_null(strstr(first + 1, "fused/graphblas speedup: forward "), "one speedup line per graph:\n%s",
                       r.out);
    cr_assert(strstr(r.out, "complete 100 x 100") && strstr(r.out, "sparse 300 x 300"), "%s", r.out);
    cr_assert(strstr(r.out, "one fused layer"), "stdout lacks the layer memory:\n%s", r.out);
    char *text = fm_test_read_text(json);
    cr_assert_gt(json_number(text, "sgemm_gflops"), 0);
    cr_assert_eq(json_number(text, "width"), 8);
    cr_assert_gt(json_number(text, "layer_reference_mib"), 0);
    cr_assert(json_string_is(text, "path", "graphblas"), "%s", text);
    free(text);
    expect_files(s.out, "bench.json", NULL);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, bench_attention_bad_options)
{
    scratch s = scratch_new();
    run r = RUN(&s, "bench", "attention", "--width", "10", "--heads", "4");
    EXPECT_FAILURE(&r, 2, "not a multiple");
    run_free(&r);
    r = RUN(&s, "bench", "attention", "--kernels", "cuda");
    EXPECT_FAILURE(&r, 2, "fused or graphblas");
    run_free(&r);
    r = RUN(&s, "bench", "softmax");
    EXPECT_FAILURE(&r, 2, "unknown benchmark");
    run_free(&r);
    r = RUN(&s, "bench", "attention", "--graphs", "huge");
    EXPECT_FAILURE(&r, 2, "small, dense or sparse");
    run_free(&r);
    scratch_free(&s);
}

//------------------------------------------------------------------------------
// factormer sample
//------------------------------------------------------------------------------

// The row of `sampler` in the table after `heading`, as its numbers: kept
// min, median and max, edges per draw, coverage cv and its chance value,
// never drawn and its chance value (percent), attention error, edges/s and
// ms per draw. Returns how many were read.
static int sample_row(const char *out, const char *heading, const char *sampler, double row[11])
{
    const char *table = strstr(out, heading);
    cr_assert_not_null(table, "no table '%s' in:\n%s", heading, out);
    char key[32];
    snprintf(key, sizeof key, "\n  %s ", sampler);
    const char *line = strstr(table, key);
    cr_assert_not_null(line, "no row '%s' after '%s' in:\n%s", sampler, heading, out);
    return sscanf(line + strlen(key), "%lf %lf %lf %lf %lf %lf %lf%% %lf%% %lf %lf %lf", &row[0], &row[1], &row[2],
                  &row[3], &row[4], &row[5], &row[6], &row[7], &row[8], &row[9], &row[10]);
}

Test(cli, sample_sparse_all_samplers)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");   // 40 x 30, about 360 stored entries
    run r = RUN(&s, "sample", x, "--fanout", "4", "--zero-ratio", "0.5", "--draws", "30");
    expect_success(&r);
    cr_assert(strstr(r.out, "40 x 30, sparse"), "%s", r.out);
    static const char *const headings[] = { "targets = columns (H-direction): 30 targets, 40 sources",
                                            "targets = rows (W-direction): 40 targets, 30 sources" };
    for (int d = 0; d < 2; d++) {
        double row[11];
        cr_assert_eq(sample_row(r.out, headings[d], "full", row), 11, "%s", r.out);
        cr_assert(row[4] == 0 && row[6] == 0 && row[8] == 0, "full is exact and covers everything:\n%s", r.out);
        cr_assert_eq(sample_row(r.out, headings[d], "uniform", row), 11);
        cr_assert(row[2] <= 4 && row[8] > 0, "uniform keeps at most 4 and errs:\n%s", r.out);
        cr_assert_eq(sample_row(r.out, headings[d], "weighted", row), 11);
        cr_assert(row[2] <= 4, "%s", r.out);
        cr_assert_eq(sample_row(r.out, headings[d], "stratified", row), 11);
        cr_assert(row[2] <= 6 && row[0] >= 2, "stratified: at most 4 stored + 2 zeros:\n%s", r.out);
    }
    expect_no_outputs(&s);
    run_free(&r);
    // One sampler, the same figures whatever the thread count.
    r = RUN(&s, "sample", x, "--fanout", "3", "--sampler", "weighted", "--threads", "1");
    expect_success(&r);
    run two = RUN(&s, "sample", x, "--fanout", "3", "--sampler", "weighted", "--threads", "2");
    expect_success(&two);
    cr_assert(!strstr(r.out, "uniform") && !strstr(r.out, "stratified"), "%s", r.out);
    double one_row[11], two_row[11];
    cr_assert_eq(sample_row(r.out, "H-direction", "weighted", one_row), 11);
    cr_assert_eq(sample_row(two.out, "H-direction", "weighted", two_row), 11);
    for (int k = 0; k < 9; k++) cr_assert_eq(one_row[k], two_row[k], "column %d differs with 2 threads", k);
    run_free(&two);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, sample_dense_leaves_stratified_out)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    run r = RUN(&s, "sample", x, "--fanout", "8", "--draws", "5");
    expect_success(&r);
    double row[11];
    cr_assert_eq(sample_row(r.out, "H-direction", "uniform", row), 11);
    cr_assert(row[0] == 8 && row[1] == 8 && row[2] == 8, "every column has 40 entries:\n%s", r.out);
    cr_assert(strstr(r.out, "stratified left out"), "%s", r.out);
    run_free(&r);
    r = RUN(&s, "sample", x, "--fanout", "8", "--sampler", "stratified");
    EXPECT_FAILURE(&r, 1, "stratified", "sparse");
    run_free(&r);
    r = RUN(&s, "sample", x, "--fanout", "8", "--sampler", "stratified", "--kind", "incomplete");
    EXPECT_FAILURE(&r, 1, "incomplete", "never invents edges");
    run_free(&r);
    scratch_free(&s);
}

Test(cli, sample_bad_options)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    run r = RUN(&s, "sample", x);
    EXPECT_FAILURE(&r, 2, "--fanout");
    run_free(&r);
    r = RUN(&s, "sample", x, "--fanout", "0");
    EXPECT_FAILURE(&r, 2, "--fanout", "'0'");
    run_free(&r);
    r = RUN(&s, "sample", x, "--fanout", "4", "--sampler", "edge");
    EXPECT_FAILURE(&r, 2, "the edge sampler draws subgraphs for training", "full, uniform, weighted or stratified");
    run_free(&r);
    r = RUN(&s, "sample", x, "--fanout", "4", "--zero-ratio", "-1");
    EXPECT_FAILURE(&r, 2, "--zero-ratio", "'-1'");
    run_free(&r);
    r = RUN(&s, "sample", x, "--fanout", "4", "--draws", "0");
    EXPECT_FAILURE(&r, 2, "--draws");
    run_free(&r);
    r = RUN(&s, "sample", "--fanout", "4");
    EXPECT_FAILURE(&r, 2, "needs a data file");
    run_free(&r);
    const char *bad = fm_test_path(s.root, "bad.mtx");
    fm_test_write(bad, "%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1\n2 9 1\n");
    r = RUN(&s, "sample", bad, "--fanout", "4");
    EXPECT_FAILURE(&r, 1, "bad.mtx:4:");
    run_free(&r);
    r = RUN(&s, "sample", "--help");
    expect_success(&r);
    cr_assert(strstr(r.out, "usage: factormer sample") && strstr(r.out, "q_j.k_i / 4"), "%s", r.out);
    run_free(&r);
    scratch_free(&s);
}
