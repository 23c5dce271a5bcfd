// The parameter block of a model (llm.c style): all parameters in one
// contiguous float block, carved into named tensors, with the gradients, the
// first moments and the second moments in three more blocks of the same
// shape. The optimizer, the checkpoint writer and the gradient zeroing each
// loop over whole blocks.
//
// The layout (specs, offsets, count) is in elements, not bytes, and does not
// depend on the float storage: a double array of `count` elements carved at
// the same offsets holds the same tensors (the finite-difference tests of the
// layer do that).
#ifndef FM_PARAMS_H
#define FM_PARAMS_H

#include <stdint.h>

// Every tensor starts at a multiple of this many elements (64 bytes of
// float), and `count` is a multiple of it, so every block and every tensor
// in it is 64-byte aligned.
#define FM_PARAMS_ALIGN 16

// A tensor of rows × cols (row-major); cols = 1 for a vector.
typedef struct fm_tensor_spec {
    const char *name;
    int rows, cols;
} fm_tensor_spec;

typedef struct fm_params {
    int64_t count;                   // elements in each block, padding included
    int tensors;                     // number of named tensors
    fm_tensor_spec *specs;           // copies of the specs (names copied too)
    int64_t *offsets;                // where each tensor starts in every block
    float *values, *grads, *m, *v;   // four blocks of `count` floats, one allocation
} fm_params;

// Lays out `tensors` specs in order (names must be distinct and non-empty,
// rows and cols >= 1); all four blocks start zeroed. *out must be NULL.
int fm_params_new(fm_params **out, const fm_tensor_spec *specs, int tensors, char *msg);
void fm_params_free(fm_params **p);

// The index of the tensor named `name`, or -1.
int fm_params_find(const fm_params *p, const char *name);
// rows × cols of tensor `tensor`.
int64_t fm_params_size(const fm_params *p, int tensor);
// Where tensor `tensor` starts in the values and in the gradients.
float *fm_params_values(fm_params *p, int tensor);
float *fm_params_grads(fm_params *p, int tensor);

void fm_params_zero_grads(fm_params *p);

// Initial values, the same for a seed whatever the thread count: weights
// (rows > 1 and cols > 1) uniform in ±sqrt(6 / (rows + cols)) (Glorot), from
// the counter-based stream FM_STREAM_PARAMS at the element's offset in the
// block; vectors zero, except a tensor whose name ends in "gamma" (a
// layernorm scale): one. Gradients and both moments are zeroed.
void fm_params_init(fm_params *p, uint64_t seed);

#endif
