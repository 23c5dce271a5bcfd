// GEMMs over the rows of node arrays (rows = targets or sources, up to
// millions), for the per-head products of the attention block whose operands
// are column slices (a head) of wider arrays. Parallel over the fixed row
// blocks of ops/row_blocks.h, so results do not depend on the thread count.
#ifndef FM_GEMM_ROWS_H
#define FM_GEMM_ROWS_H

#include <stdbool.h>
#include <stdint.h>

#define FM_GEMM_ROWS_DECLARE(real, suffix)                                                          \
    /* C[r] = A[r] · op(B) + beta C[r] for r < rows; A[r] has k entries, op(B) is k × n (B is    */ \
    /* n × k when trans_b).                                                                      */ \
    void fm_gemm_rows##suffix(bool trans_b, int64_t rows, int n, int k, const real *A, int lda,     \
                              const real *B, int ldb, real beta, real *C, int ldc);                 \
    /* C (m × n) += Σ_r A[r]ᵀ B[r]: A[r] has m entries, B[r] has n. Partials per row block are  */ \
    /* added in block order. Fails only for memory.                                             */ \
    int fm_gemm_rows_reduce##suffix(int m, int n, int64_t rows, const real *A, int lda,             \
                                    const real *B, int ldb, real *C, int ldc, char *msg);

FM_GEMM_ROWS_DECLARE(float, )
FM_GEMM_ROWS_DECLARE(double, _f64)

#endif
