// What `train --model neuralif` and `train --model learned-lu` print: the
// progress of models/train/epochs.h's loop on stderr, and the summary on
// stdout, the validation scores in `unit` ("CG iterations", "GMRES
// iterations").
#ifndef FM_CLI_TRAIN_PROGRESS_H
#define FM_CLI_TRAIN_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "epochs.h"

typedef struct fm_train_show {
    bool quiet, tty;
    const char *unit;
} fm_train_show;

// The loop's progress callback (user: an fm_train_show): a line a validation;
// a bar on a terminal, else a line every tenth of an epoch. Never stops the run.
int fm_train_show_progress(const fm_epochs_progress *p, void *user);

// The run failed with `msg`: ends the bar's line, prints the message; returns 1.
int fm_train_show_failed(const fm_train_show *q, const char *msg);

// The run succeeded: clears the bar. Then, unless quiet, the caller prints
// its first line (the model and the data) and this the rest: the epochs of
// `epochs` done, the untrained and the best scores, the time, the model
// written to `out`.
void fm_train_show_done(const fm_train_show *q);
void fm_train_show_summary(const fm_train_show *q, const fm_epochs_result *r, int64_t epochs, const char *out);

#endif
