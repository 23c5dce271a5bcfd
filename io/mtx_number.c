// Matrix Market numbers: whole tokens as int64 or as correctly rounded
// floats (io/mtx_parts.h).
#include "mtx_parts.h"

#include <float.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static inline bool is_digit(char c) { return (unsigned)(c - '0') < 10u; }

// A whole token as a decimal int64 with an optional sign.
int fm_mtx_parse_int64(const char *s, int64_t *value, const char **stop)
{
    const char *p = s;
    bool negative = false;
    if (*p == '+' || *p == '-') negative = *p++ == '-';
    *stop = p;
    if (!is_digit(*p)) return NUMBER_NONE;
    uint64_t v = 0;
    bool overflow = false;
    for (; is_digit(*p); p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10) overflow = true;
        else v = v * 10 + d;
    }
    *stop = p;
    if (*p) return NUMBER_TRAILING;
    if (overflow) return NUMBER_OVERFLOW;
    *value = negative ? -(int64_t)v : (int64_t)v;
    return NUMBER_OK;
}

// The reference: strtof, correctly rounded, accepts every C float syntax
// (nan, inf, hexadecimal); overflow gives an infinity.
static int parse_float_strtof(const char *s, float *value, const char **stop)
{
    char *end = NULL;
    float v = strtof(s, &end);
    *stop = end;
    if (end == s) return NUMBER_NONE;
    if (*end) return NUMBER_TRAILING;
    *value = v;
    return NUMBER_OK;
}

// A whole token as a float, correctly rounded. The fast path covers the
// decimal forms writers produce ([sign] digits [. digits] [e exponent] with at
// most 19 significant digits and a result in the normal float range): one
// exact IEEE double operation (Clinger's fast path), then a rounding to float
// that cannot double-round because results that land exactly on a float
// rounding boundary go to strtof. Everything else goes to strtof too.
int fm_mtx_parse_float(const char *s, float *value, const char **stop)
{
    static const double pow10[] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    };
    const char *p = s;
    bool negative = false;
    if (*p == '+' || *p == '-') negative = *p++ == '-';
    uint64_t mantissa = 0;
    int digits = 0;              // significant digits in mantissa
    int64_t exponent = 0;        // value = mantissa * 10^exponent
    bool any = false, inexact = false;
    for (; is_digit(*p); p++) {
        any = true;
        if (mantissa == 0 && *p == '0') continue;
        if (digits < 19) { mantissa = mantissa * 10 + (uint64_t)(*p - '0'); digits++; }
        else { inexact = true; exponent++; }
    }
    if (*p == '.') {
        for (p++; is_digit(*p); p++) {
            any = true;
            if (mantissa == 0 && *p == '0') { exponent--; continue; }
            if (digits < 19) {
                mantissa = mantissa * 10 + (uint64_t)(*p - '0');
                digits++;
                exponent--;
            } else {
                inexact = true;
            }
        }
    }
    if (!any || inexact) return parse_float_strtof(s, value, stop);
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        bool negative_exponent = false;
        if (*q == '+' || *q == '-') negative_exponent = *q++ == '-';
        if (!is_digit(*q)) return parse_float_strtof(s, value, stop);
        int64_t e = 0;
        for (; is_digit(*q); q++)
            if (e < 100000) e = e * 10 + (*q - '0');
        exponent += negative_exponent ? -e : e;
        p = q;
    }
    if (*p) return parse_float_strtof(s, value, stop);
    *stop = p;
    if (mantissa == 0) {
        *value = negative ? -0.0f : 0.0f;
        return NUMBER_OK;
    }
    if (mantissa > (UINT64_C(1) << 53) || exponent < -22 || exponent > 22)
        return parse_float_strtof(s, value, stop);
    double d = (double)mantissa;
    d = exponent < 0 ? d / pow10[-exponent] : d * pow10[exponent];
    // Below the normal range float has fewer bits; at the top it overflows.
    if (!(d >= (double)FLT_MIN && d < 0x1.ffffffp127)) return parse_float_strtof(s, value, stop);
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    // The 29 bits of a double's mantissa below float precision: exactly a
    // half means d sits on a float rounding boundary (a tie for d, perhaps
    // not for the decimal), and only strtof knows which way to go.
    if ((bits & ((UINT64_C(1) << 29) - 1)) == (UINT64_C(1) << 28))
        return parse_float_strtof(s, value, stop);
    float v = (float)d;
    *value = negative ? -v : v;
    return NUMBER_OK;
}
