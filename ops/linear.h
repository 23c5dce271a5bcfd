// Linear layer with optional bias (llm.c's matmul_forward/backward):
//
//   out[r] = weight · in[r] + bias          weight: out_dim × in_dim, row-major
//
// Row-major arrays of `rows` rows (rows may be 0). Parallel over fixed blocks
// of FM_ROW_BLOCK rows (ops/row_blocks.h), one GEMM per block, so every
// result, the reductions over rows included, is the same for any thread
// count.
//
// The layer's head concatenation is a layout, not an op: head h of a d-wide
// row occupies columns [h·dh, (h+1)·dh), so the messages of all heads written
// side by side already form [msg¹ … msg^nh], and the output projection
// m_j = W_O [msg¹ … msg^nh] + b_O (docs/factormer-math.md §4) is fm_linear_forward
// on that d-wide array with in_dim = out_dim = d. The residual add is a plain
// loop in the layer.
//
// Each function is built twice from ops/linear.inc: float (no suffix, the
// fast path) and double (suffix _f64, for the finite-difference tests).
#ifndef FM_LINEAR_H
#define FM_LINEAR_H

#include <stdint.h>

#define FM_LINEAR_DECLARE(real, suffix)                                                            \
    /* out (rows × out_dim) = in (rows × in_dim) · weightᵀ + bias; bias may be NULL.            */ \
    /* out must not overlap in.                                                                  */ \
    void fm_linear_forward##suffix(real *out, const real *in, const real *weight, const real *bias, \
                                   int64_t rows, int in_dim, int out_dim);                         \
    /* Adds (+=) d_in (rows × in_dim), d_weight (out_dim × in_dim) and d_bias (out_dim), given    */ \
    /* d_out (rows × out_dim). Any of the three may be NULL: not wanted. Allocates the partials  */ \
    /* of d_weight and d_bias (a batch of blocks at a time); fails only for memory.              */ \
    int fm_linear_backward##suffix(real *d_in, real *d_weight, real *d_bias, const real *d_out,    \
                                   const real *in, const real *weight, int64_t rows, int in_dim,   \
                                   int out_dim, char *msg);

FM_LINEAR_DECLARE(float, )
FM_LINEAR_DECLARE(double, _f64)

#endif
