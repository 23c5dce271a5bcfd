// The preconditioners (P4): IC(0) against a dense right-looking IC(0) and
// the defining property (L Lᵀ)_ij = a_ij on tril(A)'s pattern, its shifted
// retry, Jacobi, a given factor, CHOLMOD, and their errors.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "precond.h"
#include "solver_fixtures.h"

TestSuite(precond, .init = fm_test_setup);

// The textbook right-looking IC(0) on a dense copy, updates kept on the
// pattern of tril(A) only: the reference the row-by-row factorization must
// match. Returns L dense (row-major), or NULL at a pivot that is not positive.
static double *dense_ic0(const double *dense, int64_t n, double alpha)
{
    double *l = calloc(n * n, sizeof(double));
    cr_assert_not_null(l);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j <= i; j++) l[i * n + j] = dense[i * n + j] * (i == j ? 1 + alpha : 1);
    for (int64_t k = 0; k < n; k++) {
        if (!(l[k * n + k] > 0)) {
            free(l);
            return NULL;
        }
        l[k * n + k] = sqrt(l[k * n + k]);
        for (int64_t i = k + 1; i < n; i++)
            if (dense[i * n + k] != 0) l[i * n + k] /= l[k * n + k];
        for (int64_t j = k + 1; j < n; j++)
            for (int64_t i = j; i < n; i++)
                if (dense[i * n + j] != 0 || i == j) l[i * n + j] -= l[i * n + k] * l[j * n + k];
    }
    return l;
}

// L by rows as a dense row-major array (the pattern's zeros included).
static double *dense_of(const fm_csr *L)
{
    double *d = calloc(L->n * L->n, sizeof(double));
    cr_assert_not_null(d);
    for (int64_t i = 0; i < L->n; i++)
        for (int64_t q = L->start[i]; q < L->start[i + 1]; q++) d[i * L->n + L->index[q]] = L->value[q];
    return d;
}

// max over tril(A)'s pattern of |(L Lᵀ)_ij − a_ij (1 + α δ_ij)| / max |a_ij|
static double pattern_error(const fm_test_system *s, const fm_csr *L, double alpha)
{
    int64_t n = s->n;
    double *l = dense_of(L), worst = 0, scale = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j <= i; j++) {
            double a = s->dense[i * n + j] * (i == j ? 1 + alpha : 1);
            scale = fmax(scale, fabs(a));
            if (a == 0 && i != j) continue;
            double llt = 0;
            for (int64_t k = 0; k <= j; k++) llt += l[i * n + k] * l[j * n + k];
            worst = fmax(worst, fabs(llt - a));
        }
    free(l);
    return worst / scale;
}

static void check_ic0(fm_test_system *s, bool shift_expected)
{
    char msg[FM_MSG_LEN];
    fm_precond *M = NULL;
    cr_assert_eq(fm_precond_ic0(&M, s->graph, msg), FM_OK, "%s", msg);
    fm_precond_info info;
    fm_precond_info_get(M, &info);
    cr_assert_eq(info.kind, FM_PRECOND_IC0);
    const fm_csr *L = fm_precond_lower(M);
    cr_assert_not_null(L);
    cr_assert_eq(info.factor_entries, s->graph->lower->count);
    cr_assert_eq(L->count, s->graph->lower->count, "L has tril(A)'s pattern");
    cr_assert_eq(memcmp(L->index, s->graph->lower->index, sizeof(int64_t) * L->count), 0);
    if (shift_expected) {
        cr_assert_gt(info.shift, 0);
        cr_assert_gt(info.shift_tries, 1);
        // α = 1e-3 doubled once per further try
        cr_assert_float_eq(info.shift, 1e-3 * ldexp(1, info.shift_tries - 2), 1e-15);
        double previous = info.shift_tries == 2 ? 0 : info.shift / 2;
        cr_assert_null(dense_ic0(s->dense, s->n, previous), "the previous shift breaks down");
    } else {
        cr_assert_eq(info.shift, 0);
        cr_assert_eq(info.shift_tries, 1);
    }
    cr_assert_lt(pattern_error(s, L, info.shift), 1e-12, "L Lᵀ = A + α diag(A) on the pattern");
    double *reference = dense_ic0(s->dense, s->n, info.shift), *l = dense_of(L);
    cr_assert_not_null(reference);
    cr_assert_lt(fm_test_max_relative(l, reference, s->n * s->n), 1e-12);
    for (int64_t i = 0; i < s->n; i++) cr_assert_gt(l[i * s->n + i], 0);

    // apply: z solves L Lᵀ z = r
    double *r = fm_test_uniform_range(s->n, 7, -1, 1), *z = calloc(s->n, sizeof(double));
    double *back = calloc(s->n, sizeof(double)), *lt_z = calloc(s->n, sizeof(double));
    fm_precond_apply(M, r, z);
    for (int64_t i = 0; i < s->n; i++)
        for (int64_t k = i; k < s->n; k++) lt_z[i] += l[k * s->n + i] * z[k];
    for (int64_t i = 0; i < s->n; i++)
        for (int64_t k = 0; k <= i; k++) back[i] += l[i * s->n + k] * lt_z[k];
    cr_assert_lt(fm_test_max_relative(back, r, s->n), 1e-10);
    free(r);
    free(z);
    free(back);
    free(lt_z);
    free(l);
    free(reference);
    fm_precond_free(&M);
    cr_assert_null(M);
}

Test(precond, ic0_laplacian_needs_no_shift)
{
    fm_test_system s = fm_test_laplacian(9);
    check_ic0(&s, false);
    fm_test_system_free(&s);
}

Test(precond, ic0_random_spd_matches_dense_reference)
{
    // α = n keeps A diagonally dominant enough for an unshifted IC(0)
    for (uint64_t seed = 1; seed <= 3; seed++) {
        fm_test_system s = fm_test_random_spd(60, 150, 60, seed);
        check_ic0(&s, false);
        fm_test_system_free(&s);
    }
}

Test(precond, ic0_shifts_on_kershaw)
{
    fm_test_system s = fm_test_kershaw(5);
    cr_assert_null(dense_ic0(s.dense, s.n, 0), "the fixture must break plain IC(0)");
    check_ic0(&s, true);
    fm_test_system_free(&s);
}

Test(precond, ic0_nonpositive_diagonal_is_an_error)
{
    fm_test_system s = fm_test_laplacian(3);
    s.dense[4 * 9 + 4] = -1;
    fm_square_free(&s.graph);
    s.graph = fm_test_square_dense(s.dense, s.n);
    char msg[FM_MSG_LEN];
    fm_precond *M = NULL;
    cr_assert_eq(fm_precond_ic0(&M, s.graph, msg), FM_ERR_NUMERIC);
    cr_assert_null(M);
    cr_assert_not_null(strstr(msg, "row 5"), "%s", msg);
    fm_test_system_free(&s);
}

Test(precond, jacobi_divides_by_the_diagonal)
{
    fm_test_system s = fm_test_random_spd(30, 60, 0.5, 4);
    char msg[FM_MSG_LEN];
    fm_precond *M = NULL;
    cr_assert_eq(fm_precond_jacobi(&M, s.graph, msg), FM_OK, "%s", msg);
    double *r = fm_test_uniform_range(s.n, 3, -1, 1), z[30];
    fm_precond_apply(M, r, z);
    for (int64_t i = 0; i < s.n; i++)
        cr_assert_float_eq(z[i] * s.dense[i * s.n + i], r[i], 1e-14 * (1 + fabs(r[i])));
    fm_precond_info info;
    fm_precond_info_get(M, &info);
    cr_assert_eq(info.kind, FM_PRECOND_JACOBI);
    cr_assert_eq(info.factor_entries, 0);
    cr_assert_null(fm_precond_lower(M));
    free(r);
    fm_precond_free(&M);
    fm_test_system_free(&s);
}

Test(precond, jacobi_zero_or_negative_diagonal_names_the_row)
{
    const double values[] = { 0, -2.5 };
    for (int v = 0; v < 2; v++) {
        fm_test_system s = fm_test_laplacian(3);
        s.dense[6 * 9 + 6] = values[v];
        fm_square_free(&s.graph);
        s.graph = fm_test_square_dense(s.dense, s.n);
        char msg[FM_MSG_LEN];
        fm_precond *M = NULL;
        cr_assert_eq(fm_precond_jacobi(&M, s.graph, msg), FM_ERR_NUMERIC);
        cr_assert_null(M);
        cr_assert_not_null(strstr(msg, "row 7"), "%s", msg);
        fm_test_system_free(&s);
    }
}

Test(precond, none_copies)
{
    char msg[FM_MSG_LEN];
    fm_precond *M = NULL;
    cr_assert_eq(fm_precond_none(&M, 5, msg), FM_OK, "%s", msg);
    double r[5] = { 1, -2, 3, 0, 5 }, z[5];
    fm_precond_apply(M, r, z);
    cr_assert_eq(memcmp(r, z, sizeof r), 0);
    fm_precond_free(&M);
    cr_assert_eq(fm_precond_none(&M, 0, msg), FM_ERR_INVALID);
    cr_assert_null(M);
}

// L by rows from a dense lower triangle's nonzeros and diagonal.
static fm_csr *csr_lower(const double *l, int64_t n)
{
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j <= i; j++) count += l[i * n + j] != 0 || i == j;
    fm_csr *L = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_csr_new(&L, n, count, msg), FM_OK, "%s", msg);
    count = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j <= i; j++)
            if (l[i * n + j] != 0 || i == j) {
                L->index[count] = j;
                L->value[count++] = l[i * n + j];
            }
        L->start[i + 1] = count;
    }
    L->count = count;
    return L;
}

Test(precond, from_lower_takes_the_factor)
{
    int64_t n = 40;
    double *l = fm_test_uniform_range(n * n, 11, -1, 1);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            if (j > i || (j < i && (i * 7 + j * 3) % 5 != 0)) l[i * n + j] = 0;
            if (j == i) l[i * n + j] = 1 + fabs(l[i * n + j]);
        }
    fm_csr *L = csr_lower(l, n);
    fm_csr *given = L;
    char msg[FM_MSG_LEN];
    fm_precond *M = NULL;
    cr_assert_eq(fm_precond_from_lower(&M, &L, msg), FM_OK, "%s", msg);
    cr_assert_null(L, "ownership taken");
    cr_assert_eq(fm_precond_lower(M), given);
    fm_precond_info info;
    fm_precond_info_get(M, &info);
    cr_assert_eq(info.kind, FM_PRECOND_FACTOR);
    cr_assert_eq(info.factor_entries, given->count);
    // z against the dense solve of (L Lᵀ) z = r
    double *llt = calloc(n * n, sizeof(double));
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            for (int64_t k = 0; k < n; k++) llt[i * n + j] += l[i * n + k] * l[j * n + k];
    double *r = fm_test_uniform_range(n, 12, -1, 1), *z = calloc(n, sizeof(double));
    double *expected = calloc(n, sizeof(double));
    fm_test_dense_solve(llt, n, r, expected);
    fm_precond_apply(M, r, z);
    cr_assert_lt(fm_test_max_relative(z, expected, n), 1e-10);
    fm_precond_free(&M);

    // a zero diagonal entry: FM_ERR_NUMERIC, and L stays the caller's
    l[5 * n + 5] = 0;
    L = csr_lower(l, n);
    cr_assert_eq(fm_precond_from_lower(&M, &L, msg), FM_ERR_NUMERIC);
    cr_assert_null(M);
    cr_assert_not_null(L);
    cr_assert_not_null(strstr(msg, "L(6, 6)"), "%s", msg);
    fm_csr_free(&L);
    // a NaN
    l[5 * n + 5] = NAN;
    L = csr_lower(l, n);
    cr_assert_eq(fm_precond_from_lower(&M, &L, msg), FM_ERR_NUMERIC);
    fm_csr_free(&L);
    // a row that does not end with its diagonal
    l[5 * n + 5] = 1;
    L = csr_lower(l, n);
    L->index[L->start[3 + 1] - 1] = 2;
    cr_assert_eq(fm_precond_from_lower(&M, &L, msg), FM_ERR_INVALID);
    cr_assert_not_null(strstr(msg, "row 4"), "%s", msg);
    fm_csr_free(&L);
    free(l);
    free(llt);
    free(r);
    free(z);
    free(expected);
}

Test(precond, direct_solves_a)
{
    fm_test_system s = fm_test_random_spd(80, 400, 1e-3, 5);
    char msg[FM_MSG_LEN];
    fm_precond *M = NULL;
    cr_assert_eq(fm_precond_direct(&M, s.graph, msg), FM_OK, "%s", msg);
    fm_precond_info info;
    fm_precond_info_get(M, &info);
    cr_assert_eq(info.kind, FM_PRECOND_DIRECT);
    cr_assert_geq(info.factor_entries, s.graph->lower->count / 2);
    cr_assert_null(fm_precond_lower(M));
    double *r = fm_test_uniform_range(s.n, 21, 0, 1), *z = calloc(s.n, sizeof(double));
    double *expected = calloc(s.n, sizeof(double));
    fm_test_dense_solve(s.dense, s.n, r, expected);
    for (int round = 0; round < 2; round++) {   // the workspace is reused
        memset(z, 0, sizeof(double) * s.n);
        fm_precond_apply(M, r, z);
        cr_assert_lt(fm_test_max_relative(z, expected, s.n), 1e-8);
    }
    free(r);
    free(z);
    free(expected);
    fm_precond_free(&M);
    fm_test_system_free(&s);
}

Test(precond, direct_indefinite_is_an_error)
{
    // Kershaw's matrix with its diagonal lowered below its least eigenvalue
    fm_test_system s = fm_test_kershaw(3);
    for (int64_t i = 0; i < s.n; i++) s.dense[i * s.n + i] -= 1;
    fm_square_free(&s.graph);
    s.graph = fm_test_square_dense(s.dense, s.n);
    char msg[FM_MSG_LEN];
    fm_precond *M = NULL;
    cr_assert_eq(fm_precond_direct(&M, s.graph, msg), FM_ERR_NUMERIC);
    cr_assert_null(M);
    cr_assert_not_null(strstr(msg, "not positive definite (column"), "%s", msg);
    fm_test_system_free(&s);
}

Test(precond, names)
{
    cr_assert_str_eq(fm_precond_name(FM_PRECOND_NONE), "none");
    cr_assert_str_eq(fm_precond_name(FM_PRECOND_JACOBI), "jacobi");
    cr_assert_str_eq(fm_precond_name(FM_PRECOND_IC0), "ic0");
    cr_assert_str_eq(fm_precond_name(FM_PRECOND_FACTOR), "neuralif");
    cr_assert_str_eq(fm_precond_name(FM_PRECOND_DIRECT), "direct");
}
