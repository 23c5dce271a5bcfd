// Fixtures of the checkpoint tests (tests/test_checkpoint.c,
// tests/test_checkpoint_damage.c): model headers and parameters, a
// checkpoint written to a fresh directory with the offsets of its parts, the
// file's bytes and little-endian fields, and the expectation that a read
// fails with a given status and words and touches no output.
#ifndef FM_TEST_CHECKPOINT_FIXTURES_H
#define FM_TEST_CHECKPOINT_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lfactormer_checkpoint.h"

// A checkpoint written to a fresh directory, its bytes, and where its parts start.
typedef struct ck_fixture {
    char dir[256], path[512];
    fm_checkpoint_header header;
    fm_params *params;
    fm_train_state state;
    uint8_t *bytes;
    size_t size;
    size_t table, values, m, v, state_at;   // offsets of the parts
} ck_fixture;

fm_checkpoint_header ck_make_header(fm_model_kind kind, int rank, int width, int heads, int layers);
fm_checkpoint_header ck_small_header(void);
fm_checkpoint_header ck_tiny_header(void);
fm_params *ck_make_params(const fm_checkpoint_header *h, uint64_t seed);
fm_train_state ck_make_state(void);
uint8_t *ck_slurp(const char *path, size_t *size);
void ck_spit(const char *path, const uint8_t *bytes, size_t size);
uint32_t ck_le32(const uint8_t *b);
uint64_t ck_le64(const uint8_t *b);
void ck_put32(uint8_t *b, uint32_t x);
void ck_put64(uint8_t *b, uint64_t x);
void ck_reseal(uint8_t *b, size_t size);
void ck_fixture_new(ck_fixture *fx, fm_checkpoint_header header, bool training);
void ck_fixture_free(ck_fixture *fx);
void ck_expect_failure(const char *path, const fm_checkpoint_expect *expect, int code, const char *context, ...);
void ck_expect_same_params(const fm_params *back, const fm_params *p, bool moments);

// ck_expect_failure with the words' NULL added.
#define CK_EXPECT_FAILURE(path, expect, code, context, ...) \
    ck_expect_failure((path), (expect), (code), (context), __VA_ARGS__, NULL)

// Write `bytes` over the fixture's file and expect a parse error holding the words.
#define CK_EXPECT_CRAFTED(fx, bytes, size, context, ...)                                \
    do {                                                                             \
        ck_spit((fx)->path, (bytes), (size));                                        \
        CK_EXPECT_FAILURE((fx)->path, NULL, FM_ERR_PARSE, (context), __VA_ARGS__);   \
    } while (0)

#endif
