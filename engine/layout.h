// Which process holds which rows and columns in a distributed run (docs
// §11.1, §11.4): the processes on a grid of grid_rows × grid_cols, process
// p at (p / grid_cols, p % grid_cols). Grid row i holds a block of X's rows
// and grid column j a block of its columns, each cut to about equal stored
// entries (the work of the products); process (i, j) holds the block X_ij.
// Of its block's rows of W it updates (owns) one of grid_cols about equal
// slices, of its block's columns of Hᵀ one of grid_rows. A 1-D layout is
// the grid P × 1: the rows cut P ways, all the columns in one block, whose
// columns of Hᵀ the processes share out.
#ifndef FM_LAYOUT_H
#define FM_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct fm_layout {
    int64_t rows, cols;
    int parts, grid_rows, grid_cols;   // parts = grid_rows · grid_cols
    int64_t *row_begin;    // grid_rows + 1: grid row i holds rows [row_begin[i], row_begin[i+1])
    int64_t *col_begin;    // grid_cols + 1: grid column j holds columns [col_begin[j], col_begin[j+1])
} fm_layout;

typedef struct fm_span { int64_t begin, end; } fm_span;

// From the stored entries of every row (`row_entries`) and, when grid_cols
// > 1, of every column: each cut ends a block at the first row (column)
// where the running total reaches its share, so no block exceeds its share
// by more than one row's (column's) entries; but every block holds at least
// as many rows as the grid has columns and as many columns as it has rows
// (every process owns a row of W and a column of Hᵀ). FM_ERR_INVALID when
// the matrix is too small for the grid.
int fm_layout_new(fm_layout *layout, const int64_t *row_entries, const int64_t *col_entries, int64_t rows,
                  int64_t cols, int grid_rows, int grid_cols, char *msg);

// The same cut fed a run of rows (columns) at a time, for counts too many to
// hold at once (a distributed reading sums them a slice at a time):
// fm_layout_new with both counts NULL checks the shape and allocates, then
// each of row_begin and col_begin is cut by fm_cut_start (`total`: the sum
// of all the counts; `least`: the other grid side) and fm_cut_feed over all
// its counts in order (NULL counts: one a row).
typedef struct fm_cut {
    int64_t *begin, count, least, i;
    int parts, p;
    double total, seen;
} fm_cut;
void fm_cut_start(fm_cut *cut, int64_t *begin, int64_t count, int parts, int64_t least, double total);
void fm_cut_feed(fm_cut *cut, const int64_t *entries, int64_t len);
void fm_layout_free(fm_layout *layout);

// Process p's block of X (its rows and its columns), and the rows of W and
// columns of Hᵀ it owns, in the whole matrix's numbering.
fm_span fm_layout_block_rows(const fm_layout *layout, int p);
fm_span fm_layout_block_cols(const fm_layout *layout, int p);
fm_span fm_layout_owned_rows(const fm_layout *layout, int p);
fm_span fm_layout_owned_cols(const fm_layout *layout, int p);

// The process whose block holds entry (row, col) (binary searches).
int fm_layout_owner(const fm_layout *layout, int64_t row, int64_t col);

#endif
