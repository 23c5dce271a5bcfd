// The NNDSVD starts over processes (docs §11.1): models/nmf/init.c's
// randomized SVD with the rows of X, Q and W spread over the processes, and
// Ω, Z = XᵀQ and Hᵀ held whole by each.
//
// The range finder's QR of the tall Q is TSQR in one level (Demmel, Grigori,
// Hoemmen & Langou 2012): each process's Householder QR, the stack of their
// R factors QR-factored alike in every process, each process's Q times its
// rows of that second Q. Its Q may differ from one process's Householder Q
// by the signs of its columns; the SVD's U = Q V_b does not (a column's sign
// flips in Q and in the row of V_b it meets), nor does NNDSVD (it takes a
// pair's positive or negative parts together).
#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "distributed.h"
#include "graph.h"
#include "init.h"
#include "products.h"
#include "rng.h"
#include "status.h"

#define AGREE(expr) FM_TRY(fm_comm_agree(comm, (expr), msg))

// A float block's Householder QR in place (rows × cols, row-major): R's
// first min(rows, cols) rows into `R` (cols wide), Y's first min(rows,
// cols) columns become Q's.
static int local_qr(fm_dense *Y, float *R, char *msg)
{
    float *tau = NULL;
#define FREE_ALL free(tau)
    const int rows = (int)Y->rows, cols = (int)Y->cols, r = rows < cols ? rows : cols;
    FM_CHECK(Y->rows <= INT_MAX, FM_ERR_INVALID, "TSQR: %lld rows are beyond LAPACK's 32-bit sizes",
             (long long)Y->rows);
    FM_ALLOC(tau, cols);
    FM_TRY(fm_lapack_status(LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, rows, cols, Y->data, cols, tau), "LAPACKE_sgeqrf",
                            "randomized SVD: the QR factorization failed", msg));
    for (int i = 0; i < r; i++)
        for (int j = 0; j < cols; j++) R[i * cols + j] = j >= i ? Y->data[i * cols + j] : 0.0f;
    FM_TRY(fm_lapack_status(LAPACKE_sorgqr(LAPACK_ROW_MAJOR, rows, r, r, Y->data, cols, tau), "LAPACKE_sorgqr",
                            "randomized SVD: the QR factorization failed", msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// Q's columns orthonormal over the processes' rows (TSQR, above).
static int tsqr(fm_dense *Q, fm_comm *comm, const fm_layout *layout, char *msg)
{
    float *stack = NULL, *out = NULL;
    int64_t *counts = NULL;
#define FREE_ALL do { free(stack); free(out); free(counts); } while (0)
    const int w = (int)Q->cols, P = comm->size;
    int status = (counts = calloc((size_t)P, sizeof *counts)) ? FM_OK : fm_fail(FM_ERR_MEMORY, msg, "out of memory");
    int64_t height = 0, before = 0;
    if (status == FM_OK)
        for (int q = 0; q < P; q++) {   // process q's R: min(its rows, w) rows
            const fm_span block = fm_layout_block_rows(layout, q);   // (a grid of one column: the rows alone)
            const int64_t rows = block.end - block.begin;
            counts[q] = rows < w ? rows : w;
            if (q < comm->rank) before += counts[q];
            height += counts[q];
        }
    if (status == FM_OK && !(stack = calloc((size_t)(height * w), sizeof *stack)))
        status = fm_fail(FM_ERR_MEMORY, msg, "out of memory");
    if (status == FM_OK) status = local_qr(Q, stack + before * w, msg);
    AGREE(status);
    AGREE(fm_comm_gather_all(comm, FM_GROUP_ALL, stack, counts, w, msg));
    // the stack's QR, the same bits in every process
    fm_dense S = { height, w, stack };
    float *unused = NULL;
    status = (unused = malloc(sizeof(float) * (size_t)(w * w))) ? local_qr(&S, unused, msg)
                                                                  : fm_fail(FM_ERR_MEMORY, msg, "out of memory");
    free(unused);
    if (status == FM_OK && !(out = malloc(sizeof(float) * (size_t)(Q->rows * w))))
        status = fm_fail(FM_ERR_MEMORY, msg, "out of memory");
    AGREE(status);
    const int r = (int)counts[comm->rank];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Q->rows, w, r, 1.0f, Q->data, w,
                stack + before * w, w, 0.0f, out, w);
    memcpy(Q->data, out, sizeof(float) * (size_t)(Q->rows * w));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// Z = XᵀQ = Σ_p X_pᵀQ_p, whole in every process with the same bits: each
// column block summed at its process (reduce-scatter) and gathered back.
static int sum_columns(fm_dense *Z, float *part, fm_comm *comm, const fm_edges *cols, const fm_dense *Q,
                       const fm_layout *layout, char *msg)
{
    int64_t *counts = NULL;
#define FREE_ALL free(counts)
    const int P = comm->size, w = (int)Q->cols;
    FM_ALLOC(counts, 2 * P);
    for (int q = 0; q < P; q++) {
        const fm_span cols = fm_layout_owned_cols(layout, q);
        counts[q] = cols.end - cols.begin;
        counts[P + q] = counts[q] * w;
    }
    fm_products_gather(Z, cols, Q);
    FM_TRY(fm_comm_sum_scatter(comm, FM_GROUP_ALL, Z->data, part, counts + P, msg));
    memcpy(Z->data + fm_layout_owned_cols(layout, comm->rank).begin * w, part,
           sizeof(float) * (size_t)counts[P + comm->rank]);
    FM_TRY(fm_comm_gather_all(comm, FM_GROUP_ALL, Z->data, counts, w, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_distributed_nndsvd(fm_dense **W, fm_dense **Ht, fm_comm *comm, const fm_edges *rows, const fm_edges *cols,
                          const fm_layout *layout, int rank, fm_init_method method, uint64_t seed, double mean,
                          double entries, bool incomplete, char *msg)
{
    fm_dense *Q = NULL, *Z = NULL, *U = NULL, *V = NULL;
    float *part = NULL;
    double *C = NULL, *s = NULL, *Ub = NULL, *Vbt = NULL, *superb = NULL;
#define FREE_ALL do { fm_dense_free(&Q); fm_dense_free(&Z); fm_dense_free(&U); fm_dense_free(&V); free(part); \
                      free(C); free(s); free(Ub); free(Vbt); free(superb); } while (0)
    const int64_t m = layout->rows, n = layout->cols, smaller = m < n ? m : n;
    const fm_span block = fm_layout_block_rows(layout, comm->rank), owned = fm_layout_owned_cols(layout, comm->rank);
    const int64_t mine = block.end - block.begin, first = block.begin;
    const int width = fm_rsvd_width(rank, smaller);
    int status = fm_dense_new(&Z, n, width, msg);
    if (status == FM_OK) status = fm_dense_new(&Q, mine, width, msg);
    if (status == FM_OK && !(part = malloc(sizeof(float) * (size_t)((owned.end - owned.begin) * width + 1))))
        status = fm_fail(FM_ERR_MEMORY, msg, "out of memory");
    AGREE(status);
    // Ω as one process draws it, whole in every process
    const fm_rng rng = fm_rng_stream(seed, FM_STREAM_SVD);
    for (int64_t e = 0; e < n * width; e++) Z->data[e] = (float)fm_rng_normal(rng, (uint64_t)e);
    fm_products_gather(Q, rows, Z);
    FM_TRY(tsqr(Q, comm, layout, msg));
    for (int q = 0, power = fm_rsvd_power(rank, smaller); q < power; q++) {
        FM_TRY(sum_columns(Z, part, comm, cols, Q, layout, msg));
        AGREE(fm_init_orthonormalize(Z, msg));   // the same bits in every process
        fm_products_gather(Q, rows, Z);
        FM_TRY(tsqr(Q, comm, layout, msg));
    }
    FM_TRY(sum_columns(Z, part, comm, cols, Q, layout, msg));
    // Bᵀ = XᵀQ = U_b S V_bᵀ in every process alike, so X ≈ (Q V_b) S U_bᵀ
    status = n <= INT_MAX ? FM_OK : fm_fail(FM_ERR_INVALID, msg, "randomized SVD: %lld columns are beyond LAPACK's "
                                             "32-bit sizes", (long long)n);
    if (status == FM_OK) {
        C = malloc(sizeof(double) * (size_t)(n * width));
        s = malloc(sizeof(double) * (size_t)width);
        Ub = malloc(sizeof(double) * (size_t)(n * width));
        Vbt = malloc(sizeof(double) * (size_t)(width * width));
        superb = malloc(sizeof(double) * (size_t)width);
        if (!C || !s || !Ub || !Vbt || !superb) status = fm_fail(FM_ERR_MEMORY, msg, "out of memory");
    }
    if (status == FM_OK) {
        for (int64_t e = 0; e < n * width; e++) C[e] = Z->data[e];
        status = fm_lapack_status(LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', (int)n, width, C, width, s, Ub, width,
                                                 Vbt, width, superb),
                                  "LAPACKE_dgesvd", "randomized SVD: the small SVD did not converge", msg);
    }
    if (status == FM_OK) status = fm_dense_new(&U, mine, rank, msg);
    if (status == FM_OK) status = fm_dense_new(&V, n, rank, msg);
    AGREE(status);
    fm_rsvd_factors(U, V, Q, Vbt, Ub);   // U = Q V_b, this process's rows
    // the incomplete kind's unbiased scale mn/|Ω| (init.h), then NNDSVD on U's norms over every process
    const double scale = incomplete && entries > 0 ? (double)m * (double)n / entries : 1.0;
    double sigma[FM_MAX_RANK], squares[2][2 * FM_MAX_RANK];
    for (int r = 0; r < rank; r++) sigma[r] = r < width ? s[r] * scale : 0;
    fm_nndsvd_squares(squares[0], U);
    fm_comm_sum(comm, squares[0], 2 * rank);
    fm_nndsvd_squares(squares[1], V);
    fm_nndsvd_apply(U, sigma, V, squares[0], squares[1]);
    if (method != FM_INIT_NNDSVD) {   // keyed by the entries' indices in the whole W and Hᵀ
        const fm_rng fill = fm_rng_stream(seed, FM_STREAM_FILL);
        const bool random = method == FM_INIT_NNDSVDAR;
        fm_init_fill_zeros(U, mean, random, fill, (uint64_t)(first * rank));
        fm_init_fill_zeros(V, mean, random, fill, (uint64_t)(m * rank));
    }
    *W = U;
    *Ht = V;
    U = V = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
