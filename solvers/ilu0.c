// ILU(0) (P4): L unit lower and U upper, both on the pattern of A, with
// (L U)_ij = a_ij on that pattern.
//
// IKJ (row by row) Gaussian elimination on a copy of A's values, dropping
// every fill-in off the pattern: for row i and each k < i of its pattern in
// ascending order,
//   l_ik = a_ik / u_kk,   a_ij −= l_ik u_kj  for j > k in row k of U and in row i's pattern,
// then u_ii = a_ii (updated) is the pivot. Row i's pattern is mapped by a
// dense position array (column → entry, −1 off the pattern), so each update is
// one lookup. A pivot |u_ii| < FM_ILU_PIVOT_EPSILON · |a_ii| (the bound
// FM_ILU_PIVOT_EPSILON itself where a_ii = 0) is replaced by sign(u_ii) times
// the bound (+ for a zero) before later rows read it, and counted: the
// inference step of the learned LU (P6) for a classical factor. The rows
// depend on earlier rows, so the factorization is serial.
//
// Since A's rows are sorted, row i of the factored copy is L's strictly lower
// part, U's diagonal, then U's strictly upper part: L takes the first and a
// unit diagonal last, U the diagonal and the rest.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "precond_internal.h"
#include "status.h"

// Factors `value` (A's values in A's pattern `a`) in place; diagonal[i] is
// the entry of a_ii. Returns -1, or the row where a value went non-finite.
static int64_t ilu0_factor(const fm_csr *a, const int64_t *diagonal, double *value, int64_t *where,
                           int64_t *zero_pivots)
{
    const int64_t *start = a->start, *index = a->index;
    for (int64_t i = 0; i < a->n; i++) {
        int64_t first = start[i], end = start[i + 1], d = diagonal[i];
        for (int64_t q = first; q < end; q++) where[index[q]] = q;
        for (int64_t q = first; q < d; q++) {
            int64_t k = index[q];
            double l_ik = value[q] / value[diagonal[k]];
            value[q] = l_ik;
            for (int64_t t = diagonal[k] + 1; t < start[k + 1]; t++) {
                int64_t at = where[index[t]];
                if (at >= 0) value[at] -= l_ik * value[t];
            }
        }
        for (int64_t q = first; q < end; q++) where[index[q]] = -1;
        double a_ii = a->value[d], bound = a_ii != 0 ? FM_ILU_PIVOT_EPSILON * fabs(a_ii)
                                                     : FM_ILU_PIVOT_EPSILON;
        if (fabs(value[d]) < bound) {
            value[d] = value[d] < 0 ? -bound : bound;
            (*zero_pivots)++;
        }
        for (int64_t q = first; q < end; q++)
            if (!isfinite(value[q])) return i;
    }
    return -1;
}

int fm_precond_ilu0(fm_precond **out, const fm_square *A, char *msg)
{
    fm_precond *M = NULL;
    fm_csr *L = NULL, *U = NULL;
    double *value = NULL;
    int64_t *diagonal = NULL, *where = NULL;
#define FREE_ALL                                                             \
    do {                                                                     \
        fm_precond_free(&M);                                                 \
        fm_csr_free(&L);                                                     \
        fm_csr_free(&U);                                                     \
        fm_free_large(value);                                                \
        free(diagonal);                                                      \
        free(where);                                                         \
    } while (0)
    FM_CHECK(out != NULL && A != NULL && A->A != NULL, FM_ERR_INVALID,
             "ILU(0): no matrix or no output handle");
    *out = NULL;
    const fm_csr *a = A->A;
    int64_t n = a->n;
    FM_ALLOC(diagonal, n);
    int64_t lower_count = 0;   // strictly lower entries
    for (int64_t i = 0; i < n; i++) {
        int64_t d = a->start[i];
        while (d < a->start[i + 1] && a->index[d] < i) d++;
        FM_CHECK(d < a->start[i + 1] && a->index[d] == i, FM_ERR_INVALID,
                 "ILU(0): row %lld has no diagonal entry", (long long)(i + 1));
        diagonal[i] = d;
        lower_count += d - a->start[i];
    }
    FM_TRY(fm_precond_alloc(&M, FM_PRECOND_ILU0, n, msg));
    FM_ALLOC_LARGE(value, a->count);
    memcpy(value, a->value, sizeof(double) * (size_t)a->count);
    FM_ALLOC(where, n);
    for (int64_t j = 0; j < n; j++) where[j] = -1;
    int64_t row = ilu0_factor(a, diagonal, value, where, &M->zero_pivots);
    FM_CHECK(row < 0, FM_ERR_NUMERIC,
             "ILU(0): the factorization overflows in row %lld (a pivot far smaller than its row)",
             (long long)(row + 1));
    // L: the strictly lower entries and 1 last; U: the diagonal and the rest
    FM_TRY(fm_csr_new(&L, n, lower_count + n, msg));
    FM_TRY(fm_csr_new(&U, n, a->count - lower_count, msg));
    int64_t l = 0, u = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t q = a->start[i]; q < diagonal[i]; q++, l++) {
            L->index[l] = a->index[q];
            L->value[l] = value[q];
        }
        L->index[l] = i;
        L->value[l++] = 1;
        L->start[i + 1] = l;
        for (int64_t q = diagonal[i]; q < a->start[i + 1]; q++, u++) {
            U->index[u] = a->index[q];
            U->value[u] = value[q];
        }
        U->start[i + 1] = u;
    }
    FM_TRY(fm_precond_attach_factor(M, &L, &U, msg));
    fm_free_large(value);
    free(diagonal);
    free(where);
    *out = M;
    return FM_OK;
#undef FREE_ALL
}
