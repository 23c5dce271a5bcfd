// GraphNet operators (P5, P6): the pieces of a message-passing layer over an
// edge set, each a forward/backward pair (llm.c style, backward adds +=).
//
//   gather       the edge MLP's input [x_target, x_source, edge, extra] per edge
//   aggregate    Σ or mean over the edges of each target
//   mlp          in → hidden → out with ReLU between (fm_linear, fm_relu)
//   concat       [a, b] per row (the node MLP's input [x_i, agg_i])
//
// NeuralIF's block (P5) is two layers over the lower triangle of Â: layer 1
// with the edges by rows (targets rows i, sources columns j), layer 2 with the
// same edges by columns (targets columns j, sources rows i). Both edge sets
// number the edges alike (entry k of fm_square.lower is edge k), so the edge
// arrays of layer 1 are layer 2's input as they are. One block, forward
// (tests/test_graphnet.c runs it, and its backward in reverse order):
//
//   gather(G1, rows, x, dx, e, de, â, 1)        G1 = [x_i | x_j | e_ij | â_ij]
//   mlp(e1, G1)                                  e'
//   aggregate(A1, e1, rows, de1, MEAN)           mean_j e'_ij
//   concat(N1, x, dx, A1, de1); mlp(x1, N1)      x'
//   gather(G2, columns, x1, dx1, e1, de1, NULL, 0)   [x'_j | x'_i | e'_ij]
//   mlp(e2, G2); aggregate(A2, e2, columns, de2, SUM)
//   concat(N2, x1, dx1, A2, de2); mlp(x2, N2)    x''
//
// The backward of e' adds two parts, from layer 2's gather and from layer
// 1's aggregation; of x', from layer 2's gather and from its concat.
//
// Every result is the same for any thread count: the loops run over edges or
// over nodes with static schedules, and every node sums its edges in the
// order of its group (no atomics). Memory is O(E · width), nothing else.
//
// Each op is built twice from ops/graphnet.inc: float (no suffix) and double
// (suffix _f64). The GraphBLAS formulations (ops/graphnet_graphblas.c, double)
// are the tests' references.
#ifndef FM_GRAPHNET_H
#define FM_GRAPHNET_H

#include <stdint.h>

#include "square.h"

// An edge set over `nodes` nodes, its edges numbered 0 .. count−1, grouped by
// target and by source (CSR: group t holds the edges edge[start[t] ..
// start[t+1])). Every array is borrowed; an edge-id array may be NULL, which
// means the edges are already in that order (group t is start[t] ..
// start[t+1] itself). The order inside a group is the order of every sum over
// it.
typedef struct fm_edge_set {
    int64_t nodes;
    int64_t count;                  // edges
    const int64_t *target;          // count: the node edge k's message goes to
    const int64_t *source;          // count: the node it comes from
    const int64_t *by_target_start; // nodes + 1
    const int64_t *by_target_edge;  // count edge ids, or NULL (identity)
    const int64_t *by_source_start; // nodes + 1
    const int64_t *by_source_edge;  // count edge ids, or NULL (identity)
    int64_t *owned;                 // what fm_edge_set_free releases (may be NULL)
} fm_edge_set;

// The two orientations of the lower triangle i ≥ j of a square matrix's graph.
typedef enum {
    FM_LOWER_BY_ROWS = 0,    // targets are rows i, sources columns j (P5 layer 1)
    FM_LOWER_BY_COLUMNS = 1, // targets are columns j, sources rows i (P5 layer 2)
} fm_lower_orientation;

// The edge set of g's lower triangle, edge k = entry k of g->lower, borrowing
// g->lower, g->lower_by_columns and g->lower_edge (g must outlive it). It
// allocates one array, the row of each edge. *out must be NULL.
int fm_edge_set_from_lower(fm_edge_set **out, const fm_square *g,
                           fm_lower_orientation orientation, char *msg);
// The edge set of all of g's entries by rows (P6): edge k = entry k of g->A,
// target row i, source column j (the diagonal entries are self-loops). The
// by-target groups are the rows themselves (borrowing g->A->start); the
// by-source groups are the columns, each listing its edges in ascending id
// (a counting sort), so every sum over a column has a fixed order. It
// allocates one block (the rows of the edges and the column grouping); g must
// outlive the set. *out must be NULL.
int fm_edge_set_from_matrix(fm_edge_set **out, const fm_square *g, char *msg);
void fm_edge_set_free(fm_edge_set **edges);

// FM_ERR_INVALID naming the first inconsistency: a node or edge id out of
// range, a group start not ascending from 0 to count, an edge listed in the
// wrong group or twice. O(nodes + count) time and a count-byte scratch.
int fm_edge_set_check(const fm_edge_set *edges, char *msg);

// How the edges of a target are combined.
typedef enum {
    FM_AGGREGATE_SUM = 0,
    FM_AGGREGATE_MEAN = 1,   // the sum over the degree; 0 for a target without edges
} fm_aggregate;

#define FM_GATHER_WIDTH(dx, de, dz) (2 * (dx) + (de) + (dz))

#define FM_GRAPHNET_DECLARE(real, suffix)                                                          \
    /* out (count × (2dx + de + dz), row-major): row k = [x[target k] | x[source k] | edge[k] |   */ \
    /* extra[k]], x nodes × dx, edge count × de, extra count × dz (NULL when its width is 0).   */ \
    void fm_gather_forward##suffix(real *out, const fm_edge_set *edges, const real *x, int dx,    \
                                   const real *edge, int de, const real *extra, int dz);          \
    /* Adds (+=) d_x (nodes × dx: the target and the source columns of every edge of the node,  */ \
    /* summed over its by-target group, then its by-source group), d_edge and d_extra, given     */ \
    /* d_out. Any of the three may be NULL: not wanted.                                          */ \
    void fm_gather_backward##suffix(real *d_x, real *d_edge, real *d_extra, const real *d_out,   \
                                    const fm_edge_set *edges, int dx, int de, int dz);            \
    /* node (nodes × d) = Σ or mean over the edges of each target of edge (count × d).           */ \
    void fm_aggregate_forward##suffix(real *node, const real *edge, const fm_edge_set *edges,     \
                                      int d, fm_aggregate how);                                   \
    /* d_edge[k] += d_node[target k] (over the target's degree for the mean).                    */ \
    void fm_aggregate_backward##suffix(real *d_edge, const real *d_node, const fm_edge_set *edges, \
                                       int d, fm_aggregate how);                                  \
    /* out (rows × out_dim) = w2 relu(w1 in + b1) + b2, w1 hidden_dim × in_dim, w2 out_dim ×     */ \
    /* hidden_dim (row-major, pointers into a parameter block; a bias may be NULL). Saves the    */ \
    /* activation relu(w1 in + b1) in the caller's `hidden` (rows × hidden_dim) for the          */ \
    /* backward. out must not overlap in or hidden.                                              */ \
    void fm_mlp_forward##suffix(real *out, real *hidden, const real *in, const real *w1,          \
                                const real *b1, const real *w2, const real *b2, int64_t rows,     \
                                int in_dim, int hidden_dim, int out_dim);                         \
    /* Adds (+=) d_in, d_w1, d_b1, d_w2, d_b2 (any may be NULL: not wanted), given d_out, the    */ \
    /* forward's input and its saved `hidden`. `d_hidden` is the caller's scratch of rows ×     */ \
    /* hidden_dim, overwritten; unused (may be NULL) when d_in, d_w1 and d_b1 are all NULL.     */ \
    /* Fails only for memory (the partials of fm_linear_backward).                              */ \
    int fm_mlp_backward##suffix(real *d_in, real *d_w1, real *d_b1, real *d_w2, real *d_b2,      \
                                real *d_hidden, const real *d_out, const real *in,               \
                                const real *hidden, const real *w1, const real *w2, int64_t rows, \
                                int in_dim, int hidden_dim, int out_dim, char *msg);              \
    /* out (rows × (da + db)) = [a | b] row by row (a rows × da, b rows × db).                  */ \
    void fm_concat_forward##suffix(real *out, const real *a, int da, const real *b, int db,       \
                                   int64_t rows);                                                 \
    /* d_a += the first da columns of d_out, d_b += the last db; either may be NULL.           */ \
    void fm_concat_backward##suffix(real *d_a, real *d_b, const real *d_out, int da, int db,      \
                                    int64_t rows);

FM_GRAPHNET_DECLARE(float, )
FM_GRAPHNET_DECLARE(double, _f64)

// The GraphBLAS references (ops/graphnet_graphblas.c), double, same arguments
// and results as the fused ops (the backwards add += too). With the incidence
// matrices T (count × nodes, T(k, target k) = 1) and S (the same with the
// sources):  gather = [T X | S X | edge | extra],  d_x += Tᵀ D_t + Sᵀ D_s,
// aggregate = diag(1/degree) Tᵀ edge (degree = Tᵀ 1, the mean only),
// d_edge += T diag(1/degree) d_node.
int fm_gather_forward_graphblas(double *out, const fm_edge_set *edges, const double *x, int dx,
                                const double *edge, int de, const double *extra, int dz,
                                char *msg);
int fm_gather_backward_graphblas(double *d_x, double *d_edge, double *d_extra,
                                 const double *d_out, const fm_edge_set *edges, int dx, int de,
                                 int dz, char *msg);
int fm_aggregate_forward_graphblas(double *node, const double *edge, const fm_edge_set *edges,
                                   int d, fm_aggregate how, char *msg);
int fm_aggregate_backward_graphblas(double *d_edge, const double *d_node,
                                    const fm_edge_set *edges, int d, fm_aggregate how, char *msg);

#endif
