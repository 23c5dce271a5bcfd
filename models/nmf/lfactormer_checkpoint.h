// L-Factormer model files: the learned initialization and acceleration
// (models/model_kind.h, kinds 1 and 2) in the checkpoint format of
// io/checkpoint.h, which holds named tensors and knows no model. Here are
// what the format leaves to the model:
//
//   kind          FM_MODEL_INIT or FM_MODEL_ACCEL
//   shape fields  inputs, rank, width, heads, layers (fm_lfactormer_config);
//                 inputs is rank (initialization) or 2·rank (acceleration);
//                 rank 0: a model of any rank, the component-set template of
//                 §5.1 (config.components), whose inputs are its channels per
//                 component, 1 or 2 (bind it with fm_lfactormer_at_rank);
//                 rank −1: the same template with the gathered term
//                 (config.gathered); −2 pooled (config.pooled, §5.2), −3
//                 pooled with the gathered term; −6 and −7 the same two
//                 with the residual decoder (config.residual, §5.2); each
//                 minus 8·R where the file records R, the highest rank the
//                 model was trained at (config.trained_rank; R = 0 in files
//                 written before it was recorded, the shipped ones: not
//                 recorded)
//   tensors       fm_lfactormer_tensors: 8 + 21·layers tensors (14 more
//                 pooled) of
//                 fm_lfactormer_specs, in that order, laid out as
//                 fm_lfactormer_params_new lays them out
//
// The reader checks, in order: the magic, the version, the header's own
// checksum and the flags (io); the hyperparameters (in range, the inputs
// matching the kind); the kind, rank and content the caller expects; then
// the counts, the size, the file's checksum, the tensor table against the
// layout of those hyperparameters, and NaN and infinity (io).
#ifndef FM_LFACTORMER_CHECKPOINT_H
#define FM_LFACTORMER_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "checkpoint.h"
#include "lfactormer.h"
#include "model_kind.h"
#include "params.h"

// The model's input width for a rank: rank, or 2·rank; 0 for a kind that
// is not an L-Factormer's.
int fm_model_kind_inputs(fm_model_kind kind, int rank);

typedef struct fm_checkpoint_header {
    uint32_t version;   // the reader sets the file's; the writer writes FM_CHECKPOINT_VERSION
    uint32_t flags;     // the reader sets the file's; the writer sets FM_CHECKPOINT_TRAINING
                        // exactly when it is given a training state
    fm_model_kind kind;
    fm_lfactormer_config config;
} fm_checkpoint_header;

// What the caller needs the file to hold.
typedef struct fm_checkpoint_expect {
    fm_model_kind kind;   // 0: any kind
    int rank;             // 0: any rank; a model of any rank serves every rank
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
// The header alone, checked as fm_checkpoint_read checks it (magic, version,
// checksum, hyperparameters, `expect`); the tensors are not read.
int fm_checkpoint_read_header(const char *path, fm_checkpoint_header *header, const fm_checkpoint_expect *expect,
                              char *msg);

int fm_checkpoint_read(const char *path, fm_checkpoint_header *header, fm_params **params,
                       fm_train_state *state, const fm_checkpoint_expect *expect, char *msg);

#endif
