// NNDSVD and its variants (models/nmf/init.c) against an SVD written down by
// hand: X = U diag(σ) Vᵀ with known orthonormal columns, so the singular
// triplets, the signs the rule must choose and the scalings are known
// exactly; the randomized SVD only has to recover them to float precision.
// Its power iterations against LAPACK's SVD of a whole matrix.
#include <criterion/criterion.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "init.h"

TestSuite(init, .init = fm_test_setup);

#define M 5
#define N 4
#define K 3

// u1 = 1/√5; u2 = (−3, −2, −1, 3, 3)/√32, whose positive part is the larger
// (‖u₊‖² = 18/32 against 14/32); u3 = (−3, 2, 2, −3, 2)/√30, whose negative
// part is (18/30 against 12/30). v1 = 1/2, v2 = (−1, −1, 1, 1)/2 and
// v3 = (−1, 1, −1, 1)/2 have parts of equal norm, so the product of the
// norms picks the positive pair for σ2 and the negative pair for σ3. No entry
// is zero, so the parts do not hang on rounding.
static const double u[K][M] = { { 1, 1, 1, 1, 1 }, { -3, -2, -1, 3, 3 }, { -3, 2, 2, -3, 2 } };
static const double u_norm[K] = { 2.2360679774997898 /* √5 */, 5.6568542494923802 /* √32 */,
                                  5.4772255750516612 /* √30 */ };
static const double v[K][N] = { { 1, 1, 1, 1 }, { -1, -1, 1, 1 }, { -1, 1, -1, 1 } };
static const double sigma[K] = { 12, 3, 2 };
static const int kept_sign[K] = { 1, 1, -1 };   // the pair NNDSVD keeps

// X = Σ σ_r u_r v_rᵀ, every entry positive (at least 12/√20 − 0.8 − 0.55).
static void hand_matrix(float *X)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double x = 0;
            for (int r = 0; r < K; r++) x += sigma[r] * u[r][i] / u_norm[r] * v[r][j] / 2;
            X[i * N + j] = (float)x;
        }
}

// The NNDSVD factors of the pair r (Boutsidis & Gallopoulos 2008): the kept
// parts u_s, v_s of u_r, v_r (s the sign above), each scaled to norm
// √(σ_r ‖u_s‖ ‖v_s‖), so that their product is σ_r ‖u_s‖‖v_s‖ times the
// unit parts; the leading pair is √σ1 u1, √σ1 v1.
static void expected_nndsvd(double W[M][K], double Ht[N][K], int rank)
{
    for (int r = 0; r < rank; r++) {
        const int s = kept_sign[r];
        double uu = 0, vv = 0;
        for (int i = 0; i < M; i++) uu += s * u[r][i] > 0 ? u[r][i] * u[r][i] : 0;
        for (int j = 0; j < N; j++) vv += s * v[r][j] > 0 ? v[r][j] * v[r][j] : 0;
        const double u_part = sqrt(uu) / u_norm[r], v_part = sqrt(vv) / 2;   // norms of the parts of unit vectors
        const double lift = sqrt(sigma[r] * u_part * v_part);
        for (int i = 0; i < M; i++) W[i][r] = s * u[r][i] > 0 ? lift / u_part * fabs(u[r][i]) / u_norm[r] : 0;
        for (int j = 0; j < N; j++) Ht[j][r] = s * v[r][j] > 0 ? lift / v_part * fabs(v[r][j]) / 2 : 0;
    }
}

static void factors_of(fm_dense **W, fm_dense **Ht, fm_kind kind, int rank, fm_init_method method)
{
    float X[M * N];
    hand_matrix(X);
    fm_graph *g = fm_test_graph_dense(X, M, N, kind);
    char msg[FM_MSG_LEN];
    fm_edges rows, cols;
    cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&cols, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_init_factors(W, Ht, g, &rows, &cols, rank, method, FM_SVD_POWER_AUTO, 5, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_return(&rows, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_return(&cols, msg), FM_OK, "%s", msg);
    fm_graph_free(&g);
}

// The singular vectors come out of a float QR and a double SVD: within about
// 1e-6 of the hand values (σ gaps of 1 and more); 1e-4 leaves room for any
// machine's rounding, while a wrong sign or scale moves entries by 0.1 and
// more.
#define CLOSE 1e-4

static const fm_kind kinds[3] = { FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE };

Test(init, nndsvd_keeps_the_pair_of_larger_norm_product_scaled_by_sigma)
{
    for (int kk = 0; kk < 3; kk++)
        for (int rank = 2; rank <= K; rank++) {
            double W[M][K], Ht[N][K];
            expected_nndsvd(W, Ht, rank);
            fm_dense *w = NULL, *ht = NULL;
            factors_of(&w, &ht, kinds[kk], rank, FM_INIT_NNDSVD);
            for (int r = 0; r < rank; r++) {
                for (int i = 0; i < M; i++)
                    cr_assert(fabs(w->data[i * rank + r] - W[i][r]) <= CLOSE,
                              "%s, rank %d: W[%d][%d] = %.7g, expected %.7g", fm_kind_name(kinds[kk]), rank, i, r,
                              w->data[i * rank + r], W[i][r]);
                for (int j = 0; j < N; j++)
                    cr_assert(fabs(ht->data[j * rank + r] - Ht[j][r]) <= CLOSE,
                              "%s, rank %d: Hᵀ[%d][%d] = %.7g, expected %.7g", fm_kind_name(kinds[kk]), rank, j, r,
                              ht->data[j * rank + r], Ht[j][r]);
            }
            fm_dense_free(&w);
            fm_dense_free(&ht);
        }
}

// The fixture itself: the hand values are what the rule says. Pair 2 keeps
// u₊ = (0, 0, 0, 3, 3)/√32 scaled to √(3·‖u₊‖‖v₊‖) = √(3·0.75·0.7071...),
// so W[3][1] = 1.2613.../√2 = 0.89188...; pair 3 keeps the negative parts,
// W[0][2] = W[3][2] = √(2·‖u₋‖‖v₋‖)/√2 with ‖u₋‖ = √(18/30).
Test(init, the_hand_values)
{
    double W[M][K], Ht[N][K];
    expected_nndsvd(W, Ht, K);
    cr_assert(fabs(W[0][0] - sqrt(12.0 / 5)) < 1e-12);
    cr_assert(fabs(Ht[0][0] - sqrt(12.0) / 2) < 1e-12);
    const double lift2 = sqrt(3 * sqrt(18.0 / 32) * sqrt(0.5));
    cr_assert(fabs(W[3][1] - lift2 / sqrt(2)) < 1e-12 && W[0][1] == 0 && W[2][1] == 0);
    cr_assert(fabs(Ht[2][1] - lift2 / sqrt(2)) < 1e-12 && Ht[0][1] == 0);
    const double lift3 = sqrt(2 * sqrt(18.0 / 30) * sqrt(0.5));
    cr_assert(fabs(W[0][2] - lift3 / sqrt(2)) < 1e-12 && fabs(W[3][2] - lift3 / sqrt(2)) < 1e-12);
    cr_assert(W[1][2] == 0 && W[2][2] == 0 && W[4][2] == 0);
    cr_assert(fabs(Ht[0][2] - lift3 / sqrt(2)) < 1e-12 && Ht[1][2] == 0);
    // the product of a pair's factors is σ_r times the product of its parts' norms, times the unit parts
    cr_assert(fabs(W[3][1] * Ht[2][1] - 3 * sqrt(18.0 / 32) * sqrt(0.5) * (3 / sqrt(18.0)) * (1 / sqrt(2.0))) < 1e-12);
}

// nndsvda: NNDSVD's zeros become the mean of X; nndsvdar: small random
// values, mean·|z|/100; NNDSVD's other entries stay.
Test(init, nndsvda_and_nndsvdar_fill_the_zeros)
{
    float X[M * N];
    hand_matrix(X);
    double mean = 0;
    for (int e = 0; e < M * N; e++) mean += X[e];
    mean /= M * N;   // σ1 (Σ u1)(Σ v1) / 20 = 12·√5·2/20 = 6/√5: the other vectors sum to zero
    cr_assert(fabs(mean - 12 / (2 * sqrt(5.0))) < 1e-5);
    double W[M][K], Ht[N][K];
    expected_nndsvd(W, Ht, K);
    for (int kk = 0; kk < 3; kk++)
        for (int ar = 0; ar < 2; ar++) {
            fm_dense *w = NULL, *ht = NULL;
            factors_of(&w, &ht, kinds[kk], K, ar ? FM_INIT_NNDSVDAR : FM_INIT_NNDSVDA);
            for (int side = 0; side < 2; side++) {
                const int rows = side ? N : M;
                const float *got = side ? ht->data : w->data;
                for (int i = 0; i < rows; i++)
                    for (int r = 0; r < K; r++) {
                        const double want = side ? Ht[i][r] : W[i][r], x = got[i * K + r];
                        if (want > 0)
                            cr_assert(fabs(x - want) <= CLOSE, "%s %s: [%d][%d] = %.7g, expected NNDSVD's %.7g",
                                      ar ? "nndsvdar" : "nndsvda", side ? "Hᵀ" : "W", i, r, x, want);
                        else if (!ar)
                            cr_assert(fabs(x - mean) <= CLOSE * mean, "nndsvda %s: [%d][%d] = %.7g, expected the mean %.7g",
                                      side ? "Hᵀ" : "W", i, r, x, mean);
                        else
                            cr_assert(x > 0 && x <= mean / 10, "nndsvdar %s: [%d][%d] = %.7g, expected in (0, %.7g]",
                                      side ? "Hᵀ" : "W", i, r, x, mean / 10);
                    }
            }
            fm_dense_free(&w);
            fm_dense_free(&ht);
        }
}

//------------------------------------------------------------------------------
// Power iterations (§3 "Initializations", `--svd-power`)
//------------------------------------------------------------------------------

#define PM 60
#define PN 50
#define PK 5

// A uniform random matrix: one large singular value (its mean) and a flat
// bulk, the slow decay under which the power iterations matter.
static fm_graph *bulk_matrix(float *X)
{
    float *u = fm_test_uniform(PM * PN, 77);
    memcpy(X, u, sizeof(float) * PM * PN);
    free(u);
    return fm_test_graph_dense(X, PM, PN, FM_KIND_DENSE);
}

static void sketch_sigma(double *sigma, fm_graph *g, int power)
{
    char msg[FM_MSG_LEN];
    fm_edges rows, cols;
    fm_dense *U = NULL, *V = NULL;
    cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&cols, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_rsvd(&U, sigma, &V, g, &rows, &cols, PK, power, 5, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_return(&rows, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_return(&cols, msg), FM_OK, "%s", msg);
    fm_dense_free(&U);
    fm_dense_free(&V);
}

// Against LAPACK's SVD of the whole matrix (the slow reference): the
// sketch's values never exceed the true ones (they are the singular values
// of QᵀX, Q orthonormal: interlacing), each power iteration brings them
// closer, and 7 iterations are within 1% (the bulk's gap ratio, about 0.8
// here, to the 15th power).
Test(init, power_iterations_bring_the_sketch_to_the_singular_values)
{
    float X[PM * PN];
    fm_graph *g = bulk_matrix(X);
    double A[PM * PN], exact[PN], superb[PN], U[1], Vt[1];
    for (int e = 0; e < PM * PN; e++) A[e] = X[e];
    cr_assert_eq(LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', PM, PN, A, PN, exact, U, 1, Vt, 1, superb), 0);
    const int powers[] = { 0, 1, 2, 7 };
    double previous = 0;
    for (int p = 0; p < 4; p++) {
        double sigma[PK], sum = 0, exact_sum = 0;
        sketch_sigma(sigma, g, powers[p]);
        for (int r = 0; r < PK; r++) {
            cr_expect(sigma[r] <= exact[r] * (1 + 1e-5), "power %d: sigma %d = %.7g above the true %.7g", powers[p],
                      r, sigma[r], exact[r]);
            sum += sigma[r];
            exact_sum += exact[r];
        }
        cr_expect(sum >= previous * (1 - 1e-6), "power %d: the leading values' sum %.7g fell from %.7g", powers[p],
                  sum, previous);
        if (powers[p] == 7)
            for (int r = 0; r < PK; r++)
                cr_expect(sigma[r] >= 0.99 * exact[r], "power 7: sigma %d = %.7g, the true %.7g", r, sigma[r],
                          exact[r]);
        if (powers[p] == 0)   // without power iterations the bulk's values are visibly short
            cr_expect(exact_sum - sum > 1e-3 * exact_sum, "power 0: %.7g of %.7g", sum, exact_sum);
        previous = sum;
    }
    fm_graph_free(&g);
}

// The count a start takes: none for the random one, the one asked for, else
// the rule for the nndsvd starts and FM_LEARNED_SVD_POWER for the learned
// one; the rule's count given explicitly is the automatic start bit for bit,
// and another count another start; a count out of range is refused.
Test(init, a_start_takes_the_power_it_is_given)
{
    cr_expect_eq(fm_start_svd_power(FM_INIT_RANDOM, 3, PK, PM, PN), -1);
    cr_expect_eq(fm_start_svd_power(FM_INIT_NNDSVD, 3, PK, PM, PN), 3);
    cr_expect_eq(fm_start_svd_power(FM_INIT_LEARNED, 0, PK, PM, PN), 0);
    cr_expect_eq(fm_start_svd_power(FM_INIT_LEARNED, FM_SVD_POWER_AUTO, PK, PM, PN), FM_LEARNED_SVD_POWER);
    cr_expect_eq(fm_start_svd_power(FM_INIT_NNDSVDA, FM_SVD_POWER_AUTO, 4, 50, 40), 4);   // rank ≥ a tenth of 40
    cr_expect_eq(fm_start_svd_power(FM_INIT_NNDSVD, FM_SVD_POWER_AUTO, 3, 50, 40), 7);
    float X[PM * PN];
    fm_graph *g = bulk_matrix(X);
    char msg[FM_MSG_LEN];
    fm_edges rows, cols;
    cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&cols, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    fm_dense *W[3] = { 0 }, *Ht[3] = { 0 };
    const int powers[3] = { FM_SVD_POWER_AUTO, fm_rsvd_power(FM_SVD_POWER_AUTO, PK, PN), 0 };
    for (int p = 0; p < 3; p++)
        cr_assert_eq(fm_init_factors(&W[p], &Ht[p], g, &rows, &cols, PK, FM_INIT_NNDSVD, powers[p], 5, msg), FM_OK,
                     "%s", msg);
    cr_expect_eq(memcmp(W[0]->data, W[1]->data, sizeof(float) * PM * PK), 0);
    cr_expect_eq(memcmp(Ht[0]->data, Ht[1]->data, sizeof(float) * PN * PK), 0);
    cr_expect_neq(memcmp(W[0]->data, W[2]->data, sizeof(float) * PM * PK), 0);
    // a count out of range is an error that says so, and leaves no factors
    const int bad[2] = { FM_SVD_POWER_AUTO - 1, FM_MAX_SVD_POWER + 1 };
    for (int b = 0; b < 2; b++) {
        fm_dense *w = NULL, *ht = NULL;
        cr_expect_eq(fm_init_factors(&w, &ht, g, &rows, &cols, PK, FM_INIT_NNDSVD, bad[b], 5, msg), FM_ERR_INVALID);
        cr_expect(strstr(msg, "power iterations"), "%s", msg);
        cr_expect(!w && !ht);
    }
    for (int p = 0; p < 3; p++) {
        fm_dense_free(&W[p]);
        fm_dense_free(&Ht[p]);
    }
    cr_assert_eq(fm_edges_return(&rows, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_return(&cols, msg), FM_OK, "%s", msg);
    fm_graph_free(&g);
}

// U = Q V_b (fm_rsvd_factors, the rows summed side by side and in parallel)
// against the dot products written out, on random Q and V_bᵀ: the same bits
// (each entry sums its w products in the same order), at ranks below,
// at and past a multiple of its lanes, with rows on one thread and on many;
// V is U_b's first rank columns.
Test(init, rsvd_factors_are_the_dot_products_to_the_bit)
{
    const int ranks[5] = { 1, 5, 8, 13, 40 };
    const int64_t row_counts[2] = { 7, 3000 };
    char msg[FM_MSG_LEN] = "";
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 2; b++) {
            const int rank = ranks[a], width = rank + 10;
            const int64_t rows = row_counts[b], cols = 11;
            fm_dense *Q = NULL, *U = NULL, *V = NULL;
            cr_assert_eq(fm_dense_new(&Q, rows, width, msg), FM_OK, "%s", msg);
            cr_assert_eq(fm_dense_new(&U, rows, rank, msg), FM_OK, "%s", msg);
            cr_assert_eq(fm_dense_new(&V, cols, rank, msg), FM_OK, "%s", msg);
            double *Vbt = malloc(sizeof(double) * (size_t)(width * width));
            double *Ub = malloc(sizeof(double) * (size_t)(cols * width));
            cr_assert(Vbt && Ub);
            srand(17 + a * 2 + b);
            for (int64_t e = 0; e < rows * width; e++) Q->data[e] = (float)rand() / RAND_MAX - 0.5f;
            for (int e = 0; e < width * width; e++) Vbt[e] = (double)rand() / RAND_MAX - 0.5;
            for (int64_t e = 0; e < cols * width; e++) Ub[e] = (double)rand() / RAND_MAX - 0.5;
            cr_assert_eq(fm_rsvd_factors(U, V, Q, Vbt, Ub, msg), FM_OK, "%s", msg);
            int64_t differ = 0;
            for (int64_t i = 0; i < rows; i++)
                for (int r = 0; r < rank; r++) {
                    double dot = 0;
                    for (int c = 0; c < width; c++) dot += (double)Q->data[i * width + c] * Vbt[r * width + c];
                    differ += U->data[i * rank + r] != (float)dot;
                }
            cr_expect_eq(differ, 0, "rank %d, %lld rows: %lld entries of U differ", rank, (long long)rows,
                         (long long)differ);
            for (int64_t j = 0; j < cols; j++)
                for (int r = 0; r < rank; r++)
                    cr_expect_eq(V->data[j * rank + r], (float)Ub[j * width + r], "V[%lld][%d]", (long long)j, r);
            fm_dense_free(&Q);
            fm_dense_free(&U);
            fm_dense_free(&V);
            free(Vbt);
            free(Ub);
        }
}

// fm_init_orthonormalize (one column-major copy around LAPACK's sgeqrf and
// sorgqr) against LAPACKE's row-major interface on the same matrix: the same
// bits, on tall, square and one-column shapes; a sketch that is not finite is
// refused by name, Y untouched.
Test(init, orthonormalize_is_lapackes_row_major_qr_to_the_bit)
{
    const int shapes[5][2] = { { 1, 1 }, { 7, 3 }, { 50, 50 }, { 300, 50 }, { 4096, 20 } };
    char msg[FM_MSG_LEN] = "";
    for (int s = 0; s < 5; s++) {
        const int rows = shapes[s][0], cols = shapes[s][1];
        fm_dense *Y = NULL;
        cr_assert_eq(fm_dense_new(&Y, rows, cols, msg), FM_OK, "%s", msg);
        float *reference = malloc(sizeof(float) * (size_t)(rows * cols)), *tau = malloc(sizeof(float) * cols);
        cr_assert(reference && tau);
        srand(29 + s);
        for (int64_t e = 0; e < (int64_t)rows * cols; e++) Y->data[e] = reference[e] = (float)rand() / RAND_MAX - 0.5f;
        cr_assert_eq(LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, rows, cols, reference, cols, tau), 0);
        cr_assert_eq(LAPACKE_sorgqr(LAPACK_ROW_MAJOR, rows, cols, cols, reference, cols, tau), 0);
        cr_assert_eq(fm_init_orthonormalize(Y, msg), FM_OK, "%s", msg);
        cr_expect_eq(memcmp(Y->data, reference, sizeof(float) * (size_t)(rows * cols)), 0, "%d x %d: Q differs",
                     rows, cols);
        free(reference);
        free(tau);
        fm_dense_free(&Y);
    }
    fm_dense *Y = NULL;
    cr_assert_eq(fm_dense_new(&Y, 4, 2, msg), FM_OK, "%s", msg);
    for (int e = 0; e < 8; e++) Y->data[e] = (float)e;
    Y->data[5] = INFINITY;
    cr_expect_eq(fm_init_orthonormalize(Y, msg), FM_ERR_NUMERIC);
    cr_expect(strstr(msg, "row 2, column 1"), "%s", msg);
    cr_expect_eq(Y->data[4], 4.0f);
    fm_dense_free(&Y);
}
