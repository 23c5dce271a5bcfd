// Preconditioners M ≈ A (P4): none, Jacobi (SPD and general), a given factor
// L (M = L Lᵀ) or L and U (M = L U), and what they share: applying z = M⁻¹ r,
// the report, freeing. IC(0) is built in ic0.c, ILU(0) in ilu0.c and CHOLMOD's
// direct factorization in direct.c.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "precond_internal.h"
#include "status.h"

int fm_precond_alloc(fm_precond **out, fm_precond_kind kind, int64_t n, char *msg)
{
    fm_precond *M = NULL;
#define FREE_ALL fm_precond_free(&M)
    FM_CHECK(out != NULL, FM_ERR_INVALID, "preconditioner: no output handle");
    *out = NULL;
    FM_CHECK(n >= 1, FM_ERR_INVALID, "preconditioner: the order n = %lld is not positive", (long long)n);
    FM_ALLOC(M, 1);
    M->kind = kind;
    M->n = n;
    *out = M;
    return FM_OK;
#undef FREE_ALL
}

int fm_precond_none(fm_precond **out, int64_t n, char *msg)
{
    return fm_precond_alloc(out, FM_PRECOND_NONE, n, msg);
}

int fm_precond_jacobi(fm_precond **out, const fm_square *A, char *msg)
{
    fm_precond *M = NULL;
#define FREE_ALL fm_precond_free(&M)
    FM_CHECK(out != NULL && A != NULL && A->lower != NULL, FM_ERR_INVALID,
             "Jacobi: no matrix or no output handle");
    *out = NULL;
    FM_TRY(fm_precond_alloc(&M, FM_PRECOND_JACOBI, A->n, msg));
    FM_ALLOC(M->inverse_diagonal, A->n);
    const fm_csr *lower = A->lower;
    for (int64_t i = 0; i < A->n; i++) {
        int64_t last = lower->start[i + 1] - 1;
        FM_CHECK(last >= lower->start[i] && lower->index[last] == i, FM_ERR_INVALID,
                 "Jacobi: row %lld has no diagonal entry", (long long)(i + 1));
        double d = lower->value[last];
        FM_CHECK(d > 0 && isfinite(d), FM_ERR_NUMERIC,
                 "Jacobi: the diagonal entry of row %lld is %g, not positive", (long long)(i + 1), d);
        M->inverse_diagonal[i] = 1 / d;
    }
    *out = M;
    return FM_OK;
#undef FREE_ALL
}

int fm_precond_jacobi_general(fm_precond **out, const fm_square *A, char *msg)
{
    fm_precond *M = NULL;
#define FREE_ALL fm_precond_free(&M)
    FM_CHECK(out != NULL && A != NULL && A->lower != NULL, FM_ERR_INVALID,
             "Jacobi: no matrix or no output handle");
    *out = NULL;
    FM_TRY(fm_precond_alloc(&M, FM_PRECOND_JACOBI, A->n, msg));
    FM_ALLOC(M->inverse_diagonal, A->n);
    const fm_csr *lower = A->lower;
    for (int64_t i = 0; i < A->n; i++) {
        int64_t last = lower->start[i + 1] - 1;
        FM_CHECK(last >= lower->start[i] && lower->index[last] == i, FM_ERR_INVALID,
                 "Jacobi: row %lld has no diagonal entry", (long long)(i + 1));
        double d = lower->value[last];
        FM_CHECK(d != 0 && isfinite(d), FM_ERR_NUMERIC,
                 "Jacobi: the diagonal entry of row %lld is %g, not a nonzero number",
                 (long long)(i + 1), d);
        double inverse = 1 / d;
        FM_CHECK(isfinite(inverse), FM_ERR_NUMERIC,
                 "Jacobi: the diagonal entry of row %lld is %g, whose inverse overflows",
                 (long long)(i + 1), d);
        M->inverse_diagonal[i] = inverse;
    }
    *out = M;
    return FM_OK;
#undef FREE_ALL
}

// Fewer entries than this (L and U together): both schedules on one thread.
#define FM_SCHEDULES_PARALLEL_ENTRIES 131072

int fm_precond_attach_factor(fm_precond *M, fm_csr **L, fm_csr **U, char *msg)
{
    fm_levels *lower_levels = NULL, *upper_levels = NULL;
    double *work = NULL;
#define FREE_ALL                                                             \
    do {                                                                     \
        fm_levels_free(&lower_levels);                                       \
        fm_levels_free(&upper_levels);                                       \
        free(work);                                                          \
    } while (0)
    // the two schedules are independent: one a thread (the sets' and the
    // stages' searches and copies made them 40 ms each at g = 700)
    char upper_msg[FM_MSG_LEN] = "";
    int lower_status = FM_OK, upper_status = FM_OK;
#pragma omp parallel sections num_threads(2) if ((*L)->count + (*U)->count >= FM_SCHEDULES_PARALLEL_ENTRIES)
    {
#pragma omp section
        lower_status = fm_levels_new(&lower_levels, *L, true, msg);
#pragma omp section
        upper_status = fm_levels_new(&upper_levels, *U, false, upper_msg);
    }
    FM_TRY(lower_status);
    if (upper_status != FM_OK) {
        snprintf(msg, FM_MSG_LEN, "%s", upper_msg);
        FM_TRY(upper_status);
    }
    FM_ALLOC(work, M->n);
    M->lower = *L;
    M->upper = *U;
    *L = NULL;
    *U = NULL;
    M->lower_levels = lower_levels;
    M->upper_levels = upper_levels;
    M->work = work;
    return FM_OK;
#undef FREE_ALL
}

// L: lower by rows, ascending, the diagonal last, finite, a nonzero diagonal
// (so its columns lie in 0..i once the first is not negative).
static int check_lower(const fm_csr *l, char *msg)
{
    if (l->start[0] != 0 || l->start[l->n] > l->count)
        return fm_fail(FM_ERR_INVALID, msg, "factor: the rows of L span entries %lld..%lld of %lld stored",
                       (long long)l->start[0], (long long)l->start[l->n], (long long)l->count);
    for (int64_t i = 0; i < l->n; i++) {
        int64_t first = l->start[i], last = l->start[i + 1] - 1;
        if (!(last >= first && l->index[last] == i))
            return fm_fail(FM_ERR_INVALID, msg, "factor: row %lld of L does not end with its diagonal entry",
                           (long long)(i + 1));
        if (l->index[first] < 0)
            return fm_fail(FM_ERR_INVALID, msg, "factor: row %lld of L holds column %lld, outside 1..%lld",
                           (long long)(i + 1), (long long)(l->index[first] + 1), (long long)l->n);
        for (int64_t q = first; q <= last; q++) {
            if (!(q == first || l->index[q - 1] < l->index[q]))
                return fm_fail(FM_ERR_INVALID, msg, "factor: row %lld of L is not in ascending column order",
                               (long long)(i + 1));
            if (!isfinite(l->value[q]))
                return fm_fail(FM_ERR_NUMERIC, msg, "factor: L(%lld, %lld) = %g is not finite",
                               (long long)(i + 1), (long long)(l->index[q] + 1), l->value[q]);
        }
        if (l->value[last] == 0)
            return fm_fail(FM_ERR_NUMERIC, msg, "factor: the diagonal entry L(%lld, %lld) is zero",
                           (long long)(i + 1), (long long)(i + 1));
    }
    return FM_OK;
}

// U: upper by rows, ascending, the diagonal first, finite, a nonzero diagonal
// (so its columns lie in i..n−1 once the last is below n).
static int check_upper(const fm_csr *u, char *msg)
{
    if (u->start[0] != 0 || u->start[u->n] > u->count)
        return fm_fail(FM_ERR_INVALID, msg, "factor: the rows of U span entries %lld..%lld of %lld stored",
                       (long long)u->start[0], (long long)u->start[u->n], (long long)u->count);
    for (int64_t i = 0; i < u->n; i++) {
        int64_t first = u->start[i], last = u->start[i + 1] - 1;
        if (!(last >= first && u->index[first] == i))
            return fm_fail(FM_ERR_INVALID, msg,
                           "factor: row %lld of U does not begin with its diagonal entry", (long long)(i + 1));
        if (u->index[last] >= u->n)
            return fm_fail(FM_ERR_INVALID, msg, "factor: row %lld of U holds column %lld, outside 1..%lld",
                           (long long)(i + 1), (long long)(u->index[last] + 1), (long long)u->n);
        for (int64_t q = first; q <= last; q++) {
            if (!(q == first || u->index[q - 1] < u->index[q]))
                return fm_fail(FM_ERR_INVALID, msg, "factor: row %lld of U is not in ascending column order",
                               (long long)(i + 1));
            if (!isfinite(u->value[q]))
                return fm_fail(FM_ERR_NUMERIC, msg, "factor: U(%lld, %lld) = %g is not finite",
                               (long long)(i + 1), (long long)(u->index[q] + 1), u->value[q]);
        }
        if (u->value[first] == 0)
            return fm_fail(FM_ERR_NUMERIC, msg, "factor: the diagonal entry U(%lld, %lld) is zero",
                           (long long)(i + 1), (long long)(i + 1));
    }
    return FM_OK;
}

int fm_precond_attach_lower(fm_precond *M, fm_csr **L, char *msg)
{
    fm_csr *upper = NULL;
#define FREE_ALL fm_csr_free(&upper)
    FM_CHECK(L != NULL && *L != NULL, FM_ERR_INVALID, "factor: no matrix L");
    const fm_csr *l = *L;
    FM_CHECK(l->n == M->n, FM_ERR_INVALID, "factor: L is %lld x %lld for %lld unknowns",
             (long long)l->n, (long long)l->n, (long long)M->n);
    FM_TRY(check_lower(l, msg));
    FM_TRY(fm_csr_transpose(&upper, l, msg));
    FM_TRY(fm_precond_attach_factor(M, L, &upper, msg));
    return FM_OK;
#undef FREE_ALL
}

int fm_precond_from_lower(fm_precond **out, fm_csr **L, char *msg)
{
    fm_precond *M = NULL;
#define FREE_ALL fm_precond_free(&M)
    FM_CHECK(out != NULL && L != NULL && *L != NULL, FM_ERR_INVALID, "factor: no matrix L or no output handle");
    *out = NULL;
    FM_TRY(fm_precond_alloc(&M, FM_PRECOND_FACTOR, (*L)->n, msg));
    FM_TRY(fm_precond_attach_lower(M, L, msg));
    *out = M;
    return FM_OK;
#undef FREE_ALL
}

int fm_precond_from_lu(fm_precond **out, fm_csr **L, fm_csr **U, char *msg)
{
    fm_precond *M = NULL;
#define FREE_ALL fm_precond_free(&M)
    FM_CHECK(out != NULL && L != NULL && *L != NULL && U != NULL && *U != NULL, FM_ERR_INVALID,
             "factor: no matrix L, no matrix U or no output handle");
    *out = NULL;
    FM_CHECK((*L)->n == (*U)->n, FM_ERR_INVALID, "factor: L is %lld x %lld but U is %lld x %lld",
             (long long)(*L)->n, (long long)(*L)->n, (long long)(*U)->n, (long long)(*U)->n);
    FM_TRY(check_lower(*L, msg));
    FM_TRY(check_upper(*U, msg));
    FM_TRY(fm_precond_alloc(&M, FM_PRECOND_LU_FACTOR, (*L)->n, msg));
    FM_TRY(fm_precond_attach_factor(M, L, U, msg));
    *out = M;
    return FM_OK;
#undef FREE_ALL
}

void fm_precond_apply(const fm_precond *M, const double *r, double *z)
{
    int64_t n = M->n;
    switch (M->kind) {
    case FM_PRECOND_JACOBI: {
        const double *inverse = M->inverse_diagonal;
#pragma omp parallel for schedule(static) if (n > 16384)
        for (int64_t i = 0; i < n; i++) z[i] = inverse[i] * r[i];
        break;
    }
    case FM_PRECOND_IC0:
    case FM_PRECOND_FACTOR:
    case FM_PRECOND_ILU0:
    case FM_PRECOND_LU_FACTOR:
        // L y = r, then Lᵀ z = y (or U z = y: P1, one forward and one backward solve)
        fm_solve_lower(M->lower, M->lower_levels, r, M->work);
        fm_solve_upper(M->upper, M->upper_levels, M->work, z);
        break;
    case FM_PRECOND_DIRECT:
        fm_direct_apply(M->direct, r, z);
        break;
    case FM_PRECOND_ILUT:
        fm_ilut_apply(M->ilut, r, z);
        break;
    case FM_PRECOND_DIRECT_LU:
        fm_direct_lu_apply(M->direct_lu, r, z);
        break;
    case FM_PRECOND_NONE:
    default:
        memcpy(z, r, sizeof(double) * (size_t)n);
        break;
    }
}

void fm_precond_info_get(const fm_precond *M, fm_precond_info *info)
{
    memset(info, 0, sizeof *info);
    info->kind = M->kind;
    info->shift = M->shift;
    info->shift_tries = M->shift_tries;
    if (M->lower) info->factor_entries = M->lower->count;
    // CHOLMOD's, ILUT's and UMFPACK's factors (their entries counted where built)
    if (M->kind == FM_PRECOND_DIRECT || M->kind == FM_PRECOND_ILUT || M->kind == FM_PRECOND_DIRECT_LU)
        info->factor_entries = M->direct_entries;
    if (M->kind == FM_PRECOND_ILU0 || M->kind == FM_PRECOND_LU_FACTOR)
        info->factor_entries = M->lower->count + M->upper->count;
    info->zero_pivots = M->zero_pivots;
    if (M->kind == FM_PRECOND_ILUT) {
        info->drop_tolerance = M->ilut_options.drop_tolerance;
        info->fill_factor = M->ilut_options.fill_factor;
    }
}

static fm_solve_path taken(const fm_levels *levels)
{
    return levels->path == FM_SOLVE_AUTO ? fm_levels_chosen(levels, NULL) : levels->path;
}

bool fm_precond_paths(const fm_precond *M, fm_solve_path *lower, fm_solve_path *upper)
{
    if (!M->lower_levels || !M->upper_levels) return false;
    *lower = taken(M->lower_levels);
    *upper = taken(M->upper_levels);
    return true;
}

const fm_csr *fm_precond_lower(const fm_precond *M)
{
    return M ? M->lower : NULL;
}

const fm_csr *fm_precond_upper(const fm_precond *M)
{
    return M ? M->upper : NULL;
}

void fm_precond_free(fm_precond **M)
{
    if (!M || !*M) return;
    fm_precond *p = *M;
    free(p->inverse_diagonal);
    fm_csr_free(&p->lower);
    fm_csr_free(&p->upper);
    fm_levels_free(&p->lower_levels);
    fm_levels_free(&p->upper_levels);
    free(p->work);
    if (p->direct) fm_direct_free(&p->direct);
    fm_ilut_free(&p->ilut);
    fm_direct_lu_free(&p->direct_lu);
    free(p);
    *M = NULL;
}

const char *fm_precond_name(fm_precond_kind kind)
{
    switch (kind) {
    case FM_PRECOND_NONE: return "none";
    case FM_PRECOND_JACOBI: return "jacobi";
    case FM_PRECOND_IC0: return "ic0";
    case FM_PRECOND_FACTOR: return "neuralif";
    case FM_PRECOND_DIRECT: return "direct";
    case FM_PRECOND_ILU0: return "ilu0";
    case FM_PRECOND_ILUT: return "ilut";
    case FM_PRECOND_LU_FACTOR: return "learned-lu";
    case FM_PRECOND_DIRECT_LU: return "direct-lu";
    }
    return "unknown";
}
