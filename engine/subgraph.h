// GraphSAINT subgraph samplers for training (docs/factormer-math.md §8; Zeng et
// al., "GraphSAINT: graph sampling based inductive learning method", 2020):
// a set of row nodes R and column nodes C of the König digraph, and the
// subgraph they induce, every stored edge (i, j) with i ∈ R and j ∈ C. The
// training chain (models/nmf/train) runs on X[R, C] as a matrix of its own.
//
// Strategies:
//   edge         `budget` edges drawn independently, with replacement, edge
//                (i, j) with probability ∝ 1/deg(i) + 1/deg(j) (degrees in
//                the König digraph: stored entries of row i, of column j);
//                R and C are their endpoints.
//   random-walk  `budget` roots drawn uniformly from the rows that have an
//                edge, each walking `walk_length` steps, row → column → row
//                …, each step to a uniformly drawn neighbour; R and C are the
//                nodes visited.
// Every node of R and C has an edge in the induced subgraph (the edge it was
// drawn with, or the one its walk came along), so no row or column is empty.
//
// Normalization, from N = `presamples` draws of rounds the training does not
// use (GraphSAINT's pre-processing): C_v = the draws holding node v, C_e = the
// draws holding edge e, and for the sparse kind C_ij = the draws holding the
// pair (i, j), stored or not (its loss runs over every entry). Counts below 1
// count as 1 (an edge the pre-draws missed).
//   aggregator: an edge (i, j) enters the softmax of target v ∈ {i, j} with
//               score − log α, α = C_e / C_v (the probability of the edge given
//               its target, so that Σ_{u ∈ N_s(v)} y_u / α estimates the full
//               neighbourhood's Σ_{u ∈ N(v)} y_u, as §8's log π does);
//   loss:       entry (i, j) of the subgraph's Ω weighs ω_ij = 1 / (λ_ij |Ω|),
//               λ_ij = C_ij / N, |Ω| the whole matrix's, so that
//               ½ Σ_{Ω_s} ω r² estimates the whole f = ½ Σ_Ω r² / |Ω|.
// Two departures from unbiasedness, both rare: the training draws again a
// subgraph with fewer than rank rows or columns (models/nmf/train_sampling.h),
// which the counts do not; and a sparse matrix's row or column without a
// stored entry is never drawn, so its pairs never enter the loss.
// The dense kind is refused: its graph is complete, every pair an edge, and
// a node-wise sampler (uniform) is the way to sample it.
//
// Seeded: round r of a seed draws the same subgraph for any thread count
// (the draws are serial; a subgraph is for one training matrix).
#ifndef FM_SUBGRAPH_H
#define FM_SUBGRAPH_H

#include <stdint.h>

#include "graph.h"

#define FM_SUBGRAPH_PRESAMPLES 200   // [choice] N of the normalization
#define FM_SUBGRAPH_WALK_LENGTH 2    // [choice] GraphSAINT's random-walk default depth
// The pair counts of the sparse kind are rows × cols integers.
#define FM_SUBGRAPH_MAX_PAIRS (INT64_C(1) << 26)

typedef struct fm_subgraph_options {
    fm_sampler strategy;       // FM_SAMPLER_EDGE or FM_SAMPLER_RANDOM_WALK
    int64_t budget;            // edge: edges drawn; random-walk: roots (>= 1)
    int walk_length;           // random-walk: steps per walk (>= 1)
    int64_t presamples;        // N (>= 1)
    uint64_t seed;
} fm_subgraph_options;

// The nodes of one draw, increasing, as indices of the whole graph.
typedef struct fm_subgraph {
    int64_t rows, cols;
    int64_t *row_nodes, *col_nodes;
} fm_subgraph;

// The normalization counts of a graph (above).
typedef struct fm_subgraph_counts {
    int64_t draws;             // N
    int64_t *rows, *cols;      // C_i, C_j
    int64_t *edges;            // C_e, in the positions of the row edges
    int64_t *pairs;            // sparse kind: rows × cols C_ij; else NULL
} fm_subgraph_counts;

// A subgraph as a matrix of its own: CSR (by row) of X[R, C] with the
// normalization of each entry.
typedef struct fm_subgraph_matrix {
    fm_subgraph nodes;
    int64_t count;             // stored edges
    int64_t *ptr, *idx;        // rows + 1, count (columns of the subgraph)
    float *val;
    float *log_alpha_rows;     // per edge: log(C_e / C_i), the W-direction's (targets = rows)
    float *log_alpha_cols;     // per edge, in these row positions: log(C_e / C_j), the H-direction's
    float *loss_weights;       // ω: per edge (incomplete), or rows × cols (sparse)
} fm_subgraph_matrix;

// FM_OK if the options fit a graph of `kind`, else FM_ERR_INVALID.
int fm_subgraph_check(const fm_subgraph_options *options, fm_kind kind, char *msg);

// Draw round `round` over the edges of one graph (`rows`: A by row,
// `columns`: Aᵀ by row; CSR storage).
int fm_subgraph_draw(fm_subgraph *out, const fm_edges *rows, const fm_edges *columns,
                     const fm_subgraph_options *options, uint64_t round, char *msg);
void fm_subgraph_free(fm_subgraph *s);

// Counts over the draws of rounds first_round .. first_round + N − 1.
int fm_subgraph_count(fm_subgraph_counts *out, const fm_edges *rows, const fm_edges *columns, fm_kind kind,
                      const fm_subgraph_options *options, uint64_t first_round, char *msg);
void fm_subgraph_counts_free(fm_subgraph_counts *c);

// The matrix of `nodes` (moved into out->nodes) with its normalization from
// `counts`; `omega` = |Ω| of the whole matrix.
int fm_subgraph_induce(fm_subgraph_matrix *out, fm_subgraph *nodes, const fm_edges *rows, fm_kind kind,
                       const fm_subgraph_counts *counts, double omega, char *msg);
void fm_subgraph_matrix_free(fm_subgraph_matrix *m);

#endif
