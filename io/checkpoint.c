// Checkpoints: the parts the writer and the reader share, and the writer
// (io/checkpoint.h has the byte layout; io/checkpoint_read.c reads).
//
// Writing goes through io/atomic_file: a temporary name renamed onto the path
// when every byte is out.
#include "checkpoint.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "checkpoint_parts.h"
#include "status.h"

_Static_assert(sizeof FM_CHECKPOINT_MAGIC == FM_CHECKPOINT_MAGIC_BYTES + 1, "the magic is 8 bytes");
_Static_assert(20 + 4 * FM_CHECKPOINT_SHAPE_FIELDS == 40, "the shape fields fill bytes 20 to 39");

//------------------------------------------------------------------------------
// The offsets of a layout, without allocating its blocks
//------------------------------------------------------------------------------

void fm_checkpoint_offsets_free(fm_checkpoint_offsets *o)
{
    free(o->offsets);
    memset(o, 0, sizeof *o);
}

int fm_checkpoint_offsets_of(fm_checkpoint_offsets *o, const fm_checkpoint_layout *layout, char *msg)
{
#define FREE_ALL fm_checkpoint_offsets_free(o)
    memset(o, 0, sizeof *o);
    FM_CHECK(layout->tensors >= 1, FM_ERR_INVALID, "%s: a checkpoint needs at least one tensor", layout->model);
    FM_ALLOC(o->offsets, layout->tensors);
    for (int t = 0; t < layout->tensors; t++) {
        const fm_tensor_spec *s = &layout->specs[t];
        const size_t n = strlen(s->name);
        FM_CHECK(n >= 1 && n < FM_CHECKPOINT_NAME, FM_ERR_INVALID,
                 "%s: tensor %d has a name of %zu bytes; a checkpoint holds names of 1 to %d bytes", layout->model,
                 t, n, FM_CHECKPOINT_NAME - 1);
        // the rule of fm_params_new: every tensor starts at a multiple of FM_PARAMS_ALIGN
        o->offsets[t] = o->count;
        const int64_t size = (int64_t)s->rows * s->cols;
        o->count += (size + FM_PARAMS_ALIGN - 1) / FM_PARAMS_ALIGN * FM_PARAMS_ALIGN;
        o->table_bytes += CHECKPOINT_ENTRY_FIXED_BYTES + (int64_t)n;
    }
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// The blocks and the training state
//------------------------------------------------------------------------------

// Where block element e lies: "tensor 'name' element i" or "padding after 'name'".
static void locate(char *out, size_t n, const fm_params *p, int64_t e)
{
    int t = 0;
    while (t + 1 < p->tensors && p->offsets[t + 1] <= e) t++;
    const int64_t i = e - p->offsets[t];
    if (i < fm_params_size(p, t))
        snprintf(out, n, "tensor '%s' element %" PRId64, p->specs[t].name, i);
    else
        snprintf(out, n, "the padding after tensor '%s' (block element %" PRId64 ")", p->specs[t].name, e);
}

// The first element of `block` that is NaN or infinite (or, with nonnegative,
// negative), or -1.
static int64_t first_bad(const float *block, int64_t count, bool nonnegative)
{
    for (int64_t e = 0; e < count; e++)
        if (!isfinite(block[e]) || (nonnegative && block[e] < 0)) return e;
    return -1;
}

int fm_checkpoint_check_blocks(const fm_params *p, bool moments, int code, const char *who, char *msg)
{
    const char *names[3] = {"values", "first moments (m)", "second moments (v)"};
    const float *blocks[3] = {p->values, p->m, p->v};
    for (int b = 0; b < (moments ? 3 : 1); b++) {
        const int64_t e = first_bad(blocks[b], p->count, b == 2);
        if (e < 0) continue;
        char where[FM_MSG_LEN / 2];
        locate(where, sizeof where, p, e);
        return fm_fail(code, msg, "%s: the %s hold %g at %s; expected %s", who, names[b], (double)blocks[b][e],
                       where, b == 2 ? "finite values >= 0" : "finite values");
    }
    return FM_OK;
}

int fm_checkpoint_check_state(const fm_train_state *s, int code, const char *who, char *msg)
{
    if (!isfinite(s->learning_rate) || s->learning_rate < 0)
        return fm_fail(code, msg, "%s: the training state's learning rate is %g; expected a finite rate >= 0", who,
                       s->learning_rate);
    if (isnan(s->best_validation_rmse) || s->best_validation_rmse < 0)
        return fm_fail(code, msg,
                       "%s: the training state's best validation RMSE is %g; expected a value >= 0, or infinity "
                       "before the first validation",
                       who, s->best_validation_rmse);
    return FM_OK;
}

static void put_f64(uint8_t *b, double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    fm_put_u64(b, bits);
}

static double get_f64(const uint8_t *b)
{
    uint64_t bits = fm_get_u64(b);
    double x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

void fm_checkpoint_encode_state(uint8_t b[FM_TRAIN_STATE_BYTES], const fm_train_state *s)
{
    fm_put_u64(b + 0, s->epoch);
    fm_put_u64(b + 8, s->step);
    fm_put_u64(b + 16, s->seed);
    fm_put_u64(b + 24, s->rng_counter);
    fm_put_u64(b + 32, s->curriculum_steps);
    fm_put_u64(b + 40, s->best_epoch);
    put_f64(b + 48, s->learning_rate);
    put_f64(b + 56, s->best_validation_rmse);
}

void fm_checkpoint_decode_state(fm_train_state *s, const uint8_t b[FM_TRAIN_STATE_BYTES])
{
    s->epoch = fm_get_u64(b + 0);
    s->step = fm_get_u64(b + 8);
    s->seed = fm_get_u64(b + 16);
    s->rng_counter = fm_get_u64(b + 24);
    s->curriculum_steps = fm_get_u64(b + 32);
    s->best_epoch = fm_get_u64(b + 40);
    s->learning_rate = get_f64(b + 48);
    s->best_validation_rmse = get_f64(b + 56);
}

//------------------------------------------------------------------------------
// Writing
//------------------------------------------------------------------------------

typedef struct writer {
    fm_atomic_file file;
    uint32_t crc;        // of every byte written so far
} writer;

// Errors surface in fm_atomic_commit, which checks the stream.
static void emit(writer *w, const uint8_t *bytes, size_t n)
{
    w->crc = fm_checkpoint_crc(w->crc, bytes, n);
    fwrite(bytes, 1, n, w->file.f);
}

static void emit_block(writer *w, const float *block, int64_t count, uint8_t *chunk)
{
    for (int64_t start = 0; start < count; start += CHECKPOINT_CHUNK_FLOATS) {
        const int64_t n = count - start < CHECKPOINT_CHUNK_FLOATS ? count - start : CHECKPOINT_CHUNK_FLOATS;
        for (int64_t e = 0; e < n; e++) {
            uint32_t bits;
            memcpy(&bits, &block[start + e], sizeof bits);
            fm_put_u32(chunk + 4 * e, bits);
        }
        emit(w, chunk, 4 * (size_t)n);
    }
}

int fm_checkpoint_write_tensors(const char *path, const fm_checkpoint_fields *fields,
                                const fm_checkpoint_layout *layout, const fm_params *params,
                                const fm_train_state *state, char *msg)
{
    fm_checkpoint_offsets o = {0};
    writer w = {0};
    uint8_t *table = NULL, *chunk = NULL;
#define FREE_ALL { fm_checkpoint_offsets_free(&o); fm_atomic_abort(&w.file); free(table); free(chunk); }
    FM_CHECK(path && *path && fields && layout && layout->specs && layout->model && params, FM_ERR_INVALID,
             "fm_checkpoint_write_tensors needs a path, the header's fields, a layout and parameters");
    FM_TRY(fm_checkpoint_offsets_of(&o, layout, msg));
    const char *model = layout->model;
    FM_CHECK(params->tensors == layout->tensors && params->count == o.count, FM_ERR_INVALID,
             "%s: the parameters hold %d tensors of %" PRId64 " floats, but %s has %d tensors of %" PRId64, path,
             params->tensors, params->count, model, layout->tensors, o.count);
    for (int t = 0; t < layout->tensors; t++) {
        const fm_tensor_spec *s = &params->specs[t], *want = &layout->specs[t];
        FM_CHECK(strcmp(s->name, want->name) == 0 && s->rows == want->rows && s->cols == want->cols &&
                     params->offsets[t] == o.offsets[t],
                 FM_ERR_INVALID,
                 "%s: parameter tensor %d is '%s' (%d x %d at %" PRId64 "), but %s has '%s' (%d x %d at %" PRId64
                 ") there",
                 path, t, s->name, s->rows, s->cols, params->offsets[t], model, want->name, want->rows, want->cols,
                 o.offsets[t]);
    }
    char who[FM_MSG_LEN];
    snprintf(who, sizeof who, "%s: cannot write the model", path);
    FM_TRY(fm_checkpoint_check_blocks(params, state != NULL, FM_ERR_NUMERIC, who, msg));
    if (state) FM_TRY(fm_checkpoint_check_state(state, FM_ERR_INVALID, who, msg));

    uint8_t head[FM_CHECKPOINT_HEADER_BYTES] = {0};
    memcpy(head, FM_CHECKPOINT_MAGIC, FM_CHECKPOINT_MAGIC_BYTES);
    fm_put_u32(head + 8, FM_CHECKPOINT_VERSION);
    fm_put_u32(head + 12, state ? FM_CHECKPOINT_TRAINING : 0);
    fm_put_u32(head + 16, fields->kind);
    for (int i = 0; i < FM_CHECKPOINT_SHAPE_FIELDS; i++) fm_put_u32(head + 20 + 4 * i, (uint32_t)fields->shape[i]);
    fm_put_u32(head + 40, (uint32_t)layout->tensors);
    fm_put_u32(head + 44, (uint32_t)o.table_bytes);
    fm_put_u64(head + 48, (uint64_t)o.count);
    fm_put_u32(head + 56, state ? FM_TRAIN_STATE_BYTES : 0);
    fm_put_u32(head + CHECKPOINT_HEADER_CRC_AT, fm_checkpoint_crc(0, head, CHECKPOINT_HEADER_CRC_AT));

    FM_ALLOC(table, o.table_bytes);
    uint8_t *at = table;
    for (int t = 0; t < layout->tensors; t++) {
        const size_t n = strlen(layout->specs[t].name);
        fm_put_u32(at, (uint32_t)n);
        memcpy(at + 4, layout->specs[t].name, n);
        at += 4 + n;
        fm_put_u32(at, (uint32_t)layout->specs[t].rows);
        fm_put_u32(at + 4, (uint32_t)layout->specs[t].cols);
        fm_put_u64(at + 8, (uint64_t)o.offsets[t]);
        at += 16;
    }
    FM_ALLOC(chunk, 4 * CHECKPOINT_CHUNK_FLOATS);

    FM_TRY(fm_atomic_open(&w.file, path, msg));
    w.crc = fm_checkpoint_crc(0, NULL, 0);
    emit(&w, head, sizeof head);
    emit(&w, table, (size_t)o.table_bytes);
    emit_block(&w, params->values, params->count, chunk);
    if (state) {
        emit_block(&w, params->m, params->count, chunk);
        emit_block(&w, params->v, params->count, chunk);
        uint8_t encoded[FM_TRAIN_STATE_BYTES];
        fm_checkpoint_encode_state(encoded, state);
        emit(&w, encoded, sizeof encoded);
    }
    uint8_t crc[4];
    fm_put_u32(crc, w.crc);
    fwrite(crc, 1, sizeof crc, w.file.f);
    FM_TRY(fm_atomic_commit(&w.file, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
