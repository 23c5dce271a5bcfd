// GraphSAINT subgraph samplers and their normalization: see subgraph.h.
//
// Round r draws from the stream key bits(key(seed, FM_STREAM_SUBGRAPH), r):
// the edge sampler's draw d at counter d; the random walk w's root at counter
// w·(length + 1) and its step s at counter w·(length + 1) + s + 1.
#include "subgraph.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "status.h"

static fm_rng round_stream(uint64_t seed, uint64_t round)
{
    return (fm_rng){ fm_rng_bits(fm_rng_stream(seed, FM_STREAM_SUBGRAPH), round) };
}

// floor(u · n) for u in (0, 1), kept below n.
static int64_t pick(double u, int64_t n)
{
    const int64_t i = (int64_t)(u * (double)n);
    return i < n ? i : n - 1;
}

int fm_subgraph_check(const fm_subgraph_options *options, fm_kind kind, char *msg)
{
#define FREE_ALL
    FM_CHECK(options, FM_ERR_INVALID, "subgraph sampler: no options");
    FM_CHECK(options->strategy == FM_SAMPLER_EDGE || options->strategy == FM_SAMPLER_RANDOM_WALK, FM_ERR_INVALID,
             "the %s sampler keeps in-edges per target; the subgraph samplers are edge and random-walk",
             fm_sampler_name(options->strategy));
    FM_CHECK(options->budget >= 1, FM_ERR_INVALID,
             "subgraph budget %lld: the %s sampler draws budget %s, so it must be at least 1",
             (long long)options->budget, fm_sampler_name(options->strategy),
             options->strategy == FM_SAMPLER_EDGE ? "edges" : "walks");
    FM_CHECK(options->strategy != FM_SAMPLER_RANDOM_WALK || options->walk_length >= 1, FM_ERR_INVALID,
             "walk length %d: a random walk takes at least 1 step", options->walk_length);
    FM_CHECK(options->presamples >= 1, FM_ERR_INVALID,
             "presamples %lld: the normalization counts at least 1 draw", (long long)options->presamples);
    FM_CHECK(kind == FM_KIND_SPARSE || kind == FM_KIND_INCOMPLETE, FM_ERR_INVALID,
             "the %s sampler draws induced subgraphs of the sparse or incomplete kind; a %s matrix's graph is "
             "complete (every pair an edge): sample it node-wise (uniform)",
             fm_sampler_name(options->strategy), fm_kind_name(kind));
    return FM_OK;
#undef FREE_ALL
}

void fm_subgraph_free(fm_subgraph *s)
{
    if (!s) return;
    free(s->row_nodes);
    free(s->col_nodes);
    memset(s, 0, sizeof *s);
}

// The marked nodes, increasing.
static int collect(int64_t **nodes, int64_t *count, const unsigned char *marked, int64_t n, char *msg)
{
#define FREE_ALL
    int64_t c = 0;
    for (int64_t v = 0; v < n; v++) c += marked[v];
    FM_ALLOC(*nodes, c + 1);
    c = 0;
    for (int64_t v = 0; v < n; v++)
        if (marked[v]) (*nodes)[c++] = v;
    *count = c;
    return FM_OK;
#undef FREE_ALL
}

// The row of the edge at position e of the row edges (ptr is increasing).
static int64_t row_of(const fm_edges *rows, int64_t e)
{
    int64_t lo = 0, hi = rows->targets - 1;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo + 1) / 2;
        if ((int64_t)rows->ptr[mid] <= e) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

static int64_t degree(const fm_edges *e, int64_t v) { return (int64_t)(e->ptr[v + 1] - e->ptr[v]); }

static int check_edges(const fm_edges *rows, const fm_edges *columns, char *msg)
{
#define FREE_ALL
    FM_CHECK(rows && columns && rows->ptr && columns->ptr, FM_ERR_INVALID,
             "subgraph sampler: the graph's edges must be CSR (the sparse or incomplete kind)");
    FM_CHECK(rows->targets == columns->sources && rows->sources == columns->targets &&
                 rows->count == columns->count, FM_ERR_INVALID,
             "subgraph sampler: the two orientations are not of one graph");
    FM_CHECK(rows->count >= 1, FM_ERR_INVALID, "subgraph sampler: the graph has no edge to draw");
    return FM_OK;
#undef FREE_ALL
}

// What every draw over one graph reads, built once: the edge sampler's
// cumulative weights 1/deg(i) + 1/deg(j) over the row edges, or the walks'
// roots (the rows with an edge); and the node marks of a draw.
typedef struct sampler {
    const fm_edges *rows, *columns;
    const fm_subgraph_options *o;
    double *cumulative;
    int64_t *roots, n_roots;
    unsigned char *row_in, *col_in;
} sampler;

static void sampler_free(sampler *z)
{
    free(z->cumulative);
    free(z->roots);
    free(z->row_in);
    free(z->col_in);
    memset(z, 0, sizeof *z);
}

static int sampler_new(sampler *z, const fm_edges *rows, const fm_edges *columns, const fm_subgraph_options *o,
                       char *msg)
{
#define FREE_ALL sampler_free(z)
    *z = (sampler){ .rows = rows, .columns = columns, .o = o };
    FM_TRY(check_edges(rows, columns, msg));
    // the kind is the caller's to check; CSR edges are sparse or incomplete
    FM_TRY(fm_subgraph_check(o, FM_KIND_SPARSE, msg));
    z->row_in = calloc((size_t)rows->targets + 1, 1);
    z->col_in = calloc((size_t)rows->sources + 1, 1);
    FM_CHECK(z->row_in && z->col_in, FM_ERR_MEMORY, "out of memory for the subgraph's nodes");
    if (o->strategy == FM_SAMPLER_EDGE) {
        FM_ALLOC(z->cumulative, rows->count + 1);
        double total = 0;
        for (int64_t i = 0; i < rows->targets; i++)
            for (GrB_Index e = rows->ptr[i]; e < rows->ptr[i + 1]; e++) {
                total += 1.0 / (double)degree(rows, i) + 1.0 / (double)degree(columns, (int64_t)rows->idx[e]);
                z->cumulative[e] = total;
            }
    } else {
        FM_ALLOC(z->roots, rows->targets + 1);
        for (int64_t i = 0; i < rows->targets; i++)
            if (degree(rows, i) > 0) z->roots[z->n_roots++] = i;
    }
    return FM_OK;
#undef FREE_ALL
}

// GraphSAINT's edge sampler: budget draws of the cumulative weights.
static void draw_edges(const sampler *z, fm_rng rng)
{
    const fm_edges *rows = z->rows;
    const int64_t E = rows->count;
    const double total = z->cumulative[E - 1];
    for (int64_t d = 0; d < z->o->budget; d++) {
        const double u = fm_rng_uniform(rng, (uint64_t)d) * total;
        int64_t lo = 0, hi = E - 1;   // the first e with cumulative[e] > u
        while (lo < hi) {
            const int64_t mid = lo + (hi - lo) / 2;
            if (z->cumulative[mid] > u) hi = mid;
            else lo = mid + 1;
        }
        z->row_in[row_of(rows, lo)] = 1;
        z->col_in[rows->idx[lo]] = 1;
    }
}

// GraphSAINT's random-walk sampler over the König digraph.
static void draw_walks(const sampler *z, fm_rng rng)
{
    const int walk_length = z->o->walk_length;
    const uint64_t stride = (uint64_t)walk_length + 1;
    for (int64_t w = 0; w < z->o->budget; w++) {
        int64_t node = z->roots[pick(fm_rng_uniform(rng, (uint64_t)w * stride), z->n_roots)];
        bool at_row = true;
        z->row_in[node] = 1;
        for (int s = 0; s < walk_length; s++) {
            const fm_edges *from = at_row ? z->rows : z->columns;
            // every node on a walk has an edge: it was reached along one
            const double u = fm_rng_uniform(rng, (uint64_t)w * stride + (uint64_t)s + 1);
            node = (int64_t)from->idx[(int64_t)from->ptr[node] + pick(u, degree(from, node))];
            at_row = !at_row;
            (at_row ? z->row_in : z->col_in)[node] = 1;
        }
    }
}

// Round `round` into *out (freed first), the marks cleared after.
static int sampler_draw(fm_subgraph *out, sampler *z, uint64_t round, char *msg)
{
    fm_subgraph s = {0};
#define FREE_ALL fm_subgraph_free(&s)
    const fm_rng rng = round_stream(z->o->seed, round);
    if (z->o->strategy == FM_SAMPLER_EDGE) draw_edges(z, rng);
    else draw_walks(z, rng);
    FM_TRY(collect(&s.row_nodes, &s.rows, z->row_in, z->rows->targets, msg));
    FM_TRY(collect(&s.col_nodes, &s.cols, z->col_in, z->rows->sources, msg));
    for (int64_t r = 0; r < s.rows; r++) z->row_in[s.row_nodes[r]] = 0;
    for (int64_t q = 0; q < s.cols; q++) z->col_in[s.col_nodes[q]] = 0;
    fm_subgraph_free(out);
    *out = s;
    return FM_OK;
#undef FREE_ALL
}

int fm_subgraph_draw(fm_subgraph *out, const fm_edges *rows, const fm_edges *columns,
                     const fm_subgraph_options *options, uint64_t round, char *msg)
{
    sampler z = {0};
#define FREE_ALL sampler_free(&z)
    FM_CHECK(out, FM_ERR_INVALID, "fm_subgraph_draw: no output");
    FM_TRY(sampler_new(&z, rows, columns, options, msg));
    FM_TRY(sampler_draw(out, &z, round, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// Normalization
//------------------------------------------------------------------------------

void fm_subgraph_counts_free(fm_subgraph_counts *c)
{
    if (!c) return;
    free(c->rows);
    free(c->cols);
    free(c->edges);
    free(c->pairs);
    memset(c, 0, sizeof *c);
}

// col_at[j] = j's position in s's columns + 1, or 0 when j is not in it.
static void mark_columns(int64_t *col_at, const fm_subgraph *s, bool set)
{
    for (int64_t c = 0; c < s->cols; c++) col_at[s->col_nodes[c]] = set ? c + 1 : 0;
}

int fm_subgraph_count(fm_subgraph_counts *out, const fm_edges *rows, const fm_edges *columns, fm_kind kind,
                      const fm_subgraph_options *options, uint64_t first_round, char *msg)
{
    fm_subgraph_counts c = {0};
    fm_subgraph s = {0};
    sampler z = {0};
    int64_t *col_at = NULL;
#define FREE_ALL { fm_subgraph_counts_free(&c); fm_subgraph_free(&s); sampler_free(&z); free(col_at); }
    FM_CHECK(out, FM_ERR_INVALID, "fm_subgraph_count: no output");
    FM_TRY(fm_subgraph_check(options, kind, msg));
    FM_TRY(sampler_new(&z, rows, columns, options, msg));
    const int64_t m = rows->targets, n = rows->sources;
    const bool pairs = kind == FM_KIND_SPARSE;
    FM_CHECK(!pairs || (m <= FM_SUBGRAPH_MAX_PAIRS / (n > 0 ? n : 1)), FM_ERR_INVALID,
             "the subgraph normalization of the sparse kind counts every pair of its %lld x %lld entries, above "
             "the %lld it holds: sample node-wise (uniform) instead",
             (long long)m, (long long)n, (long long)FM_SUBGRAPH_MAX_PAIRS);
    c.rows = calloc((size_t)m + 1, sizeof *c.rows);
    c.cols = calloc((size_t)n + 1, sizeof *c.cols);
    c.edges = calloc((size_t)rows->count + 1, sizeof *c.edges);
    col_at = calloc((size_t)n + 1, sizeof *col_at);
    if (pairs) c.pairs = calloc((size_t)(m * n) + 1, sizeof *c.pairs);
    FM_CHECK(c.rows && c.cols && c.edges && col_at && (!pairs || c.pairs), FM_ERR_MEMORY,
             "out of memory for the subgraph normalization counts");
    c.draws = options->presamples;
    for (int64_t d = 0; d < options->presamples; d++) {
        FM_TRY(sampler_draw(&s, &z, first_round + (uint64_t)d, msg));
        mark_columns(col_at, &s, true);
        for (int64_t r = 0; r < s.rows; r++) {
            const int64_t i = s.row_nodes[r];
            c.rows[i]++;
            for (GrB_Index e = rows->ptr[i]; e < rows->ptr[i + 1]; e++)
                if (col_at[rows->idx[e]]) c.edges[e]++;
            if (pairs)
                for (int64_t q = 0; q < s.cols; q++) c.pairs[i * n + s.col_nodes[q]]++;
        }
        for (int64_t q = 0; q < s.cols; q++) c.cols[s.col_nodes[q]]++;
        mark_columns(col_at, &s, false);
    }
    fm_subgraph_counts_free(out);
    *out = c;
    memset(&c, 0, sizeof c);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

void fm_subgraph_matrix_free(fm_subgraph_matrix *m)
{
    if (!m) return;
    fm_subgraph_free(&m->nodes);
    free(m->ptr);
    free(m->idx);
    free(m->val);
    free(m->log_alpha_rows);
    free(m->log_alpha_cols);
    free(m->loss_weights);
    memset(m, 0, sizeof *m);
}

static double at_least_one(int64_t count) { return count > 0 ? (double)count : 1.0; }

int fm_subgraph_induce(fm_subgraph_matrix *out, fm_subgraph *nodes, const fm_edges *rows, fm_kind kind,
                       const fm_subgraph_counts *counts, double omega, char *msg)
{
    fm_subgraph_matrix s = {0};
    int64_t *col_at = NULL;
#define FREE_ALL { fm_subgraph_matrix_free(&s); free(col_at); }
    FM_CHECK(out && nodes && rows && rows->ptr && counts && counts->rows, FM_ERR_INVALID,
             "fm_subgraph_induce: bad arguments");
    FM_CHECK(kind != FM_KIND_SPARSE || counts->pairs, FM_ERR_INVALID,
             "fm_subgraph_induce: the sparse kind needs the pair counts");
    FM_CHECK(omega > 0, FM_ERR_INVALID, "fm_subgraph_induce: |Ω| = %g", omega);
    const int64_t m = nodes->rows, n = nodes->cols, N = counts->draws;
    FM_ALLOC(col_at, rows->sources + 1);
    memset(col_at, 0, sizeof *col_at * (size_t)(rows->sources + 1));
    mark_columns(col_at, nodes, true);
    FM_ALLOC(s.ptr, m + 1);
    s.ptr[0] = 0;
    for (int64_t r = 0; r < m; r++) {
        const int64_t i = nodes->row_nodes[r];
        int64_t kept = 0;
        for (GrB_Index e = rows->ptr[i]; e < rows->ptr[i + 1]; e++) kept += col_at[rows->idx[e]] > 0;
        s.ptr[r + 1] = s.ptr[r] + kept;
    }
    s.count = s.ptr[m];
    FM_ALLOC(s.idx, s.count + 1);
    FM_ALLOC(s.val, s.count + 1);
    FM_ALLOC(s.log_alpha_rows, s.count + 1);
    FM_ALLOC(s.log_alpha_cols, s.count + 1);
    FM_ALLOC(s.loss_weights, kind == FM_KIND_SPARSE ? m * n + 1 : s.count + 1);
    for (int64_t r = 0; r < m; r++) {
        const int64_t i = nodes->row_nodes[r];
        int64_t w = s.ptr[r];
        for (GrB_Index e = rows->ptr[i]; e < rows->ptr[i + 1]; e++) {
            const int64_t j = (int64_t)rows->idx[e], q = col_at[j] - 1;
            if (q < 0) continue;
            const double c_e = at_least_one(counts->edges[e]);
            s.idx[w] = q;
            s.val[w] = rows->val[e];
            // α = C_e / C_v ≤ 1 (a node's count is at least its edges')
            s.log_alpha_rows[w] = (float)log(fmin(1.0, c_e / at_least_one(counts->rows[i])));
            s.log_alpha_cols[w] = (float)log(fmin(1.0, c_e / at_least_one(counts->cols[j])));
            if (kind != FM_KIND_SPARSE) s.loss_weights[w] = (float)((double)N / (c_e * omega));
            w++;
        }
        if (kind == FM_KIND_SPARSE)
            for (int64_t q = 0; q < n; q++)
                s.loss_weights[r * n + q] =
                    (float)((double)N / (at_least_one(counts->pairs[i * rows->sources + nodes->col_nodes[q]]) * omega));
    }
    s.nodes = *nodes;
    memset(nodes, 0, sizeof *nodes);
    fm_subgraph_matrix_free(out);
    *out = s;
    memset(&s, 0, sizeof s);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
