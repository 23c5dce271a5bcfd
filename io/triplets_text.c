// Triplet text files: a line per entry, "row col value [anything]", as
// MovieLens's u.data ("user item rating timestamp"). See factormer.h
// (fm_triplets_text_read) for what is accepted.
//
// Fields are separated by spaces, tabs or commas (so "userId,movieId,rating,
// timestamp" CSV exports read too); a fourth field (a timestamp) is allowed
// and ignored, a fifth is an error. Blank lines and comments ('#' or '%')
// are skipped; the first other line is a header, and skipped, when none of
// its fields is a number. Ids are 1-based; the shape is the largest row id x
// the largest column id. Every content error names FILE:LINE.
#include "factormer.h"
#include "status.h"
#include "text_matrix_parts.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define TRIPLET_FORM "\"row col value [timestamp]\""

static inline bool is_separator(char c)
{
    return c == ' ' || c == '\t' || c == ',' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Split in place at runs of separators; the first `max` fields are stored,
// all are counted.
static int split(char *line, char **field, int max)
{
    int count = 0;
    char *p = line;
    for (;;) {
        while (is_separator(*p)) p++;
        if (!*p) break;
        char *start = p;
        while (*p && !is_separator(*p)) p++;
        if (count < max) {
            field[count] = start;
            if (*p) *p++ = '\0';
        }
        if (count < INT32_MAX) count++;
    }
    return count;
}

// A 1-based id, returned 0-based.
static int parse_id(fm_mtx_reader *r, const char *token, const char *what, int64_t *index, char *msg)
{
#define FREE_ALL ((void)0)
    const char *stop;
    int64_t v = 0;
    const int status = fm_mtx_parse_int64(token, &v, &stop);
    if (status == NUMBER_OVERFLOW || (status == NUMBER_OK && v > FM_MAX_DIMENSION))
        MTX_LINE_FAIL(FM_ERR_PARSE, "%s id %s is too large: a matrix has at most %" PRId64 " (2^60) %ss", what,
                      fm_mtx_show(token).text, FM_MAX_DIMENSION, what);
    if (status == NUMBER_OK && v < 1)
        MTX_LINE_FAIL(FM_ERR_PARSE, "%s id %s out of range: ids are 1-based (1, 2, ...)", what, fm_mtx_show(token).text);
    if (status != NUMBER_OK)
        MTX_LINE_FAIL(FM_ERR_PARSE, "expected an integer %s id (1-based), found %s", what, fm_mtx_show(token).text);
    *index = v - 1;
    return FM_OK;
#undef FREE_ALL
}

// Room for `need` entries (and their lines when tracked).
static int reserve(fm_triplets *t, int64_t **lines, int64_t *capacity, int64_t need, const fm_mtx_reader *r,
                   char *msg)
{
#define FREE_ALL ((void)0)
    if (need <= *capacity) return FM_OK;
    const int64_t grown = fm_text_capacity(*capacity, need);
    FM_TRY(fm_text_resize((void **)&t->row, sizeof *t->row, grown, r, msg));
    FM_TRY(fm_text_resize((void **)&t->col, sizeof *t->col, grown, r, msg));
    FM_TRY(fm_text_resize((void **)&t->val, sizeof *t->val, grown, r, msg));
    if (lines) FM_TRY(fm_text_resize((void **)lines, sizeof **lines, grown, r, msg));
    *capacity = grown;
    return FM_OK;
#undef FREE_ALL
}

int fm_triplets_text_read(fm_triplets **out, const char *path, bool duplicates_are_errors, char *msg)
{
    fm_mtx_reader reader = { 0 }, *r = &reader;
    fm_triplets *t = NULL;
    int64_t *lines = NULL;
#define FREE_ALL do { fm_mtx_reader_close(r); fm_triplets_free(&t); free(lines); } while (0)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_triplets_text_read: output handle must be non-NULL and empty");
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_triplets_text_read: path must be a non-empty string");
    FM_TRY(fm_mtx_reader_open(r, path, msg));
    FM_ALLOC(t, 1);
    int64_t capacity = 0, count = 0, rows = 0, cols = 0;
    bool first = true;
    int status;
    char *field[4];
    while ((status = fm_mtx_reader_next(r, msg)) > 0) {
        if (fm_text_is_skipped(r->buf)) continue;
        const int found = split(r->buf, field, 4);
        if (first) {
            first = false;
            bool header = true;
            for (int f = 0; f < found && f < 4; f++) header = header && !fm_text_is_number(field[f]);
            if (header) continue;
        }
        if (found < 3 || found > 4)
            MTX_LINE_FAIL(FM_ERR_PARSE, "expected 3 or 4 fields " TRIPLET_FORM ", found %d", found);
        int64_t i, j;
        float v;
        FM_TRY(parse_id(r, field[0], "row", &i, msg));
        FM_TRY(parse_id(r, field[1], "column", &j, msg));
        FM_TRY(fm_text_parse_value(r, field[2], "value", &v, msg));
        if (count == INT64_MAX) MTX_LINE_FAIL(FM_ERR_MEMORY, "too many entries");
        FM_TRY(reserve(t, duplicates_are_errors ? &lines : NULL, &capacity, count + 1, r, msg));
        t->row[count] = i;
        t->col[count] = j;
        t->val[count] = v;
        if (lines) lines[count] = r->line;
        count++;
        if (i >= rows) rows = i + 1;
        if (j >= cols) cols = j + 1;
    }
    if (status < 0) {   // the reader's error, in msg
        FREE_ALL;
        return status;
    }
    if (count == 0) {
        fm_mtx_fail(FM_ERR_PARSE, msg, path, r->line > 0 ? r->line : 1,
                    "the file holds no entries, expected lines " TRIPLET_FORM "%s", r->line ? "" : " (it is empty)");
        FREE_ALL;
        return FM_ERR_PARSE;
    }
    int64_t cells;
    FM_CHECK(!__builtin_mul_overflow(rows, cols, &cells), FM_ERR_PARSE,
             "%s: the largest ids make a %" PRId64 " x %" PRId64 " matrix, whose entry count overflows 64 bits",
             path, rows, cols);
    t->rows = rows;
    t->cols = cols;
    t->count = count;
    if (duplicates_are_errors) FM_TRY(fm_mtx_check_duplicates(path, t, lines, false, msg));
    free(lines);
    lines = NULL;
    fm_mtx_reader_close(r);
    *out = t;
    return FM_OK;
#undef FREE_ALL
}
