// Matrix Market reading for linear systems in double precision
// (io/mtx_system.h; writing: io/mtx_system_write.c).
//
// The same line reader as io/mtx.c (zlib for plain and gzip files alike, one
// line at a time, fields split by hand), with values parsed as doubles and
// negatives allowed. Every content error names the file, the 1-based line and
// what was expected there.
#include "mtx_parts.h"
#include "mtx_system.h"
#include "profile.h"
#include "status.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define FIRST_CAPACITY (1 << 16)      // triplets allocated before the file shows more

#define SYSTEM_HEADER_FORM \
    "\"%%MatrixMarket matrix coordinate <real|integer|pattern> <general|symmetric>\""
#define VECTOR_HEADER_FORM \
    "\"%%MatrixMarket matrix <array|coordinate> <real|integer> general\""

int fm_system_matrix_new(fm_system_matrix **out, int64_t n, int64_t count, bool symmetric, char *msg)
{
    fm_system_matrix *m = NULL;
#define FREE_ALL fm_system_matrix_free(&m)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_system_matrix_new: output handle must be non-NULL and empty");
    FM_CHECK(n > 0 && n <= FM_MAX_DIMENSION && count >= 0 && (uint64_t)count <= SIZE_MAX / sizeof(int64_t),
             FM_ERR_INVALID, "fm_system_matrix_new: n = %" PRId64 " and count = %" PRId64
             " must be positive and nonnegative", n, count);
    FM_ALLOC(m, 1);
    m->n = n;
    m->count = count;
    m->symmetric = symmetric;
    // never NULL, even for count 0, so a caller can index them freely
    FM_ALLOC(m->row, count > 0 ? count : 1);
    FM_ALLOC(m->col, count > 0 ? count : 1);
    FM_ALLOC(m->val, count > 0 ? count : 1);
    *out = m;
    return FM_OK;
#undef FREE_ALL
}

void fm_system_matrix_free(fm_system_matrix **m)
{
    if (!m || !*m) return;
    free((*m)->row);
    free((*m)->col);
    free((*m)->val);
    free(*m);
    *m = NULL;
}

//------------------------------------------------------------------------------
// Numbers (lines, header and size line: io/mtx_parts.h)
//------------------------------------------------------------------------------

// The next line that carries data: 1, 0 at the end of the file, < 0 an error.
static int next_data(fm_mtx_reader *r, char *msg)
{
    int status;
    while ((status = fm_mtx_reader_next(r, msg)) > 0 && fm_mtx_is_skipped(r->buf)) {}
    return status;
}

// A value field: a finite double, correctly rounded (strtod), or an integer.
static int parse_value(fm_mtx_reader *r, const char *token, fm_mtx_field field, double *value, char *msg)
{
#define FREE_ALL ((void)0)
    if (field == FM_MTX_INTEGER) {
        const char *stop;
        int64_t v = 0;
        const int status = fm_mtx_parse_int64(token, &v, &stop);
        if (status == NUMBER_OVERFLOW)
            MTX_LINE_FAIL(FM_ERR_PARSE, "integer value %s does not fit in 64 bits", fm_mtx_show(token).text);
        if (status != NUMBER_OK)
            MTX_LINE_FAIL(FM_ERR_PARSE, "expected an integer value (the header says integer), found %s",
                          fm_mtx_show(token).text);
        *value = (double)v;
        return FM_OK;
    }
    char *end = NULL;
    errno = 0;
    const double v = strtod(token, &end);
    if (end == token) MTX_LINE_FAIL(FM_ERR_PARSE, "expected a real value, found %s", fm_mtx_show(token).text);
    if (*end)
        MTX_LINE_FAIL(FM_ERR_PARSE, "expected a real value, found %s (trailing characters %s after the number)",
                  fm_mtx_show(token).text, fm_mtx_show(end).text);
    if (!isfinite(v))
        MTX_LINE_FAIL(FM_ERR_PARSE, "value %s is not finite (NaN, Inf and magnitudes beyond 1.8e308 are not allowed)",
                  fm_mtx_show(token).text);
    *value = v;
    return FM_OK;
#undef FREE_ALL
}

// A 1-based index field within 1..limit, returned 0-based.
static int parse_index(fm_mtx_reader *r, const char *token, const char *what, int64_t limit, int64_t *index, char *msg)
{
#define FREE_ALL ((void)0)
    const char *stop;
    int64_t v = 0;
    const int status = fm_mtx_parse_int64(token, &v, &stop);
    if (status == NUMBER_OVERFLOW || (status == NUMBER_OK && (v < 1 || v > limit)))
        MTX_LINE_FAIL(FM_ERR_PARSE, "%s index %s out of range 1..%" PRId64, what, fm_mtx_show(token).text, limit);
    if (status != NUMBER_OK)
        MTX_LINE_FAIL(FM_ERR_PARSE, "expected an integer %s index, found %s", what, fm_mtx_show(token).text);
    *index = v - 1;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// The matrix
//------------------------------------------------------------------------------

// Room for `need` triplets in m (capacity grows by doubling up to `most`, the
// declared count, so a size line that promises more than the file holds
// allocates only for what is there).
static int reserve(fm_system_matrix *m, int64_t *capacity, int64_t need, int64_t most, const fm_mtx_reader *r,
                   char *msg)
{
    if (need <= *capacity) return FM_OK;
    int64_t grown = *capacity < FIRST_CAPACITY ? FIRST_CAPACITY : *capacity;
    while (grown < need) grown = grown > INT64_MAX / 2 ? INT64_MAX : 2 * grown;
    if (grown > most) grown = most;
    if ((uint64_t)grown > SIZE_MAX / sizeof(int64_t))
        return fm_mtx_fail(FM_ERR_MEMORY, msg, r->path, r->line, "out of memory for %" PRId64 " entries", grown);
    const size_t k = (size_t)grown;
    int64_t *row = realloc(m->row, k * sizeof *row);
    if (row) m->row = row;
    int64_t *col = row ? realloc(m->col, k * sizeof *col) : NULL;
    if (col) m->col = col;
    double *val = col ? realloc(m->val, k * sizeof *val) : NULL;
    if (val) m->val = val;
    if (!val)
        return fm_mtx_fail(FM_ERR_MEMORY, msg, r->path, r->line, "out of memory growing the entries to %" PRId64, grown);
    *capacity = grown;
    return FM_OK;
}

static int read_entries(fm_mtx_reader *r, const fm_mtx_header *h, fm_system_matrix *m, char *msg)
{
#define FREE_ALL ((void)0)
    const bool pattern = h->field == FM_MTX_PATTERN;
    const int want = pattern ? 2 : 3;
    const char *form = pattern ? "\"row col\"" : "\"row col value\"";
    int64_t capacity = 0, count = 0;
    int status;
    char *field[3];
    while ((status = next_data(r, msg)) > 0) {
        if (count == h->entries)
            MTX_LINE_FAIL(FM_ERR_PARSE, "more entries than the %" PRId64 " declared on line %" PRId64, h->entries,
                      h->size_line);
        const int found = fm_mtx_split_fields(r->buf, field, 3);
        if (found != want) MTX_LINE_FAIL(FM_ERR_PARSE, "expected %d fields %s, found %d", want, form, found);
        int64_t i, j;
        double v = 1.0;
        FM_TRY(parse_index(r, field[0], "row", h->rows, &i, msg));
        FM_TRY(parse_index(r, field[1], "column", h->cols, &j, msg));
        if (!pattern) FM_TRY(parse_value(r, field[2], h->field, &v, msg));
        if (h->symmetric && i < j)
            MTX_LINE_FAIL(FM_ERR_PARSE, "entry (%" PRId64 ", %" PRId64 ") is above the diagonal: a symmetric file "
                          "holds the lower triangle (row >= column)", i + 1, j + 1);
        FM_TRY(reserve(m, &capacity, count + 1, h->entries, r, msg));
        m->row[count] = i;
        m->col[count] = j;
        m->val[count] = v;
        count++;
    }
    if (status < 0) return status;
    if (count < h->entries)
        return fm_mtx_fail(FM_ERR_PARSE, msg, r->path, r->line, "the file ended after %" PRId64 " of the %" PRId64
                         " entries declared on line %" PRId64, count, h->entries, h->size_line);
    m->count = count;
    return FM_OK;
#undef FREE_ALL
}

int fm_mtx_read_system(fm_system_matrix **out, const char *path, char *msg)
{
    fm_mtx_reader rd = { 0 }, *r = &rd;
    fm_system_matrix *m = NULL;
#define FREE_ALL do { fm_mtx_reader_close(r); fm_system_matrix_free(&m); } while (0)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_mtx_read_system: output handle must be non-NULL and empty");
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_mtx_read_system: path must be a non-empty string");
    FM_PROFILE_START(profile_clock);
    FM_TRY(fm_mtx_reader_open(r, path, msg));
    fm_mtx_header h = { 0 };
    FM_TRY(fm_mtx_read_header(r, &h, SYSTEM_HEADER_FORM, "solved", msg));
    if (h.array)
        MTX_LINE_FAIL(FM_ERR_PARSE, "expected a coordinate file %s for the matrix of a linear system, found an array "
                  "file", SYSTEM_HEADER_FORM);
    FM_TRY(fm_mtx_read_size(r, &h, msg));
    if (h.rows != h.cols) {
        int status = fm_fail_path(FM_ERR_PARSE, msg, path, ": the matrix is %" PRId64 " x %" PRId64
                                  "; a linear system needs a square matrix", h.rows, h.cols);
        FREE_ALL;
        return status;
    }
    // (fm_mtx_read_size refused more entries than the matrix, or its lower triangle, holds)
    const int64_t n = h.rows;
    FM_ALLOC(m, 1);
    m->n = n;
    m->symmetric = h.symmetric;
    FM_TRY(read_entries(r, &h, m, msg));
    // flops: none (parsing); bytes: the text parsed and the entries written (24 each)
    FM_PROFILE_STOP(profile_clock, "mtx.read_system", 0, (double)gztell(r->gz) + 24.0 * (double)m->count);
    fm_mtx_reader_close(r);
    *out = m;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// The right-hand side
//------------------------------------------------------------------------------

int fm_mtx_read_vector(double **out, const char *path, int64_t n, char *msg)
{
    fm_mtx_reader rd = { 0 }, *r = &rd;
    double *x = NULL;
    int64_t *seen = NULL;   // coordinate files: the line of each index, 0 while unseen
#define FREE_ALL do { fm_mtx_reader_close(r); free(x); free(seen); } while (0)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_mtx_read_vector: output handle must be non-NULL and empty");
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_mtx_read_vector: path must be a non-empty string");
    FM_CHECK(n > 0 && n <= FM_MAX_DIMENSION, FM_ERR_INVALID, "fm_mtx_read_vector: %s: the length %" PRId64
             " must be positive", path, n);
    FM_TRY(fm_mtx_reader_open(r, path, msg));
    fm_mtx_header h = { 0 };
    FM_TRY(fm_mtx_read_header(r, &h, VECTOR_HEADER_FORM, "solved", msg));
    if (h.symmetric) MTX_LINE_FAIL(FM_ERR_PARSE, "a right-hand side is a general n x 1 matrix, found \"symmetric\"");
    if (h.field == FM_MTX_PATTERN)
        MTX_LINE_FAIL(FM_ERR_PARSE, "a right-hand side needs values, found the field \"pattern\"");
    FM_TRY(fm_mtx_read_size(r, &h, msg));
    if (h.rows != 1 && h.cols != 1) {
        int status = fm_fail_path(FM_ERR_PARSE, msg, path, ":%" PRId64 ": the right-hand side is a %" PRId64 " x %"
                                  PRId64 " matrix, expected a vector (n x 1 or 1 x n)", h.size_line, h.rows, h.cols);
        FREE_ALL;
        return status;
    }
    const int64_t length = h.rows == 1 ? h.cols : h.rows;
    const bool by_row = h.cols == 1;   // which index of a coordinate entry counts
    if (length != n) {
        int status = fm_fail_path(FM_ERR_PARSE, msg, path, ":%" PRId64 ": the right-hand side has %" PRId64
                                  " entries (%" PRId64 " x %" PRId64 "), the matrix has %" PRId64 " rows",
                                  h.size_line, length, h.rows, h.cols, n);
        FREE_ALL;
        return status;
    }
    FM_ALLOC(x, n);
    if (!h.array) FM_ALLOC(seen, n);
    const int64_t declared = h.array ? n : h.entries;
    const int want = h.array ? 1 : 3;
    const char *form = h.array ? "\"value\" (one value per line)" : "\"row col value\"";
    int64_t given = 0;
    int status;
    char *field[3];
    while ((status = next_data(r, msg)) > 0) {
        if (given == declared)
            MTX_LINE_FAIL(FM_ERR_PARSE, "more %s than the %" PRId64 " declared on line %" PRId64,
                      h.array ? "values" : "entries", declared, h.size_line);
        const int found = fm_mtx_split_fields(r->buf, field, 3);
        if (found != want) MTX_LINE_FAIL(FM_ERR_PARSE, "expected %d field%s %s, found %d", want, want > 1 ? "s" : "",
                                     form, found);
        if (h.array) {
            FM_TRY(parse_value(r, field[0], h.field, &x[given], msg));
        } else {
            int64_t i, j;
            double v;
            FM_TRY(parse_index(r, field[0], "row", h.rows, &i, msg));
            FM_TRY(parse_index(r, field[1], "column", h.cols, &j, msg));
            FM_TRY(parse_value(r, field[2], h.field, &v, msg));
            const int64_t k = by_row ? i : j;
            if (seen[k])
                MTX_LINE_FAIL(FM_ERR_PARSE, "entry %" PRId64 " given again (first on line %" PRId64 ")", k + 1,
                              seen[k]);
            seen[k] = r->line;
            x[k] = v;
        }
        given++;
    }
    if (status < 0) {
        FREE_ALL;
        return status;
    }
    if (given < declared)
        MTX_LINE_FAIL(FM_ERR_PARSE, "the file ended after %" PRId64 " of the %" PRId64 " %s declared on line %" PRId64,
                  given, declared, h.array ? "values" : "entries", h.size_line);
    fm_mtx_reader_close(r);
    free(seen);
    *out = x;
    return FM_OK;
#undef FREE_ALL
}
