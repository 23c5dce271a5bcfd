// Status codes, the message buffer and the cleanup macros every library
// function uses (the LAGraph convention: return an int, fill `msg` on failure,
// jump to a FREE_ALL block that releases every local handle).
#ifndef FM_STATUS_H
#define FM_STATUS_H

#include <stdarg.h>
#include <stdio.h>

#include "factormer.h"

// Fill msg with a printf-style sentence and return `code`. A format that
// begins with "%s:" names a file (or what stands for one) first: that string
// is shown with its control bytes escaped (fm_escape), and when the message
// does not fit in FM_MSG_LEN it is cut to "..." and its tail, so that the
// reason after it survives.
int fm_fail(int code, char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
// The same with the file given apart: `path` shown as above, then the rest.
int fm_fail_path(int code, char *msg, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int fm_vfail_path(int code, char *msg, const char *path, const char *fmt, va_list args);

// `text` with its control bytes (below 0x20, and 0x7f) written as \xNN, into
// out (NUL-terminated, cut to fit `size`); UTF-8 and other bytes are kept.
// Returns the length written.
size_t fm_escape(char *out, size_t size, const char *text);

// Translate a GraphBLAS return value into an fm status, naming the call.
int fm_grb_status(int info, const char *call, char *msg);

// Translate a LAPACKE return value: 0 FM_OK; LAPACK_WORK_MEMORY_ERROR and
// LAPACK_TRANSPOSE_MEMORY_ERROR (LAPACKE could not allocate its workspace or
// its transposed copy) FM_ERR_MEMORY; another negative value an invalid
// argument (FM_ERR_INVALID, an internal error); a positive one
// FM_ERR_NUMERIC with `failure` ("the small SVD did not converge").
int fm_lapack_status(int info, const char *call, const char *failure, char *msg);

// The caller defines FREE_ALL (releases every local, all start NULL) before
// the first use of these.
#define FM_TRY(expr)                                                         \
    do {                                                                     \
        int fm_try_status_ = (expr);                                         \
        if (fm_try_status_ < 0) { FREE_ALL; return fm_try_status_; }        \
    } while (0)

#define FM_GRB(expr)                                                         \
    do {                                                                     \
        int fm_grb_info_ = (int)(expr);                                      \
        if (fm_grb_info_ != 0 && fm_grb_info_ != 1) {                        \
            int fm_grb_status_ = fm_grb_status(fm_grb_info_, #expr, msg);    \
            FREE_ALL;                                                        \
            return fm_grb_status_;                                           \
        }                                                                    \
    } while (0)

#define FM_FAIL(code, ...)                                                   \
    do { int fm_fail_status_ = fm_fail((code), msg, __VA_ARGS__);            \
         FREE_ALL; return fm_fail_status_; } while (0)

#define FM_CHECK(cond, code, ...)                                            \
    do { if (!(cond)) FM_FAIL(code, __VA_ARGS__); } while (0)

#define FM_ALLOC(ptr, count)                                                 \
    do {                                                                     \
        size_t fm_alloc_n_ = (size_t)(count);                                \
        (ptr) = fm_alloc_n_ ? calloc(fm_alloc_n_, sizeof(*(ptr))) : NULL;    \
        if (fm_alloc_n_ && !(ptr))                                           \
            FM_FAIL(FM_ERR_MEMORY, "out of memory allocating %zu x %zu bytes at %s:%d", \
                    fm_alloc_n_, sizeof(*(ptr)), __FILE__, __LINE__);        \
    } while (0)

#endif
