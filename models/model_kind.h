// The kinds of learned model a checkpoint may hold (io/checkpoint.h, bytes
// 16..19 of the header). Each family checks its own kinds and interprets the
// shape fields: models/nmf/lfactormer_checkpoint.h for the L-Factormer's.
// A new kind takes the next number here and a name in fm_model_kind_name;
// the numbers of the kinds already shipped never change.
#ifndef FM_MODEL_KIND_H
#define FM_MODEL_KIND_H

typedef enum fm_model_kind {
    FM_MODEL_INIT = 1,    // learned initialization: reads W_0, H_0 (inputs = rank)
    FM_MODEL_ACCEL = 2,   // learned acceleration: reads [W_prev | W_admm] (inputs = 2·rank)
    FM_MODEL_NEURALIF = 3,// NeuralIF (P5): shape [blocks, hidden, node features] (models/precond/neuralif_file.c)
    FM_MODEL_LEARNED_LU = 4,// learned LU (P6): shape [layers, width, node features, loss]
                          // (models/precond/learned_lu_file.c)
} fm_model_kind;

// "initialization", "acceleration", "neuralif", "learned-lu", or "unknown".
const char *fm_model_kind_name(fm_model_kind kind);

#endif
