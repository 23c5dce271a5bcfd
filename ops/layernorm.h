// Layer normalization over the last dimension (llm.c's layernorm_forward and
// layernorm_backward), with scale gamma and shift beta (d each):
//
//   out[r][i] = (in[r][i] − mean_r) · rstd_r · gamma[i] + beta[i],
//   mean_r = (1/d) Σ_i in[r][i],   rstd_r = 1 / sqrt((1/d) Σ_i (in[r][i] − mean_r)² + eps)
//
// Row-major rows × d arrays (rows may be 0). Parallel over fixed blocks of
// FM_ROW_BLOCK rows; the same result for any thread count. Built twice from
// ops/layernorm.inc: float (no suffix) and double (suffix _f64).
#ifndef FM_LAYERNORM_H
#define FM_LAYERNORM_H

#include <stdint.h>

#define FM_LAYERNORM_EPS 1e-5

#define FM_LAYERNORM_DECLARE(real, suffix)                                                          \
    /* Writes out (may alias in) and saves mean and rstd (rows each) for the backward.          */ \
    void fm_layernorm_forward##suffix(real *out, real *mean, real *rstd, const real *in,            \
                                      const real *gamma, const real *beta, int64_t rows, int d);    \
    /* Adds (+=) d_in (rows × d), d_gamma and d_beta (d each), given d_out, the forward's input   */ \
    /* and its saved mean and rstd. Any of the three may be NULL: not wanted. d_in must not      */ \
    /* overlap d_out. Allocates the partials of d_gamma and d_beta; fails only for memory.       */ \
    int fm_layernorm_backward##suffix(real *d_in, real *d_gamma, real *d_beta, const real *d_out,   \
                                      const real *in, const real *gamma, const real *mean,          \
                                      const real *rstd, int64_t rows, int d, char *msg);

FM_LAYERNORM_DECLARE(float, )
FM_LAYERNORM_DECLARE(double, _f64)

#endif
