// The solver's learned networks (models/nmf/solver.c): loading and checking
// the initialization and acceleration models, the sampling each reads
// (docs §8, and a pooled model's own, §5.2), and the graph of one call.
#ifndef FM_SOLVER_NETWORKS_H
#define FM_SOLVER_NETWORKS_H

#include <stdbool.h>
#include <stdint.h>

#include "factormer.h"
#include "learned.h"
#include "network_graph.h"

// A copy of `path` into *out (for the result).
int fm_solver_keep_path(char **out, const char *path, char *msg);

// A preloaded network must be of the kind and rank the run asks for.
int fm_solver_check_network(const fm_learned *network, fm_model_kind kind, int rank, char *msg);

// The run's network of `kind`: *network (preloaded by the caller) or, when
// NULL, the file `path` loaded into `owned`; checked, given the run's batch
// of targets (none on the GraphBLAS path), and its file kept in *kept.
int fm_solver_open_network(fm_learned **network, fm_learned *owned, const char *path, fm_model_kind kind,
                           const fm_solver_options *o, char **kept, char *msg);

// The options with the sampling a network of `kind` and `config` reads (§8):
// the caller's, or for a pooled model (§5.2) where the caller chose no
// sampler, uniform samples of fm_pooled_fanout(rank, R) in-edges a target
// (or its fanout), R its fm_pooled_trained_rank.
fm_solver_options fm_solver_network_sampling(const fm_solver_options *o, fm_model_kind kind,
                                             const fm_lfactormer_config *config);
// The highest rank a pooled model of `kind` was trained at (§5.2, "Samples"):
// its file's record, else (a file from before it was recorded) the shipped
// model's, FM_POOLED_INIT_RANK or FM_POOLED_ACCEL_RANK.
int fm_pooled_trained_rank(fm_model_kind kind, const fm_lfactormer_config *config);
// A pooled model's default fanout at `rank` (§5.2, "Samples"): FM_POOLED_FANOUT
// up to the ranks it was trained at, `trained` = R, above them
// ceil(FM_POOLED_FANOUT · (rank / R)²).
int64_t fm_pooled_fanout(int rank, int trained);

// Whether a network reads the solver's view of X / mean (every edge): on the
// fused path with the full sampler, or where its per-layer draws leave a
// direction undrawn that its gathered term reads (one layer).
bool fm_solver_network_reads_view(const fm_learned *network, const fm_solver_options *caller);

// What a network call reads (§8), with the sampling of
// fm_solver_network_sampling: the view, or the call's sample of it (call 0
// is the initialization, call t the t-th accelerator step); for the
// GraphBLAS path the sample packed as matrices, with the full sampler a copy
// of every edge (the same for every layer: drawn once).
int fm_solver_network_graph(const fm_message_graph **reads, fm_network_graph *sample, const fm_message_graph *view,
                            const fm_learned *network, fm_graph *g, const fm_edges *rows, const fm_edges *cols,
                            double mean, const fm_solver_options *caller, uint64_t call, char *msg);

#endif
