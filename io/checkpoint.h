// Checkpoints: named tensors in one file. io/ knows no model: a file holds a
// model kind and five shape fields (which the model interprets), a table of
// named tensors, their parameter block (engine/params.h), and with a flag
// the two AdamW moments and a training state. The model checks the kind,
// the shape fields and the names (models/nmf/lfactormer_checkpoint.h for the
// L-Factormer); this code checks everything else: the bytes, the sizes,
// the checksums, the table against the layout the model gives, and NaN.
//
// A shipped model holds the values only; a training state holds the values,
// both AdamW moments and the counters a killed run needs to resume with the
// same result as an uninterrupted one. A flag says which.
//
// Byte layout, version 1. Every integer is little-endian and fixed-width,
// every real an IEEE-754 float32 (blocks) or float64 (training state) in
// little-endian byte order, whatever the host:
//
//   offset  bytes  field
//        0      8  magic "FMW1\r\n\032\n" (FM_CHECKPOINT_MAGIC)
//        8      4  u32 version (FM_CHECKPOINT_VERSION)
//       12      4  u32 flags: FM_CHECKPOINT_TRAINING (bit 0) if m, v and the
//                  training state follow the values; no other bit is defined
//       16      4  u32 model kind (models/model_kind.h: 1 initialization,
//                  2 acceleration, ...)
//       20     20  i32 shape fields, FM_CHECKPOINT_SHAPE_FIELDS of them, the
//                  kind's hyperparameters (the L-Factormer's: inputs, rank,
//                  width, heads, layers)
//       40      4  u32 tensors: the number the kind and shape lay out
//       44      4  u32 table bytes: the size of the tensor table
//       48      8  u64 parameter count: floats in each block, padding included,
//                  as fm_params_new lays out the tensors
//       56      4  u32 state bytes: FM_TRAIN_STATE_BYTES with the flag, else 0
//       60      4  u32 CRC-32 (zlib's crc32) of bytes 0..59, the header's own
//       64      T  tensor table, per tensor in the model's order:
//                    u32 name length n (1..FM_CHECKPOINT_NAME-1), n bytes of
//                    name (no NUL), u32 rows, u32 cols, u64 offset in the block
//   64 + T    4·C  values, C = parameter count
//      then   4·C  m, first moments       } only with FM_CHECKPOINT_TRAINING
//      then   4·C  v, second moments      }
//      then    64  training state         } (fm_train_state, fields in order:
//                  six u64 then two f64)
//    end−4      4  u32 CRC-32 of every byte before it, the header included
//
// A file is FM_CHECKPOINT_HEADER_BYTES + T + 4·C·(1 or 3) + (0 or 64) + 4
// bytes long, exactly.
//
// Reading is staged so that the model can check what it knows between the
// steps, and nothing is believed before a checksum covers it:
//   fm_checkpoint_open: the magic and the version; the header's own checksum
//     (a flipped header byte is caught before any field is believed); the
//     flags. The model then checks the kind and the shape fields and makes
//     the layout of its tensors.
//   fm_checkpoint_check_layout: the tensor and parameter counts, the table
//     and state sizes against that layout; the size of the file against what
//     the header says it holds (a truncated file names the part it ends in).
//     The model then lays out its parameter block.
//   fm_checkpoint_read_tensors: the checksum of the whole file (so no other
//     field is interpreted before it is known to be intact); then every
//     tensor's name, shape and offset against the layout (a file of an older
//     layout names the first tensor that differs), and every value, moment
//     and state field for NaN and infinity.
// Every message names the file and what was expected. Memory allocated for
// a file is bounded by the file's size and the layout.
#ifndef FM_CHECKPOINT_H
#define FM_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "params.h"

#define FM_CHECKPOINT_MAGIC "FMW1\r\n\032\n"   // 8 bytes, no NUL in the file
#define FM_CHECKPOINT_MAGIC_BYTES 8
#define FM_CHECKPOINT_VERSION 1u
#define FM_CHECKPOINT_HEADER_BYTES 64
#define FM_CHECKPOINT_TRAINING 1u        // flag: m, v and the training state follow
#define FM_CHECKPOINT_SHAPE_FIELDS 5
#define FM_CHECKPOINT_NAME 64            // a tensor's name has 1 to FM_CHECKPOINT_NAME-1 bytes
#define FM_TRAIN_STATE_BYTES 64
// The largest dimension a model may declare in its shape fields: far beyond
// any model, small enough that no size computed from them overflows.
#define FM_CHECKPOINT_MAX_DIM 65536

// The fixed header's fields that are not counts (those follow the layout).
typedef struct fm_checkpoint_fields {
    uint32_t version;   // the reader sets the file's; the writer writes FM_CHECKPOINT_VERSION
    uint32_t flags;     // the reader sets the file's; the writer sets FM_CHECKPOINT_TRAINING
                        // exactly when it is given a training state
    uint32_t kind;      // the model kind; io does not interpret it
    int32_t shape[FM_CHECKPOINT_SHAPE_FIELDS];   // the kind's hyperparameters; unused ones 0
} fm_checkpoint_fields;

// Where a training run stands, so that a resumed run continues it exactly.
typedef struct fm_train_state {
    uint64_t epoch;                // epochs completed
    uint64_t step;                 // optimizer steps taken: AdamW's t (its bias correction)
    uint64_t seed;                 // the run's seed: every draw is a counter-based stream of it
    uint64_t rng_counter;          // the next counter of the run's sample stream (draws so far)
    uint64_t curriculum_steps;     // unrolled solver steps the curriculum has reached
    uint64_t best_epoch;           // the epoch of best_validation_rmse; 0 before any
    double learning_rate;          // the rate of the next step (schedule applied); finite, >= 0
    double best_validation_rmse;   // the lowest so far, >= 0; +infinity before any
} fm_train_state;

// The tensors a model's kind and shape fields lay out, in file order (as
// fm_params_new lays them out: names of 1 to FM_CHECKPOINT_NAME-1 bytes),
// and the model in words for messages ("an initialization model of rank 3,
// ..."). The model makes it; the specs and the words must outlive the reader
// or the write that uses them.
typedef struct fm_checkpoint_layout {
    const fm_tensor_spec *specs;
    int tensors;
    const char *model;
} fm_checkpoint_layout;

// Writes `fields` (kind and shape), the tensor table of `layout` and
// `params`, which must be laid out by fm_params_new for it, and with `state`
// (NULL for a shipped model) the m and v blocks and the state, to a
// temporary name renamed onto `path` when complete: a failed write leaves
// nothing behind. Refuses NaN and infinity in the blocks it writes and a
// negative second moment (FM_ERR_NUMERIC), parameters of another layout and
// a state out of range (FM_ERR_INVALID). The caller has checked `path`, the
// kind and the shape.
int fm_checkpoint_write_tensors(const char *path, const fm_checkpoint_fields *fields,
                                const fm_checkpoint_layout *layout, const fm_params *params,
                                const fm_train_state *state, char *msg);

typedef struct fm_checkpoint_reader fm_checkpoint_reader;

// Opens `path` and reads its fixed header: *fields gets the version, the
// flags, the kind and the shape fields; *out (NULL on entry) the reader.
// Errors: FM_ERR_IO (missing, unreadable, a directory), FM_ERR_PARSE (not a
// checkpoint, another version, truncated, a corrupted header, unknown
// flags), FM_ERR_MEMORY. `path` must outlive the reader.
int fm_checkpoint_open(fm_checkpoint_reader **out, const char *path, fm_checkpoint_fields *fields, char *msg);

// The header's counts and the file's size against the layout the model
// makes of the kind and shape fields. FM_ERR_PARSE where they differ or the
// file is truncated or too long.
int fm_checkpoint_check_layout(fm_checkpoint_reader *r, const fm_checkpoint_layout *layout, char *msg);

// Reads the rest into `params`, laid out by fm_params_new for the layout
// given to fm_checkpoint_check_layout: the values and, for a training state,
// m and v (else left as they are); *state gets the training state, or, from
// a file that holds none, zeros with best_validation_rmse +infinity; `state`
// may be NULL. FM_ERR_PARSE for a corrupted file, a table other than the
// layout, NaN or infinity; `params` may then hold part of the file.
int fm_checkpoint_read_tensors(fm_checkpoint_reader *r, fm_params *params, fm_train_state *state, char *msg);

// Closes the file; *r becomes NULL (NULL or a NULL handle: nothing).
void fm_checkpoint_close(fm_checkpoint_reader **r);

#endif
