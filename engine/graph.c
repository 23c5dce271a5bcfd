// The König digraph of X (§2): one GraphBLAS matrix A = X by row (the
// out-edges of each row node) and its transpose Aᵀ by row (the in-edges of
// each column node), both materialized.
#include "graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "ordered_sum.h"
#include "profile.h"
#include "status.h"

void fm_graph_free(fm_graph **g)
{
    if (!g || !*g) return;
    GrB_Matrix_free(&(*g)->A);
    GrB_Matrix_free(&(*g)->AT);
    free(*g);
    *g = NULL;
}

void fm_graph_stats_get(const fm_graph *g, fm_graph_stats *stats) { *stats = g->stats; }

double fm_graph_omega(const fm_graph *g)
{
    return g->stats.kind == FM_KIND_INCOMPLETE ? (double)g->stats.entries
                                               : (double)g->stats.rows * (double)g->stats.cols;
}

double fm_graph_mean(const fm_graph *g)
{
    double omega = fm_graph_omega(g);
    return omega > 0 ? g->stats.sum / omega : 0.0;
}

static int check_shape(int64_t rows, int64_t cols, char *msg)
{
    if (rows < 1 || cols < 1)
        return fm_fail(FM_ERR_INVALID, msg, "matrix shape %lld x %lld: both dimensions must be at least 1",
                       (long long)rows, (long long)cols);
    if (rows > INT64_MAX / cols)
        return fm_fail(FM_ERR_INVALID, msg, "matrix shape %lld x %lld: dimensions overflow",
                       (long long)rows, (long long)cols);
    if (rows > FM_MAX_DIMENSION || cols > FM_MAX_DIMENSION)
        return fm_fail(FM_ERR_INVALID, msg, "matrix shape %lld x %lld is too large: a matrix has at most %lld (2^60) "
                       "rows and columns", (long long)rows, (long long)cols, (long long)FM_MAX_DIMENSION);
    return FM_OK;
}

// FM_ERR_MEMORY when building the graph of `entries` (besides the input the
// caller already holds) would exceed the memory limit.
static int check_memory(int64_t rows, int64_t cols, int64_t entries, bool array, fm_kind kind, char *msg)
{
    fm_memory_estimate e;
    fm_memory_estimate_run(&e, rows, cols, entries, array, kind, 0);
    const double need = e.building + e.graph;
    if (fm_memory_fits(need)) return FM_OK;
    char needs[160], limit[160];
    e.reading = 0;
    fm_memory_need_text(needs, sizeof needs, &e, need, 0);
    fm_memory_limit_text(limit, sizeof limit);
    return fm_fail(FM_ERR_MEMORY, msg, "the %s graph of a %lld x %lld matrix with %lld %s needs %s to build, more "
                   "than %s", fm_kind_name(kind), (long long)rows, (long long)cols, (long long)entries,
                   entries == 1 ? "entry" : "entries", needs, limit);
}

static int check_value(float x, int64_t i, int64_t j, char *msg)
{
    if (!isfinite(x))
        return fm_fail(FM_ERR_INVALID, msg, "entry (%lld, %lld) is not finite", (long long)i + 1, (long long)j + 1);
    if (x < 0)
        return fm_fail(FM_ERR_INVALID, msg,
                       "entry (%lld, %lld) = %g is negative: nonnegative matrix factorization needs X >= 0",
                       (long long)i + 1, (long long)j + 1, x);
    return FM_OK;
}

// Materialize Aᵀ, fix both storage formats, and record the statistics.
static int graph_finish(fm_graph *g, char *msg)
{
    fm_edges edges = { 0 };
#define FREE_ALL fm_edges_return(&edges, NULL)
    int sparsity = g->stats.kind == FM_KIND_DENSE ? GxB_FULL : GxB_SPARSE;
    FM_GRB(GxB_Matrix_Option_set(g->A, GxB_SPARSITY_CONTROL, sparsity));
    FM_GRB(GrB_Matrix_new(&g->AT, GrB_FP32, g->stats.cols, g->stats.rows));
    FM_GRB(GxB_Matrix_Option_set(g->AT, GxB_SPARSITY_CONTROL, sparsity));
    FM_GRB(GrB_transpose(g->AT, NULL, NULL, g->A, NULL));
    FM_GRB(GrB_Matrix_wait(g->A, GrB_MATERIALIZE));
    FM_GRB(GrB_Matrix_wait(g->AT, GrB_MATERIALIZE));

    FM_TRY(fm_edges_borrow(&edges, g, FM_TO_ROWS, msg));
    double sums[FM_SUM_SLABS], squares[FM_SUM_SLABS];
    float lo = INFINITY, hi = -INFINITY;   // (min and max are the same in any order)
#pragma omp parallel for schedule(static) reduction(min : lo) reduction(max : hi)
    for (int s = 0; s < FM_SUM_SLABS; s++) {
        double sum = 0, sumsq = 0;
        for (int64_t e = fm_slab_begin(edges.count, s); e < fm_slab_begin(edges.count, s + 1); e++) {
            float x = edges.val[e];
            sum += x;
            sumsq += (double)x * x;
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
        sums[s] = sum;
        squares[s] = sumsq;
    }
    g->stats.entries = edges.count;
    g->stats.sum = fm_slab_total(sums);
    g->stats.sumsq = fm_slab_total(squares);
    g->stats.min = edges.count ? lo : 0;
    g->stats.max = edges.count ? hi : 0;
    FM_TRY(fm_edges_return(&edges, msg));
    return FM_OK;
#undef FREE_ALL
}

// Build A from 0-based COO arrays (already checked). Duplicates are summed,
// or an error for the incomplete kind; the sparse kind drops explicit zeros.
static int graph_build(fm_graph **out, int64_t rows, int64_t cols, const int64_t *row,
                       const int64_t *col, const float *val, int64_t count, fm_kind kind, char *msg)
{
    fm_graph *g = NULL;
#define FREE_ALL fm_graph_free(&g)
    FM_ALLOC(g, 1);
    g->stats.kind = kind;
    g->stats.rows = rows;
    g->stats.cols = cols;
    FM_GRB(GrB_Matrix_new(&g->A, GrB_FP32, rows, cols));
    FM_GRB(GrB_Matrix_build_FP32(g->A, (const GrB_Index *)row, (const GrB_Index *)col, val,
                                 (GrB_Index)count, GrB_PLUS_FP32));
    GrB_Index nvals = 0;
    FM_GRB(GrB_Matrix_nvals(&nvals, g->A));
    FM_CHECK(kind != FM_KIND_INCOMPLETE || (int64_t)nvals == count, FM_ERR_INVALID,
             "%lld entries repeat a coordinate: an incomplete matrix observes each entry once",
             (long long)(count - (int64_t)nvals));
    if (kind == FM_KIND_SPARSE)
        FM_GRB(GrB_Matrix_select_FP32(g->A, NULL, NULL, GrB_VALUENE_FP32, g->A, 0.0f, NULL));
    FM_TRY(graph_finish(g, msg));
    *out = g;
    return FM_OK;
#undef FREE_ALL
}

static int graph_from_dense(fm_graph **out, int64_t rows, int64_t cols, const float *values,
                            fm_kind kind, char *msg)
{
    fm_graph *g = NULL;
    float *copy = NULL;
    int64_t *row = NULL, *col = NULL;
    float *val = NULL;
#define FREE_ALL { fm_graph_free(&g); free(copy); free(row); free(col); free(val); }
    FM_CHECK(out && !*out && values, FM_ERR_INVALID, "fm_graph_from_dense: bad arguments");
    FM_TRY(check_shape(rows, cols, msg));
    if (kind == FM_KIND_AUTO) kind = FM_KIND_DENSE;
    FM_TRY(check_memory(rows, cols, rows * cols, true, kind, msg));
    int64_t size = rows * cols, nonzeros = 0;
    for (int64_t e = 0; e < size; e++) {
        FM_TRY(check_value(values[e], e / cols, e % cols, msg));
        nonzeros += values[e] != 0;
    }
    if (kind == FM_KIND_DENSE) {
        FM_ALLOC(g, 1);
        g->stats.kind = kind;
        g->stats.rows = rows;
        g->stats.cols = cols;
        FM_ALLOC(copy, size);
        memcpy(copy, values, sizeof(float) * size);
        FM_GRB(GrB_Matrix_new(&g->A, GrB_FP32, rows, cols));
        FM_GRB(GxB_Matrix_pack_FullR(g->A, (void **)&copy, sizeof(float) * size, false, NULL));
        FM_TRY(graph_finish(g, msg));
        *out = g;
        return FM_OK;
    }
    // Sparse keeps the nonzeros; incomplete observes every entry.
    int64_t count = kind == FM_KIND_SPARSE ? nonzeros : size, n = 0;
    FM_ALLOC(row, count);
    FM_ALLOC(col, count);
    FM_ALLOC(val, count);
    for (int64_t e = 0; e < size; e++)
        if (kind == FM_KIND_INCOMPLETE || values[e] != 0) {
            row[n] = e / cols;
            col[n] = e % cols;
            val[n++] = values[e];
        }
    FM_TRY(graph_build(out, rows, cols, row, col, val, count, kind, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// What a built graph's two orientations hold: full values, or values (4),
// indices (8) and row pointers (8 per row, plus one).
static double graph_bytes(const fm_graph *g)
{
    const fm_graph_stats *st = &g->stats;
    return st->kind == FM_KIND_DENSE ? 8.0 * st->rows * st->cols
                                     : 24.0 * st->entries + 8.0 * (st->rows + st->cols + 2);
}

// flops: the statistics, 3 per stored entry (Σx, Σx², and min/max not
// counted); bytes: the input (4 per value, 8 per index) and both orientations
#define GRAPH_PROFILE_STOP(clock, g, input_bytes)                                 \
    FM_PROFILE_STOP(clock, "graph.build", 3.0 * (g)->stats.entries, (input_bytes) + graph_bytes(g))

int fm_graph_from_dense(fm_graph **out, int64_t rows, int64_t cols, const float *values,
                        fm_kind kind, char *msg)
{
    FM_PROFILE_START(profile_clock);
    const int status = graph_from_dense(out, rows, cols, values, kind, msg);
    if (status == FM_OK) GRAPH_PROFILE_STOP(profile_clock, *out, 4.0 * rows * cols);
    return status;
}

static int check_triplets(int64_t rows, int64_t cols, const int64_t *row, const int64_t *col,
                          const float *val, int64_t count, char *msg)
{
    for (int64_t e = 0; e < count; e++) {
        if (row[e] < 0 || row[e] >= rows || col[e] < 0 || col[e] >= cols)
            return fm_fail(FM_ERR_INVALID, msg, "entry %lld at (%lld, %lld) lies outside the %lld x %lld matrix",
                           (long long)e + 1, (long long)row[e] + 1, (long long)col[e] + 1,
                           (long long)rows, (long long)cols);
        int status = check_value(val[e], row[e], col[e], msg);
        if (status) return status;
    }
    return FM_OK;
}

static int graph_from_triplets(fm_graph **out, const fm_triplets *t, fm_kind kind, char *msg)
{
    float *values = NULL;
#define FREE_ALL free(values)
    if (kind == FM_KIND_AUTO) kind = t->array ? FM_KIND_DENSE : FM_KIND_SPARSE;
    if (t->array) return graph_from_dense(out, t->rows, t->cols, t->val, kind, msg);
    FM_TRY(check_shape(t->rows, t->cols, msg));
    FM_TRY(check_memory(t->rows, t->cols, t->count, false, kind, msg));
    FM_TRY(check_triplets(t->rows, t->cols, t->row, t->col, t->val, t->count, msg));
    if (kind != FM_KIND_DENSE)
        return graph_build(out, t->rows, t->cols, t->row, t->col, t->val, t->count, kind, msg);
    // Dense from coordinates: unstored entries are zeros.
    FM_ALLOC(values, t->rows * t->cols);
    for (int64_t e = 0; e < t->count; e++) values[t->row[e] * t->cols + t->col[e]] += t->val[e];
    FM_TRY(graph_from_dense(out, t->rows, t->cols, values, kind, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_graph_from_triplets(fm_graph **out, const fm_triplets *t, fm_kind kind, char *msg)
{
    if (!(out && !*out && t)) return fm_fail(FM_ERR_INVALID, msg, "fm_graph_from_triplets: bad arguments");
    FM_PROFILE_START(profile_clock);
    const int status = graph_from_triplets(out, t, kind, msg);
    if (status == FM_OK) GRAPH_PROFILE_STOP(profile_clock, *out, (t->array ? 4.0 : 20.0) * t->count);
    return status;
}

int fm_graph_from_csr(fm_graph **out, int64_t rows, int64_t cols, const int64_t *ptr,
                      const int64_t *idx, const float *val, fm_kind kind, char *msg)
{
    fm_triplets t = { 0 };
    int64_t *row = NULL;
#define FREE_ALL free(row)
    FM_CHECK(out && !*out && ptr && (ptr[rows] == 0 || (idx && val)), FM_ERR_INVALID,
             "fm_graph_from_csr: bad arguments");
    FM_TRY(check_shape(rows, cols, msg));
    FM_CHECK(ptr[0] == 0, FM_ERR_INVALID, "CSR row pointers must start at 0, not %lld", (long long)ptr[0]);
    for (int64_t i = 0; i < rows; i++)
        FM_CHECK(ptr[i + 1] >= ptr[i], FM_ERR_INVALID, "CSR row pointers decrease at row %lld",
                 (long long)i + 1);
    FM_ALLOC(row, ptr[rows]);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t e = ptr[i]; e < ptr[i + 1]; e++) row[e] = i;
    t.rows = rows;
    t.cols = cols;
    t.count = ptr[rows];
    t.row = row;
    t.col = (int64_t *)idx;
    t.val = (float *)val;
    FM_TRY(fm_graph_from_triplets(out, &t, kind == FM_KIND_AUTO ? FM_KIND_SPARSE : kind, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// Borrowing the CSR arrays
//------------------------------------------------------------------------------

// An iso matrix (all values equal, e.g. a pattern file) holds one value;
// the kernels want one per edge, so expand it once.
static int expand_iso(void **val, GrB_Index *val_size, int64_t count, char *msg)
{
    float *full = NULL;
#define FREE_ALL
    FM_ALLOC(full, count > 0 ? count : 1);
    float x = *(float *)*val;
    for (int64_t e = 0; e < count; e++) full[e] = x;
    free(*val);
    *val = full;
    *val_size = sizeof(float) * (count > 0 ? count : 1);
    return FM_OK;
#undef FREE_ALL
}

int fm_edges_borrow(fm_edges *edges, fm_graph *g, fm_direction direction, char *msg)
{
#define FREE_ALL
    GrB_Matrix M = fm_graph_matrix(g, direction);
    GrB_Index nrows, ncols, nvals;
    FM_GRB(GrB_Matrix_nrows(&nrows, M));
    FM_GRB(GrB_Matrix_ncols(&ncols, M));
    FM_GRB(GrB_Matrix_nvals(&nvals, M));
    memset(edges, 0, sizeof *edges);
    edges->targets = (int64_t)nrows;
    edges->sources = (int64_t)ncols;
    edges->count = (int64_t)nvals;
    bool iso = false;
    void *val = NULL;
    GrB_Index *ptr = NULL, *idx = NULL;
    if (g->stats.kind == FM_KIND_DENSE) {
        FM_GRB(GxB_Matrix_unpack_FullR(M, &val, &edges->val_size, &iso, NULL));
    } else {
        // jumbled = NULL asks GraphBLAS for sorted indices in every row
        FM_GRB(GxB_Matrix_unpack_CSR(M, &ptr, &idx, &val, &edges->ptr_size, &edges->idx_size,
                                     &edges->val_size, &iso, NULL, NULL));
    }
    edges->owner = M;
    edges->ptr = ptr;
    edges->idx = idx;
    edges->val = val;
    if (iso) {
        int status = expand_iso(&val, &edges->val_size, edges->count, msg);
        edges->val = val;
        if (status) { fm_edges_return(edges, NULL); return status; }
    }
    return FM_OK;
#undef FREE_ALL
}

int fm_edges_return(fm_edges *edges, char *msg)
{
#define FREE_ALL
    if (!edges->owner) return FM_OK;
    GrB_Matrix M = edges->owner;
    GrB_Index *ptr = (GrB_Index *)edges->ptr, *idx = (GrB_Index *)edges->idx;
    void *val = (void *)edges->val;
    edges->owner = NULL;
    if (ptr == NULL && idx == NULL)
        FM_GRB(GxB_Matrix_pack_FullR(M, &val, edges->val_size, false, NULL));
    else
        FM_GRB(GxB_Matrix_pack_CSR(M, &ptr, &idx, &val, edges->ptr_size, edges->idx_size,
                                   edges->val_size, false, false, NULL));
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// Dense <-> GraphBLAS, for the reference formulations
//------------------------------------------------------------------------------

int fm_dense_to_grb(GrB_Matrix *out, const fm_dense *m, char *msg)
{
    GrB_Matrix M = NULL;
    float *copy = NULL;
#define FREE_ALL { GrB_Matrix_free(&M); free(copy); }
    FM_GRB(GrB_Matrix_new(&M, GrB_FP32, m->rows, m->cols));
    if (m->rows * m->cols > 0) {
        FM_ALLOC(copy, m->rows * m->cols);
        memcpy(copy, m->data, sizeof(float) * m->rows * m->cols);
        FM_GRB(GxB_Matrix_pack_FullR(M, (void **)&copy, sizeof(float) * m->rows * m->cols, false, NULL));
    }
    *out = M;
    return FM_OK;
#undef FREE_ALL
}

int fm_dense_from_grb(fm_dense **out, GrB_Matrix m, char *msg)
{
    fm_dense *d = NULL;
    GrB_Index *I = NULL, *J = NULL;
    float *X = NULL;
#define FREE_ALL { fm_dense_free(&d); free(I); free(J); free(X); }
    GrB_Index nrows, ncols, nvals;
    FM_GRB(GrB_Matrix_nrows(&nrows, m));
    FM_GRB(GrB_Matrix_ncols(&ncols, m));
    FM_GRB(GrB_Matrix_nvals(&nvals, m));
    FM_TRY(fm_dense_new(&d, nrows, ncols, msg));
    FM_ALLOC(I, nvals + 1);
    FM_ALLOC(J, nvals + 1);
    FM_ALLOC(X, nvals + 1);
    GrB_Index n = nvals;
    FM_GRB(GrB_Matrix_extractTuples_FP32(I, J, X, &n, m));
    for (GrB_Index e = 0; e < n; e++) d->data[I[e] * ncols + J[e]] = X[e];
    *out = d;
    d = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
