// M M'ᵀ + α I by rows, two passes (pattern, then values), each thread with
// its own workspace: models/precond/sparse_product.h.
#include "sparse_product.h"
#include "status.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

// M by rows (its sorted triplets) and M' by columns (rows ascending).
typedef struct {
    const int64_t *row_start;  // n + 1 into M's triplets
    const int64_t *col;
    const double *val;
    const int64_t *col_start;  // n + 1 into by_col_row / by_col_val (M')
    const int64_t *by_col_row;
    const double *by_col_val;
} product_view;

// A thread's workspace: the accumulator, per column j the last row that
// touched it, and the row's columns.
typedef struct {
    double *acc;
    int64_t *mark;
    int64_t *list;
} workspace;

static int compare_index(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

// Row i of M M'ᵀ (with `lower`, its columns j ≤ i): the columns j where row
// i of M and row j of M' share a column (and i itself), in w->list,
// ascending with `numeric`, which also leaves the values in w->acc[j], each
// summed over the shared columns c in ascending order (the order of M's
// row), so the result does not depend on which thread computes the row.
// Returns the count.
static int64_t product_row(const product_view *f, int64_t n, int64_t i, bool lower, workspace *w, bool numeric)
{
    int64_t count = 0;
    for (int64_t s = f->row_start[i]; s < f->row_start[i + 1]; s++) {
        const int64_t c = f->col[s];
        const double v = f->val[s];
        for (int64_t t = f->col_start[c]; t < f->col_start[c + 1]; t++) {
            const int64_t j = f->by_col_row[t];
            if (lower && j > i) break;   // rows ascending within a column
            if (w->mark[j] != i) {
                w->mark[j] = i;
                w->list[count++] = j;
                if (numeric) w->acc[j] = 0.0;
            }
            if (numeric) w->acc[j] += v * f->by_col_val[t];
        }
    }
    if (w->mark[i] != i) {   // the diagonal is always stored (α)
        w->mark[i] = i;
        w->list[count++] = i;
        if (numeric) w->acc[i] = 0.0;
    }
    if (numeric) {
        // ascending: a scan of the marks when the row is dense, else a sort
        const int64_t columns = lower ? i + 1 : n;
        if (count * 16 > columns) {
            int64_t k = 0;
            for (int64_t j = 0; j < columns; j++)
                if (w->mark[j] == i) w->list[k++] = j;
        } else {
            qsort(w->list, (size_t)count, sizeof *w->list, compare_index);
        }
    }
    return count;
}

int fm_sparse_product(fm_system_matrix **A, const fm_system_matrix *M, const fm_system_matrix *M2, double alpha,
                      bool lower, const char *who, const char *what, char *msg)
{
    fm_system_matrix *a = NULL;
    int64_t *row_start = NULL, *col_start = NULL, *by_col_row = NULL, *offset = NULL;
    double *by_col_val = NULL;
#define FREE_ALL do { fm_system_matrix_free(&a); free(row_start); free(col_start); free(by_col_row); \
                      free(by_col_val); free(offset); } while (0)
    const int64_t n = M->n, count2 = M2->count;
    FM_ALLOC(row_start, n + 1);
    FM_ALLOC(col_start, n + 1);
    FM_ALLOC(by_col_row, count2 > 0 ? count2 : 1);
    FM_ALLOC(by_col_val, count2 > 0 ? count2 : 1);
    FM_ALLOC(offset, n + 1);
    for (int64_t k = 0; k < M->count; k++) row_start[M->row[k] + 1]++;
    for (int64_t k = 0; k < count2; k++) col_start[M2->col[k] + 1]++;
    for (int64_t r = 0; r < n; r++) {
        row_start[r + 1] += row_start[r];
        col_start[r + 1] += col_start[r];
    }
    // M' by columns, filled in row order: rows ascending within each column
    for (int64_t k = 0; k < count2; k++) {
        const int64_t slot = col_start[M2->col[k]]++;
        by_col_row[slot] = M2->row[k];
        by_col_val[slot] = M2->val[k];
    }
    for (int64_t c = n; c > 0; c--) col_start[c] = col_start[c - 1];
    col_start[0] = 0;
    const product_view f = { row_start, M->col, M->val, col_start, by_col_row, by_col_val };
    // two passes over the rows, each thread with its own workspace: the
    // pattern (counts per row), then the values at their offsets
    int failed = 0;
    for (int numeric = 0; numeric <= 1; numeric++) {
        if (numeric) {
            for (int64_t i = 0; i < n; i++) offset[i + 1] += offset[i];
            FM_TRY(fm_system_matrix_new(&a, n, offset[n], lower, msg));
        }
        #pragma omp parallel
        {
            workspace w = { numeric ? malloc((size_t)n * sizeof(double)) : NULL, malloc((size_t)n * sizeof(int64_t)),
                            malloc((size_t)n * sizeof(int64_t)) };
            const bool ready = w.mark && w.list && (!numeric || w.acc);
            if (!ready) {
                #pragma omp atomic write
                failed = 1;
            } else {
                for (int64_t j = 0; j < n; j++) w.mark[j] = -1;
            }
            #pragma omp for schedule(dynamic, 64)
            for (int64_t i = 0; i < n; i++) {
                if (!ready) continue;
                const int64_t got = product_row(&f, n, i, lower, &w, numeric);
                if (!numeric) {
                    offset[i + 1] = got;
                    continue;
                }
                int64_t at = offset[i];
                for (int64_t k = 0; k < got; k++, at++) {
                    const int64_t j = w.list[k];
                    a->row[at] = i;
                    a->col[at] = j;
                    a->val[at] = j == i ? w.acc[j] + alpha : w.acc[j];
                }
            }
            free(w.acc);
            free(w.mark);
            free(w.list);
        }
        FM_CHECK(!failed, FM_ERR_MEMORY, "%s: out of memory for the workspaces of %s (n = %" PRId64 ")", who, what,
                 n);
    }
    fm_system_matrix *done = a;
    a = NULL;
    FREE_ALL;
    *A = done;
    return FM_OK;
#undef FREE_ALL
}
