// Matrix Market writing.
//
// Writing goes to PATH.tmp.XXXXXX in the same directory and is renamed onto
// PATH only when every byte has been written, flushed and closed; on any error
// the temporary file is removed and nothing is left behind.
#include "atomic_file.h"
#include "profile.h"
#include "status.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int writer_printf(fm_atomic_file *w, char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int writer_printf(fm_atomic_file *w, char *msg, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int n = vfprintf(w->f, fmt, args);
    va_end(args);
    if (n < 0) return fm_fail(FM_ERR_IO, msg, "%s: write failed: %s", w->path, strerror(errno));
    return FM_OK;
}

// Each line of the comment as a '%' line.
static int write_comment(fm_atomic_file *w, const char *comment, char *msg)
{
    if (!comment) return FM_OK;
    const char *p = comment;
    while (*p) {
        size_t len = strcspn(p, "\n");
        int status = writer_printf(w, msg, "%%%.*s\n", (int)len, p);
        if (status < 0) return status;
        p += len;
        if (*p == '\n') p++;
    }
    return FM_OK;
}

int fm_mtx_write_dense(const char *path, const fm_dense *m, const char *comment, char *msg)
{
    fm_atomic_file w = { 0 };
#define FREE_ALL fm_atomic_abort(&w)
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_mtx_write_dense: path must be a non-empty string");
    FM_CHECK(m && m->rows > 0 && m->cols > 0 && m->data, FM_ERR_INVALID,
             "fm_mtx_write_dense: %s: the matrix must exist and have positive dimensions", path);
    const int64_t rows = m->rows, cols = m->cols;
    FM_PROFILE_START(profile_clock);
    FM_TRY(fm_atomic_open(&w, path, msg));
    FM_TRY(writer_printf(&w, msg, "%%%%MatrixMarket matrix array real general\n"));
    FM_TRY(write_comment(&w, comment, msg));
    FM_TRY(writer_printf(&w, msg, "%" PRId64 " %" PRId64 "\n", rows, cols));
    for (int64_t j = 0; j < cols; j++)
        for (int64_t i = 0; i < rows; i++)
            FM_TRY(writer_printf(&w, msg, "%.9g\n", (double)m->data[i * cols + j]));
    // flops: none (formatting); bytes: the values read (4 each), the text written
    const double text = (double)ftello(w.f);
    FM_TRY(fm_atomic_commit(&w, msg));
    FM_PROFILE_STOP(profile_clock, "mtx.write", 0, 4.0 * rows * cols + text);
    return FM_OK;
#undef FREE_ALL
}

int fm_mtx_write_triplets(const char *path, const fm_triplets *t, const char *comment, char *msg)
{
    fm_atomic_file w = { 0 };
#define FREE_ALL fm_atomic_abort(&w)
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_mtx_write_triplets: path must be a non-empty string");
    FM_CHECK(t && t->rows > 0 && t->cols > 0 && t->count >= 0, FM_ERR_INVALID,
             "fm_mtx_write_triplets: %s: the triplets must exist and have positive dimensions", path);
    const int64_t rows = t->rows, cols = t->cols;
    if (t->array) {
        FM_CHECK(rows <= INT64_MAX / cols && t->count == rows * cols && t->val, FM_ERR_INVALID,
                 "fm_mtx_write_triplets: %s: array triplets must hold rows*cols values", path);
    } else {
        FM_CHECK(t->count == 0 || (t->row && t->col && t->val), FM_ERR_INVALID,
                 "fm_mtx_write_triplets: %s: the triplets have no arrays", path);
        for (int64_t k = 0; k < t->count; k++)
            FM_CHECK(t->row[k] >= 0 && t->row[k] < rows && t->col[k] >= 0 && t->col[k] < cols,
                     FM_ERR_INVALID, "fm_mtx_write_triplets: %s: entry %" PRId64 " at (%" PRId64 ", %"
                     PRId64 ") (0-based) is outside the %" PRId64 " x %" PRId64 " matrix", path, k,
                     t->row[k], t->col[k], rows, cols);
    }
    FM_PROFILE_START(profile_clock);
    FM_TRY(fm_atomic_open(&w, path, msg));
    FM_TRY(writer_printf(&w, msg, "%%%%MatrixMarket matrix coordinate real general\n"));
    FM_TRY(write_comment(&w, comment, msg));
    FM_TRY(writer_printf(&w, msg, "%" PRId64 " %" PRId64 " %" PRId64 "\n", rows, cols, t->count));
    if (t->array) {
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++)
                FM_TRY(writer_printf(&w, msg, "%" PRId64 " %" PRId64 " %.9g\n", i + 1, j + 1,
                                     (double)t->val[i * cols + j]));
    } else {
        for (int64_t k = 0; k < t->count; k++)
            FM_TRY(writer_printf(&w, msg, "%" PRId64 " %" PRId64 " %.9g\n", t->row[k] + 1, t->col[k] + 1,
                                 (double)t->val[k]));
    }
    // flops: none (formatting); bytes: the entries read (4 per value, 8 per
    // index), the text written
    const double text = (double)ftello(w.f);
    FM_TRY(fm_atomic_commit(&w, msg));
    FM_PROFILE_STOP(profile_clock, "mtx.write", 0, (t->array ? 4.0 : 20.0) * t->count + text);
    return FM_OK;
#undef FREE_ALL
}
