// One Factormer layer (docs/factormer-math.md §4): the targets' features updated
// from the sources' through the edges,
//
//   m_j   = W_O [msg¹_j … msg^nh_j] + b_O          (ops/attention_block.h)
//   t'_j  = LN(t_j + m_j)
//   t''_j = LN(t'_j + FFN(t'_j))                    FFN hidden width 2d
//
// in the H-direction (targets are column nodes, edges Aᵀ: FM_TO_COLUMNS) or
// the W-direction (FM_TO_ROWS). Built twice, float and double (suffix _f64,
// fused path only), from factormer_layer.inc.
#ifndef FM_FACTORMER_LAYER_H
#define FM_FACTORMER_LAYER_H

#include "attention_block.h"
#include "params.h"

// The tensors of one layer, in the order of fm_layer_specs.
#define FM_LAYER_TENSORS 21
#define FM_LAYER_NAME 64

#define FM_LAYER_TYPES(real, suffix)                                                              \
    typedef struct fm_layer_weights##suffix {                                                     \
        fm_attention_weights##suffix attention;                                                   \
        const real *output_weight, *output_bias;        /* W_O, b_O */                           \
        const real *norm1_gamma, *norm1_beta;                                                     \
        const real *ffn_weight1, *ffn_bias1, *ffn_weight2, *ffn_bias2;                            \
        const real *norm2_gamma, *norm2_beta;                                                     \
    } fm_layer_weights##suffix;                                                                   \
    typedef struct fm_layer_grads##suffix {                                                       \
        fm_attention_weight_grads##suffix attention;                                              \
        real *output_weight, *output_bias, *norm1_gamma, *norm1_beta;                             \
        real *ffn_weight1, *ffn_bias1, *ffn_weight2, *ffn_bias2, *norm2_gamma, *norm2_beta;       \
    } fm_layer_grads##suffix;                                                                     \
    /* What the forward keeps for the backward.                                               */ \
    typedef struct fm_layer_saved##suffix {                                                       \
        fm_attention_saved##suffix attention;                                                     \
        real *messages;                 /* targets × d: heads side by side, before W_O         */ \
        real *residual1, *normed1;      /* t + m, and LN of it                                 */ \
        real *mean1, *rstd1;            /* targets each                                        */ \
        real *hidden;                   /* targets × 2d: relu(W_1 t' + b_1)                    */ \
        real *residual2, *mean2, *rstd2;                                                          \
        real *block;                                                                              \
        /* all targets of the layer; the buffers above hold attention.shape.targets of them:   */ \
        /* fewer for a forward in mini-batches of targets (fm_layer_saved_new_batched)          */ \
        int64_t targets;                                                                          \
    } fm_layer_saved##suffix;

FM_LAYER_TYPES(float, )
FM_LAYER_TYPES(double, _f64)

// The specs of one layer's tensors for width d, each name `prefix` + its own
// (e.g. "layer1.query.weight"), written into `names`.
void fm_layer_specs(fm_tensor_spec specs[FM_LAYER_TENSORS], char names[FM_LAYER_TENSORS][FM_LAYER_NAME],
                    const char *prefix, int width);

// Reals held by an fm_layer_saved of this shape (either build): the attention
// block's and the layer's own (messages, two residuals, normed1, hidden of
// width 2d, and two means and rstds).
int64_t fm_layer_saved_count(fm_attention_shape shape);

#define FM_LAYER_DECLARE(suffix, real)                                                            \
    /* Points the weights (or gradients) at the layer's tensors in a block laid out by        */ \
    /* fm_layer_specs: offsets[k] is where tensor k starts.                                    */ \
    void fm_layer_bind##suffix(fm_layer_weights##suffix *w, const real *values, const int64_t *offsets); \
    void fm_layer_bind_grads##suffix(fm_layer_grads##suffix *g, real *grads, const int64_t *offsets); \
    int fm_layer_saved_new##suffix(fm_layer_saved##suffix *saved, fm_attention_shape shape, char *msg); \
    /* For the forward alone, in mini-batches of at most `batch` (>= 1) targets: the target    */ \
    /* buffers hold min(batch, shape.targets) rows, so the layer's working memory is bounded   */ \
    /* by the batch (and the sources' keys and values). The backward refuses it when the       */ \
    /* batch is smaller than the targets. Fused kernels only (fm_message_graph_targets).       */ \
    int fm_layer_saved_new_batched##suffix(fm_layer_saved##suffix *saved, fm_attention_shape shape, \
                                           int64_t batch, char *msg);                             \
    void fm_layer_saved_free##suffix(fm_layer_saved##suffix *saved);                              \
    /* out (targets × d) = the layer on targets (targets × d) and sources (sources × d), a     */ \
    /* mini-batch of targets at a time when the saved was made batched                        */ \
    int fm_layer_forward##suffix(real *out, fm_layer_saved##suffix *saved, const real *targets,   \
                                 const real *sources, const fm_layer_weights##suffix *w,          \
                                 const fm_message_graph *mg, fm_direction direction, char *msg);  \
    /* Adds the gradients of targets and sources (either may be NULL) and of every weight.    */ \
    int fm_layer_backward##suffix(real *d_targets, real *d_sources, const fm_layer_grads##suffix *g, \
                                  const real *d_out, const fm_layer_saved##suffix *saved,         \
                                  const real *targets, const real *sources,                       \
                                  const fm_layer_weights##suffix *w, const fm_message_graph *mg,  \
                                  fm_direction direction, char *msg);

FM_LAYER_DECLARE(, float)
FM_LAYER_DECLARE(_f64, double)

#endif
