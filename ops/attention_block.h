// The attention of one Factormer layer around its edge part (§4, §4.1): the
// projections to queries, keys and values, the edge-key and edge-value terms
// of e_ij = [x_ij ; s_i ⊙ t_j] folded into per-target probes and scales, the
// edge attention (ops/attention.h), and the assembly of the messages
//
//   msg^h_j = Σ α vN^h_i + (Σ α x_ij) a_V^h + B_V^h (t_j ⊙ Σ α s_i) + (Σ α) b_VE^h
//
// for every head side by side (the concatenation before W_O), where Σ α is 1,
// or 0 for a target without in-edges (whose message is then zero). Built twice,
// float and double (suffix _f64, fused path only), from attention_block.inc.
#ifndef FM_ATTENTION_BLOCK_H
#define FM_ATTENTION_BLOCK_H

#include "attention.h"

#define FM_ATTENTION_BLOCK_TYPES(real, suffix)                                                    \
    /* d×d weights in the linear convention out = in · weightᵀ + bias; B_K and B_V are d×d    */ \
    /* with head h in rows [h·dh, (h+1)·dh); a_K, a_V, b_VE and the biases have d entries.     */ \
    typedef struct fm_attention_weights##suffix {                                                 \
        const real *query_weight, *query_bias, *key_weight, *key_bias, *value_weight, *value_bias; \
        const real *edge_key_scale, *edge_key_weight;          /* a_K, B_K */                     \
        const real *edge_value_scale, *edge_value_weight, *edge_value_bias; /* a_V, B_V, b_VE */  \
    } fm_attention_weights##suffix;                                                               \
    typedef struct fm_attention_weight_grads##suffix {                                            \
        real *query_weight, *query_bias, *key_weight, *key_bias, *value_weight, *value_bias;      \
        real *edge_key_scale, *edge_key_weight;                                                   \
        real *edge_value_scale, *edge_value_weight, *edge_value_bias;                             \
    } fm_attention_weight_grads##suffix;                                                          \
    /* What the forward keeps for the backward (one allocation, fm_attention_saved_new).       */ \
    typedef struct fm_attention_saved##suffix {                                                   \
        real *queries;         /* targets × d                                                 */ \
        real *keys, *values;   /* sources × d                                                 */ \
        real *edge_keys;       /* targets × nh·d: B_K^hᵀ q^h_j                                 */ \
        real *probes;          /* targets × nh·d: t_j ⊙ B_K^hᵀ q^h_j                           */ \
        real *edge_scales;     /* targets × nh:   q^h_j · a_K^h                                */ \
        fm_attention_outputs##suffix sums;  /* the edge attention's outputs                   */ \
        real *has_edges;       /* targets: 1 where Σ α = 1, 0 for a target with no in-edge    */ \
        fm_attention_shape shape;                                                                 \
        real *block;                                                                              \
    } fm_attention_saved##suffix;

FM_ATTENTION_BLOCK_TYPES(float, )
FM_ATTENTION_BLOCK_TYPES(double, _f64)

// Reals held by an fm_attention_saved of this shape (either build).
int64_t fm_attention_saved_count(fm_attention_shape shape);

#define FM_ATTENTION_BLOCK_DECLARE(suffix, real)                                                  \
    int fm_attention_saved_new##suffix(fm_attention_saved##suffix *saved, fm_attention_shape shape, \
                                       char *msg);                                                \
    void fm_attention_saved_free##suffix(fm_attention_saved##suffix *saved);                      \
    /* messages (targets × d) from targets (targets × d) and sources (sources × d)            */ \
    int fm_attention_block_forward##suffix(real *messages, fm_attention_saved##suffix *saved,       \
                                           const real *targets, const real *sources,               \
                                           const fm_attention_weights##suffix *w,                  \
                                           const fm_message_graph *mg, fm_direction direction,     \
                                           char *msg);                                             \
    /* The forward in two parts, for mini-batches of targets: the sources' keys and values    */ \
    /* (once), then the first `count` (<= shape.targets) of the saved's target rows from       */ \
    /* `count` targets over mg, whose direction has that many targets (a batch view,          */ \
    /* fm_message_graph_targets). fm_attention_block_forward is the two with every target.    */ \
    void fm_attention_block_project_sources##suffix(fm_attention_saved##suffix *saved,            \
                                                    const real *sources,                          \
                                                    const fm_attention_weights##suffix *w);       \
    int fm_attention_block_forward_targets##suffix(real *messages, fm_attention_saved##suffix *saved, \
                                                   const real *targets, const real *sources,      \
                                                   const fm_attention_weights##suffix *w,         \
                                                   const fm_message_graph *mg,                    \
                                                   fm_direction direction, int64_t count,         \
                                                   char *msg);                                    \
    /* Adds the gradients of targets, sources (either may be NULL) and of every weight.       */ \
    int fm_attention_block_backward##suffix(real *d_targets, real *d_sources,                      \
                                            const fm_attention_weight_grads##suffix *g,            \
                                            const real *d_messages,                                \
                                            const fm_attention_saved##suffix *saved,               \
                                            const real *targets, const real *sources,              \
                                            const fm_attention_weights##suffix *w,                 \
                                            const fm_message_graph *mg, fm_direction direction,    \
                                            char *msg);

FM_ATTENTION_BLOCK_DECLARE(, float)
FM_ATTENTION_BLOCK_DECLARE(_f64, double)

#endif
