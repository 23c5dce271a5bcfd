// The direct method for a general A as a preconditioner (P4): UMFPACK
// factors A once (its fill-reducing ordering, scaling and threshold partial
// pivoting) and each apply solves A z = r with the factors, M = A. The
// practitioner's alternative to GMRES at moderate n; GMRES with it converges
// in one iteration.
//
// A by rows is Aᵀ by columns: UMFPACK factors that CSC matrix as it is, with
// no copy, and each apply solves its array transpose (UMFPACK_Aat), which is
// A. No iterative refinement (UMFPACK_IRSTEP 0), as CHOLMOD's solve in
// direct.c: one forward and one backward solve per apply, A not kept.
#include <stdlib.h>
#include <umfpack.h>

#include "precond_internal.h"
#include "status.h"

// OpenBLAS, single-threaded inside the engine (engine/runtime.c): the
// numeric factorization is BLAS-3 work and gets the engine's threads.
void openblas_set_num_threads(int num_threads);

// The index arrays of fm_csr are handed to UMFPACK's 64-bit interface as they are.
_Static_assert(sizeof(SuiteSparse_long) == sizeof(int64_t), "UMFPACK's long is 64 bits");

struct fm_direct_lu {
    int64_t n;
    void *numeric;
    double control[UMFPACK_CONTROL];
    SuiteSparse_long *wi;  // umfpack_dl_wsolve's workspace, kept for every apply
    double *w;
};

void fm_direct_lu_free(struct fm_direct_lu **direct)
{
    if (!direct || !*direct) return;
    struct fm_direct_lu *d = *direct;
    if (d->numeric) umfpack_dl_free_numeric(&d->numeric);
    free(d->wi);
    free(d->w);
    free(d);
    *direct = NULL;
}

static int umfpack_failure(SuiteSparse_long status, const char *call, char *msg)
{
    if (status == UMFPACK_ERROR_out_of_memory)
        return fm_fail(FM_ERR_MEMORY, msg, "UMFPACK: out of memory in %s", call);
    return fm_fail(FM_ERR_NUMERIC, msg, "UMFPACK: %s failed (status %lld)", call, (long long)status);
}

int fm_precond_direct_lu(fm_precond **out, const fm_square *A, char *msg)
{
    fm_precond *M = NULL;
    void *symbolic = NULL;
#define FREE_ALL                                                             \
    do {                                                                     \
        if (symbolic) umfpack_dl_free_symbolic(&symbolic);                   \
        fm_precond_free(&M);                                                 \
    } while (0)
    FM_CHECK(out != NULL && A != NULL && A->A != NULL, FM_ERR_INVALID,
             "direct LU: no matrix or no output handle");
    *out = NULL;
    FM_TRY(fm_precond_alloc(&M, FM_PRECOND_DIRECT_LU, A->n, msg));
    FM_ALLOC(M->direct_lu, 1);
    struct fm_direct_lu *d = M->direct_lu;
    int64_t n = A->n;
    d->n = n;
    FM_ALLOC(d->wi, n);
    FM_ALLOC(d->w, n);     // n doubles without iterative refinement
    umfpack_dl_defaults(d->control);
    d->control[UMFPACK_IRSTEP] = 0;

    const fm_csr *a = A->A;     // Aᵀ by columns
    const SuiteSparse_long *start = (const SuiteSparse_long *)a->start;
    const SuiteSparse_long *index = (const SuiteSparse_long *)a->index;
    double info[UMFPACK_INFO];
    SuiteSparse_long status = umfpack_dl_symbolic(n, n, start, index, a->value, &symbolic, d->control, info);
    if (status != UMFPACK_OK) {
        int fail = umfpack_failure(status, "symbolic analysis", msg);
        FREE_ALL;
        return fail;
    }
    openblas_set_num_threads(fm_get_threads());
    status = umfpack_dl_numeric(start, index, a->value, symbolic, &d->numeric, d->control, info);
    openblas_set_num_threads(1);
    umfpack_dl_free_symbolic(&symbolic);
    symbolic = NULL;
    if (status == UMFPACK_WARNING_singular_matrix) {
        SuiteSparse_long lnz = 0, unz = 0, rows = 0, columns = 0, nonzero_pivots = 0;
        umfpack_dl_get_lunz(&lnz, &unz, &rows, &columns, &nonzero_pivots, d->numeric);
        FM_FAIL(FM_ERR_NUMERIC, "UMFPACK: the matrix is singular (%lld of its %lld pivots are zero)",
                (long long)(n - nonzero_pivots), (long long)n);
    }
    // UMFPACK_WARNING_determinant_underflow and _overflow concern only the
    // determinant it computes beside the factors
    if (status < 0) {
        int fail = umfpack_failure(status, "numeric factorization", msg);
        FREE_ALL;
        return fail;
    }
    SuiteSparse_long lnz = 0, unz = 0, rows = 0, columns = 0, nonzero_pivots = 0;
    status = umfpack_dl_get_lunz(&lnz, &unz, &rows, &columns, &nonzero_pivots, d->numeric);
    if (status != UMFPACK_OK) {
        int fail = umfpack_failure(status, "get_lunz", msg);
        FREE_ALL;
        return fail;
    }
    M->direct_entries = (int64_t)(lnz + unz);   // both diagonals included, as ILUT's
    *out = M;
    return FM_OK;
#undef FREE_ALL
}

void fm_direct_lu_apply(struct fm_direct_lu *direct, const double *r, double *z)
{
    // (Aᵀ)ᵀ z = r; wsolve allocates nothing, and the matrix is nonsingular,
    // so it cannot fail but on an internal error: then z is NaN, which the
    // Krylov solver reports as a breakdown
    SuiteSparse_long status = umfpack_dl_wsolve(UMFPACK_Aat, NULL, NULL, NULL, z, r, direct->numeric,
                                                direct->control, NULL, direct->wi, direct->w);
    if (status != UMFPACK_OK)
        for (int64_t i = 0; i < direct->n; i++) z[i] = __builtin_nan("");
}
