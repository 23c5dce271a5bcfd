// The L-Factormer (docs/factormer-math.md §5): L Factormer layers that alternate
// between the two sides of the König digraph, between an embedding of the
// factors and a projection back onto them.
//
//   S_0 = W_in E_W + b_W                 (m × d)   embed the rows    (embed_w: d × k_in)
//   T_0 = Hᵀ_in E_H + b_H                (n × d)   embed the columns (embed_h: d × k_in)
//   layer l = 1..L, each with its own weights (models/nmf/factormer_layer.h):
//     l odd:  T ← Layer_l(targets T, sources S, edges X)    H-direction, FM_TO_COLUMNS
//     l even: S ← Layer_l(targets S, sources T, edges Xᵀ)   W-direction, FM_TO_ROWS
//   W_out  = relu(S_L D_W + c_W)         (m × k)           (out_w: k × d)
//   Hᵀ_out = relu(T_L D_H + c_H)         (n × k)           (out_h: k × d)
//
// The input width k_in is k for the learned initialization (§6: the model
// reads W_0, H_0) and 2k for the learned acceleration (it reads [W_prev |
// W_admm] and [Hᵀ_prev | Hᵀ_admm]). All arrays are row-major node arrays:
// row i of W, row j of Hᵀ.
//
// Scale (§5): the model expects data of mean 1. It does not normalize: the
// caller divides the edge values of X by their mean over the stored entries
// (fm_graph_mean) before building the message graph the model reads, and
// scales W_out back by that mean on the way out (W ← W·c, H unchanged, since
// X ≈ WH scales with W).
//
// One fm_params block holds the whole model, in the order of
// fm_lfactormer_specs:
//   0 embed_w.weight (d × k_in)   1 embed_w.bias (d)
//   2 embed_h.weight (d × k_in)   3 embed_h.bias (d)
//   4 + 21(l−1) … : "layer<l>." + the FM_LAYER_TENSORS tensors of fm_layer_specs, l = 1..L
//   4 + 21L out_w.weight (k × d)  out_w.bias (k)  out_h.weight (k × d)  out_h.bias (k)
// that is FM_LFACTORMER_TENSORS(L) = 8 + 21L tensors.
//
// The component-set model (`components`, docs/factormer-math.md §5.1 [ext]):
// one such network with k_in = 3p and k = 1 runs once per component c of a
// rank-k input with p channels (p = 1: W; p = 2: [W_prev | W_admm]), on
//   f_ic = √k [a_ic(1..p), ā_i(1..p), z_ic(1..p)],   ā_i(q) = (1/k) Σ_c a_ic(q),
//   z_ic(q) = Σ_c' a_ic'(q) G_c'c / G_cc   (G: the other side's Gram in channel q)
// and w_out(i, c) = its output / √k: its weights never see k, so one
// parameter block serves every rank, and permuting the components permutes
// the outputs. With `gathered` the features are √k [a, ā, z, u], k_in = 4p,
//   u_ic(q) = Σ_j ω_ij x_ij b_jc(q) / G_cc   (b the other side's input, ω = 1/π on a sample)
// the sums HALS gathers over the edges. Its config keeps inputs = p·k for the caller's arrays;
// its parameter block is that of the per-component network. A config with
// rank 0 is the template a file holds (inputs = p), made runnable by
// fm_lfactormer_at_rank.
//
// The pooled component set (`pooled`, with `components`; §5.2 [ext]) runs
// one network for all components instead of one per component, on the same
// features f_ic (4p with `gathered`, else 3p), per side:
//   S_0(i)   = (1/k) Σ_c relu(f_ic Pᵀ + p)              pool     (pool_weight d × nf·p, pool_bias d)
//   h_i      = N(S_0, T_0)_i                            N: the L-Factormer of §5 with inputs d, rank d
//   r_ic     = relu(f_ic Fᵀ + h_i Cᵀ + b)               decode   (features d × nf·p, context d × d, bias d)
//   w_out(i, c) = relu(r_ic · o + o_0) / √k                      (out 1 × d, out_bias 1)
// and with `residual` the decoder corrects the component's own input (its last
// channel: W_0 for the initialization, W_admm for the accelerator) instead:
//   w_out(i, c) = relu(√k a_ic(p) + r_ic · o + o_0) / √k
// Its block is N's (fm_lfactormer_inner) followed by FM_LFACTORMER_POOLED_TENSORS
// tensors, pool_w.weight … decode_w.out_bias then the same for _h. One pass of
// N whatever k; the components meet in S_0 and through h.
//
// Built twice, float and double (suffix _f64), from lfactormer.inc. The
// double build reaches the attention's double path, which exists for the
// fused kernels only: it fails on a message graph opened for GraphBLAS.
#ifndef FM_LFACTORMER_H
#define FM_LFACTORMER_H

#include <stdbool.h>

#include "factormer_layer.h"
#include "params.h"

#define FM_LFACTORMER_MAX_LAYERS 16
#define FM_LFACTORMER_NAME FM_LAYER_NAME
#define FM_LFACTORMER_TENSORS(layers) (8 + FM_LAYER_TENSORS * (layers))
#define FM_LFACTORMER_POOLED_TENSORS 14   // 7 per side, after the inner network's

typedef struct fm_lfactormer_config {
    int inputs;   // k_in: columns of W_in and Hᵀ_in (k, or 2k for acceleration)
    int rank;     // k: columns of W_out and Hᵀ_out
    int width;    // d (paper: 100)
    int heads;    // nh (paper: 4), divides d
    int layers;   // L (paper: 4), 0 ≤ L ≤ FM_LFACTORMER_MAX_LAYERS
    bool components;   // the component-set model of §5.1 (above): any rank
    bool gathered;     // with components: the features add the gathered term u (§5.1), 4p per component
    bool pooled;       // with components: one pass over the pooled components (§5.2, above)
    bool residual;     // with pooled: the decoder's output is added to the component's own input (§5.2)
    int trained_rank;  // with components: the highest rank it was trained at (§5.2, "Samples"); 0 where the
                       // file does not say (written before it was recorded). Not architecture: fm_lfactormer_same
                       // ignores it
} fm_lfactormer_config;

// Input channels per component of a component-set config (inputs / rank, or
// inputs for a template of rank 0).
int fm_lfactormer_channels(const fm_lfactormer_config *config);
// The component-set template `config` (or a runnable config of it) at `rank`.
fm_lfactormer_config fm_lfactormer_at_rank(const fm_lfactormer_config *config, int rank);
// The per-component network a component-set config runs k times: inputs 3p
// (4p gathered), rank 1, the same width, heads and layers; for a pooled one
// the network it runs once: inputs and rank d; any other config is its own.
fm_lfactormer_config fm_lfactormer_inner(const fm_lfactormer_config *config);
// Features per component of a component-set config: 3p, or 4p gathered.
int fm_lfactormer_features(const fm_lfactormer_config *config);
// The tensors of the model's block: FM_LFACTORMER_TENSORS(layers), plus
// FM_LFACTORMER_POOLED_TENSORS for a pooled one.
int fm_lfactormer_tensors(const fm_lfactormer_config *config);

// Every field equal: weights, gradients and activations made for one model.
bool fm_lfactormer_same(const fm_lfactormer_config *a, const fm_lfactormer_config *b);

// FM_OK if every field is in range, else FM_ERR_INVALID with the reason.
int fm_lfactormer_check(const fm_lfactormer_config *config, char *msg);

// Writes the fm_lfactormer_tensors(config) specs of the model, the
// names into `names` (the specs point there).
int fm_lfactormer_specs(fm_tensor_spec *specs, char (*names)[FM_LFACTORMER_NAME],
                        const fm_lfactormer_config *config, char *msg);

// A parameter block laid out for the model (fm_params_new on its specs; all
// blocks zero: call fm_params_init). *out must be NULL.
int fm_lfactormer_params_new(fm_params **out, const fm_lfactormer_config *config, char *msg);

#define FM_LFACTORMER_TYPES(real, suffix)                                                          \
    typedef struct fm_lfactormer_weights##suffix {                                                 \
        fm_lfactormer_config config;                                                               \
        const real *embed_w_weight, *embed_w_bias, *embed_h_weight, *embed_h_bias;                 \
        fm_layer_weights##suffix layers[FM_LFACTORMER_MAX_LAYERS];   /* the first L are bound */    \
        const real *out_w_weight, *out_w_bias, *out_h_weight, *out_h_bias;                         \
        struct { /* pooled (§5.2): [0] the rows', [1] the columns'                               */ \
            const real *pool_weight, *pool_bias, *features, *context, *bias, *out, *out_bias;       \
        } pooled[2];                                                                               \
    } fm_lfactormer_weights##suffix;                                                               \
    typedef struct fm_lfactormer_grads##suffix {                                                   \
        fm_lfactormer_config config;                                                               \
        real *embed_w_weight, *embed_w_bias, *embed_h_weight, *embed_h_bias;                       \
        fm_layer_grads##suffix layers[FM_LFACTORMER_MAX_LAYERS];                                   \
        real *out_w_weight, *out_w_bias, *out_h_weight, *out_h_bias;                               \
        struct {                                                                                   \
            real *pool_weight, *pool_bias, *features, *context, *bias, *out, *out_bias;             \
        } pooled[2];                                                                               \
    } fm_lfactormer_grads##suffix;                                                                 \
    /* What the forward keeps for the backward, for one graph of rows × cols nodes.            */ \
    typedef struct fm_lfactormer_saved##suffix {                                                   \
        fm_lfactormer_config config;                                                               \
        int64_t rows, cols;                 /* m and n                                         */ \
        real *w_in, *ht_in;                 /* copies of the inputs, m × k_in and n × k_in     */ \
        /* row_states[s]: S after s W-direction layers (S_0 first), m × d, s = 0..L/2;         */ \
        /* column_states[t]: T after t H-direction layers, n × d, t = 0..(L+1)/2.              */ \
        real *row_states[FM_LFACTORMER_MAX_LAYERS / 2 + 1];                                         \
        real *column_states[(FM_LFACTORMER_MAX_LAYERS + 1) / 2 + 1];                                \
        fm_layer_saved##suffix layers[FM_LFACTORMER_MAX_LAYERS];                                   \
        real *w_out, *ht_out;               /* the outputs (after relu), m × k and n × k       */ \
        real *block;                                                                               \
        bool shared_layers;                 /* forward only: layer l reuses layer l − 2's buffers */ \
        /* component-set model: the per-component network's activations, one per component     */ \
        /* (one, reused, for the forward alone); w_in and ht_in above hold copies of the       */ \
        /* inputs (m × pk, n × pk), w_out and ht_out one component's outputs (m, n)             */ \
        struct fm_lfactormer_saved##suffix *parts;                                                 \
        int part_count;                                                                            \
        real *w_mean, *ht_mean;             /* ā per node, m × p and n × p                     */ \
        real *w_cross, *ht_cross;           /* z per node and component, m × pk and n × pk     */ \
        real *gram_w, *gram_h;              /* per channel q: WᵀW and HᵀH of the inputs, p × k × k */ \
        real *floor_w, *floor_h;            /* per channel: the G_cc at or below which a component of */ \
                                            /* that Gram counts as zero (p each)                   */ \
        real *w_gathered, *ht_gathered;     /* u per node and component (gathered), m × pk, n × pk */ \
        /* pooled: w_out and ht_out hold all outputs (m × k, n × k), parts[0] is N, and         */ \
        real *w_context, *ht_context;       /* h Cᵀ + b per node, m × d and n × d                */ \
    } fm_lfactormer_saved##suffix;

FM_LFACTORMER_TYPES(float, )
FM_LFACTORMER_TYPES(double, _f64)

#define FM_LFACTORMER_DECLARE(suffix, real)                                                        \
    /* Points the weights (or gradients) at the model's tensors in a block laid out by          */ \
    /* fm_lfactormer_specs for `config`: offsets[k] is where tensor k starts.                   */ \
    void fm_lfactormer_bind##suffix(fm_lfactormer_weights##suffix *w, const fm_lfactormer_config *config, \
                                    const real *values, const int64_t *offsets);                   \
    void fm_lfactormer_bind_grads##suffix(fm_lfactormer_grads##suffix *g,                          \
                                          const fm_lfactormer_config *config, real *grads,         \
                                          const int64_t *offsets);                                 \
    /* For a graph of `rows` row nodes and `cols` column nodes. */                                 \
    int fm_lfactormer_saved_new##suffix(fm_lfactormer_saved##suffix *saved,                        \
                                        const fm_lfactormer_config *config, int64_t rows,          \
                                        int64_t cols, char *msg);                                  \
    /* The same, or, without `backward`, for the forward alone: the layers of one direction     */ \
    /* share their activation buffers (inference at scale: 2 layers' worth instead of L), and   */ \
    /* the backward refuses them. For the forward alone, `batch_targets` >= 1 runs every layer  */ \
    /* in mini-batches of that many targets (fm_layer_saved_new_batched: its buffers hold one   */ \
    /* batch); 0 runs each layer on all its targets at once.                                    */ \
    int fm_lfactormer_saved_new_for##suffix(fm_lfactormer_saved##suffix *saved,                    \
                                            const fm_lfactormer_config *config, int64_t rows,      \
                                            int64_t cols, bool backward, int64_t batch_targets,    \
                                            char *msg);                                            \
    void fm_lfactormer_saved_free##suffix(fm_lfactormer_saved##suffix *saved);                     \
    /* w_out (m × k), ht_out (n × k) from w_in (m × k_in), ht_in (n × k_in) over the edges of   */ \
    /* mg, whose graph must have the saved's m rows and n columns (layer l reads               */ \
    /* fm_message_graph_layer(mg, l): a sample per layer, where mg has them). FM_ERR_NUMERIC    */ \
    /* when the output before its relu is not finite (weights or inputs that overflow).         */ \
    int fm_lfactormer_forward##suffix(real *w_out, real *ht_out, fm_lfactormer_saved##suffix *saved, \
                                      const real *w_in, const real *ht_in,                         \
                                      const fm_lfactormer_weights##suffix *w,                      \
                                      const fm_message_graph *mg, char *msg);                      \
    /* Given the gradients of w_out and ht_out, adds (+=) those of every weight and, where not  */ \
    /* NULL, of w_in and ht_in (m × k_in, n × k_in).                                            */ \
    int fm_lfactormer_backward##suffix(real *d_w_in, real *d_ht_in, const fm_lfactormer_grads##suffix *g, \
                                       const real *d_w_out, const real *d_ht_out,                  \
                                       const fm_lfactormer_saved##suffix *saved,                   \
                                       const fm_lfactormer_weights##suffix *w,                     \
                                       const fm_message_graph *mg, char *msg);

FM_LFACTORMER_DECLARE(, float)
FM_LFACTORMER_DECLARE(_f64, double)

#endif
