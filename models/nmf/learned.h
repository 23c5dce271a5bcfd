// The learned initialization and the learned acceleration at inference
// (docs/factormer-math.md §5 "Scale", §6): where the model files are, and the
// steps the solver (models/nmf/solver.c) takes with them, the same as the
// training chains of models/nmf/unroll.h.
//
// Model files: an explicit path, or in the default directory
// (fm_learned_model_dir, models/model_dir.h) the models of any rank (§5.1-§5.2)
// `<dir>/init.fmw` and `<dir>/accel.fmw`, and where there is none, the
// rank's own `<dir>/init-rank<K>.fmw` and `<dir>/accel-rank<K>.fmw`.
//
// Frames. The models were trained on data of mean 1 over Ω (§7), from the
// NNDSVD of that data. Here X keeps its own scale: the solver's ADMM, its
// penalties and its trace are X's. The network reads a view of X's graph
// with every edge value divided by mean = fm_graph_mean (fm_message_graph_view
// on the solver's borrowed edges), and the factors in the network's frame
//     W' = W / mean,  Hᵀ' = Hᵀ,
// so that W'H' fits X / mean exactly when WH fits X. Without penalties the
// AO-ADMM iterates commute with that map (X → X/c, W → W/c, U_W → U_W/c
// leaves every H-update and every scaled W-update the same), so the solver's
// ADMM from (mean·W', H') is the training chain's ADMM from (W', H'), in X's
// units; the duals are carried through the accelerator untouched, as the
// chain carries them.
//
// Start (fm_learned_start): the NNDSVD of X / mean (the training sample's
// start; computed as X's, divided by √mean on both sides), then for the initialization
// model its output relu(L-Factormer(W'_0, Hᵀ'_0)); W scaled back by the
// mean. Without a model (an accelerated run from `--init nndsvd`) the same
// NNDSVD with W scaled back: the W·H of the NNDSVD of X up to rounding, but
// balanced between W and H as the accelerator saw it in training (the NNDSVD
// of X itself is (√mean·W'_0, √mean·H'_0), which the network would read as
// another start). The other starts (random, nndsvda, nndsvdar) are X's and
// enter the network's frame by the same map; the accelerator was not
// trained from them.
//
// Accelerator step (fm_learned_accelerate): W_t, Hᵀ_t = relu(L-Factormer_acc(
// [W_{t−1}/mean | Ŵ/mean], [Hᵀ_{t−1} | Ĥᵀ])) with W_t scaled back, where
// (Ŵ, Ĥᵀ) are the c ADMM iterations after W_{t−1}, the previous step's
// output (or the start).
#ifndef FM_LEARNED_H
#define FM_LEARNED_H

#include <stdbool.h>
#include <stddef.h>

#include "attention.h"
#include "lfactormer_checkpoint.h"
#include "lfactormer.h"
#include "model_dir.h"


// `dir`/init-rank<K>.fmw or `dir`/accel-rank<K>.fmw for the default
// directory above; rank 0: `dir`/init.fmw or `dir`/accel.fmw (any rank). FM_ERR_INVALID if it does not fit in `size` bytes.
int fm_learned_default_path(char *path, size_t size, fm_model_kind kind, int rank, char *msg);

// A model loaded for inference, and the network's activations for one graph.
typedef struct fm_learned {
    fm_model_kind kind;
    char path[FM_LEARNED_PATH_LEN];   // the file it was read from
    fm_params *params;
    fm_lfactormer_weights weights;
    fm_lfactormer_saved saved;        // for the rows × cols of the last call (made on first use)
    float *w_in, *ht_in;              // accelerator inputs, in_rows × 2k and in_cols × 2k
    int64_t in_rows, in_cols;
    // Each layer in mini-batches of this many targets (--batch-targets: the
    // activations of one batch instead of all the layer's targets); 0 (as
    // loaded) runs a layer on all its targets at once. The caller may change
    // it between calls; fm_solver_run sets it from its options
    // (FM_BATCH_TARGETS by default).
    int64_t batch_targets;
    int64_t saved_batch;              // the batch the saved activations were made for
} fm_learned;

// Reads the `kind` model of `rank` from `path`, or from the default file
// when path is NULL. A missing file is FM_ERR_IO with a message that names
// it and the command that trains it (factormer train --model init|accel
// --any-rank --out PATH); a model of another kind or rank is FM_ERR_INVALID,
// a damaged file FM_ERR_PARSE (models/nmf/lfactormer_checkpoint.h). *model is overwritten;
// free it with fm_learned_free (also after a failure).
int fm_learned_load(fm_learned *model, const char *path, fm_model_kind kind, int rank, char *msg);

// The floating-point work of one pass of the model over `edges` edges of an
// m × n graph (§6's cost guard): per layer 4d² per edge (the edge keys and
// values) and 12d² per node (projections and feed-forward), k passes for a
// component-set model (§5.1), and 4·k_in·|E| (k_in = p·k) for the gathered
// term's two sparse products. An estimate, not a count.
double fm_learned_pass_flops(const fm_lfactormer_config *config, int64_t edges, int64_t rows, int64_t cols);
// The configuration (at `rank`) of the model fm_learned_load would read,
// from its header alone, and the file's path into `resolved`
// (FM_LEARNED_PATH_LEN bytes, may be NULL): what the cost guard needs
// before deciding to read the model. The same errors as the load's for a
// missing file or a header of another kind or rank.
int fm_learned_peek(fm_lfactormer_config *config, char *resolved, const char *path, fm_model_kind kind, int rank,
                    char *msg);
// An ADMM outer iteration's, rank k: 4k per edge (X·H and Xᵀ·W) and 4k² per
// node, and for the incomplete kind 4k² more per edge (each row's and each
// column's Gram over its observed entries).
double fm_learned_admm_flops(int64_t edges, int64_t rows, int64_t cols, int rank, bool incomplete);
void fm_learned_free(fm_learned *model);

// The start of a run with a network, in X's frame (see "Start"): *W (rows ×
// k) and *Ht (cols × k), NULL on entry. `model` is the initialization model,
// or NULL for the plain NNDSVD start. The NNDSVD reads X (g and its borrowed
// edges), the network `network`: X / mean (the solver's view, or a sample of
// it, models/nmf/network_graph.h), needed with a model only. `power`: the
// NNDSVD's power iterations (fm_init_factors).
int fm_learned_start(fm_dense **W, fm_dense **Ht, fm_learned *model, const fm_graph *g, const fm_edges *rows,
                     const fm_edges *cols, const fm_message_graph *network, double mean, int rank, int power,
                     uint64_t seed, char *msg);

// One accelerator step (see "Accelerator step"): W, Ht hold (Ŵ, Ĥᵀ) on entry
// and (W_t, Hᵀ_t) on return; W_prev, Ht_prev hold (W_{t−1}, Hᵀ_{t−1}) on
// entry and are not changed.
//
// keep_rank: a component r whose column of W_t or of Hᵀ_t the network put
// to zero (its relu closed on every row) is taken from (Ŵ, Ĥᵀ) instead, and
// counted in *repaired (may be NULL). A zero component is a rank the ADMM
// after the step regains only slowly: the acceleration model shipped for
// rank 10 zeroes component 6 of W on every input (models/shipped/README.md),
// and ADMM after its last step stalls at rank 9 without this. The training
// chains (models/nmf/unroll) keep the output as it is.
int fm_learned_accelerate(fm_dense *W, fm_dense *Ht, const fm_dense *W_prev, const fm_dense *Ht_prev,
                          fm_learned *model, const fm_message_graph *mg, double mean, bool keep_rank,
                          int *repaired, char *msg);

#endif
