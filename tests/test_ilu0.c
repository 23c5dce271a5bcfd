// ILU(0) (P4) against a dense reference and its defining property
// (L U)_ij = a_ij on the pattern of A; exact on a tridiagonal matrix; zero
// pivots replaced and counted; a given L U (fm_precond_from_lu) and its bad
// inputs; general Jacobi.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "precond.h"
#include "rng.h"
#include "solver_fixtures.h"

TestSuite(ilu0, .init = fm_test_setup);

// A random sparse nonsymmetric n × n matrix (row-major): `per_row` N(0, 1)
// entries at random columns of each row, the diagonal `dominance` times its
// row's off-diagonal sum (plus 0.1), its sign alternating with the row.
static double *random_nonsymmetric(int64_t n, int per_row, double dominance, uint64_t seed)
{
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    double *a = calloc(n * n, sizeof(double));
    cr_assert(a);
    uint64_t counter = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int t = 0; t < per_row; t++) {
            int64_t j = (int64_t)(fm_rng_uniform(rng, counter++) * (double)n);
            if (j != i) a[i * n + j] += fm_rng_normal(rng, counter++);
        }
        double sum = 0;
        for (int64_t j = 0; j < n; j++) sum += fabs(a[i * n + j]);
        a[i * n + i] = (i % 2 ? -1 : 1) * (dominance * sum + 0.1);
    }
    return a;
}

// The slow, obviously correct ILU(0): Gaussian elimination on the dense
// array, each update kept only where A has an entry (or on the diagonal).
// Returns the factored array: L below the diagonal (unit diagonal implied), U
// on and above.
static double *dense_ilu0(const double *a, int64_t n)
{
    double *f = malloc(sizeof(double) * n * n);
    cr_assert(f);
    memcpy(f, a, sizeof(double) * n * n);
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < i; k++) {
            if (a[i * n + k] == 0) continue;
            f[i * n + k] /= f[k * n + k];
            for (int64_t j = k + 1; j < n; j++)
                if (a[i * n + j] != 0 || i == j) f[i * n + j] -= f[i * n + k] * f[k * n + j];
        }
    return f;
}

// A factor by rows as a dense row-major array.
static double *dense_of(const fm_csr *m)
{
    double *d = calloc(m->n * m->n, sizeof(double));
    cr_assert(d);
    for (int64_t i = 0; i < m->n; i++)
        for (int64_t q = m->start[i]; q < m->start[i + 1]; q++) d[i * m->n + m->index[q]] = m->value[q];
    return d;
}

static fm_precond *ilu0_of(const fm_square *g)
{
    fm_precond *M = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_precond_ilu0(&M, g, msg), FM_OK, "%s", msg);
    return M;
}

static double max_abs(const double *a, int64_t count)
{
    double m = 0;
    for (int64_t e = 0; e < count; e++) m = fmax(m, fabs(a[e]));
    return m;
}

Test(ilu0, lu_equals_a_on_its_pattern)
{
    const int64_t sizes[] = { 1, 7, 60, 90 };
    const int per_row[] = { 1, 3, 5, 9 };
    const double dominance[] = { 1, 1.05, 0.6, 0.3 };   // the weaker ones: growth, no zero pivot
    for (int t = 0; t < 4; t++) {
        int64_t n = sizes[t];
        double *a = random_nonsymmetric(n, per_row[t], dominance[t], 10 + t);
        fm_square *g = fm_test_square_dense(a, n);
        fm_precond *M = ilu0_of(g);
        fm_precond_info info;
        fm_precond_info_get(M, &info);
        cr_assert_eq(info.kind, FM_PRECOND_ILU0);
        cr_assert_eq(info.zero_pivots, 0, "n = %lld", (long long)n);
        cr_assert_eq(info.factor_entries, g->A->count + n, "A's entries and L's unit diagonal");
        const fm_csr *L = fm_precond_lower(M), *U = fm_precond_upper(M);
        double *l = dense_of(L), *u = dense_of(U), *reference = dense_ilu0(a, n);
        double scale = max_abs(a, n * n);
        for (int64_t i = 0; i < n; i++) {
            cr_assert_eq(L->index[L->start[i + 1] - 1], i, "L's diagonal last");
            cr_assert_eq(L->value[L->start[i + 1] - 1], 1, "L's diagonal is 1");
            cr_assert_eq(U->index[U->start[i]], i, "U's diagonal first");
            for (int64_t j = 0; j < n; j++) {
                bool on_pattern = a[i * n + j] != 0 || i == j;
                double lu = 0;
                for (int64_t k = 0; k < n; k++) lu += l[i * n + k] * u[k * n + j];
                if (on_pattern) {
                    cr_assert_float_eq(lu, a[i * n + j], 1e-12 * scale, "n = %lld: (L U)(%lld, %lld)",
                                       (long long)n, (long long)i, (long long)j);
                    double expected = reference[i * n + j], got = j < i ? l[i * n + j] : u[i * n + j];
                    cr_assert_float_eq(got, expected, 1e-12 * fmax(1, fabs(expected)),
                                       "the dense reference at (%lld, %lld)", (long long)i, (long long)j);
                } else {
                    cr_assert_eq(l[i * n + j], 0, "L off the pattern");
                    cr_assert_eq(u[i * n + j], 0, "U off the pattern");
                }
            }
        }
        free(l);
        free(u);
        free(reference);
        free(a);
        fm_precond_free(&M);
        fm_square_free(&g);
    }
}

Test(ilu0, exact_on_a_tridiagonal_matrix)
{
    // no fill-in: ILU(0) is the LU of A, so M⁻¹ A x = x
    int64_t n = 50;
    double *a = calloc(n * n, sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        a[i * n + i] = (i % 3 ? 2.5 : -3) + 0.01 * (double)i;
        if (i > 0) a[i * n + i - 1] = 1.25 - 0.02 * (double)i;
        if (i + 1 < n) a[i * n + i + 1] = -0.75;
    }
    fm_square *g = fm_test_square_dense(a, n);
    fm_precond *M = ilu0_of(g);
    double *x = fm_test_uniform_range(n, 20, -1, 1), *ax = calloc(n, sizeof(double));
    double *z = calloc(n, sizeof(double));
    fm_spmv(g->A, x, ax);
    fm_precond_apply(M, ax, z);
    cr_assert_lt(fm_test_max_relative(z, x, n), 1e-13);
    free(a);
    free(x);
    free(ax);
    free(z);
    fm_precond_free(&M);
    fm_square_free(&g);
}

static fm_square *square_of(const double *a, int64_t n) { return fm_test_square_dense(a, n); }

Test(ilu0, zero_pivots_are_replaced_and_counted)
{
    // row 2's pivot is 1 − 1·1 = 0: replaced by 1e-3·|a_22|; row 3 then
    // reads it: l_32 = 1/1e-3, u_33 = 2 − 1000·1
    double a[9] = { 1, 1, 0, 1, 1, 1, 0, 1, 2 };
    fm_square *g = square_of(a, 3);
    fm_precond *M = ilu0_of(g);
    fm_precond_info info;
    fm_precond_info_get(M, &info);
    cr_assert_eq(info.zero_pivots, 1);
    double *u = dense_of(fm_precond_upper(M)), *l = dense_of(fm_precond_lower(M));
    cr_assert_eq(u[1 * 3 + 1], FM_ILU_PIVOT_EPSILON);
    cr_assert_float_eq(l[2 * 3 + 1], 1 / FM_ILU_PIVOT_EPSILON, 1e-9);
    cr_assert_float_eq(u[2 * 3 + 2], 2 - 1 / FM_ILU_PIVOT_EPSILON, 1e-9);
    free(u);
    free(l);
    fm_precond_free(&M);
    fm_square_free(&g);

    // a small negative pivot keeps its sign; a zero a_22 with a zero pivot
    // gets +FM_ILU_PIVOT_EPSILON itself
    double b[4] = { 4, 2, 2, 1 - 1e-6 };   // pivot 1 − 1e-6 − 1 = −1e-6 < 1e-3·|a_22|
    double c[4] = { 2, 0, 0, 0 };          // a_22 = 0 stored, pivot 0
    const double *cases[2] = { b, c };
    const double expected[2] = { -FM_ILU_PIVOT_EPSILON * (1 - 1e-6), FM_ILU_PIVOT_EPSILON };
    for (int t = 0; t < 2; t++) {
        g = square_of(cases[t], 2);
        M = ilu0_of(g);
        fm_precond_info_get(M, &info);
        cr_assert_eq(info.zero_pivots, 1);
        const fm_csr *U = fm_precond_upper(M);
        cr_assert_eq(U->value[U->start[1]], expected[t], "%.17g", U->value[U->start[1]]);
        fm_precond_free(&M);
        fm_square_free(&g);
    }
}

// A valid L (unit lower, diagonal last) and U (diagonal first) from ILU(0)
// of a small random matrix.
static void factors(fm_csr **L, fm_csr **U, int64_t n, uint64_t seed)
{
    double *a = random_nonsymmetric(n, 3, 1.1, seed);
    fm_square *g = square_of(a, n);
    fm_precond *M = ilu0_of(g);
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_csr_copy(L, fm_precond_lower(M), msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_csr_copy(U, fm_precond_upper(M), msg), FM_OK, "%s", msg);
    fm_precond_free(&M);
    fm_square_free(&g);
    free(a);
}

// A row of at least two entries (for the order checks).
static int64_t long_row(const fm_csr *m)
{
    for (int64_t i = 0; i < m->n; i++)
        if (m->start[i + 1] - m->start[i] >= 2) return i;
    cr_assert_fail("no row with two entries");
    return -1;
}

Test(ilu0, given_lu_is_applied_as_ilu0)
{
    int64_t n = 40;
    double *a = random_nonsymmetric(n, 4, 1.1, 30);
    fm_square *g = square_of(a, n);
    fm_precond *ilu = ilu0_of(g), *given = NULL;
    fm_csr *L = NULL, *U = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_csr_copy(&L, fm_precond_lower(ilu), msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_csr_copy(&U, fm_precond_upper(ilu), msg), FM_OK, "%s", msg);
    fm_csr *l = L, *u = U;
    cr_assert_eq(fm_precond_from_lu(&given, &L, &U, msg), FM_OK, "%s", msg);
    cr_assert_null(L);
    cr_assert_null(U);
    cr_assert_eq(fm_precond_lower(given), l, "taken, not copied");
    cr_assert_eq(fm_precond_upper(given), u);
    fm_precond_info info;
    fm_precond_info_get(given, &info);
    cr_assert_eq(info.kind, FM_PRECOND_LU_FACTOR);
    cr_assert_eq(info.factor_entries, l->count + u->count);
    cr_assert_eq(info.zero_pivots, 0);
    double *r = fm_test_uniform_range(n, 31, -1, 1), *z1 = calloc(n, sizeof(double));
    double *z2 = calloc(n, sizeof(double)), *back = calloc(n, sizeof(double));
    fm_precond_apply(ilu, r, z1);
    fm_precond_apply(given, r, z2);
    cr_assert_eq(memcmp(z1, z2, sizeof(double) * n), 0);
    // z = U⁻¹ L⁻¹ r: L (U z) = r
    double *uz = calloc(n, sizeof(double));
    fm_spmv(u, z2, uz);
    fm_spmv(l, uz, back);
    cr_assert_lt(fm_test_max_relative(back, r, n), 1e-12);
    free(r);
    free(z1);
    free(z2);
    free(back);
    free(uz);
    free(a);
    fm_precond_free(&ilu);
    fm_precond_free(&given);
    fm_square_free(&g);
}

typedef enum { SIZES, U_DIAGONAL_NOT_FIRST, L_DIAGONAL_NOT_LAST, U_DESCENDING, U_ZERO_DIAGONAL,
               L_ZERO_DIAGONAL, U_NAN, L_INFINITE, U_COLUMN_BEYOND_N, L_NEGATIVE_COLUMN, U_ROW_OFFSETS,
               BREAKAGES } breakage;

Test(ilu0, given_lu_rejects_bad_factors_and_leaves_them_to_the_caller)
{
    const int expected_status[BREAKAGES] = { FM_ERR_INVALID, FM_ERR_INVALID, FM_ERR_INVALID,
                                             FM_ERR_INVALID, FM_ERR_NUMERIC, FM_ERR_NUMERIC,
                                             FM_ERR_NUMERIC, FM_ERR_NUMERIC, FM_ERR_INVALID,
                                             FM_ERR_INVALID, FM_ERR_INVALID };
    const char *expected_words[BREAKAGES] = { "U is", "begin with its diagonal", "end with its diagonal",
                                              "ascending", "U(", "L(", "not finite", "not finite",
                                              "column 15, outside 1..12", "column 0, outside",
                                              "span entries" };
    for (int b = 0; b < BREAKAGES; b++) {
        fm_csr *L = NULL, *U = NULL;
        factors(&L, &U, 12, 40 + b);
        if (b == SIZES) {
            fm_csr_free(&U);
            fm_csr *L2 = NULL;
            factors(&L2, &U, 11, 40);
            fm_csr_free(&L2);
        }
        int64_t i = long_row(U), k = long_row(L);
        int64_t first = U->start[i], last = L->start[k + 1] - 1;
        switch (b) {
        case U_DIAGONAL_NOT_FIRST: U->index[first] = U->index[first + 1]; U->index[first + 1] = i; break;
        case L_DIAGONAL_NOT_LAST: L->index[last] = L->index[last - 1]; L->index[last - 1] = k; break;
        case U_DESCENDING: {
            int64_t t = U->index[first + 1];
            U->index[first + 1] = U->index[U->start[i + 1] - 1];
            U->index[U->start[i + 1] - 1] = t;
            if (U->start[i + 1] - first == 2) U->index[first + 1] = i;   // a repeat then
            break;
        }
        case U_ZERO_DIAGONAL: U->value[first] = 0; break;
        case L_ZERO_DIAGONAL: L->value[last] = 0; break;
        case U_NAN: U->value[first + 1] = NAN; break;
        case L_INFINITE: L->value[last - 1] = -INFINITY; break;
        case U_COLUMN_BEYOND_N: U->index[U->start[i + 1] - 1] = 14; break;
        case L_NEGATIVE_COLUMN: L->index[L->start[k]] = -1; break;
        case U_ROW_OFFSETS: U->start[U->n] = U->count + 1; break;
        default: break;
        }
        fm_csr *l = L, *u = U;
        fm_precond *M = (fm_precond *)&M;   // not NULL: the call must clear it
        char msg[FM_MSG_LEN];
        int status = fm_precond_from_lu(&M, &L, &U, msg);
        cr_assert_eq(status, expected_status[b], "breakage %d: %d (%s)", b, status, msg);
        cr_assert_not_null(strstr(msg, expected_words[b]), "breakage %d: %s", b, msg);
        cr_assert_null(M);
        cr_assert_eq(L, l, "L stays the caller's");
        cr_assert_eq(U, u, "U stays the caller's");
        fm_csr_free(&L);
        fm_csr_free(&U);
    }
    fm_csr *L = NULL, *U = NULL;
    fm_precond *M = NULL;
    char msg[FM_MSG_LEN];
    factors(&L, &U, 5, 50);
    cr_assert_eq(fm_precond_from_lu(&M, &L, NULL, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_precond_from_lu(&M, NULL, &U, msg), FM_ERR_INVALID);
    cr_assert_not_null(L);
    cr_assert_not_null(U);
    fm_csr_free(&L);
    fm_csr_free(&U);
}

Test(ilu0, general_jacobi_takes_any_nonzero_diagonal)
{
    double a[9] = { -2, 1, 0, 0.5, 4, 0, 0, 1, -0.25 };
    fm_square *g = square_of(a, 3);
    fm_precond *M = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_precond_jacobi_general(&M, g, msg), FM_OK, "%s", msg);
    double r[3] = { 1, 2, 3 }, z[3];
    fm_precond_apply(M, r, z);
    cr_assert_eq(z[0], -0.5);
    cr_assert_eq(z[1], 0.5);
    cr_assert_eq(z[2], -12);
    fm_precond_info info;
    fm_precond_info_get(M, &info);
    cr_assert_eq(info.kind, FM_PRECOND_JACOBI);
    cr_assert_eq(info.factor_entries, 0);
    fm_precond_free(&M);
    // the SPD Jacobi refuses the negative diagonal
    cr_assert_eq(fm_precond_jacobi(&M, g, msg), FM_ERR_NUMERIC);
    cr_assert_null(M);
    fm_square_free(&g);

    a[8] = 0;   // stored as an explicit zero on the diagonal
    g = square_of(a, 3);
    cr_assert_eq(fm_precond_jacobi_general(&M, g, msg), FM_ERR_NUMERIC);
    cr_assert_not_null(strstr(msg, "row 3"), "%s", msg);
    cr_assert_null(M);
    fm_square_free(&g);
}

Test(ilu0, bad_arguments)
{
    char msg[FM_MSG_LEN];
    fm_precond *M = NULL;
    cr_assert_eq(fm_precond_ilu0(&M, NULL, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_precond_jacobi_general(&M, NULL, msg), FM_ERR_INVALID);
    double a[4] = { 1, 2, 3, 4 };
    fm_square *g = square_of(a, 2);
    cr_assert_eq(fm_precond_ilu0(NULL, g, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_precond_upper(NULL), NULL);
    fm_precond *none = NULL;
    cr_assert_eq(fm_precond_none(&none, 2, msg), FM_OK);
    cr_assert_null(fm_precond_upper(none));
    fm_precond_free(&none);
    fm_square_free(&g);
}
