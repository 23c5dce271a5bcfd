// NeuralIF's network and loss (P5), the parts the trainer and inference share.
//
// The network reads Â (the unit-diagonal scaling of A, P2) over its lower
// edges k (the entries of Â's lower part by rows: k is the canonical edge
// id). Node features x (n × FM_NIF_FEATURES), edge feature e_k = â_k.
//
//   block b = 1..B, each with its own weights:
//     layer 1 (by rows, targets i):     e'_k  = MLP_e1([x_i, x_j, e_k, â_k])
//                                        x'_i  = MLP_n1([x_i, mean_{k∈row i} e'_k])
//     layer 2 (by columns, targets j):  e''_k = MLP_e2([x'_j, x'_i, e'_k])
//                                        x''_j = MLP_n2([x'_j, Σ_{k∈column j} e''_k])
//     (x, e) ← (x'', e'')
//   the last block has no MLP_n2: its node output is never read.
//   z_k = e''_k of the last block; l̂_k = z_k off the diagonal, exp(z_k/2) on it.
//
// Every MLP is in → h → out with ReLU between (h = FM_NIF_HIDDEN). Node
// width stays FM_NIF_FEATURES, edge width 1 between layers and blocks.
#ifndef FM_NEURALIF_MODEL_H
#define FM_NEURALIF_MODEL_H

#include <stdint.h>

#include "graphnet.h"
#include "params.h"
#include "square.h"

#define FM_NIF_FEATURES 7      // node features (P5 [choice]: the node index is dropped)
#define FM_NIF_HIDDEN 8        // h, the authors' latent_size
#define FM_NIF_BLOCKS 3        // message-passing blocks
#define FM_NIF_MAX_BLOCKS 8
#define FM_NIF_NAME 32         // room for a tensor name

// The MLPs of a block, in the order of their tensors.
enum { FM_NIF_E1 = 0, FM_NIF_N1, FM_NIF_E2, FM_NIF_N2, FM_NIF_MLPS };

typedef struct fm_nif_config {
    int blocks;            // B
    int hidden;            // h
} fm_nif_config;

// The input and output widths of MLP `mlp` (FM_NIF_E1...).
void fm_nif_mlp_widths(int mlp, int hidden, int *in, int *out);
// Tensors of the model: 4 per MLP (w1 h × in, b1 h, w2 out × h, b2 out),
// 4 MLPs a block, 3 in the last.
int fm_nif_tensor_count(const fm_nif_config *config);
int fm_nif_specs(fm_tensor_spec *specs, char (*names)[FM_NIF_NAME], const fm_nif_config *config,
                 char *msg);
int fm_nif_params_new(fm_params **out, const fm_nif_config *config, char *msg);

// One matrix as the network reads it: Â (P2), its two edge sets, which
// edges are diagonal, the node features and the edge values in double.
typedef struct fm_nif_input {
    fm_square *scaled;         // Â
    fm_edge_set *by_rows, *by_columns;
    uint8_t *diagonal;         // E flags
    double *features;          // n × FM_NIF_FEATURES
} fm_nif_input;

int fm_nif_input_new(fm_nif_input **out, const fm_square *A, char *msg);
void fm_nif_input_free(fm_nif_input **input);

// fm_neuralif_factor for a parameter block (the trainer's validation).
typedef struct fm_neuralif_options fm_neuralif_options;
typedef struct fm_neuralif_info fm_neuralif_info;
int fm_nif_factor_with(fm_csr **L, const fm_nif_config *config, fm_params *params, const fm_square *A,
                       const fm_neuralif_options *opt, fm_neuralif_info *info, char *msg);

// The growth safeguard of inference [ext]: while L̂⁻¹ 1 has an entry that is
// not finite or above FM_NIF_GROWTH_LIMIT, multiply L̂'s diagonal (the last
// entry of each row) by 1 + α, α = 1e-3 then doubling; info gets α and the
// factors tried. FM_ERR_NUMERIC after FM_NIF_SHIFT_TRIES.
#define FM_NIF_GROWTH_LIMIT 1e8
#define FM_NIF_SHIFT_TRIES 40
int fm_nif_bound_growth(fm_csr *L, fm_neuralif_info *info, char *msg);

// The node features of P5 from Â (n × FM_NIF_FEATURES, row-major, double).
int fm_nif_features(double **out, const fm_square *scaled, char *msg);
// The same features of Â computed from A and its scale (no copy of Â is
// made), rounded to float into `out` (n × FM_NIF_FEATURES): inference's input.
int fm_nif_features_of(float *out, const fm_square *A, char *msg);

// â_ij = a_ij / (s_i s_j) off the diagonal, the sign of a_ii on it: the value
// fm_square_scaled stores (engine/square.c), bit for bit.
static inline double fm_nif_scaled_entry(double a, const double *scale, int64_t i, int64_t j)
{
    if (i == j) return a > 0 ? 1.0 : a < 0 ? -1.0 : 0.0;
    return a / (scale[i] * scale[j]);
}

// l̂ from the network's output z (P5): z off the diagonal, exp(z/2) on it.
// `diagonal[k]` is nonzero for the diagonal edges. dz from dl: the chain rule
// of the same map (dz_k += dl_k·l̂_k/2 on the diagonal).
void fm_nif_factor_values(double *l, const double *z, const uint8_t *diagonal, int64_t edges);
void fm_nif_factor_values_backward(double *dz, const double *dl, const double *l,
                                   const uint8_t *diagonal, int64_t edges);

// The sketched loss of P5 for one probe z ~ N(0, I) (n doubles):
//   loss = ‖ L̂ (L̂ᵀ z) − Â z ‖₂
// with L̂ on the lower pattern of `scaled` (values l, by the edge id k).
// With dl non-NULL, adds (+=) ∂loss/∂l̂ into dl (E doubles). `work` holds
// 4 n doubles.
double fm_nif_sketch_loss(const fm_square *scaled, const double *l, const double *probe, double *dl,
                          double *work);

// The same with a target: loss = ‖ L̂ (L̂ᵀ p) − t ‖₂ (t = Â p is the
// sketched loss; the spectrum-aware one of P5.5 [ext] takes p = x ≈ Â⁻¹ b,
// t = Â x). target NULL: Â p. The gradient as above.
double fm_nif_probe_loss(const fm_square *scaled, const double *l, const double *probe, const double *target,
                         double *dl, double *work);

// The preconditioned loss (P5.5 [ext]) for one probe z ~ N(0, I):
//   loss = ‖ L̂⁻¹ Â L̂⁻ᵀ z − z ‖₂
// whose square has expectation ‖L̂⁻¹ Â L̂⁻ᵀ − I‖_F² = Σ (λ − 1)² over the
// eigenvalues λ of the operator CG actually iterates with. With dl non-NULL,
// adds ∂loss/∂l̂ into dl. `work` holds 7 n + E doubles (E: the lower
// pattern's entries). Three solves and one product forward, as many back.
double fm_nif_preconditioned_loss(const fm_square *scaled, const double *l, const double *probe, double *dl,
                                  double *work);

// The sparsity penalty [ext]: weight · Σ |l̂_ij| over the off-diagonal
// entries (diagonal[k] zero), with weight · sign(l̂_ij) added into dl: it
// pushes the entries the loss does not need towards zero, where the drop
// tolerance removes them (P5.5).
double fm_nif_sparsity_penalty(const double *l, const uint8_t *diagonal, int64_t edges, double weight, double *dl);

// ‖L̂ L̂ᵀ − Â‖_F², the expectation of the squared loss (Hutchinson), by a
// dense product: the tests' reference on small n (O(n³)).
double fm_nif_frobenius_reference(const fm_square *scaled, const double *l);



//------------------------------------------------------------------------------
// The network: forward and backward over the two edge sets of Â's lower part
// (models/precond/neuralif_net.inc, float and double)
//------------------------------------------------------------------------------

// What one block saves for the backward (row-major arrays; E edges, n nodes,
// F = FM_NIF_FEATURES, h hidden).
#define FM_NIF_SAVED(real)                                                                        \
    struct {                                                                                      \
        real *in_e1, *hid_e1, *e1;     /* E × (2F+2), E × h, E × 1 */                             \
        real *agg1, *in_n1, *hid_n1, *x1; /* n × 1, n × (F+1), n × h, n × F */                     \
        real *in_e2, *hid_e2, *e2;     /* E × (2F+1), E × h, E × 1 */                             \
        real *agg2, *in_n2, *hid_n2, *x2; /* as layer 1's nodes; NULL in the last block */        \
    }

#define FM_NIF_NET_DECLARE(real, suffix)                                                           \
    typedef struct fm_nif_net##suffix {                                                           \
        fm_nif_config config;                                                                     \
        int64_t nodes, edges;                                                                     \
        real *x0;              /* n × F: the node features (the caller fills them) */             \
        real *e0;              /* E: â_k, the first edge feature and every block's skip input */ \
        FM_NIF_SAVED(real) block[FM_NIF_MAX_BLOCKS];                                              \
        real *d_wide, *d_hidden, *d_edge, *d_edge_next, *d_node, *d_node_next, *d_narrow;        \
        real *arena;                                                                              \
    } fm_nif_net##suffix;                                                                         \
    int fm_nif_net_new##suffix(fm_nif_net##suffix **out, const fm_nif_config *config,             \
                               int64_t nodes, int64_t edges, char *msg);                          \
    void fm_nif_net_free##suffix(fm_nif_net##suffix **net);                                        \
    /* z (E) = the network on (x0, e0); values laid out as `layout`. */                           \
    void fm_nif_forward##suffix(fm_nif_net##suffix *net, real *z, const fm_params *layout,         \
                                const real *values, const fm_edge_set *by_rows,                   \
                                const fm_edge_set *by_columns);                                   \
    /* grads += ∂/∂θ of Σ_k dz_k z_k, after fm_nif_forward on the same inputs. */                 \
    int fm_nif_backward##suffix(fm_nif_net##suffix *net, real *grads, const real *dz,             \
                                const fm_params *layout, const real *values,                      \
                                const fm_edge_set *by_rows, const fm_edge_set *by_columns,        \
                                char *msg);

FM_NIF_NET_DECLARE(float, )
FM_NIF_NET_DECLARE(double, _f64)

// z (E floats) = the network on (x0, e0), fused for inference
// (models/precond/neuralif_infer.c): fm_nif_forward's result up to float
// rounding, with none of its saved activations (memory: z and
// fm_nif_infer_work = n·(F + 4h) floats). The edges are those of graph's
// lower part (its values are not read); x0 is n × F, e0 holds â by edge.
// `work` is the caller's fm_nif_infer_work floats, or NULL (then allocated
// here). z must not overlap x0, e0 or work. The result does not depend on the
// thread count.
int64_t fm_nif_infer_work(const fm_nif_config *config, int64_t nodes);
int fm_nif_infer(float *z, const fm_nif_config *config, const fm_params *layout, const float *values,
                 const fm_square *graph, const float *x0, const float *e0, float *work, char *msg);
#endif
