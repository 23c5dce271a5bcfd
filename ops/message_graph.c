// The edges messages flow over, opened for one attention path (ops/attention.h).
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "status.h"

// For CSR `rows` (by row node) and `columns` (by column node), both sorted:
// walking `rows` in order visits the edges of every column in increasing row
// order, which is the order `columns` stores them in. A cursor per column
// therefore gives each edge its slot there.
static int build_position_maps(fm_message_graph *mg, char *msg)
{
    const fm_edges *rows = &mg->rows, *columns = &mg->columns;
    int64_t *cursor = NULL;
#define FREE_ALL free(cursor)
    FM_ALLOC(mg->row_to_column, rows->count + 1);
    FM_ALLOC(mg->column_to_row, rows->count + 1);
    FM_ALLOC(cursor, columns->targets + 1);
    for (int64_t c = 0; c < columns->targets; c++) cursor[c] = (int64_t)columns->ptr[c];
    for (int64_t r = 0; r < rows->targets; r++)
        for (GrB_Index e = rows->ptr[r]; e < rows->ptr[r + 1]; e++) {
            const int64_t slot = cursor[rows->idx[e]]++;
            mg->row_to_column[e] = slot;
            mg->column_to_row[slot] = (int64_t)e;
        }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_message_graph_open(fm_message_graph *mg, fm_graph *g, fm_kernels kernels, char *msg)
{
#define FREE_ALL fm_message_graph_close(mg, NULL)
    memset(mg, 0, sizeof *mg);
    mg->kernels = kernels;
    mg->graph = g;
    if (kernels == FM_KERNELS_GRAPHBLAS) return FM_OK;
    FM_CHECK(kernels == FM_KERNELS_FUSED, FM_ERR_INVALID, "unknown attention kernels %d", (int)kernels);
    FM_TRY(fm_edges_borrow(&mg->rows, g, FM_TO_ROWS, msg));
    FM_TRY(fm_edges_borrow(&mg->columns, g, FM_TO_COLUMNS, msg));
    if (mg->rows.ptr) FM_TRY(build_position_maps(mg, msg));
    return FM_OK;
#undef FREE_ALL
}

int fm_message_graph_close(fm_message_graph *mg, char *msg)
{
    int status = fm_edges_return(&mg->rows, msg);
    int second = fm_edges_return(&mg->columns, status ? NULL : msg);
    free(mg->row_to_column);
    free(mg->column_to_row);
    mg->row_to_column = mg->column_to_row = NULL;
    return status ? status : second;
}
