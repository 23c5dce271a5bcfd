// What every training run shares, whatever the model: its output file, and
// where a saved run stands (fm_train_state, io/checkpoint.h) against the
// run's options, so that a resumed run continues it exactly.
#ifndef FM_RUN_STATE_H
#define FM_RUN_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "checkpoint.h"

// FM_OK if `out` is not a directory and a file can be created beside it
// (nothing is left behind); else FM_ERR_IO naming it.
int fm_run_probe_output(const char *out, char *msg);

// The state's counters are those of a run over `train_size` matrices per
// epoch in batches of `batch` (steps_per_epoch steps) with `seed`: the seed
// is the run's, the matrix reached is a batch boundary within the epoch,
// and step = epoch · steps_per_epoch + matrix / batch. FM_ERR_INVALID naming
// `path` otherwise (another --seed, --train-size or --batch).
int fm_run_check_position(const fm_train_state *state, uint64_t seed, int64_t train_size, int batch,
                          int64_t steps_per_epoch, const char *path, char *msg);

// Two learning rates are the same rate up to rounding (relative 1e-12).
bool fm_run_same_rate(double a, double b);

// `out`.state (allocated): where a run writing the model `out` keeps its state.
int fm_run_state_path(char **path, const char *out, char *msg);
// FM_ERR_INVALID when a state file exists at `path` (a new run would
// overwrite it: continue it with --resume, or remove it).
int fm_run_state_absent(const char *path, char *msg);

#endif
