// `factormer factorize` on the data files people have (triplets, CSV:
// --format and the extension), --row-names / --top, the note on the kind a
// coordinate file defaults to, and piped progress at most a line a second
// (tests/cli_program.h).
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_program.h"
#include "helpers.h"

TestSuite(cli_formats, .init = fm_test_setup);

#define KIND_NOTE "kind sparse (unstored entries are zeros; use --kind incomplete for ratings)"

// How often `needle` occurs in `text`.
static int occurrences(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

// The entries of X.mtx (generated, coordinates) as a triplet file
// "user item rating timestamp" in the scratch directory; returns its path.
static const char *triplet_file(const scratch *s, const char *name)
{
    fm_triplets *t = read_triplets(generate(s, "0.4"), false);
    const char *path = fm_test_path(s->root, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "user\titem\trating\ttimestamp\n");
    for (int64_t k = 0; k < t->count; k++)
        fprintf(f, "%lld\t%lld\t%.9g\t%lld\n", (long long)t->row[k] + 1, (long long)t->col[k] + 1, t->val[k],
                100000LL + k);
    // the largest ids make the shape: the corner, an explicit zero
    fprintf(f, "%lld %lld 0\n", (long long)t->rows, (long long)t->cols);
    cr_assert_eq(fclose(f), 0);
    fm_triplets_free(&t);
    return path;
}

// The generated dense X.mtx as DIR/name, comma-separated with a header.
static const char *csv_file(const scratch *s, const char *name)
{
    fm_triplets *t = read_triplets(generate(s, NULL), false);
    cr_assert(t->array);
    const char *path = fm_test_path(s->root, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int64_t j = 0; j < t->cols; j++) fprintf(f, "%scell%lld", j ? "," : "", (long long)j + 1);
    fprintf(f, "\n");
    for (int64_t i = 0; i < t->rows; i++)
        for (int64_t j = 0; j < t->cols; j++) fprintf(f, "%.9g%s", t->val[i * t->cols + j], j + 1 < t->cols ? "," : "\n");
    cr_assert_eq(fclose(f), 0);
    fm_triplets_free(&t);
    return path;
}

static fm_graph *graph_from(fm_triplets *t, fm_kind kind)
{
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_graph_from_triplets(&g, t, kind, msg), FM_OK, "%s", msg);
    fm_triplets_free(&t);
    return g;
}

//------------------------------------------------------------------------------
// Formats
//------------------------------------------------------------------------------

Test(cli_formats, triplet_file_by_its_extension)
{
    scratch s = scratch_new();
    char data[512];
    snprintf(data, sizeof data, "%s", triplet_file(&s, "u.data"));
    char msg[FM_MSG_LEN];
    fm_triplets *t = NULL;
    cr_assert_eq(fm_triplets_text_read(&t, data, true, msg), FM_OK, "%s", msg);
    cr_assert_eq(t->rows, 40);
    cr_assert_eq(t->cols, 30);
    fm_graph *g = graph_from(t, FM_KIND_INCOMPLETE);
    run r = RUN(&s, "factorize", data, "--kind", "incomplete", "--rank", "3", "--iters", "20", "--out", out_prefix(&s));
    expect_success(&r);
    cr_expect(!strstr(r.err, KIND_NOTE), "%s", r.err);   // the kind was given
    outputs o = check_outputs(&s, g, 3, 20, false);
    cr_expect(json_string_is(o.summary, "kind", "incomplete"), "%s", o.summary);
    outputs_free(&o);
    run_free(&r);
    fm_graph_free(&g);
    // --format mtx reads it as Matrix Market, and says where that fails
    r = RUN(&s, "factorize", data, "--format", "mtx", "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 1, "u.data:1:", "%%MatrixMarket");
    run_free(&r);
    r = RUN(&s, "factorize", data, "--format", "xls", "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "unknown format 'xls'");
    run_free(&r);
    scratch_free(&s);
}

Test(cli_formats, csv_file_by_its_extension_and_bad_rows)
{
    scratch s = scratch_new();
    char data[512];
    snprintf(data, sizeof data, "%s", csv_file(&s, "X.csv"));
    fm_graph *g = graph_of(fm_test_path(s.root, "X.mtx"), FM_KIND_DENSE);
    run r = RUN(&s, "factorize", data, "--rank", "3", "--iters", "15", "--out", out_prefix(&s));
    expect_success(&r);
    outputs o = check_outputs(&s, g, 3, 15, false);
    cr_expect(json_string_is(o.summary, "kind", "dense"), "%s", o.summary);
    cr_expect(!strstr(r.err, KIND_NOTE), "%s", r.err);
    outputs_free(&o);
    run_free(&r);
    fm_graph_free(&g);
    // a ragged row: FILE:LINE, a nonzero exit and no outputs
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    const char *ragged = fm_test_path(s.root, "ragged.tsv");
    fm_test_write(ragged, "1\t2\t3\n4\t5\t6\n7\t8\n");
    r = FACTORIZE_BAD(&s, ragged, "--rank", "1");
    EXPECT_FAILURE(&r, 1, "ragged.tsv:3:", "expected 3 fields", "found 2");
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

//------------------------------------------------------------------------------
// The kind a coordinate file defaults to
//------------------------------------------------------------------------------

Test(cli_formats, the_sparse_default_is_said_once)
{
    scratch s = scratch_new();
    char x[512];
    snprintf(x, sizeof x, "%s", generate(&s, "0.5"));
    run r = RUN(&s, "factorize", x, "--rank", "2", "--iters", "3", "--out", out_prefix(&s));
    expect_success(&r);
    cr_expect_eq(occurrences(r.err, KIND_NOTE), 1, "%s", r.err);
    cr_expect(!strstr(r.out, KIND_NOTE), "%s", r.out);
    run_free(&r);
    r = RUN(&s, "factorize", x, "--rank", "2", "--iters", "3", "--kind", "sparse", "--out", out_prefix(&s));
    expect_success(&r);
    cr_expect(!strstr(r.err, KIND_NOTE), "%s", r.err);
    run_free(&r);
    r = RUN(&s, "factorize", x, "--rank", "2", "--iters", "3", "--quiet", "--out", out_prefix(&s));
    expect_success(&r);
    cr_expect(!strstr(r.err, KIND_NOTE), "%s", r.err);
    run_free(&r);
    const char *dense = generate(&s, NULL);   // an array file is dense: nothing to say
    r = RUN(&s, "factorize", dense, "--rank", "2", "--iters", "3", "--out", out_prefix(&s));
    expect_success(&r);
    cr_expect(!strstr(r.err, KIND_NOTE), "%s", r.err);
    run_free(&r);
    scratch_free(&s);
}

//------------------------------------------------------------------------------
// --row-names and --top
//------------------------------------------------------------------------------

Test(cli_formats, top_rows_with_their_names)
{
    scratch s = scratch_new();
    char x[512], names[512];
    snprintf(x, sizeof x, "%s", generate(&s, NULL));   // 40 x 30
    snprintf(names, sizeof names, "%s", fm_test_path(s.root, "names.txt"));
    FILE *f = fopen(names, "w");
    cr_assert_not_null(f);
    for (int i = 1; i <= 40; i++) fprintf(f, "term%d\n", i);
    cr_assert_eq(fclose(f), 0);
    run r = RUN(&s, "factorize", x, "--rank", "3", "--iters", "10", "--row-names", names, "--top", "4", "--out",
                out_prefix(&s));
    expect_success(&r);
    expect_files(s.out, "run.W.mtx", "run.H.mtx", "run.trace.csv", "run.summary.json", "run.top.tsv", NULL);
    fm_dense *W = read_factor(fm_test_path(s.out, "run.W.mtx"), 40, 3);
    fm_dense *H = read_factor(fm_test_path(s.out, "run.H.mtx"), 3, 30);
    fm_top_rows *t = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_top_rows_get(&t, W, H, 4, msg), FM_OK, "%s", msg);
    // the file: comments, the header, then component by weight, rank, name
    char *text = fm_test_read_text(fm_test_path(s.out, "run.top.tsv"));
    const char *line = text;
    while (*line == '#') line = strchr(line, '\n') + 1;
    cr_assert(!strncmp(line, "component\trank\trow\tweight\t", 26), "%s", text);
    line = strchr(line, '\n') + 1;
    for (int c = 0; c < 3; c++)
        for (int p = 0; p < 4; p++) {
            int component, rank, column;
            char name[64];
            double weight;
            cr_assert_eq(sscanf(line, "%d\t%d\t%63[^\t]\t%lf\t%d", &component, &rank, name, &weight, &column), 5,
                         "%s", line);
            char want[64];
            snprintf(want, sizeof want, "term%lld", (long long)t->row[c * 4 + p] + 1);
            cr_expect_str_eq(name, want);
            cr_expect_eq(component, c + 1);
            cr_expect_eq(rank, p + 1);
            cr_expect_eq(column, t->component[c] + 1);
            cr_expect(close_relative(weight, W->data[t->row[c * 4 + p] * 3 + t->component[c]], 1e-6));
            line = strchr(line, '\n') + 1;
        }
    cr_expect_eq(*line, 0, "more lines: %s", line);
    free(text);
    // printed too, heaviest component first
    char want[128];
    snprintf(want, sizeof want, "  1 (weight %.4g, W column %d): term%lld", t->weight[0], t->component[0] + 1,
             (long long)t->row[0] + 1);
    cr_expect(strstr(r.out, "top 4 rows of each component") && strstr(r.out, want), "%s\n(wanted %s)", r.out, want);
    fm_top_rows_free(&t);
    fm_dense_free(&W);
    fm_dense_free(&H);
    run_free(&r);
    // without names, the rows' 1-based indices
    r = RUN(&s, "factorize", x, "--rank", "3", "--iters", "2", "--top", "2", "--out", out_prefix(&s), "--quiet");
    expect_success(&r);
    text = fm_test_read_text(fm_test_path(s.out, "run.top.tsv"));
    cr_expect(!strstr(text, "term"), "%s", text);
    free(text);
    run_free(&r);
    // as many names as rows, or nothing written
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    fm_test_write(names, "a\nb\nc\n");
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--row-names", names);
    EXPECT_FAILURE(&r, 1, "--row-names", "has 3 names", "40 rows");
    run_free(&r);
    expect_no_outputs(&s);
    fm_test_write(names, "a\n\nc\n");
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--row-names", names);
    EXPECT_FAILURE(&r, 1, "names.txt:2:", "empty name");
    run_free(&r);
    expect_no_outputs(&s);
    r = FACTORIZE_BAD(&s, x, "--top", "0");
    EXPECT_FAILURE(&r, 2, "--top");
    run_free(&r);
    scratch_free(&s);
}

//------------------------------------------------------------------------------
// Piped progress
//------------------------------------------------------------------------------

Test(cli_formats, piped_progress_prints_at_most_a_line_a_second)
{
    scratch s = scratch_new();
    // the planted demo, fast iterations for 1.5 seconds; stderr is a file
    run r = RUN(&s, "factorize", "--rank", "4", "--iters", "1000000", "--tol", "0", "--time-limit", "1.5", "--out",
                out_prefix(&s));
    expect_success(&r);
    char *summary = fm_test_read_text(fm_test_path(s.out, "run.summary.json"));
    const int iterations = (int)json_number(summary, "iterations");
    const double seconds = json_number(summary, "seconds");
    free(summary);
    cr_assert_gt(iterations, 20, "too few iterations to test the rate");
    int lines = 0, first = -1, last = -1;
    for (const char *p = r.err; (p = strstr(p, "  iteration ")); p++) {
        int it;
        cr_assert_eq(sscanf(p, "  iteration %d", &it), 1);
        if (first < 0) first = it;
        last = it;
        lines++;
    }
    // the first line, a line a second at most, and the last
    cr_expect_leq(lines, (int)floor(seconds) + 2, "%d lines in %.2f s:\n%s", lines, seconds, r.err);
    cr_expect_eq(first, 0, "%s", r.err);
    cr_expect_eq(last, iterations, "%s", r.err);
    run_free(&r);
    scratch_free(&s);
}
