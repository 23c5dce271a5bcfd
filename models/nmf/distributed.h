// AO-ADMM over the processes of a distributed run (docs §11): on a grid of
// processes (engine/layout.h; 1-D: one column) each holds a block of X (both
// orientations, as its own graph) and its block's rows of W and columns of
// Hᵀ; the H-update sums the partial products Xᵀ·W in the grid column with a
// reduce-scatter, steps each process's owned columns and gathers the block's
// back; the W-update does the same in the grid row (in 1-D, alone).
#ifndef FM_DISTRIBUTED_H
#define FM_DISTRIBUTED_H

#include "comm.h"
#include "factormer.h"
#include "graph.h"
#include "layout.h"

// What a distributed run does not do yet, given the options, the kind and
// the share of entries held out: NULL when it can run, else the sentence
// that says what to change. The same answer in every process.
const char *fm_distributed_refusal(const fm_solver_options *o, fm_kind kind, double holdout);

// `g`: this process's block of X (layout.h), of the run's kind; `held`: the held-out entries of those rows (the incomplete kind's,
// rows numbered as g's), or NULL. On return, in every process: result->W
// this process's owned rows of W, result->H its owned columns of H (rank ×
// those columns; fm_distributed_gather_w, _h put them together), the trace
// and the stop reason, the same in every process (the objective and the
// held-out error are summed over them); with keep_best, the factors of the
// best held-out RMSE. Collective, with one status for all.
// `mark`, when given, receives the communicator (its byte counters) as the
// iterations start, after the start's SVD, for fm_distributed_measure.
int fm_distributed_run(fm_solver_result **out, fm_comm *comm, fm_comm *mark, fm_graph *g, const fm_triplets *held,
                       const fm_layout *layout, const fm_solver_options *o, char *msg);

// The nndsvd, nndsvda and nndsvdar starts (models/nmf/distributed_init.c):
// this process's rows of W into *W and all of Hᵀ into *Ht, as init.c's
// fm_init_factors gives them in one process to float rounding (its
// randomized SVD with a TSQR of the range, then NNDSVD on norms summed over
// the processes). `mean` and `entries` are the whole matrix's; `rows` and
// `cols` this process's edges. Collective, one status for all.
int fm_distributed_nndsvd(fm_dense **W, fm_dense **Ht, fm_comm *comm, const fm_edges *rows, const fm_edges *cols,
                          const fm_layout *layout, int rank, fm_init_method method, int power, uint64_t seed,
                          double mean, double entries, bool incomplete, char *msg);

// The holdout of this process's block (`mine`, numbered in the block), drawn
// as one process draws it over the whole matrix: fm_holdout_split's of the
// incomplete kind, fm_holdout_speckle's (every coordinate) of the others.
// The union over the processes of `held` is one process's holdout. Not
// collective.
int fm_distributed_holdout(fm_triplets **kept, fm_triplets **held, fm_triplets *mine, const fm_layout *layout,
                           int rank, fm_kind kind, double fraction, uint64_t seed, char *msg);

// The whole matrix's statistics from the processes' blocks (collective).
void fm_distributed_stats(fm_graph_stats *stats, fm_comm *comm, const fm_graph *g, const fm_layout *layout);

// Every process's rows of W (`mine`, its owned rows) into process 0's *W,
// and its columns of H (rank × its owned columns) into process 0's *H (rank
// × cols), the one place a process holds all of W or H; NULL elsewhere.
// Collective, one status for all.
int fm_distributed_gather_w(fm_dense **W, fm_comm *comm, const fm_dense *mine, const fm_layout *layout, char *msg);
int fm_distributed_gather_h(fm_dense **H, fm_comm *comm, const fm_dense *mine, const fm_layout *layout, char *msg);

// A run's costs, the most over the processes (§11.3): the bytes handed to
// each kind of collective per iteration since `before` (the run's mark),
// the reading's exchange, and the peak resident memory in
// MiB (the most, and process 0's, which holds all of W after the gather).
typedef struct fm_distributed_figures {
    double scatter, gather, reductions, reading;
    double peak_most, peak_first;
} fm_distributed_figures;
void fm_distributed_measure(fm_distributed_figures *figures, fm_comm *comm, const fm_comm *before, int iterations);

#endif
