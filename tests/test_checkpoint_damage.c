// Damaged and crafted model checkpoints (io/checkpoint): truncated at every
// offset, a byte flipped at every offset, trailing bytes; intact files whose
// content is wrong: hyperparameters out of range, header fields or a tensor
// table that disagree with the layout, NaN and infinity. Round trips and
// writers: tests/test_checkpoint.c.
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "lfactormer_checkpoint.h"
#include "helpers.h"
#include "checkpoint_fixtures.h"

TestSuite(checkpoint_damage, .init = fm_test_setup);

//------------------------------------------------------------------------------
// Truncated and corrupted files
//------------------------------------------------------------------------------

// The part of the file a truncation at `size` ends in.
static const char *part_at(const ck_fixture *fx, size_t size)
{
    if (size < 64) return "header";
    if (size < fx->values) return "tensor table";
    if (size < fx->m) return "values";
    if (size < fx->v) return "first moments (m)";
    if (size < fx->state_at) return "second moments (v)";
    if (size < fx->state_at + FM_TRAIN_STATE_BYTES) return "training state";
    return "checksum";
}

// Every prefix of a tiny training checkpoint.
Test(checkpoint_damage, truncated_at_every_offset)
{
    ck_fixture fx;
    ck_fixture_new(&fx, ck_tiny_header(), true);
    cr_assert_gt(fx.size, 1000u);
    for (size_t size = 1; size < fx.size; size++) {
        char context[128];
        snprintf(context, sizeof context, "truncated to %zu of %zu bytes", size, fx.size);
        CK_EXPECT_CRAFTED(&fx, fx.bytes, size, context, "truncated", part_at(&fx, size));
    }
    ck_fixture_free(&fx);
}

// Several prefixes of the small model, and of a model without training state.
Test(checkpoint_damage, truncated_small_models)
{
    for (int training = 0; training < 2; training++) {
        ck_fixture fx;
        ck_fixture_new(&fx, ck_small_header(), training);
        const size_t cuts[] = {1, 7, 8, 11, 12, 40, 63, 64, 65, fx.values - 1, fx.values, fx.values + 1,
                               fx.values + 1001, fx.m - 1, fx.m, fx.m + 3, fx.size - 5, fx.size - 4, fx.size - 1};
        for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
            const size_t size = cuts[i];
            if (size >= fx.size) continue;
            char context[128];
            snprintf(context, sizeof context, "training %d, truncated to %zu of %zu", training, size, fx.size);
            const char *part = training ? part_at(&fx, size) : size < fx.values ? part_at(&fx, size)
                                                            : size < fx.m      ? "values"
                                                                               : "checksum";
            CK_EXPECT_CRAFTED(&fx, fx.bytes, size, context, "truncated", part);
        }
        ck_fixture_free(&fx);
    }
}

// A byte flipped anywhere in a tiny training checkpoint: the magic says it is
// not a model, the version field says which version it reads, every other
// byte is caught by a checksum (the header's own or the file's).
Test(checkpoint_damage, flipped_byte_at_every_offset)
{
    ck_fixture fx;
    ck_fixture_new(&fx, ck_tiny_header(), true);
    uint8_t *copy = malloc(fx.size);
    cr_assert_not_null(copy);
    const uint8_t masks[2] = {0x01, 0x80};
    for (size_t at = 0; at < fx.size; at++)
        for (int k = 0; k < 2; k++) {
            memcpy(copy, fx.bytes, fx.size);
            copy[at] ^= masks[k];
            char context[128];
            snprintf(context, sizeof context, "byte %zu of %zu xor 0x%02x", at, fx.size, masks[k]);
            if (at < 8)
                CK_EXPECT_CRAFTED(&fx, copy, fx.size, context, "not a factormer model file");
            else if (at < 12)
                CK_EXPECT_CRAFTED(&fx, copy, fx.size, context, "unsupported checkpoint version");
            else if (at < 64)
                CK_EXPECT_CRAFTED(&fx, copy, fx.size, context, "corrupted: checksum", "of the header");
            else
                CK_EXPECT_CRAFTED(&fx, copy, fx.size, context, "corrupted: checksum", "of the content");
        }
    free(copy);
    ck_fixture_free(&fx);
}

Test(checkpoint_damage, flipped_bytes_in_small_models)
{
    for (int training = 0; training < 2; training++) {
        ck_fixture fx;
        ck_fixture_new(&fx, ck_small_header(), training);
        uint8_t *copy = malloc(fx.size);
        cr_assert_not_null(copy);
        for (size_t at = 12; at < fx.size; at += 53) {
            memcpy(copy, fx.bytes, fx.size);
            copy[at] ^= 0x10;
            char context[128];
            snprintf(context, sizeof context, "training %d, byte %zu of %zu", training, at, fx.size);
            CK_EXPECT_CRAFTED(&fx, copy, fx.size, context, "corrupted: checksum");
        }
        free(copy);
        ck_fixture_free(&fx);
    }
}

Test(checkpoint_damage, trailing_bytes)
{
    ck_fixture fx;
    ck_fixture_new(&fx, ck_small_header(), false);
    uint8_t *longer = calloc(fx.size + 3, 1);
    cr_assert_not_null(longer);
    memcpy(longer, fx.bytes, fx.size);
    CK_EXPECT_CRAFTED(&fx, longer, fx.size + 3, "3 more bytes", "3 bytes follow the checksum");
    free(longer);
    ck_fixture_free(&fx);
}

//------------------------------------------------------------------------------
// Intact files whose content is wrong (both checksums resealed)
//------------------------------------------------------------------------------

// Set the u32 at `at` to `value`, ck_reseal, expect the words.
static void expect_field(ck_fixture *fx, size_t at, uint32_t value, const char *context, const char *word1,
                         const char *word2)
{
    uint8_t *copy = malloc(fx->size);
    cr_assert_not_null(copy);
    memcpy(copy, fx->bytes, fx->size);
    ck_put32(copy + at, value);
    ck_reseal(copy, fx->size);
    CK_EXPECT_CRAFTED(fx, copy, fx->size, context, word1, word2);
    free(copy);
}

Test(checkpoint_damage, hyperparameters_out_of_range)
{
    ck_fixture fx;
    ck_fixture_new(&fx, ck_small_header(), true);
    expect_field(&fx, 16, 3, "kind 3", "model kind 3", "expected 1 (initialization) or 2 (acceleration)");
    expect_field(&fx, 16, 0, "kind 0", "model kind 0", "expected 1");
    // rank 0 is a model of any rank, which reads 1 input per component (§5.1)
    expect_field(&fx, 24, 0, "rank 0", "do not match", "any rank reads 1 inputs per component");
    // ranks -1 to -7 are models of any rank: bit 0 gathered, bit 1 pooled, bit 2 residual (pooled only), the
    // same inputs; minus 8 per rank trained to, up to FM_MAX_RANK: -8 is a model of any rank trained to 1,
    // -8·(FM_MAX_RANK + 1) nothing
    expect_field(&fx, 24, 0xffffffffu, "rank -1", "do not match", "any rank reads 1 inputs per component");
    expect_field(&fx, 24, 0xfffffffeu, "rank -2", "do not match", "any rank reads 1 inputs per component");
    expect_field(&fx, 24, 0xfffffffdu, "rank -3", "do not match", "any rank reads 1 inputs per component");
    expect_field(&fx, 24, 0xfffffffcu, "rank -4", "out of range", "the residual decoder belongs to a pooled model");
    expect_field(&fx, 24, 0xfffffffau, "rank -6", "do not match", "any rank reads 1 inputs per component");
    expect_field(&fx, 24, 0xfffffff9u, "rank -7", "do not match", "any rank reads 1 inputs per component");
    expect_field(&fx, 24, 0xfffffff8u, "rank -8", "do not match", "any rank reads 1 inputs per component");
    expect_field(&fx, 24, 0xfffffff4u, "rank -12", "out of range", "the residual decoder belongs to a pooled model");
    expect_field(&fx, 24, (uint32_t)(-8 * (FM_MAX_RANK + 1)), "rank -2056", "out of range", "rank -2056");
    expect_field(&fx, 20, 0, "inputs 0", "out of range", "input width 0");
    expect_field(&fx, 32, 3, "3 heads, width 8", "out of range", "3 heads do not divide the width 8");
    expect_field(&fx, 32, 0, "no heads", "out of range", "heads 0");
    expect_field(&fx, 36, 17, "17 layers", "out of range", "17 layers; expected 0 to 16");
    expect_field(&fx, 36, 0x80000000u, "negative layers", "out of range", "layers");
    expect_field(&fx, 28, 1u << 30, "absurd width", "out of range", "at most 65536");
    expect_field(&fx, 20, 0x7fffffffu, "absurd inputs", "out of range", "at most 65536");
    expect_field(&fx, 20, 6, "inputs of an acceleration model", "do not match", "reads 3 inputs");
    ck_fixture_free(&fx);
}

Test(checkpoint_damage, header_fields_that_disagree_with_the_layout)
{
    ck_fixture fx;
    ck_fixture_new(&fx, ck_small_header(), true);
    char want[64];
    snprintf(want, sizeof want, "has %d", FM_LFACTORMER_TENSORS(2));
    expect_field(&fx, 40, FM_LFACTORMER_TENSORS(1), "one layer's tensors", "tensors", want);
    snprintf(want, sizeof want, "has %lld", (long long)fx.params->count);
    expect_field(&fx, 48, (uint32_t)fx.params->count + 16, "parameter count", "parameters", want);
    expect_field(&fx, 48, 0, "no parameters", "says 0 parameters", want);
    expect_field(&fx, 44, 3, "tiny table", "tensor table 3 bytes", "expected");
    expect_field(&fx, 44, 0xffffffffu, "huge table", "tensor table 4294967295 bytes", "expected");
    expect_field(&fx, 12, 3, "unknown flag", "unknown flags 0x00000003", "training state");
    expect_field(&fx, 56, 0, "no state bytes", "training state 0 bytes", "expected 64");
    // a count too large for any file: refused before any allocation
    uint8_t *copy = malloc(fx.size);
    memcpy(copy, fx.bytes, fx.size);
    ck_put64(copy + 48, 1ull << 62);
    ck_reseal(copy, fx.size);
    CK_EXPECT_CRAFTED(&fx, copy, fx.size, "count 2^62", "parameters", want);
    free(copy);
    ck_fixture_free(&fx);
}

// A file of another layout (as an older build would have written): the
// first tensor that differs is named.
Test(checkpoint_damage, tensor_table_of_another_layout)
{
    ck_fixture fx;
    ck_fixture_new(&fx, ck_small_header(), true);
    uint8_t *copy = malloc(fx.size);
    cr_assert_not_null(copy);
    // tensor 0 "embed_w.weight" (14 bytes) 8 x 3 at 0; tensor 1 "embed_w.bias" follows at 64 + 4 + 14 + 16
    const size_t entry1 = 64 + 4 + 14 + 16;
    cr_assert_eq(ck_le32(fx.bytes + entry1), 12u);
    cr_assert_eq(memcmp(fx.bytes + entry1 + 4, "embed_w.bias", 12), 0);

    memcpy(copy, fx.bytes, fx.size);
    memcpy(copy + entry1 + 4, "embed_x.bias", 12);
    ck_reseal(copy, fx.size);
    CK_EXPECT_CRAFTED(&fx, copy, fx.size, "renamed", "tensor 1 is 'embed_x.bias'", "has 'embed_w.bias'",
                   "another layout");

    memcpy(copy, fx.bytes, fx.size);
    ck_put32(copy + 64 + 4 + 14, 4);   // embed_w.weight rows
    ck_reseal(copy, fx.size);
    CK_EXPECT_CRAFTED(&fx, copy, fx.size, "reshaped", "tensor 0 is 'embed_w.weight' of 4 x 3", "of 8 x 3");

    memcpy(copy, fx.bytes, fx.size);
    ck_put64(copy + entry1 + 4 + 12 + 8, 16);   // embed_w.bias's offset
    ck_reseal(copy, fx.size);
    CK_EXPECT_CRAFTED(&fx, copy, fx.size, "moved", "tensor 1 is 'embed_w.bias' of 8 x 1 at 16", "at 32");

    memcpy(copy, fx.bytes, fx.size);
    ck_put32(copy + 64, 13);   // a name one byte shorter: the rest of the table slides
    ck_reseal(copy, fx.size);
    CK_EXPECT_CRAFTED(&fx, copy, fx.size, "name length 13", "tensor 0 is 'embed_w.weigh'", "has 'embed_w.weight'");

    memcpy(copy, fx.bytes, fx.size);
    ck_put32(copy + 64, 0);
    ck_reseal(copy, fx.size);
    CK_EXPECT_CRAFTED(&fx, copy, fx.size, "empty name", "tensor 0 of the table has a name of 0 bytes", "1 to 63");

    memcpy(copy, fx.bytes, fx.size);
    ck_put32(copy + 64, 5000);
    ck_reseal(copy, fx.size);
    CK_EXPECT_CRAFTED(&fx, copy, fx.size, "long name", "a name of 5000 bytes", "1 to 63");

    memcpy(copy, fx.bytes, fx.size);
    copy[64 + 4 + 3] = 0;   // a NUL inside a name
    ck_reseal(copy, fx.size);
    CK_EXPECT_CRAFTED(&fx, copy, fx.size, "NUL in a name", "tensor 0 is 'emb'", "another layout");
    free(copy);
    ck_fixture_free(&fx);
}

// A table entry removed, the counts and the table size adjusted: an older
// layout with one tensor fewer.
Test(checkpoint_damage, layout_with_a_tensor_fewer)
{
    ck_fixture fx;
    ck_fixture_new(&fx, ck_small_header(), false);
    uint8_t *copy = malloc(fx.size);
    cr_assert_not_null(copy);
    const size_t entry1 = 64 + 4 + 14 + 16, entry1_bytes = 4 + 12 + 16;
    memcpy(copy, fx.bytes, entry1);
    memcpy(copy + entry1, fx.bytes + entry1 + entry1_bytes, fx.size - entry1 - entry1_bytes);
    const size_t size = fx.size - entry1_bytes;
    ck_put32(copy + 40, FM_LFACTORMER_TENSORS(2) - 1);
    ck_put32(copy + 44, ck_le32(fx.bytes + 44) - (uint32_t)entry1_bytes);
    ck_reseal(copy, size);
    CK_EXPECT_CRAFTED(&fx, copy, size, "a tensor fewer", "lists 49 tensors", "has 50");
    ck_put32(copy + 40, FM_LFACTORMER_TENSORS(2));
    ck_reseal(copy, size);
    CK_EXPECT_CRAFTED(&fx, copy, size, "a tensor fewer, count kept", "tensor 1 is 'embed_h.weight'",
                   "has 'embed_w.bias'");
    free(copy);
    ck_fixture_free(&fx);
}

// Set float element e of the block at `block` to x, ck_reseal, expect the words.
static void expect_value(ck_fixture *fx, size_t block, int64_t e, float x, const char *context, const char *word1,
                         const char *word2)
{
    uint8_t *copy = malloc(fx->size);
    cr_assert_not_null(copy);
    memcpy(copy, fx->bytes, fx->size);
    uint32_t bits;
    memcpy(&bits, &x, 4);
    ck_put32(copy + block + 4 * e, bits);
    ck_reseal(copy, fx->size);
    CK_EXPECT_CRAFTED(fx, copy, fx->size, context, word1, word2);
    free(copy);
}

static void expect_state_field(ck_fixture *fx, size_t at, double x, const char *context, const char *word)
{
    uint8_t *copy = malloc(fx->size);
    cr_assert_not_null(copy);
    memcpy(copy, fx->bytes, fx->size);
    uint64_t bits;
    memcpy(&bits, &x, 8);
    ck_put64(copy + fx->state_at + at, bits);
    ck_reseal(copy, fx->size);
    CK_EXPECT_CRAFTED(fx, copy, fx->size, context, word, "expected");
    free(copy);
}

Test(checkpoint_damage, non_finite_values_moments_and_state)
{
    ck_fixture fx;
    ck_fixture_new(&fx, ck_small_header(), true);
    const fm_params *p = fx.params;
    const int query = fm_params_find(p, "layer1.query.weight");
    cr_assert_geq(query, 0);
    expect_value(&fx, fx.values, 0, NAN, "NaN value", "the values hold nan at tensor 'embed_w.weight' element 0",
                 "expected finite values");
    expect_value(&fx, fx.values, p->offsets[query] + 5, INFINITY, "infinite value",
                 "the values hold inf at tensor 'layer1.query.weight' element 5", "finite");
    expect_value(&fx, fx.values, 24, -INFINITY, "infinite padding", "-inf at the padding after tensor 'embed_w.weight'",
                 "finite");
    expect_value(&fx, fx.m, p->count - 1, NAN, "NaN first moment", "first moments (m) hold nan", "out_h.bias");
    expect_value(&fx, fx.v, 3, INFINITY, "infinite second moment", "second moments (v) hold inf", "finite values >= 0");
    expect_value(&fx, fx.v, 3, -1e-3f, "negative second moment", "second moments (v) hold -0.001", ">= 0");
    expect_state_field(&fx, 48, NAN, "NaN learning rate", "learning rate is nan");
    expect_state_field(&fx, 48, -1, "negative learning rate", "learning rate is -1");
    expect_state_field(&fx, 48, INFINITY, "infinite learning rate", "learning rate is inf");
    expect_state_field(&fx, 56, NAN, "NaN best RMSE", "best validation RMSE is nan");
    expect_state_field(&fx, 56, -0.5, "negative best RMSE", "best validation RMSE is -0.5");
    ck_fixture_free(&fx);
}

// Before the first validation the best RMSE is infinite: that reads back.
Test(checkpoint_damage, infinite_best_rmse_is_a_fresh_run)
{
    ck_fixture fx;
    ck_fixture_new(&fx, ck_small_header(), false);
    char msg[FM_MSG_LEN];
    fm_train_state state = ck_make_state(), back_state;
    state.best_validation_rmse = INFINITY;
    state.best_epoch = 0;
    cr_assert_eq(fm_checkpoint_write(fx.path, &fx.header, fx.params, &state, msg), FM_OK, "%s", msg);
    fm_checkpoint_header h;
    fm_params *back = NULL;
    cr_assert_eq(fm_checkpoint_read(fx.path, &h, &back, &back_state, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(memcmp(&back_state, &state, sizeof state), 0);
    cr_assert(isinf(back_state.best_validation_rmse));
    fm_params_free(&back);
    ck_fixture_free(&fx);
}

