#include "status.h"

#include <GraphBLAS.h>
#include <lapacke.h>
#include <string.h>

static size_t escaped_length(unsigned char c) { return c < 0x20 || c == 0x7f ? 4 : 1; }

size_t fm_escape(char *out, size_t size, const char *text)
{
    size_t n = 0;
    if (size == 0) return 0;
    for (const unsigned char *c = (const unsigned char *)text; *c && n + escaped_length(*c) < size; c++) {
        if (escaped_length(*c) == 4) n += (size_t)snprintf(out + n, size - n, "\\x%02x", *c);
        else out[n++] = (char)*c;
    }
    out[n] = 0;
    return n;
}

// The least of a path shown when the reason alone fills the buffer.
#define PATH_SHOWN_MIN 32

int fm_vfail_path(int code, char *msg, const char *path, const char *fmt, va_list args)
{
    if (!msg) return code;
    char rest[FM_MSG_LEN];
    vsnprintf(rest, sizeof rest, fmt, args);
    if (!path) path = "(null)";
    const size_t rest_length = strlen(rest);
    size_t room = rest_length + PATH_SHOWN_MIN < FM_MSG_LEN ? FM_MSG_LEN - 1 - rest_length : PATH_SHOWN_MIN;
    size_t shown = 0;
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) shown += escaped_length(*c);
    const char *start = path;
    size_t n = 0;
    if (shown > room) {
        // "..." and the tail of the path that fits, from a character's start
        size_t kept = 0;
        start = path + strlen(path);
        while (start > path && kept + escaped_length((unsigned char)start[-1]) + 3 <= room)
            kept += escaped_length((unsigned char)*--start);
        while (((unsigned char)*start & 0xc0) == 0x80) start++;
        memcpy(msg, "...", 3);
        n = 3;
    }
    n += fm_escape(msg + n, FM_MSG_LEN - n, start);
    snprintf(msg + n, FM_MSG_LEN - n, "%s", rest);
    return code;
}

int fm_fail_path(int code, char *msg, const char *path, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    fm_vfail_path(code, msg, path, fmt, args);
    va_end(args);
    return code;
}

int fm_fail(int code, char *msg, const char *fmt, ...)
{
    if (!msg) return code;
    va_list args;
    va_start(args, fmt);
    if (strncmp(fmt, "%s:", 3) == 0) {
        const char *path = va_arg(args, const char *);
        fm_vfail_path(code, msg, path, fmt + 2, args);
    } else {
        vsnprintf(msg, FM_MSG_LEN, fmt, args);
    }
    va_end(args);
    return code;
}

int fm_grb_status(int info, const char *call, char *msg)
{
    const char *what;
    int code = FM_ERR_GRAPHBLAS;
    switch (info) {
    case GrB_OUT_OF_MEMORY: what = "out of memory"; code = FM_ERR_MEMORY; break;
    case GrB_INVALID_VALUE: what = "invalid value"; break;
    case GrB_INVALID_INDEX: what = "index out of range"; break;
    case GrB_DIMENSION_MISMATCH: what = "dimension mismatch"; break;
    case GrB_UNINITIALIZED_OBJECT: what = "uninitialized object"; break;
    case GrB_NULL_POINTER: what = "null pointer"; break;
    case GrB_INSUFFICIENT_SPACE: what = "insufficient space"; break;
    default: what = "GraphBLAS error"; break;
    }
    return fm_fail(code, msg, "GraphBLAS: %s (info %d) in %s", what, info, call);
}

int fm_lapack_status(int info, const char *call, const char *failure, char *msg)
{
    if (info == 0) return FM_OK;
    if (info == LAPACK_WORK_MEMORY_ERROR)
        return fm_fail(FM_ERR_MEMORY, msg, "%s: out of memory for LAPACK's workspace (LAPACK info %d)", call, info);
    if (info == LAPACK_TRANSPOSE_MEMORY_ERROR)
        return fm_fail(FM_ERR_MEMORY, msg, "%s: out of memory for LAPACK's transposed copy of the matrix (LAPACK info %d)",
                       call, info);
    if (info < 0)
        return fm_fail(FM_ERR_INVALID, msg, "%s: argument %d is invalid (LAPACK info %d): an internal error", call,
                       -info, info);
    return fm_fail(FM_ERR_NUMERIC, msg, "%s: %s (LAPACK info %d)", call, failure, info);
}
