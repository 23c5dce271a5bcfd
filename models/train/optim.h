// AdamW (Loshchilov & Hutter 2019) over one parameter block (§7, batch
// size 1): the values, gradients and both moments of engine/params are four
// blocks of the same shape, and one step walks them tensor by tensor.
//
// For every element, with g the gradient (times the clipping scale, below)
// and t = step >= 1:
//     m = β1·m + (1 − β1)·g
//     v = β2·v + (1 − β2)·g²
//     θ = θ − rate·( (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + ε)  +  λ·θ )
// where λ is the weight decay of θ's tensor: decoupled from the gradient and
// multiplied by the scheduled rate, as in PyTorch's AdamW. The arithmetic is
// done in double and stored in float. Padding between tensors is not touched.
//
// Weight decay [choice]: 0.01 on weight matrices only, i.e. the tensors with
// rows > 1 and cols > 1 (the ones fm_params_init draws Glorot values for);
// biases and layernorm gains and shifts are vectors and do not decay
// (`decay_vectors` decays them too).
//
// Every element is updated independently, so the result is the same for any
// thread count; the gradient norm is summed over fixed chunks of the block
// (the chunking depends on the block size only), so it is too.
#ifndef FM_OPTIM_H
#define FM_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

#include "params.h"

typedef struct fm_adamw {
    double beta1;           // 0.9
    double beta2;           // 0.999
    double eps;             // 1e-8
    double weight_decay;    // 0.01
    bool decay_vectors;     // false: only tensors with rows > 1 and cols > 1 decay
    // Clip: when the L2 norm of the whole gradient block exceeds this, every
    // gradient is scaled by max_grad_norm / norm for this step (the stored
    // gradients are not changed). 0 disables clipping.
    double max_grad_norm;   // 0
} fm_adamw;

void fm_adamw_default(fm_adamw *opt);

// One step at `step` (1 for the first step; it drives the bias correction)
// with learning rate `rate` (fm_schedule_rate). `grad_norm` (may be NULL)
// receives the L2 norm of the gradient block before clipping. The norm is
// always computed: a NaN or infinite gradient returns FM_ERR_NUMERIC and
// leaves the block untouched, and so does a step that would take a value or a
// moment beyond float's range.
int fm_adamw_step(fm_params *p, const fm_adamw *opt, int64_t step, double rate, double *grad_norm,
                  char *msg);
// fm_adamw_step for a trainer that skips the steps it refuses as not finite
// (a rate that wrecks the model): FM_ERR_NUMERIC becomes FM_OK with *taken
// false (the block unchanged, msg cleared); any other failure is returned.
int fm_adamw_try_step(fm_params *p, const fm_adamw *opt, int64_t step, double rate, bool *taken, char *msg);

// The L2 norm of the gradient block, summed in double over fixed chunks.
double fm_optim_grad_norm(const fm_params *p);

#endif
