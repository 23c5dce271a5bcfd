// Matrix Market reading (io/mtx) of good input: gzip, comments and blank
// lines, the pattern, integer and symmetric kinds, the array layout, float
// values as strtof reads them, many lines, and duplicates (an error or kept).
// Writing: tests/test_mtx_writing.c; bad input: tests/test_mtx_hostile.c.
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "helpers.h"
#include "mtx_fixtures.h"

TestSuite(mtx, .init = fm_test_setup);

#define COO "%%MatrixMarket matrix coordinate real general\n"

//------------------------------------------------------------------------------
// Good input
//------------------------------------------------------------------------------

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
    mtx_expect_entry(t, 0, 0, 0, 1.5f);
    mtx_expect_entry(t, 1, 1, 2, 2e-3f);
    mtx_expect_entry(t, 2, 2, 3, 7.0f);
    mtx_expect_entry(t, 3, 2, 0, 0.0f);
    mtx_expect_entry(t, 4, 0, 3, 1e10f);
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
    fm_triplets *t = mtx_read_ok("%%matrixmarket MATRIX Coordinate REAL General\r\n"
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
    t = mtx_read_ok("\xEF\xBB\xBF%%MatrixMarket matrix coordinate real general\n1 1 1\n1 1 2.5", false);
    mtx_expect_entry(t, 0, 0, 0, 2.5f);
    fm_triplets_free(&t);
}

Test(mtx, pattern_values_are_one)
{
    fm_triplets *t = mtx_read_ok("%%MatrixMarket matrix coordinate pattern general\n"
                             "2 3 3\n1 3\n2 1\n2 2\n",
                             true);
    cr_assert_eq(t->count, 3);
    mtx_expect_entry(t, 0, 0, 2, 1.0f);
    mtx_expect_entry(t, 1, 1, 0, 1.0f);
    mtx_expect_entry(t, 2, 1, 1, 1.0f);
    fm_triplets_free(&t);
}

Test(mtx, integer_values)
{
    fm_triplets *t = mtx_read_ok("%%MatrixMarket matrix coordinate integer general\n"
                             "2 2 3\n1 1 3\n2 1 0\n2 2 +16777216\n",
                             false);
    mtx_expect_entry(t, 0, 0, 0, 3.0f);
    mtx_expect_entry(t, 1, 1, 0, 0.0f);
    mtx_expect_entry(t, 2, 1, 1, 16777216.0f);
    fm_triplets_free(&t);
    t = mtx_read_ok("%%MatrixMarket matrix array integer general\n2 1\n5\n6\n", false);
    cr_assert(t->array && t->count == 2 && t->val[0] == 5.0f && t->val[1] == 6.0f);
    fm_triplets_free(&t);
}

Test(mtx, zero_entries)
{
    fm_triplets *t = mtx_read_ok("%%MatrixMarket matrix coordinate real general\n4 5 0\n% nothing\n", true);
    cr_assert_eq(t->rows, 4);
    cr_assert_eq(t->cols, 5);
    cr_assert_eq(t->count, 0);
    fm_triplets_free(&t);
}

Test(mtx, symmetric_coordinate_expands)
{
    fm_triplets *t = mtx_read_ok("%%MatrixMarket matrix coordinate real symmetric\n"
                             "3 3 4\n1 1 1\n2 1 2\n3 3 3\n3 2 4\n",
                             true);
    cr_assert_eq(t->count, 6);
    mtx_expect_entry(t, 0, 0, 0, 1);
    mtx_expect_entry(t, 1, 1, 0, 2);
    mtx_expect_entry(t, 2, 0, 1, 2);
    mtx_expect_entry(t, 3, 2, 2, 3);
    mtx_expect_entry(t, 4, 2, 1, 4);
    mtx_expect_entry(t, 5, 1, 2, 4);
    fm_triplets_free(&t);
    t = mtx_read_ok("%%MatrixMarket matrix coordinate pattern symmetric\n2 2 1\n2 1\n", true);
    cr_assert_eq(t->count, 2);
    mtx_expect_entry(t, 0, 1, 0, 1);
    mtx_expect_entry(t, 1, 0, 1, 1);
    fm_triplets_free(&t);
}

Test(mtx, symmetric_array_expands)
{
    // Lower triangle column by column: (1,1) (2,1) (3,1) (2,2) (3,2) (3,3).
    fm_triplets *t = mtx_read_ok("%%MatrixMarket matrix array real symmetric\n3 3\n1\n2\n3\n4\n5\n6\n", false);
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
    fm_triplets *t = mtx_read_ok("%%MatrixMarket matrix array real general\n% 2 x 3\n2 3\n1\n2\n3\n4\n5\n6\n", true);
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
    for (int k = 0; k < N; k += 997) mtx_expect_entry(t, k, k % ROWS, k / ROWS, (float)(k % 1000) / 8);
    fm_triplets_free(&t);
    fm_test_remove_dir(dir);
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
    mtx_expect_error_named("r.mtx", duplicated_text, true, FM_ERR_PARSE,
                       "r.mtx:9: duplicate entry (3, 4), first given on line 5", NULL);
    // In a symmetric file, the mirrored copies are not duplicates; a repeat is.
    fm_triplets *t = mtx_read_ok("%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n2 1 1\n3 2 1\n1 1 1\n", true);
    cr_assert_eq(t->count, 5);
    fm_triplets_free(&t);
    mtx_expect_error_named("s.mtx", "%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n2 1 1\n3 2 1\n2 1 1\n",
                       true, FM_ERR_PARSE, "s.mtx:5: duplicate entry (2, 1), first given on line 3", NULL);
}

Test(mtx, duplicates_are_kept)
{
    fm_triplets *t = mtx_read_ok(duplicated_text, false);
    cr_assert_eq(t->count, 6, "duplicates are left for the graph builder to sum");
    mtx_expect_entry(t, 0, 2, 3, 1);
    mtx_expect_entry(t, 3, 2, 3, 2);
    mtx_expect_entry(t, 1, 0, 0, 1);
    mtx_expect_entry(t, 4, 0, 0, 5);
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
