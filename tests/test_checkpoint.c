// Model checkpoints (io/checkpoint): bit-exact round trips of a training
// state and of a shipped model, the byte layout the header documents, and
// every kind of bad file: missing, a directory, empty, not a model, another
// version, truncated at every offset, a byte flipped at every offset, another
// layout, hyperparameters out of range, NaN and infinity, a model other than
// the caller needs; writers that refuse bad input and leave nothing behind.
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

TestSuite(checkpoint, .init = fm_test_setup);

//------------------------------------------------------------------------------
// Fixtures
//------------------------------------------------------------------------------


static fm_checkpoint_header make_header(fm_model_kind kind, int rank, int width, int heads, int layers)
{
    return (fm_checkpoint_header){
        .kind = kind,
        .config = {.inputs = kind == FM_MODEL_ACCEL ? 2 * rank : rank, .rank = rank, .width = width,
                   .heads = heads, .layers = layers},
    };
}

// The small model of the issue: width 8, heads 2, layers 2, rank 3.
static fm_checkpoint_header small_header(void) { return make_header(FM_MODEL_INIT, 3, 8, 2, 2); }
// A tiny one, so that every offset of its file can be truncated and flipped.
static fm_checkpoint_header tiny_header(void) { return make_header(FM_MODEL_INIT, 1, 2, 1, 1); }

// Parameters laid out for the header, initialized, with moments and nonzero
// gradients that differ everywhere (m signed, v nonnegative), so that a
// swapped or dropped block shows.
static fm_params *make_params(const fm_checkpoint_header *h, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    fm_params *p = NULL;
    cr_assert_eq(fm_lfactormer_params_new(&p, &h->config, msg), FM_OK, "%s", msg);
    fm_params_init(p, seed);
    float *m = fm_test_uniform(p->count, seed + 1), *v = fm_test_uniform(p->count, seed + 2),
          *g = fm_test_uniform(p->count, seed + 3);
    for (int64_t e = 0; e < p->count; e++) {
        p->m[e] = m[e] - 0.5f;
        p->v[e] = v[e] * 1e-3f;
        p->grads[e] = g[e];
    }
    free(m);
    free(v);
    free(g);
    return p;
}

static fm_train_state make_state(void)
{
    return (fm_train_state){
        .epoch = 7,
        .step = 12345,
        .seed = 0xdeadbeefcafef00dull,
        .rng_counter = (1ull << 40) + 3,
        .curriculum_steps = 5,
        .best_epoch = 6,
        .learning_rate = 3e-4,
        .best_validation_rmse = 0.0123456789,
    };
}

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *bytes = malloc(n > 0 ? (size_t)n : 1);
    cr_assert_not_null(bytes);
    cr_assert_eq(fread(bytes, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return bytes;
}

// A new file each time: truncating one in place would make some file systems
// flush it on close (ext4's auto_da_alloc), which is slow over thousands.
static void spit(const char *path, const uint8_t *bytes, size_t size)
{
    unlink(path);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fwrite(bytes, 1, size, f), size);
    cr_assert_eq(fclose(f), 0);
}

static uint32_t le32(const uint8_t *b) { return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24; }
static uint64_t le64(const uint8_t *b) { return le32(b) | (uint64_t)le32(b + 4) << 32; }
static void put32(uint8_t *b, uint32_t x)
{
    for (int i = 0; i < 4; i++) b[i] = (uint8_t)(x >> 8 * i);
}
static void put64(uint8_t *b, uint64_t x)
{
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(x >> 8 * i);
}

// Recompute both checksums after an edit, so that the reader gets past them.
static void reseal(uint8_t *b, size_t size)
{
    put32(b + 60, (uint32_t)crc32(0, b, 60));
    put32(b + size - 4, (uint32_t)crc32(0, b, (uInt)(size - 4)));
}

// A checkpoint written to a fresh directory, its bytes, and where its parts start.
typedef struct fixture {
    char dir[256], path[512];
    fm_checkpoint_header header;
    fm_params *params;
    fm_train_state state;
    uint8_t *bytes;
    size_t size;
    size_t table, values, m, v, state_at;   // offsets of the parts
} fixture;

static void fixture_new(fixture *fx, fm_checkpoint_header header, bool training)
{
    char msg[FM_MSG_LEN];
    memset(fx, 0, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "%s", fm_test_tmpdir());
    snprintf(fx->path, sizeof fx->path, "%s/model.fmw", fx->dir);
    fx->header = header;
    fx->params = make_params(&header, 42);
    fx->state = make_state();
    int status = fm_checkpoint_write(fx->path, &fx->header, fx->params, training ? &fx->state : NULL, msg);
    cr_assert_eq(status, FM_OK, "%s", msg);
    fx->bytes = slurp(fx->path, &fx->size);
    fx->table = 64;
    fx->values = 64 + le32(fx->bytes + 44);
    fx->m = fx->values + 4 * (size_t)fx->params->count;
    fx->v = fx->m + 4 * (size_t)fx->params->count;
    fx->state_at = fx->v + 4 * (size_t)fx->params->count;
}

static void fixture_free(fixture *fx)
{
    fm_params_free(&fx->params);
    free(fx->bytes);
    fm_test_remove_dir(fx->dir);
}

// Read `path` with `expect`; the status must be `code`, the message must name
// the file and hold each of the NULL-terminated words, and no output may be
// touched.
static void expect_failure(const char *path, const fm_checkpoint_expect *expect, int code, const char *context, ...)
{
    char msg[FM_MSG_LEN] = "";
    fm_checkpoint_header h, untouched;
    memset(&h, 0x5a, sizeof h);
    untouched = h;
    fm_train_state s, fresh;
    memset(&s, 0x5a, sizeof s);
    fresh = s;
    fm_params *p = NULL;
    int status = fm_checkpoint_read(path, &h, &p, &s, expect, msg);
    cr_assert_eq(status, code, "%s: expected status %d, got %d: %s", context, code, status, msg);
    cr_assert_null(p, "%s: the parameters must stay NULL on failure", context);
    cr_assert_eq(memcmp(&h, &untouched, sizeof h), 0, "%s: the header must be untouched on failure", context);
    cr_assert_eq(memcmp(&s, &fresh, sizeof s), 0, "%s: the state must be untouched on failure", context);
    cr_assert_not_null(strstr(msg, path), "%s: the message does not name the file: %s", context, msg);
    va_list words;
    va_start(words, context);
    for (const char *word; (word = va_arg(words, const char *));)
        cr_assert_not_null(strstr(msg, word), "%s: the message lacks \"%s\": %s", context, word, msg);
    va_end(words);
}

#define EXPECT_FAILURE(path, expect, code, context, ...) \
    expect_failure((path), (expect), (code), (context), __VA_ARGS__, NULL)

// Write `bytes` over the fixture's file and expect a parse error holding the words.
#define EXPECT_CRAFTED(fx, bytes, size, context, ...)                                   \
    do {                                                                                \
        spit((fx)->path, (bytes), (size));                                              \
        EXPECT_FAILURE((fx)->path, NULL, FM_ERR_PARSE, (context), __VA_ARGS__);         \
    } while (0)

static void expect_same_params(const fm_params *back, const fm_params *p, bool moments)
{
    cr_assert_eq(back->count, p->count);
    cr_assert_eq(back->tensors, p->tensors);
    for (int t = 0; t < p->tensors; t++) {
        cr_assert_str_eq(back->specs[t].name, p->specs[t].name);
        cr_assert_eq(back->specs[t].rows, p->specs[t].rows, "tensor %s", p->specs[t].name);
        cr_assert_eq(back->specs[t].cols, p->specs[t].cols, "tensor %s", p->specs[t].name);
        cr_assert_eq(back->offsets[t], p->offsets[t], "tensor %s", p->specs[t].name);
    }
    const size_t bytes = sizeof(float) * (size_t)p->count;
    cr_assert_eq(memcmp(back->values, p->values, bytes), 0, "the values differ");
    for (int64_t e = 0; e < p->count; e++) cr_assert_eq(back->grads[e], 0.0f, "gradient %lld is not zero", (long long)e);
    if (moments) {
        cr_assert_eq(memcmp(back->m, p->m, bytes), 0, "the first moments differ");
        cr_assert_eq(memcmp(back->v, p->v, bytes), 0, "the second moments differ");
    } else {
        for (int64_t e = 0; e < p->count; e++) {
            cr_assert_eq(back->m[e], 0.0f, "m[%lld] is not zero", (long long)e);
            cr_assert_eq(back->v[e], 0.0f, "v[%lld] is not zero", (long long)e);
        }
    }
}

//------------------------------------------------------------------------------
// Round trips
//------------------------------------------------------------------------------

Test(checkpoint, training_round_trip_is_bit_exact)
{
    fixture fx;
    fixture_new(&fx, small_header(), true);
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
    expect_same_params(back, fx.params, true);
    cr_assert_eq(memcmp(&s, &fx.state, sizeof s), 0, "the training state differs");
    cr_assert_eq(fx.size, fx.state_at + FM_TRAIN_STATE_BYTES + 4);
    fm_params_free(&back);
    fixture_free(&fx);
}

Test(checkpoint, model_round_trip_without_training_state)
{
    fixture fx;
    fixture_new(&fx, small_header(), false);
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
    expect_same_params(back, fx.params, false);
    const fm_train_state fresh = {.best_validation_rmse = INFINITY};
    cr_assert_eq(memcmp(&s, &fresh, sizeof s), 0, "a model's state reads as fresh");
    cr_assert_eq(fx.size, fx.m + 4, "values, then the checksum");
    fm_params_free(&back);
    fixture_free(&fx);
}

// An acceleration model (inputs 2k), a model without layers, and a training
// file read without asking for its state: the moments still load.
Test(checkpoint, other_shapes_round_trip)
{
    const fm_checkpoint_header headers[3] = {
        make_header(FM_MODEL_ACCEL, 3, 8, 2, 2), make_header(FM_MODEL_INIT, 4, 4, 4, 0),
        make_header(FM_MODEL_ACCEL, 2, 6, 3, 3)};
    for (int i = 0; i < 3; i++) {
        fixture fx;
        fixture_new(&fx, headers[i], true);
        char msg[FM_MSG_LEN];
        fm_checkpoint_header h = {0};
        fm_params *back = NULL;
        cr_assert_eq(fm_checkpoint_read(fx.path, &h, &back, NULL, NULL, msg), FM_OK, "%s", msg);
        cr_assert_eq(h.kind, headers[i].kind);
        cr_assert(fm_lfactormer_same(&h.config, &headers[i].config), "header %d", i);
        expect_same_params(back, fx.params, true);
        fm_params_free(&back);
        fixture_free(&fx);
    }
}

// A model of any rank (§5.1), written from a config at rank 5, is read back
// as its template (rank 0, minus 1 with the gathered term, minus 2 pooled,
// minus 4 residual; 2 channels as the inputs) and serves any rank.
static void check_template(bool gathered, bool pooled, bool residual)
{
    const fm_checkpoint_header at5 = {
        .kind = FM_MODEL_ACCEL,
        .config = {.inputs = 10, .rank = 5, .width = 8, .heads = 2, .layers = 2, .components = true,
                   .gathered = gathered, .pooled = pooled, .residual = residual}};
    fixture fx;
    fixture_new(&fx, at5, true);
    char msg[FM_MSG_LEN];
    int32_t shape[2];
    memcpy(shape, fx.bytes + 20, sizeof shape);
    cr_expect(shape[0] == 2 && shape[1] == -(int)gathered - 2 * (int)pooled - 4 * (int)residual, "the file's inputs and rank are %d and %d",
              shape[0], shape[1]);
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
    const fm_lfactormer_config at7 = fm_lfactormer_at_rank(&h.config, 7);
    cr_expect(at7.inputs == 14 && at7.rank == 7 && at7.components && at7.gathered == gathered && at7.pooled == pooled &&
              at7.residual == residual);
    expect_same_params(back, fx.params, true);
    fm_params_free(&back);
    fixture_free(&fx);
}

Test(checkpoint, a_model_of_any_rank_is_written_as_its_template)
{
    for (int form = 0; form < 8; form++)
        if (!(form & 4) || (form & 2)) check_template(form & 1, form & 2, form & 4);   // residual only pooled
}

Test(checkpoint, byte_layout_is_as_documented)
{
    fixture fx;
    fixture_new(&fx, make_header(FM_MODEL_ACCEL, 3, 8, 2, 2), true);
    const uint8_t *b = fx.bytes;
    const fm_params *p = fx.params;
    cr_assert_eq(memcmp(b, "FMW1\r\n\032\n", 8), 0);
    cr_assert_eq(le32(b + 8), 1u, "version");
    cr_assert_eq(le32(b + 12), FM_CHECKPOINT_TRAINING, "flags");
    cr_assert_eq(le32(b + 16), 2u, "kind: acceleration");
    const uint32_t config[5] = {6, 3, 8, 2, 2};
    for (int i = 0; i < 5; i++) cr_assert_eq(le32(b + 20 + 4 * i), config[i], "config field %d", i);
    cr_assert_eq(le32(b + 40), (uint32_t)FM_LFACTORMER_TENSORS(2));
    cr_assert_eq(le64(b + 48), (uint64_t)p->count);
    cr_assert_eq(le32(b + 56), (uint32_t)FM_TRAIN_STATE_BYTES);
    cr_assert_eq(le32(b + 60), (uint32_t)crc32(0, b, 60), "the header's checksum");
    // the table: each tensor's name, shape and offset
    size_t at = 64;
    for (int t = 0; t < p->tensors; t++) {
        const size_t n = strlen(p->specs[t].name);
        cr_assert_eq(le32(b + at), (uint32_t)n, "tensor %d", t);
        cr_assert_eq(memcmp(b + at + 4, p->specs[t].name, n), 0, "tensor %d", t);
        at += 4 + n;
        cr_assert_eq(le32(b + at), (uint32_t)p->specs[t].rows, "tensor %d", t);
        cr_assert_eq(le32(b + at + 4), (uint32_t)p->specs[t].cols, "tensor %d", t);
        cr_assert_eq(le64(b + at + 8), (uint64_t)p->offsets[t], "tensor %d", t);
        at += 16;
    }
    cr_assert_eq(at, fx.values, "the table's size in the header");
    cr_assert_str_eq(p->specs[0].name, "embed_w.weight");
    cr_assert_eq(le32(b + 68 + 14), 8u, "embed_w.weight has d = 8 rows");
    cr_assert_eq(le32(b + 72 + 14), 6u, "and k_in = 6 columns");
    // the blocks, float32 little-endian
    const struct { size_t at; const float *block; } blocks[3] = {{fx.values, p->values}, {fx.m, p->m}, {fx.v, p->v}};
    for (int k = 0; k < 3; k++)
        for (int64_t e = 0; e < p->count; e += 37) {
            uint32_t bits;
            memcpy(&bits, &blocks[k].block[e], 4);
            cr_assert_eq(le32(b + blocks[k].at + 4 * e), bits, "block %d element %lld", k, (long long)e);
        }
    // the state, then the checksum of everything before it
    const uint8_t *s = b + fx.state_at;
    cr_assert_eq(le64(s), fx.state.epoch);
    cr_assert_eq(le64(s + 8), fx.state.step);
    cr_assert_eq(le64(s + 16), fx.state.seed);
    cr_assert_eq(le64(s + 24), fx.state.rng_counter);
    cr_assert_eq(le64(s + 32), fx.state.curriculum_steps);
    cr_assert_eq(le64(s + 40), fx.state.best_epoch);
    double rate, best;
    uint64_t bits = le64(s + 48);
    memcpy(&rate, &bits, 8);
    bits = le64(s + 56);
    memcpy(&best, &bits, 8);
    cr_assert_eq(rate, fx.state.learning_rate);
    cr_assert_eq(best, fx.state.best_validation_rmse);
    cr_assert_eq(fx.size, fx.state_at + 64 + 4);
    cr_assert_eq(le32(b + fx.size - 4), (uint32_t)crc32(0, b, (uInt)(fx.size - 4)), "the file's checksum");
    fixture_free(&fx);
}

Test(checkpoint, writer_replaces_an_old_file_and_leaves_one)
{
    fixture fx;
    fixture_new(&fx, small_header(), true);
    char msg[FM_MSG_LEN];
    fm_params *other = make_params(&fx.header, 7);
    cr_assert_eq(fm_checkpoint_write(fx.path, &fx.header, other, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_test_count_files(fx.dir), 1);
    fm_checkpoint_header h;
    fm_params *back = NULL;
    cr_assert_eq(fm_checkpoint_read(fx.path, &h, &back, NULL, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(h.flags, 0u);
    expect_same_params(back, other, false);
    fm_params_free(&back);
    fm_params_free(&other);
    fixture_free(&fx);
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
    EXPECT_FAILURE(missing, NULL, FM_ERR_IO, "missing", "cannot open", "No such file");
    EXPECT_FAILURE(saved, NULL, FM_ERR_IO, "directory", "is a directory", "expected a factormer model file");
    const char *empty = fm_test_path(saved, "empty.fmw");
    fm_test_write(empty, "");
    EXPECT_FAILURE(empty, NULL, FM_ERR_PARSE, "empty", "empty file", "expected a factormer model file");
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
        EXPECT_FAILURE(path, NULL, FM_ERR_PARSE, texts[i], "not a factormer model file", "magic");
    }
    fm_test_remove_dir(saved);
}

Test(checkpoint, unsupported_version)
{
    fixture fx;
    fixture_new(&fx, small_header(), false);
    put32(fx.bytes + 8, 2);
    reseal(fx.bytes, fx.size);
    EXPECT_CRAFTED(&fx, fx.bytes, fx.size, "version 2", "unsupported checkpoint version 2",
                   "this build reads version 1");
    put32(fx.bytes + 8, 0);
    reseal(fx.bytes, fx.size);
    EXPECT_CRAFTED(&fx, fx.bytes, fx.size, "version 0", "unsupported checkpoint version 0");
    fixture_free(&fx);
}

//------------------------------------------------------------------------------
// Truncated and corrupted files
//------------------------------------------------------------------------------

// The part of the file a truncation at `size` ends in.
static const char *part_at(const fixture *fx, size_t size)
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
Test(checkpoint, truncated_at_every_offset)
{
    fixture fx;
    fixture_new(&fx, tiny_header(), true);
    cr_assert_gt(fx.size, 1000u);
    for (size_t size = 1; size < fx.size; size++) {
        char context[128];
        snprintf(context, sizeof context, "truncated to %zu of %zu bytes", size, fx.size);
        EXPECT_CRAFTED(&fx, fx.bytes, size, context, "truncated", part_at(&fx, size));
    }
    fixture_free(&fx);
}

// Several prefixes of the small model, and of a model without training state.
Test(checkpoint, truncated_small_models)
{
    for (int training = 0; training < 2; training++) {
        fixture fx;
        fixture_new(&fx, small_header(), training);
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
            EXPECT_CRAFTED(&fx, fx.bytes, size, context, "truncated", part);
        }
        fixture_free(&fx);
    }
}

// A byte flipped anywhere in a tiny training checkpoint: the magic says it is
// not a model, the version field says which version it reads, every other
// byte is caught by a checksum (the header's own or the file's).
Test(checkpoint, flipped_byte_at_every_offset)
{
    fixture fx;
    fixture_new(&fx, tiny_header(), true);
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
                EXPECT_CRAFTED(&fx, copy, fx.size, context, "not a factormer model file");
            else if (at < 12)
                EXPECT_CRAFTED(&fx, copy, fx.size, context, "unsupported checkpoint version");
            else if (at < 64)
                EXPECT_CRAFTED(&fx, copy, fx.size, context, "corrupted: checksum", "of the header");
            else
                EXPECT_CRAFTED(&fx, copy, fx.size, context, "corrupted: checksum", "of the content");
        }
    free(copy);
    fixture_free(&fx);
}

Test(checkpoint, flipped_bytes_in_small_models)
{
    for (int training = 0; training < 2; training++) {
        fixture fx;
        fixture_new(&fx, small_header(), training);
        uint8_t *copy = malloc(fx.size);
        cr_assert_not_null(copy);
        for (size_t at = 12; at < fx.size; at += 53) {
            memcpy(copy, fx.bytes, fx.size);
            copy[at] ^= 0x10;
            char context[128];
            snprintf(context, sizeof context, "training %d, byte %zu of %zu", training, at, fx.size);
            EXPECT_CRAFTED(&fx, copy, fx.size, context, "corrupted: checksum");
        }
        free(copy);
        fixture_free(&fx);
    }
}

Test(checkpoint, trailing_bytes)
{
    fixture fx;
    fixture_new(&fx, small_header(), false);
    uint8_t *longer = calloc(fx.size + 3, 1);
    cr_assert_not_null(longer);
    memcpy(longer, fx.bytes, fx.size);
    EXPECT_CRAFTED(&fx, longer, fx.size + 3, "3 more bytes", "3 bytes follow the checksum");
    free(longer);
    fixture_free(&fx);
}

//------------------------------------------------------------------------------
// Intact files whose content is wrong (both checksums resealed)
//------------------------------------------------------------------------------

// Set the u32 at `at` to `value`, reseal, expect the words.
static void expect_field(fixture *fx, size_t at, uint32_t value, const char *context, const char *word1,
                         const char *word2)
{
    uint8_t *copy = malloc(fx->size);
    cr_assert_not_null(copy);
    memcpy(copy, fx->bytes, fx->size);
    put32(copy + at, value);
    reseal(copy, fx->size);
    EXPECT_CRAFTED(fx, copy, fx->size, context, word1, word2);
    free(copy);
}

Test(checkpoint, hyperparameters_out_of_range)
{
    fixture fx;
    fixture_new(&fx, small_header(), true);
    expect_field(&fx, 16, 3, "kind 3", "model kind 3", "expected 1 (initialization) or 2 (acceleration)");
    expect_field(&fx, 16, 0, "kind 0", "model kind 0", "expected 1");
    // rank 0 is a model of any rank, which reads 1 input per component (§5.1)
    expect_field(&fx, 24, 0, "rank 0", "do not match", "any rank reads 1 inputs per component");
    // ranks -1 to -7 are models of any rank: bit 0 gathered, bit 1 pooled, bit 2 residual (pooled only), the
    // same inputs; -8 is nothing
    expect_field(&fx, 24, 0xffffffffu, "rank -1", "do not match", "any rank reads 1 inputs per component");
    expect_field(&fx, 24, 0xfffffffeu, "rank -2", "do not match", "any rank reads 1 inputs per component");
    expect_field(&fx, 24, 0xfffffffdu, "rank -3", "do not match", "any rank reads 1 inputs per component");
    expect_field(&fx, 24, 0xfffffffcu, "rank -4", "out of range", "the residual decoder belongs to a pooled model");
    expect_field(&fx, 24, 0xfffffffau, "rank -6", "do not match", "any rank reads 1 inputs per component");
    expect_field(&fx, 24, 0xfffffff9u, "rank -7", "do not match", "any rank reads 1 inputs per component");
    expect_field(&fx, 24, 0xfffffff8u, "rank -8", "out of range", "rank -8");
    expect_field(&fx, 20, 0, "inputs 0", "out of range", "input width 0");
    expect_field(&fx, 32, 3, "3 heads, width 8", "out of range", "3 heads do not divide the width 8");
    expect_field(&fx, 32, 0, "no heads", "out of range", "heads 0");
    expect_field(&fx, 36, 17, "17 layers", "out of range", "17 layers; expected 0 to 16");
    expect_field(&fx, 36, 0x80000000u, "negative layers", "out of range", "layers");
    expect_field(&fx, 28, 1u << 30, "absurd width", "out of range", "at most 65536");
    expect_field(&fx, 20, 0x7fffffffu, "absurd inputs", "out of range", "at most 65536");
    expect_field(&fx, 20, 6, "inputs of an acceleration model", "do not match", "reads 3 inputs");
    fixture_free(&fx);
}

Test(checkpoint, header_fields_that_disagree_with_the_layout)
{
    fixture fx;
    fixture_new(&fx, small_header(), true);
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
    put64(copy + 48, 1ull << 62);
    reseal(copy, fx.size);
    EXPECT_CRAFTED(&fx, copy, fx.size, "count 2^62", "parameters", want);
    free(copy);
    fixture_free(&fx);
}

// A file of another layout (as an older build would have written): the
// first tensor that differs is named.
Test(checkpoint, tensor_table_of_another_layout)
{
    fixture fx;
    fixture_new(&fx, small_header(), true);
    uint8_t *copy = malloc(fx.size);
    cr_assert_not_null(copy);
    // tensor 0 "embed_w.weight" (14 bytes) 8 x 3 at 0; tensor 1 "embed_w.bias" follows at 64 + 4 + 14 + 16
    const size_t entry1 = 64 + 4 + 14 + 16;
    cr_assert_eq(le32(fx.bytes + entry1), 12u);
    cr_assert_eq(memcmp(fx.bytes + entry1 + 4, "embed_w.bias", 12), 0);

    memcpy(copy, fx.bytes, fx.size);
    memcpy(copy + entry1 + 4, "embed_x.bias", 12);
    reseal(copy, fx.size);
    EXPECT_CRAFTED(&fx, copy, fx.size, "renamed", "tensor 1 is 'embed_x.bias'", "has 'embed_w.bias'",
                   "another layout");

    memcpy(copy, fx.bytes, fx.size);
    put32(copy + 64 + 4 + 14, 4);   // embed_w.weight rows
    reseal(copy, fx.size);
    EXPECT_CRAFTED(&fx, copy, fx.size, "reshaped", "tensor 0 is 'embed_w.weight' of 4 x 3", "of 8 x 3");

    memcpy(copy, fx.bytes, fx.size);
    put64(copy + entry1 + 4 + 12 + 8, 16);   // embed_w.bias's offset
    reseal(copy, fx.size);
    EXPECT_CRAFTED(&fx, copy, fx.size, "moved", "tensor 1 is 'embed_w.bias' of 8 x 1 at 16", "at 32");

    memcpy(copy, fx.bytes, fx.size);
    put32(copy + 64, 13);   // a name one byte shorter: the rest of the table slides
    reseal(copy, fx.size);
    EXPECT_CRAFTED(&fx, copy, fx.size, "name length 13", "tensor 0 is 'embed_w.weigh'", "has 'embed_w.weight'");

    memcpy(copy, fx.bytes, fx.size);
    put32(copy + 64, 0);
    reseal(copy, fx.size);
    EXPECT_CRAFTED(&fx, copy, fx.size, "empty name", "tensor 0 of the table has a name of 0 bytes", "1 to 63");

    memcpy(copy, fx.bytes, fx.size);
    put32(copy + 64, 5000);
    reseal(copy, fx.size);
    EXPECT_CRAFTED(&fx, copy, fx.size, "long name", "a name of 5000 bytes", "1 to 63");

    memcpy(copy, fx.bytes, fx.size);
    copy[64 + 4 + 3] = 0;   // a NUL inside a name
    reseal(copy, fx.size);
    EXPECT_CRAFTED(&fx, copy, fx.size, "NUL in a name", "tensor 0 is 'emb'", "another layout");
    free(copy);
    fixture_free(&fx);
}

// A table entry removed, the counts and the table size adjusted: an older
// layout with one tensor fewer.
Test(checkpoint, layout_with_a_tensor_fewer)
{
    fixture fx;
    fixture_new(&fx, small_header(), false);
    uint8_t *copy = malloc(fx.size);
    cr_assert_not_null(copy);
    const size_t entry1 = 64 + 4 + 14 + 16, entry1_bytes = 4 + 12 + 16;
    memcpy(copy, fx.bytes, entry1);
    memcpy(copy + entry1, fx.bytes + entry1 + entry1_bytes, fx.size - entry1 - entry1_bytes);
    const size_t size = fx.size - entry1_bytes;
    put32(copy + 40, FM_LFACTORMER_TENSORS(2) - 1);
    put32(copy + 44, le32(fx.bytes + 44) - (uint32_t)entry1_bytes);
    reseal(copy, size);
    EXPECT_CRAFTED(&fx, copy, size, "a tensor fewer", "lists 49 tensors", "has 50");
    put32(copy + 40, FM_LFACTORMER_TENSORS(2));
    reseal(copy, size);
    EXPECT_CRAFTED(&fx, copy, size, "a tensor fewer, count kept", "tensor 1 is 'embed_h.weight'",
                   "has 'embed_w.bias'");
    free(copy);
    fixture_free(&fx);
}

// Set float element e of the block at `block` to x, reseal, expect the words.
static void expect_value(fixture *fx, size_t block, int64_t e, float x, const char *context, const char *word1,
                         const char *word2)
{
    uint8_t *copy = malloc(fx->size);
    cr_assert_not_null(copy);
    memcpy(copy, fx->bytes, fx->size);
    uint32_t bits;
    memcpy(&bits, &x, 4);
    put32(copy + block + 4 * e, bits);
    reseal(copy, fx->size);
    EXPECT_CRAFTED(fx, copy, fx->size, context, word1, word2);
    free(copy);
}

static void expect_state_field(fixture *fx, size_t at, double x, const char *context, const char *word)
{
    uint8_t *copy = malloc(fx->size);
    cr_assert_not_null(copy);
    memcpy(copy, fx->bytes, fx->size);
    uint64_t bits;
    memcpy(&bits, &x, 8);
    put64(copy + fx->state_at + at, bits);
    reseal(copy, fx->size);
    EXPECT_CRAFTED(fx, copy, fx->size, context, word, "expected");
    free(copy);
}

Test(checkpoint, non_finite_values_moments_and_state)
{
    fixture fx;
    fixture_new(&fx, small_header(), true);
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
    fixture_free(&fx);
}

// Before the first validation the best RMSE is infinite: that reads back.
Test(checkpoint, infinite_best_rmse_is_a_fresh_run)
{
    fixture fx;
    fixture_new(&fx, small_header(), false);
    char msg[FM_MSG_LEN];
    fm_train_state state = make_state(), back_state;
    state.best_validation_rmse = INFINITY;
    state.best_epoch = 0;
    cr_assert_eq(fm_checkpoint_write(fx.path, &fx.header, fx.params, &state, msg), FM_OK, "%s", msg);
    fm_checkpoint_header h;
    fm_params *back = NULL;
    cr_assert_eq(fm_checkpoint_read(fx.path, &h, &back, &back_state, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(memcmp(&back_state, &state, sizeof state), 0);
    cr_assert(isinf(back_state.best_validation_rmse));
    fm_params_free(&back);
    fixture_free(&fx);
}

//------------------------------------------------------------------------------
// A model other than the caller needs
//------------------------------------------------------------------------------

Test(checkpoint, expectations)
{
    fixture fx;
    fixture_new(&fx, make_header(FM_MODEL_INIT, 8, 8, 2, 0), false);
    const fm_checkpoint_expect rank10 = {.kind = FM_MODEL_INIT, .rank = 10};
    EXPECT_FAILURE(fx.path, &rank10, FM_ERR_INVALID, "rank 10",
                   "a rank-8 initialization model, but --rank 10 needs a rank-10 model or one of any rank; "
                   "train one with: factormer train --model init --any-rank --out MODEL.fmw");
    const fm_checkpoint_expect any_kind_rank10 = {.rank = 10};
    EXPECT_FAILURE(fx.path, &any_kind_rank10, FM_ERR_INVALID, "any kind, rank 10", "a rank-8", "--rank 10");
    const fm_checkpoint_expect accel = {.kind = FM_MODEL_ACCEL, .rank = 8};
    EXPECT_FAILURE(fx.path, &accel, FM_ERR_INVALID, "acceleration",
                   "an initialization model, but an acceleration model is needed; "
                   "train one with: factormer train --model accel --any-rank --out MODEL.fmw");
    const fm_checkpoint_expect resume = {.kind = FM_MODEL_INIT, .rank = 8, .training = true};
    EXPECT_FAILURE(fx.path, &resume, FM_ERR_INVALID, "resume", "a model without training state",
                   "resuming a run needs a training checkpoint");
    // what matches reads
    char msg[FM_MSG_LEN];
    const fm_checkpoint_expect ok[3] = {{.kind = FM_MODEL_INIT, .rank = 8}, {.rank = 8}, {0}};
    for (int i = 0; i < 3; i++) {
        fm_checkpoint_header h;
        fm_params *back = NULL;
        cr_assert_eq(fm_checkpoint_read(fx.path, &h, &back, NULL, &ok[i], msg), FM_OK, "expectation %d: %s", i, msg);
        expect_same_params(back, fx.params, false);
        fm_params_free(&back);
    }
    fixture_free(&fx);
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
    const fm_checkpoint_header h = small_header();
    fm_params *p = make_params(&h, 3);
    const fm_train_state s = make_state();
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
    const fm_checkpoint_header h = small_header();
    fm_params *p = make_params(&h, 5);
    fm_train_state s = make_state();

    fm_checkpoint_header other = make_header(FM_MODEL_INIT, 4, 8, 2, 2);
    // the same count (padding absorbs the rank), another shape
    expect_write_failure(&other, p, &s, FM_ERR_INVALID, "another rank", "has 'embed_w.weight' (8 x 4 at 0)");
    other = make_header(FM_MODEL_ACCEL, 3, 8, 2, 2);
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
    const fm_checkpoint_header h = small_header();
    fm_params *p = make_params(&h, 1), *held = make_params(&h, 2);
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
