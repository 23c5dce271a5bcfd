// The graph of a square matrix (P2): A by rows, its lower part by rows and by
// columns, and the scale D^{1/2}, built from triplets with counting sorts
// (O(n + entries) time and memory, no comparison sort).
#include "square.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

//------------------------------------------------------------------------------
// fm_csr
//------------------------------------------------------------------------------

void fm_csr_free(fm_csr **m)
{
    if (!m || !*m) return;
    free((*m)->start);
    free((*m)->index);
    free((*m)->value);
    free(*m);
    *m = NULL;
}

int fm_csr_new(fm_csr **out, int64_t n, int64_t count, char *msg)
{
    fm_csr *m = NULL;
#undef FREE_ALL
#define FREE_ALL fm_csr_free(&m)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_csr_new: bad arguments");
    FM_CHECK(n >= 0 && n <= FM_MAX_DIMENSION && count >= 0 && count <= FM_MAX_DIMENSION, FM_ERR_INVALID,
             "fm_csr_new: a %lld x %lld matrix with %lld entries is out of range", (long long)n,
             (long long)n, (long long)count);
    FM_ALLOC(m, 1);
    m->n = n;
    m->count = count;
    FM_ALLOC(m->start, n + 1);
    FM_ALLOC(m->index, count);
    FM_ALLOC(m->value, count);
    *out = m;
    return FM_OK;
}

int fm_csr_copy(fm_csr **out, const fm_csr *src, char *msg)
{
    fm_csr *m = NULL;
#undef FREE_ALL
#define FREE_ALL fm_csr_free(&m)
    FM_CHECK(out && !*out && src, FM_ERR_INVALID, "fm_csr_copy: bad arguments");
    FM_TRY(fm_csr_new(&m, src->n, src->count, msg));
    memcpy(m->start, src->start, sizeof(int64_t) * (size_t)(src->n + 1));
    if (src->count) {
        memcpy(m->index, src->index, sizeof(int64_t) * (size_t)src->count);
        memcpy(m->value, src->value, sizeof(double) * (size_t)src->count);
    }
    *out = m;
    return FM_OK;
}

// The transpose by a counting sort on the column index; entry k of the result
// is entry source[k] of src when `source` is not NULL (room for src->count).
static int csr_transpose(fm_csr **out, const fm_csr *src, int64_t *source, char *msg)
{
    fm_csr *t = NULL;
    int64_t *next = NULL;
#undef FREE_ALL
#define FREE_ALL do { fm_csr_free(&t); free(next); } while (0)
    const int64_t n = src->n;
    FM_TRY(fm_csr_new(&t, n, src->count, msg));
    FM_ALLOC(next, n + 1);
    for (int64_t k = 0; k < src->count; k++) t->start[src->index[k] + 1]++;
    for (int64_t c = 0; c < n; c++) t->start[c + 1] += t->start[c];
    memcpy(next, t->start, sizeof(int64_t) * (size_t)(n + 1));
    for (int64_t r = 0; r < n; r++)
        for (int64_t k = src->start[r]; k < src->start[r + 1]; k++) {
            const int64_t at = next[src->index[k]]++;
            t->index[at] = r;
            t->value[at] = src->value[k];
            if (source) source[at] = k;
        }
    free(next);
    *out = t;
    return FM_OK;
}

int fm_csr_transpose(fm_csr **out, const fm_csr *src, char *msg)
{
    if (!(out && !*out && src)) return fm_fail(FM_ERR_INVALID, msg, "fm_csr_transpose: bad arguments");
    return csr_transpose(out, src, NULL, msg);
}

//------------------------------------------------------------------------------
// fm_square
//------------------------------------------------------------------------------

void fm_square_free(fm_square **g)
{
    if (!g || !*g) return;
    fm_csr_free(&(*g)->A);
    fm_csr_free(&(*g)->lower);
    fm_csr_free(&(*g)->lower_by_columns);
    free((*g)->lower_edge);
    free((*g)->scale);
    free(*g);
    *g = NULL;
}

// The first entry that is out of range or not finite, as an error naming it
// (1-based, as in the file it came from).
static int check_triplets(int64_t n, int64_t count, const int64_t *row, const int64_t *col, const double *val,
                          char *msg)
{
    for (int64_t e = 0; e < count; e++) {
        if (row[e] < 0 || row[e] >= n || col[e] < 0 || col[e] >= n)
            return fm_fail(FM_ERR_INVALID, msg, "entry %lld at (%lld, %lld) lies outside the %lld x %lld matrix",
                           (long long)e + 1, (long long)row[e] + 1, (long long)col[e] + 1, (long long)n,
                           (long long)n);
        if (!isfinite(val[e]))
            return fm_fail(FM_ERR_INVALID, msg, "entry %lld at (%lld, %lld) is %g, not a finite number",
                           (long long)e + 1, (long long)row[e] + 1, (long long)col[e] + 1, val[e]);
    }
    return FM_OK;
}

// Entry `id` of the expanded triplets: triplet id / 2, transposed when id is odd
// (the mirror of an off-diagonal entry of a symmetric file).
static inline void expanded(int64_t id, const int64_t *row, const int64_t *col, int64_t *r, int64_t *c)
{
    const int64_t e = id >> 1;
    if (id & 1) { *r = col[e]; *c = row[e]; }
    else { *r = row[e]; *c = col[e]; }
}

// A by rows from the triplets: a counting sort by column, then a stable one by
// row, so that each row lists its columns in ascending order and duplicates
// sit side by side in the order of the triplets; then the duplicates are summed
// in that order (so a_ij and its mirror a_ji get the same sum).
static int build_rows(fm_csr **out, int64_t n, int64_t count, const int64_t *row, const int64_t *col,
                      const double *val, bool mirror, char *msg)
{
    int64_t *by_column = NULL, *next = NULL, *index = NULL;
    double *value = NULL;
    fm_csr *A = NULL;
#undef FREE_ALL
#define FREE_ALL do { free(by_column); free(next); free(index); free(value); fm_csr_free(&A); } while (0)
    int64_t expanded_count = count;
    if (mirror)
        for (int64_t e = 0; e < count; e++) expanded_count += row[e] != col[e];
    FM_ALLOC(by_column, expanded_count);
    FM_ALLOC(next, n + 1);
    // by column: the expanded ids, each column's in ascending id
    for (int64_t e = 0; e < count; e++) {
        next[col[e] + 1]++;
        if (mirror && row[e] != col[e]) next[row[e] + 1]++;
    }
    for (int64_t c = 0; c < n; c++) next[c + 1] += next[c];
    for (int64_t e = 0; e < count; e++) {
        by_column[next[col[e]]++] = 2 * e;
        if (mirror && row[e] != col[e]) by_column[next[row[e]]++] = 2 * e + 1;
    }
    // by row, stable: columns ascending in each row
    int64_t *row_start = next; // reused: n + 1 counts
    memset(row_start, 0, sizeof(int64_t) * (size_t)(n + 1));
    for (int64_t e = 0; e < count; e++) {
        row_start[row[e] + 1]++;
        if (mirror && row[e] != col[e]) row_start[col[e] + 1]++;
    }
    for (int64_t r = 0; r < n; r++) row_start[r + 1] += row_start[r];
    FM_ALLOC(index, expanded_count);
    FM_ALLOC(value, expanded_count);
    for (int64_t k = 0; k < expanded_count; k++) {
        int64_t r, c;
        expanded(by_column[k], row, col, &r, &c);
        // row_start[r] walks forward; it is restored below from the counts
        const int64_t at = row_start[r]++;
        index[at] = c;
        value[at] = val[by_column[k] >> 1];
    }
    free(by_column);
    by_column = NULL;
    // row_start[r] now holds the end of row r, that is the start of row r + 1
    memmove(row_start + 1, row_start, sizeof(int64_t) * (size_t)n);
    row_start[0] = 0;
    // sum the duplicates in place
    int64_t kept = 0;
    for (int64_t r = 0; r < n; r++) {
        const int64_t first = kept;
        for (int64_t k = row_start[r]; k < row_start[r + 1]; k++) {
            if (kept > first && index[kept - 1] == index[k]) {
                value[kept - 1] += value[k];
                FM_CHECK(isfinite(value[kept - 1]), FM_ERR_INVALID,
                         "the entries at (%lld, %lld) sum to %g, not a finite number", (long long)r + 1,
                         (long long)index[k] + 1, value[kept - 1]);
            } else {
                index[kept] = index[k];
                value[kept++] = value[k];
            }
        }
        row_start[r] = first; // row r's old start is read no more
    }
    FM_TRY(fm_csr_new(&A, n, kept, msg));
    for (int64_t r = 0; r < n; r++) A->start[r] = row_start[r];
    A->start[n] = kept;
    if (kept) {
        memcpy(A->index, index, sizeof(int64_t) * (size_t)kept);
        memcpy(A->value, value, sizeof(double) * (size_t)kept);
    }
    free(next);
    free(index);
    free(value);
    *out = A;
    return FM_OK;
}

// The entries j ≤ i of each row of A (the diagonal, which every row must hold,
// last), and the same edges by columns with the map between the two.
static int build_lower(fm_square *g, char *msg)
{
#undef FREE_ALL
#define FREE_ALL
    const fm_csr *A = g->A;
    const int64_t n = A->n;
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t end = A->start[i];
        while (end < A->start[i + 1] && A->index[end] <= i) end++;
        FM_CHECK(end > A->start[i] && A->index[end - 1] == i, FM_ERR_INVALID,
                 "row %lld has no diagonal entry (%lld, %lld): every row must store its diagonal (the "
                 "preconditioners divide by it)", (long long)i + 1, (long long)i + 1, (long long)i + 1);
        count += end - A->start[i];
    }
    FM_TRY(fm_csr_new(&g->lower, n, count, msg));
    fm_csr *L = g->lower;
    for (int64_t i = 0; i < n; i++) {
        const int64_t from = A->start[i];
        int64_t length = 0;
        while (from + length < A->start[i + 1] && A->index[from + length] <= i) length++;
        L->start[i + 1] = L->start[i] + length;
        memcpy(L->index + L->start[i], A->index + from, sizeof(int64_t) * (size_t)length);
        memcpy(L->value + L->start[i], A->value + from, sizeof(double) * (size_t)length);
    }
    FM_ALLOC(g->lower_edge, count);
    FM_TRY(csr_transpose(&g->lower_by_columns, L, g->lower_edge, msg));
    FM_ALLOC(g->scale, n);
    for (int64_t i = 0; i < n; i++) {
        const double diagonal = fabs(L->value[L->start[i + 1] - 1]);
        g->scale[i] = diagonal > 0 ? sqrt(diagonal) : 1.0;
    }
    return FM_OK;
}

int fm_square_from_triplets(fm_square **out, int64_t n, int64_t count, const int64_t *row, const int64_t *col,
                            const double *val, bool mirror_lower, char *msg)
{
    fm_square *g = NULL;
#undef FREE_ALL
#define FREE_ALL fm_square_free(&g)
    FM_CHECK(out && !*out && count >= 0 && (count == 0 || (row && col && val)), FM_ERR_INVALID,
             "fm_square_from_triplets: bad arguments");
    FM_CHECK(n >= 1 && n <= FM_MAX_DIMENSION, FM_ERR_INVALID,
             "a square matrix of order %lld: the order must lie between 1 and %lld", (long long)n,
             (long long)FM_MAX_DIMENSION);
    FM_CHECK(count <= FM_MAX_DIMENSION, FM_ERR_INVALID, "%lld entries are too many", (long long)count);
    FM_TRY(check_triplets(n, count, row, col, val, msg));
    FM_ALLOC(g, 1);
    g->n = n;
    FM_TRY(build_rows(&g->A, n, count, row, col, val, mirror_lower, msg));
    FM_TRY(build_lower(g, msg));
    int64_t i, j;
    g->symmetric = fm_square_first_asymmetry(g, &i, &j);
    *out = g;
    return FM_OK;
}

// Position k of row r, or -1 (binary search: the columns ascend).
static int64_t find_entry(const fm_csr *A, int64_t r, int64_t c)
{
    int64_t lo = A->start[r], hi = A->start[r + 1];
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (A->index[mid] < c) lo = mid + 1;
        else hi = mid;
    }
    return lo < A->start[r + 1] && A->index[lo] == c ? lo : -1;
}

// A mismatch at (i, j) is one at (j, i) too, so the first in row order is the
// upper one of the pair: the least (min, max) over the stored entries whose
// mirror is missing or holds another value.
bool fm_square_first_asymmetry(const fm_square *g, int64_t *i, int64_t *j)
{
    const fm_csr *A = g->A;
    int64_t best_i = INT64_MAX, best_j = INT64_MAX;
#pragma omp parallel
    {
        int64_t my_i = INT64_MAX, my_j = INT64_MAX;
#pragma omp for schedule(static) nowait
        for (int64_t r = 0; r < A->n; r++)
            for (int64_t k = A->start[r]; k < A->start[r + 1]; k++) {
                const int64_t c = A->index[k];
                if (c == r) continue;
                const int64_t mirror = find_entry(A, c, r);
                if (mirror >= 0 && A->value[mirror] == A->value[k]) continue;
                const int64_t lo = r < c ? r : c, hi = r < c ? c : r;
                if (lo < my_i || (lo == my_i && hi < my_j)) { my_i = lo; my_j = hi; }
            }
#pragma omp critical(fm_square_asymmetry)
        if (my_i < best_i || (my_i == best_i && my_j < best_j)) { best_i = my_i; best_j = my_j; }
    }
    if (best_i == INT64_MAX) return true;
    *i = best_i;
    *j = best_j;
    return false;
}

// â_ij = a_ij / (s_i s_j): s_i s_j = s_j s_i exactly (a rounded product
// commutes), so a symmetric A stays exactly symmetric and the three copies agree; the diagonal is set to its sign (±1, or 0 where a_ii = 0,
// whose scale is 1), which the quotient gives only up to rounding.
static void scale_values(fm_csr *M, const double *scale)
{
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < M->n; r++)
        for (int64_t k = M->start[r]; k < M->start[r + 1]; k++) {
            const int64_t c = M->index[k];
            const double a = M->value[k];
            if (c == r) M->value[k] = a > 0 ? 1.0 : a < 0 ? -1.0 : 0.0;
            else M->value[k] = a / (scale[r] * scale[c]);
        }
}

int fm_square_scaled(fm_square **out, const fm_square *g, char *msg)
{
    fm_square *s = NULL;
#undef FREE_ALL
#define FREE_ALL fm_square_free(&s)
    FM_CHECK(out && !*out && g, FM_ERR_INVALID, "fm_square_scaled: bad arguments");
    FM_ALLOC(s, 1);
    s->n = g->n;
    s->symmetric = g->symmetric;
    FM_TRY(fm_csr_copy(&s->A, g->A, msg));
    FM_TRY(fm_csr_copy(&s->lower, g->lower, msg));
    FM_TRY(fm_csr_copy(&s->lower_by_columns, g->lower_by_columns, msg));
    FM_ALLOC(s->lower_edge, g->lower->count);
    if (g->lower->count) memcpy(s->lower_edge, g->lower_edge, sizeof(int64_t) * (size_t)g->lower->count);
    FM_ALLOC(s->scale, g->n);
    for (int64_t i = 0; i < g->n; i++) s->scale[i] = 1.0;
    scale_values(s->A, g->scale);
    scale_values(s->lower, g->scale);
    scale_values(s->lower_by_columns, g->scale);
    *out = s;
    return FM_OK;
}
