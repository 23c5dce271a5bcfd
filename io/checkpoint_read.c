// Checkpoints: the staged reader (io/checkpoint.h has the byte layout).
//
// Reading never believes a field before a checksum covers it: the header has
// its own CRC, checked before its counts and sizes are used; the tensor
// table, the blocks and the state are read in one pass that computes the
// file's CRC and are interpreted only once it matches. Memory allocated for
// a file is bounded by the file's size and the layout the model gives.
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint_parts.h"
#include "status.h"

struct fm_checkpoint_reader {
    const char *path;
    FILE *f;
    int64_t size;    // the file's size when opened
    int64_t at;      // bytes read so far
    uint32_t crc;    // of the bytes read so far
    // the header's counts
    bool training;
    uint32_t tensors, table_bytes, state_bytes;
    uint64_t count;
    // set by fm_checkpoint_check_layout
    const fm_checkpoint_layout *layout;
    fm_checkpoint_offsets offsets;
};

// The parts of a file, in order, for the message of a truncated one.
typedef struct part {
    const char *name;
    int64_t end;     // the offset just past it
} part;

void fm_checkpoint_close(fm_checkpoint_reader **r)
{
    if (!r || !*r) return;
    if ((*r)->f) fclose((*r)->f);
    fm_checkpoint_offsets_free(&(*r)->offsets);
    free(*r);
    *r = NULL;
}

// Reads n bytes into `bytes`; a short read (the file shrank while being
// read) is reported as a truncation inside `what`.
static int read_bytes(fm_checkpoint_reader *r, uint8_t *bytes, size_t n, const char *what, char *msg)
{
    const size_t got = fread(bytes, 1, n, r->f);
    if (got != n) {
        if (ferror(r->f))
            return fm_fail(FM_ERR_IO, msg, "%s: cannot read the %s: %s", r->path, what, strerror(errno));
        return fm_fail(FM_ERR_PARSE, msg, "%s: truncated: the file ends at byte %" PRId64 ", inside the %s", r->path,
                       r->at + (int64_t)got, what);
    }
    r->crc = fm_checkpoint_crc(r->crc, bytes, n);
    r->at += (int64_t)n;
    return FM_OK;
}

static int read_block(fm_checkpoint_reader *r, float *block, int64_t count, uint8_t *chunk, const char *what,
                      char *msg)
{
    for (int64_t start = 0; start < count; start += CHECKPOINT_CHUNK_FLOATS) {
        const int64_t n = count - start < CHECKPOINT_CHUNK_FLOATS ? count - start : CHECKPOINT_CHUNK_FLOATS;
        const int status = read_bytes(r, chunk, 4 * (size_t)n, what, msg);
        if (status) return status;
        for (int64_t e = 0; e < n; e++) {
            const uint32_t bits = fm_get_u32(chunk + 4 * e);
            memcpy(&block[start + e], &bits, sizeof bits);
        }
    }
    return FM_OK;
}

// The fixed header: the magic, the version, the header's checksum, then the
// fields into *h and the counts into r.
static int read_header(fm_checkpoint_reader *r, fm_checkpoint_fields *h, char *msg)
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
    if (got >= 12 && fm_get_u32(head + 8) != FM_CHECKPOINT_VERSION)
        return fm_fail(FM_ERR_PARSE, msg, "%s: unsupported checkpoint version %" PRIu32 "; this build reads version %u",
                       path, fm_get_u32(head + 8), FM_CHECKPOINT_VERSION);
    if (got < FM_CHECKPOINT_HEADER_BYTES)
        return fm_fail(FM_ERR_PARSE, msg, "%s: truncated: the file has %zu bytes and ends inside the %d-byte header",
                       path, got, FM_CHECKPOINT_HEADER_BYTES);
    const uint32_t stored = fm_get_u32(head + CHECKPOINT_HEADER_CRC_AT),
                   computed = fm_checkpoint_crc(0, head, CHECKPOINT_HEADER_CRC_AT);
    if (stored != computed)
        return fm_fail(FM_ERR_PARSE, msg,
                       "%s: corrupted: checksum 0x%08" PRIx32 " of the header (bytes 0 to %d) does not match the "
                       "stored 0x%08" PRIx32,
                       path, computed, CHECKPOINT_HEADER_CRC_AT - 1, stored);
    r->crc = fm_checkpoint_crc(r->crc, head, sizeof head);
    r->at = FM_CHECKPOINT_HEADER_BYTES;
    h->version = fm_get_u32(head + 8);
    h->flags = fm_get_u32(head + 12);
    h->kind = fm_get_u32(head + 16);
    for (int i = 0; i < FM_CHECKPOINT_SHAPE_FIELDS; i++) h->shape[i] = (int32_t)fm_get_u32(head + 20 + 4 * i);
    r->tensors = fm_get_u32(head + 40);
    r->table_bytes = fm_get_u32(head + 44);
    r->count = fm_get_u64(head + 48);
    r->state_bytes = fm_get_u32(head + 56);
    return FM_OK;
}

int fm_checkpoint_open(fm_checkpoint_reader **out, const char *path, fm_checkpoint_fields *fields, char *msg)
{
    fm_checkpoint_reader *r = NULL;
    int fd = -1;
#define FREE_ALL { if (fd >= 0) close(fd); fm_checkpoint_close(&r); }
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_checkpoint_open: the path must be a non-empty string");
    FM_CHECK(out && !*out && fields, FM_ERR_INVALID,
             "%s: fm_checkpoint_open needs an empty reader handle and the header's fields", path);
    FM_ALLOC(r, 1);
    memset(r, 0, sizeof *r);
    r->path = path;
    fd = open(path, O_RDONLY);
    if (fd < 0) FM_FAIL(FM_ERR_IO, "%s: cannot open the model file: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) FM_FAIL(FM_ERR_IO, "%s: cannot stat the model file: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) FM_FAIL(FM_ERR_IO, "%s: is a directory; expected a factormer model file", path);
    r->f = fdopen(fd, "rb");
    if (!r->f) FM_FAIL(FM_ERR_IO, "%s: cannot open a stream on the model file: %s", path, strerror(errno));
    fd = -1;   // fclose closes it now
    r->size = (int64_t)st.st_size;
    r->crc = fm_checkpoint_crc(0, NULL, 0);

    fm_checkpoint_fields h = {0};
    FM_TRY(read_header(r, &h, msg));
    r->training = h.flags & FM_CHECKPOINT_TRAINING;
    FM_CHECK(!(h.flags & ~FM_CHECKPOINT_TRAINING), FM_ERR_PARSE,
             "%s: unknown flags 0x%08" PRIx32 "; version %u defines only 0x%x (training state)", path, h.flags,
             FM_CHECKPOINT_VERSION, FM_CHECKPOINT_TRAINING);
    *fields = h;
    *out = r;
    return FM_OK;
#undef FREE_ALL
}

int fm_checkpoint_check_layout(fm_checkpoint_reader *r, const fm_checkpoint_layout *layout, char *msg)
{
#define FREE_ALL
    FM_CHECK(r && layout && layout->specs && layout->model && !r->layout, FM_ERR_INVALID,
             "fm_checkpoint_check_layout needs an open reader, not yet checked, and a layout");
    const char *path = r->path, *model = layout->model;
    FM_TRY(fm_checkpoint_offsets_of(&r->offsets, layout, msg));
    const int64_t count = r->offsets.count;
    FM_CHECK(r->tensors == (uint32_t)layout->tensors, FM_ERR_PARSE,
             "%s: the header lists %" PRIu32 " tensors, but %s has %d", path, r->tensors, model, layout->tensors);
    FM_CHECK(r->count == (uint64_t)count, FM_ERR_PARSE,
             "%s: the header says %" PRIu64 " parameters, but %s has %" PRId64, path, r->count, model, count);
    const int64_t min_table = (int64_t)layout->tensors * (CHECKPOINT_ENTRY_FIXED_BYTES + 1);
    const int64_t max_table = (int64_t)layout->tensors * (CHECKPOINT_ENTRY_FIXED_BYTES + FM_CHECKPOINT_NAME - 1);
    FM_CHECK(r->table_bytes >= min_table && r->table_bytes <= max_table, FM_ERR_PARSE,
             "%s: the header gives the tensor table %" PRIu32 " bytes; expected %" PRId64 " to %" PRId64
             " for %d tensors",
             path, r->table_bytes, min_table, max_table, layout->tensors);
    const uint32_t want_state = r->training ? FM_TRAIN_STATE_BYTES : 0;
    FM_CHECK(r->state_bytes == want_state, FM_ERR_PARSE,
             "%s: the header gives the training state %" PRIu32 " bytes; expected %" PRIu32 " for %s", path,
             r->state_bytes, want_state, r->training ? "a training checkpoint" : "a model without training state");

    // What the header says the file holds, part by part.
    const int64_t block_bytes = 4 * count;
    part parts[6];
    int nparts = 0;
    int64_t end = FM_CHECKPOINT_HEADER_BYTES + r->table_bytes;
    parts[nparts++] = (part){"tensor table", end};
    parts[nparts++] = (part){"values", end += block_bytes};
    if (r->training) {
        parts[nparts++] = (part){"first moments (m)", end += block_bytes};
        parts[nparts++] = (part){"second moments (v)", end += block_bytes};
        parts[nparts++] = (part){"training state", end += FM_TRAIN_STATE_BYTES};
    }
    parts[nparts++] = (part){"checksum", end += 4};
    if (r->size < end) {
        int in = 0;
        while (parts[in].end <= r->size) in++;
        FM_FAIL(FM_ERR_PARSE,
                "%s: truncated: the file has %" PRId64 " bytes, but its header describes %" PRId64
                " (%s); it ends inside the %s",
                path, r->size, end, model, parts[in].name);
    }
    FM_CHECK(r->size == end, FM_ERR_PARSE,
             "%s: %" PRId64 " bytes follow the checksum; the header describes a file of %" PRId64 " bytes (%s)", path,
             r->size - end, end, model);
    r->layout = layout;
    return FM_OK;
#undef FREE_ALL
}

// The tensor table, now covered by the file's checksum, against the layout.
static int check_table(const fm_checkpoint_reader *r, const uint8_t *table, char *msg)
{
    const char *path = r->path;
    const fm_checkpoint_layout *l = r->layout;
    const int64_t table_bytes = r->table_bytes, *offsets = r->offsets.offsets;
    int64_t at = 0;
    for (int t = 0; t < l->tensors; t++) {
        const fm_tensor_spec *want = &l->specs[t];
        if (table_bytes - at < 4)
            return fm_fail(FM_ERR_PARSE, msg, "%s: the tensor table ends before tensor %d of %d", path, t, l->tensors);
        const uint32_t n = fm_get_u32(table + at);
        if (n < 1 || n >= FM_CHECKPOINT_NAME || (int64_t)n + 16 > table_bytes - at - 4)
            return fm_fail(FM_ERR_PARSE, msg,
                           "%s: tensor %d of the table has a name of %" PRIu32
                           " bytes; expected 1 to %d bytes and its shape within the table's %" PRId64 " bytes",
                           path, t, n, FM_CHECKPOINT_NAME - 1, table_bytes);
        char name[FM_CHECKPOINT_NAME];
        memcpy(name, table + at + 4, n);
        name[n] = 0;
        at += 4 + n;
        const uint32_t rows = fm_get_u32(table + at), cols = fm_get_u32(table + at + 4);
        const uint64_t offset = fm_get_u64(table + at + 8);
        at += 16;
        if (strlen(name) != n || strcmp(name, want->name) || rows != (uint32_t)want->rows ||
            cols != (uint32_t)want->cols || offset != (uint64_t)offsets[t]) {
            char shown[4 * FM_CHECKPOINT_NAME];   // the name as the file has it, control bytes escaped
            fm_escape(shown, sizeof shown, name);
            return fm_fail(FM_ERR_PARSE, msg,
                           "%s: tensor %d is '%s' of %" PRIu32 " x %" PRIu32 " at %" PRIu64 ", but the layout of %s "
                           "has '%s' of %d x %d at %" PRId64 " there (a file of another layout or version)",
                           path, t, shown, rows, cols, offset, l->model, want->name, want->rows, want->cols,
                           offsets[t]);
        }
    }
    if (at != table_bytes)
        return fm_fail(FM_ERR_PARSE, msg, "%s: the tensor table holds %" PRId64 " bytes after its %d tensors", path,
                       table_bytes - at, l->tensors);
    return FM_OK;
}

int fm_checkpoint_read_tensors(fm_checkpoint_reader *r, fm_params *p, fm_train_state *state, char *msg)
{
    uint8_t *table = NULL, *chunk = NULL;
#define FREE_ALL { free(table); free(chunk); }
    FM_CHECK(r && r->layout && p, FM_ERR_INVALID,
             "fm_checkpoint_read_tensors needs a reader whose layout was checked, and parameters");
    const char *path = r->path;
    FM_CHECK(p->count == r->offsets.count && p->tensors == r->layout->tensors, FM_ERR_INVALID,
             "%s: internal error: the model's layout has %" PRId64 " parameters, fm_params_new laid out %" PRId64,
             path, r->offsets.count, p->count);

    // One pass over the rest, under the file's checksum; nothing is believed until it matches.
    FM_ALLOC(table, r->table_bytes);
    FM_ALLOC(chunk, 4 * CHECKPOINT_CHUNK_FLOATS);
    FM_TRY(read_bytes(r, table, r->table_bytes, "tensor table", msg));
    FM_TRY(read_block(r, p->values, p->count, chunk, "values", msg));
    uint8_t encoded[FM_TRAIN_STATE_BYTES];
    if (r->training) {
        FM_TRY(read_block(r, p->m, p->count, chunk, "first moments (m)", msg));
        FM_TRY(read_block(r, p->v, p->count, chunk, "second moments (v)", msg));
        FM_TRY(read_bytes(r, encoded, sizeof encoded, "training state", msg));
    }
    const uint32_t computed = r->crc;
    uint8_t crc[4];
    FM_TRY(read_bytes(r, crc, sizeof crc, "checksum", msg));
    const uint32_t stored = fm_get_u32(crc);
    FM_CHECK(stored == computed, FM_ERR_PARSE,
             "%s: corrupted: checksum 0x%08" PRIx32 " of the content does not match the stored 0x%08" PRIx32, path,
             computed, stored);

    FM_TRY(check_table(r, table, msg));
    FM_TRY(fm_checkpoint_check_blocks(p, r->training, FM_ERR_PARSE, path, msg));
    fm_train_state s = {.best_validation_rmse = INFINITY};
    if (r->training) {
        fm_checkpoint_decode_state(&s, encoded);
        FM_TRY(fm_checkpoint_check_state(&s, FM_ERR_PARSE, path, msg));
    }
    if (state) *state = s;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
