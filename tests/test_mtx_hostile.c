// Matrix Market reading (io/mtx) of bad input: the header, the size line,
// the entries, files that cannot be read and bad arguments, each with the
// file and line and what is wrong in its message, and no output.
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "helpers.h"
#include "mtx_fixtures.h"

TestSuite(mtx_hostile, .init = fm_test_setup);

#define EXPECT_PARSE_ERROR(text, where, ...) \
    mtx_expect_error_named("bad.mtx", (text), false, FM_ERR_PARSE, (where), __VA_ARGS__, NULL)

//------------------------------------------------------------------------------
// Bad input: the header
//------------------------------------------------------------------------------

#define COO "%%MatrixMarket matrix coordinate real general\n"
#define ARR "%%MatrixMarket matrix array real general\n"

Test(mtx_hostile, empty_file)
{
    EXPECT_PARSE_ERROR("", "bad.mtx:1:", "empty", "%%MatrixMarket");
    EXPECT_PARSE_ERROR("\n", "bad.mtx:1:", "expected the header");
}

Test(mtx_hostile, missing_or_wrong_header)
{
    EXPECT_PARSE_ERROR("3 3 1\n1 1 1\n", "bad.mtx:1:", "expected the header", "found \"3 3 1\"");
    EXPECT_PARSE_ERROR("% just a comment\n" COO "1 1 0\n", "bad.mtx:1:", "expected the header");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate real\n1 1 0\n", "bad.mtx:1:",
                       "expected 5 words", "found 4");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate real general extra\n1 1 0\n", "bad.mtx:1:",
                       "expected 5 words", "found 6");
}

Test(mtx_hostile, unknown_header_words)
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

Test(mtx_hostile, unsupported_header_words)
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

Test(mtx_hostile, size_line_missing_or_malformed)
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

Test(mtx_hostile, dimension_overflow)
{
    EXPECT_PARSE_ERROR(COO "4294967296 4294967296 1\n", "bad.mtx:2:",
                       "dimensions 4294967296 x 4294967296 overflow");
    EXPECT_PARSE_ERROR(ARR "9223372036854775807 2\n", "bad.mtx:2:", "overflow");
    // Fits in int64 but not in memory as floats: refused before allocating.
    mtx_expect_error_named("bad.mtx", ARR "3000000000 3000000000\n", false, FM_ERR_MEMORY, "bad.mtx:2:",
                       "too large", NULL);
}

// More rows than a square matrix could have without overflowing the count of
// its lower triangle, n(n+1)/2: a valid shape for a general matrix of few
// columns (found by fuzzing: the triangle was counted, and overflowed, for
// every file; the sanitizer build traps on it).
Test(mtx_hostile, tall_matrix_of_few_columns)
{
    // its graph would need 37 GiB of row pointers: a limit above that lets
    // the read itself through (the limit is tested in test_memory)
    fm_set_memory_limit((uint64_t)1 << 40);
    fm_triplets *t = mtx_read_ok(COO "5000000000 1 1\n4999999999 1 2.5\n", false);
    fm_set_memory_limit(0);
    cr_assert(t->rows == 5000000000 && t->cols == 1 && t->count == 1, "%lld x %lld, %lld entries",
              (long long)t->rows, (long long)t->cols, (long long)t->count);
    mtx_expect_entry(t, 0, 4999999998, 0, 2.5f);
    fm_triplets_free(&t);
}

Test(mtx_hostile, too_many_declared_entries)
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

Test(mtx_hostile, wrong_field_counts)
{
    EXPECT_PARSE_ERROR(COO "5 5 3\n1 1 1\n% c\n\n2 2\n3 3 3\n", "bad.mtx:6:",
                       "expected 3 fields \"row col value\", found 2");
    EXPECT_PARSE_ERROR(COO "5 5 1\n1 1 1 1\n", "bad.mtx:3:", "expected 3 fields", "found 4");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate pattern general\n5 5 1\n1 1 1\n", "bad.mtx:3:",
                       "expected 2 fields \"row col\", found 3");
    EXPECT_PARSE_ERROR(ARR "2 1\n1 2\n2\n", "bad.mtx:3:", "expected 1 field \"value\"", "found 2");
}

Test(mtx_hostile, index_out_of_range)
{
    EXPECT_PARSE_ERROR(COO "5 4 2\n1 1 1\n0 2 1\n", "bad.mtx:4:", "row index 0 out of range 1..5");
    EXPECT_PARSE_ERROR(COO "5 4 2\n1 1 1\n6 2 1\n", "bad.mtx:4:", "row index 6 out of range 1..5");
    EXPECT_PARSE_ERROR(COO "5 4 2\n1 1 1\n2 5 1\n", "bad.mtx:4:", "column index 5 out of range 1..4");
    EXPECT_PARSE_ERROR(COO "5 4 1\n-1 1 1\n", "bad.mtx:3:", "row index -1 out of range 1..5");
    EXPECT_PARSE_ERROR(COO "5 4 1\n1 99999999999999999999 1\n", "bad.mtx:3:", "column index",
                       "out of range 1..4");
}

Test(mtx_hostile, non_numeric_tokens)
{
    EXPECT_PARSE_ERROR(COO "5 4 1\nx 1 1\n", "bad.mtx:3:", "expected an integer row index", "\"x\"");
    EXPECT_PARSE_ERROR(COO "5 4 1\n1 2.0 1\n", "bad.mtx:3:", "expected an integer column index", "\"2.0\"");
    EXPECT_PARSE_ERROR(COO "5 4 1\n1 1 abc\n", "bad.mtx:3:", "expected a real value", "\"abc\"");
    EXPECT_PARSE_ERROR(COO "5 4 1\n1 1 -\n", "bad.mtx:3:", "expected a real value", "\"-\"");
    EXPECT_PARSE_ERROR(ARR "1 1\nvalue\n", "bad.mtx:3:", "expected a real value", "\"value\"");
}

Test(mtx_hostile, trailing_garbage)
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

Test(mtx_hostile, not_finite)
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

Test(mtx_hostile, negative_values)
{
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate integer general\n2 2 2\n1 1 1\n2 1 -3\n", "bad.mtx:4:",
                       "negative value -3: nonnegative matrix factorization needs X >= 0");
    EXPECT_PARSE_ERROR(COO "2 2 1\n1 1 -1e-20\n", "bad.mtx:3:", "negative value -1e-20");
    EXPECT_PARSE_ERROR(ARR "2 1\n1\n-0.5\n", "bad.mtx:4:", "negative value -0.5");
}

Test(mtx_hostile, truncated_data)
{
    EXPECT_PARSE_ERROR(COO "5 5 4\n1 1 1\n2 2 2\n% the end\n", "bad.mtx:5:", "ended after 2 of the 4 entries",
                       "declared on line 2");
    EXPECT_PARSE_ERROR(COO "% c\n5 5 4\n", "bad.mtx:3:", "ended after 0 of the 4 entries", "declared on line 3");
    EXPECT_PARSE_ERROR(COO "5 5 2\n1 1 1\n2 2", "bad.mtx:4:", "expected 3 fields", "found 2");
    EXPECT_PARSE_ERROR(ARR "2 3\n1\n2\n3\n4\n", "bad.mtx:6:", "ended after 4 of the 6 values", "line 2");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix array real symmetric\n3 3\n1\n2\n3\n4\n5\n", "bad.mtx:7:",
                       "ended after 5 of the 6 values");
}

Test(mtx_hostile, too_many_entries)
{
    EXPECT_PARSE_ERROR(COO "5 5 2\n1 1 1\n2 2 2\n% fine\n3 3 3\n", "bad.mtx:6:",
                       "more entries than the 2 declared on line 2");
    EXPECT_PARSE_ERROR(COO "5 5 0\n1 1 1\n", "bad.mtx:3:", "more entries than the 0 declared");
    EXPECT_PARSE_ERROR(ARR "1 2\n1\n2\n\n3\n", "bad.mtx:6:", "more values than the 2");
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix array real symmetric\n2 2\n1\n2\n3\n4\n", "bad.mtx:6:",
                       "more values than the 3");
}

Test(mtx_hostile, symmetric_upper_triangle)
{
    EXPECT_PARSE_ERROR("%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n1 1 1\n1 2 1\n", "bad.mtx:4:",
                       "entry (1, 2) is above the diagonal", "lower triangle");
}

Test(mtx_hostile, long_lines_and_binary)
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
    fm_triplets *t = mtx_read_ok(text, false);
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

Test(mtx_hostile, nonexistent_file)
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

Test(mtx_hostile, directory)
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

Test(mtx_hostile, truncated_gzip_is_a_read_error)
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

Test(mtx_hostile, bad_arguments)
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
