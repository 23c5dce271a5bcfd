// What `train --model neuralif` and `train --model learned-lu` share: the
// options both take, the progress of models/train/epochs.h's loop on stderr
// and the summary on stdout, the validation scores in `unit` ("CG
// iterations", "GMRES iterations").
#ifndef FM_CLI_TRAIN_PRECOND_H
#define FM_CLI_TRAIN_PRECOND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "epochs.h"

// The options both commands take, parsed into the fields given (the
// command's defaults already there): --size, --train-size, --valid-size,
// --epochs, --lr, --seed, --checkpoint-every, --time-limit, --threads,
// --out, --resume, --quiet, --help, and --model `model` again. Any other
// option goes to `own` (1: taken; 0: not its; -1: a bad value, message
// printed). --out is required.
typedef struct fm_train_args {
    const char *model;           // "neuralif", "learned-lu"
    const char *help;            // printed by --help
    int64_t *size, *train_count, *valid_count, *epochs, *checkpoint_every;
    double *rate, *time_limit;
    uint64_t *seed;
    bool *resume;
    const char **out;
    int (*own)(const char *option, const char *value, void *user);
    void *user;
    // set by the parse
    bool quiet, have_size;
} fm_train_args;

// 0: go on (the threads set when asked); 1: the help was printed (exit 0);
// 2: bad arguments (a message printed).
int fm_train_args_parse(fm_train_args *t, int argc, char **argv);

typedef struct fm_train_show {
    bool quiet, tty;
    const char *unit;
} fm_train_show;

// "  N steps skipped (...)" for an epoch's line, or "" when none was
// (every train command: a step whose loss or update is not finite).
void fm_train_show_skipped(char *text, size_t size, int64_t skipped);

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
