// Matrix Market reading of signed dense matrices (io/mtx_signed.h), on the
// format's shared line reader, header parser and number parser
// (io/mtx_parts.h).
#include "mtx_signed.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mtx_parts.h"
#include "status.h"

#define SIGNED_FORM "\"%%MatrixMarket matrix array real general\""

// "%KEY VALUE": VALUE into `value`, if this comment line is the key's.
static void take_key(const char *line, const char *key, char *value, size_t size)
{
    while (*line == ' ' || *line == '\t') line++;
    if (*line++ != '%') return;
    const size_t len = strlen(key);
    if (strncmp(line, key, len) || (line[len] != ' ' && line[len] != '\t')) return;
    line += len;
    while (*line == ' ' || *line == '\t') line++;
    int len_value = (int)strcspn(line, "\r\n");   // the rest of the line, less trailing blanks
    while (len_value > 0 && (line[len_value - 1] == ' ' || line[len_value - 1] == '\t')) len_value--;
    snprintf(value, size, "%.*s", len_value, line);
}

int fm_mtx_read_signed(fm_dense **out, const char *path, int64_t rows, int64_t cols, const char *key, char *value,
                       size_t size, char *msg)
{
    fm_mtx_reader reader = { 0 }, *r = &reader;
    fm_dense *m = NULL;
#define FREE_ALL do { fm_mtx_reader_close(r); fm_dense_free(&m); } while (0)
    FM_CHECK(out && !*out && path && rows > 0 && cols > 0, FM_ERR_INVALID, "fm_mtx_read_signed: bad arguments");
    if (key && size) value[0] = 0;
    FM_TRY(fm_mtx_reader_open(r, path, msg));
    fm_mtx_header h = { 0 };
    FM_TRY(fm_mtx_read_header(r, &h, SIGNED_FORM, "read", msg));
    if (!h.array || h.symmetric || h.field == FM_MTX_PATTERN)
        MTX_LINE_FAIL(FM_ERR_PARSE, "expected the header %s", SIGNED_FORM);
    // the comments up to the size line (fm_mtx_read_size would skip them)
    int status;
    while ((status = fm_mtx_reader_next(r, msg)) > 0 && fm_mtx_is_skipped(r->buf))
        if (key && size && !value[0]) take_key(r->buf, key, value, size);
    if (status < 0) {
        FREE_ALL;
        return status;
    }
    if (status == 0) MTX_LINE_FAIL(FM_ERR_PARSE, "the file ended before the size line \"rows cols\"");
    char *field[3];
    int64_t found_rows = 0, found_cols = 0;
    const char *stop;
    if (fm_mtx_split_fields(r->buf, field, 3) != 2 || fm_mtx_parse_int64(field[0], &found_rows, &stop) ||
        fm_mtx_parse_int64(field[1], &found_cols, &stop))
        MTX_LINE_FAIL(FM_ERR_PARSE, "expected the size line \"rows cols\"");
    if (found_rows != rows || found_cols != cols)
        MTX_LINE_FAIL(FM_ERR_PARSE, "the matrix is %" PRId64 " x %" PRId64 ", expected %" PRId64 " x %" PRId64,
                      found_rows, found_cols, rows, cols);
    FM_TRY(fm_dense_new(&m, rows, cols, msg));
    int64_t given = 0;
    const int64_t count = rows * cols;
    while ((status = fm_mtx_reader_next(r, msg)) > 0) {
        if (fm_mtx_is_skipped(r->buf)) continue;
        if (given == count) MTX_LINE_FAIL(FM_ERR_PARSE, "more values than the %" PRId64 " declared", count);
        if (fm_mtx_split_fields(r->buf, field, 1) != 1)
            MTX_LINE_FAIL(FM_ERR_PARSE, "expected 1 field \"value\" (one value per line)");
        float v;
        if (fm_mtx_parse_float(field[0], &v, &stop) != NUMBER_OK || !isfinite(v))
            MTX_LINE_FAIL(FM_ERR_PARSE, "expected a finite real value, found %s", fm_mtx_show(field[0]).text);
        m->data[(given % rows) * cols + given / rows] = v;   // column-major in the file
        given++;
    }
    if (status < 0) {
        FREE_ALL;
        return status;
    }
    if (given < count)
        MTX_LINE_FAIL(FM_ERR_PARSE, "the file ended after %" PRId64 " of the %" PRId64 " values declared", given,
                      count);
    fm_mtx_reader_close(r);
    *out = m;
    return FM_OK;
#undef FREE_ALL
}
