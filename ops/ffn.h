// Position-wise feed-forward network of the Factormer layer
// (docs/factormer-math.md §4), hidden width 2d:
//
//   FFN(z) = W_2 relu(W_1 z + b_1) + b_2,   W_1: 2d × d, W_2: d × 2d
//
// built from fm_linear and fm_relu. Row-major arrays of `rows` rows. Built
// twice from ops/ffn.inc: float (no suffix) and double (suffix _f64).
#ifndef FM_FFN_H
#define FM_FFN_H

#include <stdint.h>

#define FM_FFN_HIDDEN(d) (2 * (d))

#define FM_FFN_DECLARE(real, suffix)                                                              \
    /* out (rows × d) = FFN(in). Saves the hidden activation relu(W_1 z + b_1) in the caller's  */ \
    /* `hidden` (rows × 2d): that is all the backward needs (relu' > 0 exactly where the       */ \
    /* activation is), so the pre-activation is not kept. out must not overlap in or hidden.   */ \
    void fm_ffn_forward##suffix(real *out, real *hidden, const real *in, const real *w1,          \
                                const real *b1, const real *w2, const real *b2, int64_t rows,     \
                                int d);                                                           \
    /* Adds (+=) d_in (rows × d), d_w1, d_b1, d_w2, d_b2, given d_out (rows × d), the forward's */ \
    /* input and its saved `hidden`. Any gradient may be NULL: not wanted. `d_hidden` is the    */ \
    /* caller's scratch of rows × 2d, overwritten (the gradient of the pre-activation); it is  */ \
    /* not touched, and may be NULL, when d_in, d_w1 and d_b1 are all NULL. Fails only for    */ \
    /* memory (the partials of fm_linear_backward).                                            */ \
    int fm_ffn_backward##suffix(real *d_in, real *d_w1, real *d_b1, real *d_w2, real *d_b2,      \
                                real *d_hidden, const real *d_out, const real *in,               \
                                const real *hidden, const real *w1, const real *w2,              \
                                int64_t rows, int d, char *msg);

FM_FFN_DECLARE(float, )
FM_FFN_DECLARE(double, _f64)

#endif
