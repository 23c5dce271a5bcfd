// Library lifetime and threads: one setting drives OpenMP (and with it every
// BLAS call the engine makes) and GraphBLAS, so that no library
// oversubscribes the cores of another.
#include "status.h"

#include <GraphBLAS.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void openblas_set_num_threads(int num_threads);

static int fm_threads = 0;

#define FM_STR_(x) #x
#define FM_STR(x) FM_STR_(x)

const char *fm_version(void)
{
    return FM_STR(FACTORMER_VERSION_MAJOR) "." FM_STR(FACTORMER_VERSION_MINOR) "." FM_STR(
        FACTORMER_VERSION_PATCH);
}

// The x86 features the kernels care about: those of this CPU, then those the
// build was compiled for (the kernels use the latter; -march=native makes the
// two agree on the build machine).
static char cpu_features[256];

static void append(const char *feature)
{
    strncat(cpu_features, " ", sizeof cpu_features - strlen(cpu_features) - 1);
    strncat(cpu_features, feature, sizeof cpu_features - strlen(cpu_features) - 1);
}

static void find_cpu_features(void)
{
    strcpy(cpu_features, "cpu:");
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) append("sse4.2");
    if (__builtin_cpu_supports("avx")) append("avx");
    if (__builtin_cpu_supports("avx2")) append("avx2");
    if (__builtin_cpu_supports("fma")) append("fma");
    if (__builtin_cpu_supports("avx512f")) append("avx512f");
    if (__builtin_cpu_supports("avx512bw")) append("avx512bw");
    if (__builtin_cpu_supports("avx512vl")) append("avx512vl");
#else
    append("(not x86)");
#endif
    strncat(cpu_features, "; build:", sizeof cpu_features - strlen(cpu_features) - 1);
#ifdef __SSE4_2__
    append("sse4.2");
#endif
#ifdef __AVX__
    append("avx");
#endif
#ifdef __AVX2__
    append("avx2");
#endif
#ifdef __FMA__
    append("fma");
#endif
#ifdef __AVX512F__
    append("avx512f");
#endif
#ifdef __AVX512BW__
    append("avx512bw");
#endif
#ifdef __AVX512VL__
    append("avx512vl");
#endif
#if !defined(__SSE4_2__) && !defined(__AVX__)
    append("baseline");
#endif
}

const char *fm_cpu_features(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, find_cpu_features);
    return cpu_features;
}

int fm_init(char *msg)
{
    int info = GrB_init(GrB_NONBLOCKING);
    // A second fm_init in the same process finds GraphBLAS already started.
    if (info != GrB_SUCCESS && info != GrB_INVALID_VALUE)
        return fm_grb_status(info, "GrB_init", msg);
    // OMP_NUM_THREADS, when set, is the default; otherwise all cores.
    fm_set_threads(getenv("OMP_NUM_THREADS") ? omp_get_max_threads() : 0);
    return FM_OK;
}

void fm_finalize(void) { GrB_finalize(); }

void fm_set_threads(int n)
{
    if (n <= 0) n = omp_get_num_procs();
    fm_threads = n;
    omp_set_num_threads(n);
    // OpenBLAS runs single-threaded inside the engine's OpenMP blocks: its
    // own pthreads spin after each call and would compete with OpenMP's
    // threads for the same cores (perf/README.md).
    openblas_set_num_threads(1);
    GxB_set(GxB_NTHREADS, n);
}

int fm_get_threads(void) { return fm_threads > 0 ? fm_threads : omp_get_max_threads(); }

const char *fm_kind_name(fm_kind kind)
{
    switch (kind) {
    case FM_KIND_DENSE: return "dense";
    case FM_KIND_SPARSE: return "sparse";
    case FM_KIND_INCOMPLETE: return "incomplete";
    default: return "auto";
    }
}

int fm_kind_parse(fm_kind *kind, const char *name, char *msg)
{
    static const fm_kind kinds[] = { FM_KIND_AUTO, FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(name, fm_kind_name(kinds[i])) == 0) { *kind = kinds[i]; return FM_OK; }
    return fm_fail(FM_ERR_INVALID, msg, "unknown kind '%s': expected dense, sparse, incomplete or auto", name);
}
