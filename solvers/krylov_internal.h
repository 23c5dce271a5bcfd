// What the Krylov solvers (pcg.c, gmres.c) share: the clock and the vector
// kernels. Every dot product sums fixed blocks of FM_KRYLOV_BLOCK entries,
// each in a fixed order, and combines the blocks' sums in block order, so the
// iterates are bitwise the same for every thread count. Not installed.
#ifndef FM_KRYLOV_INTERNAL_H
#define FM_KRYLOV_INTERNAL_H

#include <stdint.h>
#include <time.h>

#include "square.h"

enum { FM_KRYLOV_BLOCK = 4096 };

double fm_krylov_seconds_since(const struct timespec *t0);
// The blocks of an n-vector: one slot of `partial` each.
int64_t fm_krylov_blocks(int64_t n);
// Σ_{lo ≤ i < hi} a_i b_i in four interleaved chains, combined pairwise.
double fm_krylov_block_dot(const double *a, const double *b, int64_t lo, int64_t hi);
// Σ_k partial[k] in block order.
double fm_krylov_sum_blocks(const double *partial, int64_t blocks);
// a·b; partial: one slot per block.
double fm_krylov_dot(const double *a, const double *b, int64_t n, double *partial);
// ‖a‖ = sqrt(a·a)
double fm_krylov_norm(const double *a, int64_t n, double *partial);
// r = b − A x; returns ‖r‖.
double fm_krylov_residual(const fm_csr *A, const double *b, const double *x, double *r,
                          double *partial);

#endif
