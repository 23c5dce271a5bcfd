// The epoch loop of the preconditioner trainers (NeuralIF, P5; the learned
// LU, P6), batch 1:
//   - epoch e visits the training matrices in the order of a seeded
//     permutation keyed by (seed, e) (fm_rng_permute, FM_STREAM_ORDER), one
//     step a matrix; step t (1-based, AdamW's t) is the t-th of the run;
//   - the model is validated before the first epoch of a fresh run (state
//     step 0) and after every epoch; the epoch ≥ 1 with the lowest score is
//     the best, its model written when found;
//   - the state is written every `checkpoint_every` steps inside an epoch,
//     when the run stops inside one, and after every epoch;
//   - a run stops after the step that passes `time_limit` seconds, or when
//     the progress callback returns nonzero;
//   - a step whose loss is NaN was skipped by the trainer (its loss or
//     gradient not finite: a rate that wrecks the model; nothing changed):
//     counted, and left out of the running loss.
// Nothing depends on a running generator: a resumed run needs only the
// state's counters. Each trainer brings what is its own (its data, its step,
// its validation, its files) as callbacks on `self`.
#ifndef FM_EPOCHS_H
#define FM_EPOCHS_H

#include <stdbool.h>
#include <stdint.h>

// Where a training run stands.
typedef struct fm_epochs_state {
    uint64_t epoch;            // epochs completed
    uint64_t step;             // AdamW steps taken (its t)
    uint64_t best_epoch;       // 0 before any
    double best_validation;    // the best score, +inf before any
} fm_epochs_state;

typedef struct fm_epochs_progress {
    int64_t epoch, epochs;       // the epoch running (1-based; 0: the first validation)
    int64_t done, total;         // steps of this epoch done, and in all
    double loss;                 // the step's loss; NaN at a validation
    double running_loss;         // the mean loss of the epoch's steps taken so far (NaN: none)
    int64_t skipped;             // steps of the epoch skipped so far (their loss NaN)
    double validation;           // the score just measured; NaN at a step
    double best;                 // the best score so far (+inf before any)
    double seconds;              // since the run began
} fm_epochs_progress;

typedef struct fm_epochs_result {
    int64_t epochs_done, steps;
    int64_t skipped;             // steps skipped in this call (their loss NaN)
    double first_validation;     // the untrained model's score (NaN for a resumed run)
    double best_validation;
    int64_t best_epoch;
    double seconds;
    bool stopped;                // the time limit or the progress callback
} fm_epochs_result;

typedef struct fm_epochs {
    int64_t train_count;         // training matrices, one step each per epoch (≥ 1)
    int64_t epochs;
    uint64_t seed;               // keys the epochs' orders
    int64_t checkpoint_every;    // steps (0: only after epochs)
    double time_limit;           // seconds; 0 none
    double start;                // omp_get_wtime() when the run began
    void *self;                  // the trainer's, passed to the four below
    // One step on training matrix `index` (0 ≤ index < train_count) as the
    // run's step `step`; the step's loss to *loss, NaN for a step skipped
    // (the model unchanged) because its loss or gradient was not finite.
    int (*step)(double *loss, void *self, int64_t index, uint64_t step, char *msg);
    // The current model's validation score (lower is better).
    int (*validate)(double *score, void *self, char *msg);
    int (*write_state)(void *self, const fm_epochs_state *state, char *msg);
    int (*write_model)(void *self, char *msg);   // the best model, just found
    int (*progress)(const fm_epochs_progress *p, void *user);   // NULL, or nonzero stops
    void *user;
} fm_epochs;

// The random vectors both trainers draw, each a function of the run's seed
// only (engine/rng.h, FM_STREAM_TRAIN), so a resumed run draws the same:
// z ~ N(0, I) of step `step` (the sketched losses' probe), and b ~ N(0, I)
// of training matrix `index` (the spectrum-aware losses' right-hand side,
// keyed past every step's). n entries each, the same for any thread count.
void fm_epochs_step_probe(double *z, int64_t n, uint64_t seed, uint64_t step);
void fm_epochs_matrix_rhs(double *b, int64_t n, uint64_t seed, int64_t index);

// Runs the loop from `state` (a fresh run: all zero, best_validation +inf),
// which it advances. The first error of a callback is returned as is.
int fm_epochs_run(fm_epochs_result *result, const fm_epochs *loop, fm_epochs_state *state, char *msg);

#endif
