// The parts the text readers of matrices other than Matrix Market (triplet
// lines, io/triplets_text.c; dense CSV/TSV, io/csv.c) share: comments and
// blank lines, a value field, growing arrays. They read lines with the
// Matrix Market line reader (io/mtx_parts.h: plain and gzip alike) and name
// FILE:LINE in every message as it does.
#ifndef FM_TEXT_MATRIX_PARTS_H
#define FM_TEXT_MATRIX_PARTS_H

#include <stdbool.h>
#include <stdint.h>

#include "mtx_parts.h"

// Blank lines and comments (first non-blank character '#' or '%') carry no data.
bool fm_text_is_skipped(const char *line);

// Whether a field reads as a number (a header row holds none).
bool fm_text_is_number(const char *field);

// A value field: a finite, nonnegative float (fm_mtx_parse_float), -0 as +0.
// `what` names the field in messages ("rating", "value").
int fm_text_parse_value(fm_mtx_reader *r, const char *token, const char *what, float *value, char *msg);

// The capacity for `need` elements grown from `capacity` (doubling from 4096).
int64_t fm_text_capacity(int64_t capacity, int64_t need);
// *array (of `size`-byte elements) reallocated to `count` of them; the
// reader names its line when memory runs out (*array is then unchanged).
int fm_text_resize(void **array, size_t size, int64_t count, const fm_mtx_reader *r, char *msg);

#endif
