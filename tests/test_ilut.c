// SuperLU's ILUT (P4) as a preconditioner: the apply (SuperLU's factors by
// rows, its permutations and scalings, the engine's triangular solves)
// against SuperLU's own solve dgstrs on the same factors, an exact LU with
// no dropping, fewer entries for a larger drop tolerance, the options
// reported, singular matrices and bad options refused, and the same z bit
// for bit on one and two threads. UMFPACK's direct LU: M⁻¹ A x = x, with
// and without zero diagonal entries, a singular A refused.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "ilut_internal.h"
#include "solver_fixtures.h"

TestSuite(ilut, .init = fm_test_setup);
TestSuite(direct_lu, .init = fm_test_setup);

static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *state, double lo, double hi)
{
    return lo + (hi - lo) * (double)(next_random(state) >> 11) / 9007199254740992.0;
}

// A random nonsymmetric n × n matrix: `per_row` off-diagonal entries a row
// in [-1, 1) at random columns (a repeated column summed), the diagonal
// ±diagonal ± 0.5, and entry (i, j) scaled by row_scale^(i mod 3) and
// column_scale^(j mod 3) (1: none). With
// zero_every ≥ 2, every zero_every-th diagonal entry (i = 0, k, 2k, …, below
// n − 1) is an explicit zero and ±diagonal sits at (i, i + 1) and (i + 1, i)
// instead: the 2 × 2 block [0 d; d a] keeps A far from singular, and an
// elimination in the natural order meets the zero pivot.
static fm_square *random_general(int64_t n, int per_row, double diagonal, int zero_every, double row_scale,
                                 double column_scale, uint64_t seed)
{
    int64_t capacity = n * (per_row + 2);
    int64_t *row = malloc(sizeof(int64_t) * capacity), *col = malloc(sizeof(int64_t) * capacity);
    double *val = malloc(sizeof(double) * capacity);
    cr_assert(row && col && val);
    uint64_t state = seed;
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
        double scale = pow(row_scale, (double)(i % 3));
        double d = (next_random(&state) & 1 ? diagonal : -diagonal) + uniform(&state, -0.5, 0.5);
        bool zero = zero_every >= 2 && i % zero_every == 0 && i + 1 < n;
        bool after_zero = zero_every >= 2 && i % zero_every == 1;
        row[count] = i, col[count] = i, val[count] = zero ? 0 : scale * d, count++;
        if (zero || after_zero)
            row[count] = i, col[count] = zero ? i + 1 : i - 1, val[count] = scale * d, count++;
        for (int k = 0; k < per_row; k++) {
            int64_t j = (int64_t)(next_random(&state) % (uint64_t)n);
            if (j == i) continue;
            row[count] = i, col[count] = j, val[count] = scale * uniform(&state, -1, 1), count++;
        }
    }
    for (int64_t e = 0; e < count; e++) val[e] *= pow(column_scale, (double)(col[e] % 3));
    return fm_test_square_taking(n, count, row, col, val, false);
}

// M⁻¹ A x against x (max-norm relative) for a random x
static double inverse_error(const fm_precond *M, const fm_square *A, uint64_t seed)
{
    int64_t n = A->n;
    double *x = fm_test_uniform_range(n, seed, -1, 1), *b = calloc(n, sizeof(double)),
           *z = calloc(n, sizeof(double));
    cr_assert(b && z);
    fm_spmv_reference(A->A, x, b);
    fm_precond_apply(M, b, z);
    double error = fm_test_max_relative(z, x, n);
    free(x), free(b), free(z);
    return error;
}

// SuperLU's own solve with the ILU's factors, scaled as its driver dgsisx
// scales: x = C · (L U)⁻¹-with-permutations (R · r), through dgstrs
static void superlu_reference(fm_superlu_ilu *f, const double *r, double *x)
{
    int n = f->n;
    bool rows = f->equed == 'R' || f->equed == 'B', columns = f->equed == 'C' || f->equed == 'B';
    for (int i = 0; i < n; i++) x[i] = rows ? f->R[i] * r[i] : r[i];
    DNformat store = {.lda = n, .nzval = x};
    SuperMatrix B = {.Stype = SLU_DN, .Dtype = SLU_D, .Mtype = SLU_GE, .nrow = n, .ncol = 1, .Store = &store};
    SuperLUStat_t stat;
    StatInit(&stat);
    int info = 0;
    dgstrs(NOTRANS, &f->L, &f->U, f->perm_c, f->perm_r, &B, &stat, &info);
    StatFree(&stat);
    cr_assert_eq(info, 0);
    if (columns)
        for (int i = 0; i < n; i++) x[i] *= f->C[i];
}

// Returns SuperLU's equed, and in *off_diagonal the pivots it took off the
// diagonal (rows i with perm_r[i] ≠ perm_c[i]).
static char check_against_superlu(const fm_square *A, const fm_ilut_options *opt, uint64_t seed, int *off_diagonal)
{
    char msg[FM_MSG_LEN];
    fm_precond *M = NULL;
    cr_assert_eq(fm_precond_ilut(&M, A, opt, msg), FM_OK, "%s", msg);
    fm_superlu_ilu f;
    cr_assert_eq(fm_superlu_ilu_factor(&f, A->A, opt, msg), FM_OK, "%s", msg);
    cr_assert_eq(f.zero_pivots, 0);
    int64_t n = A->n;
    for (int trial = 0; trial < 3; trial++) {
        double *r = fm_test_uniform_range(n, seed + trial, -1, 1), *z = calloc(n, sizeof(double)),
               *x = calloc(n, sizeof(double));
        cr_assert(z && x);
        fm_precond_apply(M, r, z);
        superlu_reference(&f, r, x);
        double error = fm_test_max_relative(z, x, n);
        cr_assert_lt(error, 1e-12, "n = %lld, drop %g: apply against dgstrs %g", (long long)n, opt->drop_tolerance,
                     error);
        free(r), free(z), free(x);
    }
    // the converted factors hold SuperLU's entries, counted as it counts
    // them (ilu_countnz: L with its unit diagonal, U with its diagonal)
    fm_precond_info info;
    fm_precond_info_get(M, &info);
    int64_t superlu_entries = ((SCformat *)f.L.Store)->nnz + ((NCformat *)f.U.Store)->nnz;
    cr_assert_eq(info.factor_entries, superlu_entries);
    char equed = f.equed;
    *off_diagonal = 0;
    for (int i = 0; i < f.n; i++) *off_diagonal += f.perm_r[i] != f.perm_c[i];
    fm_superlu_ilu_free(&f);
    fm_precond_free(&M);
    return equed;
}

Test(ilut, apply_equals_superlu_solve)
{
    fm_ilut_options opt;
    fm_ilut_defaults(&opt);
    const double drops[] = {1e-4, 1e-2, 0.1};
    for (int k = 0; k < 3; k++) {
        opt.drop_tolerance = drops[k];
        int off_diagonal;
        fm_square *A = random_general(60, 4, 1.0, 0, 1, 1, 11 + k);
        check_against_superlu(A, &opt, 100 + k, &off_diagonal);
        fm_square_free(&A);
        // rows scaled by 1, 10³, 10⁶ and a zero diagonal every 5th row:
        // SuperLU equilibrates, and pivots off the diagonal
        A = random_general(150, 5, 0.5, 5, 1e3, 1, 21 + k);
        char equed = check_against_superlu(A, &opt, 200 + k, &off_diagonal);
        cr_assert(equed == 'R' || equed == 'B', "SuperLU scaled the rows (equed %c)", equed);
        cr_assert_gt(off_diagonal, 0, "the zero diagonal entries are not pivots");
        fm_square_free(&A);
        // columns scaled likewise
        A = random_general(100, 5, 2.0, 0, 1, 1e3, 31 + k);
        equed = check_against_superlu(A, &opt, 300 + k, &off_diagonal);
        cr_assert(equed == 'C' || equed == 'B', "SuperLU scaled the columns (equed %c)", equed);
        fm_square_free(&A);
    }
}

Test(ilut, exact_lu_without_dropping)
{
    fm_ilut_options opt = {.drop_tolerance = 0, .fill_factor = 1000};
    char msg[FM_MSG_LEN];
    for (int k = 0; k < 3; k++) {
        // well conditioned, and with zero diagonal entries (pivoting needed)
        fm_square *A = k == 0 ? random_general(80, 4, 6.0, 0, 1, 1, 31)
                              : random_general(80, 4, 3.0, 3, k == 2 ? 1e2 : 1, 1, 31 + k);
        fm_precond *M = NULL;
        cr_assert_eq(fm_precond_ilut(&M, A, &opt, msg), FM_OK, "%s", msg);
        double error = inverse_error(M, A, 40 + k);
        cr_assert_lt(error, 1e-10, "case %d: M⁻¹ A x − x = %g", k, error);
        fm_precond_free(&M);
        fm_square_free(&A);
    }
}

Test(ilut, larger_drop_tolerance_fewer_entries)
{
    fm_square *A = random_general(300, 6, 2.0, 0, 1, 1, 51);
    char msg[FM_MSG_LEN];
    const double drops[] = {0, 1e-3, 0.1};
    int64_t entries[3];
    for (int k = 0; k < 3; k++) {
        fm_ilut_options opt = {.drop_tolerance = drops[k], .fill_factor = 100};
        fm_precond *M = NULL;
        cr_assert_eq(fm_precond_ilut(&M, A, &opt, msg), FM_OK, "%s", msg);
        fm_precond_info info;
        fm_precond_info_get(M, &info);
        entries[k] = info.factor_entries;
        cr_assert_eq(info.factor_entries, M->ilut->lower->count + M->ilut->upper->count);
        fm_precond_free(&M);
    }
    cr_assert_gt(entries[0], entries[1], "%lld then %lld entries", (long long)entries[0], (long long)entries[1]);
    cr_assert_gt(entries[1], entries[2], "%lld then %lld entries", (long long)entries[1], (long long)entries[2]);
    // the fill factor bounds the fill, approximately (SuperLU's area rule:
    // nnz(L + U) about γ nnz(A) at most)
    fm_ilut_options tight = {.drop_tolerance = 0, .fill_factor = 1.5};
    fm_precond *M = NULL;
    cr_assert_eq(fm_precond_ilut(&M, A, &tight, msg), FM_OK, "%s", msg);
    fm_precond_info info;
    fm_precond_info_get(M, &info);
    cr_assert_lt(info.factor_entries, 2 * tight.fill_factor * A->A->count, "%lld entries for %lld in A",
                 (long long)info.factor_entries, (long long)A->A->count);
    fm_precond_free(&M);
    fm_square_free(&A);
}

Test(ilut, reports_its_options_and_factors)
{
    fm_square *A = random_general(40, 3, 2.0, 0, 1, 1, 61);
    char msg[FM_MSG_LEN];
    fm_precond *M = NULL;
    fm_ilut_options opt = {.drop_tolerance = 3e-3, .fill_factor = 7};
    cr_assert_eq(fm_precond_ilut(&M, A, &opt, msg), FM_OK, "%s", msg);
    fm_precond_info info;
    fm_precond_info_get(M, &info);
    cr_assert_eq(info.kind, FM_PRECOND_ILUT);
    cr_assert_eq(info.drop_tolerance, 3e-3);
    cr_assert_eq(info.fill_factor, 7);
    cr_assert_str_eq(fm_precond_name(info.kind), "ilut");
    // L unit lower (diagonal last), U upper (a nonzero diagonal first)
    const fm_csr *L = M->ilut->lower, *U = M->ilut->upper;
    for (int64_t i = 0; i < A->n; i++) {
        int64_t last = L->start[i + 1] - 1;
        cr_assert(L->index[last] == i && L->value[last] == 1);
        for (int64_t q = L->start[i]; q < last; q++) cr_assert_lt(L->index[q], L->index[q + 1]);
        int64_t first = U->start[i];
        cr_assert(U->index[first] == i && U->value[first] != 0);
        for (int64_t q = first; q + 1 < U->start[i + 1]; q++) cr_assert_lt(U->index[q], U->index[q + 1]);
    }
    cr_assert_null(fm_precond_lower(M), "the factors are in SuperLU's permuted space, not exposed");
    fm_precond_free(&M);
    cr_assert_eq(fm_precond_ilut(&M, A, NULL, msg), FM_OK, "%s", msg);
    fm_precond_info_get(M, &info);
    cr_assert_eq(info.drop_tolerance, 1e-4);
    cr_assert_eq(info.fill_factor, 10);
    fm_precond_free(&M);
    fm_square_free(&A);
}

Test(ilut, singular_and_bad_options_refused)
{
    char msg[FM_MSG_LEN];
    fm_precond *M = NULL;
    // a zero row (its diagonal stored as zero: structurally singular,
    // refused before SuperLU), then two equal rows (SuperLU's zero pivot)
    const double zero_row[9] = {2, 1, 0, 0, 0, 0, 1, 0, 3};
    const double equal_rows[9] = {1, 2, 3, 1, 2, 3, 0, 1, 4};
    const double *cases[2] = {zero_row, equal_rows};
    const char *said[2] = {"structurally singular", "zero pivot"};
    fm_ilut_options exact = {.drop_tolerance = 0, .fill_factor = 10};
    for (int k = 0; k < 2; k++) {
        fm_square *A = fm_test_square_dense(cases[k], 3);
        cr_assert_eq(fm_precond_ilut(&M, A, &exact, msg), FM_ERR_NUMERIC, "case %d", k);
        cr_assert_null(M);
        cr_assert(strstr(msg, said[k]), "%s", msg);
        fm_square_free(&A);
    }
    fm_square *A = random_general(10, 2, 2.0, 0, 1, 1, 71);
    // the last: fill factor · nnz(A) beyond SuperLU's int sizes
    const fm_ilut_options bad[] = {{-1, 10}, {NAN, 10}, {1e-4, 0.5}, {1e-4, INFINITY}, {1e-4, 1e9}};
    for (int k = 0; k < 5; k++) {
        cr_assert_eq(fm_precond_ilut(&M, A, &bad[k], msg), FM_ERR_INVALID, "options %d", k);
        cr_assert_null(M);
    }
    cr_assert_eq(fm_precond_ilut(&M, NULL, NULL, msg), FM_ERR_INVALID);
    fm_square_free(&A);
}

// The rank of a dense n × n matrix (row-major, overwritten) by Gaussian
// elimination with partial pivoting: pivots below 1e-9 of the largest entry
// count as zero.
static int64_t dense_rank(double *a, int64_t n)
{
    double largest = 0;
    for (int64_t e = 0; e < n * n; e++) largest = fmax(largest, fabs(a[e]));
    int64_t rank = 0;
    for (int64_t col = 0; col < n && rank < n; col++) {
        int64_t pivot = rank;
        for (int64_t i = rank; i < n; i++)
            if (fabs(a[i * n + col]) > fabs(a[pivot * n + col])) pivot = i;
        if (!(fabs(a[pivot * n + col]) > 1e-9 * largest)) continue;
        for (int64_t j = 0; j < n; j++) {
            double t = a[rank * n + j];
            a[rank * n + j] = a[pivot * n + j];
            a[pivot * n + j] = t;
        }
        for (int64_t i = rank + 1; i < n; i++) {
            double m = a[i * n + col] / a[rank * n + col];
            for (int64_t j = col; j < n; j++) a[i * n + j] -= m * a[rank * n + j];
        }
        rank++;
    }
    return rank;
}

// The structural check against the rank of random values on the same
// pattern (equal with probability one): random sparse patterns, explicit
// zeros among the entries (which do not count), diagonals often zero.
Test(ilut, nonzero_transversal_against_dense_rank)
{
    uint64_t state = 2024;
    int singular = 0, nonsingular = 0;
    char msg[FM_MSG_LEN];
    for (int trial = 0; trial < 400; trial++) {
        int64_t n = 1 + (int64_t)(next_random(&state) % 12);
        double density = uniform(&state, 0.05, 0.4);
        double *dense = calloc(n * n, sizeof(double));
        cr_assert_not_null(dense);
        int64_t *row = malloc(sizeof(int64_t) * n * n), *col = malloc(sizeof(int64_t) * n * n);
        double *val = malloc(sizeof(double) * n * n);
        cr_assert(row && col && val);
        int64_t count = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) {
                bool stored = i == j || uniform(&state, 0, 1) < density;
                if (!stored) continue;
                double v = uniform(&state, 0, 1) < 0.3 ? 0 : uniform(&state, 0.5, 1.5) * (next_random(&state) & 1 ? 1 : -1);
                row[count] = i, col[count] = j, val[count++] = v;
                dense[i * n + j] = v;
            }
        fm_square *A = NULL;
        cr_assert_eq(fm_square_from_triplets(&A, n, count, row, col, val, false, msg), FM_OK, "%s", msg);
        int64_t unmatched;
        cr_assert_eq(fm_nonzero_transversal(A->A, &unmatched, msg), FM_OK, "%s", msg);
        bool full = dense_rank(dense, n) == n;
        cr_assert_eq(unmatched < 0, full, "trial %d (n = %lld): transversal %lld, dense rank full %d", trial,
                     (long long)n, (long long)unmatched, full);
        cr_assert(unmatched < n);
        singular += !full;
        nonsingular += full;
        fm_square_free(&A);
        free(dense), free(row), free(col), free(val);
    }
    cr_assert(singular > 50 && nonsingular > 50, "%d singular, %d not", singular, nonsingular);
}

// A structurally singular 13 × 13 matrix (random, explicit zeros stored)
// on which Debian's SuperLU 5.3 calls exit(1) inside dgsitrf ("[0]: jcol=11,
// SINGULAR!!!") at any drop tolerance and fill factor: refused before it.
Test(ilut, exit_of_superlu_avoided)
{
    const int64_t row[57] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 6, 6, 6,
                             6, 7, 7, 7, 7, 7, 8, 8, 8, 8, 9, 9, 9, 9, 9, 10, 10, 10, 10, 11, 11, 11, 11, 12, 12, 12, 12, 12};
    const int64_t col[57] = {0, 1, 3, 6, 1, 2, 7, 12, 2, 4, 7, 12, 0, 3, 4, 6, 0, 2, 4, 6, 9, 3, 5, 8, 9, 10, 3, 6, 8,
                             11, 4, 7, 8, 9, 10, 2, 8, 9, 12, 3, 4, 7, 9, 11, 0, 4, 10, 11, 4, 7, 8, 11, 2, 6, 7, 9, 12};
    const double val[57] = {0, 0, -5.11, 16.29, 0, 0, 0.72, 0, -7.07, 7.42, 1.18, -6.16, -2.25, -6.38, 9.31,
                            7.96, 9.16, 9.59, 0, 0, 5.1, -9.06, 0, 1.11, 2.5, -7.81, -5.33, 0, -9.74, 0,
                            0, 0, 4.06, 5.66, -9.63, -8.65, 0, 3.02, 0, -6.53, -7.3, -4.81, 0, -2, 0,
                            0, 0, -5.9, -6.4, 0, 0, 0, -4.17, 0, 1.7, -9.63, 0};
    char msg[FM_MSG_LEN];
    fm_square *A = NULL;
    cr_assert_eq(fm_square_from_triplets(&A, 13, 57, row, col, val, false, msg), FM_OK, "%s", msg);
    fm_precond *M = NULL;
    cr_assert_eq(fm_precond_ilut(&M, A, NULL, msg), FM_ERR_NUMERIC);
    cr_assert_null(M);
    cr_assert(strstr(msg, "structurally singular"), "%s", msg);
    // UMFPACK says singular too
    cr_assert_eq(fm_precond_direct_lu(&M, A, msg), FM_ERR_NUMERIC);
    fm_square_free(&A);
}

Test(ilut, one_unknown)
{
    char msg[FM_MSG_LEN];
    const double a[1] = {-4};
    fm_square *A = fm_test_square_dense(a, 1);
    fm_precond *M = NULL;
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(k == 0 ? fm_precond_ilut(&M, A, NULL, msg) : fm_precond_direct_lu(&M, A, msg), FM_OK, "%s", msg);
        double r = 2, z = 0;
        fm_precond_apply(M, &r, &z);
        cr_assert_float_eq(z, -0.5, 1e-15);
        fm_precond_info info;
        fm_precond_info_get(M, &info);
        cr_assert_eq(info.factor_entries, 2, "L's and U's diagonals");
        fm_precond_free(&M);
    }
    fm_square_free(&A);
}

Test(ilut, same_z_on_one_and_two_threads)
{
    fm_square *A = random_general(3000, 5, 1.5, 7, 1, 1, 81);
    char msg[FM_MSG_LEN];
    int64_t n = A->n;
    double *r = fm_test_uniform_range(n, 82, -1, 1), *z[3];
    fm_precond *M[2] = {NULL, NULL};
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        cr_assert_eq(fm_precond_ilut(&M[t], A, NULL, msg), FM_OK, "%s", msg);
        // the strips in parallel whatever the size (the team's path)
        M[t]->ilut->lower_levels->path = FM_SOLVE_PARALLEL;
        M[t]->ilut->upper_levels->path = FM_SOLVE_PARALLEL;
    }
    for (int k = 0; k < 3; k++) {
        z[k] = calloc(n, sizeof(double));
        cr_assert_not_null(z[k]);
        omp_set_num_threads(k == 0 ? 1 : 2);
        fm_precond_apply(M[k == 2 ? 1 : 0], r, z[k]);
    }
    omp_set_num_threads(2);
    cr_assert_eq(memcmp(z[0], z[1], sizeof(double) * n), 0, "one M, one and two threads");
    cr_assert_eq(memcmp(z[0], z[2], sizeof(double) * n), 0, "M built on two threads");
    for (int k = 0; k < 3; k++) free(z[k]);
    free(r);
    fm_precond_free(&M[0]);
    fm_precond_free(&M[1]);
    fm_square_free(&A);
}

Test(direct_lu, solves_with_a)
{
    char msg[FM_MSG_LEN];
    for (int k = 0; k < 4; k++) {
        // well conditioned; zero diagonal entries stored (pivoting needed);
        // badly scaled rows
        fm_square *A = random_general(k < 2 ? 60 : 400, 5, k == 0 ? 6.0 : 3.0, k == 0 ? 0 : 4, k == 3 ? 1e4 : 1,
                                      1, 91 + k);
        fm_precond *M = NULL;
        cr_assert_eq(fm_precond_direct_lu(&M, A, msg), FM_OK, "%s", msg);
        double error = inverse_error(M, A, 95 + k);
        cr_assert_lt(error, 1e-10, "case %d: M⁻¹ A x − x = %g", k, error);
        fm_precond_info info;
        fm_precond_info_get(M, &info);
        cr_assert_eq(info.kind, FM_PRECOND_DIRECT_LU);
        cr_assert_geq(info.factor_entries, 2 * A->n, "L's and U's diagonals at least");
        cr_assert_str_eq(fm_precond_name(info.kind), "direct-lu");
        fm_precond_free(&M);
        fm_square_free(&A);
    }
}

Test(direct_lu, singular_refused)
{
    char msg[FM_MSG_LEN];
    fm_precond *M = NULL;
    const double zero_row[9] = {2, 1, 0, 0, 0, 0, 1, 0, 3};
    fm_square *A = fm_test_square_dense(zero_row, 3);
    cr_assert_eq(fm_precond_direct_lu(&M, A, msg), FM_ERR_NUMERIC);
    cr_assert_null(M);
    cr_assert(strstr(msg, "singular"), "%s", msg);
    fm_square_free(&A);
    const double equal_rows[9] = {1, 2, 3, 1, 2, 3, 0, 1, 4};
    A = fm_test_square_dense(equal_rows, 3);
    cr_assert_eq(fm_precond_direct_lu(&M, A, msg), FM_ERR_NUMERIC);
    cr_assert(strstr(msg, "singular"), "%s", msg);
    fm_square_free(&A);
    cr_assert_eq(fm_precond_direct_lu(&M, NULL, msg), FM_ERR_INVALID);
}
