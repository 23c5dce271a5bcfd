// The data of P7 (models/precond/spd_data): M's sample of positions, the
// sparse M Mᵀ against its dense reference, the random SPD matrix (Cholesky
// succeeds, diagonal ≥ α, the expected entries a row), the diffusion matrix
// (5 entries an interior row, diagonal dominance, SPD, its κ contrast within
// the bound, the plain Laplacian for κ = 1), the same bits for 1 and 2
// threads, and the seeds of the sets disjoint.
#include <criterion/criterion.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "spd_data.h"

TestSuite(spd_data, .init = fm_test_setup);

static fm_system_matrix *random_spd(int64_t n, double density, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    fm_spd_options o;
    fm_spd_defaults(&o);
    o.density = density;
    fm_system_matrix *A = NULL;
    cr_assert_eq(fm_spd_random(&A, n, seed, &o, msg), FM_OK, "%s", msg);
    return A;
}

static fm_system_matrix *diffusion(int64_t g, uint64_t seed, double contrast)
{
    char msg[FM_MSG_LEN];
    fm_spd_options o;
    fm_spd_defaults(&o);
    o.contrast = contrast;
    fm_system_matrix *A = NULL;
    cr_assert_eq(fm_spd_diffusion(&A, g, seed, &o, msg), FM_OK, "%s", msg);
    return A;
}

// The full symmetric matrix, dense row-major, from the lower triangle (which
// must hold only i ≥ j, each position once).
static double *mirrored(const fm_system_matrix *A)
{
    const int64_t n = A->n;
    cr_assert(A->symmetric);
    double *d = calloc((size_t)(n * n), sizeof *d);
    bool *seen = calloc((size_t)(n * n), sizeof *seen);
    for (int64_t k = 0; k < A->count; k++) {
        const int64_t i = A->row[k], j = A->col[k];
        cr_assert(i >= j && j >= 0 && i < n, "entry %lld at (%lld, %lld) is not in the lower triangle",
                  (long long)k, (long long)i, (long long)j);
        cr_assert(!seen[i * n + j], "(%lld, %lld) is stored twice", (long long)i, (long long)j);
        seen[i * n + j] = true;
        d[i * n + j] = d[j * n + i] = A->val[k];
    }
    free(seen);
    return d;
}

// Cholesky of a dense SPD matrix succeeds.
static void expect_positive_definite(const double *d, int64_t n)
{
    double *copy = fm_test_copy(d, n * n);
    const int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, copy, (lapack_int)n);
    cr_assert_eq(info, 0, "Cholesky failed (info %d): not positive definite", info);
    free(copy);
}

static bool same_matrix(const fm_system_matrix *a, const fm_system_matrix *b)
{
    return a->n == b->n && a->count == b->count && a->symmetric == b->symmetric &&
           memcmp(a->row, b->row, (size_t)a->count * sizeof *a->row) == 0 &&
           memcmp(a->col, b->col, (size_t)a->count * sizeof *a->col) == 0 &&
           memcmp(a->val, b->val, (size_t)a->count * sizeof *a->val) == 0;
}

//------------------------------------------------------------------------------
// Random SPD
//------------------------------------------------------------------------------

Test(spd_data, factor_is_a_sample_without_replacement)
{
    char msg[FM_MSG_LEN];
    const int64_t n = 100, entries = 5000;
    fm_system_matrix *M = NULL;
    cr_assert_eq(fm_spd_random_factor(&M, n, entries, 7, msg), FM_OK, "%s", msg);
    cr_assert_eq(M->count, entries);
    cr_assert(!M->symmetric);
    double sum = 0, squares = 0;
    int64_t per_row_min = entries, per_row_max = 0, in_row = 0;
    for (int64_t k = 0; k < entries; k++) {
        cr_assert(M->row[k] >= 0 && M->row[k] < n && M->col[k] >= 0 && M->col[k] < n);
        if (k > 0) cr_assert(M->row[k - 1] * n + M->col[k - 1] < M->row[k] * n + M->col[k],
                             "positions ascending and distinct at %lld", (long long)k);
        sum += M->val[k];
        squares += M->val[k] * M->val[k];
        in_row++;
        if (k + 1 == entries || M->row[k + 1] != M->row[k]) {
            per_row_min = in_row < per_row_min ? in_row : per_row_min;
            per_row_max = in_row > per_row_max ? in_row : per_row_max;
            in_row = 0;
        }
    }
    // N(0, 1): the mean within 5 standard errors, the variance within 10%
    cr_assert_lt(fabs(sum / entries), 5.0 / sqrt((double)entries));
    cr_assert_lt(fabs(squares / entries - 1.0), 0.1);
    // half of the positions: every row near 50 (hypergeometric, sd 5)
    cr_assert(per_row_min > 20 && per_row_max < 80, "rows between %lld and %lld entries", (long long)per_row_min,
              (long long)per_row_max);
    fm_system_matrix_free(&M);
    // all n² positions: each exactly once
    cr_assert_eq(fm_spd_random_factor(&M, 9, 81, 3, msg), FM_OK, "%s", msg);
    for (int64_t k = 0; k < 81; k++) cr_assert_eq(M->row[k] * 9 + M->col[k], k);
    fm_system_matrix_free(&M);
}

Test(spd_data, gram_lower_matches_dense_reference)
{
    char msg[FM_MSG_LEN];
    for (uint64_t seed = 1; seed <= 4; seed++) {
        const int64_t n = 40 + 9 * (int64_t)seed;
        // from nearly empty (rows of M without entries) to dense rows (the
        // scan of the marks instead of the sort)
        const int64_t entries = seed == 4 ? n * n / 2 : (int64_t)(seed * seed) * n / 3;
        fm_system_matrix *M = NULL, *A = NULL;
        double *dense = NULL;
        cr_assert_eq(fm_spd_random_factor(&M, n, entries, seed, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_spd_gram_lower(&A, M, 0.25, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_spd_gram_dense_reference(&dense, M, 0.25, msg), FM_OK, "%s", msg);
        double *fast = mirrored(A);
        int64_t k = 0;
        for (int64_t i = 0; i < n; i++) {
            // rows ascending, columns ascending, the diagonal last
            int64_t last = -1;
            for (; k < A->count && A->row[k] == i; k++) {
                cr_assert_gt(A->col[k], last);
                last = A->col[k];
            }
            cr_assert_eq(last, i, "row %lld ends at its diagonal", (long long)i);
            for (int64_t j = 0; j < n; j++)
                cr_assert(fabs(fast[i * n + j] - dense[i * n + j]) <= 1e-13 * (1 + fabs(dense[i * n + j])),
                          "seed %llu (%lld, %lld): %.17g, the reference %.17g", (unsigned long long)seed,
                          (long long)i, (long long)j, fast[i * n + j], dense[i * n + j]);
        }
        cr_assert_eq(k, A->count);
        free(fast);
        free(dense);
        fm_system_matrix_free(&M);
        fm_system_matrix_free(&A);
    }
}

Test(spd_data, random_spd_is_positive_definite)
{
    for (uint64_t seed = 10; seed < 13; seed++) {
        fm_system_matrix *A = random_spd(150, 0.01, seed);   // 1.5 entries a row of M: nearly singular M Mᵀ
        double *d = mirrored(A);
        for (int64_t i = 0; i < A->n; i++) cr_assert_geq(d[i * A->n + i], 1e-3, "the diagonal is at least alpha");
        expect_positive_definite(d, A->n);
        free(d);
        fm_system_matrix_free(&A);
    }
}

// Rows i ≠ j of M share a column with probability about 1 − (1 − p²)^n, so a
// row of A holds about 1 + (n − 1)(1 − (1 − p²)^n) entries: at n = 2000 and
// p = 5e-3 (10 entries a row of M) about 98, the random class of P7 in small.
Test(spd_data, random_spd_has_the_expected_entries_per_row)
{
    const int64_t n = 2000;
    const double p = 5e-3;
    const double expected = 1 + (double)(n - 1) * (1 - pow(1 - p * p, (double)n));
    for (uint64_t seed = 1; seed <= 2; seed++) {
        fm_system_matrix *A = random_spd(n, p, seed);
        const double per_row = (2.0 * (double)A->count - (double)n) / (double)n;   // mirrored, the diagonal once
        cr_assert(fabs(per_row / expected - 1) < 0.1, "%.2f entries a row, expected about %.2f", per_row, expected);
        fm_system_matrix_free(&A);
    }
}

Test(spd_data, same_seed_same_bits_for_any_thread_count)
{
    char msg[FM_MSG_LEN];
    fm_system_matrix *A[2] = { NULL, NULL }, *B[2] = { NULL, NULL };
    double *b[2] = { NULL, NULL };
    for (int t = 0; t < 2; t++) {
        fm_set_threads(t + 1);
        cr_assert_eq(fm_spd_generate(&A[t], &b[t], FM_SPD_RANDOM, 700, 42, NULL, msg), FM_OK, "%s", msg);
        fm_spd_options o;
        fm_spd_defaults(&o);
        o.rhs_ones = true;
        double *ones = NULL;
        cr_assert_eq(fm_spd_generate(&B[t], t == 0 ? &ones : NULL, FM_SPD_DIFFUSION, 30, 42, &o, msg), FM_OK, "%s", msg);
        if (ones) {
            for (int i = 0; i < 900; i++) cr_assert_eq(ones[i], 1.0);
            free(ones);
        }
    }
    fm_set_threads(2);
    cr_assert(A[0]->count > 700);
    cr_assert(same_matrix(A[0], A[1]), "the random matrix differs between 1 and 2 threads");
    cr_assert(same_matrix(B[0], B[1]), "the diffusion matrix differs between 1 and 2 threads");
    cr_assert(memcmp(b[0], b[1], 700 * sizeof(double)) == 0);
    for (int i = 0; i < 700; i++) cr_assert(b[0][i] > 0 && b[0][i] < 1, "b ~ U(0, 1)");
    // another seed, other matrices
    fm_system_matrix *C = NULL, *D = NULL;
    cr_assert_eq(fm_spd_generate(&C, NULL, FM_SPD_RANDOM, 700, 43, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_spd_generate(&D, NULL, FM_SPD_DIFFUSION, 30, 43, NULL, msg), FM_OK, "%s", msg);
    cr_assert(!same_matrix(A[0], C));
    cr_assert(!same_matrix(B[0], D));
    for (int t = 0; t < 2; t++) {
        fm_system_matrix_free(&A[t]);
        fm_system_matrix_free(&B[t]);
        free(b[t]);
    }
    fm_system_matrix_free(&C);
    fm_system_matrix_free(&D);
}

Test(spd_data, out_of_distribution_density)
{
    char msg[FM_MSG_LEN];
    fm_spd_options o;
    fm_spd_defaults(&o);
    o.density = 2e-2;
    o.ood = true;
    double lo = INFINITY, hi = 0;
    for (uint64_t seed = 0; seed < 12; seed++) {
        fm_system_matrix *A = NULL;
        cr_assert_eq(fm_spd_random(&A, 200, seed, &o, msg), FM_OK, "%s", msg);
        const double count = (double)A->count;
        lo = count < lo ? count : lo;
        hi = count > hi ? count : hi;
        fm_system_matrix_free(&A);
    }
    // density times U(0.22, 2.2): the counts spread over several times
    cr_assert_gt(hi / lo, 2.0, "the densities of 12 seeds span %.2f x", hi / lo);
}

//------------------------------------------------------------------------------
// Diffusion
//------------------------------------------------------------------------------

Test(spd_data, diffusion_is_a_five_point_spd_matrix)
{
    const int64_t g = 12, n = g * g;
    double most = 1;
    for (uint64_t seed = 0; seed < 10; seed++) {
        fm_system_matrix *A = diffusion(g, seed, 1e3);
        cr_assert_eq(A->n, n);
        double *d = mirrored(A);
        double smallest = INFINITY, largest = 0;
        for (int64_t i = 0; i < n; i++) {
            const int64_t p = i / g, q = i % g;
            const int neighbours = (p > 0) + (p < g - 1) + (q > 0) + (q < g - 1);
            int stored = 0;
            double off = 0;
            for (int64_t j = 0; j < n; j++) {
                if (d[i * n + j] == 0) continue;
                stored++;
                if (j == i) continue;
                const int64_t distance = llabs(j / g - p) + llabs(j % g - q);
                cr_assert_eq(distance, 1, "(%lld, %lld) couples nodes that are not neighbours", (long long)i,
                             (long long)j);
                cr_assert_lt(d[i * n + j], 0);
                off += -d[i * n + j];
                smallest = fmin(smallest, -d[i * n + j]);
                largest = fmax(largest, -d[i * n + j]);
            }
            cr_assert_eq(stored, neighbours + 1, "row %lld holds %d entries", (long long)i, stored);
            // diagonally dominant, strictly beside the boundary
            if (neighbours == 4) cr_assert(d[i * n + i] >= off * (1 - 1e-14));
            else cr_assert_gt(d[i * n + i], off);
        }
        expect_positive_definite(d, n);
        const double contrast = largest / smallest;
        cr_assert_leq(contrast, 1e3 * (1 + 1e-12), "the faces' contrast %g exceeds the bound", contrast);
        most = fmax(most, contrast);
        free(d);
        fm_system_matrix_free(&A);
    }
    cr_assert_gt(most, 10.0, "some of 10 seeds reach a contrast over 10 (the largest was %g)", most);
}

Test(spd_data, diffusion_with_constant_kappa_is_the_laplacian)
{
    fm_system_matrix *A = diffusion(5, 99, 1.0);
    for (int64_t k = 0; k < A->count; k++)
        cr_assert_eq(A->val[k], A->row[k] == A->col[k] ? 4.0 : -1.0, "entry (%lld, %lld)", (long long)A->row[k],
                     (long long)A->col[k]);
    cr_assert_eq(A->count, 25 + 2 * 5 * 4);
    fm_system_matrix_free(&A);
}

//------------------------------------------------------------------------------
// Seeds and arguments
//------------------------------------------------------------------------------

Test(spd_data, seed_sets_are_disjoint)
{
    char msg[FM_MSG_LEN];
    uint64_t train_last, test_first, test_last, validation_first;
    cr_assert_eq(fm_spd_seed(&train_last, FM_SPD_TRAIN, FM_SPD_SEEDS_PER_SET - 1, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_spd_seed(&test_first, FM_SPD_TEST, 0, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_spd_seed(&test_last, FM_SPD_TEST, FM_SPD_SEEDS_PER_SET - 1, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_spd_seed(&validation_first, FM_SPD_VALIDATION, 0, msg), FM_OK, "%s", msg);
    cr_assert_lt(train_last, test_first);
    cr_assert_eq(test_first, 1000000u);
    cr_assert_lt(test_last, validation_first);
    uint64_t s;
    cr_assert_eq(fm_spd_seed(&s, FM_SPD_TRAIN, FM_SPD_SEEDS_PER_SET, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_spd_seed(&s, FM_SPD_TEST, -1, msg), FM_ERR_INVALID);
}

Test(spd_data, bad_arguments_are_errors)
{
    char msg[FM_MSG_LEN];
    fm_system_matrix *A = NULL;
    double *b = NULL;
    fm_spd_options o;
    fm_spd_defaults(&o);
    cr_assert_eq(fm_spd_generate(&A, &b, FM_SPD_RANDOM, 0, 1, NULL, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_spd_generate(&A, &b, FM_SPD_DIFFUSION, 0, 1, NULL, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_spd_generate(&A, &b, (fm_spd_kind)7, 10, 1, NULL, msg), FM_ERR_INVALID);
    o.density = 0.6;
    o.density_factor = 2;
    cr_assert_eq(fm_spd_generate(&A, &b, FM_SPD_RANDOM, 10, 1, &o, msg), FM_ERR_INVALID);
    cr_assert_not_null(strstr(msg, "density"), "%s", msg);
    fm_spd_defaults(&o);
    o.alpha = 0;
    cr_assert_eq(fm_spd_generate(&A, &b, FM_SPD_RANDOM, 10, 1, &o, msg), FM_ERR_INVALID);
    fm_spd_defaults(&o);
    o.contrast = 0.5;
    cr_assert_eq(fm_spd_generate(&A, &b, FM_SPD_DIFFUSION, 10, 1, &o, msg), FM_ERR_INVALID);
    o.contrast = 10;
    o.modes = 0;
    cr_assert_eq(fm_spd_generate(&A, &b, FM_SPD_DIFFUSION, 10, 1, &o, msg), FM_ERR_INVALID);
    cr_assert_null(A);
    cr_assert_null(b);
    fm_system_matrix *M = NULL;
    cr_assert_eq(fm_spd_random_factor(&M, 3, 10, 1, msg), FM_ERR_INVALID);
    cr_assert_null(M);
}
