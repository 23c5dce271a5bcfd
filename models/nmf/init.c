// Initializations (§3): random, nndsvd, nndsvda, nndsvdar.
#include "init.h"

#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "products.h"
#include "profile.h"
#include "rng.h"
#include "status.h"

#define FM_RSVD_OVERSAMPLE 10
// Power iterations, scikit-learn's rule ("auto"): 7 when the rank is below a
// tenth of the smaller side, else 4. On the 20000 x 20000 sparse benchmark
// (2M entries, rank 10) NNDSVD from 4 led ADMM to a local minimum 3e-6
// (relative) above scikit-learn's 30-iteration RMSE, never reached in 300
// iterations; from 7 ADMM passes it (perf/README.md). `--svd-power` sets
// another count (docs §3: fewer make a cheaper, rougher start).
int fm_rsvd_power(int power, int rank, int64_t smaller)
{
    return power >= 0 ? power : rank < 0.1 * (double)smaller ? 7 : 4;
}

bool fm_svd_power_valid(int power) { return power >= FM_SVD_POWER_AUTO && power <= FM_MAX_SVD_POWER; }

int fm_start_svd_power(fm_init_method method, int power, int rank, int64_t rows, int64_t cols)
{
    if (method == FM_INIT_RANDOM) return -1;
    if (method == FM_INIT_LEARNED && power == FM_SVD_POWER_AUTO) return FM_LEARNED_SVD_POWER;
    return fm_rsvd_power(power, rank, rows < cols ? rows : cols);
}

int fm_rsvd_width(int rank, int64_t smaller)
{
    return (int)(rank + FM_RSVD_OVERSAMPLE < smaller ? rank + FM_RSVD_OVERSAMPLE : smaller);
}

static const char *const init_names[] = { "random", "nndsvd", "nndsvda", "nndsvdar", "learned" };
#define INIT_METHODS (int)(sizeof init_names / sizeof init_names[0])

const char *fm_init_name(fm_init_method method)
{
    return (unsigned)method < INIT_METHODS ? init_names[method] : "unknown";
}

int fm_init_parse(fm_init_method *method, const char *name, char *msg)
{
    for (int m = 0; m < INIT_METHODS; m++)
        if (strcmp(name, init_names[m]) == 0) { *method = (fm_init_method)m; return FM_OK; }
    return fm_fail(FM_ERR_INVALID, msg,
                   "unknown init '%s': expected random, nndsvd, nndsvda, nndsvdar or learned", name);
}

int fm_init_orthonormalize(fm_dense *Y, char *msg)
{
    float *tau = NULL, *a = NULL, *work = NULL;
#define FREE_ALL { free(tau); free(a); free(work); }
    FM_PROFILE_START(profile_clock);
    const int rows = (int)Y->rows, cols = (int)Y->cols;
    FM_CHECK(Y->rows <= INT_MAX && Y->cols <= INT_MAX, FM_ERR_INVALID,
             "randomized SVD: %lld x %lld is beyond LAPACK's 32-bit sizes", (long long)Y->rows, (long long)Y->cols);
    for (int64_t e = 0; e < Y->rows * Y->cols; e++)
        FM_CHECK(isfinite(Y->data[e]), FM_ERR_NUMERIC, "randomized SVD: the sketch holds %g at row %lld, column %lld "
                 "(the data's values overflow float)", Y->data[e], (long long)(e / cols), (long long)(e % cols));
    // LAPACK's Householder QR and its Q run on a column-major copy of Y.
    // LAPACKE's row-major interface makes that copy around each of sgeqrf and
    // sorgqr, in and out, entry by entry (10 ms of plain's 7-power-iteration
    // start on yale64 at rank 40); here one copy in and one out, by tiles,
    // around both: the same column-major data to the same routines with a
    // workspace at least their optimum, so the same bits.
    FM_ALLOC(tau, cols);
    FM_ALLOC(a, (size_t)rows * (size_t)cols);
    fm_dense_transpose(a, Y);
    const int lda = rows > 1 ? rows : 1;
    float query[2] = {0, 0};
    FM_TRY(fm_lapack_status(LAPACKE_sgeqrf_work(LAPACK_COL_MAJOR, rows, cols, a, lda, tau, &query[0], -1),
                            "LAPACKE_sgeqrf_work", "randomized SVD: the QR factorization failed", msg));
    FM_TRY(fm_lapack_status(LAPACKE_sorgqr_work(LAPACK_COL_MAJOR, rows, cols, cols, a, lda, tau, &query[1], -1),
                            "LAPACKE_sorgqr_work", "randomized SVD: the QR factorization failed", msg));
    const int lwork = (int)fmaxf(1, fmaxf(query[0], query[1]));
    FM_ALLOC(work, lwork);
    FM_TRY(fm_lapack_status(LAPACKE_sgeqrf_work(LAPACK_COL_MAJOR, rows, cols, a, lda, tau, work, lwork),
                            "LAPACKE_sgeqrf_work", "randomized SVD: the QR factorization failed", msg));
    FM_TRY(fm_lapack_status(LAPACKE_sorgqr_work(LAPACK_COL_MAJOR, rows, cols, cols, a, lda, tau, work, lwork),
                            "LAPACKE_sorgqr_work", "randomized SVD: the QR factorization failed", msg));
    const fm_dense columns = {cols, rows, a};   // Q by columns: Qᵀ row-major
    fm_dense_transpose(Y->data, &columns);
    // flops: geqrf and orgqr, 2·m·n² − 2n³/3 each (m rows, n columns); bytes:
    // Y read and written (8·m·n)
    const double m = rows, n = cols;
    FM_PROFILE_STOP(profile_clock, "init.orthonormalize", 4 * m * n * n - 4 * n * n * n / 3, 8 * m * n);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// U's entries are summed this many at a time, in registers.
#define RSVD_LANES 8

int fm_rsvd_factors(fm_dense *U, fm_dense *V, const fm_dense *Q, const double *Vbt, const double *Ub, char *msg)
{
    double *vb = NULL;
#define FREE_ALL free(vb)
    const int rank = (int)U->cols, width = (int)Q->cols;
    // U = Q V_b with V_b's first rank columns copied by rows (w × rank), so
    // that RSVD_LANES entries of a row of U are summed side by side; each
    // still sums its w products in order c = 0..w−1, in double: the bits of
    // the dot products u_ir = Σ_c q_ic (V_bᵀ)_rc (tests/test_init.c holds that form)
    FM_ALLOC(vb, (size_t)width * (size_t)rank);
    for (int c = 0; c < width; c++)
        for (int r = 0; r < rank; r++) vb[c * rank + r] = Vbt[r * width + c];
    const float *q = Q->data;
    float *u = U->data;
#pragma omp parallel for schedule(static) if (U->rows * rank * width >= 1 << 18)
    for (int64_t i = 0; i < U->rows; i++)
        for (int r0 = 0; r0 < rank; r0 += RSVD_LANES) {
            const int lanes = rank - r0 < RSVD_LANES ? rank - r0 : RSVD_LANES;
            double sum[RSVD_LANES] = {0};
            for (int c = 0; c < width; c++) {
                const double qc = q[i * width + c], *row = vb + c * rank + r0;
                for (int l = 0; l < lanes; l++) sum[l] += qc * row[l];
            }
            for (int l = 0; l < lanes; l++) u[i * rank + r0 + l] = (float)sum[l];
        }
    for (int64_t j = 0; j < V->rows; j++)
        for (int r = 0; r < rank; r++) V->data[j * rank + r] = (float)Ub[j * width + r];
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_rsvd(fm_dense **U, double *sigma, fm_dense **V, const fm_graph *g,
            const fm_edges *row_edges, const fm_edges *col_edges, int rank, int power, uint64_t seed,
            char *msg)
{
    fm_dense *Q = NULL, *Z = NULL, *Uout = NULL, *Vout = NULL;
    double *C = NULL, *s = NULL, *Ub = NULL, *Vbt = NULL, *superb = NULL;
#define FREE_ALL { fm_dense_free(&Q); fm_dense_free(&Z); fm_dense_free(&Uout); fm_dense_free(&Vout); \
                   free(C); free(s); free(Ub); free(Vbt); free(superb); }
    const int64_t m = g->stats.rows, n = g->stats.cols;
    const int64_t smaller = m < n ? m : n;
    const int width = fm_rsvd_width(rank, smaller);

    // Range of X: Q = orth(X Ω), refined by power iterations Q = orth(X Xᵀ Q).
    FM_TRY(fm_dense_new(&Z, n, width, msg));
    FM_TRY(fm_dense_new(&Q, m, width, msg));
    {
        FM_PROFILE_START(profile_clock);
        fm_rng rng = fm_rng_stream(seed, FM_STREAM_SVD);
        for (int64_t e = 0; e < n * width; e++) Z->data[e] = (float)fm_rng_normal(rng, e);
        // flops: none counted (random numbers); bytes: Ω written (4·n·w)
        FM_PROFILE_STOP(profile_clock, "init.sketch", 0, 4.0 * n * width);
    }
    fm_products_gather(Q, row_edges, Z);
    FM_TRY(fm_init_orthonormalize(Q, msg));
    for (int q = 0, count = fm_rsvd_power(power, rank, smaller); q < count; q++) {
        fm_products_gather(Z, col_edges, Q);
        FM_TRY(fm_init_orthonormalize(Z, msg));
        fm_products_gather(Q, row_edges, Z);
        FM_TRY(fm_init_orthonormalize(Q, msg));
    }
    // Bᵀ = Xᵀ Q (n × width) = Ub S Vbᵀ, so X ≈ Q B = (Q Vb) S Ubᵀ.
    fm_products_gather(Z, col_edges, Q);
    FM_PROFILE_START(svd_clock);
    FM_ALLOC(C, n * width);
    for (int64_t e = 0; e < n * width; e++) C[e] = Z->data[e];
    FM_ALLOC(s, width);
    FM_ALLOC(Ub, n * width);
    FM_ALLOC(Vbt, (size_t)width * width);
    FM_ALLOC(superb, width);
    FM_CHECK(n <= INT_MAX, FM_ERR_INVALID, "randomized SVD: %lld columns are beyond LAPACK's 32-bit sizes",
             (long long)n);
    FM_TRY(fm_lapack_status(LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', (int)n, width, C, width, s, Ub, width, Vbt,
                                           width, superb),
                            "LAPACKE_dgesvd", "randomized SVD: the small SVD did not converge", msg));
    // flops: the R-SVD of an n×w matrix with thin U and V, 6·n·w² + 20·w³
    // (Golub & Van Loan, table 8.6.1), an estimate: LAPACK's count depends on
    // the path it takes; bytes: Bᵀ read (4·n·w), its double copy written and
    // read (8·n·w), U_b (8·n·w) and V_bᵀ (8·w²) written
    const double nw = (double)n * width, ww = (double)width * width;
    FM_PROFILE_STOP(svd_clock, "init.small_svd", 6 * nw * width + 20 * ww * width, 20 * nw + 8 * ww);
    FM_PROFILE_START(rotate_clock);
    const double scale = g->stats.kind == FM_KIND_INCOMPLETE && g->stats.entries > 0
                             ? (double)m * (double)n / (double)g->stats.entries
                             : 1.0;
    FM_TRY(fm_dense_new(&Uout, m, rank, msg));
    FM_TRY(fm_dense_new(&Vout, n, rank, msg));
    FM_TRY(fm_rsvd_factors(Uout, Vout, Q, Vbt, Ub, msg));
    for (int r = 0; r < rank; r++) sigma[r] = r < width ? s[r] * scale : 0;
    // flops 2·m·rank·w (U = Q V_b); bytes: Q (4·m·w), V_bᵀ (8·w²), U
    // (4·m·rank), the columns of U_b kept (8·n·rank) and V (4·n·rank)
    FM_PROFILE_STOP(rotate_clock, "init.rotate", 2.0 * m * rank * width,
                    4.0 * m * width + 8 * ww + 4.0 * m * rank + 12.0 * n * rank);
    *U = Uout;
    *V = Vout;
    Uout = Vout = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

void fm_nndsvd_squares(double *squares, const fm_dense *M)
{
    for (int r = 0; r < (int)M->cols; r++) {
        double p = 0, q = 0;
        for (int64_t i = 0; i < M->rows; i++) {
            const double v = M->data[i * M->cols + r];
            if (v > 0) p += v * v; else q += v * v;
        }
        squares[2 * r] = p;
        squares[2 * r + 1] = q;
    }
}

// Keep the positive (sign = 1) or negative (sign = -1) part of column r,
// scaled by factor / norm.
static void set_part(fm_dense *M, int r, int sign, double factor)
{
    for (int64_t i = 0; i < M->rows; i++) {
        float v = sign * M->data[i * M->cols + r];
        M->data[i * M->cols + r] = v > 0 ? (float)(v * factor) : 0.0f;
    }
}

void fm_nndsvd_apply(fm_dense *U, const double *sigma, fm_dense *V, const double *u_squares, const double *v_squares)
{
    for (int r = 0; r < (int)U->cols; r++) {
        const double up = sqrt(u_squares[2 * r]), un = sqrt(u_squares[2 * r + 1]);
        const double vp = sqrt(v_squares[2 * r]), vn = sqrt(v_squares[2 * r + 1]);
        if (r == 0) {   // the leading pair of a nonnegative matrix has one sign
            int sign = up * vp >= un * vn ? 1 : -1;
            set_part(U, r, sign, sqrt(sigma[0]));
            set_part(V, r, sign, sqrt(sigma[0]));
            continue;
        }
        double mp = up * vp, mn = un * vn;
        int sign = mp >= mn ? 1 : -1;
        double nu = sign > 0 ? up : un, nv = sign > 0 ? vp : vn, m = sign > 0 ? mp : mn;
        double lift = sqrt(sigma[r] * m);
        set_part(U, r, sign, nu > 0 ? lift / nu : 0);
        set_part(V, r, sign, nv > 0 ? lift / nv : 0);
    }
}

void fm_init_fill_zeros(fm_dense *M, double mean, bool random, fm_rng rng, uint64_t offset)
{
    const int64_t size = M->rows * M->cols;
    for (int64_t e = 0; e < size; e++)
        if (M->data[e] == 0)
            M->data[e] = random ? (float)(mean * fabs(fm_rng_normal(rng, offset + e)) / 100) : (float)mean;
}

void fm_init_random_fill(fm_dense *M, double mean, uint64_t seed, uint64_t offset)
{
    // E[w·h] = rank · (scale/2)² = mean with entries uniform in (0, scale)
    const double scale = 2 * sqrt(mean / (double)M->cols);
    const fm_rng rng = fm_rng_stream(seed, FM_STREAM_INIT);
    for (int64_t e = 0; e < M->rows * M->cols; e++) M->data[e] = (float)(scale * fm_rng_uniform(rng, offset + e));
}

int fm_init_factors(fm_dense **W, fm_dense **Ht, const fm_graph *g, const fm_edges *row_edges,
                    const fm_edges *col_edges, int rank, fm_init_method method, int power, uint64_t seed,
                    char *msg)
{
    fm_dense *U = NULL, *V = NULL;
    double *sigma = NULL;
#define FREE_ALL { fm_dense_free(&U); fm_dense_free(&V); free(sigma); }
    const int64_t m = g->stats.rows, n = g->stats.cols;
    const double mean = fm_graph_mean(g);
    FM_CHECK(fm_svd_power_valid(power), FM_ERR_INVALID,
             "the randomized SVD's power iterations: expected 0 to %d (or FM_SVD_POWER_AUTO), not %d",
             FM_MAX_SVD_POWER, power);
    FM_CHECK((unsigned)method <= FM_INIT_NNDSVDAR, FM_ERR_INVALID,
             "fm_init_factors: init '%s' is not computed here (the learned initialization is the solver's, "
             "models/nmf/learned.h)", fm_init_name(method));
    if (method == FM_INIT_RANDOM) {
        FM_TRY(fm_dense_new(&U, m, rank, msg));
        FM_TRY(fm_dense_new(&V, n, rank, msg));
        FM_PROFILE_START(profile_clock);
        fm_init_random_fill(U, mean, seed, 0);
        fm_init_random_fill(V, mean, seed, (uint64_t)(m * rank));
        // flops (m + n)·rank (the scaling); bytes: W and Hᵀ written (4·(m + n)·rank)
        FM_PROFILE_STOP(profile_clock, "init.random", (double)(m + n) * rank, 4.0 * (m + n) * rank);
    } else {
        FM_ALLOC(sigma, rank);
        FM_TRY(fm_rsvd(&U, sigma, &V, g, row_edges, col_edges, rank, power, seed, msg));
        FM_PROFILE_START(profile_clock);
        double squares[2][2 * FM_MAX_RANK];
        fm_nndsvd_squares(squares[0], U);
        fm_nndsvd_squares(squares[1], V);
        fm_nndsvd_apply(U, sigma, V, squares[0], squares[1]);
        if (method != FM_INIT_NNDSVD) {
            fm_rng rng = fm_rng_stream(seed, FM_STREAM_FILL);
            bool random = method == FM_INIT_NNDSVDAR;
            fm_init_fill_zeros(U, mean, random, rng, 0);
            fm_init_fill_zeros(V, mean, random, rng, (uint64_t)(m * rank));
        }
        // flops 4·(m + n)·rank: the two norms (2 per entry) and the scaling
        // (2); bytes: U and V read and written (8·(m + n)·rank)
        FM_PROFILE_STOP(profile_clock, "init.nndsvd", 4.0 * (m + n) * rank, 8.0 * (m + n) * rank);
    }
    *W = U;
    *Ht = V;
    U = V = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
