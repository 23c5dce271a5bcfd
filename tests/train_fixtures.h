// Fixtures of the training suites (tests/test_train.c, tests/test_train_runs.c, tests/test_train_limit.c):
// a tiny model's options, paths, runs that must succeed or fail, and what a
// run leaves (its state file and best model) for bit-for-bit comparisons.
#ifndef FM_TEST_TRAIN_FIXTURES_H
#define FM_TEST_TRAIN_FIXTURES_H

#include "lfactormer_checkpoint.h"
#include "train.h"

// Width 8, 1 head, 2 layers, rank 3, 2 epochs of 24 training and 8 + 8
// validation matrices, learning rate 1e-2, no checkpoints within an epoch.
fm_train_options fm_test_training_tiny(fm_model_kind kind, const char *out);
// dir/name and out + FM_TRAIN_STATE_SUFFIX, malloc'd.
char *fm_test_training_path(const char *dir, const char *name);
char *fm_test_training_state(const char *out);
// fm_train_run, which must succeed (its result) or fail (its status).
fm_train_result *fm_test_training_run(const fm_train_options *o);
int fm_test_training_refused(const fm_train_options *o, char *msg);
// A progress callback that stops the run after *(int64_t *)user matrices of the call.
int fm_test_training_stop_after(const fm_train_progress *p, void *user);

// The state file, the best model and the result's state of the run into `out`.
typedef struct fm_test_outcome {
    fm_params *state_blocks;
    fm_train_state state;
    unsigned char *model;
    long model_bytes;
} fm_test_outcome;

// A file's bytes (malloc'd) and their count.
unsigned char *fm_test_slurp(const char *path, long *bytes);
fm_test_outcome fm_test_outcome_of(const char *out);
void fm_test_outcome_free(fm_test_outcome *c);
// Bit for bit: the blocks, both moments, the training state and the best model.
void fm_test_expect_same_outcome(const fm_test_outcome *a, const fm_test_outcome *b, const char *what);

// The training suites' short names for them.
#define tiny fm_test_training_tiny
#define path_in fm_test_training_path
#define state_of fm_test_training_state
#define run_ok fm_test_training_run
#define run_fails fm_test_training_refused
#define stop_after fm_test_training_stop_after
#define outcome fm_test_outcome
#define outcome_of fm_test_outcome_of
#define outcome_free fm_test_outcome_free
#define expect_same fm_test_expect_same_outcome

#endif
