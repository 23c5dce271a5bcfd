// The parts of the Matrix Market reader (io/mtx.c) that live in files of
// their own: number parsing (io/mtx_number.c) and the duplicate check
// (io/mtx_duplicates.c).
#ifndef FM_MTX_PARTS_H
#define FM_MTX_PARTS_H

#include <stdbool.h>
#include <stdint.h>

#include "factormer.h"

enum { NUMBER_OK = 0, NUMBER_NONE, NUMBER_TRAILING, NUMBER_OVERFLOW };

// A whole token as a decimal int64 with an optional sign; *stop is where
// parsing stopped (for the message about trailing characters).
int fm_mtx_parse_int64(const char *s, int64_t *value, const char **stop);
// A whole token as a float, correctly rounded (strtof's result).
int fm_mtx_parse_float(const char *s, float *value, const char **stop);

// The earliest repeated coordinate of t, by the line of its second
// occurrence (lines[k]: the line of entry k); FM_ERR_PARSE naming both
// lines. Symmetric files were expanded: their mirrored (upper) copies are
// skipped.
int fm_mtx_check_duplicates(const char *path, const fm_triplets *t, const int64_t *lines, bool symmetric,
                            char *msg);

#endif
