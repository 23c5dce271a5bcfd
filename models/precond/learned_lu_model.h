// The learned LU preconditioner's network and losses (P6), the parts the
// trainer and inference share.
//
// The network reads Â (the unit-diagonal scaling of A, P2) over all its
// entries by rows: edge k is entry k of Â's CSR (scaled->A), target row i,
// source column j; the diagonal entries are the self-loops (fm_square keeps
// every diagonal entry). Node features x⁰ (n × FM_LLU_FEATURES), edge inputs
// [â_k, c_k] with the position code c_k = −1 (i > j), 0 (i = j), +1 (i < j).
//
//   layer l = 1..L, each with its own weights (w = the width, 32):
//     e^l_k = MLP_e^l([x_i, x_j, e^{l−1}_k, â_k, c_k])    (e⁰ is empty: width 0)
//     x^l_i = MLP_n^l([x_i, mean_{k ∈ row i} e^l_k])       (not in the last layer)
//   z_k = e^L_k (width 1 in the last layer, w before)
//
// Every MLP is in → w → out with ReLU between; node width F for x⁰ and w
// after, edge width w between layers.
//
// z gives the factors (fm_llu_factor_values): the values v_k of L̂ on Â's
// entries i ≥ j (the diagonal by g below) and of Û on its entries i < j
// (Û's unit diagonal is implied, not stored in v):
//   L̂ = lower part of z with its diagonal,  Û = strictly upper part of z + I.
#ifndef FM_LEARNED_LU_MODEL_H
#define FM_LEARNED_LU_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "graphnet.h"
#include "params.h"
#include "square.h"

#define FM_LLU_FEATURES 7      // node features (fm_llu_features)
#define FM_LLU_WIDTH 32        // hidden, node and edge width (P6)
#define FM_LLU_LAYERS 3        // GraphNet layers (P6)
#define FM_LLU_MAX_LAYERS 8
#define FM_LLU_EDGE_INPUTS 2   // [â_k, c_k]
#define FM_LLU_EPSILON 1e-3    // ε of the diagonal's map (P6)
#define FM_LLU_NAME 32         // room for a tensor name

// The MLPs of a layer, in the order of their tensors.
enum { FM_LLU_EDGE = 0, FM_LLU_NODE, FM_LLU_MLPS };

typedef struct fm_llu_config {
    int layers;            // L
    int width;             // w
} fm_llu_config;

// The input and output widths of MLP `mlp` (FM_LLU_EDGE, FM_LLU_NODE) of
// layer `layer` (0-based) for `config`.
void fm_llu_mlp_widths(const fm_llu_config *config, int layer, int mlp, int *in, int *out);
// Tensors: 4 per MLP (w1 w × in, b1 w, w2 out × w, b2 out), 2 MLPs a layer,
// 1 in the last; names "layer1.edge.w1", ...
int fm_llu_tensor_count(const fm_llu_config *config);
int fm_llu_specs(fm_tensor_spec *specs, char (*names)[FM_LLU_NAME], const fm_llu_config *config,
                 char *msg);
int fm_llu_params_new(fm_params **out, const fm_llu_config *config, char *msg);

// The node features of Â, row i over all its entries (n × FM_LLU_FEATURES,
// row-major, double): log(1 + degree); min, max, mean and standard deviation
// of log(1 + degree) over the row's other entries (0 without any); diagonal
// dominance α/(α+1), α = |â_ii| / Σ_{j≠i} |â_ij|; diagonal decay α/(α+1),
// α = |â_ii| / max_{j≠i} |â_ij| (1 for a row without off-diagonal entries).
int fm_llu_features(double **out, const fm_square *scaled, char *msg);

// The edge inputs [â_k, c_k] of every entry of scaled->A (E × 2, row-major).
void fm_llu_edge_inputs(double *out, const fm_square *scaled);

//------------------------------------------------------------------------------
// The network: forward and backward over all of Â's entries by rows
// (models/precond/learned_lu_net.inc, float and double)
//------------------------------------------------------------------------------

// What one layer saves for the backward (row-major; E edges, n nodes).
#define FM_LLU_SAVED(real)                                                                        \
    struct {                                                                                      \
        real *in_e, *hid_e, *e;        /* E × (de + 2): [e^{l-1}_k, â_k, c_k] (e0 in layer 1),   */ \
                                       /* E × w, E × out_e                                       */ \
        real *agg, *in_n, *hid_n, *x;  /* n × w, n × (dx + w), n × w, n × w; NULL in the last */  \
    }

#define FM_LLU_NET_DECLARE(real, suffix)                                                           \
    typedef struct fm_llu_net##suffix {                                                           \
        fm_llu_config config;                                                                     \
        int64_t nodes, edges;                                                                     \
        real *x0;              /* n × F: the node features (the caller fills them) */             \
        real *e0;              /* E × 2: [â_k, c_k] (the caller fills them) */                    \
        FM_LLU_SAVED(real) layer[FM_LLU_MAX_LAYERS];                                              \
        real *scratch;         /* the backward's gradients of activations */                     \
        real *arena;                                                                              \
    } fm_llu_net##suffix;                                                                         \
    int fm_llu_net_new##suffix(fm_llu_net##suffix **out, const fm_llu_config *config,             \
                               int64_t nodes, int64_t edges, char *msg);                          \
    void fm_llu_net_free##suffix(fm_llu_net##suffix **net);                                        \
    /* z (E) = the network on (x0, e0); parameter values laid out as `layout`. */                 \
    void fm_llu_forward##suffix(fm_llu_net##suffix *net, real *z, const fm_params *layout,         \
                                const real *values, const fm_edge_set *edges);                    \
    /* grads += ∂/∂θ of Σ_k dz_k z_k, after fm_llu_forward on the same inputs. */                 \
    int fm_llu_backward##suffix(fm_llu_net##suffix *net, real *grads, const real *dz,             \
                                const fm_params *layout, const real *values,                      \
                                const fm_edge_set *edges, char *msg);

FM_LLU_NET_DECLARE(float, )
FM_LLU_NET_DECLARE(double, _f64)

// The forward fused for inference (models/precond/learned_lu_infer.c): z
// (E = A->A->count floats, by A's entries) for A as the network reads Â, the
// features and â computed from A and its scale (no copy of Â, no edge set).
// It equals fm_llu_forward on fm_llu_input_new(A)'s inputs (rounded to
// float) up to float rounding and does not depend on the thread count.
// `work` is the caller's fm_llu_infer_work floats (n·(F + 3w), and E·w for
// the edge state when there are 2 or more layers; 0 for a bad
// configuration), or NULL (then allocated here); z must not overlap it. An â
// that is not finite is FM_ERR_NUMERIC naming the entry.
int64_t fm_llu_infer_work(const fm_llu_config *config, int64_t nodes, int64_t edges);
int fm_llu_infer(float *z, const fm_llu_config *config, const fm_params *layout, const float *values,
                 const fm_square *A, float *work, char *msg);

//------------------------------------------------------------------------------
// From z to the factors, and the losses (models/precond/learned_lu_loss.c)
//------------------------------------------------------------------------------

// v from z (E each, by Â's entries): v_k = z_k off the diagonal; on it
// g(z) = z (1 + exp(−|4z/ε| + 2)) when `training` (smooth), else z where
// |z| ≥ ε and sign(z)·ε where not (ε for z = 0), the step of inference (P6).
// `diagonal[k]` is nonzero for the diagonal entries.
void fm_llu_factor_values(double *v, const double *z, const uint8_t *diagonal, int64_t edges,
                          bool training);
// dz += dv · g'(z) on the diagonal, dv elsewhere (the training map's chain rule).
void fm_llu_factor_values_backward(double *dz, const double *dv, const double *z,
                                   const uint8_t *diagonal, int64_t edges);
// The scaled output (FM_LLU_OUTPUT_SCALED): x_k *= â_k off the diagonal, â_k
// = edge_inputs[2k] (fm_llu_edge_inputs). Linear, so the same product is its
// chain rule: applied to v after fm_llu_factor_values, and to dv before
// fm_llu_factor_values_backward.
void fm_llu_times_entries(double *x, const double *edge_inputs, const uint8_t *diagonal, int64_t edges);

// The loss of P6 for one probe:
//   loss = ‖ L̂ (Û p) − t ‖₂
// L̂ and Û on Â's pattern (values v by Â's entries, Û's unit diagonal
// implied). The sketched loss takes p = z ~ N(0, I), t = Â z; the
// spectrum-aware one p = x = Â⁻¹ b, t = b. With dv non-NULL adds (+=)
// ∂loss/∂v. `work` holds 3 n doubles.
double fm_llu_loss(const fm_square *scaled, const double *v, const double *p, const double *t,
                   double *dv, double *work);

// The same loss with L̂ Û formed as a dense n × n matrix: the tests'
// reference on small n.
double fm_llu_loss_dense_reference(const fm_square *scaled, const double *v, const double *p,
                                   const double *t);

// L and U for A (not Â) from v: A = S Â S ≈ (S L̂)(Û S) with S = D^{1/2}
// (scaled->scale of the unscaled graph: `scale`), so L = S L̂ (lower by rows,
// the diagonal last) and U = Û S (upper by rows, the diagonal first, u_ii =
// s_i). `pattern` is Â's (or A's: the same pattern) graph.
int fm_llu_factors(fm_csr **L, fm_csr **U, const fm_square *pattern, const double *scale,
                   const double *v, char *msg);

//------------------------------------------------------------------------------
// One matrix as the network reads it, and inference (models/precond/learned_lu.c)
//------------------------------------------------------------------------------

// L and U for A straight from the network's output z (E floats by A's
// entries): fm_llu_factor_values (training = false), for `output`
// FM_LLU_OUTPUT_SCALED fm_llu_times_entries, and fm_llu_factors in one pass
// by rows, the same values bit for bit. *clamped (may be NULL) gets the
// number of diagonal entries the inference step moved to ±ε. A z that is
// not finite is FM_ERR_NUMERIC naming the entry.
int fm_llu_factors_of(fm_csr **L, fm_csr **U, const fm_square *A, const float *z, int output, int64_t *clamped,
                      char *msg);

typedef struct fm_llu_input {
    fm_square *scaled;         // Â
    fm_edge_set *edges;        // all of Â's entries by rows (fm_edge_set_from_matrix)
    uint8_t *diagonal;         // E flags: the diagonal entries
    double *features;          // n × FM_LLU_FEATURES
    double *edge_inputs;       // E × FM_LLU_EDGE_INPUTS
} fm_llu_input;

int fm_llu_input_new(fm_llu_input **out, const fm_square *A, char *msg);
void fm_llu_input_free(fm_llu_input **input);

// fm_learned_lu_factor for a parameter block (the trainer's validation).
typedef struct fm_learned_lu_info fm_learned_lu_info;
int fm_llu_factor_with(fm_csr **L, fm_csr **U, const fm_llu_config *config, fm_params *params, int output,
                       const fm_square *A, fm_learned_lu_info *info, char *msg);

#endif
