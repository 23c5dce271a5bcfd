// ILUT with pivoting (P4) from SuperLU 5.3's dgsitrf, the factorization
// scipy's spilu calls. SuperLU factors Pr · diag(R) A diag(C) · Pc ≈ L U
// with threshold dropping (ILU_DropTol), a bound on the fill (ILU_FillFactor)
// and threshold partial pivoting; its L and U are turned into the engine's
// factors by rows, in the permuted index space, so that each apply
//
//   v[perm_r[i]] = R_i r_i,   L y = v,   U u = y,   z_j = C_j u[perm_c[j]]
//
// is two level-scheduled triangular solves of the engine (fm_solve_lower,
// fm_solve_upper: the same z bit for bit on any thread count), as dgstrs
// solves with the same factors (tests/test_ilut.c compares the two).
//
// SuperLU can end the process or never return. ilu_dpivotL calls exit(1)
// ("SINGULAR!!!") where a column has no candidate pivot row left (every row
// of its pattern pivoted already, or in a later relaxed supernode), and
// dqselect, called by ilu_ddrop_row, has been seen to loop forever: on
// small random matrices both happened on structurally singular ones only,
// so such a matrix is refused first (fm_nonzero_transversal); on others
// they are not excluded, only not seen. An allocation SUPERLU_MALLOC cannot
// make inside get_perm_c (COLAMD), sp_preorder, StatInit or SuperLU's int
// and double allocators is ABORT (superlu_abort_and_exit: exit(-1)). The
// MC64 row permutation, abort() in Debian's build (its code is not free),
// is not asked for; dgsisx itself is not called, as after dgsitrf runs out
// of memory it reads the L and U that were never made (ilu_dQuerySpace).
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ilut_internal.h"
#include "status.h"

// SuperLU's own (1e-4 and 10 in 5.3)
void fm_ilut_defaults(fm_ilut_options *opt)
{
    superlu_options_t options;
    ilu_set_default_options(&options);
    opt->drop_tolerance = options.ILU_DropTol;
    opt->fill_factor = options.ILU_FillFactor;
}

void fm_superlu_ilu_free(fm_superlu_ilu *f)
{
    if (f->L.Store) Destroy_SuperNode_Matrix(&f->L);
    if (f->U.Store) Destroy_CompCol_Matrix(&f->U);
    free(f->perm_r);
    free(f->perm_c);
    free(f->R);
    free(f->C);
    memset(f, 0, sizeof *f);
}

int fm_nonzero_transversal(const fm_csr *A, int64_t *unmatched_row, char *msg)
{
    int64_t *owner = NULL, *ahead = NULL, *cursor = NULL, *visited = NULL, *path_row = NULL, *path_column = NULL;
#define FREE_ALL                                                             \
    do {                                                                     \
        free(owner);                                                         \
        free(ahead);                                                         \
        free(cursor);                                                        \
        free(visited);                                                       \
        free(path_row);                                                      \
        free(path_column);                                                   \
    } while (0)
    int64_t n = A->n;
    const int64_t *start = A->start, *index = A->index;
    const double *value = A->value;
    *unmatched_row = -1;
    FM_ALLOC(owner, n);        // the row matched to each column, −1: none yet
    FM_ALLOC(ahead, n);        // each row's look-ahead cursor (only moves on)
    FM_ALLOC(cursor, n);       // each row's search cursor on the current path
    FM_ALLOC(visited, n);      // the row whose search last visited a column
    FM_ALLOC(path_row, n);
    FM_ALLOC(path_column, n);
    for (int64_t i = 0; i < n; i++) {
        owner[i] = -1;
        visited[i] = -1;
        ahead[i] = start[i];
    }
    for (int64_t i = 0; i < n; i++) {
        // a path from row i: row → a nonzero's column → the row that owns it
        // → …, ending at a column no row owns; then every column on it
        // passes to the row before it (an augmenting path)
        int64_t depth = 0;
        bool found = false;
        path_row[0] = i;
        cursor[i] = start[i];
        while (depth >= 0 && !found) {
            int64_t r = path_row[depth], end = start[r + 1];
            while (ahead[r] < end && !found) {   // a free column right in row r
                int64_t q = ahead[r]++;
                if (value[q] != 0 && owner[index[q]] < 0) {
                    path_column[depth] = index[q];
                    found = true;
                }
            }
            if (found) break;
            int64_t next = -1;
            while (cursor[r] < end && next < 0) {
                int64_t q = cursor[r]++, c = index[q];
                if (value[q] != 0 && visited[c] != i) {
                    visited[c] = i;
                    path_column[depth] = c;
                    next = owner[c];
                }
            }
            if (next < 0) {
                depth--;       // row r reaches no free column
            } else {
                path_row[++depth] = next;
                cursor[next] = start[next];
            }
        }
        if (!found) {
            *unmatched_row = i;
            break;
        }
        for (int64_t k = depth; k >= 0; k--) owner[path_column[k]] = path_row[k];
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_superlu_ilu_factor(fm_superlu_ilu *f, const fm_csr *A, const fm_ilut_options *opt, char *msg)
{
    int *colptr = NULL, *rowind = NULL, *etree = NULL;
    double *nzval = NULL;
    memset(f, 0, sizeof *f);
#define FREE_ALL                                                             \
    do {                                                                     \
        free(colptr);                                                        \
        free(rowind);                                                        \
        free(nzval);                                                         \
        free(etree);                                                         \
        fm_superlu_ilu_free(f);                                              \
    } while (0)
    int64_t n64 = A->n, count = A->count;
    // SuperLU 5.3 indexes with int: COLAMD's workspace (about 2.2 nnz(A) +
    // 7 n ints, colamd_recommended) and the first L and U (ILU_FillFactor ·
    // nnz(A) entries) are sized in an int
    FM_CHECK(3 * (double)count + 10 * (double)n64 < (double)INT_MAX &&
                 opt->fill_factor * (double)count < (double)INT_MAX,
             FM_ERR_INVALID,
             "ILUT: n = %lld with %lld entries and fill factor %g is beyond SuperLU's 32-bit indices",
             (long long)n64, (long long)count, opt->fill_factor);
    int n = (int)n64, nnz = (int)count;
    f->n = n;
    // SuperLU's ILU exits or loops forever on matrices it cannot pivot
    // (above); those its checks met were all structurally singular
    int64_t unmatched;
    FM_TRY(fm_nonzero_transversal(A, &unmatched, msg));
    FM_CHECK(unmatched < 0, FM_ERR_NUMERIC,
             "ILUT: the matrix is structurally singular: no choice of one nonzero entry in each row and "
             "column reaches row %lld (SuperLU's ILU would end the process on it)",
             (long long)unmatched + 1);

    // A by columns (the rows of each column ascending), SuperLU's SLU_NC;
    // a copy, which the equilibration scales in place
    FM_ALLOC(colptr, n + 1);
    FM_ALLOC(rowind, count);
    FM_ALLOC(nzval, count);
    for (int64_t q = 0; q < count; q++) colptr[A->index[q] + 1]++;
    for (int j = 0; j < n; j++) colptr[j + 1] += colptr[j];
    FM_ALLOC(etree, n);
    int *next = etree;     // etree as scratch until sp_preorder fills it
    memcpy(next, colptr, sizeof(int) * (size_t)n);
    for (int64_t i = 0; i < n64; i++)
        for (int64_t q = A->start[i]; q < A->start[i + 1]; q++) {
            int p = next[A->index[q]]++;
            rowind[p] = (int)i;
            nzval[p] = A->value[q];
        }
    NCformat store = {.nnz = nnz, .nzval = nzval, .rowind = rowind, .colptr = colptr};
    SuperMatrix matrix = {.Stype = SLU_NC, .Dtype = SLU_D, .Mtype = SLU_GE,
                          .nrow = n, .ncol = n, .Store = &store};

    superlu_options_t options;
    ilu_set_default_options(&options);
    options.RowPerm = NOROWPERM;   // MC64: abort() in Debian's libsuperlu
    options.PrintStat = NO;
    options.ILU_DropTol = opt->drop_tolerance;
    options.ILU_FillFactor = opt->fill_factor;

    FM_ALLOC(f->perm_r, n);
    FM_ALLOC(f->perm_c, n);
    FM_ALLOC(f->R, n);
    FM_ALLOC(f->C, n);
    f->equed = 'N';
    if (options.Equil == YES) {
        // dgsisx without MC64: scale rows and columns only where dlaqgs
        // finds it worth it; a zero row or column (dgsequ's info > 0)
        // leaves A unscaled, as the driver does
        double rowcnd, colcnd, amax;
        int equ_info = 0;
        dgsequ(&matrix, f->R, f->C, &rowcnd, &colcnd, &amax, &equ_info);
        if (equ_info == 0) dlaqgs(&matrix, f->R, f->C, rowcnd, colcnd, amax, &f->equed);
    }
    get_perm_c(options.ColPerm, &matrix, f->perm_c);   // COLAMD (the default)
    SuperMatrix permuted;
    sp_preorder(&options, &matrix, f->perm_c, etree, &permuted);

    SuperLUStat_t stat;
    GlobalLU_t glu;
    memset(&glu, 0, sizeof glu);
    int info = 0;
    StatInit(&stat);
    dgsitrf(&options, &permuted, sp_ienv(2), sp_ienv(1), etree, NULL, 0, f->perm_c, f->perm_r,
            &f->L, &f->U, &glu, &stat, &info);
    StatFree(&stat);
    Destroy_CompCol_Permuted(&permuted);
    if (info < 0) FM_FAIL(FM_ERR_INVALID, "SuperLU: dgsitrf refused its argument %d", -info);
    if (info > n)
        FM_FAIL(FM_ERR_MEMORY, "SuperLU: out of memory in dgsitrf (%lld bytes allocated when it failed)",
                (long long)info - n);
    f->zero_pivots = info;
    free(colptr);
    free(rowind);
    free(nzval);
    free(etree);
    return FM_OK;
#undef FREE_ALL
}

void fm_ilut_free(struct fm_ilut **ilut)
{
    if (!ilut || !*ilut) return;
    struct fm_ilut *t = *ilut;
    fm_csr_free(&t->lower);
    fm_csr_free(&t->upper);
    fm_levels_free(&t->lower_levels);
    fm_levels_free(&t->upper_levels);
    free(t->perm_r);
    free(t->perm_c);
    free(t->row_scale);
    free(t->column_scale);
    free(t->v);
    free(t->y);
    free(t);
    *ilut = NULL;
}

// Every entry SuperLU stored in L and U (L's unit diagonal not stored),
// column by column in ascending order, so that each row receives its
// entries in ascending column order: column j's part of its supernode (rows
// above j: U, row j: U's diagonal, below: L), then column j of U outside the
// supernodes. Counted into the rows' ends (next NULL) or stored at next[row].
typedef struct factor_sink {
    fm_csr *lower, *upper;
    int64_t *lower_next, *upper_next;
} factor_sink;

static void sink_entry(factor_sink *s, int row, int column, double value)
{
    bool in_lower = row > column;
    fm_csr *T = in_lower ? s->lower : s->upper;
    int64_t *next = in_lower ? s->lower_next : s->upper_next;
    if (!next) {
        T->start[row + 1]++;
        return;
    }
    int64_t q = next[row]++;
    T->index[q] = column;
    T->value[q] = value;
}

static void walk_factors(const fm_superlu_ilu *f, factor_sink *s)
{
    const SCformat *L = f->L.Store;
    const NCformat *U = f->U.Store;
    const double *u = U->nzval;
    for (int j = 0; j < f->n; j++) {
        int first_column = L->sup_to_col[L->col_to_sup[j]];
        int istart = L->rowind_colptr[first_column];
        int rows = L->rowind_colptr[first_column + 1] - istart;
        const double *value = (const double *)L->nzval + L->nzval_colptr[j];
        for (int q = 0; q < rows; q++) sink_entry(s, L->rowind[istart + q], j, value[q]);
        for (int q = U->colptr[j]; q < U->colptr[j + 1]; q++) sink_entry(s, U->rowind[q], j, u[q]);
    }
}

// SuperLU's factors as L by rows (unit diagonal last) and U by rows (its
// diagonal first), checked: U's diagonal stored, nonzero and finite.
static int factors_by_rows(fm_csr **lower, fm_csr **upper, const fm_superlu_ilu *f, char *msg)
{
    fm_csr *L = NULL, *U = NULL, counts_lower = {0}, counts_upper = {0};
    int64_t *lower_next = NULL, *upper_next = NULL;
#define FREE_ALL                                                             \
    do {                                                                     \
        fm_csr_free(&L);                                                     \
        fm_csr_free(&U);                                                     \
        free(lower_next);                                                    \
        free(upper_next);                                                    \
    } while (0)
    int64_t n = f->n;
    // the rows' lengths first (into the two cursors, as start arrays)
    FM_ALLOC(lower_next, n + 1);
    FM_ALLOC(upper_next, n + 1);
    counts_lower.start = lower_next;
    counts_upper.start = upper_next;
    factor_sink sink = {.lower = &counts_lower, .upper = &counts_upper};
    walk_factors(f, &sink);
    for (int64_t i = 0; i < n; i++) {
        lower_next[i + 1] += lower_next[i] + 1;   // + the unit diagonal
        upper_next[i + 1] += upper_next[i];
    }
    FM_TRY(fm_csr_new(&L, n, lower_next[n], msg));
    FM_TRY(fm_csr_new(&U, n, upper_next[n], msg));
    memcpy(L->start, lower_next, sizeof(int64_t) * (size_t)(n + 1));
    memcpy(U->start, upper_next, sizeof(int64_t) * (size_t)(n + 1));
    sink = (factor_sink){.lower = L, .upper = U, .lower_next = lower_next, .upper_next = upper_next};
    walk_factors(f, &sink);
    for (int64_t i = 0; i < n; i++) {
        int64_t last = L->start[i + 1] - 1;
        L->index[last] = i;
        L->value[last] = 1;
        int64_t first = U->start[i];
        FM_CHECK(first < U->start[i + 1] && U->index[first] == i, FM_ERR_NUMERIC,
                 "ILUT: SuperLU's U has no diagonal entry in row %lld", (long long)(i + 1));
        FM_CHECK(U->value[first] != 0 && isfinite(U->value[first]), FM_ERR_NUMERIC,
                 "ILUT: SuperLU's pivot U(%lld, %lld) is %g", (long long)(i + 1), (long long)(i + 1),
                 U->value[first]);
    }
    for (int64_t q = 0; q < L->count; q++)
        FM_CHECK(isfinite(L->value[q]), FM_ERR_NUMERIC, "ILUT: SuperLU's L holds %g", L->value[q]);
    for (int64_t q = 0; q < U->count; q++)
        FM_CHECK(isfinite(U->value[q]), FM_ERR_NUMERIC, "ILUT: SuperLU's U holds %g", U->value[q]);
    free(lower_next);
    free(upper_next);
    *lower = L;
    *upper = U;
    return FM_OK;
#undef FREE_ALL
}

static int ilut_from_superlu(struct fm_ilut **out, const fm_superlu_ilu *f, char *msg)
{
    struct fm_ilut *t = NULL;
#define FREE_ALL fm_ilut_free(&t)
    int64_t n = f->n;
    FM_ALLOC(t, 1);
    t->n = n;
    FM_TRY(factors_by_rows(&t->lower, &t->upper, f, msg));
    FM_TRY(fm_levels_new(&t->lower_levels, t->lower, true, msg));
    FM_TRY(fm_levels_new(&t->upper_levels, t->upper, false, msg));
    FM_ALLOC(t->perm_r, n);
    FM_ALLOC(t->perm_c, n);
    FM_ALLOC(t->row_scale, n);
    FM_ALLOC(t->column_scale, n);
    FM_ALLOC(t->v, n);
    FM_ALLOC(t->y, n);
    bool rows = f->equed == 'R' || f->equed == 'B', columns = f->equed == 'C' || f->equed == 'B';
    for (int64_t i = 0; i < n; i++) {
        t->perm_r[i] = f->perm_r[i];
        t->perm_c[i] = f->perm_c[i];
        t->row_scale[i] = rows ? f->R[i] : 1;
        t->column_scale[i] = columns ? f->C[i] : 1;
    }
    *out = t;
    return FM_OK;
#undef FREE_ALL
}

int fm_precond_ilut(fm_precond **out, const fm_square *A, const fm_ilut_options *opt, char *msg)
{
    fm_precond *M = NULL;
    fm_superlu_ilu f = {0};
#define FREE_ALL                                                             \
    do {                                                                     \
        fm_superlu_ilu_free(&f);                                             \
        fm_precond_free(&M);                                                 \
    } while (0)
    FM_CHECK(out != NULL && A != NULL && A->A != NULL, FM_ERR_INVALID, "ILUT: no matrix or no output handle");
    *out = NULL;
    fm_ilut_options options;
    fm_ilut_defaults(&options);
    if (opt) options = *opt;
    FM_CHECK(isfinite(options.drop_tolerance) && options.drop_tolerance >= 0, FM_ERR_INVALID,
             "ILUT: the drop tolerance %g is not a finite number >= 0", options.drop_tolerance);
    FM_CHECK(isfinite(options.fill_factor) && options.fill_factor >= 1, FM_ERR_INVALID,
             "ILUT: the fill factor %g is not a finite number >= 1", options.fill_factor);
    FM_TRY(fm_precond_alloc(&M, FM_PRECOND_ILUT, A->n, msg));
    M->ilut_options = options;
    FM_TRY(fm_superlu_ilu_factor(&f, A->A, &options, msg));
    // SuperLU replaces a zero pivot by a small entry and counts it (dgsitrf's
    // info, as scipy's spilu reports "Factor is exactly singular")
    FM_CHECK(f.zero_pivots == 0, FM_ERR_NUMERIC,
             "ILUT: SuperLU's dgsitrf met %d zero pivot%s (the matrix is singular, or its incomplete "
             "factorization broke down at drop tolerance %g)",
             f.zero_pivots, f.zero_pivots == 1 ? "" : "s", options.drop_tolerance);
    FM_TRY(ilut_from_superlu(&M->ilut, &f, msg));
    M->direct_entries = M->ilut->lower->count + M->ilut->upper->count;   // nnz(L) + nnz(U)
    fm_superlu_ilu_free(&f);
    *out = M;
    return FM_OK;
#undef FREE_ALL
}

void fm_ilut_apply(struct fm_ilut *ilut, const double *r, double *z)
{
    int64_t n = ilut->n;
    const int64_t *perm_r = ilut->perm_r, *perm_c = ilut->perm_c;
    const double *R = ilut->row_scale, *C = ilut->column_scale;
    double *v = ilut->v, *y = ilut->y;
#pragma omp parallel for schedule(static) if (n > 16384)
    for (int64_t i = 0; i < n; i++) v[perm_r[i]] = R[i] * r[i];
    fm_solve_lower(ilut->lower, ilut->lower_levels, v, y);
    fm_solve_upper(ilut->upper, ilut->upper_levels, y, v);
#pragma omp parallel for schedule(static) if (n > 16384)
    for (int64_t j = 0; j < n; j++) z[j] = C[j] * v[perm_c[j]];
}
