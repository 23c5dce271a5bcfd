// Model checkpoints (io/checkpoint): bit-exact round trips of a training
// state and of a shipped model, the byte layout the header documents, files
// that are not checkpoints (missing, a directory, empty, not a model,
// another version), a model other than the caller needs; writers that refuse
// bad input and leave nothing behind. Damaged and crafted files:
// tests/test_checkpoint_damage.c.
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

TestSuite(checkpoint, .init = fm_test_setup);

//------------------------------------------------------------------------------
// Round trips
//------------------------------------------------------------------------------

Test(checkpoint, training_round_trip_is_bit_exact)
{
    ck_fixture fx;
    ck_fixture_new(&fx, ck_small_header(), true);
    char msg[FM_MSG_LEN];
    fm_checkpoint_header h;
    memset(&h, 0x5a, sizeof h);
    fm_train_state s;
    memset(&s, 0x5a, sizeof s);
    fm_params *back = NULL;
    const fm_checkpoint_expect expect = {.kind = FM_MODEL_INIT, .rank = 3, .training = true};
    cr_assert_eq(fm_checkpoint_read(fx.path, &h, &back, &s, &expect, msg), FM_OK, "%s", msg);
    cr_assert_eq(h.version, FM_CHECKPOINT_VERSION);
    cr_assert_eq(h.flags, FM_CHECKPOINT_TRAINING);
    cr_assert_eq(h.kind, FM_MODEL_INIT);
    cr_assert(fm_lfactormer_same(&h.config, &fx.header.config), "the config differs");
    ck_expect_same_params(back, fx.params, true);
    cr_assert_eq(memcmp(&s, &fx.state, sizeof s), 0, "the training state differs");
    cr_assert_eq(fx.size, fx.state_at + FM_TRAIN_STATE_BYTES + 4);
    fm_params_free(&back);
    ck_fixture_free(&fx);
}

Test(checkpoint, model_round_trip_without_training_state)
{
    ck_fixture fx;
    ck_fixture_new(&fx, ck_small_header(), false);
    char msg[FM_MSG_LEN];
    fm_checkpoint_header h = {0};
    fm_train_state s;
    memset(&s, 0x5a, sizeof s);
    fm_params *back = NULL;
    cr_assert_eq(fm_checkpoint_read(fx.path, &h, &back, &s, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(h.version, FM_CHECKPOINT_VERSION);
    cr_assert_eq(h.flags, 0u);
    cr_assert_eq(h.kind, FM_MODEL_INIT);
    cr_assert(fm_lfactormer_same(&h.config, &fx.header.config));
    ck_expect_same_params(back, fx.params, false);
    const fm_train_state fresh = {.best_validation_rmse = INFINITY};
    cr_assert_eq(memcmp(&s, &fresh, sizeof s), 0, "a model's state reads as fresh");
    cr_assert_eq(fx.size, fx.m + 4, "values, then the checksum");
    fm_params_free(&back);
    ck_fixture_free(&fx);
}

// An acceleration model (inputs 2k), a model without layers, and a training
// file read without asking for its state: the moments still load.
Test(checkpoint, other_shapes_round_trip)
{
    const fm_checkpoint_header headers[3] = {
        ck_make_header(FM_MODEL_ACCEL, 3, 8, 2, 2), ck_make_header(FM_MODEL_INIT, 4, 4, 4, 0),
        ck_make_header(FM_MODEL_ACCEL, 2, 6, 3, 3)};
    for (int i = 0; i < 3; i++) {
        ck_fixture fx;
        ck_fixture_new(&fx, headers[i], true);
        char msg[FM_MSG_LEN];
        fm_checkpoint_header h = {0};
        fm_params *back = NULL;
        cr_assert_eq(fm_checkpoint_read(fx.path, &h, &back, NULL, NULL, msg), FM_OK, "%s", msg);
        cr_assert_eq(h.kind, headers[i].kind);
        cr_assert(fm_lfactormer_same(&h.config, &headers[i].config), "header %d", i);
        ck_expect_same_params(back, fx.params, true);
        fm_params_free(&back);
        ck_fixture_free(&fx);
    }
}

// A model of any rank (§5.1), written from a config at rank 5, is read back
// as its template (rank 0, minus 1 with the gathered term, minus 2 pooled,
// minus 4 residual, minus 8 times the rank it was trained to; 2 channels as
// the inputs) and serves any rank. A file from before the trained rank was
// recorded (its 0) reads back as not recorded.
static void check_template(bool gathered, bool pooled, bool residual, int trained)
{
    const fm_checkpoint_header at5 = {
        .kind = FM_MODEL_ACCEL,
        .config = {.inputs = 10, .rank = 5, .width = 8, .heads = 2, .layers = 2, .components = true,
                   .gathered = gathered, .pooled = pooled, .residual = residual, .trained_rank = trained}};
    ck_fixture fx;
    ck_fixture_new(&fx, at5, true);
    char msg[FM_MSG_LEN];
    int32_t shape[2];
    memcpy(shape, fx.bytes + 20, sizeof shape);
    cr_expect(shape[0] == 2 && shape[1] == -(int)gathered - 2 * (int)pooled - 4 * (int)residual - 8 * trained,
              "the file's inputs and rank are %d and %d", shape[0], shape[1]);
    const fm_checkpoint_expect rank7 = {.kind = FM_MODEL_ACCEL, .rank = 7, .training = true};
    fm_checkpoint_header h = {0};
    fm_params *back = NULL;
    cr_assert_eq(fm_checkpoint_read(fx.path, &h, &back, NULL, &rank7, msg), FM_OK, "%s", msg);
    const fm_lfactormer_config template = {.inputs = 2, .rank = 0, .width = 8, .heads = 2, .layers = 2,
                                           .components = true, .gathered = gathered, .pooled = pooled,
                                           .residual = residual};
    cr_expect(fm_lfactormer_same(&h.config, &template),
              "read back: inputs %d, rank %d, components %d, gathered %d, pooled %d, residual %d", h.config.inputs,
              h.config.rank, h.config.components, h.config.gathered, h.config.pooled, h.config.residual);
    cr_expect_eq(h.config.trained_rank, trained);
    const fm_lfactormer_config at7 = fm_lfactormer_at_rank(&h.config, 7);
    cr_expect(at7.inputs == 14 && at7.rank == 7 && at7.components && at7.gathered == gathered && at7.pooled == pooled &&
              at7.residual == residual);
    ck_expect_same_params(back, fx.params, true);
    fm_params_free(&back);
    ck_fixture_free(&fx);
}

Test(checkpoint, a_model_of_any_rank_is_written_as_its_template)
{
    const int trained[] = {0, 1, 32, FM_MAX_RANK};
    for (int form = 0; form < 8; form++)
        for (int t = 0; t < 4; t++)
            if (!(form & 4) || (form & 2)) check_template(form & 1, form & 2, form & 4, trained[t]);   // residual only pooled
}

// A trained rank beyond FM_MAX_RANK, or given to a model of one rank (whose
// rank is the one it trained at), is refused before a file is written; a
// file whose rank field says more is a parse error.
Test(checkpoint, a_trained_rank_out_of_range_is_refused)
{
    fm_checkpoint_header one = ck_make_header(FM_MODEL_INIT, 3, 8, 2, 2);
    ck_fixture fx;
    ck_fixture_new(&fx, one, false);
    char msg[FM_MSG_LEN], path[600];
    snprintf(path, sizeof path, "%s/refused.fmw", fx.dir);
    one.config.trained_rank = 3;
    cr_expect_eq(fm_checkpoint_write(path, &one, fx.params, NULL, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "trained to rank 3"), "%s", msg);
    fm_checkpoint_header any = {.kind = FM_MODEL_INIT,
                                .config = {.inputs = 1, .width = 8, .heads = 2, .layers = 0, .components = true,
                                           .trained_rank = FM_MAX_RANK + 1}};
    cr_expect_eq(fm_checkpoint_write(path, &any, fx.params, NULL, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "trained to rank"), "%s", msg);
    cr_expect(access(path, F_OK) != 0, "nothing is written");
    uint8_t *bytes = malloc(fx.size);
    cr_assert(bytes);
    memcpy(bytes, fx.bytes, fx.size);
    ck_put32(bytes + 24, (uint32_t)(-8 * (FM_MAX_RANK + 1)));
    ck_reseal(bytes, fx.size);
    CK_EXPECT_CRAFTED(&fx, bytes, fx.size, "a rank field beyond any recorded trained rank", "rank");
    free(bytes);
    ck_fixture_free(&fx);
}

Test(checkpoint, byte_layout_is_as_documented)
{
    ck_fixture fx;
    ck_fixture_new(&fx, ck_make_header(FM_MODEL_ACCEL, 3, 8, 2, 2), true);
    const uint8_t *b = fx.bytes;
    const fm_params *p = fx.params;
    cr_assert_eq(memcmp(b, "FMW1\r\n\032\n", 8), 0);
    cr_assert_eq(ck_le32(b + 8), 1u, "version");
    cr_assert_eq(ck_le32(b + 12), FM_CHECKPOINT_TRAINING, "flags");
    cr_assert_eq(ck_le32(b + 16), 2u, "kind: acceleration");
    const uint32_t config[5] = {6, 3, 8, 2, 2};
    for (int i = 0; i < 5; i++) cr_assert_eq(ck_le32(b + 20 + 4 * i), config[i], "config field %d", i);
    cr_assert_eq(ck_le32(b + 40), (uint32_t)FM_LFACTORMER_TENSORS(2));
    cr_assert_eq(ck_le64(b + 48), (uint64_t)p->count);
    cr_assert_eq(ck_le32(b + 56), (uint32_t)FM_TRAIN_STATE_BYTES);
    cr_assert_eq(ck_le32(b + 60), (uint32_t)crc32(0, b, 60), "the header's checksum");
    // the table: each tensor's name, shape and offset
    size_t at = 64;
    for (int t = 0; t < p->tensors; t++) {
        const size_t n = strlen(p->specs[t].name);
        cr_assert_eq(ck_le32(b + at), (uint32_t)n, "tensor %d", t);
        cr_assert_eq(memcmp(b + at + 4, p->specs[t].name, n), 0, "tensor %d", t);
        at += 4 + n;
        cr_assert_eq(ck_le32(b + at), (uint32_t)p->specs[t].rows, "tensor %d", t);
        cr_assert_eq(ck_le32(b + at + 4), (uint32_t)p->specs[t].cols, "tensor %d", t);
        cr_assert_eq(ck_le64(b + at + 8), (uint64_t)p->offsets[t], "tensor %d", t);
        at += 16;
    }
    cr_assert_eq(at, fx.values, "the table's size in the header");
    cr_assert_str_eq(p->specs[0].name, "embed_w.weight");
    cr_assert_eq(ck_le32(b + 68 + 14), 8u, "embed_w.weight has d = 8 rows");
    cr_assert_eq(ck_le32(b + 72 + 14), 6u, "and k_in = 6 columns");
    // the blocks, float32 little-endian
    const struct { size_t at; const float *block; } blocks[3] = {{fx.values, p->values}, {fx.m, p->m}, {fx.v, p->v}};
    for (int k = 0; k < 3; k++)
        for (int64_t e = 0; e < p->count; e += 37) {
            uint32_t bits;
            memcpy(&bits, &blocks[k].block[e], 4);
            cr_assert_eq(ck_le32(b + blocks[k].at + 4 * e), bits, "block %d element %lld", k, (long long)e);
        }
    // the state, then the checksum of everything before it
    const uint8_t *s = b + fx.state_at;
    cr_assert_eq(ck_le64(s), fx.state.epoch);
    cr_assert_eq(ck_le64(s + 8), fx.state.step);
    cr_assert_eq(ck_le64(s + 16), fx.state.seed);
    cr_assert_eq(ck_le64(s + 24), fx.state.rng_counter);
    cr_assert_eq(ck_le64(s + 32), fx.state.curriculum_steps);
    cr_assert_eq(ck_le64(s + 40), fx.state.best_epoch);
    double rate, best;
    uint64_t bits = ck_le64(s + 48);
    memcpy(&rate, &bits, 8);
    bits = ck_le64(s + 56);
    memcpy(&best, &bits, 8);
    cr_assert_eq(rate, fx.state.learning_rate);
    cr_assert_eq(best, fx.state.best_validation_rmse);
    cr_assert_eq(fx.size, fx.state_at + 64 + 4);
    cr_assert_eq(ck_le32(b + fx.size - 4), (uint32_t)crc32(0, b, (uInt)(fx.size - 4)), "the file's checksum");
    ck_fixture_free(&fx);
}

Test(checkpoint, writer_replaces_an_old_file_and_leaves_one)
{
    ck_fixture fx;
    ck_fixture_new(&fx, ck_small_header(), true);
    char msg[FM_MSG_LEN];
    fm_params *other = ck_make_params(&fx.header, 7);
    cr_assert_eq(fm_checkpoint_write(fx.path, &fx.header, other, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_test_count_files(fx.dir), 1);
    fm_checkpoint_header h;
    fm_params *back = NULL;
    cr_assert_eq(fm_checkpoint_read(fx.path, &h, &back, NULL, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(h.flags, 0u);
    ck_expect_same_params(back, other, false);
    fm_params_free(&back);
    fm_params_free(&other);
    ck_fixture_free(&fx);
}

//------------------------------------------------------------------------------
// Files that are not checkpoints
//------------------------------------------------------------------------------

Test(checkpoint, missing_file_directory_and_empty_file)
{
    const char *dir = fm_test_tmpdir();
    char saved[256];
    snprintf(saved, sizeof saved, "%s", dir);
    const char *missing = fm_test_path(saved, "missing.fmw");
    CK_EXPECT_FAILURE(missing, NULL, FM_ERR_IO, "missing", "cannot open", "No such file");
    CK_EXPECT_FAILURE(saved, NULL, FM_ERR_IO, "directory", "is a directory", "expected a factormer model file");
    const char *empty = fm_test_path(saved, "empty.fmw");
    fm_test_write(empty, "");
    CK_EXPECT_FAILURE(empty, NULL, FM_ERR_PARSE, "empty", "empty file", "expected a factormer model file");
    fm_test_remove_dir(saved);
}

Test(checkpoint, wrong_magic)
{
    const char *dir = fm_test_tmpdir();
    char saved[256];
    snprintf(saved, sizeof saved, "%s", dir);
    const char *texts[] = {"%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n4\n", "G", "FMW2\r\n\032\n",
                           "FMW1\n\032\n"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        const char *path = fm_test_path(saved, "other.fmw");
        fm_test_write(path, texts[i]);
        CK_EXPECT_FAILURE(path, NULL, FM_ERR_PARSE, texts[i], "not a factormer model file", "magic");
    }
    fm_test_remove_dir(saved);
}

Test(checkpoint, unsupported_version)
{
    ck_fixture fx;
    ck_fixture_new(&fx, ck_small_header(), false);
    ck_put32(fx.bytes + 8, 2);
    ck_reseal(fx.bytes, fx.size);
    CK_EXPECT_CRAFTED(&fx, fx.bytes, fx.size, "version 2", "unsupported checkpoint version 2",
                   "this build reads version 1");
    ck_put32(fx.bytes + 8, 0);
    ck_reseal(fx.bytes, fx.size);
    CK_EXPECT_CRAFTED(&fx, fx.bytes, fx.size, "version 0", "unsupported checkpoint version 0");
    ck_fixture_free(&fx);
}

//------------------------------------------------------------------------------
// A model other than the caller needs
//------------------------------------------------------------------------------

Test(checkpoint, expectations)
{
    ck_fixture fx;
    ck_fixture_new(&fx, ck_make_header(FM_MODEL_INIT, 8, 8, 2, 0), false);
    const fm_checkpoint_expect rank10 = {.kind = FM_MODEL_INIT, .rank = 10};
    CK_EXPECT_FAILURE(fx.path, &rank10, FM_ERR_INVALID, "rank 10",
                   "a rank-8 initialization model, but --rank 10 needs a rank-10 model or one of any rank; "
                   "train one with: factormer train --model init --any-rank --out MODEL.fmw");
    const fm_checkpoint_expect any_kind_rank10 = {.rank = 10};
    CK_EXPECT_FAILURE(fx.path, &any_kind_rank10, FM_ERR_INVALID, "any kind, rank 10", "a rank-8", "--rank 10");
    const fm_checkpoint_expect accel = {.kind = FM_MODEL_ACCEL, .rank = 8};
    CK_EXPECT_FAILURE(fx.path, &accel, FM_ERR_INVALID, "acceleration",
                   "an initialization model, but an acceleration model is needed; "
                   "train one with: factormer train --model accel --any-rank --out MODEL.fmw");
    const fm_checkpoint_expect resume = {.kind = FM_MODEL_INIT, .rank = 8, .training = true};
    CK_EXPECT_FAILURE(fx.path, &resume, FM_ERR_INVALID, "resume", "a model without training state",
                   "resuming a run needs a training checkpoint");
    // what matches reads
    char msg[FM_MSG_LEN];
    const fm_checkpoint_expect ok[3] = {{.kind = FM_MODEL_INIT, .rank = 8}, {.rank = 8}, {0}};
    for (int i = 0; i < 3; i++) {
        fm_checkpoint_header h;
        fm_params *back = NULL;
        cr_assert_eq(fm_checkpoint_read(fx.path, &h, &back, NULL, &ok[i], msg), FM_OK, "expectation %d: %s", i, msg);
        ck_expect_same_params(back, fx.params, false);
        fm_params_free(&back);
    }
    ck_fixture_free(&fx);
}

//------------------------------------------------------------------------------
// Writers
//------------------------------------------------------------------------------

Test(checkpoint, writer_into_missing_directory_leaves_nothing)
{
    char msg[FM_MSG_LEN] = "";
    char dir[256], missing[512];
    snprintf(dir, sizeof dir, "%s", fm_test_tmpdir());
    snprintf(missing, sizeof missing, "%s/no/such/dir/model.fmw", dir);
    const fm_checkpoint_header h = ck_small_header();
    fm_params *p = ck_make_params(&h, 3);
    const fm_train_state s = ck_make_state();
    cr_assert_eq(fm_checkpoint_write(missing, &h, p, &s, msg), FM_ERR_IO, "%s", msg);
    cr_assert_not_null(strstr(msg, missing), "%s", msg);
    cr_assert_eq(fm_test_count_files(dir), 0);
    fm_params_free(&p);
    fm_test_remove_dir(dir);
}

// Refused writes name the file and what was wrong, and write nothing.
static void expect_write_failure(const fm_checkpoint_header *h, const fm_params *p, const fm_train_state *s, int code,
                                 const char *context, const char *word)
{
    char msg[FM_MSG_LEN] = "", dir[256];
    snprintf(dir, sizeof dir, "%s", fm_test_tmpdir());
    const char *path = fm_test_path(dir, "model.fmw");
    cr_assert_eq(fm_checkpoint_write(path, h, p, s, msg), code, "%s: %s", context, msg);
    cr_assert_not_null(strstr(msg, path), "%s: the message does not name the file: %s", context, msg);
    cr_assert_not_null(strstr(msg, word), "%s: the message lacks \"%s\": %s", context, word, msg);
    cr_assert_eq(fm_test_count_files(dir), 0, "%s: a refused write left a file", context);
    fm_test_remove_dir(dir);
}

Test(checkpoint, writer_refuses_bad_input)
{
    const fm_checkpoint_header h = ck_small_header();
    fm_params *p = ck_make_params(&h, 5);
    fm_train_state s = ck_make_state();

    fm_checkpoint_header other = ck_make_header(FM_MODEL_INIT, 4, 8, 2, 2);
    // the same count (padding absorbs the rank), another shape
    expect_write_failure(&other, p, &s, FM_ERR_INVALID, "another rank", "has 'embed_w.weight' (8 x 4 at 0)");
    other = ck_make_header(FM_MODEL_ACCEL, 3, 8, 2, 2);
    expect_write_failure(&other, p, &s, FM_ERR_INVALID, "another kind", "tensors of");
    other = h;
    other.kind = (fm_model_kind)7;
    expect_write_failure(&other, p, &s, FM_ERR_INVALID, "unknown kind", "model kind 7");
    other = h;
    other.config.heads = 3;
    expect_write_failure(&other, p, &s, FM_ERR_INVALID, "3 heads", "do not divide");
    other = h;
    other.config.inputs = 6;
    expect_write_failure(&other, p, &s, FM_ERR_INVALID, "inputs of another kind", "reads 3 inputs");

    p->values[9] = NAN;
    expect_write_failure(&h, p, NULL, FM_ERR_NUMERIC, "NaN value", "values hold nan");
    p->values[9] = 0;
    p->v[2] = -1;
    expect_write_failure(&h, p, &s, FM_ERR_NUMERIC, "negative v", "second moments (v) hold -1");
    p->v[2] = 0;
    s.learning_rate = NAN;
    expect_write_failure(&h, p, &s, FM_ERR_INVALID, "NaN rate", "learning rate is nan");

    // a model without state writes whatever its moments hold
    p->m[0] = NAN;
    char msg[FM_MSG_LEN], dir[256];
    snprintf(dir, sizeof dir, "%s", fm_test_tmpdir());
    cr_assert_eq(fm_checkpoint_write(fm_test_path(dir, "m.fmw"), &h, p, NULL, msg), FM_OK, "%s", msg);
    fm_test_remove_dir(dir);
    fm_params_free(&p);
}

Test(checkpoint, bad_arguments)
{
    char msg[FM_MSG_LEN];
    const fm_checkpoint_header h = ck_small_header();
    fm_params *p = ck_make_params(&h, 1), *held = ck_make_params(&h, 2);
    fm_checkpoint_header back;
    cr_assert_eq(fm_checkpoint_write(NULL, &h, p, NULL, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_checkpoint_write("", &h, p, NULL, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_checkpoint_write("x.fmw", NULL, p, NULL, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_checkpoint_write("x.fmw", &h, NULL, NULL, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_checkpoint_read(NULL, &back, &p, NULL, NULL, msg), FM_ERR_INVALID);
    fm_params *none = NULL;
    cr_assert_eq(fm_checkpoint_read("x.fmw", NULL, &none, NULL, NULL, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_checkpoint_read("x.fmw", &back, NULL, NULL, NULL, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_checkpoint_read("x.fmw", &back, &held, NULL, NULL, msg), FM_ERR_INVALID);
    cr_assert_not_null(strstr(msg, "empty parameter handle"), "%s", msg);
    cr_assert_not_null(held, "a held handle is left alone");
    cr_assert_eq(access("x.fmw", F_OK), -1, "nothing was written");
    fm_params_free(&p);
    fm_params_free(&held);
}

Test(checkpoint, kind_names)
{
    cr_assert_str_eq(fm_model_kind_name(FM_MODEL_INIT), "initialization");
    cr_assert_str_eq(fm_model_kind_name(FM_MODEL_ACCEL), "acceleration");
    cr_assert_str_eq(fm_model_kind_name((fm_model_kind)0), "unknown");
    cr_assert_eq(fm_model_kind_inputs(FM_MODEL_INIT, 5), 5);
    cr_assert_eq(fm_model_kind_inputs(FM_MODEL_ACCEL, 5), 10);
    cr_assert_eq(fm_model_kind_inputs((fm_model_kind)3, 5), 0);
}
