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
// Order: epoch e visits the training matrices in the order of a seeded
// permutation keyed by (seed, e) (fm_rng_permute, FM_STREAM_ORDER); the probe
// z of step t is the stream FM_STREAM_TRAIN of (seed, t). Nothing depends on
// a running generator, so a resumed run needs only the step counter.
// Validation score: the mean over the validation matrices of the PCG
// iterations to tolerance valid_tol with the network's factor (P5, default
// inference options), a non-converged run counting max iterations. The best
// model is the epoch ≥ 1 with the lowest score; it is written to `out` when
// found. The state (values, both moments, the counters) goes to
// `out`.state after every epoch and every `checkpoint_every` steps.
#ifndef FM_NEURALIF_TRAIN_H
#define FM_NEURALIF_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "neuralif_model.h"
#include "spd_data.h"

typedef struct fm_nif_train_progress {
    int64_t epoch, epochs;       // the epoch running (1-based; 0: the first validation)
    int64_t done, total;         // steps of this epoch done, and in all
    double loss;                 // the step's loss; NaN at a validation
    double running_loss;         // the mean loss of the epoch so far
    double validation;           // the score just measured; NaN at a step
    double best;                 // the best score so far (+inf before any)
    double seconds;              // since the run began
} fm_nif_train_progress;

typedef struct fm_nif_train_options {
    fm_spd_kind data;            // FM_SPD_RANDOM or FM_SPD_DIFFUSION
    int64_t size;                // random: n; diffusion: the largest grid side g
    int64_t train_count;         // training matrices (P7: 1000)
    int64_t valid_count;         // validation matrices (P7: 10)
    int64_t epochs;
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
    int (*progress)(const fm_nif_train_progress *p, void *user);   // nonzero stops
    void *user;
} fm_nif_train_options;

void fm_nif_train_defaults(fm_nif_train_options *opt);

typedef struct fm_nif_train_result {
    int64_t epochs_done, steps;
    double first_validation;     // the untrained model's score
    double best_validation;
    int64_t best_epoch;
    double seconds;
    bool stopped;                // the time limit or the progress callback
} fm_nif_train_result;

int fm_nif_train(fm_nif_train_result *result, const fm_nif_train_options *opt, char *msg);

#endif
