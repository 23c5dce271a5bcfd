// Which x86-64 level the CPU runs and the kernels use (engine/cpu.h).
#include "cpu.h"

#include <stdio.h>

#include "factormer.h"

int fm_cpu_level(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    const bool v2 = __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("popcnt");
    const bool v3 = v2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("bmi2");
    const bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                    __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                    __builtin_cpu_supports("avx512vl");
    return v4 ? FM_CPU_V4 : v3 ? FM_CPU_V3 : v2 ? FM_CPU_V2 : FM_CPU_V1;
#else
    return FM_CPU_V1;
#endif
}

int fm_kernel_level(void)
{
#if FM_DISPATCH || !defined(__x86_64__)
    return fm_cpu_level();
#elif defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512BW__) && defined(__AVX512DQ__)
    return FM_CPU_V4;
#elif defined(__AVX2__) && defined(__FMA__)
    return FM_CPU_V3;
#elif defined(__SSE4_2__)
    return FM_CPU_V2;
#else
    return FM_CPU_V1;
#endif
}

const char *fm_cpu_features(void)
{
    static _Thread_local char text[160];
    if (text[0]) return text;
    static const char *const names[] = { "", "x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4" };
    const int cpu = fm_cpu_level(), kernels = fm_kernel_level();
#if FM_DISPATCH
    snprintf(text, sizeof text, "portable build (x86-64-v2, dispatched), cpu %s, kernels %s", names[cpu],
             names[kernels]);
#elif defined(FM_NATIVE_BUILD)
    snprintf(text, sizeof text, "native build (%s), cpu %s", names[kernels], names[cpu]);
#else
    snprintf(text, sizeof text, "build %s, cpu %s, kernels %s", names[kernels], names[cpu], names[kernels]);
#endif
    return text;
}
