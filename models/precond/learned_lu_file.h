// The learned LU's checkpoints (P6): the model kind "learned-lu" in the
// checkpoint format of io/checkpoint (named tensors; this file checks the
// names and the shape fields: layers, width, node features, the loss).
#ifndef FM_LEARNED_LU_FILE_H
#define FM_LEARNED_LU_FILE_H

#include <stdint.h>

#include "epochs.h"
#include "learned_lu.h"
#include "learned_lu_model.h"

// Where a training run stands (models/train/epochs.h).
typedef fm_epochs_state fm_llu_train_state;

int fm_llu_state_write(const char *path, const fm_llu_config *config, fm_llu_loss_kind loss, fm_llu_output output,
                       uint64_t seed, const fm_params *params, const fm_llu_train_state *state, char *msg);
// The state must be a learned LU one of this config, loss, output and seed.
int fm_llu_state_read(const char *path, const fm_llu_config *config, fm_llu_loss_kind loss, fm_llu_output output,
                      uint64_t seed, fm_params **params, fm_llu_train_state *state, char *msg);
// The values alone: a shipped model.
int fm_llu_model_write(const char *path, const fm_llu_config *config, fm_llu_loss_kind loss, fm_llu_output output,
                       const fm_params *params, char *msg);
// A model's config, loss, output and values (kind "learned-lu"; another kind
// is FM_ERR_PARSE naming both).
int fm_llu_model_read(const char *path, fm_llu_config *config, fm_llu_loss_kind *loss, fm_llu_output *output,
                      fm_params **params, char *msg);

#endif
