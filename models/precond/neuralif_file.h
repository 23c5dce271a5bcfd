// NeuralIF's checkpoints (P5): the model kind "neuralif" in the checkpoint
// format of io/checkpoint (named tensors; this file checks the names and
// the shape fields: blocks, hidden width, node features).
#ifndef FM_NEURALIF_FILE_H
#define FM_NEURALIF_FILE_H

#include <stdint.h>

#include "neuralif_model.h"

// Where a training run stands.
typedef struct fm_nif_train_state {
    uint64_t epoch;            // epochs completed
    uint64_t step;             // AdamW steps taken (its t)
    uint64_t best_epoch;       // 0 before any
    double best_validation;    // the best score, +inf before any
} fm_nif_train_state;

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
