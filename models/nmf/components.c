// The components of a factorization X ~ W H by weight, and the heaviest rows
// of each (factormer.h: fm_top_rows_get). A component r is the rank-one term
// W[:, r] H[r, :]; its weight ||W[:, r]|| ||H[r, :]|| is that term's
// Frobenius norm, the same for every rescaling W[:, r] s, H[r, :] / s that
// leaves the product unchanged (§1: the factorization's scaling freedom).
#include "factormer.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>

typedef struct { double weight; int component; } weighed;
typedef struct { float value; int64_t row; } row_value;

// Heaviest first; ties by the factor's order.
static int by_weight(const void *a, const void *b)
{
    const weighed *x = a, *y = b;
    if (x->weight != y->weight) return x->weight > y->weight ? -1 : 1;
    return (x->component > y->component) - (x->component < y->component);
}

// Largest value first; ties by row.
static int by_value(const void *a, const void *b)
{
    const row_value *x = a, *y = b;
    if (x->value != y->value) return x->value > y->value ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

void fm_top_rows_free(fm_top_rows **t)
{
    if (!t || !*t) return;
    free((*t)->component);
    free((*t)->weight);
    free((*t)->row);
    free((*t)->value);
    free(*t);
    *t = NULL;
}

int fm_top_rows_get(fm_top_rows **out, const fm_dense *W, const fm_dense *H, int n, char *msg)
{
    fm_top_rows *t = NULL;
    weighed *order = NULL;
    row_value *column = NULL;
#define FREE_ALL do { fm_top_rows_free(&t); free(order); free(column); } while (0)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_top_rows_get: output handle must be non-NULL and empty");
    FM_CHECK(W && H && W->data && H->data && W->cols == H->rows && W->cols >= 1 && W->rows >= 1 && W->cols <= INT32_MAX,
             FM_ERR_INVALID, "fm_top_rows_get: W (rows x k) and H (k x cols) must have the same k >= 1");
    FM_CHECK(n >= 1, FM_ERR_INVALID, "fm_top_rows_get: n must be at least 1, not %d", n);
    const int64_t m = W->rows, cols = H->cols;
    const int k = (int)W->cols;
    if (n > m) n = (int)m;
    FM_ALLOC(t, 1);
    t->rank = k;
    t->n = n;
    FM_ALLOC(t->component, k);
    FM_ALLOC(t->weight, k);
    FM_ALLOC(t->row, (size_t)k * (size_t)n);
    FM_ALLOC(t->value, (size_t)k * (size_t)n);
    FM_ALLOC(order, k);
    for (int r = 0; r < k; r++) {
        double w = 0, h = 0;
        for (int64_t i = 0; i < m; i++) w += (double)W->data[i * k + r] * W->data[i * k + r];
        for (int64_t j = 0; j < cols; j++) h += (double)H->data[r * cols + j] * H->data[r * cols + j];
        order[r] = (weighed){ sqrt(w) * sqrt(h), r };
    }
    qsort(order, (size_t)k, sizeof *order, by_weight);
    FM_ALLOC(column, m);
    for (int c = 0; c < k; c++) {
        const int r = order[c].component;
        t->component[c] = r;
        t->weight[c] = order[c].weight;
        for (int64_t i = 0; i < m; i++) column[i] = (row_value){ W->data[i * k + r], i };
        qsort(column, (size_t)m, sizeof *column, by_value);
        for (int p = 0; p < n; p++) {
            t->row[(size_t)c * n + p] = column[p].row;
            t->value[(size_t)c * n + p] = column[p].value;
        }
    }
    free(order);
    free(column);
    *out = t;
    return FM_OK;
#undef FREE_ALL
}
