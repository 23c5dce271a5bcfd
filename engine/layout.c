// Which process holds which rows and columns; see layout.h.
#include "layout.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

void fm_cut_start(fm_cut *c, int64_t *begin, int64_t count, int parts, int64_t least, double total)
{
    *c = (fm_cut){ .begin = begin, .count = count, .parts = parts, .least = least, .total = total };
    begin[0] = 0;
    begin[parts] = count;
}

// Whether row (column) c->i may join block c->p: `least` left for each
// block after it, and the block below its share or below `least`.
static bool joins(const fm_cut *c)
{
    return c->i < c->count - (int64_t)(c->parts - 1 - c->p) * c->least &&
           (c->p == c->parts - 1 || c->seen < c->total * (c->p + 1) / c->parts || c->i - c->begin[c->p] < c->least);
}

void fm_cut_feed(fm_cut *c, const int64_t *entries, int64_t len)
{
    for (int64_t t = 0; t < len; t++) {
        while (!joins(c)) c->begin[++c->p] = c->i;   // the row starts the next block
        c->seen += entries ? (double)entries[t] : 1.0;
        c->i++;
    }
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
    if (!row_entries && !col_entries) return FM_OK;   // the caller cuts them (fm_cut_feed)
    double total = 0;
    for (int64_t i = 0; i < rows; i++) total += (double)row_entries[i];
    fm_cut c;
    fm_cut_start(&c, layout->row_begin, rows, grid_rows, grid_cols, total);
    fm_cut_feed(&c, row_entries, rows);
    total = 0;
    if (grid_cols > 1)
        for (int64_t j = 0; j < cols; j++) total += (double)col_entries[j];
    fm_cut_start(&c, layout->col_begin, cols, grid_cols, grid_rows, grid_cols > 1 ? total : (double)cols);
    fm_cut_feed(&c, grid_cols > 1 ? col_entries : NULL, cols);
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
