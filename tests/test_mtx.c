// Matrix Market reading and writing (io/mtx): round trips, layouts, every
// kind of bad input and what its message says, duplicates, and writers that
// leave nothing behind on failure.
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "helpers.h"

TestSuite(mtx, .init = fm_test_setup);

//------------------------------------------------------------------------------
// Fixtures
//------------------------------------------------------------------------------


// Write `text` to a fresh DIR/name and read it back.
static int read_text(const char *name, const char *text, bool duplicates_are_errors,
                     fm_triplets **t, char *msg, char *dir_out)
{
    const char *dir = fm_test_tmpdir();
    strcpy(dir_out, dir);
    const char *path = fm_test_path(dir_out, name);
    fm_test_write(path, text);
    return fm_mtx_read(t, path, duplicates_are_errors, msg);
}

// Read `text` as a file called `name`, expect `code`, a message that holds
// `where` and each of the NULL-terminated words after it, and no output.
static void expect_error_named(const char *name, const char *text, bool duplicates_are_errors, int code,
                               const char *where, ...)
{
    char dir[256], msg[FM_MSG_LEN] = "";
    fm_triplets *t = NULL;
    int status = read_text(name, text, duplicates_are_errors, &t, msg, dir);
    cr_assert_eq(status, code, "expected status %d, got %d: %s\n--- input ---\n%s", code, status, msg, text);
    cr_assert_null(t, "the output must stay NULL on failure");
    cr_assert_not_null(strstr(msg, where), "the message lacks \"%s\": %s", where, msg);
    va_list words;
    va_start(words, where);
    for (const char *word; (word = va_arg(words, const char *));)
        cr_assert_not_null(strstr(msg, word), "the message lacks \"%s\": %s", word, msg);
    va_end(words);
    fm_test_remove_dir(dir);
}

#define EXPECT_PARSE_ERROR(text, where, ...) \
    expect_error_named("bad.mtx", (text), false, FM_ERR_PARSE, (where), __VA_ARGS__, NULL)

// Read `text`, which must succeed.
static fm_triplets *read_ok(const char *text, bool duplicates_are_errors)
{
    char dir[256], msg[FM_MSG_LEN] = "";
    fm_triplets *t = NULL;
    int status = read_text("good.mtx", text, duplicates_are_errors, &t, msg, dir);
    cr_assert_eq(status, FM_OK, "%s\n--- input ---\n%s", msg, text);
    cr_assert_not_null(t);
    fm_test_remove_dir(dir);
    return t;
}

static void expect_entry(const fm_triplets *t, int64_t k, int64_t row, int64_t col, float val)
{
    cr_assert_lt(k, t->count);
    cr_assert(t->row[k] == row && t->col[k] == col && t->val[k] == val,
              "entry %lld is (%lld, %lld, %g), expected (%lld, %lld, %g)", (long long)k,
              (long long)t->row[k], (long long)t->col[k], (double)t->val[k], (long long)row,
              (long long)col, (double)val);
}

// The full text of a file.
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    cr_assert_not_null(text);
    cr_assert_eq(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = '\0';
    fclose(f);
    return text;
}

// Random values spread over many binades, zero, subnormals and extremes.
static fm_dense *random_dense(int64_t rows, int64_t cols, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    fm_dense *m = NULL;
    cr_assert_eq(fm_dense_new(&m, rows, cols, msg), FM_OK, "%s", msg);
    float *u = fm_test_uniform(rows * cols, seed);
    for (int64_t k = 0; k < rows * cols; k++)
        m->data[k] = ldexpf(u[k], (int)(k % 61) - 30);
    free(u);
    m->data[0] = 0.0f;
    if (rows * cols > 4) {
        m->data[1] = FLT_MAX;
        m->data[2] = FLT_MIN;
        m->data[3] = 1.4e-45f;   // the smallest subnormal
        m->data[4] = 16777217.0f;
    }
    return m;
}

//------------------------------------------------------------------------------
// Round trips
//------------------------------------------------------------------------------

Test(mtx, dense_round_trip_is_exact)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "W.mtx");
    fm_dense *m = random_dense(37, 23, 7), *back = NULL;
    cr_assert_eq(fm_mtx_write_dense(path, m, "factormer test\nsecond line", msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_test_count_files(dir), 1, "the directory must hold only the output file");
    cr_assert_eq(fm_mtx_read_dense(&back, path, msg), FM_OK, "%s", msg);
    cr_assert_eq(back->rows, 37);
    cr_assert_eq(back->cols, 23);
    for (int64_t k = 0; k < 37 * 23; k++)
        cr_assert(back->data[k] == m->data[k], "value %lld: wrote %.9g, read %.9g", (long long)k,
                  (double)m->data[k], (double)back->data[k]);
    fm_dense_free(&m);
    fm_dense_free(&back);
    fm_test_remove_dir(dir);
}

Test(mtx, dense_writer_format)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "H.mtx");
    fm_dense *m = NULL;
    cr_assert_eq(fm_dense_new(&m, 2, 3, msg), FM_OK, "%s", msg);
    for (int k = 0; k < 6; k++) m->data[k] = (float)(k + 1);   // rows 1 2 3 / 4 5 6
    m->data[5] = 0.1f;
    cr_assert_eq(fm_mtx_write_dense(path, m, "rank 2\n\n factors\n", msg), FM_OK, "%s", msg);
    char *text = slurp(path);
    cr_assert_str_eq(text,
                     "%%MatrixMarket matrix array real general\n"
                     "%rank 2\n"
                     "%\n"
                     "% factors\n"
                     "2 3\n"
                     "1\n4\n2\n5\n3\n0.100000001\n");
    free(text);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    mode_t mask = umask(0);
    umask(mask);
    cr_assert_eq(st.st_mode & 0777, 0666 & ~mask, "the file mode must follow the umask, got %o",
                 st.st_mode & 0777);
    fm_dense_free(&m);
    fm_test_remove_dir(dir);
}

static fm_triplets *random_triplets(int64_t rows, int64_t cols, int64_t count, uint64_t seed)
{
    fm_triplets *t = calloc(1, sizeof *t);
    cr_assert_not_null(t);
    t->rows = rows;
    t->cols = cols;
    t->count = count;
    t->row = malloc(sizeof(int64_t) * (size_t)count);
    t->col = malloc(sizeof(int64_t) * (size_t)count);
    t->val = malloc(sizeof(float) * (size_t)count);
    cr_assert(t->row && t->col && t->val);
    float *u = fm_test_uniform(3 * count, seed);
    for (int64_t k = 0; k < count; k++) {
        t->row[k] = (int64_t)(u[3 * k] * (float)rows) % rows;
        t->col[k] = (int64_t)(u[3 * k + 1] * (float)cols) % cols;
        t->val[k] = ldexpf(u[3 * k + 2], (int)(k % 21) - 10);
    }
    free(u);
    return t;
}

Test(mtx, triplets_round_trip)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "X.mtx");
    fm_triplets *t = random_triplets(50, 70, 1000, 3), *back = NULL;
    t->row[0] = 49;   // the corners, 1-based in the file
    t->col[0] = 69;
    t->row[1] = 0;
    t->col[1] = 0;
    cr_assert_eq(fm_mtx_write_triplets(path, t, "sample", msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_test_count_files(dir), 1);
    cr_assert_eq(fm_mtx_read(&back, path, false, msg), FM_OK, "%s", msg);
    cr_assert_eq(back->rows, 50);
    cr_assert_eq(back->cols, 70);
    cr_assert_eq(back->count, 1000);
    cr_assert_not(back->array);
    for (int64_t k = 0; k < 1000; k++) expect_entry(back, k, t->row[k], t->col[k], t->val[k]);
    char *text = slurp(path);
    const char *start = "%%MatrixMarket matrix coordinate real general\n%sample\n50 70 1000\n50 70 ";
    cr_assert(strncmp(text, start, strlen(start)) == 0, "unexpected start: %.80s", text);
    free(text);
    fm_triplets_free(&t);
    fm_triplets_free(&back);
    cr_assert_null(t);
    fm_test_remove_dir(dir);
}

Test(mtx, array_triplets_write_as_coordinate)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "A.mtx");
    float values[6] = { 1, 2, 3, 4, 5, 6.5f };
    fm_triplets t = { .rows = 2, .cols = 3, .count = 6, .val = values, .array = true };
    fm_triplets *back = NULL;
    cr_assert_eq(fm_mtx_write_triplets(path, &t, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_mtx_read(&back, path, true, msg), FM_OK, "%s", msg);
    cr_assert_eq(back->count, 6);
    for (int64_t k = 0; k < 6; k++) expect_entry(back, k, k / 3, k % 3, values[k]);
    fm_triplets_free(&back);
    fm_test_remove_dir(dir);
}

static const char *const sample_text =
    "%%MatrixMarket matrix coordinate real general\n"
    "% a comment\n"
    "3 4 5\n"
    "1 1 1.5\n"
    "2 3 2e-3\n"
    "3 4 7\n"
    "3 1 0\n"
    "1 4 1e10\n";

static void expect_sample(const fm_triplets *t)
{
    cr_assert_eq(t->rows, 3);
    cr_assert_eq(t->cols, 4);
    cr_assert_eq(t->count, 5);
    expect_entry(t, 0, 0, 0, 1.5f);
    expect_entry(t, 1, 1, 2, 2e-3f);
    expect_entry(t, 2, 2, 3, 7.0f);
    expect_entry(t, 3, 2, 0, 0.0f);
    expect_entry(t, 4, 0, 3, 1e10f);
}

Test(mtx, gzip_reads_like_plain)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *plain = fm_test_path(dir, "s.mtx");
    const char *packed = fm_test_path(dir, "s.mtx.gz");
    fm_test_write(plain, sample_text);
    gzFile gz = gzopen(packed, "wb");
    cr_assert_not_null(gz);
    cr_assert_geq(gzputs(gz, sample_text), 0);
    cr_assert_eq(gzclose(gz), Z_OK);
    fm_triplets *a = NULL, *b = NULL;
    cr_assert_eq(fm_mtx_read(&a, plain, true, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_mtx_read(&b, packed, true, msg), FM_OK, "%s", msg);
    expect_sample(a);
    expect_sample(b);
    fm_triplets_free(&a);
    fm_triplets_free(&b);
    fm_test_remove_dir(dir);
}

Test(mtx, comments_blank_lines_crlf_and_tabs)
{
    fm_triplets *t = read_ok("%%matrixmarket MATRIX Coordinate REAL General\r\n"
                             "\n"
                             "% comment before the size line\r\n"
                             "   \n"
                             "\t3 4   5  \r\n"
                             "% comment between entries\n"
                             "1\t1 1.5\r\n"
                             "\n"
                             "2 3 2e-3\n"
                             "   % indented comment\n"
                             "3 4 +7\n"
                             "3 1 -0\n"
                             "\n"
                             "1 4 1e10   \n"
                             "% trailing comment\n"
                             "\n",
                             false);
    expect_sample(t);
    cr_assert_eq(signbit(t->val[3]), 0, "-0 is stored as +0");
    fm_triplets_free(&t);
    // No newline at the end of the file, a UTF-8 byte order mark in front.
    t = read_ok("\xEF\xBB\xBF%%MatrixMarket matrix coordinate real general\n1 1 1\n1 1 2.5", false);
    expect_entry(t, 0, 0, 0, 2.5f);
    fm_triplets_free(&t);
}

Test(mtx, pattern_values_are_one)
{
    fm_triplets *t = read_ok("%%MatrixMarket matrix coordinate pattern general\n"
                             "2 3 3\n1 3\n2 1\n2 2\n",
                             true);
    cr_assert_eq(t->count, 3);
    expect_entry(t, 0, 0, 2, 1.0f);
    expect_entry(t, 1, 1, 0, 1.0f);
    expect_entry(t, 2, 1, 1, 1.0f);
    fm_triplets_free(&t);
}

Test(mtx, integer_values)
{
    fm_triplets *t = read_ok("%%MatrixMarket matrix coordinate integer general\n"
                             "2 2 3\n1 1 3\n2 1 0\n2 2 +16777216\n",
                             false);
    expect_entry(t, 0, 0, 0, 3.0f);
    expect_entry(t, 1, 1, 0, 0.0f);
    expect_entry(t, 2, 1, 1, 16777216.0f);
    fm_triplets_free(&t);
    t = read_ok("%%MatrixMarket matrix array integer general\n2 1\n5\n6\n", false);
    cr_assert(t->array && t->count == 2 && t->val[0] == 5.0f && t->val[1] == 6.0f);
    fm_triplets_free(&t);
}

Test(mtx, zero_entries)
{
    fm_triplets *t = read_ok("%%MatrixMarket matrix coordinate real general\n4 5 0\n% nothing\n", true);
    cr_assert_eq(t->rows, 4);
    cr_assert_eq(t->cols, 5);
    cr_assert_eq(t->count, 0);
    fm_triplets_free(&t);
}

Test(mtx, symmetric_coordinate_expands)
{
    fm_triplets *t = read_ok("%%MatrixMarket matrix coordinate real symmetric\n"
                             "3 3 4\n1 1 1\n2 1 2\n3 3 3\n3 2 4\n",
                             true);
    cr_assert_eq(t->count, 6);
    expect_entry(t, 0, 0, 0, 1);
    expect_entry(t, 1, 1, 0, 2);
    expect_entry(t, 2, 0, 1, 2);
    expect_entry(t, 3, 2, 2, 3);
    expect_entry(t, 4, 2, 1, 4);
    expect_entry(t, 5, 1, 2, 4);
    fm_triplets_free(&t);
    t = read_ok("%%MatrixMarket matrix coordinate pattern symmetric\n2 2 1\n2 1\n", true);
    cr_assert_eq(t->count, 2);
    expect_entry(t, 0, 1, 0, 1);
    expect_entry(t, 1, 0, 1, 1);
    fm_triplets_free(&t);
}

Test(mtx, symmetric_array_expands)
{
    // Lower triangle column by column: (1,1) (2,1) (3,1) (2,2) (3,2) (3,3).
    fm_triplets *t = read_ok("%%MatrixMarket matrix array real symmetric\n3 3\n1\n2\n3\n4\n5\n6\n", false);
    cr_assert(t->array);
    cr_assert_null(t->row);
    cr_assert_null(t->col);
    cr_assert_eq(t->count, 9);
    const float expected[9] = { 1, 2, 3, 2, 4, 5, 3, 5, 6 };
    for (int k = 0; k < 9; k++) cr_assert_eq(t->val[k], expected[k], "value %d", k);
    fm_triplets_free(&t);
}

Test(mtx, array_is_column_major_in_the_file)
{
    fm_triplets *t = read_ok("%%MatrixMarket matrix array real general\n% 2 x 3\n2 3\n1\n2\n3\n4\n5\n6\n", true);
    cr_assert(t->array);
    cr_assert_eq(t->rows, 2);
    cr_assert_eq(t->cols, 3);
    cr_assert_eq(t->count, 6);
    cr_assert_null(t->row);
    const float expected[6] = { 1, 3, 5, 2, 4, 6 };   // row-major
    for (int k = 0; k < 6; k++) cr_assert_eq(t->val[k], expected[k], "value %d", k);
    fm_triplets_free(&t);
}

Test(mtx, read_dense)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "d.mtx");
    fm_test_write(path, "%%MatrixMarket matrix array real general\n2 3\n1\n2\n3\n4\n5\n6\n");
    fm_dense *m = NULL;
    cr_assert_eq(fm_mtx_read_dense(&m, path, msg), FM_OK, "%s", msg);
    cr_assert(m->rows == 2 && m->cols == 3);
    const float expected[6] = { 1, 3, 5, 2, 4, 6 };
    for (int k = 0; k < 6; k++) cr_assert_eq(m->data[k], expected[k]);
    cr_assert_eq(fm_mtx_read_dense(&m, path, msg), FM_ERR_INVALID, "a non-empty output handle");
    fm_dense_free(&m);
    const char *coo = fm_test_path(dir, "coo.mtx");
    fm_test_write(coo, sample_text);
    cr_assert_eq(fm_mtx_read_dense(&m, coo, msg), FM_ERR_PARSE);
    cr_assert_null(m);
    cr_assert_not_null(strstr(msg, "coo.mtx:1:"), "%s", msg);
    cr_assert_not_null(strstr(msg, "expected an array file"), "%s", msg);
    fm_test_remove_dir(dir);
}

// The fast float parser must agree with strtof, the correctly rounded
// reference, on every input, boundary cases included.
Test(mtx, real_values_match_strtof)
{
    enum { N = 24000 };
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "values.mtx");
    char (*text)[48] = malloc(sizeof(*text) * N);
    cr_assert_not_null(text);
    float *u = fm_test_uniform(4 * N, 11);
    for (int k = 0; k < N; k++) {
        float a = u[4 * k], b = u[4 * k + 1], c = u[4 * k + 2], d = u[4 * k + 3];
        switch (k % 6) {
        case 0: {   // any positive finite float, printed as the writers do
            uint32_t bits = (uint32_t)(a * 2139095040.0);   // below the bits of +Inf
            float f;
            memcpy(&f, &bits, sizeof f);
            snprintf(text[k], sizeof text[k], "%.9g", (double)f);
            break;
        }
        case 1: {   // random decimal, up to 19 digits, point anywhere, exponent
            unsigned long long mant = (unsigned long long)(a * 1e9) * 1000000000ULL + (unsigned long long)(b * 1e9);
            int point = (int)(c * 19), exp10 = (int)(d * 76) - 40 - point;   // below 1e36
            char digits[32];
            snprintf(digits, sizeof digits, "%019llu", mant);
            snprintf(text[k], sizeof text[k], "%.*s.%se%d", point, digits, digits + point, exp10);
            break;
        }
        case 2:
        case 3: {   // a float rounding boundary (midpoint) and its neighbourhood
            float f = ldexpf(1.0f + a, (int)(b * 200) - 100);
            double mid = ((double)f + (double)nextafterf(f, INFINITY)) / 2;
            static const int precision[] = { 9, 12, 16, 17, 18, 19, 30 };
            int p = precision[(int)(c * 7) % 7];
            double x = k % 6 == 2 ? mid : nextafter(mid, d < 0.5f ? 0.0 : INFINITY);
            snprintf(text[k], sizeof text[k], "%.*g", p, x);
            break;
        }
        case 4:     // short decimals
            snprintf(text[k], sizeof text[k], "%.*f", (int)(b * 6), (double)(a * 1000));
            break;
        default:    // integers, leading zeros, huge and tiny exponents
            snprintf(text[k], sizeof text[k], "%s%de%d", k % 12 == 5 ? "000" : "",
                     (int)(a * 100000), (int)(b * 80) - 50);
            break;
        }
    }
    free(u);
    // Hand-picked: ties in the decimal, near-ties within 19 digits, extremes.
    const char *picked[] = { "1.00000005960464477539", "1.00000005960464478", "1.00000005960464477",
                             "1.000000059604644775390625", "3.40282347e38", "3.4028235e38",
                             "1.17549435e-38", "1.4e-45", "7e-46", "0.0000000000000000000001",
                             "16777217", "16777219", "9007199254740993", "0", "0.0", "00", "1.", ".5",
                             "5e-324", "1e-400", "0x1.8p1" };
    int picked_n = (int)(sizeof picked / sizeof picked[0]);
    for (int k = 0; k < picked_n; k++) snprintf(text[k], sizeof text[k], "%s", picked[k]);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "%%%%MatrixMarket matrix array real general\n%d 1\n", N);
    for (int k = 0; k < N; k++) fprintf(f, "%s\n", text[k]);
    fclose(f);
    fm_triplets *t = NULL;
    cr_assert_eq(fm_mtx_read(&t, path, false, msg), FM_OK, "%s", msg);
    for (int k = 0; k < N; k++) {
        float want = strtof(text[k], NULL);
        cr_assert(t->val[k] == want, "\"%s\": read %a, strtof gives %a", text[k], (double)t->val[k], (double)want);
    }
    cr_assert_eq(t->val[1], 0x1.000002p0f, "above the tie rounds up");
    cr_assert_eq(t->val[2], 1.0f, "below the tie rounds down");
    cr_assert_eq(t->val[3], 1.0f, "an exact tie rounds to even");
    fm_triplets_free(&t);
    free(text);
    fm_test_remove_dir(dir);
}

Test(mtx, many_lines)
{
    enum { ROWS = 3000, COLS = 2000, N = 200000 };
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "big.mtx.gz");
    gzFile gz = gzopen(path, "wb1");
    cr_assert_not_null(gz);
    gzprintf(gz, "%%%%MatrixMarket matrix coordinate real general\n%d %d %d\n", ROWS, COLS, N);
    for (int k = 0; k < N; k++)   // distinct coordinates: k -> (k mod ROWS, k div ROWS)
        gzprintf(gz, "%d %d %.9g\n", k % ROWS + 1, k / ROWS + 1, (double)(k % 1000) / 8);
    cr_assert_eq(gzclose(gz), Z_OK);
    fm_triplets *t = NULL;
    cr_assert_eq(fm_mtx_read(&t, path, true, msg), FM_OK, "%s", msg);
    cr_assert_eq(t->count, N);
    for (int k = 0; k < N; k += 997) expect_entry(t, k, k % ROWS, k / ROWS, (float)(k % 1000) / 8);
    fm_triplets_free(&t);
    fm_test_remove_dir(dir);
}

//------------------------------------------------------------------------------
// Bad input: the header
//------------------------------------------------------------------------------

#define COO "%%MatrixMarket matrix coordinate real general\n"
#define ARR "%%MatrixMarket matrix array real general\n"

Test(mtx, empty_file)
{
    EXPECT_PARSE_ERROR("", "bad.mtx:1:", "empty", "%%MatrixMarket");
    EXPECT_PARSE_ERROR("\n", "bad.mtx:1:", "expected the header");
}

Test(mtx, missing_or_wrong_header)
{
    EXPECT_PARSE_ERROR("3 3 1\n1 1 1\n", "bad.mtx:1:", "expected the header", "found \"3 3 1\"");
    EXPECT_PARSE_ERROR("% just a comment\n" COO "1 1 0\n", "bad.mtx:1:", "expected the header");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate real\n1 1 0\n", "bad.mtx:1:",
                       "expected 5 words", "found 4");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate real general extra\n1 1 0\n", "bad.mtx:1:",
                       "expected 5 words", "found 6");
}

Test(mtx, unknown_header_words)
{
    EXPECT_PARSE_ERROR("%%MatrixMarket tensor coordinate real general\n", "bad.mtx:1:",
                       "unknown object \"tensor\"");
    EXPECT_PARSE_ERROR("%%MatrixMarket vector coordinate real general\n", "bad.mtx:1:",
                       "unsupported object \"vector\"");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix sparse real general\n", "bad.mtx:1:",
                       "unknown format \"sparse\"", "coordinate or array");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate float general\n", "bad.mtx:1:",
                       "unknown field \"float\"", "real, integer or pattern");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate real lower\n", "bad.mtx:1:",
                       "unknown symmetry \"lower\"", "general or symmetric");
}

Test(mtx, unsupported_header_words)
{
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n", "bad.mtx:1:",
                       "unsupported field \"complex\"");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate real hermitian\n", "bad.mtx:1:",
                       "unsupported symmetry \"hermitian\"");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate real skew-symmetric\n", "bad.mtx:1:",
                       "unsupported symmetry \"skew-symmetric\"");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix array pattern general\n2 2\n", "bad.mtx:1:",
                       "\"pattern\" is only valid with the coordinate format");
}

//------------------------------------------------------------------------------
// Bad input: the size line
//------------------------------------------------------------------------------

Test(mtx, size_line_missing_or_malformed)
{
    EXPECT_PARSE_ERROR(COO "% only comments\n\n", "bad.mtx:3:", "ended before the size line",
                       "\"rows cols entries\"");
    EXPECT_PARSE_ERROR(ARR, "bad.mtx:1:", "ended before the size line", "\"rows cols\"");
    EXPECT_PARSE_ERROR(COO "% c\n3 3\n", "bad.mtx:3:", "expected 3 fields on the size line", "found 2");
    EXPECT_PARSE_ERROR(ARR "3 3 9\n", "bad.mtx:2:", "expected 2 fields on the size line", "found 3");
    EXPECT_PARSE_ERROR(COO "0 3 0\n", "bad.mtx:2:", "positive integer number of rows", "\"0\"");
    EXPECT_PARSE_ERROR(COO "3 -1 0\n", "bad.mtx:2:", "positive integer number of columns", "\"-1\"");
    EXPECT_PARSE_ERROR(COO "3 x 0\n", "bad.mtx:2:", "number of columns", "\"x\"");
    EXPECT_PARSE_ERROR(COO "3 3 2.5\n", "bad.mtx:2:", "nonnegative integer number of entries", "\"2.5\"");
    EXPECT_PARSE_ERROR(COO "3 3 -2\n", "bad.mtx:2:", "nonnegative integer number of entries");
    EXPECT_PARSE_ERROR(COO "99999999999999999999 3 0\n", "bad.mtx:2:", "does not fit in 64 bits");
}

Test(mtx, dimension_overflow)
{
    EXPECT_PARSE_ERROR(COO "4294967296 4294967296 1\n", "bad.mtx:2:",
                       "dimensions 4294967296 x 4294967296 overflow");
    EXPECT_PARSE_ERROR(ARR "9223372036854775807 2\n", "bad.mtx:2:", "overflow");
    // Fits in int64 but not in memory as floats: refused before allocating.
    expect_error_named("bad.mtx", ARR "3000000000 3000000000\n", false, FM_ERR_MEMORY, "bad.mtx:2:",
                       "too large", NULL);
}

// More rows than a square matrix could have without overflowing the count of
// its lower triangle, n(n+1)/2: a valid shape for a general matrix of few
// columns (found by fuzzing: the triangle was counted, and overflowed, for
// every file; the sanitizer build traps on it).
Test(mtx, tall_matrix_of_few_columns)
{
    // its graph would need 37 GiB of row pointers: a limit above that lets
    // the read itself through (the limit is tested in test_memory)
    fm_set_memory_limit((uint64_t)1 << 40);
    fm_triplets *t = read_ok(COO "5000000000 1 1\n4999999999 1 2.5\n", false);
    fm_set_memory_limit(0);
    cr_assert(t->rows == 5000000000 && t->cols == 1 && t->count == 1, "%lld x %lld, %lld entries",
              (long long)t->rows, (long long)t->cols, (long long)t->count);
    expect_entry(t, 0, 4999999998, 0, 2.5f);
    fm_triplets_free(&t);
}

Test(mtx, too_many_declared_entries)
{
    EXPECT_PARSE_ERROR(COO "2 2 5\n", "bad.mtx:2:", "5 entries declared", "more than the 4");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate real symmetric\n3 3 7\n", "bad.mtx:2:",
                       "more than the 6", "lower triangle");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate real symmetric\n3 4 1\n1 1 1\n", "bad.mtx:2:",
                       "must be square", "3 x 4");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix array real symmetric\n2 3\n", "bad.mtx:2:", "must be square");
}

//------------------------------------------------------------------------------
// Bad input: the entries
//------------------------------------------------------------------------------

Test(mtx, wrong_field_counts)
{
    EXPECT_PARSE_ERROR(COO "5 5 3\n1 1 1\n% c\n\n2 2\n3 3 3\n", "bad.mtx:6:",
                       "expected 3 fields \"row col value\", found 2");
    EXPECT_PARSE_ERROR(COO "5 5 1\n1 1 1 1\n", "bad.mtx:3:", "expected 3 fields", "found 4");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate pattern general\n5 5 1\n1 1 1\n", "bad.mtx:3:",
                       "expected 2 fields \"row col\", found 3");
    EXPECT_PARSE_ERROR(ARR "2 1\n1 2\n2\n", "bad.mtx:3:", "expected 1 field \"value\"", "found 2");
}

Test(mtx, index_out_of_range)
{
    EXPECT_PARSE_ERROR(COO "5 4 2\n1 1 1\n0 2 1\n", "bad.mtx:4:", "row index 0 out of range 1..5");
    EXPECT_PARSE_ERROR(COO "5 4 2\n1 1 1\n6 2 1\n", "bad.mtx:4:", "row index 6 out of range 1..5");
    EXPECT_PARSE_ERROR(COO "5 4 2\n1 1 1\n2 5 1\n", "bad.mtx:4:", "column index 5 out of range 1..4");
    EXPECT_PARSE_ERROR(COO "5 4 1\n-1 1 1\n", "bad.mtx:3:", "row index -1 out of range 1..5");
    EXPECT_PARSE_ERROR(COO "5 4 1\n1 99999999999999999999 1\n", "bad.mtx:3:", "column index",
                       "out of range 1..4");
}

Test(mtx, non_numeric_tokens)
{
    EXPECT_PARSE_ERROR(COO "5 4 1\nx 1 1\n", "bad.mtx:3:", "expected an integer row index", "\"x\"");
    EXPECT_PARSE_ERROR(COO "5 4 1\n1 2.0 1\n", "bad.mtx:3:", "expected an integer column index", "\"2.0\"");
    EXPECT_PARSE_ERROR(COO "5 4 1\n1 1 abc\n", "bad.mtx:3:", "expected a real value", "\"abc\"");
    EXPECT_PARSE_ERROR(COO "5 4 1\n1 1 -\n", "bad.mtx:3:", "expected a real value", "\"-\"");
    EXPECT_PARSE_ERROR(ARR "1 1\nvalue\n", "bad.mtx:3:", "expected a real value", "\"value\"");
}

Test(mtx, trailing_garbage)
{
    EXPECT_PARSE_ERROR(COO "5 4 1\n1 1 3x\n", "bad.mtx:3:", "expected a real value", "\"3x\"",
                       "trailing characters \"x\"");
    EXPECT_PARSE_ERROR(COO "5 4 1\n1 1 1.5e\n", "bad.mtx:3:", "trailing characters \"e\"");
    EXPECT_PARSE_ERROR(COO "5 4 1\n1 1 1,5\n", "bad.mtx:3:", "trailing characters \",5\"");
    EXPECT_PARSE_ERROR(COO "5 4 1\n2x 1 1\n", "bad.mtx:3:", "expected an integer row index", "\"2x\"");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate integer general\n5 4 1\n1 1 1.5\n", "bad.mtx:3:",
                       "expected an integer value", "\"1.5\"");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate integer general\n5 4 1\n1 1 1e3\n", "bad.mtx:3:",
                       "expected an integer value");
}

Test(mtx, not_finite)
{
    EXPECT_PARSE_ERROR(COO "2 2 2\n1 1 1\n2 2 nan\n", "bad.mtx:4:", "\"nan\"", "not finite");
    EXPECT_PARSE_ERROR(COO "2 2 1\n1 1 inf\n", "bad.mtx:3:", "not finite");
    EXPECT_PARSE_ERROR(COO "2 2 1\n1 1 Infinity\n", "bad.mtx:3:", "not finite");
    EXPECT_PARSE_ERROR(COO "2 2 1\n1 1 1e300\n", "bad.mtx:3:", "\"1e300\"", "not finite");
    EXPECT_PARSE_ERROR(COO "2 2 1\n1 1 3.5e38\n", "bad.mtx:3:", "not finite");
    EXPECT_PARSE_ERROR(ARR "2 1\n1\n1e39\n", "bad.mtx:4:", "not finite");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate integer general\n2 2 1\n1 1 99999999999999999999\n",
                       "bad.mtx:3:", "does not fit in 64 bits");
}

Test(mtx, negative_values)
{
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate integer general\n2 2 2\n1 1 1\n2 1 -3\n", "bad.mtx:4:",
                       "negative value -3: nonnegative matrix factorization needs X >= 0");
    EXPECT_PARSE_ERROR(COO "2 2 1\n1 1 -1e-20\n", "bad.mtx:3:", "negative value -1e-20");
    EXPECT_PARSE_ERROR(ARR "2 1\n1\n-0.5\n", "bad.mtx:4:", "negative value -0.5");
}

Test(mtx, truncated_data)
{
    EXPECT_PARSE_ERROR(COO "5 5 4\n1 1 1\n2 2 2\n% the end\n", "bad.mtx:5:", "ended after 2 of the 4 entries",
                       "declared on line 2");
    EXPECT_PARSE_ERROR(COO "% c\n5 5 4\n", "bad.mtx:3:", "ended after 0 of the 4 entries", "declared on line 3");
    EXPECT_PARSE_ERROR(COO "5 5 2\n1 1 1\n2 2", "bad.mtx:4:", "expected 3 fields", "found 2");
    EXPECT_PARSE_ERROR(ARR "2 3\n1\n2\n3\n4\n", "bad.mtx:6:", "ended after 4 of the 6 values", "line 2");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix array real symmetric\n3 3\n1\n2\n3\n4\n5\n", "bad.mtx:7:",
                       "ended after 5 of the 6 values");
}

Test(mtx, too_many_entries)
{
    EXPECT_PARSE_ERROR(COO "5 5 2\n1 1 1\n2 2 2\n% fine\n3 3 3\n", "bad.mtx:6:",
                       "more entries than the 2 declared on line 2");
    EXPECT_PARSE_ERROR(COO "5 5 0\n1 1 1\n", "bad.mtx:3:", "more entries than the 0 declared");
    EXPECT_PARSE_ERROR(ARR "1 2\n1\n2\n\n3\n", "bad.mtx:6:", "more values than the 2");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix array real symmetric\n2 2\n1\n2\n3\n4\n", "bad.mtx:6:",
                       "more values than the 3");
}

Test(mtx, symmetric_upper_triangle)
{
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n1 1 1\n1 2 1\n", "bad.mtx:4:",
                       "entry (1, 2) is above the diagonal", "lower triangle");
}

Test(mtx, long_lines_and_binary)
{
    size_t n = 70000;
    char *text = malloc(n + 200);
    cr_assert_not_null(text);
    strcpy(text, COO "% c\n");
    size_t head = strlen(text);
    memset(text + head, ' ', n);
    strcpy(text + head + n, "3 3 0\n");
    EXPECT_PARSE_ERROR(text, "bad.mtx:3:", "line longer than 65536 characters");
    // 65536 characters of spaces and a size line fit.
    memset(text + head, ' ', 65530);
    strcpy(text + head + 65530, "3 3 0\n");
    fm_triplets *t = read_ok(text, false);
    cr_assert_eq(t->rows, 3);
    fm_triplets_free(&t);
    free(text);
    // A NUL byte in the middle of a line.
    char dir[256], msg[FM_MSG_LEN];
    strcpy(dir, fm_test_tmpdir());
    const char *path = fm_test_path(dir, "bin.mtx");
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fwrite(COO "2 2 1\n1 1\0 1\n", 1, sizeof(COO) - 1 + 13, f);
    fclose(f);
    cr_assert_eq(fm_mtx_read(&t, path, false, msg), FM_ERR_PARSE);
    cr_assert_not_null(strstr(msg, "bin.mtx:3:"), "%s", msg);
    cr_assert_not_null(strstr(msg, "NUL byte"), "%s", msg);
    fm_test_remove_dir(dir);
}

//------------------------------------------------------------------------------
// Bad input: files
//------------------------------------------------------------------------------

Test(mtx, nonexistent_file)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "missing.mtx");
    fm_triplets *t = NULL;
    cr_assert_eq(fm_mtx_read(&t, path, false, msg), FM_ERR_IO);
    cr_assert_null(t);
    cr_assert_not_null(strstr(msg, path), "%s", msg);
    cr_assert_not_null(strstr(msg, "cannot open"), "%s", msg);
    cr_assert_not_null(strstr(msg, strerror(ENOENT)), "%s", msg);
    fm_dense *m = NULL;
    cr_assert_eq(fm_mtx_read_dense(&m, path, msg), FM_ERR_IO);
    cr_assert_null(m);
    fm_test_remove_dir(dir);
}

Test(mtx, directory)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    fm_triplets *t = NULL;
    cr_assert_eq(fm_mtx_read(&t, dir, false, msg), FM_ERR_IO);
    cr_assert_null(t);
    cr_assert_not_null(strstr(msg, dir), "%s", msg);
    cr_assert_not_null(strstr(msg, "is a directory"), "%s", msg);
    fm_test_remove_dir(dir);
}

Test(mtx, truncated_gzip_is_a_read_error)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "cut.mtx.gz");
    gzFile gz = gzopen(path, "wb");
    cr_assert_not_null(gz);
    gzputs(gz, COO "1000 1000 20000\n");
    for (int k = 0; k < 20000; k++) gzprintf(gz, "%d %d %d\n", k % 1000 + 1, k / 1000 + 1, k);
    cr_assert_eq(gzclose(gz), Z_OK);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(truncate(path, st.st_size / 2), 0);
    fm_triplets *t = NULL;
    cr_assert_eq(fm_mtx_read(&t, path, false, msg), FM_ERR_IO, "%s", msg);
    cr_assert_null(t);
    cr_assert_not_null(strstr(msg, "cut.mtx.gz:"), "%s", msg);
    cr_assert_not_null(strstr(msg, "read error"), "%s", msg);
    fm_test_remove_dir(dir);
}

Test(mtx, bad_arguments)
{
    char msg[FM_MSG_LEN];
    fm_triplets *t = (fm_triplets *)&msg;   // not empty
    cr_assert_eq(fm_mtx_read(&t, "x.mtx", false, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_mtx_read(NULL, "x.mtx", false, msg), FM_ERR_INVALID);
    t = NULL;
    cr_assert_eq(fm_mtx_read(&t, NULL, false, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_mtx_write_dense("x.mtx", NULL, NULL, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_mtx_write_triplets(NULL, NULL, NULL, msg), FM_ERR_INVALID);
    fm_triplets_free(NULL);
    fm_triplets_free(&t);
}

//------------------------------------------------------------------------------
// Duplicates
//------------------------------------------------------------------------------

static const char *const duplicated_text =
    COO "% entries\n"
    "5 5 6\n"
    "% more\n"
    "3 4 1\n"     // line 5
    "1 1 1\n"
    "% between\n"
    "2 2 1\n"
    "3 4 2\n"     // line 9: (3, 4) again
    "1 1 5\n"     // line 10: (1, 1) again, found later
    "5 5 1\n";

Test(mtx, duplicates_are_errors)
{
    expect_error_named("r.mtx", duplicated_text, true, FM_ERR_PARSE,
                       "r.mtx:9: duplicate entry (3, 4), first given on line 5", NULL);
    // In a symmetric file, the mirrored copies are not duplicates; a repeat is.
    fm_triplets *t = read_ok("%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n2 1 1\n3 2 1\n1 1 1\n", true);
    cr_assert_eq(t->count, 5);
    fm_triplets_free(&t);
    expect_error_named("s.mtx", "%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n2 1 1\n3 2 1\n2 1 1\n",
                       true, FM_ERR_PARSE, "s.mtx:5: duplicate entry (2, 1), first given on line 3", NULL);
}

Test(mtx, duplicates_are_kept)
{
    fm_triplets *t = read_ok(duplicated_text, false);
    cr_assert_eq(t->count, 6, "duplicates are left for the graph builder to sum");
    expect_entry(t, 0, 2, 3, 1);
    expect_entry(t, 3, 2, 3, 2);
    expect_entry(t, 1, 0, 0, 1);
    expect_entry(t, 4, 0, 0, 5);
    fm_triplets_free(&t);
}

// Large dimensions make the key span several radix passes.
Test(mtx, duplicate_among_many)
{
    enum { N = 30000 };
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "many.mtx");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "%s100000000 300000 %d\n", COO, N);
    for (int k = 0; k < N; k++) {
        long long row = (long long)(k * 7919LL) % 100000000 + 1, col = (k * 31) % 300000 + 1;
        if (k == N - 5) { row = 7919LL * 1234 + 1; col = 31 * 1234 + 1; }   // entry 1234 again
        fprintf(f, "%lld %lld 1\n", row, col);
    }
    fclose(f);
    fm_triplets *t = NULL;
    cr_assert_eq(fm_mtx_read(&t, path, true, msg), FM_ERR_PARSE);
    cr_assert_null(t);
    char expected[128];
    snprintf(expected, sizeof expected, "many.mtx:%d: duplicate entry (%lld, %d), first given on line %d",
             N - 5 + 3, 7919LL * 1234 + 1, 31 * 1234 + 1, 1234 + 3);
    cr_assert_not_null(strstr(msg, expected), "expected \"%s\", got: %s", expected, msg);
    cr_assert_eq(fm_mtx_read(&t, path, false, msg), FM_OK, "%s", msg);
    cr_assert_eq(t->count, N);
    fm_triplets_free(&t);
    fm_test_remove_dir(dir);
}

//------------------------------------------------------------------------------
// Writers leave nothing behind
//------------------------------------------------------------------------------

Test(mtx, writer_into_missing_directory)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    char missing[512];
    snprintf(missing, sizeof missing, "%s/no/such/dir/W.mtx", dir);
    fm_dense *m = random_dense(3, 2, 1);
    cr_assert_eq(fm_mtx_write_dense(missing, m, NULL, msg), FM_ERR_IO);
    cr_assert_not_null(strstr(msg, missing), "%s", msg);
    cr_assert_eq(fm_test_count_files(dir), 0);
    fm_triplets *t = random_triplets(4, 4, 5, 2);
    cr_assert_eq(fm_mtx_write_triplets(missing, t, "c", msg), FM_ERR_IO);
    cr_assert_eq(fm_test_count_files(dir), 0);
    fm_triplets_free(&t);
    fm_dense_free(&m);
    fm_test_remove_dir(dir);
}

Test(mtx, writer_replaces_and_leaves_one_file)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "out.mtx");
    fm_test_write(path, "old content\n");
    fm_dense *m = random_dense(4, 5, 3), *back = NULL;
    cr_assert_eq(fm_mtx_write_dense(path, m, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_test_count_files(dir), 1);
    cr_assert_eq(fm_mtx_read_dense(&back, path, msg), FM_OK, "%s", msg);
    cr_assert_eq(memcmp(back->data, m->data, sizeof(float) * 20), 0);
    fm_dense_free(&back);
    fm_dense_free(&m);
    fm_test_remove_dir(dir);
}

Test(mtx, writer_onto_a_directory)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *sub = fm_test_path(dir, "sub");
    cr_assert_eq(mkdir(sub, 0755), 0);
    fm_dense *m = random_dense(2, 2, 4);
    cr_assert_eq(fm_mtx_write_dense(sub, m, NULL, msg), FM_ERR_IO);
    cr_assert_not_null(strstr(msg, "rename"), "%s", msg);
    cr_assert_eq(fm_test_count_files(dir), 1, "only the directory remains");
    fm_dense_free(&m);
    rmdir(sub);
    fm_test_remove_dir(dir);
}

Test(mtx, writer_rejects_bad_triplets)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "t.mtx");
    fm_triplets *t = random_triplets(4, 4, 5, 5);
    t->col[3] = 4;
    cr_assert_eq(fm_mtx_write_triplets(path, t, NULL, msg), FM_ERR_INVALID);
    cr_assert_not_null(strstr(msg, "entry 3"), "%s", msg);
    cr_assert_eq(fm_test_count_files(dir), 0);
    fm_triplets_free(&t);
    fm_test_remove_dir(dir);
}

// A write that fails midway (here the file size limit, as a full disk would)
// is reported, and neither the temporary file nor a partial output remains;
// an existing file at the path is left as it was.
Test(mtx, writer_failure_midway)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "W.mtx");
    fm_test_write(path, "previous\n");
    fm_dense *m = random_dense(1000, 100, 6);
    fm_triplets *t = random_triplets(1000, 1000, 100000, 6);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, small = { .rlim_cur = 64 * 1024 };
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    small.rlim_max = old.rlim_max;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    int dense_status = fm_mtx_write_dense(path, m, NULL, msg);
    char dense_msg[FM_MSG_LEN];
    strcpy(dense_msg, msg);
    int triplets_status = fm_mtx_write_triplets(path, t, NULL, msg);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert_eq(dense_status, FM_ERR_IO, "%s", dense_msg);
    cr_assert_not_null(strstr(dense_msg, "W.mtx: write failed"), "%s", dense_msg);
    cr_assert_eq(triplets_status, FM_ERR_IO, "%s", msg);
    cr_assert_eq(fm_test_count_files(dir), 1);
    char *text = slurp(path);
    cr_assert_str_eq(text, "previous\n");
    free(text);
    fm_triplets_free(&t);
    fm_dense_free(&m);
    fm_test_remove_dir(dir);
}
