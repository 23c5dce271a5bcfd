// A Matrix Market file read by byte ranges; see mtx_range.h.
#include "mtx_range.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "status.h"

bool fm_mtx_is_gzip(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    unsigned char magic[2] = { 0, 0 };
    const bool gzip = fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    fclose(f);
    return gzip;
}

// The reader past the size line, on a plain file.
static int range_open(fm_mtx_reader *r, fm_mtx_header *h, const char *path, char *msg)
{
#define FREE_ALL ((void)0)
    FM_TRY(fm_mtx_reader_open(r, path, msg));
    FM_TRY(fm_mtx_read_header(r, h, NULL, "factorized", msg));
    FM_TRY(fm_mtx_read_size(r, h, msg));
    FM_CHECK(r->regular && gzdirect(r->gz), FM_ERR_INVALID,
             "%s: a distributed run splits the file between its processes by bytes, which needs a plain (not "
             "gzipped) regular file: decompress it first", path);
    FM_CHECK(!(h->array && h->symmetric), FM_ERR_INVALID,
             "%s: a symmetric array file lists only the lower triangle, which a distributed run cannot split "
             "by bytes: write it as a general array or a coordinate file", path);
    return FM_OK;
#undef FREE_ALL
}

// To the first line that starts in [begin, …): after the line holding byte
// begin − 1 (the line ending there when that byte is a newline).
static int range_seek(fm_mtx_reader *r, int64_t begin, int part, char *msg)
{
    if (part == 0) return FM_OK;   // the reader stands after the size line
    if (gzseek(r->gz, (z_off_t)(begin - 1), SEEK_SET) < 0)
        return fm_fail(FM_ERR_IO, msg, "%s: cannot seek to byte %" PRId64, r->path, begin - 1);
    const int status = fm_mtx_reader_next(r, msg);
    return status < 0 ? status : FM_OK;
}

int fm_mtx_range_count(fm_mtx_range *range, const char *path, int part, int parts, char *msg)
{
    fm_mtx_reader reader = { 0 }, *r = &reader;
#define FREE_ALL fm_mtx_reader_close(r)
    FM_CHECK(range && path && parts > 0 && part >= 0 && part < parts, FM_ERR_INVALID,
             "fm_mtx_range_count: bad arguments");
    memset(range, 0, sizeof *range);
    FM_TRY(range_open(r, &range->header, path, msg));
    const int64_t body = (int64_t)gztell(r->gz), span = r->size - body;
    range->begin = body + (int64_t)((double)span * part / parts);
    range->end = part == parts - 1 ? r->size : body + (int64_t)((double)span * (part + 1) / parts);
    range->last = part == parts - 1;
    // A bad line (too long, a NUL byte) ends the count without an error: the
    // second pass meets it again and names it by its line in the file (a
    // line across the part's start is the part before's, which names it).
    const bool placed = range_seek(r, range->begin, part, msg) == FM_OK;
    while (placed && (int64_t)gztell(r->gz) < range->end && fm_mtx_reader_next(r, msg) > 0) {
        range->lines++;
        if (!fm_mtx_is_skipped(r->buf)) range->values++;
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_mtx_range_read(fm_triplets **out, int64_t **lines, const char *path, const fm_mtx_range *range,
                      int64_t lines_before, int64_t values_before, char *msg)
{
    fm_mtx_reader reader = { 0 }, *r = &reader;
    fm_triplets *t = NULL;
    int64_t *at = NULL;
#define FREE_ALL do { fm_mtx_reader_close(r); fm_triplets_free(&t); free(at); } while (0)
    FM_CHECK(out && !*out && range && path, FM_ERR_INVALID, "fm_mtx_range_read: bad arguments");
    fm_mtx_header header = { 0 };
    FM_TRY(range_open(r, &header, path, msg));
    const fm_mtx_header *h = &range->header;
    FM_CHECK(header.rows == h->rows && header.cols == h->cols && header.entries == h->entries, FM_ERR_IO,
             "%s: the file changed while it was read", path);
    const int part = range->begin > (int64_t)gztell(r->gz) ? 1 : 0;
    FM_TRY(range_seek(r, range->begin, part, msg));
    r->line = h->size_line + lines_before;
    const bool pattern = h->field == FM_MTX_PATTERN;
    const int want = h->array ? 1 : pattern ? 2 : 3;
    const char *form = h->array ? "\"value\" (one value per line)" : pattern ? "\"row col\"" : "\"row col value\"";
    const int64_t capacity = (h->symmetric ? 2 : 1) * range->values;
    FM_ALLOC(t, 1);
    t->rows = h->rows;
    t->cols = h->cols;
    FM_ALLOC(t->row, capacity > 0 ? capacity : 1);
    FM_ALLOC(t->col, capacity > 0 ? capacity : 1);
    FM_ALLOC(t->val, capacity > 0 ? capacity : 1);
    if (lines) FM_ALLOC(at, capacity > 0 ? capacity : 1);
    int64_t given = values_before, count = 0;
    int status = 1;
    char *field[3];
    while ((int64_t)gztell(r->gz) < range->end && (status = fm_mtx_reader_next(r, msg)) > 0) {
        if (fm_mtx_is_skipped(r->buf)) continue;
        if (given == h->entries)
            MTX_LINE_FAIL(FM_ERR_PARSE, "more %s than the %" PRId64 " declared on line %" PRId64,
                          h->array ? "values" : "entries", h->entries, h->size_line);
        FM_CHECK(count < capacity, FM_ERR_IO, "%s: the file changed while it was read", path);
        const int found = fm_mtx_split_fields(r->buf, field, 3);
        if (found != want) MTX_LINE_FAIL(FM_ERR_PARSE, "expected %d field%s %s, found %d", want,
                                         want == 1 ? "" : "s", form, found);
        int64_t i, j;
        float v = 1.0f;
        if (h->array) {   // columns top to bottom
            i = given % h->rows;
            j = given / h->rows;
            FM_TRY(fm_mtx_parse_value(r, field[0], h->field, &v, msg));
        } else {
            FM_TRY(fm_mtx_parse_entry(r, h, field, &i, &j, &v, msg));
        }
        if (at) at[count] = r->line;
        t->row[count] = i;
        t->col[count] = j;
        t->val[count++] = v;
        if (h->symmetric && i != j) {
            if (at) at[count] = r->line;
            t->row[count] = j;
            t->col[count] = i;
            t->val[count++] = v;
        }
        given++;
    }
    FM_TRY(status < 0 ? status : FM_OK);
    if (range->last && given < h->entries)
        MTX_LINE_FAIL(FM_ERR_PARSE, "the file ended after %" PRId64 " of the %" PRId64 " %s declared on line %"
                      PRId64, given, h->entries, h->array ? "values" : "entries", h->size_line);
    t->count = count;
    fm_mtx_reader_close(r);
    *out = t;
    if (lines) *lines = at;
    return FM_OK;
#undef FREE_ALL
}
