// factormer/nmf.h: AO-ADMM nonnegative matrix factorization: its choices,
// options, run and result.
// A part of the public API: a user includes factormer.h, which includes
// every part and states the conventions they follow.
#ifndef FACTORMER_NMF_H
#define FACTORMER_NMF_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "data.h"

#ifdef __cplusplus
extern "C" {
#endif

//------------------------------------------------------------------------------
// AO-ADMM nonnegative matrix factorization (models/nmf/solver, §3)
//------------------------------------------------------------------------------

typedef enum {
    FM_INIT_RANDOM = 0,
    FM_INIT_NNDSVD,
    FM_INIT_NNDSVDA,
    FM_INIT_NNDSVDAR,
    FM_INIT_LEARNED,       // §6: the initialization network on the NNDSVD start (a model file, below)
} fm_init_method;

const char *fm_init_name(fm_init_method method);
int fm_init_parse(fm_init_method *method, const char *name, char *msg);

// The two execution paths of the networks' edge attention (ops/attention.h):
// the fused kernels (the default) and GraphBLAS built-in semirings (the
// reference formulation). "fused" or "graphblas" (the option --kernels).
typedef enum { FM_KERNELS_FUSED = 0, FM_KERNELS_GRAPHBLAS = 1 } fm_kernels;
int fm_kernels_parse(fm_kernels *kernels, const char *name, char *msg);

// Sampled message passing for the networks (§8, engine/sampler.h).
typedef enum {
    FM_SAMPLER_FULL = 0,       // every edge
    FM_SAMPLER_UNIFORM,
    FM_SAMPLER_WEIGHTED,
    FM_SAMPLER_STRATIFIED,
    FM_SAMPLER_NODE_WISE,      // the number of node-wise strategies above, not one of them
    // GraphSAINT subgraph samplers, for training only (engine/subgraph.h)
    FM_SAMPLER_EDGE = FM_SAMPLER_NODE_WISE,
    FM_SAMPLER_RANDOM_WALK,
    FM_SAMPLER_COUNT,          // the number of strategies, not one of them
} fm_sampler;

// "full", "uniform", "weighted", "stratified", "edge", "random-walk" (the
// option --sampler).
const char *fm_sampler_name(fm_sampler strategy);
int fm_sampler_parse(fm_sampler *strategy, const char *name, char *msg);
// FM_ERR_INVALID, with the reason, for the subgraph samplers: what a
// factorization reads is sampled per target. And the parse that refuses them.
int fm_sampler_check_node_wise(fm_sampler strategy, char *msg);
int fm_sampler_parse_node_wise(fm_sampler *strategy, const char *name, char *msg);

// The loss a factorization minimizes (issue 18, "A second loss";
// models/nmf/kl_solver.c): least squares (the default), or the generalized
// Kullback-Leibler divergence D(X‖WH) = Σ [x log(x / (WH)) − x + (WH)] of
// count data, by multiplicative updates: over every entry for the dense and
// sparse kinds, over Ω for the incomplete kind. "ls" or "kl" (--loss).
typedef enum { FM_LOSS_LS = 0, FM_LOSS_KL = 1 } fm_loss;
const char *fm_loss_name(fm_loss loss);
int fm_loss_parse(fm_loss *loss, const char *name, char *msg);

typedef struct fm_penalty {
    float l1;              // λ1 Σ entries (sparsity)
    float l2;              // λ2/2 ‖·‖² (ridge)
    // λ2 weighs each row of the factor by the entries of Ω it touches:
    // λ2/2 Σ_{(i,j)∈Ω} ‖w_i‖², the weighted-λ regularization of ALS for
    // ratings (Zhou et al. 2008). For dense and sparse data that is λ2·n.
    bool l2_per_entry;
} fm_penalty;

// One line of the convergence trace.
typedef struct fm_solver_iterate {
    int iteration;
    double seconds;        // since the start of the run, initialization included
    double rmse;           // over Ω, §1
    double objective;      // f(W,H) plus penalties (the KL loss: D(X‖WH) plus penalties)
    double holdout_rmse;   // NaN without a holdout
    bool accelerated;      // the factors are the acceleration network's output
    bool rejected;         // an accelerator step whose output the safeguard refused
} fm_solver_iterate;

// The default mini-batch of targets of a network layer: measured on a
// 200000 x 20000 incomplete matrix with 4M entries (rank 10, sampled fanout
// 32), batches of 1024 to 65536 targets run as fast as all targets at once,
// and this one cuts the run's peak memory from 2.6 GB to 0.8 GB.
#define FM_BATCH_TARGETS 8192

// The default work per pass below which the solver runs on one thread: 2^21
// entry-ranks, about a 450 x 450 dense matrix at rank 10. A parallel region
// costs about 13.5 us with 2 threads (perf/omp_regions) and an ADMM
// iteration runs about ten; 100 iterations at rank 10 on 2 threads against
// 1: a 400 x 400 dense matrix 73 against 65 ms, 600 x 600 66 against 63 ms,
// 1000 x 1000 100 against 181 ms (perf/README.md).
#define FM_SERIAL_WORK ((double)(1 << 21))

// The solver's final phase (fm_solver_options.finish).
typedef enum {
    FM_FINISH_NONE = 0,    // ADMM to the end
    FM_FINISH_HALS,        // exact block updates by coordinate descent once ADMM slows
} fm_finish;

const char *fm_finish_name(fm_finish finish);
int fm_finish_parse(fm_finish *finish, const char *name, char *msg);

// The solver's state beside its factors, what a warm start carries besides
// the ADMM duals (fm_solver_options.start_state, fm_solver_result.state;
// models/nmf/warm_start.c). All zero: the ADMM phase with no history.
typedef struct fm_solver_state {
    int iterations;        // the iterations behind the factors (all earlier runs' together)
    bool exact;            // in the exact phase (§3.1); else in the ADMM phase, whose state is the duals
    bool extrapolating;    // the exact phase's extrapolation (models/nmf/extrapolate.h), with:
    bool moved;            // the last iterate was accepted: the next update starts from X + β (X − X_prev)
    double beta, ceiling;  // β and its ceiling β̄
    double objective, residual;   // the accepted iterate's objective and Σr², as the judge compares them
} fm_solver_state;

#define FM_FINISH_BELOW_AUTO (-1.0)
#define FM_FINISH_BELOW_INCOMPLETE 1e-3
// [measured] after the learned initialization on the dense and sparse kinds:
// its start serves ADMM, which it was trained through (§3.1, §6)
#define FM_FINISH_BELOW_LEARNED 0.3

#define FM_ACCEL_BUDGET 0.1   // fm_solver_options.accel_budget's default (§6 [ext])
#define FM_SVD_POWER_AUTO (-1)   // fm_solver_options.svd_power's default
#define FM_MAX_SVD_POWER 64      // the most power iterations svd_power may ask
#define FM_LEARNED_SVD_POWER 1   // [measured] the learned initialization's sketch (§6)
#define FM_POOLED_FANOUT 8    // [choice] the samples a pooled model reads by default (§5.2), as it was trained
// [measured] the ranks FM_POOLED_FANOUT serves, R, those a pooled model was trained at (§5.2): its file's
// record, else (files from before it was recorded, the shipped ones) these: init.fmw to 32, accel.fmw to 20; above R,
// (rank / R)² times it
#define FM_POOLED_INIT_RANK 32
#define FM_POOLED_ACCEL_RANK 20

typedef struct fm_solver_options {
    int rank;
    fm_init_method init;
    // Power iterations of the randomized SVD behind the nndsvd starts (§3
    // "Initializations"); FM_SVD_POWER_AUTO: scikit-learn's rule for the
    // nndsvd starts, FM_LEARNED_SVD_POWER for the learned one's (§6).
    int svd_power;
    int iters;             // outer iterations (one H-update then one W-update)
    int inner;             // ADMM steps per factor update (§3, default 1)
    double tol;            // stop when |Δf|/f falls below; 0 disables
    // Every trace row's objective exact (a pass over X). By default a row
    // takes the expansion of Σr² from the W-update's X·Hᵀ when it is within
    // 0.1% and the tolerance test can be decided on it (models/nmf/objective.h);
    // the last row is always exact.
    bool exact_objective;
    double time_limit;     // seconds; 0 disables
    fm_penalty penalty_w, penalty_h;
    uint64_t seed;
    // Called after every iteration (and once at iteration 0); a nonzero
    // return stops the run early. May be NULL.
    int (*progress)(const fm_solver_iterate *it, void *user);
    void *user;
    // Learned models (§6; trained by `factormer train`). A NULL path means
    // the default file: the model of any rank, init.fmw or accel.fmw, else
    // the rank's own init-rank<K>.fmw or accel-rank<K>.fmw, in
    // $FACTORMER_MODELS if set, else in <prefix>/share/factormer/models
    // beside the installed program or shared library, else in the source
    // tree's models/shipped (CMake option FM_MODEL_DIR). The network
    // reads X divided by its mean over Ω (§5) and W is scaled back.
    const char *init_model;    // init = FM_INIT_LEARNED: the initialization model
    bool accelerate;           // run the acceleration model after every accel_every iterations
    const char *accel_model;   // the acceleration model
    int accel_every;           // c: outer ADMM iterations per accelerator step (default 5)
    int accel_steps;           // T: accelerator steps at most, then plain ADMM (default 5)
    // The safeguard of every accelerator step, on by default (off runs the
    // paper's Algorithm 2 as it is): a component that the network put to
    // zero in W or H is taken from the ADMM iterate it replaces (the rank is
    // kept); then the output is kept only if its objective is not above the
    // ADMM iterate's, else ADMM goes on from its own iterate (which is also
    // the next step's previous iterate).
    bool accel_safeguard;
    // With the safeguard: the accelerator is not called again in the run once
    // the safeguard has refused its output, or once a kept output gained less
    // over the ADMM iterate than that iterate gained over the iteration before
    // (a network pass costs many iterations; it no longer pays). On by
    // default; `eval` turns it off (§9 compares T steps).
    bool accel_give_up;
    // With accel_give_up and the safeguard, the cost guard (§6 [ext]): a step
    // is taken only if its pass costs at most accel_budget times the work the
    // plain run has left, shared among the steps left; else the accelerator
    // is given up. A pass is predicted as the network's floating-point work
    // over an ADMM iteration's (fm_learned_pass_flops), a network flop
    // weighed by the data's kind (models/nmf/accel_guard.c), from the model file's
    // header, so that a first pass that cannot pay is never made and the model
    // is not read; no clock enters (the run stays reproducible). 0.1 by
    // default: the accelerator may make a run at most about 1.1x as long as
    // plain ADMM's. INFINITY: no guard; must be >= 0.
    double accel_budget;
    // Models already loaded (models/nmf/learned.h, fm_learned_load), used instead
    // of the files above when not NULL: a program that runs many matrices
    // reads each file once. The caller keeps them; the solver reuses their
    // activation buffers and sets their batch_targets to this run's, so one
    // loaded model serves one run at a time.
    struct fm_learned *init_network, *accel_network;
    // Sampled message passing for the networks (§8): every call of a
    // network reads a fresh sample of X's graph, each of its layers its own
    // (or, with resample_once, one for all of them), seeded by `seed` and the
    // call. FM_SAMPLER_FULL (the default) reads every edge.
    fm_sampler sampler;
    int64_t fanout;            // in-edges kept per target (default 32)
    // Whether the caller chose the sampler, the fanout: where it chose no
    // sampler, a pooled model (docs §5.2) reads uniform samples of
    // fm_pooled_fanout(rank, R) in-edges a target (or of `fanout`, where chosen): the
    // samples it was trained on, more above the ranks it was trained at; the
    // other models every edge.
    bool sampler_given, fanout_given;
    double zero_ratio;         // stratified: round(zero_ratio·fanout) unstored zeros per target (default 1)
    bool resample_once;
    // Each network layer in mini-batches of this many targets (§8: its
    // working memory is one batch's activations, not all its targets'):
    // FM_BATCH_TARGETS by default; 0 runs a layer on all its targets at once.
    // Fused kernels only: the GraphBLAS path runs every layer whole.
    int64_t batch_targets;
    // The networks' attention path: fused (the default) or GraphBLAS, which
    // reads each call's sample as matrices (fm_message_graph_pack); with the
    // full sampler, a copy of every edge drawn once per call.
    fm_kernels kernels;
    // A run whose work per pass over X, (entries + (rows + cols)·rank)·rank,
    // times rank again for the incomplete kind (whose rows and columns each
    // form a Gram), is below this runs on one thread: a parallel region
    // costs more than it saves there (perf/README.md). FM_SERIAL_WORK by
    // default; 0 keeps the caller's thread count for any size.
    double serial_below;
    // Warm start (`factorize --init-from`, models/nmf/warm_start.c): when
    // start_W and start_H are set, the run starts from them instead of
    // initializing (`init` is not used; a learned initialization and the
    // accelerator are refused): W rows × rank and H rank × cols, finite and
    // nonnegative. start_dual_W (rows × rank) and start_dual_H (rank × cols,
    // H's layout) are the ADMM's scaled duals to go on with (NULL: zero, as a
    // fresh run starts); with them and the state below, b iterations from
    // the result of a iterations give the factors of a + b iterations, to
    // float rounding, in either phase. The caller keeps all of them.
    const fm_dense *start_W, *start_H, *start_dual_W, *start_dual_H;
    // The result keeps the duals of the last iterate (dual_W, dual_H), to be
    // saved beside the factors for a later warm start.
    bool keep_duals;
    // The phase to continue in, for a warm start (issue 18: the continued
    // run repeats the longer one in the exact phase too): start_state (zero:
    // the ADMM phase, as a fresh run starts) and, when it is extrapolating,
    // start_prev_W (rows × rank) and start_prev_H (rank × cols), the accepted
    // iterate before start_W and start_H (the move's X_prev). The result of
    // a keep_duals run gives them (state, prev_W, prev_H).
    fm_solver_state start_state;
    const fm_dense *start_prev_W, *start_prev_H;
    // The exact phase (§3.1, issue 18 "converge to the answer"): once ADMM's
    // progress slows, the factor updates become exact block updates
    // (coordinate descent, ops/hals.h) for the rest of the run. Zero is the
    // old behaviour (ADMM to the end); fm_solver_options_default turns it on.
    fm_finish finish;
    int finish_sweeps;         // coordinate sweeps per factor update (0: 1)
    // Switch when an iteration lowers the objective by less than this share
    // of it (fm_finish_due, models/nmf/finish.h); 0: exact from iteration 1.
    // FM_FINISH_BELOW_AUTO (the default): 0 for the dense and sparse kinds,
    // FM_FINISH_BELOW_INCOMPLETE for the incomplete kind, whose unregularized
    // fit has rows and columns with fewer observations than the rank: exact
    // updates from a poor start overfit them at once, where ADMM's first
    // iterations (the held-out RMSE's best) do not (§3.1); after the learned
    // initialization (init FM_INIT_LEARNED) on the dense and sparse kinds
    // FM_FINISH_BELOW_LEARNED: the network's start was trained to lead ADMM.
    double finish_below;
    // The exact phase without its extrapolation (models/nmf/extrapolate.h):
    // plain coordinate sweeps, scikit-learn's "cd" update.
    bool finish_plain;
    // Model selection on the held-out entries (needs a holdout given to
    // fm_solver_run; false / 0: off). keep_best returns the factors of the
    // iteration with the lowest held-out RMSE instead of the last; patience
    // > 0 stops the run (stop_reason "patience") once that many iterations
    // passed without a lower held-out RMSE.
    bool keep_best;
    int patience;
    // The loss (issue 18): FM_LOSS_LS (zero, the default) runs AO-ADMM as
    // above; FM_LOSS_KL runs the multiplicative updates of the KL divergence
    // (models/nmf/kl_solver.c), whose trace's objective is the divergence
    // plus the penalties, and which takes rank, init (not learned), iters,
    // tol, time_limit, penalties, seed, progress, serial_below, start_W and
    // start_H (W and H are the updates' whole state: b iterations from a
    // iterations' factors give the a + b iterations'), keep_best and
    // patience (with the incomplete kind's holdout); the networks, duals
    // and a speckled holdout are errors with it, and the exact phase
    // (finish) is least squares' own. nndsvda suits it better than nndsvd
    // (a zero of W or H stays zero under the updates).
    fm_loss loss;
} fm_solver_options;

void fm_solver_options_default(fm_solver_options *opts);
// The exact phase's threshold a run uses (models/nmf/finish.c): finish_below,
// or for FM_FINISH_BELOW_AUTO the default of the kind and the start (0,
// FM_FINISH_BELOW_INCOMPLETE for the incomplete kind, FM_FINISH_BELOW_LEARNED
// after the learned initialization on the others).
double fm_finish_below(const fm_solver_options *opts, bool incomplete);

typedef struct fm_solver_result {
    fm_dense *W;           // rows × rank
    fm_dense *H;           // rank × cols (written as such)
    fm_solver_iterate *trace;
    int trace_len;         // iterations recorded, iteration 0 included
    const char *stop_reason;   // "iterations", "tolerance", "time limit", "callback", "patience"
    double init_seconds;   // the initialization, its network included
    int svd_power;         // the power iterations of the start's randomized SVD (-1: none, a random or warm start)
    char *init_model;      // the file of the initialization model used, else NULL
    fm_sampler sampler;    // what the networks read (sampler, fanout): the options', or a pooled model's own
    int64_t fanout;
    int trained_rank;      // a pooled reader's R, the ranks its own samples serve (§5.2, fm_pooled_trained_rank); else 0
    char *accel_model;     // the file of the acceleration model used, else NULL
    int accel_steps;       // accelerator steps taken
    int accel_rejected;    // of which the safeguard refused the output
    int accel_repaired;    // components the safeguard took from the ADMM iterate (all steps)
    int accel_given_up;    // the iteration after which the accelerator was given up (accel_give_up), else 0
    bool accel_too_costly; // given up by the cost guard (accel_budget)
    // The guard's figures: a pass's predicted work and its share of the
    // budget at the last decision, in ADMM iterations (0 without a guard).
    double accel_pass_iterations, accel_allowed_iterations;
    int threads;           // OpenMP threads the run used: 1 for a small matrix (fm_solver_run)
    // With keep_duals: the ADMM's scaled duals of the last iterate, W's
    // (rows × rank) and H's (rank × cols, H's layout); NULL otherwise.
    fm_dense *dual_W, *dual_H;
    // With keep_duals, the rest of the state a warm start carries: the
    // phase the run ended in, and in the exact phase the accepted iterate
    // before W and H (W's and H's layouts; W and H themselves when the phase
    // does not extrapolate); NULL in the ADMM phase.
    fm_solver_state state;
    fm_dense *prev_W, *prev_H;
    // The exact phase (fm_solver_options.finish): the first iteration whose
    // updates were exact block updates, 0 if none were.
    int finish_iteration;
    int finish_refused;    // extrapolated iterates refused in the exact phase
    // Model selection: with a holdout, the iteration of the lowest held-out
    // RMSE (the first on ties) and that RMSE; -1 and NaN without a holdout.
    // W and H are that iteration's when opts.keep_best.
    int best_iteration;
    double best_holdout_rmse;
} fm_solver_result;

// Factorize the graph. `holdout` (may be NULL) holds the entries kept out of
// the fit, as triplets; their RMSE is reported per iteration. For the dense
// and sparse kinds the holdout's coordinates are unknown to the fit (a
// speckled mask: zeros and stored entries alike, as fm_holdout_speckle
// draws them): each row and column is fitted on its known entries only, the
// trace's rmse is over those, and the graph must hold no value at a held
// coordinate. The learned accelerator does not know the mask: refused there. A matrix too
// small to gain from a second thread runs on one (result->threads), and the
// caller's thread count is restored.
int fm_solver_run(fm_solver_result **out, fm_graph *g, const fm_triplets *holdout,
                  const fm_solver_options *opts, char *msg);
void fm_solver_result_free(fm_solver_result **r);

#ifdef __cplusplus
}
#endif
#endif
