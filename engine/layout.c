// Which process holds which rows and columns; see layout.h.
#include "layout.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"

int fm_layout_new(fm_layout *layout, const int64_t *entries, int64_t rows, int64_t cols, int parts, char *msg)
{
#define FREE_ALL fm_layout_free(layout)
    memset(layout, 0, sizeof *layout);
    FM_CHECK(parts > 0 && rows >= 0 && cols >= 0, FM_ERR_INVALID, "fm_layout_new: bad arguments");
    FM_CHECK(rows >= parts && cols >= parts, FM_ERR_INVALID,
             "%d processes for a %lld x %lld matrix: each process needs a row and a column of its own; run on at "
             "most %lld", parts, (long long)rows, (long long)cols, (long long)(rows < cols ? rows : cols));
    layout->rows = rows;
    layout->cols = cols;
    layout->parts = parts;
    FM_ALLOC(layout->row_begin, parts + 1);
    FM_ALLOC(layout->col_begin, parts + 1);
    double total = 0;
    for (int64_t i = 0; i < rows; i++) total += (double)entries[i];
    int64_t i = 0;
    double seen = 0;
    for (int p = 0; p < parts; p++) {
        layout->row_begin[p] = i;
        const double share = total * (p + 1) / parts;
        // every block at least one row, and a row left for each block after it
        while (i < rows - (parts - 1 - p) && (p == parts - 1 || seen < share || i == layout->row_begin[p]))
            seen += (double)entries[i++];
        layout->col_begin[p] = cols * p / parts;
    }
    layout->row_begin[parts] = rows;
    layout->col_begin[parts] = cols;
    return FM_OK;
#undef FREE_ALL
}

void fm_layout_free(fm_layout *layout)
{
    free(layout->row_begin);
    free(layout->col_begin);
    layout->row_begin = layout->col_begin = NULL;
}

int fm_layout_owner(const fm_layout *layout, int64_t row)
{
    int lo = 0, hi = layout->parts - 1;
    while (lo < hi) {
        const int mid = (lo + hi + 1) / 2;
        if (layout->row_begin[mid] <= row) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}
