// Model checkpoints (io/checkpoint.h has the byte layout).
//
// Writing goes through io/atomic_file: a temporary name renamed onto the path
// when every byte is out. Reading never believes a field before a checksum
// covers it: the header has its own CRC, checked before its counts and sizes
// are used; the tensor table, the blocks and the state are read in one pass
// that computes the file's CRC and are interpreted only once it matches.
// Memory allocated for a file is bounded by the file's size.
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "atomic_file.h"
#include "status.h"

#define CHUNK_FLOATS 16384                              // floats encoded or decoded at a time
#define ENTRY_FIXED_BYTES (4 + 4 + 4 + 8)               // a table entry less its name
#define HEADER_CRC_AT (FM_CHECKPOINT_HEADER_BYTES - 4)
#define TRAIN_MODEL_HINT "train one with: factormer train --model %s --rank %d --out MODEL.fmw"

_Static_assert(sizeof FM_CHECKPOINT_MAGIC == FM_CHECKPOINT_MAGIC_BYTES + 1, "the magic is 8 bytes");

const char *fm_model_kind_name(fm_model_kind kind)
{
    switch (kind) {
    case FM_MODEL_INIT: return "initialization";
    case FM_MODEL_ACCEL: return "acceleration";
    default: return "unknown";
    }
}

int fm_model_kind_inputs(fm_model_kind kind, int rank)
{
    switch (kind) {
    case FM_MODEL_INIT: return rank;
    case FM_MODEL_ACCEL: return 2 * rank;
    default: return 0;
    }
}

// The name the CLI's --model takes.
static const char *kind_flag(fm_model_kind kind) { return kind == FM_MODEL_ACCEL ? "accel" : "init"; }

//------------------------------------------------------------------------------
// Little-endian fields
//------------------------------------------------------------------------------

static void put_u32(uint8_t *b, uint32_t x)
{
    for (int i = 0; i < 4; i++) b[i] = (uint8_t)(x >> (8 * i));
}

static void put_u64(uint8_t *b, uint64_t x)
{
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(x >> (8 * i));
}

static uint32_t get_u32(const uint8_t *b)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) x |= (uint32_t)b[i] << (8 * i);
    return x;
}

static uint64_t get_u64(const uint8_t *b)
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x |= (uint64_t)b[i] << (8 * i);
    return x;
}

static void put_f64(uint8_t *b, double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    put_u64(b, bits);
}

static double get_f64(const uint8_t *b)
{
    uint64_t bits = get_u64(b);
    double x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

static uint32_t crc_of(uint32_t crc, const uint8_t *bytes, size_t n)
{
    return (uint32_t)crc32(crc, bytes, (uInt)n);   // callers pass at most a chunk or the table
}

//------------------------------------------------------------------------------
// The layout of a model, without allocating its blocks
//------------------------------------------------------------------------------

typedef struct layout {
    int tensors;
    fm_tensor_spec *specs;
    char (*names)[FM_LFACTORMER_NAME];
    int64_t *offsets;
    int64_t count;        // floats per block, as fm_params_new lays them out
    int64_t table_bytes;  // the tensor table in the file
} layout;

static void layout_free(layout *l)
{
    free(l->specs);
    free(l->names);
    free(l->offsets);
    memset(l, 0, sizeof *l);
}

// The range checks of fm_lfactormer_check, the caps that keep every size
// below overflow, and the input width of the kind; `code` on failure.
static int check_model(fm_model_kind kind, const fm_lfactormer_config *c, const char *path, int code, char *msg)
{
    if (kind != FM_MODEL_INIT && kind != FM_MODEL_ACCEL)
        return fm_fail(code, msg, "%s: model kind %u; expected 1 (initialization) or 2 (acceleration)", path,
                       (unsigned)kind);
    char why[FM_MSG_LEN];
    if (fm_lfactormer_check(c, why) != FM_OK)
        return fm_fail(code, msg, "%s: the hyperparameters are out of range: %s", path, why);
    if (c->inputs > FM_CHECKPOINT_MAX_DIM || c->rank > FM_CHECKPOINT_MAX_DIM ||
        c->width > FM_CHECKPOINT_MAX_DIM || c->heads > FM_CHECKPOINT_MAX_DIM)
        return fm_fail(code, msg,
                       "%s: the hyperparameters are out of range: input width %d, rank %d, width %d, heads %d; "
                       "each must be at most %d",
                       path, c->inputs, c->rank, c->width, c->heads, FM_CHECKPOINT_MAX_DIM);
    const int inputs = fm_model_kind_inputs(kind, c->rank);
    if (c->inputs != inputs)
        return fm_fail(code, msg,
                       "%s: the hyperparameters do not match: an %s model of rank %d reads %d inputs, but the input "
                       "width is %d",
                       path, fm_model_kind_name(kind), c->rank, inputs, c->inputs);
    return FM_OK;
}

// The config must have passed check_model.
static int layout_of(layout *l, const fm_lfactormer_config *c, char *msg)
{
#define FREE_ALL layout_free(l)
    memset(l, 0, sizeof *l);
    l->tensors = FM_LFACTORMER_TENSORS(c->layers);
    FM_ALLOC(l->specs, l->tensors);
    FM_ALLOC(l->names, l->tensors);
    FM_ALLOC(l->offsets, l->tensors);
    FM_TRY(fm_lfactormer_specs(l->specs, l->names, c, msg));
    for (int t = 0; t < l->tensors; t++) {
        // the rule of fm_params_new: every tensor starts at a multiple of FM_PARAMS_ALIGN
        l->offsets[t] = l->count;
        const int64_t size = (int64_t)l->specs[t].rows * l->specs[t].cols;
        l->count += (size + FM_PARAMS_ALIGN - 1) / FM_PARAMS_ALIGN * FM_PARAMS_ALIGN;
        l->table_bytes += ENTRY_FIXED_BYTES + (int64_t)strlen(l->specs[t].name);
    }
    return FM_OK;
#undef FREE_ALL
}

static void describe(char *out, size_t n, fm_model_kind kind, const fm_lfactormer_config *c)
{
    snprintf(out, n, "an %s model of rank %d, width %d, %d heads, %d layers", fm_model_kind_name(kind), c->rank,
             c->width, c->heads, c->layers);
}

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

// FM_OK, or `code` naming the first bad element of one of the blocks.
static int check_blocks(const fm_params *p, bool moments, int code, const char *who, const char *expected,
                        char *msg)
{
    const char *names[3] = {"values", "first moments (m)", "second moments (v)"};
    const float *blocks[3] = {p->values, p->m, p->v};
    for (int b = 0; b < (moments ? 3 : 1); b++) {
        const int64_t e = first_bad(blocks[b], p->count, b == 2);
        if (e < 0) continue;
        char where[FM_MSG_LEN / 2];
        locate(where, sizeof where, p, e);
        return fm_fail(code, msg, "%s: the %s hold %g at %s; expected %s", who, names[b], (double)blocks[b][e],
                       where, b == 2 ? "finite values >= 0" : expected);
    }
    return FM_OK;
}

static int check_state(const fm_train_state *s, int code, const char *who, char *msg)
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

static void encode_state(uint8_t b[FM_TRAIN_STATE_BYTES], const fm_train_state *s)
{
    put_u64(b + 0, s->epoch);
    put_u64(b + 8, s->step);
    put_u64(b + 16, s->seed);
    put_u64(b + 24, s->rng_counter);
    put_u64(b + 32, s->curriculum_steps);
    put_u64(b + 40, s->best_epoch);
    put_f64(b + 48, s->learning_rate);
    put_f64(b + 56, s->best_validation_rmse);
}

static void decode_state(fm_train_state *s, const uint8_t b[FM_TRAIN_STATE_BYTES])
{
    s->epoch = get_u64(b + 0);
    s->step = get_u64(b + 8);
    s->seed = get_u64(b + 16);
    s->rng_counter = get_u64(b + 24);
    s->curriculum_steps = get_u64(b + 32);
    s->best_epoch = get_u64(b + 40);
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
    w->crc = crc_of(w->crc, bytes, n);
    fwrite(bytes, 1, n, w->file.f);
}

static void emit_block(writer *w, const float *block, int64_t count, uint8_t *chunk)
{
    for (int64_t start = 0; start < count; start += CHUNK_FLOATS) {
        const int64_t n = count - start < CHUNK_FLOATS ? count - start : CHUNK_FLOATS;
        for (int64_t e = 0; e < n; e++) {
            uint32_t bits;
            memcpy(&bits, &block[start + e], sizeof bits);
            put_u32(chunk + 4 * e, bits);
        }
        emit(w, chunk, 4 * (size_t)n);
    }
}

int fm_checkpoint_write(const char *path, const fm_checkpoint_header *header, const fm_params *params,
                        const fm_train_state *state, char *msg)
{
    layout l = {0};
    writer w = {0};
    uint8_t *table = NULL, *chunk = NULL;
#define FREE_ALL { layout_free(&l); fm_atomic_abort(&w.file); free(table); free(chunk); }
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_checkpoint_write: the path must be a non-empty string");
    FM_CHECK(header && params, FM_ERR_INVALID, "%s: fm_checkpoint_write needs a header and parameters", path);
    FM_TRY(check_model(header->kind, &header->config, path, FM_ERR_INVALID, msg));
    FM_TRY(layout_of(&l, &header->config, msg));
    char model[FM_MSG_LEN / 2];
    describe(model, sizeof model, header->kind, &header->config);
    FM_CHECK(params->tensors == l.tensors && params->count == l.count, FM_ERR_INVALID,
             "%s: the parameters hold %d tensors of %" PRId64 " floats, but %s has %d tensors of %" PRId64, path,
             params->tensors, params->count, model, l.tensors, l.count);
    for (int t = 0; t < l.tensors; t++) {
        const fm_tensor_spec *s = &params->specs[t], *want = &l.specs[t];
        FM_CHECK(strcmp(s->name, want->name) == 0 && s->rows == want->rows && s->cols == want->cols &&
                     params->offsets[t] == l.offsets[t],
                 FM_ERR_INVALID,
                 "%s: parameter tensor %d is '%s' (%d x %d at %" PRId64 "), but %s has '%s' (%d x %d at %" PRId64
                 ") there",
                 path, t, s->name, s->rows, s->cols, params->offsets[t], model, want->name, want->rows, want->cols,
                 l.offsets[t]);
    }
    char who[FM_MSG_LEN];
    snprintf(who, sizeof who, "%s: cannot write the model", path);
    FM_TRY(check_blocks(params, state != NULL, FM_ERR_NUMERIC, who, "finite values", msg));
    if (state) FM_TRY(check_state(state, FM_ERR_INVALID, who, msg));

    uint8_t head[FM_CHECKPOINT_HEADER_BYTES] = {0};
    memcpy(head, FM_CHECKPOINT_MAGIC, FM_CHECKPOINT_MAGIC_BYTES);
    put_u32(head + 8, FM_CHECKPOINT_VERSION);
    put_u32(head + 12, state ? FM_CHECKPOINT_TRAINING : 0);
    put_u32(head + 16, (uint32_t)header->kind);
    const fm_lfactormer_config *c = &header->config;
    const int fields[5] = {c->inputs, c->rank, c->width, c->heads, c->layers};
    for (int i = 0; i < 5; i++) put_u32(head + 20 + 4 * i, (uint32_t)fields[i]);
    put_u32(head + 40, (uint32_t)l.tensors);
    put_u32(head + 44, (uint32_t)l.table_bytes);
    put_u64(head + 48, (uint64_t)l.count);
    put_u32(head + 56, state ? FM_TRAIN_STATE_BYTES : 0);
    put_u32(head + HEADER_CRC_AT, crc_of(0, head, HEADER_CRC_AT));

    FM_ALLOC(table, l.table_bytes);
    uint8_t *at = table;
    for (int t = 0; t < l.tensors; t++) {
        const size_t n = strlen(l.specs[t].name);
        put_u32(at, (uint32_t)n);
        memcpy(at + 4, l.specs[t].name, n);
        at += 4 + n;
        put_u32(at, (uint32_t)l.specs[t].rows);
        put_u32(at + 4, (uint32_t)l.specs[t].cols);
        put_u64(at + 8, (uint64_t)l.offsets[t]);
        at += 16;
    }
    FM_ALLOC(chunk, 4 * CHUNK_FLOATS);

    FM_TRY(fm_atomic_open(&w.file, path, msg));
    w.crc = crc_of(0, NULL, 0);
    emit(&w, head, sizeof head);
    emit(&w, table, (size_t)l.table_bytes);
    emit_block(&w, params->values, params->count, chunk);
    if (state) {
        emit_block(&w, params->m, params->count, chunk);
        emit_block(&w, params->v, params->count, chunk);
        uint8_t encoded[FM_TRAIN_STATE_BYTES];
        encode_state(encoded, state);
        emit(&w, encoded, sizeof encoded);
    }
    uint8_t crc[4];
    put_u32(crc, w.crc);
    fwrite(crc, 1, sizeof crc, w.file.f);
    FM_TRY(fm_atomic_commit(&w.file, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// Reading
//------------------------------------------------------------------------------

typedef struct reader {
    const char *path;
    FILE *f;
    int64_t size;    // the file's size when opened
    int64_t at;      // bytes read so far
    uint32_t crc;    // of the bytes read so far
} reader;

// The parts of a file, in order, for the message of a truncated one.
typedef struct part {
    const char *name;
    int64_t end;     // the offset just past it
} part;

// Reads n bytes into `bytes`; a short read (the file shrank while being
// read) is reported as a truncation inside `what`.
static int read_bytes(reader *r, uint8_t *bytes, size_t n, const char *what, char *msg)
{
    const size_t got = fread(bytes, 1, n, r->f);
    if (got != n) {
        if (ferror(r->f))
            return fm_fail(FM_ERR_IO, msg, "%s: cannot read the %s: %s", r->path, what, strerror(errno));
        return fm_fail(FM_ERR_PARSE, msg, "%s: truncated: the file ends at byte %" PRId64 ", inside the %s", r->path,
                       r->at + (int64_t)got, what);
    }
    r->crc = crc_of(r->crc, bytes, n);
    r->at += (int64_t)n;
    return FM_OK;
}

static int read_block(reader *r, float *block, int64_t count, uint8_t *chunk, const char *what, char *msg)
{
    for (int64_t start = 0; start < count; start += CHUNK_FLOATS) {
        const int64_t n = count - start < CHUNK_FLOATS ? count - start : CHUNK_FLOATS;
        const int status = read_bytes(r, chunk, 4 * (size_t)n, what, msg);
        if (status) return status;
        for (int64_t e = 0; e < n; e++) {
            const uint32_t bits = get_u32(chunk + 4 * e);
            memcpy(&block[start + e], &bits, sizeof bits);
        }
    }
    return FM_OK;
}

// The fixed header: the magic, the version, the header's checksum, then the
// fields into *h, *tensors, *table_bytes, *count, *state_bytes.
static int read_header(reader *r, fm_checkpoint_header *h, uint32_t *tensors, uint32_t *table_bytes,
                       uint64_t *count, uint32_t *state_bytes, char *msg)
{
    const char *path = r->path;
    uint8_t head[FM_CHECKPOINT_HEADER_BYTES];
    const size_t want = r->size < FM_CHECKPOINT_HEADER_BYTES ? (size_t)r->size : FM_CHECKPOINT_HEADER_BYTES;
    const size_t got = fread(head, 1, want, r->f);
    if (got != want && ferror(r->f))
        return fm_fail(FM_ERR_IO, msg, "%s: cannot read the header: %s", path, strerror(errno));
    const size_t magic = got < FM_CHECKPOINT_MAGIC_BYTES ? got : FM_CHECKPOINT_MAGIC_BYTES;
    if (got == 0)
        return fm_fail(FM_ERR_PARSE, msg, "%s: empty file; expected a factormer model file", path);
    if (memcmp(head, FM_CHECKPOINT_MAGIC, magic) != 0)
        return fm_fail(FM_ERR_PARSE, msg,
                       "%s: not a factormer model file: it does not begin with the magic \"FMW1\\r\\n\\032\\n\"",
                       path);
    if (got >= 12 && get_u32(head + 8) != FM_CHECKPOINT_VERSION)
        return fm_fail(FM_ERR_PARSE, msg, "%s: unsupported checkpoint version %" PRIu32 "; this build reads version %u",
                       path, get_u32(head + 8), FM_CHECKPOINT_VERSION);
    if (got < FM_CHECKPOINT_HEADER_BYTES)
        return fm_fail(FM_ERR_PARSE, msg, "%s: truncated: the file has %zu bytes and ends inside the %d-byte header",
                       path, got, FM_CHECKPOINT_HEADER_BYTES);
    const uint32_t stored = get_u32(head + HEADER_CRC_AT), computed = crc_of(0, head, HEADER_CRC_AT);
    if (stored != computed)
        return fm_fail(FM_ERR_PARSE, msg,
                       "%s: corrupted: checksum 0x%08" PRIx32 " of the header (bytes 0 to %d) does not match the "
                       "stored 0x%08" PRIx32,
                       path, computed, HEADER_CRC_AT - 1, stored);
    r->crc = crc_of(r->crc, head, sizeof head);
    r->at = FM_CHECKPOINT_HEADER_BYTES;
    h->version = get_u32(head + 8);
    h->flags = get_u32(head + 12);
    h->kind = (fm_model_kind)get_u32(head + 16);
    int *fields[5] = {&h->config.inputs, &h->config.rank, &h->config.width, &h->config.heads, &h->config.layers};
    for (int i = 0; i < 5; i++) *fields[i] = (int)(int32_t)get_u32(head + 20 + 4 * i);
    *tensors = get_u32(head + 40);
    *table_bytes = get_u32(head + 44);
    *count = get_u64(head + 48);
    *state_bytes = get_u32(head + 56);
    return FM_OK;
}

// The model is the one the caller needs.
static int check_expect(const char *path, const fm_checkpoint_header *h, const fm_checkpoint_expect *expect,
                        char *msg)
{
    if (!expect) return FM_OK;
    const int rank = expect->rank > 0 ? expect->rank : h->config.rank;
    if (expect->kind && expect->kind != h->kind)
        return fm_fail(FM_ERR_INVALID, msg, "%s: an %s model, but an %s model is needed; " TRAIN_MODEL_HINT, path,
                       fm_model_kind_name(h->kind), fm_model_kind_name(expect->kind), kind_flag(expect->kind), rank);
    if (expect->rank > 0 && expect->rank != h->config.rank)
        return fm_fail(FM_ERR_INVALID, msg, "%s: a rank-%d %s model, but --rank %d needs a rank-%d model; " TRAIN_MODEL_HINT,
                       path, h->config.rank, fm_model_kind_name(h->kind), expect->rank, expect->rank,
                       kind_flag(h->kind), expect->rank);
    if (expect->training && !(h->flags & FM_CHECKPOINT_TRAINING))
        return fm_fail(FM_ERR_INVALID, msg,
                       "%s: a model without training state (values only); resuming a run needs a training "
                       "checkpoint, which also holds the optimizer moments and the counters",
                       path);
    return FM_OK;
}

// The tensor table, now covered by the file's checksum, against the layout.
static int check_table(const char *path, const uint8_t *table, int64_t table_bytes, const layout *l,
                       const char *model, char *msg)
{
    int64_t at = 0;
    for (int t = 0; t < l->tensors; t++) {
        const fm_tensor_spec *want = &l->specs[t];
        if (table_bytes - at < 4)
            return fm_fail(FM_ERR_PARSE, msg, "%s: the tensor table ends before tensor %d of %d", path, t, l->tensors);
        const uint32_t n = get_u32(table + at);
        if (n < 1 || n >= FM_LFACTORMER_NAME || (int64_t)n + 16 > table_bytes - at - 4)
            return fm_fail(FM_ERR_PARSE, msg,
                           "%s: tensor %d of the table has a name of %" PRIu32
                           " bytes; expected 1 to %d bytes and its shape within the table's %" PRId64 " bytes",
                           path, t, n, FM_LFACTORMER_NAME - 1, table_bytes);
        char name[FM_LFACTORMER_NAME];
        memcpy(name, table + at + 4, n);
        name[n] = 0;
        at += 4 + n;
        const uint32_t rows = get_u32(table + at), cols = get_u32(table + at + 4);
        const uint64_t offset = get_u64(table + at + 8);
        at += 16;
        if (strlen(name) != n || strcmp(name, want->name) || rows != (uint32_t)want->rows ||
            cols != (uint32_t)want->cols || offset != (uint64_t)l->offsets[t]) {
            char shown[4 * FM_LFACTORMER_NAME];   // the name as the file has it, control bytes escaped
            fm_escape(shown, sizeof shown, name);
            return fm_fail(FM_ERR_PARSE, msg,
                           "%s: tensor %d is '%s' of %" PRIu32 " x %" PRIu32 " at %" PRIu64 ", but the layout of %s "
                           "has '%s' of %d x %d at %" PRId64 " there (a file of another layout or version)",
                           path, t, shown, rows, cols, offset, model, want->name, want->rows, want->cols,
                           l->offsets[t]);
        }
    }
    if (at != table_bytes)
        return fm_fail(FM_ERR_PARSE, msg, "%s: the tensor table holds %" PRId64 " bytes after its %d tensors", path,
                       table_bytes - at, l->tensors);
    return FM_OK;
}

int fm_checkpoint_read(const char *path, fm_checkpoint_header *header, fm_params **params, fm_train_state *state,
                       const fm_checkpoint_expect *expect, char *msg)
{
    reader r = {.path = path};
    layout l = {0};
    fm_params *p = NULL;
    uint8_t *table = NULL, *chunk = NULL;
    int fd = -1;
#define FREE_ALL { if (r.f) fclose(r.f); if (fd >= 0) close(fd); layout_free(&l); fm_params_free(&p); \
                   free(table); free(chunk); }
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_checkpoint_read: the path must be a non-empty string");
    FM_CHECK(header && params && !*params, FM_ERR_INVALID,
             "%s: fm_checkpoint_read needs a header and an empty parameter handle", path);

    fd = open(path, O_RDONLY);
    if (fd < 0) FM_FAIL(FM_ERR_IO, "%s: cannot open the model file: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) FM_FAIL(FM_ERR_IO, "%s: cannot stat the model file: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) FM_FAIL(FM_ERR_IO, "%s: is a directory; expected a factormer model file", path);
    r.f = fdopen(fd, "rb");
    if (!r.f) FM_FAIL(FM_ERR_IO, "%s: cannot open a stream on the model file: %s", path, strerror(errno));
    fd = -1;   // fclose closes it now
    r.size = (int64_t)st.st_size;
    r.crc = crc_of(0, NULL, 0);

    fm_checkpoint_header h = {0};
    uint32_t tensors = 0, table_bytes = 0, state_bytes = 0;
    uint64_t count = 0;
    FM_TRY(read_header(&r, &h, &tensors, &table_bytes, &count, &state_bytes, msg));
    const bool training = h.flags & FM_CHECKPOINT_TRAINING;
    FM_CHECK(!(h.flags & ~FM_CHECKPOINT_TRAINING), FM_ERR_PARSE,
             "%s: unknown flags 0x%08" PRIx32 "; version %u defines only 0x%x (training state)", path, h.flags,
             FM_CHECKPOINT_VERSION, FM_CHECKPOINT_TRAINING);
    FM_TRY(check_model(h.kind, &h.config, path, FM_ERR_PARSE, msg));
    FM_TRY(check_expect(path, &h, expect, msg));

    FM_TRY(layout_of(&l, &h.config, msg));
    char model[FM_MSG_LEN / 2];
    describe(model, sizeof model, h.kind, &h.config);
    FM_CHECK(tensors == (uint32_t)l.tensors, FM_ERR_PARSE, "%s: the header lists %" PRIu32 " tensors, but %s has %d",
             path, tensors, model, l.tensors);
    FM_CHECK(count == (uint64_t)l.count, FM_ERR_PARSE,
             "%s: the header says %" PRIu64 " parameters, but %s has %" PRId64, path, count, model, l.count);
    const int64_t min_table = (int64_t)l.tensors * (ENTRY_FIXED_BYTES + 1);
    const int64_t max_table = (int64_t)l.tensors * (ENTRY_FIXED_BYTES + FM_LFACTORMER_NAME - 1);
    FM_CHECK(table_bytes >= min_table && table_bytes <= max_table, FM_ERR_PARSE,
             "%s: the header gives the tensor table %" PRIu32 " bytes; expected %" PRId64 " to %" PRId64
             " for %d tensors",
             path, table_bytes, min_table, max_table, l.tensors);
    const uint32_t want_state = training ? FM_TRAIN_STATE_BYTES : 0;
    FM_CHECK(state_bytes == want_state, FM_ERR_PARSE,
             "%s: the header gives the training state %" PRIu32 " bytes; expected %" PRIu32 " for %s", path,
             state_bytes, want_state, training ? "a training checkpoint" : "a model without training state");

    // What the header says the file holds, part by part.
    const int64_t block_bytes = 4 * l.count;
    part parts[6];
    int nparts = 0;
    int64_t end = FM_CHECKPOINT_HEADER_BYTES + table_bytes;
    parts[nparts++] = (part){"tensor table", end};
    parts[nparts++] = (part){"values", end += block_bytes};
    if (training) {
        parts[nparts++] = (part){"first moments (m)", end += block_bytes};
        parts[nparts++] = (part){"second moments (v)", end += block_bytes};
        parts[nparts++] = (part){"training state", end += FM_TRAIN_STATE_BYTES};
    }
    parts[nparts++] = (part){"checksum", end += 4};
    if (r.size < end) {
        int in = 0;
        while (parts[in].end <= r.size) in++;
        FM_FAIL(FM_ERR_PARSE,
                "%s: truncated: the file has %" PRId64 " bytes, but its header describes %" PRId64
                " (%s); it ends inside the %s",
                path, r.size, end, model, parts[in].name);
    }
    FM_CHECK(r.size == end, FM_ERR_PARSE,
             "%s: %" PRId64 " bytes follow the checksum; the header describes a file of %" PRId64 " bytes (%s)", path,
             r.size - end, end, model);

    // One pass over the rest, under the file's checksum; nothing is believed until it matches.
    FM_ALLOC(table, table_bytes);
    FM_ALLOC(chunk, 4 * CHUNK_FLOATS);
    FM_TRY(fm_lfactormer_params_new(&p, &h.config, msg));
    FM_CHECK(p->count == l.count, FM_ERR_INVALID,
             "%s: internal error: the model's layout has %" PRId64 " parameters, fm_params_new laid out %" PRId64, path,
             l.count, p->count);
    FM_TRY(read_bytes(&r, table, table_bytes, "tensor table", msg));
    FM_TRY(read_block(&r, p->values, p->count, chunk, "values", msg));
    uint8_t encoded[FM_TRAIN_STATE_BYTES];
    if (training) {
        FM_TRY(read_block(&r, p->m, p->count, chunk, "first moments (m)", msg));
        FM_TRY(read_block(&r, p->v, p->count, chunk, "second moments (v)", msg));
        FM_TRY(read_bytes(&r, encoded, sizeof encoded, "training state", msg));
    }
    const uint32_t computed = r.crc;
    uint8_t crc[4];
    FM_TRY(read_bytes(&r, crc, sizeof crc, "checksum", msg));
    const uint32_t stored = get_u32(crc);
    FM_CHECK(stored == computed, FM_ERR_PARSE,
             "%s: corrupted: checksum 0x%08" PRIx32 " of the content does not match the stored 0x%08" PRIx32, path,
             computed, stored);

    FM_TRY(check_table(path, table, table_bytes, &l, model, msg));
    FM_TRY(check_blocks(p, training, FM_ERR_PARSE, path, "finite values", msg));
    fm_train_state s = {.best_validation_rmse = INFINITY};
    if (training) {
        decode_state(&s, encoded);
        FM_TRY(check_state(&s, FM_ERR_PARSE, path, msg));
    }

    *header = h;
    if (state) *state = s;
    *params = p;
    p = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
