// Matrix Market reading (writing: io/mtx_write.c): the data lines, the memory
// the declared size asks for, and the entry points.
//
// Reading streams the file through zlib (plain and gzip alike) one line at a
// time (io/mtx_lines.c) and parses every field by hand on the line buffer:
// the header and the size line in io/mtx_header.c, numbers in
// io/mtx_number.c, the data lines here. Every content error names the file,
// the 1-based line and what was expected there.
#include "memory.h"
#include "mtx_parts.h"
#include "profile.h"
#include "status.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MTX_DEFLATE_RATIO 1032        // deflate's largest expansion: output bytes per input byte

void fm_triplets_free(fm_triplets **t)
{
    if (!t || !*t) return;
    free((*t)->row);
    free((*t)->col);
    free((*t)->val);
    free(*t);
    *t = NULL;
}

//------------------------------------------------------------------------------
// Data
//------------------------------------------------------------------------------

// One value field: finite, nonnegative, in the header's field type.
int fm_mtx_parse_value(fm_mtx_reader *r, const char *token, fm_mtx_field field, float *value, char *msg)
{
#define FREE_ALL ((void)0)
    const char *stop = token;
    if (field == FM_MTX_INTEGER) {
        int64_t v = 0;
        int status = fm_mtx_parse_int64(token, &v, &stop);
        if (status == NUMBER_OVERFLOW)
            MTX_LINE_FAIL(FM_ERR_PARSE, "integer value %s does not fit in 64 bits", fm_mtx_show(token).text);
        if (status == NUMBER_TRAILING)
            MTX_LINE_FAIL(FM_ERR_PARSE, "expected an integer value, found %s (trailing characters %s "
                          "after the number; the header says integer)", fm_mtx_show(token).text, fm_mtx_show(stop).text);
        if (status != NUMBER_OK)
            MTX_LINE_FAIL(FM_ERR_PARSE, "expected an integer value, found %s", fm_mtx_show(token).text);
        if (v < 0)
            MTX_LINE_FAIL(FM_ERR_PARSE, "negative value %.*s: nonnegative matrix factorization needs X >= 0",
                          MTX_TOKEN_SHOWN, token);
        *value = (float)v;
        return FM_OK;
    }
    float v = 0;
    int status = fm_mtx_parse_float(token, &v, &stop);
    if (status == NUMBER_TRAILING)
        MTX_LINE_FAIL(FM_ERR_PARSE, "expected a real value, found %s (trailing characters %s after the number)",
                      fm_mtx_show(token).text, fm_mtx_show(stop).text);
    if (status != NUMBER_OK)
        MTX_LINE_FAIL(FM_ERR_PARSE, "expected a real value, found %s", fm_mtx_show(token).text);
    if (!isfinite(v))
        MTX_LINE_FAIL(FM_ERR_PARSE, "value %s is not finite as a 32-bit float (NaN, Inf and magnitudes "
                      "beyond 3.4e38 are not allowed)", fm_mtx_show(token).text);
    if (v < 0)
        MTX_LINE_FAIL(FM_ERR_PARSE, "negative value %.*s: nonnegative matrix factorization needs X >= 0",
                      MTX_TOKEN_SHOWN, token);
    *value = v + 0.0f;   // -0 becomes +0
    return FM_OK;
#undef FREE_ALL
}

// A 1-based index field within 1..limit, returned 0-based.
int fm_mtx_parse_index(fm_mtx_reader *r, const char *token, const char *what, int64_t limit,
                       int64_t *index, char *msg)
{
#define FREE_ALL ((void)0)
    const char *stop;
    int64_t v = 0;
    int status = fm_mtx_parse_int64(token, &v, &stop);
    if (status == NUMBER_OVERFLOW || (status == NUMBER_OK && (v < 1 || v > limit)))
        MTX_LINE_FAIL(FM_ERR_PARSE, "%s index %s out of range 1..%" PRId64, what,
                      strlen(token) > MTX_TOKEN_SHOWN ? fm_mtx_show(token).text : token, limit);
    if (status != NUMBER_OK)
        MTX_LINE_FAIL(FM_ERR_PARSE, "expected an integer %s index, found %s", what, fm_mtx_show(token).text);
    *index = v - 1;
    return FM_OK;
#undef FREE_ALL
}

int fm_mtx_parse_entry(fm_mtx_reader *r, const fm_mtx_header *h, char **field, int64_t *i, int64_t *j, float *v,
                       char *msg)
{
#define FREE_ALL ((void)0)
    *v = 1.0f;
    FM_TRY(fm_mtx_parse_index(r, field[0], "row", h->rows, i, msg));
    FM_TRY(fm_mtx_parse_index(r, field[1], "column", h->cols, j, msg));
    if (h->field != FM_MTX_PATTERN) FM_TRY(fm_mtx_parse_value(r, field[2], h->field, v, msg));
    if (h->symmetric && *i < *j)
        MTX_LINE_FAIL(FM_ERR_PARSE, "entry (%" PRId64 ", %" PRId64 ") is above the diagonal: a symmetric "
                      "file holds the lower triangle (row >= column)", *i + 1, *j + 1);
    return FM_OK;
#undef FREE_ALL
}

// Room for `need` entries in t (and in *lines when it is tracked).
static int reserve(fm_triplets *t, int64_t **lines, int64_t *capacity, int64_t need,
                   int64_t most, const char *path, int64_t line, char *msg)
{
#define FREE_ALL ((void)0)
    if (need <= *capacity) return FM_OK;
    int64_t grown = *capacity < (1 << 16) ? (1 << 16) : *capacity;
    while (grown < need) grown = grown > INT64_MAX / 2 ? INT64_MAX : grown * 2;
    if (grown > most) grown = most;
    if (grown < need) grown = need;
    if ((uint64_t)grown > SIZE_MAX / sizeof(int64_t))
        return fm_mtx_fail(FM_ERR_MEMORY, msg, path, line, "out of memory for %" PRId64 " entries", grown);
    size_t n = (size_t)grown;
    int64_t *row = realloc(t->row, n * sizeof *row);
    if (row) t->row = row;
    int64_t *col = row ? realloc(t->col, n * sizeof *col) : NULL;
    if (col) t->col = col;
    float *val = col ? realloc(t->val, n * sizeof *val) : NULL;
    if (val) t->val = val;
    int64_t *at = val && lines ? realloc(*lines, n * sizeof *at) : NULL;
    if (at) *lines = at;
    if (!val || (lines && !at))
        return fm_mtx_fail(FM_ERR_MEMORY, msg, path, line, "out of memory growing the entries to %" PRId64,
                           grown);
    *capacity = grown;
    return FM_OK;
#undef FREE_ALL
}

static int read_coordinate(fm_mtx_reader *r, const fm_mtx_header *h, fm_triplets *t, int64_t **lines,
                           char *msg)
{
#define FREE_ALL ((void)0)
    const bool pattern = h->field == FM_MTX_PATTERN;
    const int want = pattern ? 2 : 3;
    const char *form = pattern ? "\"row col\"" : "\"row col value\"";
    // Symmetric files expand to at most twice the declared entries.
    int64_t most = h->symmetric ? (h->entries > INT64_MAX / 2 ? INT64_MAX : 2 * h->entries) : h->entries;
    int64_t capacity = 0;
    FM_TRY(reserve(t, lines, &capacity, 1, most > 0 ? most : 1, r->path, r->line, msg));
    int64_t given = 0, count = 0;
    int status;
    char *field[3];
    while ((status = fm_mtx_reader_next(r, msg)) > 0) {
        if (fm_mtx_is_skipped(r->buf)) continue;
        if (given == h->entries)
            MTX_LINE_FAIL(FM_ERR_PARSE, "more entries than the %" PRId64 " declared on line %" PRId64,
                          h->entries, h->size_line);
        int found = fm_mtx_split_fields(r->buf, field, 3);
        if (found != want)
            MTX_LINE_FAIL(FM_ERR_PARSE, "expected %d fields %s, found %d", want, form, found);
        int64_t i, j;
        float v;
        FM_TRY(fm_mtx_parse_entry(r, h, field, &i, &j, &v, msg));
        int64_t add = h->symmetric && i != j ? 2 : 1;
        FM_TRY(reserve(t, lines, &capacity, count + add, most, r->path, r->line, msg));
        t->row[count] = i;
        t->col[count] = j;
        t->val[count] = v;
        if (lines) (*lines)[count] = r->line;
        count++;
        if (add == 2) {
            t->row[count] = j;
            t->col[count] = i;
            t->val[count] = v;
            if (lines) (*lines)[count] = r->line;
            count++;
        }
        given++;
    }
    if (status < 0) return status;
    if (given < h->entries)
        return fm_mtx_fail(FM_ERR_PARSE, msg, r->path, r->line > 0 ? r->line : 1,
                           "the file ended after %" PRId64 " of the %" PRId64 " entries declared on line %"
                           PRId64, given, h->entries, h->size_line);
    t->count = count;
    // Give back what symmetric expansion did not need.
    if (count > 0 && count < capacity) {
        int64_t *row = realloc(t->row, (size_t)count * sizeof *row);
        if (row) t->row = row;
        int64_t *col = realloc(t->col, (size_t)count * sizeof *col);
        if (col) t->col = col;
        float *val = realloc(t->val, (size_t)count * sizeof *val);
        if (val) t->val = val;
    }
    return FM_OK;
#undef FREE_ALL
}

// Array files list columns top to bottom (for symmetric ones, the lower
// triangle of each column); t->val is row-major. Without `store` (a file too
// short for its declared values) the values are checked but not kept, and
// the read ends in the error that the file ended early.
static int read_array(fm_mtx_reader *r, const fm_mtx_header *h, fm_triplets *t, bool store, char *msg)
{
#define FREE_ALL ((void)0)
    const int64_t rows = h->rows, cols = h->cols;
    if (store) {
        t->val = calloc((size_t)(rows * cols), sizeof(float));
        if (!t->val)
            return fm_mtx_fail(FM_ERR_MEMORY, msg, r->path, h->size_line,
                               "out of memory for the %" PRId64 " x %" PRId64 " array declared here", rows, cols);
        t->count = rows * cols;
    }
    int64_t given = 0, i = 0, j = 0;
    int status;
    char *field[1];
    while ((status = fm_mtx_reader_next(r, msg)) > 0) {
        if (fm_mtx_is_skipped(r->buf)) continue;
        if (given == h->entries)
            MTX_LINE_FAIL(FM_ERR_PARSE, "more values than the %" PRId64 " that the size line (line %" PRId64
                          ") declares for a %s%" PRId64 " x %" PRId64 " array", h->entries, h->size_line,
                          h->symmetric ? "symmetric " : "", rows, cols);
        int found = fm_mtx_split_fields(r->buf, field, 1);
        if (found != 1)
            MTX_LINE_FAIL(FM_ERR_PARSE, "expected 1 field \"value\" (one value per line), found %d", found);
        float v;
        FM_TRY(fm_mtx_parse_value(r, field[0], h->field, &v, msg));
        if (store) {
            t->val[i * cols + j] = v;
            if (h->symmetric) t->val[j * cols + i] = v;
        }
        given++;
        if (++i == rows) {
            j++;
            i = h->symmetric ? j : 0;
        }
    }
    if (status < 0) return status;
    if (given < h->entries)
        return fm_mtx_fail(FM_ERR_PARSE, msg, r->path, r->line,
                           "the file ended after %" PRId64 " of the %" PRId64 " values that the size line "
                           "(line %" PRId64 ") declares for a %s%" PRId64 " x %" PRId64 " array", given,
                           h->entries, h->size_line, h->symmetric ? "symmetric " : "", rows, cols);
    if (!store)   // the file grew while it was read
        return fm_mtx_fail(FM_ERR_IO, msg, r->path, r->line, "the file changed while it was read");
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// What the declared size asks for
//------------------------------------------------------------------------------

// What the caller will build from the entries: a graph of `kind` for a run
// of `rank` (0: the graph alone), or only the values (graph false).
typedef struct { bool graph; fm_kind kind; int rank; } mtx_plan;

// Whether the rest of the file can hold `lines` data lines of at least
// `min_bytes` each (the last without its newline): a plain file has its
// size, a gzip file expands at most MTX_DEFLATE_RATIO times; a pipe may hold
// anything.
static bool file_can_hold(fm_mtx_reader *r, int64_t lines, int64_t min_bytes)
{
    if (!r->regular || lines <= 0) return true;
    int64_t rest;
    if (gzdirect(r->gz)) rest = r->size - (int64_t)gztell(r->gz);
    else rest = r->size > INT64_MAX / MTX_DEFLATE_RATIO ? INT64_MAX : r->size * MTX_DEFLATE_RATIO;
    return lines <= rest / min_bytes + 1;
}

// FM_ERR_MEMORY with the declared shape and the estimate when what the plan
// builds from this file's declared size exceeds the memory limit.
static int check_memory(fm_mtx_reader *r, const fm_mtx_header *h, const mtx_plan *plan, char *msg)
{
    int64_t entries = h->array ? h->rows * h->cols : h->entries;
    if (!h->array && h->symmetric) entries = entries > INT64_MAX / 2 ? INT64_MAX : 2 * entries;
    fm_memory_estimate e;
    fm_memory_estimate_run(&e, h->rows, h->cols, entries, h->array, plan->kind, plan->rank);
    const double need = plan->graph ? e.peak : e.reading;
    if (fm_memory_fits(need)) return FM_OK;
    char needs[160], limit[160], what[96];
    fm_memory_need_text(needs, sizeof needs, &e, need, plan->graph ? plan->rank : 0);
    fm_memory_limit_text(limit, sizeof limit);
    if (!plan->graph) snprintf(what, sizeof what, "to hold its values");
    else if (plan->rank > 0) snprintf(what, sizeof what, "for a rank-%d run", plan->rank);
    else snprintf(what, sizeof what, "to read it and build its graph");
    const fm_kind kind = plan->kind != FM_KIND_AUTO ? plan->kind : h->array ? FM_KIND_DENSE : FM_KIND_SPARSE;
    return fm_mtx_fail(FM_ERR_MEMORY, msg, r->path, h->size_line,
                       "the %" PRId64 " x %" PRId64 " %s matrix declared here (%" PRId64 " %s) needs %s %s, more than "
                       "%s", h->rows, h->cols, plan->graph ? fm_kind_name(kind) : "array", h->entries,
                       h->array ? "values" : h->entries == 1 ? "entry" : "entries", needs, what, limit);
}

//------------------------------------------------------------------------------
// Reading
//------------------------------------------------------------------------------

static int mtx_read(fm_triplets **out, const char *path, bool duplicates_are_errors, bool want_array,
                    const mtx_plan *plan, const char *caller, char *msg)
{
    fm_mtx_reader reader = { 0 }, *r = &reader;
    fm_triplets *t = NULL;
    int64_t *lines = NULL;
#define FREE_ALL do { fm_mtx_reader_close(r); fm_triplets_free(&t); free(lines); } while (0)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "%s: output handle must be non-NULL and empty", caller);
    FM_CHECK(path && *path, FM_ERR_INVALID, "%s: path must be a non-empty string", caller);
    FM_PROFILE_START(profile_clock);
    FM_TRY(fm_mtx_reader_open(r, path, msg));
    fm_mtx_header h = { 0 };
    FM_TRY(fm_mtx_read_header(r, &h, NULL, "factorized", msg));
    if (want_array && !h.array)
        MTX_LINE_FAIL(FM_ERR_PARSE, "expected an array file (\"%%%%MatrixMarket matrix array real general\"), "
                      "found a coordinate file");
    FM_TRY(fm_mtx_read_size(r, &h, msg));
    // A file too short for what it declares fails when it ends, without
    // allocating for it; otherwise what it declares must fit in memory.
    const bool fits = file_can_hold(r, h.entries, h.array ? 2 : h.field == FM_MTX_PATTERN ? 4 : 6);
    if (fits) FM_TRY(check_memory(r, &h, plan, msg));
    FM_ALLOC(t, 1);
    t->rows = h.rows;
    t->cols = h.cols;
    t->array = h.array;
    if (h.array) {
        FM_TRY(read_array(r, &h, t, fits, msg));
    } else {
        bool track = duplicates_are_errors;
        FM_TRY(read_coordinate(r, &h, t, track ? &lines : NULL, msg));
        if (track) FM_TRY(fm_mtx_check_duplicates(path, t, lines, h.symmetric, msg));
    }
    free(lines);
    lines = NULL;
    // flops: none (parsing); bytes: the text parsed (uncompressed) and the
    // entries written (4 per value, 8 per index)
    const double text = (double)gztell(r->gz), entries = (double)t->count;
    FM_PROFILE_STOP(profile_clock, "mtx.read", 0, text + (t->array ? 4 : 20) * entries);
    fm_mtx_reader_close(r);
    *out = t;
    return FM_OK;
#undef FREE_ALL
}

int fm_mtx_read(fm_triplets **out, const char *path, bool duplicates_are_errors, char *msg)
{
    const mtx_plan plan = { true, duplicates_are_errors ? FM_KIND_INCOMPLETE : FM_KIND_AUTO, 0 };
    return mtx_read(out, path, duplicates_are_errors, false, &plan, "fm_mtx_read", msg);
}

int fm_mtx_read_for_run(fm_triplets **out, const char *path, fm_kind kind, int rank, char *msg)
{
    const mtx_plan plan = { true, kind, rank > 0 ? rank : 0 };
    return mtx_read(out, path, kind == FM_KIND_INCOMPLETE, false, &plan, "fm_mtx_read_for_run", msg);
}

int fm_mtx_read_dense(fm_dense **out, const char *path, char *msg)
{
    fm_triplets *t = NULL;
    fm_dense *m = NULL;
#define FREE_ALL do { fm_triplets_free(&t); fm_dense_free(&m); } while (0)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_mtx_read_dense: output handle must be non-NULL and empty");
    const mtx_plan plan = { false, FM_KIND_DENSE, 0 };
    FM_TRY(mtx_read(&t, path, false, true, &plan, "fm_mtx_read_dense", msg));
    FM_ALLOC(m, 1);
    m->rows = t->rows;
    m->cols = t->cols;
    m->data = t->val;     // already row-major rows*cols
    t->val = NULL;
    fm_triplets_free(&t);
    *out = m;
    return FM_OK;
#undef FREE_ALL
}
