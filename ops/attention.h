// Edge attention of one Factormer layer (docs/factormer-math.md §4.1): the part
// that runs over the edges, for every head at once. The dense projections
// around it (queries, keys, values, probes, edge scales, and the message
// assembly after it) are in ops/attention_block.c.
//
// Per head h (head width dh = d/nh), for target j and each source i ∈ N(j):
//
//   score^h_ij = ( kN^h_i·q^h_j + x_ij c^h_j + s_i·P^h_j ) / sqrt(dh)      §4.1
//   α^h_ij     = exp(score^h_ij) / Σ_{i'∈N(j)} exp(score^h_i'j)          edge softmax
//   value_sums^h_j  = Σ_i α^h_ij vN^h_i       (dh)   the SpMM αᵀV
//   source_sums^h_j = Σ_i α^h_ij s_i          (d)    the SpMM αᵀS
//   edge_sums^h_j   = Σ_i α^h_ij x_ij         (1)    Σ α x, for the a_V term
//
// with P^h_j = t_j ⊙ (B_K^hᵀ q^h_j) and c^h_j = q^h_j · a^h_K computed by the
// caller. A target with no in-edges gets zero sums and log_norm 0.
//
// Two paths behind one interface (fm_kernels): GraphBLAS semirings, the
// reference formulation, and the fused single pass over each target's edges.
// Both are float; the fused path also has a double build (suffix _f64) that
// the finite-difference tests check.
#ifndef FM_ATTENTION_H
#define FM_ATTENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"
#include "sampler.h"

// (fm_kernels and fm_kernels_parse are in factormer.h: the solver's options
// name them)

// The edges messages flow over, both directions of one graph, ready for one
// path. For the fused path both orientations are borrowed from GraphBLAS
// (fm_edges_borrow) while the message graph is open, with the maps between
// the positions of an edge in the two orientations (a training subgraph lays
// its per-edge log π out in both).
typedef struct fm_message_graph {
    fm_kernels kernels;
    fm_graph *graph;
    fm_edges rows;            // by row node: A (the W-direction's edges by target)
    fm_edges columns;         // by column node: Aᵀ (the H-direction's edges by target)
    int64_t *row_to_column;   // for each position in `rows`, the same edge's position in `columns`
    int64_t *column_to_row;   // and the inverse
    float *view_values;       // a view's scaled edge values (both orientations), else NULL
    bool forward_only;        // a view: no position maps, the backward refuses it
    // A sample (fm_message_graph_sample): `rows` and `columns` are the draws of
    // the directions in `sampled_directions` (bits 1 << fm_direction), owned
    // here, with log π per edge.
    unsigned sampled_directions;
    struct fm_sampled_edges *sampled[2];        // indexed by fm_direction
    // The sample packed for the GraphBLAS path (fm_message_graph_pack): for
    // each drawn direction, the draw as GraphBLAS matrices, indexed
    // [direction][0 by target, 1 by source]: the edge values and, on the
    // same pattern, log π. Owned; the CSR arrays above stay for the fused path.
    GrB_Matrix sampled_matrix[2][2];
    GrB_Matrix sampled_log_pi[2][2];
    // Per-layer graphs (resampling per layer): layer l reads layers[l]; see
    // fm_message_graph_layer. Not owned.
    const struct fm_message_graph *layers;
    int layer_count;
    // The training loss's per-entry weights ω over this graph (a GraphSAINT
    // subgraph's loss normalization, engine/subgraph.h; ops/loss_grad.h), or
    // NULL for the plain f. Not owned; read by models/nmf/unroll only.
    const float *loss_weights;
    // The edges the training loss reads in place of `rows`, of kind
    // `loss_kind` (a target other than X: §7's limit term, the
    // reconstruction of a long solve blended with X), or NULL: `rows`.
    // The same targets and sources as `rows`. Not owned; read by
    // models/nmf/unroll only.
    const fm_edges *loss_rows;
    fm_kind loss_kind;
} fm_message_graph;

// The graph layer l (0-based) of a network reads: layers[l] when mg has
// per-layer graphs, else mg itself.
static inline const fm_message_graph *fm_message_graph_layer(const fm_message_graph *mg, int l)
{
    return mg->layers && l < mg->layer_count ? &mg->layers[l] : mg;
}

int fm_message_graph_open(fm_message_graph *mg, fm_graph *g, fm_kernels kernels, char *msg);
// A view for the forward pass of the fused kernels over edges the caller has
// already borrowed from `g` (`rows` from A, `columns` from Aᵀ), with every edge
// value divided by `divisor` (> 0): the solver holds both orientations for its
// whole run, and a second borrow of the same GraphBLAS matrix would find it
// empty. The CSR structure is shared, the values are copied and scaled as
// (float)(x / divisor) (shared when divisor is 1), and no position maps are
// built, so the backward refuses the view. Close it with
// fm_message_graph_close, before the caller returns its edges: the close
// frees the copies and returns nothing to GraphBLAS.
int fm_message_graph_view(fm_message_graph *mg, fm_graph *g, const fm_edges *rows, const fm_edges *columns,
                          double divisor, char *msg);
// has_edges[t] = 1 where target t has at least one in-edge, else 0 (Σ_i α_it,
// the weight of the terms that every edge carries, such as b_VE).
int fm_message_graph_has_edges(float *has_edges, const fm_message_graph *mg, fm_direction direction, char *msg);
// A sample of the graph (docs/factormer-math.md §8): for each direction in
// `directions` (bits 1 << FM_TO_ROWS, 1 << FM_TO_COLUMNS), the in-edges of
// its targets drawn by the sampler from the caller's borrowed edges of `g`
// (`rows` from A, `columns` from Aᵀ, as for a view), round 2·round +
// direction, every value divided by `divisor` (> 0), each edge with its log π.
// The fused kernels read score − log π. With `backward` the sample takes the
// backward too (fm_message_graph_pack then also transposes each draw for the
// GraphBLAS path); else it is forward-only. Attention in a direction that
// was not drawn is refused. The sample is for the fused kernels;
// fm_message_graph_pack hands it to the GraphBLAS path as well. The sample keeps copies of what it draws: the
// caller may return its edges once this returns. Close with
// fm_message_graph_close.
int fm_message_graph_sample(fm_message_graph *mg, fm_graph *g, const fm_edges *rows, const fm_edges *columns,
                            double divisor, const fm_sampler_options *options, uint64_t round, unsigned directions,
                            bool backward, char *msg);
// Packs a sample's draws into GraphBLAS matrices (by target and, when the
// sample was drawn with the backward, by source: one transpose per draw, not
// per call) and switches mg to the GraphBLAS path, which then attends over
// the sampled edges with score − log π, as the fused path does. On failure
// mg is left as it was, for the fused path.
int fm_message_graph_pack(fm_message_graph *mg, char *msg);
int fm_message_graph_close(fm_message_graph *mg, char *msg);
// A forward-only view of the targets [first, first + count) of one direction
// of a fused-path graph (a mini-batch of targets, --batch-targets): the same
// edges, no copy (the CSR row pointers are offset, full storage's values
// too), target t of the view being target first + t of mg. The view owns
// nothing and is not closed; it lives as long as mg's edges. The GraphBLAS
// path is refused (its attention reads whole matrices).
int fm_message_graph_targets(fm_message_graph *batch, const fm_message_graph *mg, fm_direction direction,
                             int64_t first, int64_t count, char *msg);
// FM_OK unless mg is a sample without a draw for `direction` (FM_ERR_INVALID).
int fm_message_graph_check_direction(const fm_message_graph *mg, fm_direction direction, char *msg);

typedef struct fm_attention_shape {
    int64_t targets, sources;
    int heads, width;          // nh and d; d % nh == 0
} fm_attention_shape;

// Floating-point operations of the edge attention over `edges` edges, counted
// from the formulas of §4.1 for both paths: per edge and head, two score dots
// and two weighted sums of dh and d terms, and a few for the softmax
// (forward); the backward recomputes the scores, forms dα and adds the five
// gradient sums, 2.5 times the forward.
double fm_attention_flops(int64_t edges, fm_attention_shape shape, bool backward);

// Row-major arrays; head h of a d-wide array is columns [h·dh, (h+1)·dh), of
// an nh·d-wide array columns [h·d, (h+1)·d).
#define FM_ATTENTION_TYPES(real, suffix)                                              \
    typedef struct fm_attention_inputs##suffix {                                      \
        const real *queries;      /* targets × d      q_j                          */ \
        const real *keys;         /* sources × d      kN_i                         */ \
        const real *values;       /* sources × d      vN_i                         */ \
        const real *sources;      /* sources × d      s_i                          */ \
        const real *probes;       /* targets × nh·d   P^h_j = t_j ⊙ (B_K^hᵀ q^h_j) */ \
        const real *edge_scales;  /* targets × nh     c^h_j = q^h_j · a^h_K        */ \
    } fm_attention_inputs##suffix;                                                    \
    typedef struct fm_attention_outputs##suffix {                                     \
        real *value_sums;         /* targets × d      Σ α vN                       */ \
        real *source_sums;        /* targets × nh·d   Σ α s                        */ \
        real *edge_sums;          /* targets × nh     Σ α x                        */ \
        real *log_norms;          /* targets × nh     log Σ exp(score), for the backward */ \
    } fm_attention_outputs##suffix;                                                   \
    /* Gradients of the inputs, accumulated (+=) */                                   \
    typedef struct fm_attention_grads##suffix {                                       \
        real *queries, *keys, *values, *sources, *probes, *edge_scales;               \
    } fm_attention_grads##suffix;

FM_ATTENTION_TYPES(float, )
FM_ATTENTION_TYPES(double, _f64)

// Forward: writes all four outputs. `direction` picks the targets: FM_TO_COLUMNS
// is the H-direction (targets are column nodes, edges Aᵀ), FM_TO_ROWS the
// W-direction.
//
// Backward (§4.2): given the gradients of value_sums, source_sums and
// edge_sums (d_out->log_norms is not read), the inputs and the forward's
// outputs, adds the gradients of every input to `grads` (any member may be
// NULL: not wanted).
//
// The float build runs the path `mg` was opened for; the double build
// (suffix _f64, for the finite-difference tests) exists for the fused path
// only, and reads the edge values in float.
#define FM_ATTENTION_DECLARE(suffix)                                                                   \
    int fm_attention_forward##suffix(fm_attention_outputs##suffix *out,                                \
                                     const fm_attention_inputs##suffix *in, const fm_message_graph *mg,\
                                     fm_direction direction, fm_attention_shape shape, char *msg);     \
    int fm_attention_backward##suffix(fm_attention_grads##suffix *grads,                               \
                                      const fm_attention_outputs##suffix *d_out,                       \
                                      const fm_attention_inputs##suffix *in,                           \
                                      const fm_attention_outputs##suffix *saved,                       \
                                      const fm_message_graph *mg, fm_direction direction,              \
                                      fm_attention_shape shape, char *msg);

FM_ATTENTION_DECLARE()
FM_ATTENTION_DECLARE(_f64)

// The edges of one direction for the GraphBLAS path: by target (targets ×
// sources) and by source (its transpose, for the backward), and log π of
// every edge on each pattern, or NULL where every π = 1 (a graph's own edges).
typedef struct fm_graphblas_edges {
    GrB_Matrix by_target, by_source;
    GrB_Matrix log_pi, log_pi_by_source;
} fm_graphblas_edges;

// A graph's own edges in `direction`: its two stored orientations.
static inline fm_graphblas_edges fm_graphblas_edges_of(const fm_graph *g, fm_direction direction)
{
    return (fm_graphblas_edges){ fm_graph_matrix(g, direction),
                                 fm_graph_matrix(g, direction == FM_TO_ROWS ? FM_TO_COLUMNS : FM_TO_ROWS), NULL,
                                 NULL };
}

// What the GraphBLAS path of mg reads in `direction`: the packed sample's
// matrices, or the graph's own.
fm_graphblas_edges fm_message_graph_graphblas_edges(const fm_message_graph *mg, fm_direction direction);

// The GraphBLAS path (called by the two above when mg->kernels says so).
int fm_attention_forward_graphblas(fm_attention_outputs *out, const fm_attention_inputs *in,
                                   const fm_graphblas_edges *edges, fm_attention_shape shape, char *msg);
int fm_attention_backward_graphblas(fm_attention_grads *grads, const fm_attention_outputs *d_out,
                                    const fm_attention_inputs *in, const fm_attention_outputs *saved,
                                    const fm_graphblas_edges *edges, fm_attention_shape shape, char *msg);

#endif
