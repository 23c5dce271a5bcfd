// The preconditioner's representation, shared by the files that build one
// (precond.c: none, Jacobi, a given factor; ic0.c; direct.c). Not installed.
#ifndef FM_PRECOND_INTERNAL_H
#define FM_PRECOND_INTERNAL_H

#include "precond.h"

struct fm_direct;   // CHOLMOD's factor and workspace (direct.c)
struct fm_ilut;     // SuperLU's factors, permutations and scalings (ilut.c)
struct fm_direct_lu;// UMFPACK's numeric factorization and workspace (direct_lu.c)

struct fm_precond {
    fm_precond_kind kind;
    int64_t n;
    double *inverse_diagonal;      // Jacobi: 1 / a_ii
    // IC(0) and a given factor: M = L Lᵀ; ILU(0) and a given L U: M = L U;
    // both by rows with their schedules, applied alike (z = U⁻¹ L⁻¹ r)
    fm_csr *lower;                 // L, the diagonal last in each row
    fm_csr *upper;                 // Lᵀ or U, the diagonal first in each row
    fm_levels *lower_levels;
    fm_levels *upper_levels;
    double *work;                  // y of L y = r inside one apply (why apply is
                                   // not reentrant for one M: precond.h)
    double shift;                  // IC(0): α of A + α·diag(A)
    int shift_tries;
    struct fm_direct *direct;      // FM_PRECOND_DIRECT
    int64_t direct_entries;
    int64_t zero_pivots;           // ILU(0)
    struct fm_ilut *ilut;          // FM_PRECOND_ILUT
    fm_ilut_options ilut_options;
    struct fm_direct_lu *direct_lu;// FM_PRECOND_DIRECT_LU
};

// A zeroed preconditioner of `kind` for n unknowns.
int fm_precond_alloc(fm_precond **out, fm_precond_kind kind, int64_t n, char *msg);
// Checks L (lower by rows, ascending, the diagonal last, finite, a nonzero
// diagonal), then takes it: M->lower = *L, *L = NULL, and builds Lᵀ, both
// level schedules and the work vector. On failure *L stays the caller's.
int fm_precond_attach_lower(fm_precond *M, fm_csr **L, char *msg);
// The same with Lᵀ given (taken too: *U = NULL on success), L not checked:
// for a factor built here, whose Lᵀ is a gather of L's values.
int fm_precond_attach_factor(fm_precond *M, fm_csr **L, fm_csr **U, char *msg);

// ilut.c and direct_lu.c: as direct.c's below
void fm_ilut_apply(struct fm_ilut *ilut, const double *r, double *z);
void fm_ilut_free(struct fm_ilut **ilut);
void fm_direct_lu_apply(struct fm_direct_lu *direct, const double *r, double *z);
void fm_direct_lu_free(struct fm_direct_lu **direct);

// direct.c
void fm_direct_apply(struct fm_direct *direct, const double *r, double *z);
void fm_direct_free(struct fm_direct **direct);
// FM_OK, or why an apply failed (CHOLMOD out of memory: z was set to NaN).
int fm_direct_apply_failure(const struct fm_direct *direct, char *msg);

#endif
