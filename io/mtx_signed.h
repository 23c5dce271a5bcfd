// Matrix Market `array real general` files of signed values: the ADMM duals
// that `factorize --save-state` writes beside the factors (fm_mtx_write_dense
// writes them; fm_mtx_read_dense refuses negative values, as data must be).
#ifndef FM_MTX_SIGNED_H
#define FM_MTX_SIGNED_H

#include <stddef.h>
#include <stdint.h>

#include "factormer.h"

// Reads PATH, which must be `array real|integer general` of exactly rows ×
// cols (checked on the size line, before anything is allocated) with finite
// values. When `key` is not NULL, the first comment line "%KEY VALUE" before
// the size line gives VALUE, the rest of the line less trailing blanks, in
// `value` (`size` bytes, truncated to them; "" when there is none).
// FM_ERR_PARSE naming the file and line otherwise.
int fm_mtx_read_signed(fm_dense **out, const char *path, int64_t rows, int64_t cols, const char *key, char *value,
                       size_t size, char *msg);

#endif
