// The Krylov solvers' shared vector kernels (krylov_internal.h).
#include <math.h>

#include "krylov_internal.h"

double fm_krylov_seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

int64_t fm_krylov_blocks(int64_t n) { return (n + FM_KRYLOV_BLOCK - 1) / FM_KRYLOV_BLOCK; }

double fm_krylov_block_dot(const double *a, const double *b, int64_t lo, int64_t hi)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = lo;
    for (; i + 3 < hi; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < hi; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

double fm_krylov_sum_blocks(const double *partial, int64_t blocks)
{
    double total = 0;
    for (int64_t k = 0; k < blocks; k++) total += partial[k];
    return total;
}

double fm_krylov_dot(const double *a, const double *b, int64_t n, double *partial)
{
    int64_t blocks = fm_krylov_blocks(n);
#pragma omp parallel for schedule(static) if (blocks > 1)
    for (int64_t k = 0; k < blocks; k++) {
        int64_t lo = k * FM_KRYLOV_BLOCK, hi = lo + FM_KRYLOV_BLOCK < n ? lo + FM_KRYLOV_BLOCK : n;
        partial[k] = fm_krylov_block_dot(a, b, lo, hi);
    }
    return fm_krylov_sum_blocks(partial, blocks);
}

double fm_krylov_norm(const double *a, int64_t n, double *partial)
{
    return sqrt(fm_krylov_dot(a, a, n, partial));
}

double fm_krylov_residual(const fm_csr *A, const double *b, const double *x, double *r,
                          double *partial)
{
    int64_t n = A->n;
    fm_spmv(A, x, r);
#pragma omp parallel for schedule(static) if (n > FM_KRYLOV_BLOCK)
    for (int64_t i = 0; i < n; i++) r[i] = b[i] - r[i];
    return fm_krylov_norm(r, n, partial);
}
