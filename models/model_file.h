// What the checkpoints of the preconditioner models (NeuralIF's
// models/precond/neuralif_file.c, the learned LU's learned_lu_file.c) share
// around io/checkpoint: opening a file of one kind, reading its values (and
// training state) once the kind's own file has checked the shape fields and
// laid the tensors out, and the training state of models/train/epochs.h as
// the checkpoint stores it.
#ifndef FM_MODEL_FILE_H
#define FM_MODEL_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "checkpoint.h"
#include "epochs.h"
#include "model_kind.h"

// Opens `path` (*r NULL on entry) and reads its header into *fields: a file
// of another kind is FM_ERR_PARSE naming both ("... not a neuralif model
// (train one with factormer train --model neuralif)").
int fm_model_file_open(fm_checkpoint_reader **r, fm_checkpoint_fields *fields, const char *path,
                       fm_model_kind kind, char *msg);

// The rest of the file opened as `r`, laid out as `layout` (made by the
// caller from the shape fields it checked): with need_state, a file without
// a training state is FM_ERR_PARSE; the counts checked against the layout;
// the values (and m, v and *state, when `state` is not NULL) read into new
// parameters *params (NULL on entry, set only on success). `r` stays open.
int fm_model_file_read(fm_params **params, fm_train_state *state, fm_checkpoint_reader *r,
                       const fm_checkpoint_fields *fields, const char *path, const fm_checkpoint_layout *layout,
                       bool need_state, char *msg);

// A run's state as the checkpoint stores it (with the run's seed), and back.
fm_train_state fm_model_file_state(const fm_epochs_state *state, uint64_t seed);
fm_epochs_state fm_model_file_epochs(const fm_train_state *state);

#endif
