// Model checkpoints: one file kind for a shipped model (the parameter values
// only) and for a training state (the values, both AdamW moments and the
// counters a killed run needs to resume with the same result as an
// uninterrupted one). A flag says which.
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
//       16      4  u32 model kind: 1 initialization, 2 acceleration
//       20     20  i32 inputs, rank, width, heads, layers (fm_lfactormer_config);
//                  inputs is rank (initialization) or 2·rank (acceleration)
//       40      4  u32 tensors: 8 + 21·layers (FM_LFACTORMER_TENSORS)
//       44      4  u32 table bytes: the size of the tensor table
//       48      8  u64 parameter count: floats in each block, padding included;
//                  the count of fm_lfactormer_params_new for the hyperparameters
//       56      4  u32 state bytes: FM_TRAIN_STATE_BYTES with the flag, else 0
//       60      4  u32 CRC-32 (zlib's crc32) of bytes 0..59, the header's own
//       64      T  tensor table, per tensor in the order of fm_lfactormer_specs:
//                    u32 name length n (1..FM_LFACTORMER_NAME-1), n bytes of
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
// The reader checks, in order: the magic and the version; the header's own
// checksum (a flipped header byte is caught before any field is believed);
// the hyperparameters (in range, the inputs matching the kind); the kind,
// rank and content the caller expects; the tensor
// and parameter counts against the layout of those hyperparameters; the size
// of the file against what the header says it holds (a truncated file names
// the part it ends in); the checksum of the whole file (so no other field is
// interpreted before it is known to be intact); then every tensor's name,
// shape and offset against the layout (a file of an older layout names the
// first tensor that differs), and every value, moment and state field for
// NaN and infinity. Every message names the file and what was expected.
#ifndef FM_CHECKPOINT_H
#define FM_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "lfactormer.h"
#include "params.h"

#define FM_CHECKPOINT_MAGIC "FMW1\r\n\032\n"   // 8 bytes, no NUL in the file
#define FM_CHECKPOINT_MAGIC_BYTES 8
#define FM_CHECKPOINT_VERSION 1u
#define FM_CHECKPOINT_HEADER_BYTES 64
#define FM_CHECKPOINT_TRAINING 1u        // flag: m, v and the training state follow
#define FM_TRAIN_STATE_BYTES 64
// The largest rank, input width, width and heads a file may declare: far
// beyond any model, small enough that no size computed from them overflows.
#define FM_CHECKPOINT_MAX_DIM 65536

typedef enum fm_model_kind {
    FM_MODEL_INIT = 1,    // learned initialization: reads W_0, H_0 (inputs = rank)
    FM_MODEL_ACCEL = 2,   // learned acceleration: reads [W_prev | W_admm] (inputs = 2·rank)
} fm_model_kind;

// "initialization", "acceleration", or "unknown".
const char *fm_model_kind_name(fm_model_kind kind);
// The model's input width for a rank: rank, or 2·rank; 0 for an unknown kind.
int fm_model_kind_inputs(fm_model_kind kind, int rank);

typedef struct fm_checkpoint_header {
    uint32_t version;   // the reader sets the file's; the writer writes FM_CHECKPOINT_VERSION
    uint32_t flags;     // the reader sets the file's; the writer sets FM_CHECKPOINT_TRAINING
                        // exactly when it is given a training state
    fm_model_kind kind;
    fm_lfactormer_config config;
} fm_checkpoint_header;

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

// What the caller needs the file to hold.
typedef struct fm_checkpoint_expect {
    fm_model_kind kind;   // 0: any kind
    int rank;             // 0: any rank
    bool training;        // the file must hold a training state (to resume a run)
} fm_checkpoint_expect;

// Writes `params` laid out for header->kind and header->config (as by
// fm_lfactormer_params_new), and with `state` (NULL for a shipped model) the
// m and v blocks and the state, to a temporary name renamed onto `path` when
// complete: a failed write leaves nothing behind. Refuses NaN and infinity
// in the blocks it writes and a negative second moment (FM_ERR_NUMERIC), a
// layout other than the config's and a state out of range (FM_ERR_INVALID).
int fm_checkpoint_write(const char *path, const fm_checkpoint_header *header, const fm_params *params,
                        const fm_train_state *state, char *msg);

// Reads a checkpoint: *header gets its version, flags, kind and config;
// *params (NULL on entry) a block laid out by fm_lfactormer_params_new for
// that config, with the values and, for a training state, m and v (else
// zero); gradients zero. `state` may be NULL; if not, it gets the training
// state, or, from a file that holds none, zeros with best_validation_rmse
// +infinity. `expect` may be NULL (any model). Outputs are set only on
// success. Errors: FM_ERR_IO (missing, unreadable, a directory), FM_ERR_PARSE
// (not a checkpoint, another version, truncated, corrupted, another layout,
// out-of-range hyperparameters, NaN or infinity), FM_ERR_INVALID (not the
// kind, rank or content `expect` asks for: the message says how to train the
// model needed), FM_ERR_MEMORY.
int fm_checkpoint_read(const char *path, fm_checkpoint_header *header, fm_params **params,
                       fm_train_state *state, const fm_checkpoint_expect *expect, char *msg);

#endif
