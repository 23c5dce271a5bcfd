// Products with X and Xᵀ over the borrowed edge arrays, and their GraphBLAS
// references. Parallel over targets; each target's output is written by one
// thread, so the result does not depend on the thread count.
#include "products.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "ordered_sum.h"
#include "profile.h"
#include "rank.h"
#include "status.h"

// Targets have skewed degrees (power-law rows of ratings, long documents):
// small dynamic chunks keep both cores busy at the cost of a little overhead.
#define FM_TARGET_CHUNK 64

// This thread's share [begin, end) of `count` rows, in one contiguous block.
static void fm_thread_block(int64_t count, int64_t *begin, int64_t *end)
{
    const int64_t threads = omp_get_num_threads(), id = omp_get_thread_num();
    *begin = count * id / threads;
    *end = count * (id + 1) / threads;
}

// Shorter rows of X go to SGEMM (fm_products_gather): on the 30-70 x 30-70
// validation matrices of `factormer eval` plain ADMM's 20 iterations took
// 0.84 ms through the register kernel below, 0.76 ms through SGEMM.
#define FM_GATHER_SHORT 256

void fm_products_gather(fm_dense *out, const fm_edges *edges, const fm_dense *sources)
{
    FM_PROFILE_START(profile_clock);
    const int k = (int)sources->cols;
    const int64_t n = edges->sources;
    const double T = (double)edges->targets, S = (double)n;
    if (!edges->ptr) {   // full storage
        // rows shorter than FM_GATHER_SHORT: SGEMM, whose small-matrix path
        // beats the 20 sums' reductions there
        const int64_t padded = fm_gather_full_padding(k);
        float *St = n >= FM_GATHER_SHORT ? calloc((size_t)padded * n, sizeof *St) : NULL;
        if (St) fm_dense_transpose(St, sources);
        const int level = fm_kernel_level();
#pragma omp parallel
        {
            int64_t begin, end;
            fm_thread_block(edges->targets, &begin, &end);
            if (St)
                fm_gather_full_rows(out->data, edges->val, St, n, k, begin, end, level);
            else if (end > begin)   // short rows, or no room for Sᵀ: SGEMM on the block
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(end - begin), k, (int)n, 1.0f,
                            edges->val + begin * n, (int)n, sources->data, k, 0.0f, out->data + begin * k, k);
        }
        free(St);
        // flops 2·T·S·k; bytes: X (4·T·S), sources (4·S·k), out (4·T·k)
        FM_PROFILE_STOP(profile_clock, "products.gather", 2 * T * S * k, 4 * (T * S + S * k + T * k));
        return;
    }
    const int level = fm_kernel_level();
    const int64_t chunks = (edges->targets + FM_TARGET_CHUNK - 1) / FM_TARGET_CHUNK;
#pragma omp parallel for schedule(dynamic)
    for (int64_t c = 0; c < chunks; c++) {
        const int64_t begin = c * FM_TARGET_CHUNK;
        const int64_t end = edges->targets - begin < FM_TARGET_CHUNK ? edges->targets : begin + FM_TARGET_CHUNK;
        fm_gather_sparse_rows(out->data, edges, sources->data, k, begin, end, level);
    }
    // flops 2·E·k; bytes: ptr (8·(T+1)), idx and val (12·E), a source row per
    // edge (4·E·k), out (4·T·k)
    const double E = (double)edges->count;
    FM_PROFILE_STOP(profile_clock, "products.gather", 2 * E * k,
                    8 * (T + 1) + 12 * E + 4 * E * k + 4 * T * k);
}

FM_TARGET_CLONES
void fm_products_masked_gram(float *grams, const fm_edges *edges, const fm_dense *sources)
{
    FM_PROFILE_START(profile_clock);
    const int k = (int)sources->cols;
#pragma omp parallel for schedule(dynamic, FM_TARGET_CHUNK)
    for (int64_t t = 0; t < edges->targets; t++) {
        float f[k];   // the right-hand side the ADMM also takes; unused here
        fm_gather_gram_target(f, grams + t * k * k, edges, t, sources->data, k);
    }
    // flops 2·E·(k + k²) (the loop forms F_t too); bytes: ptr (8·(T+1)), idx
    // and val (12·E), a source row per edge (4·E·k), grams (4·T·k²)
    const double T = (double)edges->targets, E = (double)edges->count;
    FM_PROFILE_STOP(profile_clock, "products.masked_gram", 2 * E * (k + (double)k * k),
                    8 * (T + 1) + 12 * E + 4 * E * k + 4 * T * k * k);
}

static inline double dot_double(const float *restrict a, const float *restrict b, int k)
{
    double sum = 0;
    for (int r = 0; r < k; r++) sum += (double)a[r] * b[r];
    return sum;
}

FM_TARGET_CLONES
void fm_products_edge_sums(double *dot, double *sq, const fm_edges *edges,
                           const fm_dense *targets, const fm_dense *sources)
{
    FM_PROFILE_START(profile_clock);
    const int k = (int)sources->cols;
    // Fixed slabs of targets, summed in their order (ordered_sum.h), however
    // a dynamic schedule hands the slabs out.
    double dot_slab[FM_SUM_SLABS], sq_slab[FM_SUM_SLABS];
    const int64_t T = edges->targets;
#pragma omp parallel for schedule(dynamic, 1) if (T > FM_TARGET_CHUNK)
    for (int slab = 0; slab < FM_SUM_SLABS; slab++) {
        double dot_sum = 0, sq_sum = 0;
        for (int64_t t = fm_slab_begin(T, slab); t < fm_slab_begin(T, slab + 1); t++) {
            const float *tf = targets->data + t * k;
            int64_t begin = edges->ptr ? (int64_t)edges->ptr[t] : t * edges->sources;
            int64_t end = edges->ptr ? (int64_t)edges->ptr[t + 1] : (t + 1) * edges->sources;
            for (int64_t e = begin; e < end; e++) {
                int64_t s = edges->ptr ? (int64_t)edges->idx[e] : e - begin;
                double x = edges->val[e], p = dot_double(tf, sources->data + s * k, k);
                dot_sum += x * p;
                sq_sum += (x - p) * (x - p);
            }
        }
        dot_slab[slab] = dot_sum;
        sq_slab[slab] = sq_sum;
    }
    const double dot_sum = fm_slab_total(dot_slab), sq_sum = fm_slab_total(sq_slab);
    *dot = dot_sum;
    *sq = sq_sum;
    // flops E·(2k + 5): the prediction (2k), x·p (2) and (x − p)² (3); bytes:
    // ptr, idx (sparse) and val, the targets (4·T·k), a source row per edge
    const double E = edges->ptr ? (double)edges->count : (double)T * (double)edges->sources;
    FM_PROFILE_STOP(profile_clock, "products.edge_sums", E * (2.0 * k + 5),
                    (edges->ptr ? 8 * ((double)T + 1) + 12 * E : 4 * E) + 4.0 * T * k + 4 * E * k);
}

// The Gram of rows [begin, end) into P (k×k, double, full square): the rows
// widened to double in `wide` (rows × k), then DSYRK (the upper triangle),
// mirrored. 2000 x 10: 65 us as a loop of rank-1 updates, which vectorize
// poorly at k = 10.
static void gram_rows(double *restrict P, const float *restrict S, int64_t begin, int64_t end, int k,
                      double *restrict wide)
{
    const int64_t rows = end - begin;
    for (int64_t e = 0; e < rows * k; e++) wide[e] = S[begin * k + e];
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, k, (int)rows, 1.0, wide, k, 0.0, P, k);
    for (int a = 0; a < k; a++)
        for (int c = 0; c < a; c++) P[a * k + c] = P[c * k + a];
}

int fm_products_dense_residual(double *sq, const fm_edges *edges, const fm_dense *targets,
                                const fm_dense *sources, char *msg)
{
    float *St = NULL;
#define FREE_ALL free(St)
    FM_PROFILE_START(profile_clock);
    const int k = (int)sources->cols;
    const int64_t n = edges->sources;
    FM_ALLOC(St, (size_t)k * n);
    fm_dense_transpose(St, sources);
    double slabs[FM_SUM_SLABS];
    const int level = fm_kernel_level();
    const int64_t targets_count = edges->targets;
#pragma omp parallel for schedule(static)
    for (int s = 0; s < FM_SUM_SLABS; s++) {
        const int64_t begin = fm_slab_begin(targets_count, s), end = fm_slab_begin(targets_count, s + 1);
        slabs[s] = end > begin ? fm_residual_full_rows(edges->val + begin * n, targets->data + begin * k, St, n, k,
                                                       end - begin, level)
                               : 0;
    }
    *sq = fm_slab_total(slabs);
    // flops T·S·(2k + 3): the predictions and (x − p)²; bytes: X (4·T·S),
    // targets (4·T·k), sources twice (4·S·k: read, transposed)
    const double T = (double)edges->targets, S = (double)n;
    FM_PROFILE_STOP(profile_clock, "products.dense_residual", T * S * (2.0 * k + 3),
                    4 * (T * S + T * k + 2 * S * k));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_products_gram(double *G, const fm_dense *S, char *msg)
{
    double *partial = NULL, *wide = NULL;
#define FREE_ALL { free(partial); free(wide); }
    FM_PROFILE_START(profile_clock);
    const int k = (int)S->cols;
    // Fixed row blocks summed in order: the summation order does not depend
    // on the thread count.
    enum { BLOCK = 2048, BATCH = 16 };
    const int64_t blocks = (S->rows + BLOCK - 1) / BLOCK;
    const int64_t batch = blocks < BATCH ? blocks : BATCH;
    FM_ALLOC(partial, (size_t)BATCH * k * k);
    FM_ALLOC(wide, (size_t)batch * (S->rows < BLOCK ? S->rows : BLOCK) * k);
    memset(G, 0, sizeof(double) * k * k);
    for (int64_t b0 = 0; b0 < blocks; b0 += BATCH) {
        const int64_t nb = blocks - b0 < BATCH ? blocks - b0 : BATCH;
#pragma omp parallel for schedule(static) if (nb > 1)
        for (int64_t b = 0; b < nb; b++) {
            const int64_t begin = (b0 + b) * BLOCK, end = begin + BLOCK;
            gram_rows(partial + b * k * k, S->data, begin, end < S->rows ? end : S->rows, k,
                      wide + b * BLOCK * k);
        }
        for (int64_t b = 0; b < nb; b++)
            for (int e = 0; e < k * k; e++) G[e] += partial[b * k * k + e];
    }
    // flops 2·n·k² (the full square) + blocks·k² (summing the blocks); bytes:
    // S (4·n·k), G (8·k²)
    const double kk = (double)k * k;
    FM_PROFILE_STOP(profile_clock, "products.gram", 2 * (double)S->rows * kk + (double)blocks * kk,
                    4 * (double)S->rows * k + 8 * kk);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// GraphBLAS references
//------------------------------------------------------------------------------

int fm_products_gather_graphblas(fm_dense **out, fm_graph *g, fm_direction direction,
                                 const fm_dense *sources, char *msg)
{
    GrB_Matrix S = NULL, F = NULL;
#define FREE_ALL { GrB_Matrix_free(&S); GrB_Matrix_free(&F); }
    GrB_Matrix M = fm_graph_matrix(g, direction);
    GrB_Index targets;
    FM_GRB(GrB_Matrix_nrows(&targets, M));
    FM_TRY(fm_dense_to_grb(&S, sources, msg));
    FM_GRB(GrB_Matrix_new(&F, GrB_FP32, targets, sources->cols));
    FM_GRB(GrB_mxm(F, NULL, NULL, GrB_PLUS_TIMES_SEMIRING_FP32, M, S, NULL));
    FM_TRY(fm_dense_from_grb(out, F, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_products_masked_gram_graphblas(float **grams, fm_graph *g, fm_direction direction,
                                      const fm_dense *sources, char *msg)
{
    fm_dense *outer = NULL, *sums = NULL;
    GrB_Matrix P = NULL, Gm = NULL;
#define FREE_ALL { fm_dense_free(&outer); fm_dense_free(&sums); GrB_Matrix_free(&P); GrB_Matrix_free(&Gm); }
    const int64_t k = sources->cols;
    // Row s of P holds the outer product s sᵀ flattened; the pattern of the
    // edges sums those rows per target (PLUS_SECOND ignores the edge values).
    FM_TRY(fm_dense_new(&outer, sources->rows, k * k, msg));
    for (int64_t s = 0; s < sources->rows; s++)
        for (int64_t a = 0; a < k; a++)
            for (int64_t b = 0; b < k; b++)
                outer->data[s * k * k + a * k + b] = sources->data[s * k + a] * sources->data[s * k + b];
    FM_TRY(fm_dense_to_grb(&P, outer, msg));
    GrB_Matrix M = fm_graph_matrix(g, direction);
    GrB_Index targets;
    FM_GRB(GrB_Matrix_nrows(&targets, M));
    FM_GRB(GrB_Matrix_new(&Gm, GrB_FP32, targets, k * k));
    FM_GRB(GrB_mxm(Gm, NULL, NULL, GxB_PLUS_SECOND_FP32, M, P, NULL));
    FM_TRY(fm_dense_from_grb(&sums, Gm, msg));
    *grams = sums->data;
    sums->data = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_products_edge_sums_graphblas(double *dot, double *sq, fm_graph *g, fm_direction direction,
                                    const fm_dense *targets, const fm_dense *sources, char *msg)
{
    GrB_Matrix T = NULL, S = NULL, P = NULL, R = NULL;
#define FREE_ALL { GrB_Matrix_free(&T); GrB_Matrix_free(&S); GrB_Matrix_free(&P); GrB_Matrix_free(&R); }
    GrB_Matrix M = fm_graph_matrix(g, direction);
    GrB_Index nt, ns;
    FM_GRB(GrB_Matrix_nrows(&nt, M));
    FM_GRB(GrB_Matrix_ncols(&ns, M));
    FM_TRY(fm_dense_to_grb(&T, targets, msg));
    FM_TRY(fm_dense_to_grb(&S, sources, msg));
    // Predictions on the edge pattern: a masked SDDMM, P<struct(M)> = T Sᵀ.
    FM_GRB(GrB_Matrix_new(&P, GrB_FP32, nt, ns));
    FM_GRB(GrB_mxm(P, M, NULL, GrB_PLUS_TIMES_SEMIRING_FP32, T, S, GrB_DESC_ST1));
    FM_GRB(GrB_Matrix_new(&R, GrB_FP32, nt, ns));
    FM_GRB(GrB_eWiseMult(R, NULL, NULL, GrB_TIMES_FP32, M, P, NULL));
    FM_GRB(GrB_Matrix_reduce_FP64(dot, NULL, GrB_PLUS_MONOID_FP64, R, NULL));
    FM_GRB(GrB_eWiseAdd(R, NULL, NULL, GrB_MINUS_FP32, M, P, NULL));
    FM_GRB(GrB_eWiseMult(R, NULL, NULL, GrB_TIMES_FP32, R, R, NULL));
    FM_GRB(GrB_Matrix_reduce_FP64(sq, NULL, GrB_PLUS_MONOID_FP64, R, NULL));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
