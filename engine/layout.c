// Which process holds which rows and columns; see layout.h.
#include "layout.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"

// `parts` blocks of [0, count) of about equal entries, each of at least
// `least` (count >= parts · least).
static void cut(int64_t *begin, const int64_t *entries, int64_t count, int parts, int64_t least)
{
    double total = 0, seen = 0;
    for (int64_t i = 0; i < count; i++) total += entries ? (double)entries[i] : 1.0;
    int64_t i = 0;
    for (int p = 0; p < parts; p++) {
        begin[p] = i;
        const double share = total * (p + 1) / parts;
        // at least `least` each, and `least` left for each block after this one
        while (i < count - (int64_t)(parts - 1 - p) * least &&
               (p == parts - 1 || seen < share || i - begin[p] < least))
            seen += entries ? (double)entries[i++] : (i++, 1.0);
    }
    begin[parts] = count;
}

int fm_layout_new(fm_layout *layout, const int64_t *row_entries, const int64_t *col_entries, int64_t rows,
                  int64_t cols, int grid_rows, int grid_cols, char *msg)
{
#define FREE_ALL fm_layout_free(layout)
    memset(layout, 0, sizeof *layout);
    FM_CHECK(grid_rows > 0 && grid_cols > 0 && rows >= 0 && cols >= 0, FM_ERR_INVALID,
             "fm_layout_new: bad arguments");
    const int parts = grid_rows * grid_cols;
    FM_CHECK(rows >= parts && cols >= parts, FM_ERR_INVALID,
             "%d processes for a %lld x %lld matrix: each process needs a row and a column of its own; run on at "
             "most %lld", parts, (long long)rows, (long long)cols, (long long)(rows < cols ? rows : cols));
    layout->rows = rows;
    layout->cols = cols;
    layout->parts = parts;
    layout->grid_rows = grid_rows;
    layout->grid_cols = grid_cols;
    FM_ALLOC(layout->row_begin, grid_rows + 1);
    FM_ALLOC(layout->col_begin, grid_cols + 1);
    cut(layout->row_begin, row_entries, rows, grid_rows, grid_cols);
    cut(layout->col_begin, grid_cols > 1 ? col_entries : NULL, cols, grid_cols, grid_rows);
    return FM_OK;
#undef FREE_ALL
}

void fm_layout_free(fm_layout *layout)
{
    free(layout->row_begin);
    free(layout->col_begin);
    layout->row_begin = layout->col_begin = NULL;
}

fm_span fm_layout_block_rows(const fm_layout *layout, int p)
{
    const int i = p / layout->grid_cols;
    return (fm_span){ layout->row_begin[i], layout->row_begin[i + 1] };
}

fm_span fm_layout_block_cols(const fm_layout *layout, int p)
{
    const int j = p % layout->grid_cols;
    return (fm_span){ layout->col_begin[j], layout->col_begin[j + 1] };
}

// Slice `s` of `slices` about equal ones of a block.
static fm_span slice(fm_span block, int s, int slices)
{
    const int64_t size = block.end - block.begin;
    return (fm_span){ block.begin + size * s / slices, block.begin + size * (s + 1) / slices };
}

fm_span fm_layout_owned_rows(const fm_layout *layout, int p)
{
    return slice(fm_layout_block_rows(layout, p), p % layout->grid_cols, layout->grid_cols);
}

fm_span fm_layout_owned_cols(const fm_layout *layout, int p)
{
    return slice(fm_layout_block_cols(layout, p), p / layout->grid_cols, layout->grid_rows);
}

// The block of `begin` (blocks + 1 bounds) that holds `x`.
static int block_of(const int64_t *begin, int blocks, int64_t x)
{
    int lo = 0, hi = blocks - 1;
    while (lo < hi) {
        const int mid = (lo + hi + 1) / 2;
        if (begin[mid] <= x) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

int fm_layout_owner(const fm_layout *layout, int64_t row, int64_t col)
{
    return block_of(layout->row_begin, layout->grid_rows, row) * layout->grid_cols +
           block_of(layout->col_begin, layout->grid_cols, col);
}
