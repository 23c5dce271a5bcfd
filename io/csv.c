// Dense CSV and TSV files: a line per row of the matrix, a field per column.
// See factormer.h (fm_csv_read) for what is accepted.
//
// The separator is the first line's: a comma if it has one, else a tab (a
// line with neither is one column). Every row has the first row's number of
// fields; spaces around a field are ignored and an empty field is an error
// (no missing values: give the ratings as triplets with --kind incomplete).
// Blank lines and comments ('#' or '%') are skipped; the first other line is
// a header of column names, and skipped, when none of its fields is a
// number. Every content error names FILE:LINE (and the column).
#include "factormer.h"
#include "status.h"
#include "text_matrix_parts.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_LINE_MAX (1 << 24)        // characters on one line: 16 MiB, a few million columns

// The line without its line end (and without trailing spaces).
static void strip_end(char *line)
{
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t')) n--;
    line[n] = 0;
}

static int64_t count_fields(const char *line, char separator)
{
    int64_t n = 1;
    for (const char *c = line; *c; c++) n += *c == separator;
    return n;
}

// The next field at *p, NUL-terminated and trimmed of spaces; *p moves past
// its separator.
static char *next_field(char **p, char separator)
{
    char *start = *p, *end = strchr(start, separator);
    if (end) {
        *end = 0;
        *p = end + 1;
    } else {
        *p = start + strlen(start);
    }
    while (*start == ' ' || *start == '\t') start++;
    size_t n = strlen(start);
    while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\t')) n--;
    start[n] = 0;
    return start;
}

// Whether no field of the line is a number (a header); the line is not changed.
static bool is_header(const char *line, char separator)
{
    for (const char *p = line;;) {
        const char *end = strchr(p, separator);
        const size_t n = end ? (size_t)(end - p) : strlen(p);
        char field[128];
        if (n < sizeof field) {   // a longer field is no number a writer makes
            memcpy(field, p, n);
            field[n] = 0;
            char *f = field;
            if (fm_text_is_number(next_field(&f, separator))) return false;
        }
        if (!end) return true;
        p = end + 1;
    }
}

int fm_csv_read(fm_triplets **out, const char *path, char *msg)
{
    fm_mtx_reader reader = { .line_max = CSV_LINE_MAX }, *r = &reader;
    fm_triplets *t = NULL;
#define FREE_ALL do { fm_mtx_reader_close(r); fm_triplets_free(&t); } while (0)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_csv_read: output handle must be non-NULL and empty");
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_csv_read: path must be a non-empty string");
    FM_TRY(fm_mtx_reader_open(r, path, msg));
    FM_ALLOC(t, 1);
    t->array = true;
    int64_t cols = 0, rows = 0, capacity = 0, first_line = 0;
    char separator = ',';
    int status;
    while ((status = fm_mtx_reader_next(r, msg)) > 0) {
        if (fm_text_is_skipped(r->buf)) continue;
        strip_end(r->buf);
        if (!first_line) {
            first_line = r->line;
            separator = strchr(r->buf, ',') ? ',' : strchr(r->buf, '\t') ? '\t' : ',';
            cols = count_fields(r->buf, separator);
            if (is_header(r->buf, separator)) continue;
        }
        const int64_t found = count_fields(r->buf, separator);
        if (found != cols)
            MTX_LINE_FAIL(FM_ERR_PARSE, "expected %" PRId64 " field%s separated by %s like line %" PRId64
                          " (every row the same), found %" PRId64, cols, cols == 1 ? "" : "s",
                          separator == ',' ? "commas" : "tabs", first_line, found);
        if (rows * cols > INT64_MAX - cols || rows >= FM_MAX_DIMENSION)
            MTX_LINE_FAIL(FM_ERR_PARSE, "too many rows: a matrix has at most %" PRId64 " (2^60)", FM_MAX_DIMENSION);
        const int64_t at = rows * cols;
        if (at + cols > capacity) {
            const int64_t grown = fm_text_capacity(capacity, at + cols);
            FM_TRY(fm_text_resize((void **)&t->val, sizeof *t->val, grown, r, msg));
            capacity = grown;
        }
        char *p = r->buf;
        for (int64_t j = 0; j < cols; j++) {
            char what[64];
            snprintf(what, sizeof what, "value in column %" PRId64, j + 1);
            FM_TRY(fm_text_parse_value(r, next_field(&p, separator), what, &t->val[at + j], msg));
        }
        rows++;
    }
    if (status < 0) {   // the reader's error, in msg
        FREE_ALL;
        return status;
    }
    if (rows == 0) {
        fm_mtx_fail(FM_ERR_PARSE, msg, path, r->line > 0 ? r->line : 1, "the file holds no rows of values%s",
                    first_line ? " (only the header line)" : r->line ? "" : " (it is empty)");
        FREE_ALL;
        return FM_ERR_PARSE;
    }
    FM_CHECK(cols <= FM_MAX_DIMENSION, FM_ERR_PARSE, "%s: %" PRId64 " columns, more than a matrix has (2^60)", path,
             cols);
    t->rows = rows;
    t->cols = cols;
    t->count = rows * cols;
    if (t->count < capacity) {   // give back what doubling did not need
        float *val = realloc(t->val, (size_t)t->count * sizeof *val);
        if (val) t->val = val;
    }
    fm_mtx_reader_close(r);
    *out = t;
    return FM_OK;
#undef FREE_ALL
}
