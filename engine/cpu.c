// Which x86-64 level the CPU runs and the kernels use (engine/cpu.h).
#include "cpu.h"

#include <pthread.h>
#include <string.h>

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
#if defined(FM_NATIVE_BUILD) && defined(__x86_64__)
#if defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512BW__) && defined(__AVX512DQ__)
    return FM_CPU_V4;
#elif defined(__AVX2__) && defined(__FMA__)
    return FM_CPU_V3;
#elif defined(__SSE4_2__)
    return FM_CPU_V2;
#else
    return FM_CPU_V1;
#endif
#elif defined(FM_NO_DISPATCH)
    return fm_cpu_level() < FM_CPU_V2 ? fm_cpu_level() : FM_CPU_V2;
#else
    return fm_cpu_level();
#endif
}

static char features[256];

static void append(const char *text)
{
    strncat(features, text, sizeof features - strlen(features) - 1);
}

static void find_features(void)
{
    static const char *const names[] = { "", "x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4" };
#if defined(FM_NATIVE_BUILD)
    append("native build; kernels ");
#elif defined(FM_NO_DISPATCH)
    append("portable build (x86-64-v2, no dispatch); kernels ");
#elif FM_DISPATCH
    append("portable build (x86-64-v2, dispatched); kernels ");
#else
    append("portable build (x86-64-v2; the hand-vectorized kernels dispatched, no target clones); kernels ");
#endif
    append(names[fm_kernel_level()]);
    append("; cpu:");
#if defined(__x86_64__)
    __builtin_cpu_init();
#define FM_FLAG(name) if (__builtin_cpu_supports(name)) append(" " name)
    FM_FLAG("sse4.2");
    FM_FLAG("avx");
    FM_FLAG("avx2");
    FM_FLAG("fma");
    FM_FLAG("avx512f");
    FM_FLAG("avx512bw");
    FM_FLAG("avx512vl");
#undef FM_FLAG
#else
    append(" not x86-64");
#endif
}

const char *fm_cpu_features(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, find_features);
    return features;
}
