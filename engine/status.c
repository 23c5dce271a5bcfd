#include "status.h"

#include <GraphBLAS.h>
#include <string.h>

int fm_fail(int code, char *msg, const char *fmt, ...)
{
    if (msg) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(msg, FM_MSG_LEN, fmt, args);
        va_end(args);
    }
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
