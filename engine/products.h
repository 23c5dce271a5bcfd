// The solver's products with X and Xᵀ, as the engine's own vectorized kernels
// over the CSR arrays GraphBLAS hands out. Each has its GraphBLAS formulation
// beside it (suffix _graphblas), the slow reference the tests compare with.
//
// Debian's GraphBLAS 7.4 is built without AVX: its SpMM with a dense 32-column
// operand ran at 2.2 GFLOP/s where a plain OpenMP loop over the same arrays,
// built with -march=native, ran at 9 GFLOP/s (20000 x 20000, 2M entries).
#ifndef FM_PRODUCTS_H
#define FM_PRODUCTS_H

#include "graph.h"

// out[t] = Σ_{s ∈ N(t)} x_ts · sources[s]: F = Xᵀ W (FM_TO_COLUMNS) or
// F = X Hᵀ (FM_TO_ROWS), the right-hand sides of §3. `out` is targets × k.
void fm_products_gather(fm_dense *out, const fm_edges *edges, const fm_dense *sources);
int fm_products_gather_graphblas(fm_dense **out, fm_graph *g, fm_direction direction,
                                 const fm_dense *sources, char *msg);

// Full storage (engine/gather_full.c): rows [begin, end) of out = X·S for a
// dense row-major X (targets × n), from Sᵀ rank-major and padded with zero
// rows to fm_gather_full_padding(k) ranks; `level` picks the variant
// (engine/cpu.h: fm_kernel_level(), or a lower level to test one).
int fm_gather_full_padding(int k);
void fm_gather_full_rows(float *out, const float *X, const float *St, int64_t n, int k, int64_t begin,
                         int64_t end, int level);
// Stored edges (engine/products_sparse.c): rows [begin, end) of out = X·S
// over CSR edges, the variant of `level` (vector kernels for k <= 32).
void fm_gather_sparse_rows(float *out, const fm_edges *edges, const float *sources, int k, int64_t begin,
                           int64_t end, int level);
// acc (kpad × n, rank-major) += Tᵀ X over `count` rows of X (count × n) and
// of T (count × kpad, padded with zero ranks): the rows' part of Xᵀ·T.
void fm_scatter_full_rows(float *acc, const float *X, const float *T, int64_t n, int kpad, int64_t count,
                          int level);
// Σ (x_ts − T[t]·S[s])² over `count` rows of X and T (count × kpad), from Sᵀ
// (kpad × n, rank-major; here kpad need not be a multiple of 5); each row's
// squares summed in float lanes, the rows in double.
double fm_residual_full_rows(const float *X, const float *T, const float *St, int64_t n, int kpad, int64_t count,
                             int level);

// grams[t] = Σ_{s ∈ N(t)} s sᵀ, one k×k row-major block per target: the
// per-column Gram G_j of the incomplete kind (§3). `grams` holds targets·k².
void fm_products_masked_gram(float *grams, const fm_edges *edges, const fm_dense *sources);
int fm_products_masked_gram_graphblas(float **grams, fm_graph *g, fm_direction direction,
                                      const fm_dense *sources, char *msg);

// Over the stored edges, in double: dot = Σ x_ts (t·s), sq = Σ (x_ts − t·s)².
// `targets` and `sources` are the node features of the two sides.
void fm_products_edge_sums(double *dot, double *sq, const fm_edges *edges,
                           const fm_dense *targets, const fm_dense *sources);
int fm_products_edge_sums_graphblas(double *dot, double *sq, fm_graph *g, fm_direction direction,
                                    const fm_dense *targets, const fm_dense *sources, char *msg);

// Dense (full) edges only: Σ (x_ts − t·s)² in double, each row's predictions
// formed in vector registers and never stored (fm_residual_full_rows). Each
// prediction is a float sum of only k products, so its rounding stays far
// below the residual. The fast path of the dense loss; the reference is
// fm_products_edge_sums.
int fm_products_dense_residual(double *sq, const fm_edges *edges, const fm_dense *targets,
                               const fm_dense *sources, char *msg);

// G = SᵀS (k×k, double, row-major), summed in double.
int fm_products_gram(double *G, const fm_dense *S, char *msg);

// The edges of one target, for kernels that fuse more work per target. Two
// partial sums (even and odd edges) halve the chain of dependent FMAs; with
// k a compile-time constant (engine/rank.h) both live in vector registers.
static inline void fm_gather_target(float *restrict out, const fm_edges *edges, int64_t t,
                                    const float *restrict sources, int k)
{
    float even[k], odd[k];
    for (int r = 0; r < k; r++) even[r] = odd[r] = 0;
    GrB_Index e = edges->ptr[t];
    const GrB_Index end = edges->ptr[t + 1];
    for (; e + 1 < end; e += 2) {
        const float x0 = edges->val[e], x1 = edges->val[e + 1];
        const float *restrict s0 = sources + edges->idx[e] * k;
        const float *restrict s1 = sources + edges->idx[e + 1] * k;
        for (int r = 0; r < k; r++) {
            even[r] += x0 * s0[r];
            odd[r] += x1 * s1[r];
        }
    }
    if (e < end) {
        const float x = edges->val[e];
        const float *restrict s = sources + edges->idx[e] * k;
        for (int r = 0; r < k; r++) even[r] += x * s[r];
    }
    for (int r = 0; r < k; r++) out[r] = even[r] + odd[r];
}

// F_t = Σ x_ts s and G_t = Σ s sᵀ of one target in one pass over its edges:
// the right-hand side and the per-column Gram of the incomplete kind (§3).
// fm_products_masked_gram and the incomplete ADMM both run this loop.
static inline void fm_gather_gram_target(float *restrict f, float *restrict gram, const fm_edges *edges,
                                         int64_t t, const float *restrict sources, int k)
{
    for (int r = 0; r < k; r++) f[r] = 0;
    for (int e = 0; e < k * k; e++) gram[e] = 0;
    for (GrB_Index e = edges->ptr[t]; e < edges->ptr[t + 1]; e++) {
        const float x = edges->val[e];
        const float *restrict s = sources + edges->idx[e] * k;
        for (int a = 0; a < k; a++) {
            f[a] += x * s[a];
            for (int c = 0; c < k; c++) gram[a * k + c] += s[a] * s[c];
        }
    }
}

#endif
