// Fixtures of the checkpoint tests (tests/checkpoint_fixtures.h).
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

fm_checkpoint_header ck_make_header(fm_model_kind kind, int rank, int width, int heads, int layers)
{
    return (fm_checkpoint_header){
        .kind = kind,
        .config = {.inputs = kind == FM_MODEL_ACCEL ? 2 * rank : rank, .rank = rank, .width = width,
                   .heads = heads, .layers = layers},
    };
}

// The small model of the issue: width 8, heads 2, layers 2, rank 3.
fm_checkpoint_header ck_small_header(void) { return ck_make_header(FM_MODEL_INIT, 3, 8, 2, 2); }
// A tiny one, so that every offset of its file can be truncated and flipped.
fm_checkpoint_header ck_tiny_header(void) { return ck_make_header(FM_MODEL_INIT, 1, 2, 1, 1); }

// Parameters laid out for the header, initialized, with moments and nonzero
// gradients that differ everywhere (m signed, v nonnegative), so that a
// swapped or dropped block shows.
fm_params *ck_make_params(const fm_checkpoint_header *h, uint64_t seed)
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

fm_train_state ck_make_state(void)
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

uint8_t *ck_slurp(const char *path, size_t *size)
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
void ck_spit(const char *path, const uint8_t *bytes, size_t size)
{
    unlink(path);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fwrite(bytes, 1, size, f), size);
    cr_assert_eq(fclose(f), 0);
}

uint32_t ck_le32(const uint8_t *b) { return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24; }
uint64_t ck_le64(const uint8_t *b) { return ck_le32(b) | (uint64_t)ck_le32(b + 4) << 32; }
void ck_put32(uint8_t *b, uint32_t x)
{
    for (int i = 0; i < 4; i++) b[i] = (uint8_t)(x >> 8 * i);
}
void ck_put64(uint8_t *b, uint64_t x)
{
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(x >> 8 * i);
}

// Recompute both checksums after an edit, so that the reader gets past them.
void ck_reseal(uint8_t *b, size_t size)
{
    ck_put32(b + 60, (uint32_t)crc32(0, b, 60));
    ck_put32(b + size - 4, (uint32_t)crc32(0, b, (uInt)(size - 4)));
}


void ck_fixture_new(ck_fixture *fx, fm_checkpoint_header header, bool training)
{
    char msg[FM_MSG_LEN];
    memset(fx, 0, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "%s", fm_test_tmpdir());
    snprintf(fx->path, sizeof fx->path, "%s/model.fmw", fx->dir);
    fx->header = header;
    fx->params = ck_make_params(&header, 42);
    fx->state = ck_make_state();
    int status = fm_checkpoint_write(fx->path, &fx->header, fx->params, training ? &fx->state : NULL, msg);
    cr_assert_eq(status, FM_OK, "%s", msg);
    fx->bytes = ck_slurp(fx->path, &fx->size);
    fx->table = 64;
    fx->values = 64 + ck_le32(fx->bytes + 44);
    fx->m = fx->values + 4 * (size_t)fx->params->count;
    fx->v = fx->m + 4 * (size_t)fx->params->count;
    fx->state_at = fx->v + 4 * (size_t)fx->params->count;
}

void ck_fixture_free(ck_fixture *fx)
{
    fm_params_free(&fx->params);
    free(fx->bytes);
    fm_test_remove_dir(fx->dir);
}

// Read `path` with `expect`; the status must be `code`, the message must name
// the file and hold each of the NULL-terminated words, and no output may be
// touched.
void ck_expect_failure(const char *path, const fm_checkpoint_expect *expect, int code, const char *context, ...)
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
    char what[300];
    snprintf(what, sizeof what, "%s: the message", context);
    va_list words;
    va_start(words, context);
    fm_test_expect_words_list(what, msg, words);
    va_end(words);
}


void ck_expect_same_params(const fm_params *back, const fm_params *p, bool moments)
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
