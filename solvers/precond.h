// Preconditioners M ≈ A for the Krylov solvers (P4): z = M⁻¹ r. The
// classical ones are built here from the graph of A; a learned factor
// (models/precond) arrives as L by rows (NeuralIF: fm_precond_from_lower) or
// as L and U by rows (learned LU: fm_precond_from_lu).
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
    FM_PRECOND_ILU0,       // M = L U, L unit lower and U upper on the pattern of A (P4)
    FM_PRECOND_ILUT,       // SuperLU's threshold ILU with pivoting (dgsitrf, P4)
    FM_PRECOND_LU_FACTOR,  // M = L U from given L and U (learned LU, P6)
    FM_PRECOND_DIRECT_LU,  // UMFPACK's factorization of A: M = A (general A)
} fm_precond_kind;

typedef struct fm_precond fm_precond;

// What a preconditioner reports about itself (the solve summary's fields).
typedef struct fm_precond_info {
    fm_precond_kind kind;
    double shift;          // IC(0): the α of A + α·diag(A) that factored (0: none needed)
    int shift_tries;       // IC(0): factorizations attempted
    int64_t factor_entries;// entries of L (0 for none and Jacobi; CHOLMOD's for direct);
                           // of L and U together for the LU kinds (UMFPACK's for direct LU)
    int64_t zero_pivots;   // ILU(0): pivots replaced (P4, as P6's inference step)
    double drop_tolerance; // ILUT: SuperLU's drop tolerance used
    double fill_factor;    // ILUT: SuperLU's fill-ratio bound used
} fm_precond_info;

// SuperLU's ILUTP (P4) options exposed; the rest stay SuperLU's defaults
// (ilu_set_default_options).
typedef struct fm_ilut_options {
    double drop_tolerance; // ILU_DropTol (SuperLU's default 1e-4)
    double fill_factor;    // ILU_FillFactor: nnz(L + U) ≤ fill_factor · nnz(A) (default 10)
} fm_ilut_options;

void fm_ilut_defaults(fm_ilut_options *opt);

int fm_precond_none(fm_precond **out, int64_t n, char *msg);
// A zero or negative diagonal entry is FM_ERR_NUMERIC naming the row.
int fm_precond_jacobi(fm_precond **out, const fm_square *A, char *msg);
int fm_precond_ic0(fm_precond **out, const fm_square *A, char *msg);
// CHOLMOD (supernodal or simplicial, its choice); A not positive definite is
// FM_ERR_NUMERIC.
int fm_precond_direct(fm_precond **out, const fm_square *A, char *msg);
// M = diag(A) for a general matrix: any nonzero diagonal (GMRES); a zero one
// is FM_ERR_NUMERIC naming the row.
int fm_precond_jacobi_general(fm_precond **out, const fm_square *A, char *msg);
// ILU(0) (P4): L unit lower (stored with its unit diagonal last), U upper
// (diagonal first), both on the pattern of A, (L U)_ij = a_ij there. A pivot
// |u_ii| < FM_ILU_PIVOT_EPSILON · |a_ii| (or < FM_ILU_PIVOT_EPSILON where a_ii
// = 0) is replaced by sign(u_ii) times that bound (+ for a zero) and counted
// (info.zero_pivots).
#define FM_ILU_PIVOT_EPSILON 1e-3
int fm_precond_ilu0(fm_precond **out, const fm_square *A, char *msg);
// ILUT through SuperLU's dgsitrf; opt NULL: the defaults. A factorization
// SuperLU reports singular is FM_ERR_NUMERIC with its message.
int fm_precond_ilut(fm_precond **out, const fm_square *A, const fm_ilut_options *opt, char *msg);
// UMFPACK's LU of A; a singular A is FM_ERR_NUMERIC.
int fm_precond_direct_lu(fm_precond **out, const fm_square *A, char *msg);
// Takes ownership of *L (lower by rows, the diagonal last and nonzero):
// builds Lᵀ by rows and both level schedules. *L is NULL on success; on
// failure (a row not ending with its diagonal, columns not ascending:
// FM_ERR_INVALID; a zero diagonal or a non-finite entry: FM_ERR_NUMERIC) *L
// stays the caller's.
int fm_precond_from_lower(fm_precond **out, fm_csr **L, char *msg);
// Takes ownership of *L (lower by rows, the diagonal last and nonzero) and *U
// (upper by rows, the diagonal first and nonzero): M = L U, both level
// schedules built. Both NULL on success; on failure (as fm_precond_from_lower,
// for either factor, or sizes that differ) both stay the caller's.
int fm_precond_from_lu(fm_precond **out, fm_csr **L, fm_csr **U, char *msg);

// z = M⁻¹ r (z and r may not alias). Not reentrant for one M: IC(0), a given
// factor and direct keep the intermediate of their two solves (and CHOLMOD its
// workspace) inside M, so concurrent applies need one M each; none and Jacobi
// are safe for distinct z.
void fm_precond_apply(const fm_precond *M, const double *r, double *z);
void fm_precond_info_get(const fm_precond *M, fm_precond_info *info);
// The paths the triangular solves of a factor took (fm_solve_lower in
// engine/square.h: the schedule's own, or AUTO's choice once its trial is
// done; FM_SOLVE_AUTO before that); false for a preconditioner without them.
bool fm_precond_paths(const fm_precond *M, fm_solve_path *lower, fm_solve_path *upper);
// The factor L by rows (IC(0), ILU(0) and the given factors), else NULL.
const fm_csr *fm_precond_lower(const fm_precond *M);
// The factor U by rows (ILU(0) and a given L U; Lᵀ for IC(0) and a given L),
// else NULL.
const fm_csr *fm_precond_upper(const fm_precond *M);
void fm_precond_free(fm_precond **M);

const char *fm_precond_name(fm_precond_kind kind);

#endif
