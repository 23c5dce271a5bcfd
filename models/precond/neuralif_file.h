// NeuralIF's checkpoints (P5): the model kind "neuralif" in the checkpoint
// format of io/checkpoint (named tensors; this file checks the names and
// the shape fields: blocks, hidden width, node features).
#ifndef FM_NEURALIF_FILE_H
#define FM_NEURALIF_FILE_H

#include <stdint.h>

#include "epochs.h"
#include "neuralif_model.h"

// Where a training run stands (models/train/epochs.h).
typedef fm_epochs_state fm_nif_train_state;

int fm_nif_state_write(const char *path, const fm_nif_config *config, uint64_t seed, const fm_params *params,
                       const fm_nif_train_state *state, char *msg);
// The state must be a NeuralIF one of this config and seed.
int fm_nif_state_read(const char *path, const fm_nif_config *config, uint64_t seed, fm_params **params,
                      fm_nif_train_state *state, char *msg);
// The values alone: a shipped model.
int fm_nif_model_write(const char *path, const fm_nif_config *config, const fm_params *params, char *msg);
// A model's config and values (kind "neuralif"; another kind is FM_ERR_PARSE naming both).
int fm_nif_model_read(const char *path, fm_nif_config *config, fm_params **params, char *msg);

#endif
