// The GraphNet ops (ops/graphnet.h): the edge sets of a lower triangle and of
// a matrix's entries, the fused gather and aggregation against their
// GraphBLAS formulations on random edge sets (empty rows and columns, a
// target without edges for the mean, edge sets with repeated edges and
// self-loops), and every float result bitwise the same with 1, 2 and 4
// threads. The backward against finite differences: tests/test_graphnet.c.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphnet.h"
#include "graphnet_fixtures.h"
#include "helpers.h"
#include "rng.h"

TestSuite(graphnet_graphblas, .init = fm_test_setup);

#define REF_TOLERANCE 1e-12  // fused double vs GraphBLAS double (sums in another order)
#define FLOAT_TOLERANCE 1e-5 // fused float vs GraphBLAS double

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

static void expect_same(const float *a, const float *b, int64_t n, const char *what, int threads)
{
    for (int64_t e = 0; e < n; e++)
        cr_assert(a[e] == b[e], "%s: entry %lld is %.9g with 1 thread, %.9g with %d", what,
                  (long long)e, b[e], a[e], threads);
}

static float *zeros_float(int64_t n) { return calloc(n > 0 ? n : 1, sizeof(float)); }
static double *zeros(int64_t n) { return calloc(n > 0 ? n : 1, sizeof(double)); }

//------------------------------------------------------------------------------
// Edge sets
//------------------------------------------------------------------------------

Test(graphnet_graphblas, edge_sets_of_the_lower_triangle_are_its_entries)
{
    const int64_t sizes[] = { 1, 2, 9, 60 };
    for (int c = 0; c < 4; c++) {
        gn_lower_fixture *f = gn_lower_fixture_new(sizes[c], 0.3, 10 + c);
        fm_edge_set *rows = gn_edges_from_lower(f, FM_LOWER_BY_ROWS);
        fm_edge_set *columns = gn_edges_from_lower(f, FM_LOWER_BY_COLUMNS);
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
        gn_lower_fixture_free(f);
    }
}

// The same on a graph built by engine/square.c: a symmetric matrix given by
// its lower triangle (mirrored), every diagonal entry present.
Test(graphnet_graphblas, edge_sets_of_a_square_graph)
{
    char msg[FM_MSG_LEN];
    gn_lower_fixture *f = gn_lower_fixture_new(40, 0.2, 17);
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
    gn_lower_fixture_free(f);
}

Test(graphnet_graphblas, edge_set_check_names_what_is_wrong)
{
    char msg[FM_MSG_LEN];
    gn_general_set g = gn_general_set_new(20, 50, 3);
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
    gn_lower_fixture *f = gn_lower_fixture_new(5, 0.5, 4);
    fm_edge_set *out = (fm_edge_set *)&s;
    cr_assert_eq(fm_edge_set_from_lower(&out, &f->g, FM_LOWER_BY_ROWS, msg), FM_ERR_INVALID);
    out = NULL;
    fm_square empty;
    memset(&empty, 0, sizeof empty);
    cr_assert_eq(fm_edge_set_from_lower(&out, &empty, FM_LOWER_BY_ROWS, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_edge_set_from_lower(&out, &f->g, (fm_lower_orientation)7, msg), FM_ERR_INVALID);
    cr_assert_null(out);
    gn_lower_fixture_free(f);
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
Test(graphnet_graphblas, edge_set_of_all_entries_of_a_matrix)
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

Test(graphnet_graphblas, gather_matches_graphblas)
{
    char msg[FM_MSG_LEN];
    gn_cases *c = gn_cases_new(70, 0.08, 300, 21);
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
    gn_cases_free(c);
}

Test(graphnet_graphblas, aggregate_matches_graphblas)
{
    char msg[FM_MSG_LEN];
    gn_cases *c = gn_cases_new(70, 0.08, 300, 22);
    for (int s = 0; s < 3; s++) {
        const fm_edge_set *set = c->set[s];
        cr_assert(gn_targets_without_edges(set) > 0, "%s: every target has edges", c->name[s]);
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
    gn_cases_free(c);
}

Test(graphnet_graphblas, empty_edge_sets)
{
    char msg[FM_MSG_LEN];
    gn_lower_fixture *f = gn_lower_fixture_new(1, 0.5, 5);   // one node, its diagonal dropped
    cr_assert_eq(f->by_rows.count, 0);
    fm_edge_set *set = gn_edges_from_lower(f, FM_LOWER_BY_COLUMNS);
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
    gn_lower_fixture_free(f);
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

Test(graphnet_graphblas, same_results_for_any_thread_count)
{
    // large enough that every loop runs in parallel: count × width well above the threshold
    gn_cases *c = gn_cases_new(2000, 0.006, 30000, 51);
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
    gn_cases_free(c);
}
