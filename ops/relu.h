// ReLU over `count` scalars (rows × width of a row-major array). Built twice
// from ops/relu.inc: float (no suffix) and double (suffix _f64).
#ifndef FM_RELU_H
#define FM_RELU_H

#include <stdint.h>

#define FM_RELU_DECLARE(real, suffix)                                                         \
    /* out = max(in, 0); out may alias in.                                                 */ \
    void fm_relu_forward##suffix(real *out, const real *in, int64_t count);                   \
    /* d_in += d_out where the forward's output `out` is > 0; d_in must not overlap d_out. */ \
    void fm_relu_backward##suffix(real *d_in, const real *d_out, const real *out, int64_t count);

FM_RELU_DECLARE(float, )
FM_RELU_DECLARE(double, _f64)

#endif
