// Training NeuralIF (P5): the sketched loss on matrices generated on the fly
// (P7), AdamW with gradient-norm clipping, batch 1; validation by PCG
// iterations on held-out matrices before the first epoch and after every
// epoch; the best model kept; a resumable training state.
//
// Matrices: training matrix `index` (0 ≤ index < train_count) is matrix
// `index` of the generator's training set (fm_spd_seed), validation matrix v
// matrix v of its validation set; test sets (bench solve, the closing
// figures) use its test set, which neither reaches. Diffusion grids have
// sides from size/2 to size, drawn by seed.
// The loop (the epochs' seeded order, validation, the best model, the
// checkpoints, resuming) is models/train/epochs.h's; the probe z of step t is
// the stream FM_STREAM_TRAIN of (seed, t), so a resumed run needs only the
// step counter.
// Validation score: the mean over the validation matrices of the PCG
// iterations to tolerance valid_tol with the network's factor (P5, default
// inference options), a non-converged run counting max iterations. The best
// model goes to `out`, the state (values, both moments, the counters) to
// `out`.state.
#ifndef FM_NEURALIF_TRAIN_H
#define FM_NEURALIF_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "epochs.h"
#include "neuralif_model.h"
#include "learned_lu.h"   // fm_llu_loss_kind: the two losses of P6, both for NeuralIF too
#include "spd_data.h"

typedef fm_epochs_progress fm_nif_train_progress;   // models/train/epochs.h

typedef struct fm_nif_train_options {
    fm_spd_kind data;            // FM_SPD_RANDOM or FM_SPD_DIFFUSION
    int64_t size;                // random: n; diffusion: the largest grid side g
    int64_t train_count;         // training matrices (P7: 1000)
    int64_t valid_count;         // validation matrices (P7: 10)
    int64_t epochs;
    fm_llu_loss_kind loss;       // sketched (P5), spectrum-aware (P5.5 [ext], the learned LU's of P6)
                                 // or preconditioned (P5.5 [ext])
    double sparsity;             // the ℓ1 penalty's weight on off-diagonal entries [ext] (0: none)
    double rate;                 // AdamW (P5: 1e-3)
    double weight_decay;         // 0.01
    double max_grad_norm;        // 1
    double valid_tol;            // 1e-6
    uint64_t seed;
    int64_t checkpoint_every;    // steps (0: only after epochs)
    double time_limit;           // seconds; 0 none: stops after the step that passes it
    fm_nif_config config;
    const char *out;             // the best model
    bool resume;                 // continue from `out`.state
    const char *init_from;       // fine-tune: start from this model's values (NULL: seeded init)
    int (*progress)(const fm_nif_train_progress *p, void *user);   // nonzero stops
    void *user;
} fm_nif_train_options;

void fm_nif_train_defaults(fm_nif_train_options *opt);

typedef fm_epochs_result fm_nif_train_result;

int fm_nif_train(fm_nif_train_result *result, const fm_nif_train_options *opt, char *msg);

#endif
