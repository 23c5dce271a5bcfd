// Preconditioners M ≈ A for the Krylov solvers (P4): z = M⁻¹ r. The
// classical ones are built here from the graph of A; a learned factor
// (models/precond) arrives as L by rows and becomes one with
// fm_precond_from_lower.
#ifndef FM_PRECOND_H
#define FM_PRECOND_H

#include <stdint.h>

#include "square.h"

typedef enum fm_precond_kind {
    FM_PRECOND_NONE = 0,   // M = I
    FM_PRECOND_JACOBI,     // M = diag(A)
    FM_PRECOND_IC0,        // M = L Lᵀ, L on the pattern of tril(A), shifted retry (P4)
    FM_PRECOND_FACTOR,     // M = L Lᵀ from a given L (NeuralIF, P5)
    FM_PRECOND_DIRECT,     // CHOLMOD's factorization of A: M = A
} fm_precond_kind;

typedef struct fm_precond fm_precond;

// What a preconditioner reports about itself (the solve summary's fields).
typedef struct fm_precond_info {
    fm_precond_kind kind;
    double shift;          // IC(0): the α of A + α·diag(A) that factored (0: none needed)
    int shift_tries;       // IC(0): factorizations attempted
    int64_t factor_entries;// entries of L (0 for none and Jacobi; CHOLMOD's for direct)
} fm_precond_info;

int fm_precond_none(fm_precond **out, int64_t n, char *msg);
// A zero or negative diagonal entry is FM_ERR_NUMERIC naming the row.
int fm_precond_jacobi(fm_precond **out, const fm_square *A, char *msg);
int fm_precond_ic0(fm_precond **out, const fm_square *A, char *msg);
// CHOLMOD (supernodal or simplicial, its choice); A not positive definite is
// FM_ERR_NUMERIC.
int fm_precond_direct(fm_precond **out, const fm_square *A, char *msg);
// Takes ownership of *L (lower by rows, the diagonal last and nonzero):
// builds Lᵀ by rows and both level schedules. *L is NULL on success; on
// failure (a row not ending with its diagonal, columns not ascending:
// FM_ERR_INVALID; a zero diagonal or a non-finite entry: FM_ERR_NUMERIC) *L
// stays the caller's.
int fm_precond_from_lower(fm_precond **out, fm_csr **L, char *msg);

// z = M⁻¹ r (z and r may not alias). Not reentrant for one M: IC(0), a given
// factor and direct keep the intermediate of their two solves (and CHOLMOD its
// workspace) inside M, so concurrent applies need one M each; none and Jacobi
// are safe for distinct z.
void fm_precond_apply(const fm_precond *M, const double *r, double *z);
void fm_precond_info_get(const fm_precond *M, fm_precond_info *info);
// The factor L by rows (IC(0) and a given factor), else NULL.
const fm_csr *fm_precond_lower(const fm_precond *M);
void fm_precond_free(fm_precond **M);

const char *fm_precond_name(fm_precond_kind kind);

#endif
