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
// first min(rows, cols) rows into `R` (cols wide; NULL: not kept), Y's first
// min(rows, cols) columns become Q's.
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
    for (int i = 0; R && i < r; i++)
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
            const fm_span owned = fm_layout_owned_rows(layout, q);   // (in the processes' order)
            const int64_t rows = owned.end - owned.begin;
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
    status = local_qr(&S, NULL, msg);
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

// The products of the range finder on the grid (layout.h): X, Q's owned
// rows, Z whole. `Q_block` and `P_block` hold the block's rows, `part` a
// process's owned columns of Z, `spread` all of Z in the processes' order.
typedef struct {
    fm_comm *comm;
    const fm_layout *layout;
    const fm_edges *rows, *cols;
    fm_dense *Q_block, *P_block;
    float *part, *spread;
    int64_t *counts;       // 2 × P: each process's owned rows, then its owned columns
} range_work;

// Q's owned rows = their rows of X Z: each block's X_ij Z_j summed in the grid row.
static int multiply_q(fm_dense *Q, const fm_dense *Z, range_work *r, char *msg)
{
#define FREE_ALL ((void)0)
    const int pc = r->layout->grid_cols, w = (int)Z->cols, p = r->comm->rank;
    const fm_span bc = fm_layout_block_cols(r->layout, p);
    const fm_dense Zj = { bc.end - bc.begin, w, Z->data + bc.begin * w };
    fm_products_gather(r->P_block, r->rows, &Zj);
    // the grid row's processes (i, 0..pc−1): their owned rows
    int64_t rows[pc];
    for (int j = 0; j < pc; j++) rows[j] = r->counts[(p / pc) * pc + j];
    fm_comm *comm = r->comm;
    AGREE(fm_comm_sum_scatter(r->comm, FM_GROUP_ROW, r->P_block->data, Q->data, rows, w, msg));
    return FM_OK;
#undef FREE_ALL
}

// Z = XᵀQ = Σ X_ijᵀ Q_i, whole in every process with the same bits: Q_i
// gathered in the grid row, each block's columns summed in the grid column
// to their owners, then all of them gathered and put in the columns' order.
static int multiply_z(fm_dense *Z, const fm_dense *Q, range_work *r, char *msg)
{
#define FREE_ALL ((void)0)
    const int P = r->comm->size, pr = r->layout->grid_rows, pc = r->layout->grid_cols, w = (int)Q->cols;
    const int p = r->comm->rank;
    const fm_span br = fm_layout_block_rows(r->layout, p), owned = fm_layout_owned_rows(r->layout, p);
    int64_t rows[pc], cols[pr];
    for (int j = 0; j < pc; j++) rows[j] = r->counts[(p / pc) * pc + j];
    for (int i = 0; i < pr; i++) cols[i] = r->counts[P + i * pc + p % pc];
    memcpy(r->Q_block->data + (owned.begin - br.begin) * w, Q->data, sizeof(float) * (size_t)(Q->rows * w));
    fm_comm *comm = r->comm;   // (a group's counts may fail where another's do not: agreed before the next)
    AGREE(fm_comm_gather_all(r->comm, FM_GROUP_ROW, r->Q_block->data, rows, w, msg));
    const fm_span bc = fm_layout_block_cols(r->layout, p);
    fm_dense Zj = { bc.end - bc.begin, w, Z->data };   // (Z's storage as scratch for X_ijᵀ Q_i)
    fm_products_gather(&Zj, r->cols, r->Q_block);
    AGREE(fm_comm_sum_scatter(r->comm, FM_GROUP_COL, Zj.data, r->part, cols, w, msg));
    const int64_t mine = r->counts[P + p];
    int64_t before = 0;
    for (int q = 0; q < p; q++) before += r->counts[P + q];
    memcpy(r->spread + before * w, r->part, sizeof(float) * (size_t)(mine * w));
    FM_TRY(fm_comm_gather_all(r->comm, FM_GROUP_ALL, r->spread, r->counts + P, w, msg));
    int64_t at = 0;
    for (int q = 0; q < P; q++) {   // each process's columns to their place
        const fm_span c = fm_layout_owned_cols(r->layout, q);
        memcpy(Z->data + c.begin * w, r->spread + at * w, sizeof(float) * (size_t)((c.end - c.begin) * w));
        at += c.end - c.begin;
    }
    return FM_OK;
#undef FREE_ALL
}

int fm_distributed_nndsvd(fm_dense **W, fm_dense **Ht, fm_comm *comm, const fm_edges *rows, const fm_edges *cols,
                          const fm_layout *layout, int rank, fm_init_method method, int power, uint64_t seed,
                          double mean,
                          double entries, bool incomplete, char *msg)
{
    fm_dense *Q = NULL, *Z = NULL, *U = NULL, *V = NULL, *Wb = NULL, *Hb = NULL;
    range_work r = { .comm = comm, .layout = layout, .rows = rows, .cols = cols };
    double *C = NULL, *s = NULL, *Ub = NULL, *Vbt = NULL, *superb = NULL;
#define FREE_ALL do { fm_dense_free(&Q); fm_dense_free(&Z); fm_dense_free(&U); fm_dense_free(&V); \
                      fm_dense_free(&Wb); fm_dense_free(&Hb); fm_dense_free(&r.Q_block); fm_dense_free(&r.P_block); \
                      free(r.part); free(r.spread); free(r.counts); free(C); free(s); free(Ub); free(Vbt); \
                      free(superb); } while (0)
    const int P = comm->size, p = comm->rank;
    const int64_t m = layout->rows, n = layout->cols, smaller = m < n ? m : n;
    const fm_span br = fm_layout_block_rows(layout, p), bc = fm_layout_block_cols(layout, p);
    const fm_span owned = fm_layout_owned_rows(layout, p), owned_cols = fm_layout_owned_cols(layout, p);
    const int width = fm_rsvd_width(rank, smaller);
    int status = fm_dense_new(&Z, n, width, msg);
    if (status == FM_OK) status = fm_dense_new(&Q, owned.end - owned.begin, width, msg);
    if (status == FM_OK) status = fm_dense_new(&r.Q_block, br.end - br.begin, width, msg);
    if (status == FM_OK) status = fm_dense_new(&r.P_block, br.end - br.begin, width, msg);
    if (status == FM_OK && (!(r.part = malloc(sizeof(float) * (size_t)((owned_cols.end - owned_cols.begin) * width)))
                            || !(r.spread = malloc(sizeof(float) * (size_t)(n * width)))
                            || !(r.counts = malloc(sizeof(int64_t) * (size_t)(2 * P)))))
        status = fm_fail(FM_ERR_MEMORY, msg, "out of memory");
    AGREE(status);
    for (int q = 0; q < P; q++) {
        const fm_span ro = fm_layout_owned_rows(layout, q), co = fm_layout_owned_cols(layout, q);
        r.counts[q] = ro.end - ro.begin;
        r.counts[P + q] = co.end - co.begin;
    }
    // Ω as one process draws it, whole in every process
    const fm_rng rng = fm_rng_stream(seed, FM_STREAM_SVD);
    for (int64_t e = 0; e < n * width; e++) Z->data[e] = (float)fm_rng_normal(rng, (uint64_t)e);
    FM_TRY(multiply_q(Q, Z, &r, msg));
    FM_TRY(tsqr(Q, comm, layout, msg));
    for (int q = 0, count = fm_rsvd_power(power, rank, smaller); q < count; q++) {
        FM_TRY(multiply_z(Z, Q, &r, msg));
        AGREE(fm_init_orthonormalize(Z, msg));   // the same bits in every process
        FM_TRY(multiply_q(Q, Z, &r, msg));
        FM_TRY(tsqr(Q, comm, layout, msg));
    }
    FM_TRY(multiply_z(Z, Q, &r, msg));
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
    if (status == FM_OK) status = fm_dense_new(&U, owned.end - owned.begin, rank, msg);
    if (status == FM_OK) status = fm_dense_new(&V, n, rank, msg);
    if (status == FM_OK) status = fm_dense_new(&Wb, br.end - br.begin, rank, msg);
    if (status == FM_OK) status = fm_dense_new(&Hb, bc.end - bc.begin, rank, msg);
    if (status == FM_OK) status = fm_rsvd_factors(U, V, Q, Vbt, Ub, msg);   // U = Q V_b, this process's rows
    AGREE(status);
    // the incomplete kind's unbiased scale mn/|Ω| (init.h), then NNDSVD on U's norms over every process
    const double scale = incomplete && entries > 0 ? (double)m * (double)n / entries : 1.0;
    double sigma[FM_MAX_RANK], squares[2][2 * FM_MAX_RANK];
    for (int k = 0; k < rank; k++) sigma[k] = k < width ? s[k] * scale : 0;
    fm_nndsvd_squares(squares[0], U);
    fm_comm_sum(comm, squares[0], 2 * rank);
    fm_nndsvd_squares(squares[1], V);
    fm_nndsvd_apply(U, sigma, V, squares[0], squares[1]);
    if (method != FM_INIT_NNDSVD) {   // keyed by the entries' indices in the whole W and Hᵀ
        const fm_rng fill = fm_rng_stream(seed, FM_STREAM_FILL);
        const bool random = method == FM_INIT_NNDSVDAR;
        fm_init_fill_zeros(U, mean, random, fill, (uint64_t)(owned.begin * rank));
        fm_init_fill_zeros(V, mean, random, fill, (uint64_t)(m * rank));
    }
    // the block's rows of W (the grid row's owned rows gathered) and its columns of Hᵀ
    const int pc = layout->grid_cols;
    int64_t counts[pc];
    for (int j = 0; j < pc; j++) counts[j] = r.counts[(p / pc) * pc + j];
    memcpy(Wb->data + (owned.begin - br.begin) * rank, U->data, sizeof(float) * (size_t)(U->rows * rank));
    AGREE(fm_comm_gather_all(comm, FM_GROUP_ROW, Wb->data, counts, rank, msg));
    memcpy(Hb->data, V->data + bc.begin * rank, sizeof(float) * (size_t)(Hb->rows * rank));
    *W = Wb;
    *Ht = Hb;
    Wb = Hb = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
