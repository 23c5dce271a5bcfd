// factormer factorize: what its summary (cli/factorize_report.c) reads.
#ifndef FM_CLI_FACTORIZE_H
#define FM_CLI_FACTORIZE_H

#include <stdbool.h>

#include "factormer.h"
#include "output.h"

typedef struct fm_factorize_state fm_factorize_state;

typedef struct fm_factorize_report {
    const fm_solver_options *opts;
    const fm_solver_result *result;
    const fm_graph_stats *stats;
    double omega;                  // |Ω| of the fitted graph
    const fm_triplets *held;       // the held-out entries, or NULL
    const char *source;            // the data file, or the planted matrix's description
    const char *command_json;
    const char *stop_reason;       // the result's, or "interrupted"
    int interrupted;               // the signal that stopped the run, or 0
    bool learned;                  // --init learned
    const fm_output_set *set;
    const char *init_from;         // --init-from PREFIX, or NULL
    const fm_factorize_state *init_state;   // with init_from: what the warm start carried
    int state_slot;                // the set's first state output (--save-state), else -1
    const char *distributed;       // a distributed run's figures as a JSON object, else NULL
} fm_factorize_report;

// PREFIX.summary.json at `path` (the staged name).
int fm_factorize_summary_write(const fm_factorize_report *report, const char *path, char *msg);
// The summary lines on stdout.
void fm_factorize_summary_print(const fm_factorize_report *report);

// The state a run continues from (--init-from PREFIX, cli/factorize_state.c):
// PREFIX.W.mtx and PREFIX.H.mtx and, when a run saved it (--save-state), the
// solver's state PREFIX.state.W.mtx and PREFIX.state.H.mtx (the ADMM duals,
// or the exact phase's previous iterate, with the phase, the extrapolation's
// β and the iteration count on a comment line), which name the factors they
// belong to by a fingerprint of their values.
struct fm_factorize_state {
    fm_dense *W, *H;
    bool carried;                  // the saved state was found and belongs to W and H:
    fm_solver_state state;         // the phase and the rest,
    fm_dense *dual_W, *dual_H;     // the ADMM phase's duals,
    fm_dense *prev_W, *prev_H;     // the extrapolating exact phase's previous iterate
    char note[FM_MSG_LEN];         // why a state that was found is not used, else ""
};

// Read the state of PREFIX: the factors (one rank: W's columns, H's rows;
// `rank` when it is above 0, else it becomes theirs) and the solver's state
// when both files are there and belong to these factors.
int fm_factorize_state_read(fm_factorize_state *state, const char *prefix, int *rank, char *msg);
// The factors fit a rows × cols matrix.
int fm_factorize_state_check(const fm_factorize_state *state, const char *prefix, int64_t rows, int64_t cols,
                             char *msg);
void fm_factorize_state_free(fm_factorize_state *state);
// Write the result's state (keep_duals) to the two paths, each naming the
// factors' fingerprint; `comment` follows.
int fm_factorize_state_write(const char *path_w, const char *path_h, const fm_solver_result *r,
                             const char *comment, char *msg);

// The progress of a run (cli/factorize_progress.c): fm_factorize_show_progress
// is the solver's callback (user: the fm_factorize_progress), nonzero once a
// signal asked the run to stop; _finish prints the last line a pipe's
// one-second rate held back, _done also ends a terminal's line.
typedef struct fm_factorize_progress {
    bool quiet, tty, holdout, learned;
    int iters;
    // piped: a line at most every second (the first and the last always)
    double printed_at;         // the seconds of the last line printed
    bool started;              // a line was printed
    bool pending;              // an iterate not printed since
    fm_solver_iterate last;
} fm_factorize_progress;

int fm_factorize_show_progress(const fm_solver_iterate *it, void *user);
void fm_factorize_progress_finish(fm_factorize_progress *p);
void fm_factorize_progress_done(void *user);

// factormer factorize --distributed (cli/factorize_distributed.c): the
// options as parsed, the kind, where the data and the outputs are, and the
// first option given that a distributed run refuses (NULL: none). Returns
// the exit status.
typedef struct fm_factorize_where {
    const char *data;              // the data file
    fm_format format;
    const char *out_prefix;        // NULL: the data's name
    double holdout_fraction;       // held-out entries: a share,
    const char *test_file;         // or a test file
    const char *refused;           // an option given that does not run distributed
    int grid_rows, grid_cols;      // --grid PRxPC, else 0
    void (*progress_done)(void *user);   // process 0's progress ends (opts->user), before the summary
} fm_factorize_where;
int fm_factorize_distributed(fm_solver_options *opts, fm_kind kind, const fm_factorize_where *where, bool quiet);

#endif
