// What the checkpoint writer (io/checkpoint.c) and reader
// (io/checkpoint_read.c) share: little-endian fields, the checksum, the
// offsets of a layout, and the checks of the blocks and the training state.
// Private to io/.
#ifndef FM_CHECKPOINT_PARTS_H
#define FM_CHECKPOINT_PARTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "checkpoint.h"

#define CHECKPOINT_CHUNK_FLOATS 16384                     // floats encoded or decoded at a time
#define CHECKPOINT_ENTRY_FIXED_BYTES (4 + 4 + 4 + 8)      // a table entry less its name
#define CHECKPOINT_HEADER_CRC_AT (FM_CHECKPOINT_HEADER_BYTES - 4)

static inline void fm_put_u32(uint8_t *b, uint32_t x)
{
    for (int i = 0; i < 4; i++) b[i] = (uint8_t)(x >> (8 * i));
}

static inline void fm_put_u64(uint8_t *b, uint64_t x)
{
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(x >> (8 * i));
}

static inline uint32_t fm_get_u32(const uint8_t *b)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) x |= (uint32_t)b[i] << (8 * i);
    return x;
}

static inline uint64_t fm_get_u64(const uint8_t *b)
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x |= (uint64_t)b[i] << (8 * i);
    return x;
}

static inline uint32_t fm_checkpoint_crc(uint32_t crc, const uint8_t *bytes, size_t n)
{
    return (uint32_t)crc32(crc, bytes, (uInt)n);   // callers pass at most a chunk or the table
}

// Where a layout's tensors lie in the block and in the file.
typedef struct fm_checkpoint_offsets {
    int64_t *offsets;     // per tensor, as fm_params_new lays them out
    int64_t count;        // floats per block
    int64_t table_bytes;  // the tensor table in the file
} fm_checkpoint_offsets;

int fm_checkpoint_offsets_of(fm_checkpoint_offsets *o, const fm_checkpoint_layout *layout, char *msg);
void fm_checkpoint_offsets_free(fm_checkpoint_offsets *o);

// FM_OK, or `code` naming the first NaN or infinity of the values (and with
// `moments` of m, or the first negative or non-finite element of v).
int fm_checkpoint_check_blocks(const fm_params *p, bool moments, int code, const char *who, char *msg);
// FM_OK, or `code`: a learning rate not finite or negative, a best
// validation RMSE NaN or negative.
int fm_checkpoint_check_state(const fm_train_state *s, int code, const char *who, char *msg);

void fm_checkpoint_encode_state(uint8_t b[FM_TRAIN_STATE_BYTES], const fm_train_state *s);
void fm_checkpoint_decode_state(fm_train_state *s, const uint8_t b[FM_TRAIN_STATE_BYTES]);

#endif
