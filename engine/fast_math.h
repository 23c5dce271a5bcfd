// Logarithm and exponential that the compiler vectorizes: glibc's log and
// expf are scalar calls (their vector variants need -ffast-math). The
// weighted sampler takes f + 1 logarithms per target for its sorted uniforms
// and one per kept edge for log π; the attention's tiles on complete graphs
// one exponential per edge and head. The references are libm's log and exp;
// tests/test_fast_math.c compares them on random inputs of each domain.
#ifndef FM_FAST_MATH_H
#define FM_FAST_MATH_H

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

// exp x in float, made for x <= 0: the softmax's scores minus their maximum
// (or their log-normalizer, a rounding above them at most). x = n·ln 2 + r
// with n an integer (rounded by the float shifter 1.5·2^23) and
// |r| <= ln 2 / 2, exp r by its Taylor series to r^7 (the next term is below
// 2^−27 of it), times 2^n built in the exponent bits. x is first clamped to
// [−87, 88], where 2^n stays a normal number: below −87, where exp x reaches
// float's smallest normal number, it returns exp(−87), 1.6e−38 (in a softmax
// whose largest term is 1 that is a rounding-level difference); above 88 it
// returns exp(88), 1.65e38, finite (a score that large means the network's
// activations overflowed, which its callers check for); NaN gives NaN. The
// clamp is a min and a max, and the exponent arithmetic unsigned, so that
// any input is defined behaviour and the loops that call it still vectorize.
static inline float fm_fast_expf(float x)
{
    x = x < -87.0f ? -87.0f : x;   // NaN passes both
    x = x > 88.0f ? 88.0f : x;
    const float shifter = 0x1.8p23f, log2e = 0x1.715476p+0f;
    const float ln2_hi = 0x1.62e400p-1f, ln2_lo = 0x1.7f7d1cp-20f;
    const float shifted = x * log2e + shifter, n = shifted - shifter;
    const float r = (x - n * ln2_hi) - n * ln2_lo;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t n_bits;
    memcpy(&n_bits, &shifted, sizeof n_bits);
    const uint32_t scale_bits = (n_bits - 0x4b400000u + 127u) << 23;   // 0x4b400000: the shifter's bits
    float scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    return p * scale;
}

#endif
