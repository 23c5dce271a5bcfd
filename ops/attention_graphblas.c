// Edge attention as GraphBLAS semiring operations (docs/factormer-math.md §4.1,
// §4.2): the reference formulation of ops/attention.h, in float.
//
// Only built-in operators, monoids and semirings are used (user-defined ones
// fall back to generic kernels, 7-9x slower). The three kinds of step, each
// on a fast kernel:
//   SDDMM   C<E,struct> = A·Bᵀ with A, B full by row: GrB_mxm(C, E, NULL,
//           GrB_PLUS_TIMES_SEMIRING_FP32, A, B, GrB_DESC_ST1), the dot-product
//           method over exactly the pattern of E (no transpose is formed);
//   scaling C = D·E (per row) or E·D (per column) with D = GrB_Matrix_diag(v)
//           and no mask: GraphBLAS's row/column-scale kernels, with the
//           semiring's multiply picking the operation (TIMES to scale, MINUS
//           or RMINUS to subtract, RDIV to divide). GraphBLAS takes these
//           kernels only for a complete diagonal (otherwise a generic saxpy,
//           seen with GxB_BURBLE), so a reduction with missing entries
//           (targets without edges) is filled before it becomes D;
//   SpMM    C = α·B with α by row and B full: GrB_mxm with PLUS_TIMES.
// Per-target scalars are row scalings over the edges by target and column
// scalings over the edges by source, so the backward pass reads the other
// orientation of the graph instead of transposing α.
//
// Dense node arrays are copied into full GraphBLAS matrices (head columns
// side by side: [Q^h | P^h], [K^h | S], [V^h | S], [dV^h | dS^h]); results
// are read back with extractTuples. 1/sqrt(dh) is folded into the copy of
// [Q^h | P^h] and of c^h, so the scores need no extra pass.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "profile.h"
#include "status.h"

//------------------------------------------------------------------------------
// Dense arrays in and out of GraphBLAS
//------------------------------------------------------------------------------

// Columns [first, first + cols) of a row-major array with `stride` columns;
// data NULL reads as zeros.
typedef struct column_block {
    const float *data;
    int64_t stride, first, cols;
    float scale;
} column_block;

// A full rows × (a.cols + b.cols) matrix holding the two blocks side by side.
static int pack_blocks(GrB_Matrix *out, int64_t rows, column_block a, column_block b, char *msg)
{
    GrB_Matrix M = NULL;
    float *values = NULL;
#define FREE_ALL { GrB_Matrix_free(&M); free(values); }
    const int64_t width = a.cols + b.cols;
    FM_ALLOC(values, rows * width);
    for (int64_t r = 0; r < rows; r++) {
        float *row = values + r * width;
        if (a.data)
            for (int64_t c = 0; c < a.cols; c++) row[c] = a.scale * a.data[r * a.stride + a.first + c];
        if (b.data)
            for (int64_t c = 0; c < b.cols; c++)
                row[a.cols + c] = b.scale * b.data[r * b.stride + b.first + c];
    }
    FM_GRB(GrB_Matrix_new(&M, GrB_FP32, rows, width));
    FM_GRB(GxB_Matrix_pack_FullR(M, (void **)&values, sizeof(float) * rows * width, false, NULL));
    *out = M;
    return FM_OK;
#undef FREE_ALL
}

// The diagonal matrix of column `first` of a row-major array (NULL: zeros),
// every diagonal entry present.
static int pack_diagonal(GrB_Matrix *out, int64_t n, const float *data, int64_t stride,
                         int64_t first, float scale, char *msg)
{
    GrB_Vector v = NULL;
    GrB_Matrix D = NULL;
    float *values = NULL;
#define FREE_ALL { GrB_Vector_free(&v); GrB_Matrix_free(&D); free(values); }
    FM_ALLOC(values, n);
    if (data)
        for (int64_t r = 0; r < n; r++) values[r] = scale * data[r * stride + first];
    FM_GRB(GrB_Vector_new(&v, GrB_FP32, n));
    FM_GRB(GxB_Vector_pack_Full(v, (void **)&values, sizeof(float) * n, false, NULL));
    FM_GRB(GrB_Matrix_diag(&D, v, 0));
    GrB_Vector_free(&v);
    *out = D;
    return FM_OK;
#undef FREE_ALL
}

// dst[r, first + c] += scale · M(r, from + c) for c in [0, cols), over the
// entries of M.
static int add_columns(float *dst, int64_t stride, int64_t first, GrB_Matrix M, int64_t from,
                       int64_t cols, float scale, char *msg)
{
    GrB_Index *I = NULL, *J = NULL;
    float *X = NULL;
#define FREE_ALL { free(I); free(J); free(X); }
    if (!dst) return FM_OK;
    GrB_Index n = 0;
    FM_GRB(GrB_Matrix_nvals(&n, M));
    FM_ALLOC(I, n + 1);
    FM_ALLOC(J, n + 1);
    FM_ALLOC(X, n + 1);
    FM_GRB(GrB_Matrix_extractTuples_FP32(I, J, X, &n, M));
    for (GrB_Index e = 0; e < n; e++) {
        const int64_t c = (int64_t)J[e] - from;
        if (c >= 0 && c < cols) dst[(int64_t)I[e] * stride + first + c] += scale * X[e];
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// dst[r, column] += scale · v(r) over the entries of v.
static int add_vector(float *dst, int64_t stride, int64_t column, GrB_Vector v, float scale,
                      char *msg)
{
    GrB_Index *I = NULL;
    float *X = NULL;
#define FREE_ALL { free(I); free(X); }
    if (!dst) return FM_OK;
    GrB_Index n = 0;
    FM_GRB(GrB_Vector_nvals(&n, v));
    FM_ALLOC(I, n + 1);
    FM_ALLOC(X, n + 1);
    FM_GRB(GrB_Vector_extractTuples_FP32(I, X, &n, v));
    for (GrB_Index e = 0; e < n; e++) dst[(int64_t)I[e] * stride + column] += scale * X[e];
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// The steps
//------------------------------------------------------------------------------

// score<E> = A·Bᵀ + (per-target c)·X_E − log π, over exactly the pattern of
// E. By target (E targets × sources) c scales the rows: D·E; by source (E
// sources × targets) the columns: E·D. The factor 1/sqrt(dh) is already in A
// or B and D. log_pi (E's pattern; NULL: every π = 1) is a sample's (§8):
// its softmax reads score − log π, which the gradients of the score share.
static int edge_scores(GrB_Matrix score, GrB_Matrix E, GrB_Matrix A, GrB_Matrix B, GrB_Matrix D,
                       GrB_Matrix log_pi, bool by_target, char *msg)
{
#define FREE_ALL
    FM_GRB(GrB_mxm(score, E, NULL, GrB_PLUS_TIMES_SEMIRING_FP32, A, B, GrB_DESC_ST1));
    if (by_target)
        FM_GRB(GrB_mxm(score, NULL, GrB_PLUS_FP32, GrB_PLUS_TIMES_SEMIRING_FP32, D, E, NULL));
    else
        FM_GRB(GrB_mxm(score, NULL, GrB_PLUS_FP32, GrB_PLUS_TIMES_SEMIRING_FP32, E, D, NULL));
    if (log_pi) FM_GRB(GrB_eWiseMult(score, NULL, NULL, GrB_MINUS_FP32, score, log_pi, NULL));
    return FM_OK;
#undef FREE_ALL
}

// α = exp(score − log_norm) with log_norm per target (D diagonal): the
// softmax of the forward pass, recomputed without a max or a sum.
static int recompute_alpha(GrB_Matrix alpha, GrB_Matrix score, GrB_Matrix D, bool by_target, char *msg)
{
#define FREE_ALL
    if (by_target)   // rows: RMINUS(d_j, score_ji) = score_ji − d_j
        FM_GRB(GrB_mxm(alpha, NULL, NULL, GxB_PLUS_RMINUS_FP32, D, score, NULL));
    else             // columns: MINUS(score_ij, d_j)
        FM_GRB(GrB_mxm(alpha, NULL, NULL, GxB_PLUS_MINUS_FP32, score, D, NULL));
    FM_GRB(GrB_Matrix_apply(alpha, NULL, NULL, GxB_EXP_FP32, alpha, NULL));
    return FM_OK;
#undef FREE_ALL
}

// A full vector of zeros of length n.
static int zeros(GrB_Vector *out, int64_t n, char *msg)
{
    GrB_Vector v = NULL;
#define FREE_ALL GrB_Vector_free(&v)
    FM_GRB(GrB_Vector_new(&v, GrB_FP32, n));
    FM_GRB(GrB_Vector_assign_FP32(v, NULL, NULL, 0.0f, GrB_ALL, n, NULL));
    *out = v;
    return FM_OK;
#undef FREE_ALL
}

static int check_shape(GrB_Matrix E, fm_attention_shape shape, const char *who, char *msg)
{
#define FREE_ALL
    GrB_Index rows, cols;
    FM_GRB(GrB_Matrix_nrows(&rows, E));
    FM_GRB(GrB_Matrix_ncols(&cols, E));
    FM_CHECK(shape.heads >= 1 && shape.width >= 1 && shape.width % shape.heads == 0, FM_ERR_INVALID,
             "%s: width %d is not a positive multiple of heads %d", who, shape.width, shape.heads);
    FM_CHECK((int64_t)rows == shape.targets && (int64_t)cols == shape.sources, FM_ERR_INVALID,
             "%s: the graph has %lld targets and %lld sources in this direction, the shape says %lld and %lld",
             who, (long long)rows, (long long)cols, (long long)shape.targets, (long long)shape.sources);
    return FM_OK;
#undef FREE_ALL
}

static bool inputs_complete(const fm_attention_inputs *in)
{
    return in && in->queries && in->keys && in->values && in->sources && in->probes && in->edge_scales;
}

//------------------------------------------------------------------------------
// Forward
//------------------------------------------------------------------------------

int fm_attention_forward_graphblas(fm_attention_outputs *out, const fm_attention_inputs *in,
                                   const fm_graphblas_edges *edges, fm_attention_shape shape, char *msg)
{
    FM_PROFILE_START(clock);
    GrB_Matrix QP = NULL, KS = NULL, VS = NULL, Dc = NULL, Dmax = NULL, Dsum = NULL;
    GrB_Matrix score = NULL, alpha = NULL, sums = NULL, alpha_x = NULL;
    GrB_Vector row_max = NULL, row_sum = NULL, edge_sum = NULL;
    GrB_Index *I = NULL;
    float *X = NULL;
#define FREE_HEAD                                                                             \
    {                                                                                         \
        GrB_Matrix_free(&QP); GrB_Matrix_free(&KS); GrB_Matrix_free(&VS);                     \
        GrB_Matrix_free(&Dc); GrB_Matrix_free(&Dmax); GrB_Matrix_free(&Dsum);                 \
        GrB_Matrix_free(&score); GrB_Matrix_free(&alpha); GrB_Matrix_free(&sums);             \
        GrB_Matrix_free(&alpha_x); GrB_Vector_free(&row_max); GrB_Vector_free(&row_sum);      \
        GrB_Vector_free(&edge_sum);                                                           \
    }
#define FREE_ALL { FREE_HEAD; free(I); free(X); }
    FM_CHECK(out && inputs_complete(in) && edges && edges->by_target, FM_ERR_INVALID,
             "fm_attention_forward_graphblas: missing outputs, inputs or graph");
    GrB_Matrix E = edges->by_target;
    FM_TRY(check_shape(E, shape, "fm_attention_forward_graphblas", msg));
    const int64_t nt = shape.targets, ns = shape.sources;
    const int nh = shape.heads, d = shape.width, dh = d / nh;
    const float scale = 1.0f / sqrtf((float)dh);
    GrB_Index edge_count = 0;
    FM_GRB(GrB_Matrix_nvals(&edge_count, E));

    if (out->value_sums) memset(out->value_sums, 0, sizeof(float) * nt * d);
    if (out->source_sums) memset(out->source_sums, 0, sizeof(float) * nt * nh * d);
    if (out->edge_sums) memset(out->edge_sums, 0, sizeof(float) * nt * nh);
    if (out->log_norms) memset(out->log_norms, 0, sizeof(float) * nt * nh);
    FM_ALLOC(I, nt);
    FM_ALLOC(X, nt);

    for (int h = 0; h < nh; h++) {
        // score<E> = [Q^h | P^h]·[K^h | S]ᵀ/sqrt(dh) + diag(c^h/sqrt(dh))·X_E
        FM_TRY(pack_blocks(&QP, nt, (column_block){ in->queries, d, h * dh, dh, scale },
                           (column_block){ in->probes, (int64_t)nh * d, (int64_t)h * d, d, scale }, msg));
        FM_TRY(pack_blocks(&KS, ns, (column_block){ in->keys, d, h * dh, dh, 1.0f },
                           (column_block){ in->sources, d, 0, d, 1.0f }, msg));
        FM_TRY(pack_diagonal(&Dc, nt, in->edge_scales, nh, h, scale, msg));
        FM_GRB(GrB_Matrix_new(&score, GrB_FP32, nt, ns));
        FM_TRY(edge_scores(score, E, QP, KS, Dc, edges->log_pi, true, msg));

        // edge softmax over each row: max, subtract, exp, sum, divide
        FM_GRB(GrB_Vector_new(&row_max, GrB_FP32, nt));
        FM_GRB(GrB_Matrix_reduce_Monoid(row_max, NULL, NULL, GrB_MAX_MONOID_FP32, score, NULL));
        FM_GRB(GrB_Vector_assign_FP32(row_max, row_max, NULL, 0.0f, GrB_ALL, nt, GrB_DESC_SC));
        FM_GRB(GrB_Matrix_diag(&Dmax, row_max, 0));
        FM_GRB(GrB_Matrix_new(&alpha, GrB_FP32, nt, ns));
        FM_GRB(GrB_mxm(alpha, NULL, NULL, GxB_PLUS_RMINUS_FP32, Dmax, score, NULL));
        FM_GRB(GrB_Matrix_apply(alpha, NULL, NULL, GxB_EXP_FP32, alpha, NULL));
        FM_GRB(GrB_Vector_new(&row_sum, GrB_FP32, nt));
        FM_GRB(GrB_Matrix_reduce_Monoid(row_sum, NULL, NULL, GrB_PLUS_MONOID_FP32, alpha, NULL));
        FM_GRB(GrB_Vector_assign_FP32(row_sum, row_sum, NULL, 1.0f, GrB_ALL, nt, GrB_DESC_SC));
        FM_GRB(GrB_Matrix_diag(&Dsum, row_sum, 0));
        FM_GRB(GrB_mxm(alpha, NULL, NULL, GxB_PLUS_RDIV_FP32, Dsum, alpha, NULL));

        // log_norm_j = max_j + log(sum_j), 0 for a target without edges
        if (out->log_norms) {
            GrB_Index n = nt;
            FM_GRB(GrB_Vector_extractTuples_FP32(I, X, &n, row_max));
            for (GrB_Index e = 0; e < n; e++) out->log_norms[(int64_t)I[e] * nh + h] = X[e];
            n = nt;
            FM_GRB(GrB_Vector_extractTuples_FP32(I, X, &n, row_sum));
            for (GrB_Index e = 0; e < n; e++) out->log_norms[(int64_t)I[e] * nh + h] += logf(X[e]);
        }

        // [value_sums^h | source_sums^h] = α·[V^h | S]   (one SpMM)
        if (out->value_sums || out->source_sums) {
            FM_TRY(pack_blocks(&VS, ns, (column_block){ in->values, d, h * dh, dh, 1.0f },
                               (column_block){ in->sources, d, 0, d, 1.0f }, msg));
            FM_GRB(GrB_Matrix_new(&sums, GrB_FP32, nt, dh + d));
            FM_GRB(GrB_mxm(sums, NULL, NULL, GrB_PLUS_TIMES_SEMIRING_FP32, alpha, VS, NULL));
            FM_TRY(add_columns(out->value_sums, d, h * dh, sums, 0, dh, 1.0f, msg));
            FM_TRY(add_columns(out->source_sums, (int64_t)nh * d, (int64_t)h * d, sums, dh, d, 1.0f, msg));
        }
        // edge_sums^h = rowsum(α ⊙ X)
        if (out->edge_sums) {
            FM_GRB(GrB_Matrix_new(&alpha_x, GrB_FP32, nt, ns));
            FM_GRB(GrB_eWiseMult(alpha_x, NULL, NULL, GrB_TIMES_FP32, alpha, E, NULL));
            FM_GRB(GrB_Vector_new(&edge_sum, GrB_FP32, nt));
            FM_GRB(GrB_Matrix_reduce_Monoid(edge_sum, NULL, NULL, GrB_PLUS_MONOID_FP32, alpha_x, NULL));
            FM_TRY(add_vector(out->edge_sums, nh, h, edge_sum, 1.0f, msg));
        }
        FREE_HEAD;
    }
    FREE_ALL;
    // per head: SDDMM 2(dh+d)|E|, row scale and add 2|E|, softmax 5|E|,
    // SpMM 2(dh+d)|E|, edge sums 2|E|; bytes: the node arrays read and the
    // outputs written once, 12 bytes (index and value) per edge for each of
    // the 9 passes over the edges
    FM_PROFILE_STOP(clock, "attention.graphblas.forward",
                    (double)nh * edge_count * (4.0 * (dh + d) + 9.0),
                    4.0 * ((double)nt * (d + nh * d + nh) + 3.0 * ns * d) +
                        4.0 * nt * (d + nh * d + 2.0 * nh) + 12.0 * 9.0 * nh * edge_count);
    return FM_OK;
#undef FREE_HEAD
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// Backward
//------------------------------------------------------------------------------

int fm_attention_backward_graphblas(fm_attention_grads *grads, const fm_attention_outputs *d_out,
                                    const fm_attention_inputs *in, const fm_attention_outputs *saved,
                                    const fm_graphblas_edges *edges, fm_attention_shape shape, char *msg)
{
    FM_PROFILE_START(clock);
    GrB_Matrix QP = NULL, KS = NULL, VS = NULL, dVS = NULL, Dc = NULL, Dlog = NULL, Dde = NULL,
               Ddelta = NULL;
    GrB_Matrix score = NULL, alpha = NULL, d_alpha = NULL, work = NULL, product = NULL;
    GrB_Vector delta = NULL, edge_grad = NULL;
#define FREE_ALL                                                                              \
    {                                                                                         \
        GrB_Matrix_free(&QP); GrB_Matrix_free(&KS); GrB_Matrix_free(&VS);                     \
        GrB_Matrix_free(&dVS); GrB_Matrix_free(&Dc); GrB_Matrix_free(&Dlog);                  \
        GrB_Matrix_free(&Dde); GrB_Matrix_free(&Ddelta); GrB_Matrix_free(&score);             \
        GrB_Matrix_free(&alpha); GrB_Matrix_free(&d_alpha); GrB_Matrix_free(&work);           \
        GrB_Matrix_free(&product); GrB_Vector_free(&delta); GrB_Vector_free(&edge_grad);      \
    }
    FM_CHECK(grads && d_out && inputs_complete(in) && saved && saved->log_norms && edges && edges->by_target &&
                 edges->by_source && !edges->log_pi == !edges->log_pi_by_source,
             FM_ERR_INVALID, "fm_attention_backward_graphblas: missing gradients, inputs, saved log_norms or graph");
    GrB_Matrix E = edges->by_target, Es = edges->by_source;
    FM_TRY(check_shape(E, shape, "fm_attention_backward_graphblas", msg));
    const int64_t nt = shape.targets, ns = shape.sources;
    const int nh = shape.heads, d = shape.width, dh = d / nh;
    const float scale = 1.0f / sqrtf((float)dh);
    GrB_Index edge_count = 0;
    FM_GRB(GrB_Matrix_nvals(&edge_count, E));

    const bool want_target = grads->queries || grads->probes || grads->edge_scales;
    const bool want_g_source = grads->keys || grads->sources;      // gᵀ·[Q | P]
    const bool want_a_source = grads->values || grads->sources;    // αᵀ·[dV | dS]
    if (!want_target && !want_g_source && !want_a_source) return FM_OK;

    for (int h = 0; h < nh; h++) {
        // the node blocks of this head; 1/sqrt(dh) in [Q | P] and c
        FM_TRY(pack_blocks(&QP, nt, (column_block){ in->queries, d, h * dh, dh, scale },
                           (column_block){ in->probes, (int64_t)nh * d, (int64_t)h * d, d, scale }, msg));
        FM_TRY(pack_blocks(&KS, ns, (column_block){ in->keys, d, h * dh, dh, 1.0f },
                           (column_block){ in->sources, d, 0, d, 1.0f }, msg));
        FM_TRY(pack_blocks(&VS, ns, (column_block){ in->values, d, h * dh, dh, 1.0f },
                           (column_block){ in->sources, d, 0, d, 1.0f }, msg));
        FM_TRY(pack_blocks(&dVS, nt, (column_block){ d_out->value_sums, d, h * dh, dh, 1.0f },
                           (column_block){ d_out->source_sums, (int64_t)nh * d, (int64_t)h * d, d, 1.0f },
                           msg));
        FM_TRY(pack_diagonal(&Dc, nt, in->edge_scales, nh, h, scale, msg));
        FM_TRY(pack_diagonal(&Dlog, nt, saved->log_norms, nh, h, 1.0f, msg));
        FM_TRY(pack_diagonal(&Dde, nt, d_out->edge_sums, nh, h, 1.0f, msg));

        //--- target side, over E (targets × sources) --------------------------
        // α = exp(score − log_norm)
        FM_GRB(GrB_Matrix_new(&score, GrB_FP32, nt, ns));
        FM_TRY(edge_scores(score, E, QP, KS, Dc, edges->log_pi, true, msg));
        FM_GRB(GrB_Matrix_new(&alpha, GrB_FP32, nt, ns));
        FM_TRY(recompute_alpha(alpha, score, Dlog, true, msg));
        // dα<E> = [dV^h | dS^h]·[V^h | S]ᵀ + diag(dE^h)·X_E
        FM_GRB(GrB_Matrix_new(&d_alpha, GrB_FP32, nt, ns));
        FM_TRY(edge_scores(d_alpha, E, dVS, VS, Dde, NULL, true, msg));
        // δ = rowsum(α ⊙ dα), every target present (0 without edges)
        FM_GRB(GrB_Matrix_new(&work, GrB_FP32, nt, ns));
        FM_GRB(GrB_eWiseMult(work, NULL, NULL, GrB_TIMES_FP32, alpha, d_alpha, NULL));
        FM_TRY(zeros(&delta, nt, msg));
        FM_GRB(GrB_Matrix_reduce_Monoid(delta, NULL, GrB_PLUS_FP32, GrB_PLUS_MONOID_FP32, work, NULL));
        FM_GRB(GrB_Matrix_diag(&Ddelta, delta, 0));
        if (want_target) {
            // g' = α ⊙ (dα − δ)   (g = g'/sqrt(dh))
            FM_GRB(GrB_mxm(work, NULL, NULL, GxB_PLUS_RMINUS_FP32, Ddelta, d_alpha, NULL));
            FM_GRB(GrB_eWiseMult(work, NULL, NULL, GrB_TIMES_FP32, alpha, work, NULL));
            if (grads->queries || grads->probes) {
                // [dQ^h | dP^h] += g·[K^h | S]
                FM_GRB(GrB_Matrix_new(&product, GrB_FP32, nt, dh + d));
                FM_GRB(GrB_mxm(product, NULL, NULL, GrB_PLUS_TIMES_SEMIRING_FP32, work, KS, NULL));
                FM_TRY(add_columns(grads->queries, d, h * dh, product, 0, dh, scale, msg));
                FM_TRY(add_columns(grads->probes, (int64_t)nh * d, (int64_t)h * d, product, dh, d, scale, msg));
                GrB_Matrix_free(&product);
            }
            if (grads->edge_scales) {
                // dc^h += rowsum(g ⊙ X)
                FM_GRB(GrB_eWiseMult(work, NULL, NULL, GrB_TIMES_FP32, work, E, NULL));
                FM_GRB(GrB_Vector_new(&edge_grad, GrB_FP32, nt));
                FM_GRB(GrB_Matrix_reduce_Monoid(edge_grad, NULL, NULL, GrB_PLUS_MONOID_FP32, work, NULL));
                FM_TRY(add_vector(grads->edge_scales, nh, h, edge_grad, scale, msg));
                GrB_Vector_free(&edge_grad);
            }
        }
        GrB_Matrix_free(&score);
        GrB_Matrix_free(&alpha);
        GrB_Matrix_free(&d_alpha);
        GrB_Matrix_free(&work);

        //--- source side, over Es (sources × targets): per-target scalars are
        //--- column scalings, no transpose ------------------------------------
        FM_GRB(GrB_Matrix_new(&score, GrB_FP32, ns, nt));
        FM_TRY(edge_scores(score, Es, KS, QP, Dc, edges->log_pi_by_source, false, msg));
        FM_GRB(GrB_Matrix_new(&alpha, GrB_FP32, ns, nt));
        FM_TRY(recompute_alpha(alpha, score, Dlog, false, msg));
        if (want_g_source) {
            // gᵀ' = αᵀ ⊙ (dαᵀ − δ), dαᵀ<Es> = [V^h | S]·[dV^h | dS^h]ᵀ + X_Es·diag(dE^h)
            FM_GRB(GrB_Matrix_new(&d_alpha, GrB_FP32, ns, nt));
            FM_TRY(edge_scores(d_alpha, Es, VS, dVS, Dde, NULL, false, msg));
            FM_GRB(GrB_Matrix_new(&work, GrB_FP32, ns, nt));
            FM_GRB(GrB_mxm(work, NULL, NULL, GxB_PLUS_MINUS_FP32, d_alpha, Ddelta, NULL));
            FM_GRB(GrB_eWiseMult(work, NULL, NULL, GrB_TIMES_FP32, alpha, work, NULL));
            // [dK^h | dS] += gᵀ·[Q^h | P^h]   (1/sqrt(dh) is in QP)
            FM_GRB(GrB_Matrix_new(&product, GrB_FP32, ns, dh + d));
            FM_GRB(GrB_mxm(product, NULL, NULL, GrB_PLUS_TIMES_SEMIRING_FP32, work, QP, NULL));
            FM_TRY(add_columns(grads->keys, d, h * dh, product, 0, dh, 1.0f, msg));
            FM_TRY(add_columns(grads->sources, d, 0, product, dh, d, 1.0f, msg));
            GrB_Matrix_free(&product);
        }
        if (want_a_source) {
            // [dV^h | dS] += αᵀ·[dV^h | dS^h]
            FM_GRB(GrB_Matrix_new(&product, GrB_FP32, ns, dh + d));
            FM_GRB(GrB_mxm(product, NULL, NULL, GrB_PLUS_TIMES_SEMIRING_FP32, alpha, dVS, NULL));
            FM_TRY(add_columns(grads->values, d, h * dh, product, 0, dh, 1.0f, msg));
            FM_TRY(add_columns(grads->sources, d, 0, product, dh, d, 1.0f, msg));
        }
        FREE_ALL;
    }
    // per head: target side 2 SDDMMs 4(dh+d)|E|, scalings, products and
    // reductions 10|E|, SpMM 2(dh+d)|E|; source side 2 SDDMMs 4(dh+d)|E|,
    // 6|E|, 2 SpMMs 4(dh+d)|E|; bytes: node arrays and gradients once, 12
    // bytes per edge for each of the 20 passes over the edges
    FM_PROFILE_STOP(clock, "attention.graphblas.backward",
                    (double)nh * edge_count * (14.0 * (dh + d) + 16.0),
                    4.0 * 2.0 * ((double)nt * (d + nh * d + nh) + 3.0 * ns * d) +
                        4.0 * nt * (d + nh * d + 2.0 * nh) + 12.0 * 20.0 * nh * edge_count);
    return FM_OK;
#undef FREE_ALL
}
