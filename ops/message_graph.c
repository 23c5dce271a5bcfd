// The edges messages flow over (ops/attention.h): for the GraphBLAS path the
// graph itself (or a sample packed into matrices); for the fused path both
// orientations borrowed as CSR arrays, with the maps between an edge's
// positions in the two (or a sample's CSR arrays).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "status.h"

// For sparse storage: walk `rows` (by row, sorted columns) in order and give
// each edge the next free slot of its column in `columns` (by column, sorted
// rows), so row_to_column[e] is the edge's position there.
static int position_maps(fm_message_graph *mg, char *msg)
{
    int64_t *cursor = NULL;
#define FREE_ALL free(cursor)
    const fm_edges *rows = &mg->rows, *columns = &mg->columns;
    FM_CHECK(rows->count == columns->count && rows->targets == columns->sources &&
                 rows->sources == columns->targets,
             FM_ERR_INVALID, "the two orientations of the graph disagree (%lld and %lld edges)",
             (long long)rows->count, (long long)columns->count);
    FM_ALLOC(mg->row_to_column, rows->count);
    FM_ALLOC(mg->column_to_row, rows->count);
    FM_ALLOC(cursor, columns->targets);
    for (int64_t c = 0; c < columns->targets; c++) cursor[c] = (int64_t)columns->ptr[c];
    for (int64_t r = 0; r < rows->targets; r++)
        for (int64_t e = (int64_t)rows->ptr[r]; e < (int64_t)rows->ptr[r + 1]; e++) {
            const int64_t c = (int64_t)rows->idx[e], slot = cursor[c]++;
            FM_CHECK(slot < (int64_t)columns->ptr[c + 1] && (int64_t)columns->idx[slot] == r,
                     FM_ERR_INVALID, "edge (%lld, %lld) is missing from the transposed graph",
                     (long long)r + 1, (long long)c + 1);
            mg->row_to_column[e] = slot;
            mg->column_to_row[slot] = e;
        }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_message_graph_open(fm_message_graph *mg, fm_graph *g, fm_kernels kernels, char *msg)
{
#define FREE_ALL fm_message_graph_close(mg, NULL)
    if (!mg) return fm_fail(FM_ERR_INVALID, msg, "fm_message_graph_open: no message graph");
    memset(mg, 0, sizeof *mg);
    FM_CHECK(g, FM_ERR_INVALID, "fm_message_graph_open: no graph");
    FM_CHECK(kernels == FM_KERNELS_FUSED || kernels == FM_KERNELS_GRAPHBLAS, FM_ERR_INVALID,
             "fm_message_graph_open: unknown kernels %d", (int)kernels);
    mg->kernels = kernels;
    mg->graph = g;
    if (kernels == FM_KERNELS_GRAPHBLAS) return FM_OK;
    FM_TRY(fm_edges_borrow(&mg->rows, g, FM_TO_ROWS, msg));
    FM_TRY(fm_edges_borrow(&mg->columns, g, FM_TO_COLUMNS, msg));
    // full storage (the dense kind): positions are r·cols + c and c·rows + r
    if (mg->rows.ptr) FM_TRY(position_maps(mg, msg));
    return FM_OK;
#undef FREE_ALL
}

// rows × cols values of one orientation, divided by `divisor`, into `out`.
static void scale_values(float *out, const fm_edges *edges, double divisor)
{
    const int64_t count = edges->ptr ? edges->count : edges->targets * edges->sources;
#pragma omp parallel for schedule(static)
    for (int64_t e = 0; e < count; e++) out[e] = (float)((double)edges->val[e] / divisor);
}

int fm_message_graph_view(fm_message_graph *mg, fm_graph *g, const fm_edges *rows, const fm_edges *columns,
                          double divisor, char *msg)
{
#define FREE_ALL fm_message_graph_close(mg, NULL)
    if (!mg) return fm_fail(FM_ERR_INVALID, msg, "fm_message_graph_view: no message graph");
    memset(mg, 0, sizeof *mg);
    FM_CHECK(g && rows && columns && rows->owner && columns->owner, FM_ERR_INVALID,
             "fm_message_graph_view: the graph or its borrowed edges are missing");
    FM_CHECK(rows->owner == g->A && columns->owner == g->AT, FM_ERR_INVALID,
             "fm_message_graph_view: the edges are not the two orientations of the graph");
    FM_CHECK(divisor > 0 && isfinite(divisor), FM_ERR_INVALID,
             "fm_message_graph_view: the divisor of the edge values is %g; expected a finite value above 0", divisor);
    mg->kernels = FM_KERNELS_FUSED;
    mg->graph = g;
    mg->forward_only = true;
    mg->rows = *rows;
    mg->columns = *columns;
    // the caller returns the arrays: the close must not
    mg->rows.owner = mg->columns.owner = NULL;
    if (divisor != 1) {
        const int64_t by_rows = rows->ptr ? rows->count : rows->targets * rows->sources;
        const int64_t by_columns = columns->ptr ? columns->count : columns->targets * columns->sources;
        FM_ALLOC(mg->view_values, by_rows + by_columns + 1);
        scale_values(mg->view_values, rows, divisor);
        scale_values(mg->view_values + by_rows, columns, divisor);
        mg->rows.val = mg->view_values;
        mg->columns.val = mg->view_values + by_rows;
    }
    return FM_OK;
#undef FREE_ALL
}

int fm_message_graph_sample(fm_message_graph *mg, fm_graph *g, const fm_edges *rows, const fm_edges *columns,
                            double divisor, const fm_sampler_options *options, uint64_t round, unsigned directions,
                            bool backward, char *msg)
{
#define FREE_ALL fm_message_graph_close(mg, NULL)
    if (!mg) return fm_fail(FM_ERR_INVALID, msg, "fm_message_graph_sample: no message graph");
    memset(mg, 0, sizeof *mg);
    FM_CHECK(g && rows && columns && options, FM_ERR_INVALID,
             "fm_message_graph_sample: the graph, its edges or the sampler options are missing");
    FM_CHECK(divisor > 0 && isfinite(divisor), FM_ERR_INVALID,
             "fm_message_graph_sample: the divisor of the edge values is %g; expected a finite value above 0",
             divisor);
    FM_CHECK(directions >= 1 && directions <= 3, FM_ERR_INVALID,
             "fm_message_graph_sample: directions %u; expected 1, 2 or 3", directions);
    mg->kernels = FM_KERNELS_FUSED;
    mg->graph = g;
    mg->forward_only = !backward;
    mg->sampled_directions = directions;
    const fm_edges *from[2] = { rows, columns };
    fm_edges *into[2] = { &mg->rows, &mg->columns };
    for (int d = 0; d < 2; d++) {
        if (!(directions & (1u << d))) continue;
        FM_TRY(fm_sampler_draw(&mg->sampled[d], from[d], g->stats.kind, options, 2 * round + (uint64_t)d, msg));
        fm_sampled_edges *s = mg->sampled[d];
        *into[d] = (fm_edges){ .targets = s->targets, .sources = s->sources, .count = s->count,
                               .ptr = s->ptr, .idx = s->idx, .val = s->val, .log_pi = s->log_pi };
        if (divisor != 1) scale_values(s->val, into[d], divisor);   // in place: the sample owns its values
    }
    return FM_OK;
#undef FREE_ALL
}

// One drawn direction as GraphBLAS matrices: the CSR arrays (values, then log
// π) imported by copy, and their transposes for the backward.
static int pack_direction(fm_message_graph *mg, fm_direction direction, char *msg)
{
#define FREE_ALL
    const fm_sampled_edges *s = mg->sampled[direction];
    GrB_Matrix *matrix = mg->sampled_matrix[direction], *log_pi = mg->sampled_log_pi[direction];
    const GrB_Index count = (GrB_Index)s->count;
    FM_GRB(GrB_Matrix_import_FP32(&matrix[0], GrB_FP32, s->targets, s->sources, s->ptr, s->idx, s->val,
                                  s->targets + 1, count, count, GrB_CSR_FORMAT));
    FM_GRB(GrB_Matrix_import_FP32(&log_pi[0], GrB_FP32, s->targets, s->sources, s->ptr, s->idx, s->log_pi,
                                  s->targets + 1, count, count, GrB_CSR_FORMAT));
    if (mg->forward_only) return FM_OK;
    for (int m = 0; m < 2; m++) {
        GrB_Matrix by_target = m == 0 ? matrix[0] : log_pi[0], *by_source = m == 0 ? &matrix[1] : &log_pi[1];
        FM_GRB(GrB_Matrix_new(by_source, GrB_FP32, s->sources, s->targets));
        FM_GRB(GrB_transpose(*by_source, NULL, NULL, by_target, NULL));
    }
    return FM_OK;
#undef FREE_ALL
}

// The GraphBLAS matrices of a packed sample, freed (the CSR arrays stay).
static void unpack(fm_message_graph *mg)
{
    for (int d = 0; d < 2; d++)
        for (int m = 0; m < 2; m++) {
            GrB_Matrix_free(&mg->sampled_matrix[d][m]);
            GrB_Matrix_free(&mg->sampled_log_pi[d][m]);
        }
}

int fm_message_graph_pack(fm_message_graph *mg, char *msg)
{
#define FREE_ALL unpack(mg)
    FM_CHECK(mg && mg->graph && mg->sampled_directions && mg->kernels == FM_KERNELS_FUSED, FM_ERR_INVALID,
             "fm_message_graph_pack: the message graph is not a sample for the fused kernels");
    for (int d = 0; d < 2; d++)
        if (mg->sampled_directions & (1u << d)) FM_TRY(pack_direction(mg, (fm_direction)d, msg));
    mg->kernels = FM_KERNELS_GRAPHBLAS;
    return FM_OK;
#undef FREE_ALL
}

fm_graphblas_edges fm_message_graph_graphblas_edges(const fm_message_graph *mg, fm_direction direction)
{
    if (!mg->sampled_matrix[direction][0]) return fm_graphblas_edges_of(mg->graph, direction);
    return (fm_graphblas_edges){ mg->sampled_matrix[direction][0], mg->sampled_matrix[direction][1],
                                 mg->sampled_log_pi[direction][0], mg->sampled_log_pi[direction][1] };
}

int fm_message_graph_close(fm_message_graph *mg, char *msg)
{
    if (!mg) return FM_OK;
    free(mg->view_values);
    unpack(mg);
    for (int d = 0; d < 2; d++) fm_sampled_edges_free(&mg->sampled[d]);
    // return both orientations even if the first fails; report the first error
    int status = fm_edges_return(&mg->rows, msg);
    int second = fm_edges_return(&mg->columns, status ? NULL : msg);
    if (!status) status = second;
    free(mg->row_to_column);
    free(mg->column_to_row);
    memset(mg, 0, sizeof *mg);
    return status;
}

int fm_message_graph_targets(fm_message_graph *batch, const fm_message_graph *mg, fm_direction direction,
                             int64_t first, int64_t count, char *msg)
{
#define FREE_ALL
    FM_CHECK(batch && mg && mg->graph, FM_ERR_INVALID, "fm_message_graph_targets: the message graph is not open");
    FM_CHECK(mg->kernels == FM_KERNELS_FUSED, FM_ERR_INVALID,
             "batches of targets run on the fused kernels; the GraphBLAS path attends over whole matrices");
    FM_TRY(fm_message_graph_check_direction(mg, direction, msg));
    const fm_edges *edges = direction == FM_TO_ROWS ? &mg->rows : &mg->columns;
    FM_CHECK(first >= 0 && count >= 0 && first <= edges->targets && count <= edges->targets - first,
             FM_ERR_INVALID, "fm_message_graph_targets: targets [%lld, %lld) of %lld", (long long)first,
             (long long)(first + count), (long long)edges->targets);
    // (sampled_directions: attention in the other direction, whose edges the
    // view does not carry, is refused as for a one-direction sample)
    *batch = (fm_message_graph){ .kernels = FM_KERNELS_FUSED, .graph = mg->graph, .forward_only = true,
                                 .sampled_directions = 1u << direction };
    fm_edges view = { .targets = count, .sources = edges->sources, .log_pi = edges->log_pi };
    if (edges->ptr) {
        // positions stay absolute: the view's target t reads idx[ptr[first + t] .. ptr[first + t + 1])
        view.ptr = edges->ptr + first;
        view.idx = edges->idx;
        view.val = edges->val;
        view.count = (int64_t)(edges->ptr[first + count] - edges->ptr[first]);
    } else {
        view.val = edges->val + first * edges->sources;
        view.count = count * edges->sources;
    }
    *(direction == FM_TO_ROWS ? &batch->rows : &batch->columns) = view;
    return FM_OK;
#undef FREE_ALL
}

int fm_message_graph_check_direction(const fm_message_graph *mg, fm_direction direction, char *msg)
{
    if (mg->sampled_directions && !(mg->sampled_directions & (1u << direction)))
        return fm_fail(FM_ERR_INVALID, msg, "the sampled message graph has no draw for the %s-direction",
                       direction == FM_TO_ROWS ? "W" : "H");
    return FM_OK;
}

int fm_message_graph_has_edges(float *has_edges, const fm_message_graph *mg, fm_direction direction, char *msg)
{
    GrB_Vector present = NULL;
    GrB_Index *index = NULL;
#define FREE_ALL { GrB_Vector_free(&present); free(index); }
    FM_TRY(fm_message_graph_check_direction(mg, direction, msg));
    if (mg->kernels == FM_KERNELS_FUSED) {
        const fm_edges *edges = direction == FM_TO_ROWS ? &mg->rows : &mg->columns;
        for (int64_t t = 0; t < edges->targets; t++)
            has_edges[t] = edges->ptr ? (edges->ptr[t + 1] > edges->ptr[t]) : (edges->sources > 0);
        return FM_OK;
    }
    const GrB_Matrix by_target = fm_message_graph_graphblas_edges(mg, direction).by_target;
    GrB_Index targets, count;
    FM_GRB(GrB_Matrix_nrows(&targets, by_target));
    // a row reduction has an entry exactly where the row has one
    FM_GRB(GrB_Vector_new(&present, GrB_FP32, targets));
    FM_GRB(GrB_Matrix_reduce_Monoid(present, NULL, NULL, GrB_PLUS_MONOID_FP32, by_target, NULL));
    FM_GRB(GrB_Vector_nvals(&count, present));
    FM_ALLOC(index, count + 1);
    GrB_Index n = count;
    FM_GRB(GrB_Vector_extractTuples_FP32(index, NULL, &n, present));
    for (GrB_Index t = 0; t < targets; t++) has_edges[t] = 0;
    for (GrB_Index e = 0; e < n; e++) has_edges[index[e]] = 1;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
