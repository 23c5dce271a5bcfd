// factormer factorize: what its summary (cli/factorize_report.c) reads.
#ifndef FM_CLI_FACTORIZE_H
#define FM_CLI_FACTORIZE_H

#include <stdbool.h>

#include "factormer.h"
#include "output.h"

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
    bool init_duals;               // the warm start carried the saved duals
    int duals_slot;                // the set's first dual output (--save-state), else -1
} fm_factorize_report;

// PREFIX.summary.json at `path` (the staged name).
int fm_factorize_summary_write(const fm_factorize_report *report, const char *path, char *msg);
// The summary lines on stdout.
void fm_factorize_summary_print(const fm_factorize_report *report);

// The state a run continues from (--init-from PREFIX, cli/factorize_state.c):
// PREFIX.W.mtx and PREFIX.H.mtx and, when a run saved them (--save-state),
// the ADMM duals PREFIX.duals.W.mtx and PREFIX.duals.H.mtx, which name the
// factors they belong to by a fingerprint of their values.
typedef struct fm_factorize_state {
    fm_dense *W, *H, *dual_W, *dual_H;
    char note[FM_MSG_LEN];         // why duals that were found are not used, else ""
} fm_factorize_state;

// Read the state of PREFIX: the factors (one rank: W's columns, H's rows;
// `rank` when it is above 0, else it becomes theirs) and the duals when both
// files are there and belong to these factors.
int fm_factorize_state_read(fm_factorize_state *state, const char *prefix, int *rank, char *msg);
// The factors fit a rows × cols matrix.
int fm_factorize_state_check(const fm_factorize_state *state, const char *prefix, int64_t rows, int64_t cols,
                             char *msg);
void fm_factorize_state_free(fm_factorize_state *state);
// Write the result's duals (keep_duals) to the two paths, each naming the
// factors' fingerprint; `comment` follows.
int fm_factorize_state_write(const char *dual_w_path, const char *dual_h_path, const fm_solver_result *r,
                             const char *comment, char *msg);

#endif
