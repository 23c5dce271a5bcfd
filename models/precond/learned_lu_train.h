// Training the learned LU (P6): one of the two losses of P6 on matrices
// generated on the fly (P7: convection–diffusion or the nonsymmetric random
// class), AdamW with gradient-norm clipping, batch 1; validation by GMRES
// iterations on held-out matrices before the first epoch and after every
// epoch; the best model kept; a resumable training state.
//
// Matrices, order and probes as NeuralIF's trainer (neuralif_train.h):
// training matrix `index` is matrix `index` of the generator's training set
// (fm_spd_seed), validation matrix v matrix v of its validation set; grids
// have sides from size/2 to size, drawn by seed. The loop (the epochs' seeded
// order, validation, the best model, the checkpoints, resuming) is
// models/train/epochs.h's; the sketched loss's probe z of step t is the
// stream FM_STREAM_TRAIN of (seed, t). The spectrum-aware loss's b of
// training matrix `index` is the stream FM_STREAM_TRAIN of (seed, index)
// offset past every step's, and x = Â⁻¹ b is solved once by UMFPACK at the
// matrix's first visit and kept (P6).
// Validation score: the mean over the validation matrices of the GMRES(m)
// iterations to valid_tol (b = 1) with the network's factors, a run that does
// not converge within valid_max_iters counting valid_max_iters. The best
// model goes to `out`, the state (values, both moments, the counters) to
// `out`.state.
#ifndef FM_LEARNED_LU_TRAIN_H
#define FM_LEARNED_LU_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "epochs.h"
#include "general_data.h"
#include "learned_lu.h"
#include "learned_lu_model.h"

typedef fm_epochs_progress fm_llu_train_progress;   // models/train/epochs.h

typedef struct fm_llu_train_options {
    fm_general_kind data;        // FM_GENERAL_CONVECTION or FM_GENERAL_RANDOM
    int64_t size;                // convection: the largest grid side g; random: n
    int64_t train_count;         // training matrices
    int64_t valid_count;         // validation matrices
    int64_t epochs;
    fm_llu_loss_kind loss;
    fm_llu_output output;        // default scaled (P6.3 [ext], measured)
    double rate;                 // AdamW (1e-3)
    double weight_decay;         // 0.01
    double max_grad_norm;        // 1
    double valid_tol;            // 1e-6
    int64_t valid_restart;       // GMRES(m) of the validation (50)
    int64_t valid_max_iters;     // 1000
    uint64_t seed;
    int64_t checkpoint_every;    // steps (0: only after epochs)
    double time_limit;           // seconds; 0 none: stops after the step that passes it
    fm_llu_config config;
    const char *out;             // the best model
    bool resume;                 // continue from `out`.state
    int (*progress)(const fm_llu_train_progress *p, void *user);   // nonzero stops
    void *user;
} fm_llu_train_options;

void fm_llu_train_defaults(fm_llu_train_options *opt);

typedef fm_epochs_result fm_llu_train_result;

int fm_llu_train(fm_llu_train_result *result, const fm_llu_train_options *opt, char *msg);

// The mean GMRES iterations of the factors of (config, params) over
// `count` systems A_v x = 1, as the trainer's validation scores them.
int fm_llu_validate(double *score, const fm_llu_config *config, fm_params *params, fm_llu_output output,
                    fm_square *const *systems, int64_t count, double tol, int64_t restart, int64_t max_iters,
                    char *msg);

#endif
