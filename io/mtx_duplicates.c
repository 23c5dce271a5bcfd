// Matrix Market duplicates: the earliest repeated coordinate of a file read
// for the incomplete kind (io/mtx_parts.h).
#include "mtx_parts.h"

#include <inttypes.h>
#include <stdlib.h>

#include "status.h"

typedef struct { int64_t key, line; } keyed_line;

// Stable LSD radix sort of n records by key in [0, 2^bits), 11 bits a pass.
// Returns the buffer that holds the result (a or scratch).
static keyed_line *radix_sort(keyed_line *a, keyed_line *scratch, int64_t n, int bits, int64_t *hist)
{
    enum { DIGIT = 11, BUCKETS = 1 << DIGIT };
    int passes = (bits + DIGIT - 1) / DIGIT;
    for (int64_t k = 0; k < n; k++) {
        uint64_t key = (uint64_t)a[k].key;
        for (int p = 0; p < passes; p++) hist[p * BUCKETS + ((key >> (p * DIGIT)) & (BUCKETS - 1))]++;
    }
    for (int p = 0; p < passes; p++) {
        int64_t *count = hist + p * BUCKETS;
        bool trivial = false;
        for (int b = 0; b < BUCKETS; b++) if (count[b] == n) trivial = true;
        if (trivial) continue;
        int64_t offset = 0;
        for (int b = 0; b < BUCKETS; b++) { int64_t c = count[b]; count[b] = offset; offset += c; }
        for (int64_t k = 0; k < n; k++) {
            uint64_t digit = ((uint64_t)a[k].key >> (p * DIGIT)) & (BUCKETS - 1);
            scratch[count[digit]++] = a[k];
        }
        keyed_line *swap = a; a = scratch; scratch = swap;
    }
    return a;
}

// The earliest repeated coordinate, by the line of its second occurrence.
// Symmetric files were expanded; their mirrored (upper) copies are skipped.
int fm_mtx_check_duplicates(const char *path, const fm_triplets *t, const int64_t *lines, bool symmetric,
                            char *msg)
{
    int64_t line;
    return fm_mtx_check_duplicates_from(path, t, lines, symmetric, 0, 0, &line, msg);
}

int fm_mtx_check_duplicates_from(const char *path, const fm_triplets *t, const int64_t *lines, bool symmetric,
                                 int64_t first_row, int64_t first_col, int64_t *line, char *msg)
{
    keyed_line *records = NULL, *scratch = NULL;
    int64_t *hist = NULL;
#define FREE_ALL do { free(records); free(scratch); free(hist); } while (0)
    int64_t n = 0;
    *line = INT64_MAX;
    for (int64_t k = 0; k < t->count; k++)
        if (!symmetric || t->row[k] + first_row >= t->col[k] + first_col) n++;
    if (n < 2) return FM_OK;
    FM_ALLOC(records, n);
    FM_ALLOC(scratch, n);
    uint64_t top = (uint64_t)(t->rows * t->cols - 1);
    int bits = top ? 64 - __builtin_clzll(top) : 0;
    FM_ALLOC(hist, ((bits + 10) / 11 + 1) * 2048);
    int64_t m = 0;
    for (int64_t k = 0; k < t->count; k++)
        if (!symmetric || t->row[k] + first_row >= t->col[k] + first_col)
            records[m++] = (keyed_line){ t->row[k] * t->cols + t->col[k], lines[k] };
    keyed_line *sorted = radix_sort(records, scratch, n, bits, hist);
    int64_t first = 0, second = INT64_MAX, key = 0;
    for (int64_t k = 1; k < n; k++)
        if (sorted[k].key == sorted[k - 1].key && (k == 1 || sorted[k - 2].key != sorted[k].key) &&
            sorted[k].line < second) {
            first = sorted[k - 1].line;
            second = sorted[k].line;
            key = sorted[k].key;
        }
    *line = second;
    if (second != INT64_MAX)
        FM_FAIL(FM_ERR_PARSE, "%s:%" PRId64 ": duplicate entry (%" PRId64 ", %" PRId64
                "), first given on line %" PRId64, path, second, first_row + key / t->cols + 1, first_col + key % t->cols + 1,
                first);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
