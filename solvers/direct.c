// The direct method as a preconditioner (P4): CHOLMOD factors A = L Lᵀ
// (supernodal or simplicial, its choice, with its fill-reducing ordering),
// and each apply solves A z = r. The practitioner's alternative to an
// iterative solve; PCG with it converges in one iteration.
#include <cholmod.h>
#include <stdlib.h>
#include <string.h>

#include "precond_internal.h"
#include "status.h"

// The index arrays of fm_csr are handed to CHOLMOD's 64-bit interface as they are.
_Static_assert(sizeof(SuiteSparse_long) == sizeof(int64_t), "CHOLMOD's long is 64 bits");

struct fm_direct {
    cholmod_common common;
    int started;
    cholmod_factor *factor;
    cholmod_dense *solution, *work_y, *work_e;   // cholmod_l_solve2's, reused
};

void fm_direct_free(struct fm_direct **direct)
{
    if (!direct || !*direct) return;
    struct fm_direct *d = *direct;
    if (d->started) {
        cholmod_l_free_factor(&d->factor, &d->common);
        cholmod_l_free_dense(&d->solution, &d->common);
        cholmod_l_free_dense(&d->work_y, &d->common);
        cholmod_l_free_dense(&d->work_e, &d->common);
        cholmod_l_finish(&d->common);
    }
    free(d);
    *direct = NULL;
}

static int cholmod_failure(const cholmod_common *common, const char *call, char *msg)
{
    if (common->status == CHOLMOD_OUT_OF_MEMORY)
        return fm_fail(FM_ERR_MEMORY, msg, "CHOLMOD: out of memory in %s", call);
    return fm_fail(FM_ERR_NUMERIC, msg, "CHOLMOD: %s failed (status %d)", call, common->status);
}

int fm_precond_direct(fm_precond **out, const fm_square *A, char *msg)
{
    fm_precond *M = NULL;
#define FREE_ALL fm_precond_free(&M)
    FM_CHECK(out != NULL && A != NULL && A->lower_by_columns != NULL, FM_ERR_INVALID,
             "direct: no matrix or no output handle");
    *out = NULL;
    FM_TRY(fm_precond_alloc(&M, FM_PRECOND_DIRECT, A->n, msg));
    FM_ALLOC(M->direct, 1);
    struct fm_direct *d = M->direct;
    cholmod_common *common = &d->common;
    cholmod_l_start(common);
    d->started = 1;
    common->print = 0;             // no message on stderr: the status says it
    common->error_handler = NULL;
    common->final_ll = 1;          // L Lᵀ, so an indefinite A fails at its pivot
    common->quick_return_if_not_posdef = 1;

    // The lower triangle by columns is the lower part by columns of the
    // graph, wrapped without a copy (CHOLMOD reads it, stype -1: lower).
    const fm_csr *lower = A->lower_by_columns;
    cholmod_sparse matrix = {
        .nrow = (size_t)A->n, .ncol = (size_t)A->n, .nzmax = (size_t)lower->count,
        .p = lower->start, .i = lower->index, .x = lower->value,
        .stype = -1, .itype = CHOLMOD_LONG, .xtype = CHOLMOD_REAL, .dtype = CHOLMOD_DOUBLE,
        .sorted = 1, .packed = 1,
    };
    d->factor = cholmod_l_analyze(&matrix, common);
    if (!d->factor) {
        int status = cholmod_failure(common, "analyze", msg);
        FREE_ALL;
        return status;
    }
    M->direct_entries = (int64_t)common->lnz;
    int ok = cholmod_l_factorize(&matrix, d->factor, common);
    if (common->status == CHOLMOD_NOT_POSDEF || (ok && d->factor->minor < (size_t)A->n))
        FM_FAIL(FM_ERR_NUMERIC, "CHOLMOD: the matrix is not positive definite (column %lld)",
                (long long)d->factor->minor + 1);
    if (!ok || common->status < CHOLMOD_OK) {
        int status = cholmod_failure(common, "factorize", msg);
        FREE_ALL;
        return status;
    }
    *out = M;
    return FM_OK;
#undef FREE_ALL
}

void fm_direct_apply(struct fm_direct *direct, const double *r, double *z)
{
    size_t n = direct->factor->n;
    // r as CHOLMOD's right-hand side, without a copy (solve2 only reads it)
    cholmod_dense rhs = {
        .nrow = n, .ncol = 1, .nzmax = n, .d = n, .x = (void *)r,
        .xtype = CHOLMOD_REAL, .dtype = CHOLMOD_DOUBLE,
    };
    if (cholmod_l_solve2(CHOLMOD_A, direct->factor, &rhs, NULL, &direct->solution, NULL,
                         &direct->work_y, &direct->work_e, &direct->common)) {
        memcpy(z, direct->solution->x, sizeof(double) * n);
    } else {
        // out of memory inside CHOLMOD: a NaN that PCG reports as a breakdown
        for (size_t i = 0; i < n; i++) z[i] = __builtin_nan("");
    }
}
