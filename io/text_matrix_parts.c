// The parts the triplet and CSV readers share: see text_matrix_parts.h.
#include "text_matrix_parts.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "status.h"

static inline bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool fm_text_is_skipped(const char *line)
{
    while (is_space(*line)) line++;
    return *line == '\0' || *line == '%' || *line == '#';
}

bool fm_text_is_number(const char *field)
{
    float v;
    const char *stop;
    return *field && fm_mtx_parse_float(field, &v, &stop) == NUMBER_OK;
}

int fm_text_parse_value(fm_mtx_reader *r, const char *token, const char *what, float *value, char *msg)
{
#define FREE_ALL ((void)0)
    const char *stop = token;
    float v = 0;
    const int status = fm_mtx_parse_float(token, &v, &stop);
    if (!*token) MTX_LINE_FAIL(FM_ERR_PARSE, "expected a %s, found an empty field", what);
    if (status == NUMBER_TRAILING)
        MTX_LINE_FAIL(FM_ERR_PARSE, "expected a %s, found %s (trailing characters %s after the number)", what,
                      fm_mtx_show(token).text, fm_mtx_show(stop).text);
    if (status != NUMBER_OK) MTX_LINE_FAIL(FM_ERR_PARSE, "expected a %s, found %s", what, fm_mtx_show(token).text);
    if (!isfinite(v))
        MTX_LINE_FAIL(FM_ERR_PARSE, "%s %s is not finite as a 32-bit float (NaN, Inf and magnitudes beyond 3.4e38 "
                      "are not allowed)", what, fm_mtx_show(token).text);
    if (v < 0)
        MTX_LINE_FAIL(FM_ERR_PARSE, "negative %s %s: nonnegative matrix factorization needs X >= 0", what,
                      fm_mtx_show(token).text);
    *value = v + 0.0f;   // -0 becomes +0
    return FM_OK;
#undef FREE_ALL
}

int64_t fm_text_capacity(int64_t capacity, int64_t need)
{
    int64_t grown = capacity < 4096 ? 4096 : capacity;
    while (grown < need) grown = grown > INT64_MAX / 2 ? INT64_MAX : grown * 2;
    return grown;
}

int fm_text_resize(void **array, size_t size, int64_t count, const fm_mtx_reader *r, char *msg)
{
    if ((uint64_t)count > SIZE_MAX / size)
        return fm_mtx_fail(FM_ERR_MEMORY, msg, r->path, r->line, "out of memory for %" PRId64 " values", count);
    void *p = realloc(*array, (size_t)count * size);
    if (!p && count > 0)
        return fm_mtx_fail(FM_ERR_MEMORY, msg, r->path, r->line, "out of memory growing to %" PRId64 " values",
                           count);
    *array = p;
    return FM_OK;
}
