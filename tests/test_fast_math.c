// The vectorizable logarithm and exponential of engine/fast_math.h against
// libm's, on random inputs over each one's domain.
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

#include "fast_math.h"
#include "rng.h"

// The weighted sampler's vectorized log against libm's, over its whole
// domain: the uniforms of (0, 1) it feeds it, 1 − (1 − p)^f near 0 and 1,
// and normal numbers of every exponent; exact powers of 2 and √½ on the
// seam of its range reduction.
Test(fast_math, log_matches_libm)
{
    const fm_rng rng = fm_rng_stream(5, FM_STREAM_SAMPLE);
    double worst = 0, at = 0;
    for (uint64_t i = 0; i < 300000; i++) {
        const double u = fm_rng_uniform(rng, i);
        double x;
        switch (i % 5) {
        case 0: x = u; break;
        case 1: x = 1 - pow(1 - u * 1e-6, 32); break;
        case 2: x = 1 - u * 1e-12; break;
        case 3: x = ldexp(0.5 + u, (int)(i % 2040) - 1020); break;
        default: x = i % 2 ? ldexp(1, (int)(i % 2040) - 1021) : ldexp(sqrt(0.5), (int)(i % 2040) - 1020) * (1 + (u - 0.5) * 1e-15); break;
        }
        const double exact = log(x), error = fabs(fm_fast_log(x) - exact) / fmax(fabs(exact), 1e-300);
        if (error > worst) { worst = error; at = x; }
    }
    cr_assert_leq(worst, 2e-15, "fm_fast_log is %.3g off (relative) at %.17g", worst, at);
    cr_assert_eq(fm_fast_log(1), 0);
}

// The attention's exponential against exp in double, on x <= 0 (and a
// little above, where a rounding can put it): within 3 float ulps (relative)
// down to −87, exp(−87) below it; exact at 0.
Test(fast_math, expf_matches_libm)
{
    const fm_rng rng = fm_rng_stream(6, FM_STREAM_SAMPLE);
    double worst = 0, at = 0;
    for (uint64_t i = 0; i < 300000; i++) {
        const double u = fm_rng_uniform(rng, i);
        const float x = (float)(i % 4 == 0 ? -87 * u : i % 4 == 1 ? -u : i % 4 == 2 ? -1e-6 * u : 2 * u);
        const double exact = exp((double)x), error = fabs((double)fm_fast_expf(x) - exact) / exact;
        if (error > worst) { worst = error; at = x; }
    }
    cr_assert_leq(worst, 3 * 0x1p-24, "fm_fast_expf is %.3g off (relative) at %.9g", worst, at);
    cr_assert_eq(fm_fast_expf(0), 1.0f);
    const float floor = fm_fast_expf(-87);
    cr_assert(fabs(floor - exp(-87.0)) <= 3 * 0x1p-24 * exp(-87.0), "exp(-87): %g", floor);
    cr_assert_eq(fm_fast_expf(-1e4f), floor);
    cr_assert_eq(fm_fast_expf(-INFINITY), floor);
}

// Up to 88, where exp x is still a normal float, within 3 ulps as below 0.
Test(fast_math, expf_matches_libm_above_zero)
{
    const fm_rng rng = fm_rng_stream(7, FM_STREAM_SAMPLE);
    double worst = 0, at = 0;
    for (uint64_t i = 0; i < 100000; i++) {
        const float x = (float)(88 * fm_rng_uniform(rng, i));
        const double exact = exp((double)x), error = fabs((double)fm_fast_expf(x) - exact) / exact;
        if (error > worst) { worst = error; at = x; }
    }
    cr_assert_leq(worst, 3 * 0x1p-24, "fm_fast_expf is %.3g off (relative) at %.9g", worst, at);
}

// What a network with huge weights feeds the attention's softmax: scores
// that overflowed (inf − inf = NaN) or that are huge but finite. Above 88 the
// result is exp(88), finite; NaN stays NaN. None of it reaches undefined
// behaviour (the sanitizer build checks the exponent arithmetic).
Test(fast_math, expf_is_defined_everywhere)
{
    const float top = fm_fast_expf(88);
    cr_assert(isfinite(top) && fabs(top - exp(88.0)) <= 3 * 0x1p-24 * exp(88.0), "exp(88): %g", top);
    const float above[] = { 88.5f, 89, 100, 1e4f, 1e30f, 3.4e38f, INFINITY };
    for (size_t i = 0; i < sizeof above / sizeof above[0]; i++)
        cr_assert_eq(fm_fast_expf(above[i]), top, "fm_fast_expf(%g) = %g, expected exp(88) = %g",
                     (double)above[i], (double)fm_fast_expf(above[i]), (double)top);
    cr_assert(isnan(fm_fast_expf(NAN)), "fm_fast_expf(NaN) = %g", (double)fm_fast_expf(NAN));
    cr_assert(isnan(fm_fast_expf(-NAN)), "fm_fast_expf(-NaN) = %g", (double)fm_fast_expf(-NAN));
    // the same in a loop the compiler vectorizes, as the attention's is
    float x[64], y[64];
    for (int i = 0; i < 64; i++) x[i] = i % 4 == 0 ? NAN : i % 4 == 1 ? 1e30f : i % 4 == 2 ? -1e30f : (float)i;
#pragma omp simd
    for (int i = 0; i < 64; i++) y[i] = fm_fast_expf(x[i]);
    for (int i = 0; i < 64; i++) {
        if (i % 4 == 0) cr_assert(isnan(y[i]), "lane %d: %g", i, (double)y[i]);
        else if (i % 4 == 1) cr_assert_eq(y[i], top, "lane %d: %g", i, (double)y[i]);
        else if (i % 4 == 2) cr_assert_eq(y[i], fm_fast_expf(-87), "lane %d: %g", i, (double)y[i]);
        else cr_assert(fabs(y[i] - exp(i)) <= 3 * 0x1p-24 * exp(i), "lane %d: %g", i, (double)y[i]);
    }
}
