// Fixtures of the Matrix Market tests (tests/test_mtx.c,
// tests/test_mtx_writing.c, tests/test_mtx_hostile.c): reading a given text
// from a fresh file, that it succeeds or fails with a given status and
// message, and one entry of what was read.
#ifndef FM_TEST_MTX_FIXTURES_H
#define FM_TEST_MTX_FIXTURES_H

#include <stdbool.h>
#include <stdint.h>

#include "factormer.h"

// Read `text` as a file called `name`, expect `code`, a message that holds
// `where` and each of the NULL-terminated words after it, and no output.
void mtx_expect_error_named(const char *name, const char *text, bool duplicates_are_errors, int code,
                            const char *where, ...);
// Read `text`, which must succeed.
fm_triplets *mtx_read_ok(const char *text, bool duplicates_are_errors);
// Entry k of t is (row, col, val), 0-based.
void mtx_expect_entry(const fm_triplets *t, int64_t k, int64_t row, int64_t col, float val);

#endif
