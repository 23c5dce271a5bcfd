// Matrix Market writing for linear systems in double precision
// (io/mtx_system.h): %.17g, which reads back to the same double, through a
// temporary file renamed onto the path only when complete (io/atomic_file.h).
#include "atomic_file.h"
#include "mtx_system.h"
#include "profile.h"
#include "status.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

// The failure of the last write on w, if any.
static int write_status(fm_atomic_file *w, int written, char *msg)
{
    if (written < 0) return fm_fail(FM_ERR_IO, msg, "%s: write failed: %s", w->path, strerror(errno));
    return FM_OK;
}

// The header, each line of the comment as a '%' line, and the size line.
static int write_head(fm_atomic_file *w, const char *header, const char *comment, const char *size, char *msg)
{
    int status = write_status(w, fprintf(w->f, "%%%%MatrixMarket matrix %s\n", header), msg);
    for (const char *p = comment; status == FM_OK && p && *p;) {
        const size_t len = strcspn(p, "\n");
        status = write_status(w, fprintf(w->f, "%%%.*s\n", (int)len, p), msg);
        p += len;
        if (*p == '\n') p++;
    }
    if (status == FM_OK) status = write_status(w, fprintf(w->f, "%s\n", size), msg);
    return status;
}

int fm_mtx_write_system(const char *path, const fm_system_matrix *m, const char *comment, char *msg)
{
    fm_atomic_file w = { 0 };
#define FREE_ALL fm_atomic_abort(&w)
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_mtx_write_system: path must be a non-empty string");
    FM_CHECK(m && m->n > 0 && m->count >= 0 && (m->count == 0 || (m->row && m->col && m->val)), FM_ERR_INVALID,
             "fm_mtx_write_system: %s: the matrix must exist and have a positive size", path);
    const int64_t n = m->n;
    for (int64_t k = 0; k < m->count; k++) {
        const int64_t i = m->row[k], j = m->col[k];
        FM_CHECK(i >= 0 && i < n && j >= 0 && j < n, FM_ERR_INVALID, "fm_mtx_write_system: %s: entry %" PRId64
                 " at (%" PRId64 ", %" PRId64 ") (0-based) is outside the %" PRId64 " x %" PRId64 " matrix",
                 path, k, i, j, n, n);
        FM_CHECK(!m->symmetric || i >= j, FM_ERR_INVALID, "fm_mtx_write_system: %s: entry %" PRId64 " at (%" PRId64
                 ", %" PRId64 ") (0-based) is above the diagonal of a symmetric matrix (the lower triangle is "
                 "written)", path, k, i, j);
        FM_CHECK(isfinite(m->val[k]), FM_ERR_INVALID, "fm_mtx_write_system: %s: entry %" PRId64 " at (%" PRId64
                 ", %" PRId64 ") (0-based) is not finite (%g)", path, k, i, j, m->val[k]);
    }
    FM_PROFILE_START(profile_clock);
    char size[80];
    snprintf(size, sizeof size, "%" PRId64 " %" PRId64 " %" PRId64, n, n, m->count);
    FM_TRY(fm_atomic_open(&w, path, msg));
    FM_TRY(write_head(&w, m->symmetric ? "coordinate real symmetric" : "coordinate real general", comment, size, msg));
    for (int64_t k = 0; k < m->count; k++)
        FM_TRY(write_status(&w, fprintf(w.f, "%" PRId64 " %" PRId64 " %.17g\n", m->row[k] + 1, m->col[k] + 1,
                                        m->val[k]), msg));
    // flops: none (formatting); bytes: the entries read (24 each), the text written
    const double text = (double)ftello(w.f);
    FM_TRY(fm_atomic_commit(&w, msg));
    FM_PROFILE_STOP(profile_clock, "mtx.write_system", 0, 24.0 * (double)m->count + text);
    return FM_OK;
#undef FREE_ALL
}

int fm_mtx_write_vector(const char *path, const double *x, int64_t n, const char *comment, char *msg)
{
    fm_atomic_file w = { 0 };
#define FREE_ALL fm_atomic_abort(&w)
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_mtx_write_vector: path must be a non-empty string");
    FM_CHECK(x && n > 0, FM_ERR_INVALID, "fm_mtx_write_vector: %s: the vector must exist and have a positive length",
             path);
    for (int64_t k = 0; k < n; k++)
        FM_CHECK(isfinite(x[k]), FM_ERR_INVALID, "fm_mtx_write_vector: %s: entry %" PRId64 " (0-based) is not "
                 "finite (%g)", path, k, x[k]);
    char size[64];
    snprintf(size, sizeof size, "%" PRId64 " 1", n);
    FM_TRY(fm_atomic_open(&w, path, msg));
    FM_TRY(write_head(&w, "array real general", comment, size, msg));
    for (int64_t k = 0; k < n; k++) FM_TRY(write_status(&w, fprintf(w.f, "%.17g\n", x[k]), msg));
    FM_TRY(fm_atomic_commit(&w, msg));
    return FM_OK;
#undef FREE_ALL
}
