// The GraphNet ops (ops/graphnet.h): the edge sets of a lower triangle, the
// fused gather and aggregation against their GraphBLAS formulations on random
// edge sets (empty rows and columns, a target without edges for the mean,
// edge sets with repeated edges and self-loops), every backward against
// central finite differences in double (the ops alone, and a whole P5 block:
// layer 1 by rows, layer 2 by columns, with a scalar loss), and every float
// result bitwise the same with 1, 2 and 4 threads.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphnet.h"
#include "helpers.h"
#include "rng.h"

TestSuite(graphnet, .init = fm_test_setup);

#define FD_STEP 1e-6
#define FD_TOLERANCE 1e-6    // double backward vs finite differences
#define REF_TOLERANCE 1e-12  // fused double vs GraphBLAS double (sums in another order)
#define FLOAT_TOLERANCE 1e-5 // fused float vs GraphBLAS double

//------------------------------------------------------------------------------
// Fixtures: the lower triangle of a random square pattern, and general edge sets
//------------------------------------------------------------------------------

// A random lower triangle i ≥ j of an n × n pattern, in the layout of
// fm_square (only n, lower, lower_by_columns and lower_edge are set). Row 0
// and column n−1 are empty (their diagonal entries are dropped), and so are
// some other rows, so each orientation has targets without edges.
typedef struct lower_fixture {
    fm_square g;
    fm_csr by_rows, by_columns;
    int64_t *row_of;   // the row of entry k of by_rows (the fixture's own record)
} lower_fixture;

static bool lower_has(fm_rng r, int64_t n, int64_t i, int64_t j, double p)
{
    if (i == j) return i != 0 && i != n - 1 && fm_rng_uniform(r, (uint64_t)(i * n + j)) < 0.8;
    if (fm_rng_uniform(r, (uint64_t)(n * n + i)) < 0.15) return false;   // an empty row
    return fm_rng_uniform(r, (uint64_t)(i * n + j)) < p;
}

static lower_fixture *lower_fixture_new(int64_t n, double p, uint64_t seed)
{
    lower_fixture *fp = calloc(1, sizeof(lower_fixture));
    cr_assert_not_null(fp);
    lower_fixture f = *fp;
    const fm_rng r = fm_rng_stream(seed, FM_STREAM_SYNTH);
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j <= i; j++) count += lower_has(r, n, i, j, p);
    f.by_rows = (fm_csr){ n, count, calloc(n + 1, sizeof(int64_t)), malloc(sizeof(int64_t) * (count + 1)),
                          malloc(sizeof(double) * (count + 1)) };
    f.by_columns = (fm_csr){ n, count, calloc(n + 2, sizeof(int64_t)), malloc(sizeof(int64_t) * (count + 1)),
                             malloc(sizeof(double) * (count + 1)) };
    f.row_of = malloc(sizeof(int64_t) * (count + 1));
    int64_t *edge_of = malloc(sizeof(int64_t) * (count + 1));
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j <= i; j++)
            if (lower_has(r, n, i, j, p)) {
                f.by_rows.index[k] = j;
                f.by_rows.value[k] = fm_rng_uniform(r, (uint64_t)(2 * n * n + k)) - 0.5;
                f.row_of[k++] = i;
                f.by_columns.start[j + 2]++;
            }
        f.by_rows.start[i + 1] = k;
    }
    // by columns: a counting sort of the entries by column, rows ascending
    for (int64_t j = 0; j < n; j++) f.by_columns.start[j + 2] += f.by_columns.start[j + 1];
    for (int64_t e = 0; e < count; e++) {
        const int64_t q = f.by_columns.start[f.by_rows.index[e] + 1]++;
        f.by_columns.index[q] = f.row_of[e];
        f.by_columns.value[q] = f.by_rows.value[e];
        edge_of[q] = e;
    }
    f.g.n = n;
    f.g.lower_edge = edge_of;
    *fp = f;
    fp->g.lower = &fp->by_rows;   // into the heap copy, not the local
    fp->g.lower_by_columns = &fp->by_columns;
    return fp;
}

static void lower_fixture_free(lower_fixture *f)
{
    free(f->by_rows.start);
    free(f->by_rows.index);
    free(f->by_rows.value);
    free(f->by_columns.start);
    free(f->by_columns.index);
    free(f->by_columns.value);
    free(f->row_of);
    free(f->g.lower_edge);
    free(f);
}

static fm_edge_set *edges_from_lower(const lower_fixture *f, fm_lower_orientation orientation)
{
    char msg[FM_MSG_LEN];
    fm_edge_set *s = NULL;
    cr_assert_eq(fm_edge_set_from_lower(&s, &f->g, orientation, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edge_set_check(s, msg), FM_OK, "%s", msg);
    return s;
}

// A general edge set: `count` random edges over nodes [0, nodes) drawn from
// the first 3/4 of the nodes (the rest have no edges), repeats and
// self-loops allowed; each group lists its edges in a scrambled order.
typedef struct general_set {
    fm_edge_set s;
    int64_t *arrays;
} general_set;

static void group(int64_t nodes, int64_t count, const int64_t *node_of, int64_t *start, int64_t *ids,
                  fm_rng r)
{
    for (int64_t t = 0; t <= nodes; t++) start[t] = 0;
    for (int64_t k = 0; k < count; k++) start[node_of[k] + 1]++;
    for (int64_t t = 0; t < nodes; t++) start[t + 1] += start[t];
    int64_t *fill = malloc(sizeof(int64_t) * (nodes + 1));
    memcpy(fill, start, sizeof(int64_t) * (nodes + 1));
    for (int64_t k = 0; k < count; k++) ids[fill[node_of[k]]++] = k;
    free(fill);
    for (int64_t t = 0; t < nodes; t++)   // Fisher-Yates inside each group
        for (int64_t p = start[t + 1] - 1; p > start[t]; p--) {
            const int64_t q = start[t] + (int64_t)(fm_rng_uniform(r, (uint64_t)p) * (double)(p - start[t] + 1));
            const int64_t keep = ids[p];
            ids[p] = ids[q];
            ids[q] = keep;
        }
}

static general_set general_set_new(int64_t nodes, int64_t count, uint64_t seed)
{
    general_set g;
    g.arrays = malloc(sizeof(int64_t) * (4 * count + 2 * nodes + 2 + 1));
    int64_t *target = g.arrays, *source = target + count, *te = source + count, *se = te + count;
    int64_t *ts = se + count, *ss = ts + nodes + 1;
    const fm_rng r = fm_rng_stream(seed, FM_STREAM_SYNTH);
    const int64_t live = nodes - nodes / 4;
    for (int64_t k = 0; k < count; k++) {
        target[k] = (int64_t)(fm_rng_uniform(r, (uint64_t)(2 * k)) * (double)live);
        source[k] = (int64_t)(fm_rng_uniform(r, (uint64_t)(2 * k + 1)) * (double)live);
        if (k % 7 == 0) source[k] = target[k];   // self-loops
    }
    group(nodes, count, target, ts, te, fm_rng_stream(seed, FM_STREAM_ORDER));
    group(nodes, count, source, ss, se, fm_rng_stream(seed + 1, FM_STREAM_ORDER));
    g.s = (fm_edge_set){ nodes, count, target, source, ts, te, ss, se, NULL };
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_edge_set_check(&g.s, msg), FM_OK, "%s", msg);
    return g;
}

//------------------------------------------------------------------------------
// Arrays and comparisons
//------------------------------------------------------------------------------

static double relative_error(const double *a, const double *b, int64_t n)
{
    double diff = 0, norm = 0;
    for (int64_t e = 0; e < n; e++) {
        diff += (a[e] - b[e]) * (a[e] - b[e]);
        norm += b[e] * b[e];
    }
    return norm > 0 ? sqrt(diff / norm) : sqrt(diff);
}

static double relative_error_float(const float *a, const double *b, int64_t n)
{
    double diff = 0, norm = 0;
    for (int64_t e = 0; e < n; e++) {
        diff += (a[e] - b[e]) * (a[e] - b[e]);
        norm += b[e] * b[e];
    }
    return norm > 0 ? sqrt(diff / norm) : sqrt(diff);
}

static void expect_close(const double *a, const double *b, int64_t n, const char *what)
{
    const double error = relative_error(a, b, n);
    cr_assert(error < REF_TOLERANCE, "%s: fused vs GraphBLAS relative error %.3g", what, error);
}

static void expect_float(const float *a, const double *b, int64_t n, const char *what)
{
    const double error = relative_error_float(a, b, n);
    cr_assert(error < FLOAT_TOLERANCE, "%s: float vs GraphBLAS relative error %.3g", what, error);
}

static void expect_gradient(const double *after, const double *before, const double *fd, int64_t n,
                            const char *what)
{
    const double error = fm_test_relative_error(after, before, fd, n);
    cr_assert(error < FD_TOLERANCE, "%s: finite-difference relative error %.3g", what, error);
}

static void expect_same(const float *a, const float *b, int64_t n, const char *what, int threads)
{
    for (int64_t e = 0; e < n; e++)
        cr_assert(a[e] == b[e], "%s: entry %lld is %.9g with 1 thread, %.9g with %d", what,
                  (long long)e, b[e], a[e], threads);
}

static double weighted_sum(const double *c, const double *x, int64_t n)
{
    double s = 0;
    for (int64_t e = 0; e < n; e++) s += c[e] * x[e];
    return s;
}

static double *finite_differences(double *x, int64_t n, double (*loss)(void *), void *ctx)
{
    double *fd = malloc(sizeof(double) * (n > 0 ? n : 1));
    for (int64_t e = 0; e < n; e++) fd[e] = fm_test_central_difference(x, e, FD_STEP, loss, ctx);
    return fd;
}

// expect_gradient on every stride-th entry of x only (the finite differences
// of a long input are the slow part of a test).
static void expect_gradient_sampled(const double *after, const double *before, double *x, int64_t n,
                                    int64_t stride, double (*loss)(void *), void *ctx, const char *what)
{
    const int64_t m = (n + stride - 1) / stride;
    double *a = malloc(sizeof(double) * (m + 1)), *fd = malloc(sizeof(double) * (m + 1));
    for (int64_t i = 0; i < m; i++) {
        a[i] = after[i * stride] - before[i * stride];
        fd[i] = fm_test_central_difference(x, i * stride, FD_STEP, loss, ctx);
    }
    expect_gradient(a, NULL, fd, m, what);
    free(a);
    free(fd);
}

static float *zeros_float(int64_t n) { return calloc(n > 0 ? n : 1, sizeof(float)); }
static double *zeros(int64_t n) { return calloc(n > 0 ? n : 1, sizeof(double)); }

// The edge sets every comparison runs over: a lower triangle by rows and by
// columns, and a general set.
typedef struct cases {
    lower_fixture *lower;
    fm_edge_set *by_rows, *by_columns;
    general_set general;
    const fm_edge_set *set[3];
    const char *name[3];
} cases;

static cases *cases_new(int64_t n, double p, int64_t general_count, uint64_t seed)
{
    cases *c = calloc(1, sizeof(cases));
    c->lower = lower_fixture_new(n, p, seed);
    c->by_rows = edges_from_lower(c->lower, FM_LOWER_BY_ROWS);
    c->by_columns = edges_from_lower(c->lower, FM_LOWER_BY_COLUMNS);
    c->general = general_set_new(n, general_count, seed + 100);
    c->set[0] = c->by_rows;
    c->set[1] = c->by_columns;
    c->set[2] = &c->general.s;
    c->name[0] = "lower by rows";
    c->name[1] = "lower by columns";
    c->name[2] = "general";
    return c;
}

static void cases_free(cases *c)
{
    fm_edge_set_free(&c->by_rows);
    fm_edge_set_free(&c->by_columns);
    free(c->general.arrays);
    lower_fixture_free(c->lower);
    free(c);
}

static int64_t targets_without_edges(const fm_edge_set *s)
{
    int64_t none = 0;
    for (int64_t t = 0; t < s->nodes; t++) none += s->by_target_start[t + 1] == s->by_target_start[t];
    return none;
}

//------------------------------------------------------------------------------
// Edge sets
//------------------------------------------------------------------------------

Test(graphnet, edge_sets_of_the_lower_triangle_are_its_entries)
{
    const int64_t sizes[] = { 1, 2, 9, 60 };
    for (int c = 0; c < 4; c++) {
        lower_fixture *f = lower_fixture_new(sizes[c], 0.3, 10 + c);
        fm_edge_set *rows = edges_from_lower(f, FM_LOWER_BY_ROWS);
        fm_edge_set *columns = edges_from_lower(f, FM_LOWER_BY_COLUMNS);
        const int64_t count = f->by_rows.count;
        cr_assert(rows->nodes == sizes[c] && columns->nodes == sizes[c]);
        cr_assert(rows->count == count && columns->count == count);
        for (int64_t k = 0; k < count; k++) {   // edge k is entry k of lower, (row_of[k], index[k])
            cr_assert(rows->target[k] == f->row_of[k] && rows->source[k] == f->by_rows.index[k]);
            cr_assert(columns->target[k] == f->by_rows.index[k] && columns->source[k] == f->row_of[k]);
        }
        // row 0 and column n − 1 have no entries: targets without edges
        cr_assert(rows->by_target_start[1] == 0);
        cr_assert(columns->by_target_start[sizes[c]] == columns->by_target_start[sizes[c] - 1]);
        fm_edge_set_free(&rows);
        fm_edge_set_free(&columns);
        cr_assert_null(rows);
        fm_edge_set_free(&rows);   // twice is harmless
        lower_fixture_free(f);
    }
}

// The same on a graph built by engine/square.c: a symmetric matrix given by
// its lower triangle (mirrored), every diagonal entry present.
Test(graphnet, edge_sets_of_a_square_graph)
{
    char msg[FM_MSG_LEN];
    lower_fixture *f = lower_fixture_new(40, 0.2, 17);
    const int64_t n = 40, count = f->by_rows.count;
    int64_t *row = malloc(sizeof(int64_t) * (count + n)), *col = malloc(sizeof(int64_t) * (count + n));
    double *val = malloc(sizeof(double) * (count + n));
    int64_t m = 0;
    for (int64_t k = 0; k < count; k++)   // the off-diagonal entries, and every diagonal
        if (f->row_of[k] != f->by_rows.index[k]) {
            row[m] = f->row_of[k];
            col[m] = f->by_rows.index[k];
            val[m++] = f->by_rows.value[k];
        }
    for (int64_t i = 0; i < n; i++) {
        row[m] = col[m] = i;
        val[m++] = 4;
    }
    fm_square *g = NULL;
    cr_assert_eq(fm_square_from_triplets(&g, n, m, row, col, val, true, msg), FM_OK, "%s", msg);
    cr_assert_eq(g->lower->count, m);
    for (int how = FM_LOWER_BY_ROWS; how <= FM_LOWER_BY_COLUMNS; how++) {
        fm_edge_set *s = NULL;
        cr_assert_eq(fm_edge_set_from_lower(&s, g, (fm_lower_orientation)how, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_edge_set_check(s, msg), FM_OK, "%s", msg);
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = g->lower->start[i]; k < g->lower->start[i + 1]; k++) {
                const int64_t j = g->lower->index[k];
                cr_assert(j <= i);
                cr_assert(how == FM_LOWER_BY_ROWS ? s->target[k] == i && s->source[k] == j
                                                  : s->target[k] == j && s->source[k] == i);
            }
        fm_edge_set_free(&s);
    }
    fm_square_free(&g);
    free(row);
    free(col);
    free(val);
    lower_fixture_free(f);
}

Test(graphnet, edge_set_check_names_what_is_wrong)
{
    char msg[FM_MSG_LEN];
    general_set g = general_set_new(20, 50, 3);
    const int64_t count = g.s.count;
    int64_t *bad = malloc(sizeof(int64_t) * count);
    fm_edge_set s = g.s;

    memcpy(bad, g.s.target, sizeof(int64_t) * count);
    bad[5] = 20;   // a node out of range
    s.target = bad;
    cr_assert_eq(fm_edge_set_check(&s, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "edge 5"), "%s", msg);

    bad[5] = (g.s.target[5] + 1) % 15;   // in range, but listed in the group of its old target
    cr_assert_eq(fm_edge_set_check(&s, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "by-target group"), "%s", msg);
    s.target = g.s.target;

    memcpy(bad, g.s.by_source_edge, sizeof(int64_t) * count);
    int64_t p = 0;   // an edge listed twice: a group's edge repeated in the next slot of its group
    while (!(g.s.by_source_start[g.s.source[bad[p]] + 1] > p + 1)) p++;
    bad[p + 1] = bad[p];
    s.by_source_edge = bad;
    cr_assert_eq(fm_edge_set_check(&s, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "twice"), "%s", msg);
    s.by_source_edge = g.s.by_source_edge;

    int64_t *start = malloc(sizeof(int64_t) * (g.s.nodes + 1));
    memcpy(start, g.s.by_target_start, sizeof(int64_t) * (g.s.nodes + 1));
    start[g.s.nodes] = count - 1;   // groups that miss an edge
    s.by_target_start = start;
    cr_assert_eq(fm_edge_set_check(&s, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "span"), "%s", msg);
    s.by_target_start = g.s.by_target_start;
    cr_assert_eq(fm_edge_set_check(&s, msg), FM_OK, "%s", msg);

    // the constructor wants an empty output and a graph with its lower part
    lower_fixture *f = lower_fixture_new(5, 0.5, 4);
    fm_edge_set *out = (fm_edge_set *)&s;
    cr_assert_eq(fm_edge_set_from_lower(&out, &f->g, FM_LOWER_BY_ROWS, msg), FM_ERR_INVALID);
    out = NULL;
    fm_square empty;
    memset(&empty, 0, sizeof empty);
    cr_assert_eq(fm_edge_set_from_lower(&out, &empty, FM_LOWER_BY_ROWS, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_edge_set_from_lower(&out, &f->g, (fm_lower_orientation)7, msg), FM_ERR_INVALID);
    cr_assert_null(out);
    lower_fixture_free(f);
    free(start);
    free(bad);
    free(g.arrays);
}

//------------------------------------------------------------------------------
// Fused vs GraphBLAS
//------------------------------------------------------------------------------

// Uniform in [−1, 1), rounded to float so the float build sees the same values.
static double *rounded_uniform(int64_t n, uint64_t seed)
{
    double *x = fm_test_uniform_range(n, seed, -1, 1);
    for (int64_t e = 0; e < n; e++) x[e] = fm_test_rounded(x[e]);
    return x;
}

// The edge set of all of a nonsymmetric matrix's entries by rows (P6): edge
// k is entry k of A (target row, source column, the diagonal a self-loop),
// grouped by rows as they are and by columns in ascending edge id; the fused
// gather and aggregation on it match their GraphBLAS formulations.
Test(graphnet, edge_set_of_all_entries_of_a_matrix)
{
    char msg[FM_MSG_LEN];
    const int64_t n = 50;
    const fm_rng r = fm_rng_stream(31, FM_STREAM_SYNTH);
    int64_t *row = malloc(sizeof(int64_t) * 5 * n), *col = malloc(sizeof(int64_t) * 5 * n);
    double *val = malloc(sizeof(double) * 5 * n);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        const int64_t others = (int64_t)(fm_rng_uniform(r, (uint64_t)(5 * i)) * 5);   // 0 to 4
        for (int64_t q = 0; q < others; q++) {
            row[m] = i;
            col[m] = (int64_t)(fm_rng_uniform(r, (uint64_t)(5 * i + q + 1)) * (double)n);
            val[m++] = (double)q - 1.5;
        }
        row[m] = col[m] = i;
        val[m++] = 3;
    }
    fm_square *g = NULL;
    cr_assert_eq(fm_square_from_triplets(&g, n, m, row, col, val, false, msg), FM_OK, "%s", msg);
    cr_assert(!g->symmetric);
    fm_edge_set *s = NULL;
    cr_assert_eq(fm_edge_set_from_matrix(&s, g, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edge_set_check(s, msg), FM_OK, "%s", msg);
    const fm_csr *A = g->A;
    cr_assert(s->nodes == n && s->count == A->count);
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = A->start[i]; k < A->start[i + 1]; k++)
            cr_assert(s->target[k] == i && s->source[k] == A->index[k], "edge %lld", (long long)k);
    for (int64_t j = 0; j < n; j++)
        for (int64_t p = s->by_source_start[j] + 1; p < s->by_source_start[j + 1]; p++)
            cr_assert_lt(s->by_source_edge[p - 1], s->by_source_edge[p], "column %lld is not in edge order",
                         (long long)j);
    // the fused ops against GraphBLAS (the set's own check passed: the groups are right)
    const int dx = 3, de = 2, dz = 2, d = 4;
    const int64_t count = s->count, width = FM_GATHER_WIDTH(dx, de, dz);
    double *x = rounded_uniform(n * dx, 1), *edge = rounded_uniform(count * de, 2);
    double *extra = rounded_uniform(count * dz, 3), *d_out = rounded_uniform(count * width, 4);
    double *out = zeros(count * width), *out_ref = zeros(count * width);
    fm_gather_forward_f64(out, s, x, dx, edge, de, extra, dz);
    cr_assert_eq(fm_gather_forward_graphblas(out_ref, s, x, dx, edge, de, extra, dz, msg), FM_OK, "%s", msg);
    expect_close(out, out_ref, count * width, "matrix: gather");
    double *d_x = zeros(n * dx), *d_x_ref = zeros(n * dx), *d_e = zeros(count * de), *d_e_ref = zeros(count * de);
    fm_gather_backward_f64(d_x, d_e, NULL, d_out, s, dx, de, dz);
    cr_assert_eq(fm_gather_backward_graphblas(d_x_ref, d_e_ref, NULL, d_out, s, dx, de, dz, msg), FM_OK, "%s", msg);
    expect_close(d_x, d_x_ref, n * dx, "matrix: gather backward, d_x");
    expect_close(d_e, d_e_ref, count * de, "matrix: gather backward, d_edge");
    double *e4 = rounded_uniform(count * d, 5), *d_node = rounded_uniform(n * d, 6);
    for (int how = FM_AGGREGATE_SUM; how <= FM_AGGREGATE_MEAN; how++) {
        double *node = zeros(n * d), *node_ref = zeros(n * d), *grad = zeros(count * d), *grad_ref = zeros(count * d);
        fm_aggregate_forward_f64(node, e4, s, d, (fm_aggregate)how);
        cr_assert_eq(fm_aggregate_forward_graphblas(node_ref, e4, s, d, (fm_aggregate)how, msg), FM_OK, "%s", msg);
        expect_close(node, node_ref, n * d, "matrix: aggregate");
        fm_aggregate_backward_f64(grad, d_node, s, d, (fm_aggregate)how);
        cr_assert_eq(fm_aggregate_backward_graphblas(grad_ref, d_node, s, d, (fm_aggregate)how, msg), FM_OK, "%s",
                     msg);
        expect_close(grad, grad_ref, count * d, "matrix: aggregate backward");
        free(node); free(node_ref); free(grad); free(grad_ref);
    }
    // *out must be NULL; a graph without its matrix is refused
    cr_assert_eq(fm_edge_set_from_matrix(&s, g, msg), FM_ERR_INVALID);
    fm_edge_set *none = NULL;
    fm_square empty = { 0 };
    cr_assert_eq(fm_edge_set_from_matrix(&none, &empty, msg), FM_ERR_INVALID);
    cr_assert_null(none);
    free(x); free(edge); free(extra); free(d_out); free(out); free(out_ref);
    free(d_x); free(d_x_ref); free(d_e); free(d_e_ref); free(e4); free(d_node);
    fm_edge_set_free(&s);
    fm_square_free(&g);
    free(row); free(col); free(val);
}

Test(graphnet, gather_matches_graphblas)
{
    char msg[FM_MSG_LEN];
    cases *c = cases_new(70, 0.08, 300, 21);
    const int widths[2][3] = { { 3, 2, 1 }, { 2, 0, 0 } };
    for (int s = 0; s < 3; s++)
        for (int w = 0; w < 2; w++) {
            const fm_edge_set *set = c->set[s];
            const int dx = widths[w][0], de = widths[w][1], dz = widths[w][2];
            const int64_t nodes = set->nodes, count = set->count, width = FM_GATHER_WIDTH(dx, de, dz);
            double *x = rounded_uniform(nodes * dx, 1), *edge = rounded_uniform(count * de, 2);
            double *extra = rounded_uniform(count * dz, 3), *d_out = rounded_uniform(count * width, 4);
            double *fused = zeros(count * width), *ref = zeros(count * width);
            float *xf = fm_test_to_float(x, nodes * dx), *edgef = fm_test_to_float(edge, count * de);
            float *extraf = fm_test_to_float(extra, count * dz), *d_outf = fm_test_to_float(d_out, count * width);
            float *outf = zeros_float(count * width);
            char what[96];
            snprintf(what, sizeof what, "%s, widths %d %d %d", c->name[s], dx, de, dz);

            fm_gather_forward_f64(fused, set, x, dx, edge, de, dz ? extra : NULL, dz);
            cr_assert_eq(fm_gather_forward_graphblas(ref, set, x, dx, edge, de, dz ? extra : NULL, dz, msg),
                         FM_OK, "%s", msg);
            cr_assert(memcmp(fused, ref, sizeof(double) * count * width) == 0, "%s: gather differs", what);
            fm_gather_forward(outf, set, xf, dx, edgef, de, dz ? extraf : NULL, dz);
            for (int64_t e = 0; e < count * width; e++) cr_assert(outf[e] == (float)ref[e], "%s", what);

            // backward, added to random starting values
            const int64_t sizes[3] = { nodes * dx, count * de, count * dz };
            double *grad[3], *grad_ref[3];
            float *grad_f[3];
            for (int v = 0; v < 3; v++) {
                grad[v] = rounded_uniform(sizes[v], 10 + v);
                grad_ref[v] = fm_test_copy(grad[v], sizes[v]);
                grad_f[v] = fm_test_to_float(grad[v], sizes[v]);
            }
            fm_gather_backward_f64(grad[0], grad[1], grad[2], d_out, set, dx, de, dz);
            cr_assert_eq(fm_gather_backward_graphblas(grad_ref[0], grad_ref[1], grad_ref[2], d_out, set, dx, de,
                                                      dz, msg),
                         FM_OK, "%s", msg);
            fm_gather_backward(grad_f[0], grad_f[1], grad_f[2], d_outf, set, dx, de, dz);
            static const char *names[3] = { "d_x", "d_edge", "d_extra" };
            for (int v = 0; v < 3; v++) {
                char part[128];
                snprintf(part, sizeof part, "%s: %s", what, names[v]);
                expect_close(grad[v], grad_ref[v], sizes[v], part);
                expect_float(grad_f[v], grad_ref[v], sizes[v], part);
                free(grad[v]);
                free(grad_ref[v]);
                free(grad_f[v]);
            }
            // a part not wanted is not touched
            double *keep = rounded_uniform(nodes * dx, 20), *copy = fm_test_copy(keep, nodes * dx);
            fm_gather_backward_f64(NULL, NULL, NULL, d_out, set, dx, de, dz);
            cr_assert(memcmp(keep, copy, sizeof(double) * nodes * dx) == 0);
            free(keep);
            free(copy);
            free(x);
            free(edge);
            free(extra);
            free(d_out);
            free(fused);
            free(ref);
            free(xf);
            free(edgef);
            free(extraf);
            free(d_outf);
            free(outf);
        }
    cases_free(c);
}

Test(graphnet, aggregate_matches_graphblas)
{
    char msg[FM_MSG_LEN];
    cases *c = cases_new(70, 0.08, 300, 22);
    for (int s = 0; s < 3; s++) {
        const fm_edge_set *set = c->set[s];
        cr_assert(targets_without_edges(set) > 0, "%s: every target has edges", c->name[s]);
        for (int how = FM_AGGREGATE_SUM; how <= FM_AGGREGATE_MEAN; how++) {
            const int d = 4;
            const int64_t nodes = set->nodes, count = set->count;
            double *edge = rounded_uniform(count * d, 1), *d_node = rounded_uniform(nodes * d, 2);
            double *node = rounded_uniform(nodes * d, 3), *node_ref = zeros(nodes * d);   // overwritten
            float *edgef = fm_test_to_float(edge, count * d), *d_nodef = fm_test_to_float(d_node, nodes * d);
            float *nodef = zeros_float(nodes * d);
            char what[96];
            snprintf(what, sizeof what, "%s, %s", c->name[s], how == FM_AGGREGATE_SUM ? "sum" : "mean");

            fm_aggregate_forward_f64(node, edge, set, d, (fm_aggregate)how);
            cr_assert_eq(fm_aggregate_forward_graphblas(node_ref, edge, set, d, (fm_aggregate)how, msg), FM_OK,
                         "%s", msg);
            fm_aggregate_forward(nodef, edgef, set, d, (fm_aggregate)how);
            expect_close(node, node_ref, nodes * d, what);
            expect_float(nodef, node_ref, nodes * d, what);
            for (int64_t t = 0; t < nodes; t++)   // a target without edges gets 0, the mean included
                if (set->by_target_start[t + 1] == set->by_target_start[t])
                    for (int k = 0; k < d; k++) cr_assert(node[t * d + k] == 0 && nodef[t * d + k] == 0, "%s", what);

            double *grad = rounded_uniform(count * d, 4), *grad_ref = fm_test_copy(grad, count * d);
            float *gradf = fm_test_to_float(grad, count * d);
            fm_aggregate_backward_f64(grad, d_node, set, d, (fm_aggregate)how);
            cr_assert_eq(fm_aggregate_backward_graphblas(grad_ref, d_node, set, d, (fm_aggregate)how, msg), FM_OK,
                         "%s", msg);
            fm_aggregate_backward(gradf, d_nodef, set, d, (fm_aggregate)how);
            expect_close(grad, grad_ref, count * d, what);
            expect_float(gradf, grad_ref, count * d, what);
            free(edge);
            free(d_node);
            free(node);
            free(node_ref);
            free(edgef);
            free(d_nodef);
            free(nodef);
            free(grad);
            free(grad_ref);
            free(gradf);
        }
    }
    cases_free(c);
}

Test(graphnet, empty_edge_sets)
{
    char msg[FM_MSG_LEN];
    lower_fixture *f = lower_fixture_new(1, 0.5, 5);   // one node, its diagonal dropped
    cr_assert_eq(f->by_rows.count, 0);
    fm_edge_set *set = edges_from_lower(f, FM_LOWER_BY_COLUMNS);
    double node[3] = { 7, 7, 7 }, node_ref[3], d_node[3] = { 1, 2, 3 };
    fm_aggregate_forward_f64(node, NULL, set, 3, FM_AGGREGATE_MEAN);
    cr_assert(node[0] == 0 && node[1] == 0 && node[2] == 0);
    cr_assert_eq(fm_aggregate_forward_graphblas(node_ref, NULL, set, 3, FM_AGGREGATE_MEAN, msg), FM_OK, "%s", msg);
    cr_assert(node_ref[0] == 0 && node_ref[1] == 0 && node_ref[2] == 0);
    cr_assert_eq(fm_aggregate_backward_graphblas(NULL, d_node, set, 3, FM_AGGREGATE_SUM, msg), FM_OK, "%s", msg);
    double d_x[2] = { 1, 1 };
    fm_gather_backward_f64(d_x, NULL, NULL, NULL, set, 2, 0, 0);
    cr_assert(d_x[0] == 1 && d_x[1] == 1);
    cr_assert_eq(fm_gather_backward_graphblas(d_x, NULL, NULL, NULL, set, 2, 0, 0, msg), FM_OK, "%s", msg);
    cr_assert(d_x[0] == 1 && d_x[1] == 1);
    fm_edge_set_free(&set);
    lower_fixture_free(f);
}

//------------------------------------------------------------------------------
// Backward vs finite differences (double)
//------------------------------------------------------------------------------

typedef struct op_case {
    const fm_edge_set *set;
    int dx, de, dz, d;
    fm_aggregate how;
    double *x, *edge, *extra, *c, *out;
} op_case;

static double gather_loss(void *ctx)
{
    op_case *k = ctx;
    fm_gather_forward_f64(k->out, k->set, k->x, k->dx, k->edge, k->de, k->extra, k->dz);
    return weighted_sum(k->c, k->out, k->set->count * FM_GATHER_WIDTH(k->dx, k->de, k->dz));
}

static double aggregate_loss(void *ctx)
{
    op_case *k = ctx;
    fm_aggregate_forward_f64(k->out, k->edge, k->set, k->d, k->how);
    return weighted_sum(k->c, k->out, k->set->nodes * k->d);
}

Test(graphnet, gather_and_aggregate_backward_match_finite_differences)
{
    cases *c = cases_new(12, 0.4, 40, 31);
    for (int s = 0; s < 3; s++) {
        const fm_edge_set *set = c->set[s];
        const int64_t nodes = set->nodes, count = set->count;
        op_case k = { set, 3, 2, 1, 3, FM_AGGREGATE_SUM, NULL, NULL, NULL, NULL, NULL };
        const int64_t width = FM_GATHER_WIDTH(k.dx, k.de, k.dz);
        k.x = fm_test_uniform_range(nodes * k.dx, 1, -1, 1);
        k.edge = fm_test_uniform_range(count * k.de, 2, -1, 1);
        k.extra = fm_test_uniform_range(count * k.dz, 3, -1, 1);
        k.c = fm_test_uniform_range(count * width, 4, -1, 1);
        k.out = zeros(count * width);
        const int64_t sizes[3] = { nodes * k.dx, count * k.de, count * k.dz };
        double *vars[3] = { k.x, k.edge, k.extra }, *before[3], *grads[3];
        for (int v = 0; v < 3; v++) {
            before[v] = fm_test_uniform_range(sizes[v], 5 + v, -1, 1);
            grads[v] = fm_test_copy(before[v], sizes[v]);
        }
        fm_gather_backward_f64(grads[0], grads[1], grads[2], k.c, set, k.dx, k.de, k.dz);
        for (int v = 0; v < 3; v++) {
            double *fd = finite_differences(vars[v], sizes[v], gather_loss, &k);
            char what[64];
            snprintf(what, sizeof what, "%s: gather, input %d", c->name[s], v);
            expect_gradient(grads[v], before[v], fd, sizes[v], what);
            free(fd);
            free(before[v]);
            free(grads[v]);
        }
        free(k.c);
        free(k.out);

        for (int how = FM_AGGREGATE_SUM; how <= FM_AGGREGATE_MEAN; how++) {
            k.how = (fm_aggregate)how;
            k.edge = realloc(k.edge, sizeof(double) * (count * k.d + 1));
            for (int64_t e = 0; e < count * k.d; e++) k.edge[e] = sin(1.0 + (double)e);
            k.c = fm_test_uniform_range(nodes * k.d, 8, -1, 1);
            k.out = zeros(nodes * k.d);
            double *before_e = fm_test_uniform_range(count * k.d, 9, -1, 1);
            double *grad = fm_test_copy(before_e, count * k.d);
            fm_aggregate_backward_f64(grad, k.c, set, k.d, k.how);
            double *fd = finite_differences(k.edge, count * k.d, aggregate_loss, &k);
            char what[64];
            snprintf(what, sizeof what, "%s: aggregate %s", c->name[s], how == FM_AGGREGATE_SUM ? "sum" : "mean");
            expect_gradient(grad, before_e, fd, count * k.d, what);
            free(fd);
            free(before_e);
            free(grad);
            free(k.c);
            free(k.out);
        }
        free(k.x);
        free(k.edge);
        free(k.extra);
    }
    cases_free(c);
}

typedef struct mlp_case {
    int64_t rows;
    int in_dim, hidden_dim, out_dim;
    double *in, *w1, *b1, *w2, *b2, *c, *out, *hidden;
} mlp_case;

static double mlp_loss(void *ctx)
{
    mlp_case *k = ctx;
    fm_mlp_forward_f64(k->out, k->hidden, k->in, k->w1, k->b1, k->w2, k->b2, k->rows, k->in_dim,
                       k->hidden_dim, k->out_dim);
    return weighted_sum(k->c, k->out, k->rows * k->out_dim);
}

Test(graphnet, mlp_backward_matches_finite_differences)
{
    char msg[FM_MSG_LEN];
    // one thread: hundreds of tiny forwards, each a parallel region that waits
    // on a busy machine; any thread count gives the same bits (tested below)
    omp_set_num_threads(1);
    const int64_t rows_list[] = { 0, 1, 37, 259 };   // 259: two row blocks of fm_linear
    for (int r = 0; r < 4; r++) {
        mlp_case k = { rows_list[r], 6, 8, 3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
        const int64_t rows = k.rows;
        const int64_t sizes[5] = { rows * k.in_dim, (int64_t)k.hidden_dim * k.in_dim, k.hidden_dim,
                                   (int64_t)k.out_dim * k.hidden_dim, k.out_dim };
        k.in = fm_test_uniform_range(sizes[0], 1 + rows, -1, 1);
        k.w1 = fm_test_uniform_range(sizes[1], 2, -0.6, 0.6);
        k.b1 = fm_test_uniform_range(sizes[2], 3, -0.3, 0.3);
        k.w2 = fm_test_uniform_range(sizes[3], 4, -0.6, 0.6);
        k.b2 = fm_test_uniform_range(sizes[4], 5, -0.3, 0.3);
        k.c = fm_test_uniform_range(rows * k.out_dim, 6, -1, 1);
        k.out = zeros(rows * k.out_dim);
        k.hidden = zeros(rows * k.hidden_dim);
        double *vars[5] = { k.in, k.w1, k.b1, k.w2, k.b2 }, *before[5], *grads[5];
        for (int v = 0; v < 5; v++) {
            before[v] = fm_test_uniform_range(sizes[v], 50 + v, -1, 1);
            grads[v] = fm_test_copy(before[v], sizes[v]);
        }
        double *scratch = fm_test_uniform_range(rows * k.hidden_dim, 60, -1, 1);   // overwritten
        mlp_loss(&k);
        cr_assert_eq(fm_mlp_backward_f64(grads[0], grads[1], grads[2], grads[3], grads[4], scratch, k.c, k.in,
                                         k.hidden, k.w1, k.w2, rows, k.in_dim, k.hidden_dim, k.out_dim, msg),
                     FM_OK, "%s", msg);
        static const char *names[5] = { "d_in", "d_w1", "d_b1", "d_w2", "d_b2" };
        for (int v = 0; v < 5; v++) {
            char what[64];
            snprintf(what, sizeof what, "mlp %lld rows: %s", (long long)rows, names[v]);
            // every 7th input (7 and the row width 6 are coprime: every column is sampled)
            expect_gradient_sampled(grads[v], before[v], vars[v], sizes[v], v == 0 ? 7 : 1, mlp_loss, &k, what);
            free(before[v]);
            free(grads[v]);
        }
        if (rows > 1) {   // the hidden layer is live: some units on, some off
            int64_t positive = 0;
            for (int64_t e = 0; e < rows * k.hidden_dim; e++) positive += k.hidden[e] > 0;
            cr_assert(positive > 0 && positive < rows * k.hidden_dim);
        }
        // d_hidden is required when anything flows through w1
        if (rows > 0)
            cr_assert_eq(fm_mlp_backward_f64(NULL, NULL, scratch, NULL, NULL, NULL, k.c, k.in, k.hidden, k.w1,
                                             k.w2, rows, k.in_dim, k.hidden_dim, k.out_dim, msg),
                         FM_ERR_INVALID);
        free(scratch);
        free(k.in);
        free(k.w1);
        free(k.b1);
        free(k.w2);
        free(k.b2);
        free(k.c);
        free(k.out);
        free(k.hidden);
    }
}

//------------------------------------------------------------------------------
// A whole P5 block: layer 1 by rows, layer 2 by columns, with a scalar loss
//------------------------------------------------------------------------------

enum { DX = 3, DE = 1, DZ = 1, H = 8, DE1 = 2, DX1 = 3, DE2 = 2, DX2 = 3 };

// An MLP's weights in the parameter block: w1, b1, w2, b2 at `at`.
typedef struct mlp_shape { int in, out; int64_t at; } mlp_shape;

static int64_t mlp_size(mlp_shape m) { return (int64_t)H * m.in + H + (int64_t)m.out * H + m.out; }

typedef struct block_case {
    const fm_edge_set *rows, *columns;
    int64_t n, count;
    mlp_shape e1, n1, e2, n2;
    int64_t params_count;
    double *params, *x, *e, *a, *c_x, *c_e;
    // saved by the forward
    double *g1, *h_e1, *e1_out, *agg1, *n1_in, *h_n1, *x1, *g2, *h_e2, *e2_out, *agg2, *n2_in, *h_n2, *x2;
} block_case;

static const double *mlp_w1(const block_case *k, mlp_shape m) { return k->params + m.at; }
static const double *mlp_b1(const block_case *k, mlp_shape m) { return k->params + m.at + (int64_t)H * m.in; }
static const double *mlp_w2(const block_case *k, mlp_shape m) { return mlp_b1(k, m) + H; }
static const double *mlp_b2(const block_case *k, mlp_shape m) { return mlp_w2(k, m) + (int64_t)m.out * H; }

static void mlp_run(block_case *k, mlp_shape m, double *out, double *hidden, const double *in, int64_t rows)
{
    fm_mlp_forward_f64(out, hidden, in, mlp_w1(k, m), mlp_b1(k, m), mlp_w2(k, m), mlp_b2(k, m), rows, m.in, H,
                       m.out);
}

static void mlp_back(block_case *k, mlp_shape m, double *d_in, double *d_params, const double *d_out,
                     const double *in, const double *hidden, int64_t rows)
{
    char msg[FM_MSG_LEN];
    double *d_hidden = zeros(rows * H);
    double *dw1 = d_params + m.at, *db1 = dw1 + (int64_t)H * m.in, *dw2 = db1 + H, *db2 = dw2 + (int64_t)m.out * H;
    cr_assert_eq(fm_mlp_backward_f64(d_in, dw1, db1, dw2, db2, d_hidden, d_out, in, hidden, mlp_w1(k, m),
                                     mlp_w2(k, m), rows, m.in, H, m.out, msg),
                 FM_OK, "%s", msg);
    free(d_hidden);
}

static double block_loss(void *ctx)
{
    block_case *k = ctx;
    const int64_t n = k->n, E = k->count;
    // layer 1, by rows: e' = MLP_e1([x_i, x_j, e_ij, â_ij]), x' = MLP_n1([x_i, mean_j e'_ij])
    fm_gather_forward_f64(k->g1, k->rows, k->x, DX, k->e, DE, k->a, DZ);
    mlp_run(k, k->e1, k->e1_out, k->h_e1, k->g1, E);
    fm_aggregate_forward_f64(k->agg1, k->e1_out, k->rows, DE1, FM_AGGREGATE_MEAN);
    fm_concat_forward_f64(k->n1_in, k->x, DX, k->agg1, DE1, n);
    mlp_run(k, k->n1, k->x1, k->h_n1, k->n1_in, n);
    // layer 2, by columns: e'' = MLP_e2([x'_j, x'_i, e'_ij]), x'' = MLP_n2([x'_j, Σ_i e''_ij])
    fm_gather_forward_f64(k->g2, k->columns, k->x1, DX1, k->e1_out, DE1, NULL, 0);
    mlp_run(k, k->e2, k->e2_out, k->h_e2, k->g2, E);
    fm_aggregate_forward_f64(k->agg2, k->e2_out, k->columns, DE2, FM_AGGREGATE_SUM);
    fm_concat_forward_f64(k->n2_in, k->x1, DX1, k->agg2, DE2, n);
    mlp_run(k, k->n2, k->x2, k->h_n2, k->n2_in, n);
    return weighted_sum(k->c_x, k->x2, n * DX2) + weighted_sum(k->c_e, k->e2_out, E * DE2);
}

// Adds the gradients of block_loss (after a forward) into d_params, d_x, d_e, d_a.
static void block_backward(block_case *k, double *d_params, double *d_x, double *d_e, double *d_a)
{
    const int64_t n = k->n, E = k->count;
    double *d_n2_in = zeros(n * (DX1 + DE2)), *d_x1 = zeros(n * DX1), *d_agg2 = zeros(n * DE2);
    double *d_e2 = fm_test_copy(k->c_e, E * DE2), *d_g2 = zeros(E * (2 * DX1 + DE1)), *d_e1 = zeros(E * DE1);
    double *d_n1_in = zeros(n * (DX + DE1)), *d_agg1 = zeros(n * DE1), *d_g1 = zeros(E * (2 * DX + DE + DZ));
    mlp_back(k, k->n2, d_n2_in, d_params, k->c_x, k->n2_in, k->h_n2, n);
    fm_concat_backward_f64(d_x1, d_agg2, d_n2_in, DX1, DE2, n);
    fm_aggregate_backward_f64(d_e2, d_agg2, k->columns, DE2, FM_AGGREGATE_SUM);
    mlp_back(k, k->e2, d_g2, d_params, d_e2, k->g2, k->h_e2, E);
    fm_gather_backward_f64(d_x1, d_e1, NULL, d_g2, k->columns, DX1, DE1, 0);
    mlp_back(k, k->n1, d_n1_in, d_params, d_x1, k->n1_in, k->h_n1, n);
    fm_concat_backward_f64(d_x, d_agg1, d_n1_in, DX, DE1, n);
    fm_aggregate_backward_f64(d_e1, d_agg1, k->rows, DE1, FM_AGGREGATE_MEAN);
    mlp_back(k, k->e1, d_g1, d_params, d_e1, k->g1, k->h_e1, E);
    fm_gather_backward_f64(d_x, d_e, d_a, d_g1, k->rows, DX, DE, DZ);
    free(d_n2_in);
    free(d_x1);
    free(d_agg2);
    free(d_e2);
    free(d_g2);
    free(d_e1);
    free(d_n1_in);
    free(d_agg1);
    free(d_g1);
}

Test(graphnet, a_whole_block_matches_finite_differences)
{
    omp_set_num_threads(1);   // as for the MLP: the parallel results are the same bits
    lower_fixture *f = lower_fixture_new(14, 0.35, 41);
    fm_edge_set *rows = edges_from_lower(f, FM_LOWER_BY_ROWS), *columns = edges_from_lower(f, FM_LOWER_BY_COLUMNS);
    cr_assert(targets_without_edges(rows) > 0 && targets_without_edges(columns) > 0);
    block_case k;
    memset(&k, 0, sizeof k);
    k.rows = rows;
    k.columns = columns;
    k.n = f->g.n;
    k.count = f->by_rows.count;
    const int64_t n = k.n, E = k.count;
    k.e1 = (mlp_shape){ 2 * DX + DE + DZ, DE1, 0 };
    k.n1 = (mlp_shape){ DX + DE1, DX1, mlp_size(k.e1) };
    k.e2 = (mlp_shape){ 2 * DX1 + DE1, DE2, k.n1.at + mlp_size(k.n1) };
    k.n2 = (mlp_shape){ DX1 + DE2, DX2, k.e2.at + mlp_size(k.e2) };
    k.params_count = k.n2.at + mlp_size(k.n2);
    k.params = fm_test_uniform_range(k.params_count, 1, -0.5, 0.5);
    k.x = fm_test_uniform_range(n * DX, 2, -1, 1);
    k.e = fm_test_uniform_range(E * DE, 3, -1, 1);
    k.a = fm_test_uniform_range(E * DZ, 4, -1, 1);
    k.c_x = fm_test_uniform_range(n * DX2, 5, -1, 1);
    k.c_e = fm_test_uniform_range(E * DE2, 6, -1, 1);
    k.g1 = zeros(E * (2 * DX + DE + DZ));
    k.h_e1 = zeros(E * H);
    k.e1_out = zeros(E * DE1);
    k.agg1 = zeros(n * DE1);
    k.n1_in = zeros(n * (DX + DE1));
    k.h_n1 = zeros(n * H);
    k.x1 = zeros(n * DX1);
    k.g2 = zeros(E * (2 * DX1 + DE1));
    k.h_e2 = zeros(E * H);
    k.e2_out = zeros(E * DE2);
    k.agg2 = zeros(n * DE2);
    k.n2_in = zeros(n * (DX1 + DE2));
    k.h_n2 = zeros(n * H);
    k.x2 = zeros(n * DX2);

    const int64_t sizes[4] = { k.params_count, n * DX, E * DE, E * DZ };
    double *vars[4] = { k.params, k.x, k.e, k.a }, *before[4], *grads[4];
    for (int v = 0; v < 4; v++) {
        before[v] = fm_test_uniform_range(sizes[v], 10 + v, -1, 1);
        grads[v] = fm_test_copy(before[v], sizes[v]);
    }
    block_loss(&k);
    block_backward(&k, grads[0], grads[1], grads[2], grads[3]);
    static const char *names[4] = { "parameters", "x", "e", "a-hat" };
    for (int v = 0; v < 4; v++) {
        double *fd = finite_differences(vars[v], sizes[v], block_loss, &k);
        char what[64];
        snprintf(what, sizeof what, "block: d_%s", names[v]);
        expect_gradient(grads[v], before[v], fd, sizes[v], what);
        free(fd);
        free(before[v]);
        free(grads[v]);
    }
    double *all[] = { k.params, k.x, k.e, k.a, k.c_x, k.c_e, k.g1, k.h_e1, k.e1_out, k.agg1, k.n1_in,
                      k.h_n1, k.x1, k.g2, k.h_e2, k.e2_out, k.agg2, k.n2_in, k.h_n2, k.x2 };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
    fm_edge_set_free(&rows);
    fm_edge_set_free(&columns);
    lower_fixture_free(f);
}

//------------------------------------------------------------------------------
// The same float results for any thread count
//------------------------------------------------------------------------------

// Every float output of the ops on one edge set, concatenated.
typedef struct float_run {
    float *out;
    int64_t size;
} float_run;

static float_run run_ops(const fm_edge_set *set, int threads)
{
    char msg[FM_MSG_LEN];
    omp_set_num_threads(threads);
    enum { dx = 8, de = 3, dz = 1, d = 8, hidden = 8, out_dim = 5 };
    const int64_t nodes = set->nodes, count = set->count, width = FM_GATHER_WIDTH(dx, de, dz);
    float *x = fm_test_uniform(nodes * dx + 1, 1), *edge = fm_test_uniform(count * de + 1, 2);
    float *extra = fm_test_uniform(count * dz + 1, 3), *d_gather = fm_test_uniform(count * width + 1, 4);
    float *d_node = fm_test_uniform(nodes * d + 1, 5), *edge_d = fm_test_uniform(count * d + 1, 6);
    float *w1 = fm_test_uniform((int64_t)hidden * width, 7), *b1 = fm_test_uniform(hidden, 8);
    float *w2 = fm_test_uniform((int64_t)out_dim * hidden, 9), *b2 = fm_test_uniform(out_dim, 10);
    for (int64_t e = 0; e < (int64_t)hidden * width; e++) w1[e] -= 0.5f;   // some hidden units off
    float *d_mlp = fm_test_uniform(count * out_dim + 1, 11);

    const int64_t size = count * width + nodes * dx + count * (de + dz) + 2 * (nodes * d + count * d) +
                         count * out_dim + count * width + (int64_t)hidden * width + hidden +
                         (int64_t)out_dim * hidden + out_dim + nodes * (dx + d) + nodes * (dx + d);
    float *all = zeros_float(size), *p = all;
    float *gathered = p;
    fm_gather_forward(gathered, set, x, dx, edge, de, extra, dz);
    p += count * width;
    fm_gather_backward(p, p + nodes * dx, p + nodes * dx + count * de, d_gather, set, dx, de, dz);
    p += nodes * dx + count * (de + dz);
    for (int how = FM_AGGREGATE_SUM; how <= FM_AGGREGATE_MEAN; how++) {
        fm_aggregate_forward(p, edge_d, set, d, (fm_aggregate)how);
        p += nodes * d;
        fm_aggregate_backward(p, d_node, set, d, (fm_aggregate)how);
        p += count * d;
    }
    float *mlp_out = p, *h = zeros_float(count * hidden), *d_h = zeros_float(count * hidden);
    fm_mlp_forward(mlp_out, h, gathered, w1, b1, w2, b2, count, width, hidden, out_dim);
    p += count * out_dim;
    float *d_in = p, *dw1 = d_in + count * width, *db1 = dw1 + hidden * width, *dw2 = db1 + hidden;
    float *db2 = dw2 + out_dim * hidden;
    cr_assert_eq(fm_mlp_backward(d_in, dw1, db1, dw2, db2, d_h, d_mlp, gathered, h, w1, w2, count, width, hidden,
                                 out_dim, msg),
                 FM_OK, "%s", msg);
    p = db2 + out_dim;
    fm_concat_forward(p, x, dx, d_node, d, nodes);
    fm_concat_backward(p + nodes * (dx + d), p + nodes * (dx + d) + nodes * dx, p, dx, d, nodes);
    p += nodes * (dx + d) + nodes * (dx + d);
    cr_assert(p == all + size);
    float *inputs[] = { x, edge, extra, d_gather, d_node, edge_d, w1, b1, w2, b2, d_mlp, h, d_h };
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) free(inputs[i]);
    return (float_run){ all, size };
}

Test(graphnet, same_results_for_any_thread_count)
{
    // large enough that every loop runs in parallel: count × width well above the threshold
    cases *c = cases_new(2000, 0.006, 30000, 51);
    for (int s = 0; s < 3; s++) {
        cr_assert(c->set[s]->count * 8 > 32768, "%s: %lld edges", c->name[s], (long long)c->set[s]->count);
        float_run one = run_ops(c->set[s], 1);
        for (int threads = 2; threads <= 4; threads += 2) {
            float_run many = run_ops(c->set[s], threads);
            cr_assert_eq(many.size, one.size);
            expect_same(many.out, one.out, one.size, c->name[s], threads);
            free(many.out);
        }
        free(one.out);
    }
    cases_free(c);
}
