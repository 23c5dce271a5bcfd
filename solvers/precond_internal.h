// The preconditioner's representation, shared by the files that build one
// (precond.c: none, Jacobi, a given factor; ic0.c; direct.c). Not installed.
#ifndef FM_PRECOND_INTERNAL_H
#define FM_PRECOND_INTERNAL_H

#include "precond.h"

struct fm_direct;   // CHOLMOD's factor and workspace (direct.c)

struct fm_precond {
    fm_precond_kind kind;
    int64_t n;
    double *inverse_diagonal;      // Jacobi: 1 / a_ii
    // IC(0) and a given factor: M = L Lᵀ, both by rows with their schedules
    fm_csr *lower;                 // L, the diagonal last in each row
    fm_csr *upper;                 // Lᵀ, the diagonal first in each row
    fm_levels *lower_levels;
    fm_levels *upper_levels;
    double *work;                  // y of L y = r inside one apply (why apply is
                                   // not reentrant for one M: precond.h)
    double shift;                  // IC(0): α of A + α·diag(A)
    int shift_tries;
    struct fm_direct *direct;      // FM_PRECOND_DIRECT
    int64_t direct_entries;
};

// A zeroed preconditioner of `kind` for n unknowns.
int fm_precond_alloc(fm_precond **out, fm_precond_kind kind, int64_t n, char *msg);
// Checks L (lower by rows, ascending, the diagonal last, finite, a nonzero
// diagonal), then takes it: M->lower = *L, *L = NULL, and builds Lᵀ, both
// level schedules and the work vector. On failure *L stays the caller's.
int fm_precond_attach_lower(fm_precond *M, fm_csr **L, char *msg);

// direct.c
void fm_direct_apply(struct fm_direct *direct, const double *r, double *z);
void fm_direct_free(struct fm_direct **direct);

#endif
