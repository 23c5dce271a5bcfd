// Which process holds which rows and columns in a distributed run (docs
// §11.1): rows of X in contiguous blocks of about equal stored entries (the
// work of the products), columns of Hᵀ in contiguous blocks of about equal
// size (the work of the H-update's steps, the same for every column).
#ifndef FM_LAYOUT_H
#define FM_LAYOUT_H

#include <stdint.h>

typedef struct fm_layout {
    int64_t rows, cols;
    int parts;
    int64_t *row_begin;    // parts + 1: process p holds rows [row_begin[p], row_begin[p+1])
    int64_t *col_begin;    // parts + 1: and updates columns [col_begin[p], col_begin[p+1])
} fm_layout;

// From the stored entries of every row (`entries`, rows of them): block p
// ends at the first row where the running total reaches (p+1)/parts of the
// entries, so no block exceeds its share by more than one row's entries;
// but every block holds at least one row (a row of many entries may leave
// the next block with a row beyond its share). FM_ERR_INVALID when there
// are fewer rows or columns than parts.
int fm_layout_new(fm_layout *layout, const int64_t *entries, int64_t rows, int64_t cols, int parts, char *msg);
void fm_layout_free(fm_layout *layout);

// The process that holds `row` (a binary search over row_begin).
int fm_layout_owner(const fm_layout *layout, int64_t row);

#endif
