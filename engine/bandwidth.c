// The STREAM triad (engine/bandwidth.h).
#include "bandwidth.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <unistd.h>

#include "status.h"

int64_t fm_memory_bandwidth_bytes(void)
{
    long cache = -1;
#ifdef _SC_LEVEL3_CACHE_SIZE
    cache = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
    if (cache <= 0) cache = 32l << 20;
    int64_t bytes = 4 * (int64_t)cache;
    if (bytes < (64ll << 20)) bytes = 64ll << 20;
    if (bytes > (256ll << 20)) bytes = 256ll << 20;
    return bytes;
}

int fm_memory_bandwidth(double *gb_per_s, double seconds, char *msg)
{
    double *a = NULL, *b = NULL, *c = NULL;
#undef FREE_ALL
#define FREE_ALL do { free(a); free(b); free(c); } while (0)
    FM_CHECK(gb_per_s && seconds >= 0, FM_ERR_INVALID, "fm_memory_bandwidth: bad arguments");
    const int64_t n = fm_memory_bandwidth_bytes() / (int64_t)sizeof(double);
    a = malloc(sizeof(double) * (size_t)n);
    b = malloc(sizeof(double) * (size_t)n);
    c = malloc(sizeof(double) * (size_t)n);
    FM_CHECK(a && b && c, FM_ERR_MEMORY, "out of memory allocating 3 x %lld bytes for the bandwidth measurement",
             (long long)(n * (int64_t)sizeof(double)));
    // first touch with the schedule of the triad: each thread's pages near it
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        a[i] = 0;
        b[i] = 1;
        c[i] = 2;
    }
    const double scalar = 3;
    double best = 1e300, began = omp_get_wtime();
    for (int repeat = 0; repeat < 1000; repeat++) {
        const double t0 = omp_get_wtime();
        double *restrict out = a;
        const double *restrict left = b, *restrict right = c;
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) out[i] = left[i] + scalar * right[i];
        const double t1 = omp_get_wtime();
        if (t1 - t0 < best) best = t1 - t0;
        if (repeat >= 2 && t1 - began >= seconds) break;
    }
    FM_CHECK(a[n / 2] == 7, FM_ERR_NUMERIC, "the bandwidth triad computed %g, not 7", a[n / 2]);
    *gb_per_s = 24.0 * (double)n / fmax(best, 1e-9) / 1e9;
    FREE_ALL;
    return FM_OK;
}
