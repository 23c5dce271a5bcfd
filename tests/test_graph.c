// The König digraph (§2): every way in gives the same graph, each kind keeps
// the edges it should, and bad entries are refused with a clear message.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "helpers.h"

TestSuite(graph, .init = fm_test_setup);

// The graph's edges as a dense array (zeros where there is no edge) and the
// number of edges, read through the borrowed arrays of one orientation.
static float *edges_dense(fm_graph *g, fm_direction direction, int64_t *count)
{
    char msg[FM_MSG_LEN];
    fm_edges e;
    cr_assert_eq(fm_edges_borrow(&e, g, direction, msg), FM_OK, "%s", msg);
    float *d = calloc(e.targets * e.sources, sizeof(float));
    for (int64_t t = 0; t < e.targets; t++) {
        if (!e.ptr) {
            memcpy(d + t * e.sources, e.val + t * e.sources, sizeof(float) * e.sources);
            continue;
        }
        for (GrB_Index k = e.ptr[t]; k < e.ptr[t + 1]; k++) d[t * e.sources + e.idx[k]] = e.val[k];
    }
    *count = e.count;
    cr_assert_eq(fm_edges_return(&e, msg), FM_OK, "%s", msg);
    return d;
}

static const float values[12] = { 1, 0, 2, 0,
                                  0, 0, 3, 4,
                                  5, 0, 0, 6 };

Test(graph, every_way_in_gives_the_same_graph)
{
    char msg[FM_MSG_LEN];
    fm_graph *from_dense = NULL, *from_triplets = NULL, *from_csr = NULL, *from_mtx = NULL;
    cr_assert_eq(fm_graph_from_dense(&from_dense, 3, 4, values, FM_KIND_SPARSE, msg), FM_OK, "%s", msg);
    int64_t row[] = { 2, 0, 1, 0, 2, 1 }, col[] = { 3, 0, 2, 2, 0, 3 };
    float val[] = { 6, 1, 3, 2, 5, 4 };
    fm_triplets t = { .rows = 3, .cols = 4, .count = 6, .row = row, .col = col, .val = val };
    cr_assert_eq(fm_graph_from_triplets(&from_triplets, &t, FM_KIND_SPARSE, msg), FM_OK, "%s", msg);
    int64_t ptr[] = { 0, 2, 4, 6 }, idx[] = { 0, 2, 2, 3, 0, 3 };
    float cval[] = { 1, 2, 3, 4, 5, 6 };
    cr_assert_eq(fm_graph_from_csr(&from_csr, 3, 4, ptr, idx, cval, FM_KIND_SPARSE, msg), FM_OK, "%s", msg);
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "x.mtx");
    fm_test_write(path, "%%MatrixMarket matrix coordinate integer general\n3 4 6\n1 1 1\n1 3 2\n2 3 3\n"
                        "2 4 4\n3 1 5\n3 4 6\n");
    cr_assert_eq(fm_graph_from_mtx(&from_mtx, path, FM_KIND_AUTO, msg), FM_OK, "%s", msg);
    fm_graph *graphs[] = { from_dense, from_triplets, from_csr, from_mtx };
    for (int k = 0; k < 4; k++) {
        fm_graph_stats st;
        fm_graph_stats_get(graphs[k], &st);
        cr_assert_eq(st.kind, FM_KIND_SPARSE);
        cr_assert_eq(st.entries, 6, "graph %d has %lld edges", k, (long long)st.entries);
        cr_assert_eq(st.sum, 21);
        cr_assert_eq(st.sumsq, 91);
        cr_assert_eq(st.min, 1);
        cr_assert_eq(st.max, 6);
        int64_t count;
        float *rows = edges_dense(graphs[k], FM_TO_ROWS, &count);
        cr_assert_arr_eq(rows, values, sizeof values, "graph %d, by row", k);
        free(rows);
        float *cols = edges_dense(graphs[k], FM_TO_COLUMNS, &count);   // Aᵀ
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++) cr_assert_eq(cols[j * 3 + i], values[i * 4 + j]);
        free(cols);
        fm_graph_free(&graphs[k]);
    }
}

Test(graph, kinds_keep_the_edges_they_should)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL;
    fm_graph_stats st;
    // dense: complete; |Ω| = m·n; the mean is over every entry
    cr_assert_eq(fm_graph_from_dense(&g, 3, 4, values, FM_KIND_DENSE, msg), FM_OK, "%s", msg);
    fm_graph_stats_get(g, &st);
    cr_assert_eq(st.entries, 12);
    cr_assert_eq(fm_graph_omega(g), 12);
    cr_assert_float_eq(fm_graph_mean(g), 21.0 / 12, 1e-12);
    fm_graph_free(&g);
    // incomplete from a dense array: every entry observed, zeros included
    cr_assert_eq(fm_graph_from_dense(&g, 3, 4, values, FM_KIND_INCOMPLETE, msg), FM_OK, "%s", msg);
    fm_graph_stats_get(g, &st);
    cr_assert_eq(st.entries, 12);
    fm_graph_free(&g);
    // incomplete from coordinates: explicit zeros are observations; |Ω| = stored
    int64_t row[] = { 0, 1, 2 }, col[] = { 0, 1, 2 };
    float val[] = { 0, 2, 3 };
    fm_triplets t = { .rows = 3, .cols = 4, .count = 3, .row = row, .col = col, .val = val };
    cr_assert_eq(fm_graph_from_triplets(&g, &t, FM_KIND_INCOMPLETE, msg), FM_OK, "%s", msg);
    fm_graph_stats_get(g, &st);
    cr_assert_eq(st.entries, 3);
    cr_assert_eq(fm_graph_omega(g), 3);
    cr_assert_float_eq(fm_graph_mean(g), 5.0 / 3, 1e-12);
    fm_graph_free(&g);
    // sparse from coordinates: explicit zeros dropped, duplicates summed
    int64_t drow[] = { 0, 1, 1, 2 }, dcol[] = { 0, 1, 1, 2 };
    float dval[] = { 0, 2, 5, 3 };
    fm_triplets d = { .rows = 3, .cols = 4, .count = 4, .row = drow, .col = dcol, .val = dval };
    cr_assert_eq(fm_graph_from_triplets(&g, &d, FM_KIND_SPARSE, msg), FM_OK, "%s", msg);
    fm_graph_stats_get(g, &st);
    cr_assert_eq(st.entries, 2);
    cr_assert_eq(st.sum, 10);
    fm_graph_free(&g);
    // dense from coordinates: the unstored entries are zeros, duplicates summed
    cr_assert_eq(fm_graph_from_triplets(&g, &d, FM_KIND_DENSE, msg), FM_OK, "%s", msg);
    fm_graph_stats_get(g, &st);
    cr_assert_eq(st.entries, 12);
    int64_t count;
    float *dense = edges_dense(g, FM_TO_ROWS, &count);
    cr_assert_eq(dense[1 * 4 + 1], 7);
    cr_assert_eq(dense[0], 0);
    free(dense);
    fm_graph_free(&g);
    // incomplete: a repeated coordinate is an error
    cr_assert_eq(fm_graph_from_triplets(&g, &d, FM_KIND_INCOMPLETE, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "repeat a coordinate"), "%s", msg);
    cr_assert_null(g);
}

Test(graph, bad_entries_are_refused)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL;
    float negative[4] = { 1, -2, 3, 4 }, nan_value[4] = { 1, NAN, 3, 4 };
    cr_assert_eq(fm_graph_from_dense(&g, 2, 2, negative, FM_KIND_DENSE, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "(1, 2)") && strstr(msg, "negative"), "%s", msg);
    cr_assert_eq(fm_graph_from_dense(&g, 2, 2, nan_value, FM_KIND_SPARSE, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "not finite"), "%s", msg);
    cr_assert_eq(fm_graph_from_dense(&g, 0, 2, negative, FM_KIND_DENSE, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "at least 1"), "%s", msg);
    int64_t row[] = { 0, 5 }, col[] = { 0, 0 };
    float val[] = { 1, 1 };
    fm_triplets t = { .rows = 3, .cols = 3, .count = 2, .row = row, .col = col, .val = val };
    cr_assert_eq(fm_graph_from_triplets(&g, &t, FM_KIND_SPARSE, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "outside the 3 x 3 matrix"), "%s", msg);
    int64_t ptr[] = { 0, 2, 1, 2 }, idx[] = { 0, 1 };
    cr_assert_eq(fm_graph_from_csr(&g, 3, 3, ptr, idx, val, FM_KIND_SPARSE, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "decrease at row 2"), "%s", msg);
    cr_assert_null(g);
}
