// A Matrix Market file read by several processes at once (docs §11.1): its
// data lines split into `parts` byte ranges of about equal size, a line
// belonging to the part where it starts. Each process reads the header and
// its own range; nobody reads the whole file. Two passes: the first counts
// each part's lines, so that the second can name every line by its number
// in the file and place every value of an `array` file, once the counts of
// the parts before it are known (a prefix sum over the processes).
#ifndef FM_MTX_RANGE_H
#define FM_MTX_RANGE_H

#include <stdint.h>

#include "mtx_parts.h"

typedef struct fm_mtx_range {
    fm_mtx_header header;
    int64_t begin, end;      // the part's bytes: its lines start in [begin, end)
    int64_t lines, values;   // its lines, and of them the data lines
    bool last;               // the last part: it checks the declared count is reached
} fm_mtx_range;

// Whether the file starts with gzip's magic bytes (a missing file: false).
bool fm_mtx_is_gzip(const char *path);

// The header, the size line and part `part` of `parts`'s counts. A gzipped
// file cannot be split by bytes: FM_ERR_INVALID saying so; so is a
// symmetric array file (its values do not map to a row by their place).
int fm_mtx_range_count(fm_mtx_range *range, const char *path, int part, int parts, char *msg);

// The entries of the part as coordinates of the whole matrix (rows × cols of
// the header; `array` false even for an array file, whose values are placed
// by their index), symmetric files expanded. `lines_before` and
// `values_before`: the lines and data lines of the parts before this one;
// `lines`, when given, receives each entry's line (for the duplicate check).
// Content errors name FILE:LINE as fm_mtx_read does.
int fm_mtx_range_read(fm_triplets **out, int64_t **lines, const char *path, const fm_mtx_range *range,
                      int64_t lines_before, int64_t values_before, char *msg);

#endif
