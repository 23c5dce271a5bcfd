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
} fm_factorize_report;

// PREFIX.summary.json at `path` (the staged name).
int fm_factorize_summary_write(const fm_factorize_report *report, const char *path, char *msg);
// The summary lines on stdout.
void fm_factorize_summary_print(const fm_factorize_report *report);

#endif
