// The processor the kernels run on (perf/README.md, "Portable builds").
//
// A portable build (the default) compiles for x86-64-v2 and carries AVX2
// (x86-64-v3) and AVX-512 (x86-64-v4) variants of the hot loops:
// - a function marked FM_TARGET_CLONES is compiled three times and the
//   loader picks the copy this CPU runs (a GCC ifunc; GCC 12 or later, else
//   one copy), its parallel regions with it;
// - a register-blocked kernel whose shape depends on the register file
//   (16 vector registers up to AVX2, 32 with AVX-512) has one variant per
//   level, written with intrinsics, and picks it with fm_kernel_level().
// A native build (-DFM_NATIVE=ON) holds one copy, for the CPU that built it;
// so does a portable build without dispatch (-DFM_DISPATCH=OFF: x86-64-v2
// kernels only, for measuring what the variants buy).
#ifndef FM_CPU_H
#define FM_CPU_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && \
    !defined(FM_NATIVE_BUILD) && !defined(FM_NO_DISPATCH)
#define FM_TARGET_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#define FM_DISPATCH 1
#else
#define FM_TARGET_CLONES
#define FM_DISPATCH 0
#endif

// The x86-64 micro-architecture levels (psABI): 1 baseline (SSE2), 2 (SSE4.2,
// POPCNT), 3 (AVX2, FMA, BMI2), 4 (AVX-512 F, BW, CD, DQ, VL).
enum { FM_CPU_V1 = 1, FM_CPU_V2, FM_CPU_V3, FM_CPU_V4 };

// The highest level this CPU runs (1 on a processor that is not x86-64).
int fm_cpu_level(void);

// The level a kernel variant may use: the CPU's in a portable build, the
// compiler's target in a native one (which never runs elsewhere), at most
// x86-64-v2 without dispatch.
int fm_kernel_level(void);

#endif
