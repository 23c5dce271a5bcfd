// IC(0) (P4): L on the pattern of tril(A) with (L Lᵀ)_ij = a_ij on that
// pattern; a pivot that is not positive restarts the factorization on
// A + α·diag(A), α = 1e-3 doubling (Manteuffel's shift).
//
// Up-looking, one row of L at a time in double:
//   l_ij = (a_ij − Σ_{k<j} l_ik l_jk) / l_jj   for j < i in row i's pattern,
//   l_ii = sqrt(a_ii (1 + α) − Σ_{k<i} l_ik²).
// Row i is scattered into a dense vector w (zero off its pattern), and each
// Σ_k l_ik l_jk runs over row j of L reading w[k]: no search, no branch, one
// multiply-add per entry of row j. A merge of the two sorted rows costs
// |row i| + |row j| comparisons with unpredictable branches instead; the
// dense vector (n doubles, cache-resident at n = 10⁴) is simpler and faster,
// and its entries off the pattern read as zero, which is exactly the drop
// rule of IC(0). The rows depend on earlier rows, so the factorization is
// serial; its cost is Σ over the entries (i, j) of |row j|.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "precond_internal.h"
#include "status.h"

enum { IC0_MAX_TRIES = 30 };
#define IC0_FIRST_SHIFT 1e-3

// Factor the lower triangle `a` (by rows, the diagonal last) shifted by α
// into L (the same pattern). Returns -1 on success, else the row whose pivot
// was not positive and finite. w: n zeros on entry and on return.
static int64_t ic0_factor(fm_csr *L, const fm_csr *a, double alpha, double *w, double *pivot)
{
    const int64_t *start = a->start, *index = a->index;
    const double *a_value = a->value;
    double *l_value = L->value;
    for (int64_t i = 0; i < a->n; i++) {
        int64_t first = start[i], diagonal = start[i + 1] - 1;
        for (int64_t q = first; q < diagonal; q++) w[index[q]] = a_value[q];
        double squares = 0;
        for (int64_t q = first; q < diagonal; q++) {
            int64_t j = index[q];
            int64_t j_first = start[j], j_diagonal = start[j + 1] - 1;
            double s0 = 0, s1 = 0;
            int64_t t = j_first;
            for (; t + 1 < j_diagonal; t += 2) {
                s0 += w[index[t]] * l_value[t];
                s1 += w[index[t + 1]] * l_value[t + 1];
            }
            if (t < j_diagonal) s0 += w[index[t]] * l_value[t];
            double l_ij = (w[j] - (s0 + s1)) / l_value[j_diagonal];
            l_value[q] = l_ij;
            w[j] = l_ij;
            squares += l_ij * l_ij;
        }
        for (int64_t q = first; q < diagonal; q++) w[index[q]] = 0;
        double d = a_value[diagonal] * (1 + alpha) - squares;
        if (!(d > 0) || !isfinite(d)) {
            *pivot = d;
            return i;
        }
        l_value[diagonal] = sqrt(d);
    }
    return -1;
}

int fm_precond_ic0(fm_precond **out, const fm_square *A, char *msg)
{
    fm_precond *M = NULL;
    fm_csr *L = NULL;
    double *w = NULL;
#define FREE_ALL                                                             \
    do {                                                                     \
        fm_precond_free(&M);                                                 \
        fm_csr_free(&L);                                                     \
        free(w);                                                             \
    } while (0)
    FM_CHECK(out != NULL && A != NULL && A->lower != NULL, FM_ERR_INVALID,
             "IC(0): no matrix or no output handle");
    *out = NULL;
    const fm_csr *a = A->lower;
    // A non-positive diagonal entry stays so under every shift.
    for (int64_t i = 0; i < a->n; i++) {
        int64_t last = a->start[i + 1] - 1;
        FM_CHECK(last >= a->start[i] && a->index[last] == i, FM_ERR_INVALID,
                 "IC(0): row %lld has no diagonal entry", (long long)(i + 1));
        FM_CHECK(a->value[last] > 0, FM_ERR_NUMERIC,
                 "IC(0): the diagonal entry of row %lld is %g, not positive", (long long)(i + 1),
                 a->value[last]);
    }
    FM_TRY(fm_precond_alloc(&M, FM_PRECOND_IC0, a->n, msg));
    FM_TRY(fm_csr_copy(&L, a, msg));
    FM_ALLOC(w, a->n);
    double alpha = 0, pivot = 0;
    int tries = 0;
    int64_t row = -1;
    for (;;) {
        tries++;
        row = ic0_factor(L, a, alpha, w, &pivot);
        if (row < 0) break;
        FM_CHECK(tries < IC0_MAX_TRIES, FM_ERR_NUMERIC,
                 "IC(0): the pivot of row %lld is %g, not positive, even on A + %g·diag(A) "
                 "(%d factorizations)", (long long)(row + 1), pivot, alpha, tries);
        alpha = alpha == 0 ? IC0_FIRST_SHIFT : 2 * alpha;
    }
    M->shift = alpha;
    M->shift_tries = tries;
    FM_TRY(fm_precond_attach_lower(M, &L, msg));
    free(w);
    *out = M;
    return FM_OK;
#undef FREE_ALL
}
