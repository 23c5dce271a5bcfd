// Double-precision references for the edge attention (ops/attention.h) and
// for the attention block of one Factormer layer (docs/factormer-math.md §4), in
// plain loops over a CSR edge list, plus the random graphs the suites run
// them on. Shared by every test suite (the CMake build links each non-test_
// file of tests/ into every suite).
#ifndef FM_ATTENTION_REFERENCE_H
#define FM_ATTENTION_REFERENCE_H

#include <stdint.h>

#include "attention.h"

// The edges of every target: target j's in-edges are positions
// [ptr[j], ptr[j+1]), with source idx[e] and value val[e].
typedef struct ref_edges {
    int64_t targets, sources, count;
    int64_t *ptr;   // targets + 1
    int64_t *idx;   // count
    double *val;    // count
    double *log_pi; // count, or NULL: a sample's log inclusion probabilities (§8)
} ref_edges;

// The edges of g in one direction (rows of fm_graph_matrix(g, direction)),
// read with GrB_Matrix_extractTuples; sources sorted within each target.
int ref_edges_from_graph(ref_edges *out, const fm_graph *g, fm_direction direction, char *msg);
void ref_edges_free(ref_edges *edges);
// A copy of CSR edges (a sample's, with its log π), widened to double.
int ref_edges_from_csr(ref_edges *out, const fm_edges *edges, char *msg);

// A SPARSE-kind rows × cols graph with values in [0.1, 1.1). When rows and
// cols are both at least 3 it always has: an empty row (0) and an empty
// column (0); a row (1) and a column (1) with exactly one edge; a full row
// (2) and a full column (2), full over every non-empty column and row (the
// one edge of row 1 is (1, 2), that of column 1 is (2, 1)); every other
// entry (rows and columns from 3 on) is present with probability `density`.
// Smaller graphs are complete. The same seed gives the same graph.
int ref_random_graph(fm_graph **out, int64_t rows, int64_t cols, double density, uint64_t seed,
                     char *msg);

// ops/attention.h's forward and backward, for the edges of `edges`: per
// target, the scores of its edges in an array, then max, exp, sum and divide
// exactly as written (a sample's scores each less log π first, §8: the
// softmax of score − log π); the backward recomputes α the same way and applies
// the per-edge formulas of §4.2:
//   dα_ij = dVsum^h_j·vN^h_i + dSsum^h_j·s_i + dEsum^h_j x_ij,
//   δ_j = Σ_i α_ij dα_ij,  g_ij = α_ij (dα_ij − δ_j)/sqrt(dh),
// adding (+=) into every non-NULL member of `grads`. NULL members of
// `d_out` read as zeros; NULL members of `out` are not written.
int ref_attention_forward(fm_attention_outputs_f64 *out, const fm_attention_inputs_f64 *in,
                          const ref_edges *edges, fm_attention_shape shape, char *msg);
int ref_attention_backward(fm_attention_grads_f64 *grads, const fm_attention_outputs_f64 *d_out,
                           const fm_attention_inputs_f64 *in, const ref_edges *edges,
                           fm_attention_shape shape, char *msg);

// The parameters of the attention block (§4), d×d weights row-major in the
// llm.c convention out = in·Wᵀ + b. Head h uses rows [h·dh, (h+1)·dh) of
// every d×d matrix and entries [h·dh, (h+1)·dh) of every d-vector.
typedef struct ref_block_params {
    const double *W_Q, *b_Q;   // q_j  = W_Q t_j + b_Q
    const double *W_K, *b_K;   // kN_i = W_K s_i + b_K
    const double *W_V, *b_V;   // vN_i = W_V s_i + b_V
    const double *a_K, *B_K;   // kE_ij = a_K x_ij + B_K (s_i ⊙ t_j)
    const double *a_V, *B_V;   // vE_ij = a_V x_ij + B_V (s_i ⊙ t_j) + b_VE
    const double *b_VE;
} ref_block_params;

// The literal formulas of §4, per edge: e_ij = [x_ij ; s_i ⊙ t_j], kE_ij and
// vE_ij materialized, score_ij = q_j·(kN_i + kE_ij)/sqrt(dh) with nothing
// dropped, softmax over i ∈ N(j), msg_j = Σ_i α_ij (vN_i + vE_ij).
// messages: targets × d, heads concatenated, before the output projection
// W_O. targets: shape.targets × d, sources: shape.sources × d.
int ref_attention_block_forward(double *messages, const double *targets, const double *sources,
                                const ref_block_params *params, const ref_edges *edges,
                                fm_attention_shape shape, char *msg);

#endif
