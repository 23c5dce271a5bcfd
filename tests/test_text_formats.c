// Data files other than Matrix Market (io/triplets_text.c, io/csv.c), the
// format dispatch (io/matrix_read.c), the rows' names and the heaviest rows
// of each component (io/top_rows.c, models/nmf/components.c): round trips
// against the same matrix written as Matrix Market, and every bad input with
// FILE:LINE in its message.
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "helpers.h"

TestSuite(text_formats, .init = fm_test_setup);

//------------------------------------------------------------------------------
// Fixtures
//------------------------------------------------------------------------------

static int read_as(fm_format format, const char *path, bool duplicates_are_errors, fm_triplets **t, char *msg)
{
    switch (format) {
    case FM_FORMAT_TRIPLETS: return fm_triplets_text_read(t, path, duplicates_are_errors, msg);
    case FM_FORMAT_CSV: return fm_csv_read(t, path, msg);
    default:
        return fm_matrix_read_for_run(t, path, format,
                                      duplicates_are_errors ? FM_KIND_INCOMPLETE : FM_KIND_AUTO, 4, msg);
    }
}

// `text` as DIR/name read in `format`: FM_ERR_PARSE, a message holding
// "name:LINE:" (`line`) and each NULL-terminated word, and no output.
static void expect_bad(fm_format format, const char *name, const char *text, bool duplicates_are_errors, int line,
                       ...)
{
    const char *dir = fm_test_tmpdir();
    char path[512], where[600], msg[FM_MSG_LEN] = "";
    snprintf(path, sizeof path, "%s", fm_test_path(dir, name));
    fm_test_write(path, text);
    fm_triplets *t = NULL;
    const int status = read_as(format, path, duplicates_are_errors, &t, msg);
    cr_assert_eq(status, FM_ERR_PARSE, "status %d: %s\n--- input ---\n%s", status, msg, text);
    cr_assert_null(t);
    snprintf(where, sizeof where, "%s:%d: ", path, line);
    cr_expect(strstr(msg, where), "the message lacks \"%s\": %s", where, msg);
    va_list words;
    va_start(words, line);
    for (const char *word; (word = va_arg(words, const char *));)
        cr_expect(strstr(msg, word), "the message lacks \"%s\": %s\n--- input ---\n%s", word, msg, text);
    va_end(words);
    fm_test_remove_dir(dir);
}
#define BAD_TRIPLETS(text, line, ...) \
    expect_bad(FM_FORMAT_TRIPLETS, "u.data", (text), false, (line), __VA_ARGS__, (const char *)NULL)
#define BAD_CSV(text, line, ...) expect_bad(FM_FORMAT_CSV, "x.csv", (text), false, (line), __VA_ARGS__, (const char *)NULL)

static int by_coordinate(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

// The entries of a coordinate t as (row, col, value bits) sorted by coordinate.
static int64_t *sorted_entries(const fm_triplets *t)
{
    int64_t *e = malloc(sizeof *e * 3 * (size_t)t->count);
    cr_assert_not_null(e);
    for (int64_t k = 0; k < t->count; k++) {
        uint32_t bits;
        memcpy(&bits, &t->val[k], sizeof bits);
        e[3 * k] = t->row[k];
        e[3 * k + 1] = t->col[k];
        e[3 * k + 2] = bits;
    }
    qsort(e, (size_t)t->count, 3 * sizeof *e, by_coordinate);
    return e;
}

static void expect_same_entries(const fm_triplets *a, const fm_triplets *b)
{
    cr_assert(!a->array && !b->array);
    cr_assert_eq(a->rows, b->rows);
    cr_assert_eq(a->cols, b->cols);
    cr_assert_eq(a->count, b->count);
    int64_t *x = sorted_entries(a), *y = sorted_entries(b);
    cr_expect_eq(memcmp(x, y, sizeof *x * 3 * (size_t)a->count), 0, "the entries differ");
    free(x);
    free(y);
}

// Write `text` gzip-compressed.
static void write_gz(const char *path, const char *text)
{
    gzFile gz = gzopen(path, "wb");
    cr_assert_not_null(gz);
    cr_assert_eq(gzwrite(gz, text, (unsigned)strlen(text)), (int)strlen(text));
    cr_assert_eq(gzclose(gz), Z_OK);
}

// A growing string.
typedef struct { char *text; size_t len, cap; } buffer;

static void put(buffer *b, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char piece[256];
    const int n = vsnprintf(piece, sizeof piece, format, args);
    va_end(args);
    cr_assert(n >= 0 && (size_t)n < sizeof piece);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = 2 * (b->len + (size_t)n + 1);
        b->text = realloc(b->text, b->cap);
        cr_assert_not_null(b->text);
    }
    memcpy(b->text + b->len, piece, (size_t)n + 1);
    b->len += (size_t)n;
}

//------------------------------------------------------------------------------
// Triplets
//------------------------------------------------------------------------------

Test(text_formats, triplets_read_as_the_same_matrix_written_as_matrix_market)
{
    char msg[FM_MSG_LEN] = "";
    fm_triplets *planted = NULL;
    cr_assert_eq(fm_synthetic_observed(&planted, 37, 23, 3, 0.1, 200, FM_DEGREES_POWER_LAW, 11, msg), FM_OK, "%s", msg);
    // the shape of a triplet file is its largest ids: make sure they occur
    planted->row[0] = planted->rows - 1;
    planted->col[1] = planted->cols - 1;
    const char *dir = fm_test_tmpdir();
    char mtx[512], data[512], gz[512];
    snprintf(mtx, sizeof mtx, "%s", fm_test_path(dir, "x.mtx"));
    snprintf(data, sizeof data, "%s", fm_test_path(dir, "u.data"));
    snprintf(gz, sizeof gz, "%s", fm_test_path(dir, "u.data.gz"));
    cr_assert_eq(fm_mtx_write_triplets(mtx, planted, "planted", msg), FM_OK, "%s", msg);
    // a header, comments, blank lines, tabs or spaces or commas, timestamps on some lines
    buffer b = { 0 };
    put(&b, "# ratings\nuser\titem\trating\ttimestamp\n\n");
    for (int64_t k = 0; k < planted->count; k++) {
        const char *sep = k % 3 == 0 ? "\t" : k % 3 == 1 ? "  " : ",";
        put(&b, "%lld%s%lld%s%.9g", (long long)planted->row[k] + 1, sep, (long long)planted->col[k] + 1, sep,
            planted->val[k]);
        if (k % 2) put(&b, "%s%lld", sep, 881250949LL + k);
        put(&b, k % 5 == 0 ? "\r\n" : "\n");
        if (k % 17 == 0) put(&b, "%% a comment\n");
    }
    fm_test_write(data, b.text);
    write_gz(gz, b.text);
    free(b.text);
    fm_triplets *want = NULL;
    cr_assert_eq(fm_mtx_read(&want, mtx, true, msg), FM_OK, "%s", msg);
    for (int v = 0; v < 4; v++) {
        fm_triplets *got = NULL;
        int status;
        if (v == 0) status = fm_triplets_text_read(&got, data, true, msg);
        else if (v == 1) status = fm_triplets_text_read(&got, gz, false, msg);
        else status = fm_matrix_read_for_run(&got, v == 2 ? data : gz, FM_FORMAT_AUTO, FM_KIND_INCOMPLETE, 3, msg);
        cr_assert_eq(status, FM_OK, "%d: %s", v, msg);
        expect_same_entries(got, want);
        fm_triplets_free(&got);
    }
    fm_triplets_free(&want);
    fm_triplets_free(&planted);
    fm_test_remove_dir(dir);
}

Test(text_formats, triplet_duplicates_as_the_matrix_market_reader)
{
    const char *text = "1 1 1\n2 3 2\n1 1 3\n";
    // kept for the sparse and dense kinds (the graph sums them)
    const char *dir = fm_test_tmpdir();
    char path[512], msg[FM_MSG_LEN] = "";
    snprintf(path, sizeof path, "%s", fm_test_path(dir, "d.data"));
    fm_test_write(path, text);
    fm_triplets *t = NULL;
    cr_assert_eq(fm_triplets_text_read(&t, path, false, msg), FM_OK, "%s", msg);
    cr_expect_eq(t->count, 3);
    cr_expect_eq(t->rows, 2);
    cr_expect_eq(t->cols, 3);
    fm_triplets_free(&t);
    fm_test_remove_dir(dir);
    // an error for the incomplete kind, naming both lines
    expect_bad(FM_FORMAT_TRIPLETS, "d.data", text, true, 3, "duplicate entry (1, 1)", "first given on line 1", NULL);
}

Test(text_formats, triplet_bad_inputs_name_the_file_and_line)
{
    BAD_TRIPLETS("1 2\n", 1, "expected 3 or 4 fields", "found 2");
    BAD_TRIPLETS("1 1 1\n1 2 3 4 5\n", 2, "expected 3 or 4 fields", "found 5");
    BAD_TRIPLETS("# c\n1 1 1\n1 x 3\n", 3, "expected an integer column id", "\"x\"");
    BAD_TRIPLETS("1.5 1 3\n", 1, "expected an integer row id", "\"1.5\"");
    BAD_TRIPLETS("1 1 1\n0 1 3\n", 2, "row id \"0\" out of range", "1-based");
    BAD_TRIPLETS("1 -2 3\n", 1, "column id \"-2\" out of range", "1-based");
    BAD_TRIPLETS("99999999999999999999 1 3\n", 1, "row id", "too large");
    BAD_TRIPLETS("1 1 1\n2 2 nan\n", 2, "\"nan\"", "not finite");
    BAD_TRIPLETS("1 1 inf\n", 1, "\"inf\"", "not finite");
    BAD_TRIPLETS("1 1 1e39\n", 1, "not finite");
    BAD_TRIPLETS("1 1 -2\n", 1, "negative value", "X >= 0");
    BAD_TRIPLETS("1 1 2.5x\n", 1, "expected a value", "trailing characters \"x\"");
    BAD_TRIPLETS("1 1 five\n", 1, "expected a value", "\"five\"");
    BAD_TRIPLETS("", 1, "holds no entries", "empty");
    BAD_TRIPLETS("# only a comment\n\n", 2, "holds no entries");
    BAD_TRIPLETS("user item rating\n", 1, "holds no entries");
    // a first line with a number is data, not a header
    BAD_TRIPLETS("user 1 rating\n", 1, "expected an integer row id", "\"user\"");
}

//------------------------------------------------------------------------------
// CSV
//------------------------------------------------------------------------------

Test(text_formats, csv_reads_as_the_same_array_written_as_matrix_market)
{
    char msg[FM_MSG_LEN] = "";
    fm_triplets *planted = NULL;
    cr_assert_eq(fm_synthetic_planted(&planted, 13, 7, 2, 0.1, 1.0, 3, msg), FM_OK, "%s", msg);
    cr_assert(planted->array);
    planted->val[5] = 0;   // zeros are values too
    const char *dir = fm_test_tmpdir();
    char mtx[512], csv[512], tsv[512], gz[512];
    snprintf(mtx, sizeof mtx, "%s", fm_test_path(dir, "x.mtx"));
    snprintf(csv, sizeof csv, "%s", fm_test_path(dir, "x.csv"));
    snprintf(tsv, sizeof tsv, "%s", fm_test_path(dir, "x.tsv"));
    snprintf(gz, sizeof gz, "%s", fm_test_path(dir, "x.csv.gz"));
    fm_dense m = { planted->rows, planted->cols, planted->val };
    cr_assert_eq(fm_mtx_write_dense(mtx, &m, "planted", msg), FM_OK, "%s", msg);
    buffer with_header = { 0 }, tabs = { 0 };
    put(&with_header, "# a comment\n");
    for (int64_t j = 0; j < m.cols; j++) put(&with_header, "%s\"c%lld\"", j ? "," : "", (long long)j);
    put(&with_header, "\n");
    for (int64_t i = 0; i < m.rows; i++) {
        for (int64_t j = 0; j < m.cols; j++) {
            put(&with_header, "%s%.9g", j ? (j % 2 ? ", " : ",") : "", m.data[i * m.cols + j]);
            put(&tabs, "%s%.9g", j ? "\t" : "", m.data[i * m.cols + j]);
        }
        put(&with_header, i % 3 ? "\n" : "\r\n");
        put(&tabs, "\n");
        if (i == 4) put(&tabs, "\n");   // a blank line
    }
    fm_test_write(csv, with_header.text);
    fm_test_write(tsv, tabs.text);
    write_gz(gz, with_header.text);
    free(with_header.text);
    free(tabs.text);
    fm_triplets *want = NULL;
    cr_assert_eq(fm_mtx_read(&want, mtx, false, msg), FM_OK, "%s", msg);
    const char *paths[3] = { csv, tsv, gz };
    for (int v = 0; v < 6; v++) {
        fm_triplets *got = NULL;
        const int status = v < 3 ? fm_csv_read(&got, paths[v], msg)
                                 : fm_matrix_read_for_run(&got, paths[v - 3], FM_FORMAT_AUTO, FM_KIND_AUTO, 2, msg);
        cr_assert_eq(status, FM_OK, "%d: %s", v, msg);
        cr_assert(got->array);
        cr_assert_eq(got->rows, want->rows);
        cr_assert_eq(got->cols, want->cols);
        cr_assert_eq(got->count, want->count);
        cr_expect_eq(memcmp(got->val, want->val, sizeof(float) * (size_t)want->count), 0, "%d: the values differ", v);
        fm_triplets_free(&got);
    }
    fm_triplets_free(&want);
    fm_triplets_free(&planted);
    fm_test_remove_dir(dir);
}

Test(text_formats, csv_bad_inputs_name_the_file_and_line)
{
    BAD_CSV("1,2,3\n4,5\n", 2, "expected 3 fields", "like line 1", "found 2");
    BAD_CSV("1,2\n3,4,5\n", 2, "expected 2 fields", "found 3");
    BAD_CSV("a,b,c\n1,2\n", 2, "expected 3 fields", "like line 1", "found 2");
    BAD_CSV("1\t2\n3\t4\t5\n", 2, "separated by tabs", "found 3");
    BAD_CSV("1,2\n3,x\n", 2, "value in column 2", "\"x\"");
    BAD_CSV("1,,2\n", 1, "value in column 2", "empty field");
    BAD_CSV("1,2\n\n# c\n1,nan\n", 4, "column 2", "not finite");
    BAD_CSV("inf,1\n", 1, "column 1", "not finite");
    BAD_CSV("1,-1\n", 1, "negative value in column 2");
    BAD_CSV("", 1, "no rows of values", "empty");
    BAD_CSV("a,b\n", 1, "no rows of values", "only the header");
    BAD_CSV("row,1,2\n", 1, "value in column 1", "\"row\"");
}

//------------------------------------------------------------------------------
// The format of a file
//------------------------------------------------------------------------------

Test(text_formats, the_extension_decides_the_format)
{
    const char *dir = fm_test_tmpdir();
    char mtx_txt[512], plain_txt[512];
    snprintf(mtx_txt, sizeof mtx_txt, "%s", fm_test_path(dir, "m.txt"));
    snprintf(plain_txt, sizeof plain_txt, "%s", fm_test_path(dir, "t.txt"));
    fm_test_write(mtx_txt, "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1\n");
    fm_test_write(plain_txt, "1 1 1\n2 2 2\n");
    cr_expect_eq(fm_format_of_path("x.mtx"), FM_FORMAT_MTX);
    cr_expect_eq(fm_format_of_path("dir.csv/x.mtx.gz"), FM_FORMAT_MTX);
    cr_expect_eq(fm_format_of_path("x"), FM_FORMAT_MTX);
    cr_expect_eq(fm_format_of_path("x.csv"), FM_FORMAT_CSV);
    cr_expect_eq(fm_format_of_path("X.CSV.GZ"), FM_FORMAT_CSV);
    cr_expect_eq(fm_format_of_path("x.tsv"), FM_FORMAT_CSV);
    cr_expect_eq(fm_format_of_path("u.data"), FM_FORMAT_TRIPLETS);
    cr_expect_eq(fm_format_of_path("u.data.gz"), FM_FORMAT_TRIPLETS);
    cr_expect_eq(fm_format_of_path("r.dat"), FM_FORMAT_TRIPLETS);
    cr_expect_eq(fm_format_of_path(plain_txt), FM_FORMAT_TRIPLETS);
    cr_expect_eq(fm_format_of_path(mtx_txt), FM_FORMAT_MTX);   // it says so in its first line
    // read as told, whatever the name
    char msg[FM_MSG_LEN] = "";
    fm_triplets *t = NULL;
    cr_assert_eq(fm_matrix_read_for_run(&t, mtx_txt, FM_FORMAT_AUTO, FM_KIND_AUTO, 1, msg), FM_OK, "%s", msg);
    cr_expect_eq(t->count, 1);
    fm_triplets_free(&t);
    cr_assert_eq(fm_matrix_read_for_run(&t, plain_txt, FM_FORMAT_AUTO, FM_KIND_AUTO, 1, msg), FM_OK, "%s", msg);
    cr_expect_eq(t->count, 2);
    fm_triplets_free(&t);
    // --format overrides the extension: spaces do not separate CSV fields
    cr_expect_eq(fm_matrix_read_for_run(&t, plain_txt, FM_FORMAT_CSV, FM_KIND_AUTO, 1, msg), FM_ERR_PARSE);
    cr_expect(strstr(msg, "t.txt:2: expected a value in column 1"), "%s", msg);
    cr_expect_null(t);
    fm_test_remove_dir(dir);
    fm_format f = FM_FORMAT_AUTO;
    cr_expect_eq(fm_format_parse(&f, "triplets", msg), FM_OK);
    cr_expect_eq(f, FM_FORMAT_TRIPLETS);
    cr_expect_eq(fm_format_parse(&f, "xls", msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "'xls'") && strstr(msg, "mtx, triplets or csv"), "%s", msg);
}

Test(text_formats, a_run_over_the_memory_limit_is_refused)
{
    const char *dir = fm_test_tmpdir();
    char path[512], msg[FM_MSG_LEN] = "";
    snprintf(path, sizeof path, "%s", fm_test_path(dir, "big.data"));
    fm_test_write(path, "1 1 1\n100000 100000 2\n");
    fm_set_memory_limit(1 << 20);
    fm_triplets *t = NULL;
    const int status = fm_matrix_read_for_run(&t, path, FM_FORMAT_AUTO, FM_KIND_SPARSE, 200, msg);
    fm_set_memory_limit(0);
    cr_expect_eq(status, FM_ERR_MEMORY, "%s", msg);
    cr_expect_null(t);
    cr_expect(strstr(msg, path) && strstr(msg, "100000 x 100000") && strstr(msg, "rank-200"), "%s", msg);
    fm_test_remove_dir(dir);
}

//------------------------------------------------------------------------------
// The heaviest rows of each component, and the rows' names
//------------------------------------------------------------------------------

Test(text_formats, top_rows_against_brute_force)
{
    enum { M = 57, K = 5, N = 31, TOP = 6 };
    char msg[FM_MSG_LEN] = "";
    fm_dense *W = NULL, *H = NULL;
    cr_assert_eq(fm_dense_new(&W, M, K, msg), FM_OK);
    cr_assert_eq(fm_dense_new(&H, K, N, msg), FM_OK);
    float *u = fm_test_uniform(M * K + K * N, 9);
    memcpy(W->data, u, sizeof(float) * M * K);
    memcpy(H->data, u + M * K, sizeof(float) * K * N);
    free(u);
    for (int i = 0; i < M; i++) W->data[i * K + 3] *= 4;     // component 3 the heaviest
    W->data[7 * K + 1] = W->data[9 * K + 1] = 2;             // a tie at the top of component 1
    fm_top_rows *t = NULL;
    cr_assert_eq(fm_top_rows_get(&t, W, H, TOP, msg), FM_OK, "%s", msg);
    cr_assert_eq(t->rank, K);
    cr_assert_eq(t->n, TOP);
    cr_expect_eq(t->component[0], 3);
    bool seen[K] = { false };
    for (int c = 0; c < K; c++) {
        const int r = t->component[c];
        cr_assert(r >= 0 && r < K && !seen[r]);
        seen[r] = true;
        double w = 0, h = 0;
        for (int i = 0; i < M; i++) w += (double)W->data[i * K + r] * W->data[i * K + r];
        for (int j = 0; j < N; j++) h += (double)H->data[r * N + j] * H->data[r * N + j];
        cr_expect(fabs(t->weight[c] - sqrt(w * h)) <= 1e-12 * sqrt(w * h));
        if (c) cr_expect(t->weight[c] <= t->weight[c - 1]);
        // the chosen rows: distinct, descending, and no other row heavier than the last
        bool chosen[M] = { false };
        for (int p = 0; p < TOP; p++) {
            const int64_t i = t->row[c * TOP + p];
            cr_assert(i >= 0 && i < M && !chosen[i]);
            chosen[i] = true;
            cr_expect_eq(t->value[c * TOP + p], W->data[i * K + r]);
            if (p) cr_expect(t->value[c * TOP + p] <= t->value[c * TOP + p - 1]);
        }
        for (int i = 0; i < M; i++)
            if (!chosen[i]) cr_expect(W->data[i * K + r] <= t->value[c * TOP + TOP - 1]);
        if (r == 1) {   // ties by row
            cr_expect_eq(t->row[c * TOP], 7);
            cr_expect_eq(t->row[c * TOP + 1], 9);
        }
    }
    // the weight does not change when W[:, r] s and H[r, :] / s replace the pair
    for (int i = 0; i < M; i++) W->data[i * K + 3] /= 100;
    for (int j = 0; j < N; j++) H->data[3 * N + j] *= 100;
    fm_top_rows *scaled = NULL;
    cr_assert_eq(fm_top_rows_get(&scaled, W, H, M + 10, msg), FM_OK, "%s", msg);
    cr_expect_eq(scaled->n, M);   // at most every row
    for (int c = 0; c < K; c++) {
        cr_expect_eq(scaled->component[c], t->component[c]);
        cr_expect(fabs(scaled->weight[c] - t->weight[c]) <= 1e-5 * t->weight[c]);
    }
    fm_top_rows_free(&scaled);
    cr_expect_eq(fm_top_rows_get(&scaled, W, H, 0, msg), FM_ERR_INVALID);
    cr_expect_null(scaled);
    // the TSV: a header, then rank x n lines
    const char *dir = fm_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s", fm_test_path(dir, "x.top.tsv"));
    cr_assert_eq(fm_top_rows_write_tsv(path, t, NULL, "made by a test", msg), FM_OK, "%s", msg);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[256];
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_expect_str_eq(line, "# made by a test\n");
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_expect_str_eq(line, "component\trank\trow\tweight\tw_column\tcomponent_weight\n");
    for (int c = 0; c < K; c++)
        for (int p = 0; p < TOP; p++) {
            int component, rank, column;
            long long row;
            double value, weight;
            cr_assert_not_null(fgets(line, sizeof line, f));
            cr_assert_eq(sscanf(line, "%d\t%d\t%lld\t%lf\t%d\t%lf", &component, &rank, &row, &value, &column, &weight),
                         6, "%s", line);
            cr_expect_eq(component, c + 1);
            cr_expect_eq(rank, p + 1);
            cr_expect_eq(row, t->row[c * TOP + p] + 1);
            cr_expect_eq((float)value, t->value[c * TOP + p]);
            cr_expect_eq(column, t->component[c] + 1);
        }
    cr_expect_null(fgets(line, sizeof line, f));
    fclose(f);
    fm_top_rows_free(&t);
    fm_dense_free(&W);
    fm_dense_free(&H);
    fm_test_remove_dir(dir);
}

Test(text_formats, names_one_per_line)
{
    const char *dir = fm_test_tmpdir();
    char path[512], gz[512], msg[FM_MSG_LEN] = "";
    snprintf(path, sizeof path, "%s", fm_test_path(dir, "vocab.txt"));
    snprintf(gz, sizeof gz, "%s", fm_test_path(dir, "vocab.txt.gz"));
    fm_test_write(path, "apple\r\nbanana split\n# not a comment\n");
    write_gz(gz, "apple\nbanana split\n# not a comment");
    for (int v = 0; v < 2; v++) {
        char **names = NULL;
        int64_t count = 0;
        cr_assert_eq(fm_names_read(&names, &count, v ? gz : path, msg), FM_OK, "%s", msg);
        cr_assert_eq(count, 3);
        cr_expect_str_eq(names[0], "apple");
        cr_expect_str_eq(names[1], "banana split");
        cr_expect_str_eq(names[2], "# not a comment");
        fm_names_free(&names, count);
        cr_expect_null(names);
    }
    static const struct { const char *text, *where, *what; } bad[] = {
        { "a\n\nb\n", ":2: ", "empty name" },
        { "a\nb\tc\n", ":2: ", "holds a tab" },
        { "", ":1: ", "the file is empty" },
    };
    for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
        fm_test_write(path, bad[b].text);
        char **names = NULL;
        int64_t count = 0;
        cr_expect_eq(fm_names_read(&names, &count, path, msg), FM_ERR_PARSE);
        cr_expect_null(names);
        cr_expect(strstr(msg, "vocab.txt") && strstr(msg, bad[b].where) && strstr(msg, bad[b].what), "%s", msg);
    }
    fm_test_remove_dir(dir);
}
