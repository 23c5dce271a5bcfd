// Held-out entries (§1's Ω split in two): the split of a matrix into the
// entries fitted and those held out, for each kind, and the speckled mask
// the solver reads for the dense and sparse kinds.
//
// An entry (i, j) is held out when the uniform draw u(seed, i·cols + j) of
// the holdout stream falls in [fold·F, (fold + 1)·F): the draw depends on the
// seed and the coordinates only, the folds of one seed are disjoint, and
// fold 0 is fm_holdout_split's split of the incomplete kind. For the dense
// and sparse kinds every one of the rows × cols coordinates is drawn (the
// "speckled" mask, zeros and stored values alike); the held coordinates are
// listed, about F·rows·cols of them, and no rows × cols array is formed.
#include "holdout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "rng.h"
#include "status.h"

static inline bool is_held(fm_rng rng, int64_t i, int64_t j, int64_t cols, double lo, double hi)
{
    const double u = fm_rng_uniform(rng, (uint64_t)i * (uint64_t)cols + (uint64_t)j);
    return u >= lo && u < hi;
}

static int triplets_new(fm_triplets **out, int64_t rows, int64_t cols, int64_t count, char *msg)
{
    fm_triplets *t = NULL;
#define FREE_ALL fm_triplets_free(&t)
    FM_ALLOC(t, 1);
    t->rows = rows;
    t->cols = cols;
    FM_ALLOC(t->row, count);
    FM_ALLOC(t->col, count);
    FM_ALLOC(t->val, count);
    *out = t;
    return FM_OK;
#undef FREE_ALL
}

// The incomplete kind: the observed entries whose draw falls in [lo, hi).
static int split_observed(fm_triplets **parts, const fm_triplets *t, double lo, double hi, uint64_t seed,
                          char *msg)
{
    unsigned char *side = NULL;
#define FREE_ALL free(side)
    const fm_rng rng = fm_rng_stream(seed, FM_STREAM_HOLDOUT);
    int64_t count[2] = { 0, 0 };
    FM_ALLOC(side, t->count);
    for (int64_t e = 0; e < t->count; e++) {
        side[e] = is_held(rng, t->row[e], t->col[e], t->cols, lo, hi);
        count[side[e]]++;
    }
    for (int p = 0; p < 2; p++) {
        FM_TRY(triplets_new(&parts[p], t->rows, t->cols, count[p], msg));
    }
    for (int64_t e = 0; e < t->count; e++) {
        fm_triplets *p = parts[side[e]];
        p->row[p->count] = t->row[e];
        p->col[p->count] = t->col[e];
        p->val[p->count++] = t->val[e];
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// The incomplete kind's split of its observed entries: fold 0 of the draw.
int fm_holdout_split(fm_triplets **kept, fm_triplets **holdout, const fm_triplets *t, double fraction,
                     uint64_t seed, char *msg)
{
    fm_triplets *parts[2] = { NULL, NULL };
#define FREE_ALL { fm_triplets_free(&parts[0]); fm_triplets_free(&parts[1]); }
    FM_CHECK(fraction >= 0 && fraction < 1, FM_ERR_INVALID,
             "holdout fraction %g is out of range: expected 0 <= fraction < 1", fraction);
    FM_CHECK(!t->array, FM_ERR_INVALID, "a holdout needs an incomplete matrix given by coordinates");
    FM_TRY(split_observed(parts, t, 0, fraction, seed, msg));
    *kept = parts[0];
    *holdout = parts[1];
    parts[0] = parts[1] = NULL;
    return FM_OK;
#undef FREE_ALL
}

typedef struct stored { int64_t col; double val; } stored;

static int by_col(const void *a, const void *b)
{
    const int64_t x = ((const stored *)a)->col, y = ((const stored *)b)->col;
    return (x > y) - (x < y);
}

// The dense and sparse kinds: every coordinate drawn. Coordinates: the
// stored entries by row, sorted, repeats summed (as the graph sums them);
// an array: its values.
// (A block of a larger matrix: its rows and columns drawn by their place
// in it, row `row0` + i and column `col0` + j of `cols` columns.)
static int split_speckled(fm_triplets **parts, const fm_triplets *t, double lo, double hi, uint64_t seed,
                          int64_t row0, int64_t col0, int64_t cols, char *msg)
{
    stored *entries = NULL;
    int64_t *ptr = NULL, *fill = NULL, *held_ptr = NULL, *kept_ptr = NULL;
#define FREE_ALL { free(entries); free(ptr); free(fill); free(held_ptr); free(kept_ptr); }
    const int64_t m = t->rows, n = t->cols;
    const fm_rng rng = fm_rng_stream(seed, FM_STREAM_HOLDOUT);
    // each held entry costs about 40 bytes here and in the solver's mask
    const double expected = (hi - lo) * (double)m * (double)n;
    if (!fm_memory_fits(40 * expected)) {
        char limit[256], need[64];
        fm_memory_limit_text(limit, sizeof limit);
        fm_bytes_text(need, sizeof need, 40 * expected);
        FM_FAIL(FM_ERR_MEMORY, "a holdout of %.3g of the %lld x %lld entries lists about %.3g coordinates (%s), "
                "beyond %s", hi - lo, (long long)m, (long long)n, expected, need, limit);
    }
    FM_ALLOC(ptr, m + 1);
    FM_ALLOC(held_ptr, m + 1);
    FM_ALLOC(kept_ptr, m + 1);
    if (!t->array) {
        FM_ALLOC(entries, t->count);
        FM_ALLOC(fill, m);
        for (int64_t e = 0; e < t->count; e++) ptr[t->row[e] + 1]++;
        for (int64_t i = 0; i < m; i++) ptr[i + 1] += ptr[i];
        for (int64_t e = 0; e < t->count; e++) {
            const int64_t i = t->row[e];
            entries[ptr[i] + fill[i]++] = (stored){ t->col[e], t->val[e] };
        }
    }
    // per row: the held coordinates and the kept stored entries
#pragma omp parallel for schedule(dynamic, 64)
    for (int64_t i = 0; i < m; i++) {
        int64_t held = 0, kept = 0;
        if (t->array) {
            for (int64_t j = 0; j < n; j++) held += is_held(rng, row0 + i, col0 + j, cols, lo, hi);
            kept = n;   // an array keeps its shape: the held values become zeros
        } else {
            stored *row = entries + ptr[i];
            int64_t len = ptr[i + 1] - ptr[i], unique = 0;
            qsort(row, (size_t)len, sizeof *row, by_col);
            for (int64_t e = 0; e < len; e++) {
                if (unique > 0 && row[unique - 1].col == row[e].col) row[unique - 1].val += row[e].val;
                else row[unique++] = row[e];
            }
            for (int64_t e = unique; e < len; e++) row[e].col = -1;   // merged away
            for (int64_t j = 0; j < n; j++) held += is_held(rng, row0 + i, col0 + j, cols, lo, hi);
            for (int64_t e = 0; e < unique; e++) kept += !is_held(rng, row0 + i, col0 + row[e].col, cols, lo, hi);
        }
        held_ptr[i + 1] = held;
        kept_ptr[i + 1] = kept;
    }
    for (int64_t i = 0; i < m; i++) {
        held_ptr[i + 1] += held_ptr[i];
        kept_ptr[i + 1] += kept_ptr[i];
    }
    FM_TRY(triplets_new(&parts[1], m, n, held_ptr[m], msg));
    if (t->array) {
        FM_ALLOC(parts[0], 1);
        parts[0]->rows = m;
        parts[0]->cols = n;
        parts[0]->array = true;
        parts[0]->count = m * n;
        FM_ALLOC(parts[0]->val, (size_t)m * n);
        memcpy(parts[0]->val, t->val, sizeof(float) * m * n);
    } else {
        FM_TRY(triplets_new(&parts[0], m, n, kept_ptr[m], msg));
    }
    fm_triplets *held = parts[1], *kept = parts[0];
    held->count = held_ptr[m];
    if (!t->array) kept->count = kept_ptr[m];
#pragma omp parallel for schedule(dynamic, 64)
    for (int64_t i = 0; i < m; i++) {
        int64_t h = held_ptr[i], k = kept_ptr[i];
        const stored *row = t->array ? NULL : entries + ptr[i];
        const int64_t len = t->array ? 0 : ptr[i + 1] - ptr[i];
        int64_t next = 0;   // the next stored entry of the row
        for (int64_t j = 0; j < n; j++) {
            while (next < len && row[next].col >= 0 && row[next].col < j) next++;
            const bool here = next < len && row[next].col == j;
            if (is_held(rng, row0 + i, col0 + j, cols, lo, hi)) {
                held->row[h] = i;
                held->col[h] = j;
                held->val[h++] = t->array ? t->val[i * n + j] : here ? (float)row[next].val : 0.0f;
                if (t->array) kept->val[i * n + j] = 0;
            } else if (here) {
                kept->row[k] = i;
                kept->col[k] = j;
                kept->val[k++] = (float)row[next].val;
            }
        }
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_holdout_fold(fm_triplets **kept, fm_triplets **holdout, const fm_triplets *t, fm_kind kind, double fraction,
                    int fold, uint64_t seed, char *msg)
{
    fm_triplets *parts[2] = { NULL, NULL };
#define FREE_ALL { fm_triplets_free(&parts[0]); fm_triplets_free(&parts[1]); }
    FM_CHECK(kept && !*kept && holdout && !*holdout && t, FM_ERR_INVALID, "fm_holdout_fold: bad arguments");
    FM_CHECK(fraction > 0 && fraction < 1, FM_ERR_INVALID,
             "holdout fraction %g is out of range: expected 0 < fraction < 1", fraction);
    FM_CHECK(fold >= 0 && (fold + 1) * fraction <= 1 + 1e-12, FM_ERR_INVALID,
             "fold %d of a holdout of %g does not fit: the folds hold disjoint shares of the entries, so (fold + 1) "
             "x fraction must be at most 1", fold, fraction);
    FM_CHECK(kind == FM_KIND_DENSE || kind == FM_KIND_SPARSE || kind == FM_KIND_INCOMPLETE, FM_ERR_INVALID,
             "a holdout needs a kind: dense, sparse or incomplete");
    FM_CHECK(t->rows > 0 && t->cols > 0, FM_ERR_INVALID, "a holdout needs a matrix with rows and columns");
    const double lo = fold * fraction, hi = fmin(1.0, (fold + 1) * fraction);
    if (kind == FM_KIND_INCOMPLETE) {
        FM_CHECK(!t->array, FM_ERR_INVALID, "a holdout needs an incomplete matrix given by coordinates");
        FM_TRY(split_observed(parts, t, lo, hi, seed, msg));
    } else {
        FM_TRY(split_speckled(parts, t, lo, hi, seed, 0, 0, t->cols, msg));
    }
    *kept = parts[0];
    *holdout = parts[1];
    parts[0] = parts[1] = NULL;
    return FM_OK;
#undef FREE_ALL
}

int fm_holdout_speckle(fm_triplets **kept, fm_triplets **holdout, const fm_triplets *t, double fraction,
                       uint64_t seed, char *msg)
{
    return fm_holdout_fold(kept, holdout, t, FM_KIND_SPARSE, fraction, 0, seed, msg);
}

int fm_holdout_speckle_block(fm_triplets **kept, fm_triplets **holdout, const fm_triplets *t, int64_t row0,
                             int64_t col0, int64_t cols, double fraction, uint64_t seed, char *msg)
{
    fm_triplets *parts[2] = { NULL, NULL };
#define FREE_ALL { fm_triplets_free(&parts[0]); fm_triplets_free(&parts[1]); }
    FM_CHECK(kept && !*kept && holdout && !*holdout && t && !t->array && fraction > 0 && fraction < 1,
             FM_ERR_INVALID, "fm_holdout_speckle_block: bad arguments");
    FM_TRY(split_speckled(parts, t, 0, fraction, seed, row0, col0, cols, msg));
    *kept = parts[0];
    *holdout = parts[1];
    parts[0] = parts[1] = NULL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// The solver's mask
//------------------------------------------------------------------------------

void fm_speckle_free(fm_speckle *s)
{
    free(s->rows.ptr);
    free(s->rows.idx);
    free(s->cols.ptr);
    free(s->cols.idx);
    free(s->val);
    free(s->partial);
    memset(s, 0, sizeof *s);
}

typedef struct held_entry { int64_t col; float val; } held_entry;

static int by_entry_col(const void *a, const void *b)
{
    const int64_t x = ((const held_entry *)a)->col, y = ((const held_entry *)b)->col;
    return (x > y) - (x < y);
}

// Whether the graph's row i stores an entry in column j (dense: a nonzero).
static bool graph_holds(const fm_edges *rows, int64_t i, int64_t j)
{
    if (!rows->ptr) return rows->val[i * rows->sources + j] != 0;
    GrB_Index lo = rows->ptr[i], hi = rows->ptr[i + 1];
    while (lo < hi) {
        const GrB_Index mid = lo + (hi - lo) / 2;
        if ((int64_t)rows->idx[mid] < j) lo = mid + 1;
        else hi = mid;
    }
    return lo < rows->ptr[i + 1] && (int64_t)rows->idx[lo] == j;
}

int fm_speckle_new(fm_speckle *s, const fm_triplets *held, const fm_edges *rows, char *msg)
{
    fm_speckle built = { 0 };
    held_entry *entries = NULL;
    int64_t *fill = NULL;
#define FREE_ALL { fm_speckle_free(&built); free(entries); free(fill); }
    const int64_t m = rows->targets, n = rows->sources, count = held->count;
    FM_CHECK(!held->array && held->rows == m && held->cols == n, FM_ERR_INVALID,
             "the held-out entries are %s of shape %lld x %lld; the matrix is %lld x %lld",
             held->array ? "an array" : "coordinates", (long long)held->rows, (long long)held->cols, (long long)m,
             (long long)n);
    built.rows = (fm_held_edges){ .targets = m, .sources = n, .count = count };
    built.cols = (fm_held_edges){ .targets = n, .sources = m, .count = count };
    FM_ALLOC(built.rows.ptr, m + 1);
    FM_ALLOC(built.cols.ptr, n + 1);
    FM_ALLOC(built.rows.idx, count);
    FM_ALLOC(built.cols.idx, count);
    FM_ALLOC(built.val, count);
    FM_ALLOC(built.partial, 2 * m);
    FM_ALLOC(entries, count);
    FM_ALLOC(fill, (m > n ? m : n));
    for (int64_t e = 0; e < count; e++) {
        const int64_t i = held->row[e], j = held->col[e];
        FM_CHECK(i >= 0 && i < m && j >= 0 && j < n, FM_ERR_INVALID,
                 "held-out entry %lld at (%lld, %lld) is outside the %lld x %lld matrix", (long long)e,
                 (long long)i, (long long)j, (long long)m, (long long)n);
        built.rows.ptr[i + 1]++;
        built.cols.ptr[j + 1]++;
    }
    for (int64_t i = 0; i < m; i++) built.rows.ptr[i + 1] += built.rows.ptr[i];
    for (int64_t j = 0; j < n; j++) built.cols.ptr[j + 1] += built.cols.ptr[j];
    for (int64_t e = 0; e < count; e++) {
        const int64_t i = held->row[e];
        entries[built.rows.ptr[i] + fill[i]++] = (held_entry){ held->col[e], held->val[e] };
    }
    int64_t repeated = -1, stored = -1;
#pragma omp parallel for schedule(dynamic, 64) reduction(max : repeated, stored)
    for (int64_t i = 0; i < m; i++) {
        held_entry *row = entries + built.rows.ptr[i];
        const int64_t len = built.rows.ptr[i + 1] - built.rows.ptr[i];
        qsort(row, (size_t)len, sizeof *row, by_entry_col);
        for (int64_t e = 0; e < len; e++) {
            if (e > 0 && row[e].col == row[e - 1].col && repeated < i) repeated = i;
            if (graph_holds(rows, i, row[e].col) && stored < i) stored = i;
            built.rows.idx[built.rows.ptr[i] + e] = row[e].col;
            built.val[built.rows.ptr[i] + e] = row[e].val;
        }
    }
    FM_CHECK(repeated < 0, FM_ERR_INVALID, "row %lld of the held-out entries names a column twice",
             (long long)repeated);
    FM_CHECK(stored < 0, FM_ERR_INVALID,
             "the fitted matrix holds a value at a held-out coordinate of row %lld: the dense and sparse kinds fit "
             "every entry the graph holds, so the held-out ones must be left out of it (fm_holdout_speckle)",
             (long long)stored);
    // by column: the rows in order, so each column's list is sorted
    memset(fill, 0, sizeof(int64_t) * (m > n ? m : n));
    for (int64_t i = 0; i < m; i++)
        for (int64_t e = built.rows.ptr[i]; e < built.rows.ptr[i + 1]; e++) {
            const int64_t j = built.rows.idx[e];
            built.cols.idx[built.cols.ptr[j] + fill[j]++] = i;
        }
    *s = built;
    memset(&built, 0, sizeof built);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

void fm_speckle_residuals(const fm_speckle *s, const fm_dense *W, const fm_dense *Ht, double *held,
                          double *predicted)
{
    const int64_t m = s->rows.targets, k = W->cols;
    double *partial = s->partial;   // per row: the held error, then the prediction's square
#pragma omp parallel for schedule(dynamic, 64)
    for (int64_t i = 0; i < m; i++) {
        double error = 0, fitted = 0;
        const float *w = W->data + i * k;
        for (int64_t e = s->rows.ptr[i]; e < s->rows.ptr[i + 1]; e++) {
            const float *h = Ht->data + s->rows.idx[e] * k;
            double p = 0;
            for (int64_t r = 0; r < k; r++) p += (double)w[r] * h[r];
            error += (s->val[e] - p) * (s->val[e] - p);
            fitted += p * p;
        }
        partial[2 * i] = error;
        partial[2 * i + 1] = fitted;
    }
    double sum_error = 0, sum_fitted = 0;
    for (int64_t i = 0; i < m; i++) {
        sum_error += partial[2 * i];
        sum_fitted += partial[2 * i + 1];
    }
    *held = sum_error;
    *predicted = sum_fitted;
}
