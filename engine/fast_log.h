// A natural logarithm that the compiler vectorizes: the weighted sampler
// takes f + 1 of them per target for its sorted uniforms and one per kept
// edge for log π, and glibc's log is a scalar call (its vector variants need
// -ffast-math). The reference is libm's log; tests/test_sampler.c compares
// the two on random inputs (within 2e-15 relative, 1e-300 absolute).
#ifndef FM_FAST_LOG_H
#define FM_FAST_LOG_H

#include <stdint.h>
#include <string.h>

// log x for normal positive finite x; 0, subnormal, negative, infinite and
// NaN inputs are outside its domain (a test of x there would keep the loop
// from vectorizing). x = m·2^e with m in [√½, √2), then log x = e·ln 2 +
// 2·atanh(s), s = (m − 1)/(m + 1), |s| <= 0.172, by its series
// 2s·Σ s^(2n)/(2n + 1) to n = 10 (the next term is below 2^−55 of the sum);
// ln 2 in two parts so that e·ln 2 stays exact.
static inline double fm_fast_log(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    const int64_t e = (int64_t)(bits - 0x3fe6a09e667f3bcdull) >> 52;   // the bits of √½
    const uint64_t scaled = bits - ((uint64_t)e << 52);
    double m;
    memcpy(&m, &scaled, sizeof m);
    const double s = (m - 1) / (m + 1), s2 = s * s;
    double series = 1.0 / 21;
    series = series * s2 + 1.0 / 19;
    series = series * s2 + 1.0 / 17;
    series = series * s2 + 1.0 / 15;
    series = series * s2 + 1.0 / 13;
    series = series * s2 + 1.0 / 11;
    series = series * s2 + 1.0 / 9;
    series = series * s2 + 1.0 / 7;
    series = series * s2 + 1.0 / 5;
    series = series * s2 + 1.0 / 3;
    const double ln2_hi = 0x1.62e42fee00000p-1, ln2_lo = 0x1.a39ef35793c76p-33;
    const double k = (double)e, log_m = 2 * s + 2 * s * s2 * series;
    return k * ln2_hi + (k * ln2_lo + log_m);
}

#endif
