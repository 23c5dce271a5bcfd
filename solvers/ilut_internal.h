// SuperLU's threshold ILU (P4) as ilut.c drives it, exposed for the tests:
// the factorization SuperLU left (its supernodal L, U, permutations and
// scalings), and the preconditioner built from it (the factors by rows in
// the permuted index space, applied by the engine's triangular solves). Not
// installed.
#ifndef FM_ILUT_INTERNAL_H
#define FM_ILUT_INTERNAL_H

#include <slu_ddefs.h>

#include "precond_internal.h"

// What SuperLU's ILU left: Pr · diag(R) A diag(C) · Pc ≈ L U, where row i of
// A is row perm_r[i] and column j is column perm_c[j] (SuperLU's
// convention), R and C apply only as `equed` says ('N' none, 'R' rows, 'C'
// columns, 'B' both: dlaqgs). L is SuperLU's supernodal unit lower factor
// (SLU_SC, its diagonal blocks holding U's too), U the rest of U (SLU_NC).
typedef struct fm_superlu_ilu {
    int n;
    SuperMatrix L, U;      // Store NULL until dgsitrf made them
    int *perm_r, *perm_c;
    double *R, *C;
    char equed;
    int zero_pivots;       // dgsitrf's info in 1..n: pivots it replaced (ILU_FillTol)
} fm_superlu_ilu;

// The steps of SuperLU's expert ILU driver dgsisx, factorization only, with
// ilu_set_default_options but no MC64 row permutation (Debian's SuperLU
// aborts in it: its code is not free) and the given drop tolerance and fill
// factor: equilibration (dgsequ, dlaqgs), COLAMD (get_perm_c), sp_preorder,
// dgsitrf. Zero pivots SuperLU replaced are FM_OK with f->zero_pivots > 0
// (the caller decides); f is freed on failure.
int fm_superlu_ilu_factor(fm_superlu_ilu *f, const fm_csr *A, const fm_ilut_options *opt, char *msg);
void fm_superlu_ilu_free(fm_superlu_ilu *f);

// Whether a perfect matching of rows to columns through entries with
// nonzero values exists (the nonzeros' pattern is structurally nonsingular;
// a structurally singular A is singular whatever its values): depth-first
// augmenting paths with a look-ahead, Duff's MC21 algorithm. *unmatched_row
// is −1 when every row is matched, else the first row that cannot be.
int fm_nonzero_transversal(const fm_csr *A, int64_t *unmatched_row, char *msg);

struct fm_ilut {
    int64_t n;
    fm_csr *lower;         // L by rows, unit diagonal stored last (permuted index space)
    fm_csr *upper;         // U by rows, diagonal first
    fm_levels *lower_levels, *upper_levels;
    int64_t *perm_r, *perm_c; // SuperLU's, as above
    double *row_scale, *column_scale; // R and C, ones where SuperLU did not scale
    double *v, *y;         // the permuted right-hand side and L⁻¹ of it (apply's work)
};

#endif
