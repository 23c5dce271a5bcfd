// Matrix Market reading: the header (banner) line and the size line
// (io/mtx_parts.h), for any reader of the format.
#include "mtx_parts.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "status.h"

#define MTX_HEADER_FORM \
    "\"%%%%MatrixMarket matrix <coordinate|array> <real|integer|pattern> <general|symmetric>\""

//------------------------------------------------------------------------------
// Header and size line
//------------------------------------------------------------------------------

int fm_mtx_read_header(fm_mtx_reader *r, fm_mtx_header *h, char *msg)
{
#define FREE_ALL ((void)0)
    int status = fm_mtx_reader_next(r, msg);
    if (status < 0) return status;
    if (status == 0)
        return fm_mtx_fail(FM_ERR_PARSE, msg, r->path, 1,
                           "the file is empty, expected the header " MTX_HEADER_FORM);
    char *line = r->buf;
    if ((unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB &&
        (unsigned char)line[2] == 0xBF)
        line += 3;   // a UTF-8 byte order mark
    char cut[51], shown[4 * sizeof cut + 4];
    size_t len = strcspn(line, "\r\n");
    snprintf(cut, sizeof cut, "%.*s", (int)(len > 50 ? 50 : len), line);
    snprintf(shown + fm_escape(shown, sizeof shown - 3, cut), 4, "%s", len > 50 ? "..." : "");
    char *word[5];
    int words = fm_mtx_split_fields(line, word, 5);
    if (words == 0 || strcasecmp(word[0], "%%MatrixMarket") != 0)
        MTX_LINE_FAIL(FM_ERR_PARSE, "expected the header " MTX_HEADER_FORM ", found \"%s\"", shown);
    if (words != 5)
        MTX_LINE_FAIL(FM_ERR_PARSE, "expected 5 words in the header " MTX_HEADER_FORM ", found %d", words);
    if (strcasecmp(word[1], "matrix") != 0) {
        if (strcasecmp(word[1], "vector") == 0)
            MTX_LINE_FAIL(FM_ERR_PARSE, "unsupported object \"%s\" in the header, expected \"matrix\"", word[1]);
        MTX_LINE_FAIL(FM_ERR_PARSE, "unknown object %s in the header, expected \"matrix\"", fm_mtx_show(word[1]).text);
    }
    if (strcasecmp(word[2], "coordinate") == 0) h->array = false;
    else if (strcasecmp(word[2], "array") == 0) h->array = true;
    else MTX_LINE_FAIL(FM_ERR_PARSE, "unknown format %s in the header, expected coordinate or array",
                       fm_mtx_show(word[2]).text);
    if (strcasecmp(word[3], "real") == 0) h->field = FM_MTX_REAL;
    else if (strcasecmp(word[3], "integer") == 0) h->field = FM_MTX_INTEGER;
    else if (strcasecmp(word[3], "pattern") == 0) h->field = FM_MTX_PATTERN;
    else if (strcasecmp(word[3], "complex") == 0)
        MTX_LINE_FAIL(FM_ERR_PARSE, "unsupported field \"%s\": expected real, integer or pattern "
                      "(complex matrices cannot be factorized here)", word[3]);
    else MTX_LINE_FAIL(FM_ERR_PARSE, "unknown field %s in the header, expected real, integer or pattern",
                       fm_mtx_show(word[3]).text);
    if (strcasecmp(word[4], "general") == 0) h->symmetric = false;
    else if (strcasecmp(word[4], "symmetric") == 0) h->symmetric = true;
    else if (strcasecmp(word[4], "skew-symmetric") == 0 || strcasecmp(word[4], "hermitian") == 0)
        MTX_LINE_FAIL(FM_ERR_PARSE, "unsupported symmetry \"%s\": expected general or symmetric", word[4]);
    else MTX_LINE_FAIL(FM_ERR_PARSE, "unknown symmetry %s in the header, expected general or symmetric",
                       fm_mtx_show(word[4]).text);
    if (h->array && h->field == FM_MTX_PATTERN)
        MTX_LINE_FAIL(FM_ERR_PARSE, "the field \"pattern\" is only valid with the coordinate format, "
                      "not with array");
    return FM_OK;
#undef FREE_ALL
}

// A size-line number: a positive (or, for entries, nonnegative) integer.
static int parse_count(fm_mtx_reader *r, const char *token, const char *what, int64_t min,
                       int64_t *value, char *msg)
{
#define FREE_ALL ((void)0)
    const char *stop;
    int status = fm_mtx_parse_int64(token, value, &stop);
    if (status == NUMBER_OVERFLOW)
        MTX_LINE_FAIL(FM_ERR_PARSE, "the number of %s %s does not fit in 64 bits", what, fm_mtx_show(token).text);
    if (status != NUMBER_OK || *value < min)
        MTX_LINE_FAIL(FM_ERR_PARSE, "expected a %s integer number of %s, found %s",
                      min > 0 ? "positive" : "nonnegative", what, fm_mtx_show(token).text);
    return FM_OK;
#undef FREE_ALL
}

int fm_mtx_read_size(fm_mtx_reader *r, fm_mtx_header *h, char *msg)
{
#define FREE_ALL ((void)0)
    const char *form = h->array ? "\"rows cols\"" : "\"rows cols entries\"";
    int want = h->array ? 2 : 3;
    int status;
    while ((status = fm_mtx_reader_next(r, msg)) > 0 && fm_mtx_is_skipped(r->buf)) {}
    if (status < 0) return status;
    if (status == 0)
        MTX_LINE_FAIL(FM_ERR_PARSE, "the file ended before the size line %s", form);
    h->size_line = r->line;
    char *field[3];
    int found = fm_mtx_split_fields(r->buf, field, 3);
    if (found != want)
        MTX_LINE_FAIL(FM_ERR_PARSE, "expected %d fields on the size line %s, found %d", want, form, found);
    FM_TRY(parse_count(r, field[0], "rows", 1, &h->rows, msg));
    FM_TRY(parse_count(r, field[1], "columns", 1, &h->cols, msg));
    int64_t cells;
    if (__builtin_mul_overflow(h->rows, h->cols, &cells))
        MTX_LINE_FAIL(FM_ERR_PARSE, "dimensions %" PRId64 " x %" PRId64 " overflow a 64-bit entry count",
                      h->rows, h->cols);
    if (h->rows > FM_MAX_DIMENSION || h->cols > FM_MAX_DIMENSION)
        MTX_LINE_FAIL(FM_ERR_PARSE, "dimensions %" PRId64 " x %" PRId64 " are too large: a matrix has at most %"
                      PRId64 " (2^60) rows and columns", h->rows, h->cols, FM_MAX_DIMENSION);
    if (h->symmetric && h->rows != h->cols)
        MTX_LINE_FAIL(FM_ERR_PARSE, "a symmetric matrix must be square, the size line gives %" PRId64
                      " x %" PRId64, h->rows, h->cols);
    // A symmetric matrix is square and n·n fits, so n(n+1)/2 <= n·n does too.
    const int64_t n = h->rows;
    const int64_t capacity = !h->symmetric ? cells : n % 2 == 0 ? n / 2 * (n + 1) : (n + 1) / 2 * n;
    if (h->array) {
        h->entries = capacity;
        if ((uint64_t)cells > SIZE_MAX / sizeof(float))
            MTX_LINE_FAIL(FM_ERR_MEMORY, "dimensions %" PRId64 " x %" PRId64
                          " are too large: the values do not fit in memory", h->rows, h->cols);
    } else {
        FM_TRY(parse_count(r, field[2], "entries", 0, &h->entries, msg));
        if (h->entries > capacity)
            MTX_LINE_FAIL(FM_ERR_PARSE, "%" PRId64 " entries declared, more than the %" PRId64
                          " that %s %" PRId64 " x %" PRId64 " matrix holds", h->entries, capacity,
                          h->symmetric ? "the lower triangle of a" : "a", h->rows, h->cols);
    }
    return FM_OK;
#undef FREE_ALL
}
