// Training the learned initialization and the learned acceleration
// (docs/factormer-math.md §7): the discounted unrolled loss of models/nmf/unroll on
// the synthetic matrices of models/nmf/train_data, AdamW (models/train/optim) with
// batch size 1, the schedules of models/train/schedule, validation after every
// epoch, the best model and a resumable training state written as
// checkpoints (models/nmf/lfactormer_checkpoint, io/checkpoint).
//
// One training matrix (fm_train_sample_new):
//   X = matrix `index` of FM_SET_TRAIN (fm_train_fill), divided by its mean
//   over Ω (§5: the model expects data of mean 1; the synthetic matrices have
//   mean about 1 already), as a dense-kind graph, its message graph opened
//   for the fused kernels, and the NNDSVD start (fm_init_factors, the seed of
//   its randomized SVD drawn from (seed, set, index)).
// One step, over a batch of `batch` matrices (§7: 1; the last batch of an
//   epoch may be shorter): for each, fm_unroll_forward with a tape (init:
//   n_unroll ADMM iterations after the network; acceleration: T accelerator
//   steps of c ADMM iterations, T from fm_schedule_accel_steps(epoch)) and
//   fm_unroll_backward with d_loss = 1/(matrices in the batch), into zeroed
//   gradients; then fm_adamw_step at step t (1, 2, … over the whole run)
//   with rate fm_schedule_rate(rate, epoch, step of the epoch, steps per
//   epoch), steps per epoch = ceil(train_size / batch).
// Order: epoch e visits the training set in the order of a seeded
//   permutation keyed by (seed, e) alone (fm_rng_permute, FM_STREAM_ORDER):
//   position p of epoch e trains matrix fm_train_order(seed, e, p, N). Every
//   draw of a run is a counter-based stream of (seed, epoch, index), none a
//   running generator, so a resumed run needs only the counters.
//
// Initial parameters [choice]: fm_params_init(seed), then the output heads
//   (§5: W' = relu(S_L D_W + c_W)) open and small: c_W = c_H = 1/sqrt(rank),
//   so that the untrained model's W·H has the data's mean 1, and D_W, D_H
//   times FM_TRAIN_HEAD_SCALE, so that few outputs start clamped. With the
//   zero biases and full Glorot heads, the tiny test model (width 8, rank 3)
//   started at validation RMSE 1 to 7, and at rate 1e-2 three of nine seeds
//   clamped every output within two epochs of 24 matrices (a relu head that
//   is all zero passes no gradient and never recovers); with these it starts
//   near 1 (the spread of X) and all nine improved in both epochs (init, and
//   accel validated after one step).
//
// Validation, before the first epoch (the untrained model, epoch 0) and
// after every epoch, on FM_SET_VALID_SMALL and FM_SET_VALID_LARGE
// (valid_size noise-free matrices each, generated once per call):
//   init:  the RMSE over Ω of the network's output, relu(W')·relu(H') against
//          X (iteration 0, no ADMM after it), or with valid_iters > 0 of the
//          iterate that many ADMM iterations after it (the chain's ADMM, duals
//          from 0): a score of where the start leads rather than where it is;
//   accel: the RMSE after valid_steps (default 5, the curriculum's last T:
//          fixed, so that epochs compare) accelerator steps;
// each on X's own scale (the scaled RMSE times the mean), the median over
// each set, and the score = the mean of the two medians. The best model is
// the epoch ≥ 1 with the lowest score (the untrained model is reported, not
// a candidate; a tie keeps the earlier epoch): it is written to `out` (values
// only) when found. The baselines the network must beat are reported once:
// init, the RMSE of the NNDSVD start (after valid_iters plain ADMM iterations
// from it); accel, the RMSE after valid_steps·c plain ADMM iterations from it
// (the same iterations the chain runs).
//
// The training state (values, both AdamW moments and fm_train_state) goes to
// `out` + FM_TRAIN_STATE_SUFFIX after every epoch and after every
// `checkpoint_every` matrices of an epoch, so a killed run loses at most that
// many matrices of work (the state is written after the step that reaches
// or passes each multiple). Its fields: epoch = epochs completed; step =
// AdamW steps taken = epoch·steps per epoch + rng_counter/batch; rng_counter
// = matrices of the current epoch done (the next position of its
// permutation, a multiple of the batch);
// curriculum_steps = the unrolled steps of the current epoch; learning_rate
// = the rate of the next step; best_epoch and best_validation_rmse = the
// best model's epoch and score (0 and +infinity before any; 0 and a score
// when the best is the model a fine-tuning run started from, `from`).
//
// Resume (`resume`): the state file must exist and match the options: kind,
// rank, width, heads, layers (the header), the seed, and, through the
// counters, the train size, the batch and the initial rate (the step and the
// position agree as above; the stored rate equals the schedule's). Then the run
// continues at the stored position and its result is bit-identical to an
// uninterrupted run's at the same thread count (OpenBLAS and the reductions
// of the ops may order sums by thread). `epochs` may grow on resume (the
// schedules do not depend on the total); the validation size, the ADMM
// settings and the discount are the caller's to keep (they are not in the
// file). Without `resume` an existing state file is an error (it would be
// overwritten): resume it or remove it.
//
// Writes: `out` and the state go through fm_checkpoint_write (a temporary
// name renamed when complete). Before any work, `out` must not be a
// directory and its directory must take a new file (a temporary file is
// created there and removed), so that a bad path fails at once and leaves
// nothing.
//
// Parallelism: with batch 1 (the default, §7) the matrices are trained one
// after another and the ops run their OpenMP loops over the nodes and edges
// (§4) of one matrix. With batch B > 1 (gradient accumulation: another
// algorithm, B times fewer AdamW steps) the B matrices of a step run in
// parallel, min(B, threads) at a time, each single-threaded inside (nested
// OpenMP regions are inactive, libgomp's default), their gradients summed in
// batch order: the result does not depend on which thread took which matrix.
// README "Training" has the measurements that motivate it: the training
// matrices are so small (10 to 100 rows) that the ops run slower on two
// threads than on one.
#ifndef FM_TRAIN_H
#define FM_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "attention.h"
#include "comm.h"
#include "lfactormer_checkpoint.h"
#include "optim.h"
#include "train_data.h"
#include "train_sampling.h"
#include "unroll.h"

#define FM_TRAIN_RATE_INIT 1e-3       // §7 [choice]: the initialization model's initial rate
#define FM_TRAIN_RATE_ACCEL 3e-4      // §7 [choice]: the acceleration model's
#define FM_TRAIN_EPOCHS 15            // §7
#define FM_TRAIN_CHECKPOINT_EVERY 1000   // matrices between two states within an epoch
#define FM_TRAIN_LIMIT_ITERS 500      // [choice] §7's limit term: ADMM iterations to W*H*
#define FM_TRAIN_STATE_SUFFIX ".state"
#define FM_TRAIN_HEAD_SCALE 0.1       // [choice] the output projections' initial scale (below)
// The ranks train takes, those of the chains' differentiable ADMM (models
// of any rank run at every rank); the shapes of a set shift up to the rank
// (fm_train_shape), as NNDSVD needs.
#define FM_TRAIN_MAX_RANK FM_ADMM_GRAD_MAX_RANK

typedef struct fm_train_progress fm_train_progress;   // below

typedef struct fm_train_options {
    fm_model_kind kind;             // FM_MODEL_INIT or FM_MODEL_ACCEL
    int rank, width, heads, layers; // the model (inputs follow from the kind); rank: the data's
    bool any_rank;                  // the component-set model of §5.1, trained at `rank`, run at any
    bool gathered;                  // any_rank: the features add the gathered term u of §5.1
    bool pooled;                    // any_rank: one network pass over the pooled components (§5.2)
    bool residual;                  // pooled: the decoder corrects each component's own input (§5.2)
    int max_rank;                   // any_rank: training matrix i's rank drawn from [rank, max_rank]
                                    // (fm_train_rank); 0: `rank` alone. Validation stays at `rank`
    int epochs;                     // total epochs of the run (>= 1)
    int64_t train_size;             // matrices per epoch (FM_TRAIN_SIZE)
    int64_t valid_size;             // matrices of each validation set (FM_VALID_SIZE)
    uint64_t seed;                  // data, order, NNDSVD and initial parameters
    int svd_power;                  // the chains' NNDSVD starts' power iterations (FM_SVD_POWER_AUTO:
                                    // the rule of §3; FM_LEARNED_SVD_POWER: the learned start's own sketch)
    double rate;                    // initial learning rate (> 0)
    int unroll;                     // init: n_unroll, ADMM iterations after the network (>= 0)
    int admm;                       // accel: c, ADMM iterations per accelerator step (>= 1)
    int inner;                      // ADMM steps per factor update (>= 1)
    double discount;                // γ (> 0)
    int valid_steps;                // accel: accelerator steps of the validation (>= 1)
    int valid_iters;                // init: ADMM iterations after the output before its validation RMSE
                                    // (0, the default: the output itself)
    double limit_weight;            // init: β of §7's limit term, the loss read against (1 − β) X + β W*H*
                                    // (models/nmf/train_limit.h); 0, the default: X alone
    int limit_iters;                // init: ADMM iterations to W*H* from the sample's start (FM_TRAIN_LIMIT_ITERS)
    fm_adamw adamw;
    fm_train_data data;             // the kind of the matrices (dense, §7, by default)
    fm_train_sampling sampling;     // what the network reads (every edge, §7, by default)
    int batch;                      // matrices per AdamW step (1, §7); > 1: gradient accumulation, in parallel
    int64_t checkpoint_every;       // matrices between states within an epoch; 0: epoch ends only
    const char *out;                // the best model; the state is out + FM_TRAIN_STATE_SUFFIX
    bool resume;                    // continue from the state file
    // A model file (or training state) whose values start a new run instead
    // of the initial parameters (fine-tuning, e.g. a dense-trained model on
    // incomplete data): kind, rank, width, heads and layers must be the
    // run's. The new run has its own state: its schedule and curriculum
    // start afresh, and its epoch 0 validation is the model's figure, the
    // best so far: `out` holds the model itself until an epoch beats it.
    // Not with `resume`. NULL: the initial parameters.
    const char *from;
    // Called after every training step and after every validation (see
    // fm_train_progress). A nonzero return stops the run at once, as if it
    // were killed there: nothing more is written, and the result says
    // `stopped`. May be NULL.
    int (*progress)(const fm_train_progress *p, void *user);
    void *user;
    // Data-parallel training over processes (docs §11.6), NULL in one: each
    // process computes the gradients of its share of a batch's matrices, the
    // gradients are added in the order one process adds them (the same
    // parameters after every step, bit for bit), every process validates,
    // and process 0 alone writes files. Every process must call the
    // progress callback's stop decision alike (it decides on the figures
    // given, which are the same everywhere).
    fm_comm *comm;
} fm_train_options;

// The §6, §7 defaults for a kind: rank 10, width 100, 4 heads, 4 layers, 15
// epochs, 15 000 training and 128 + 128 validation matrices, seed 42, rate
// 1e-3 (init) or 3e-4 (accel), n_unroll 5, c 5, inner 1, γ 0.9, validation
// T 5, fm_adamw_default, batch 1, a state every 1000 matrices; out NULL.
void fm_train_options_default(fm_train_options *options, fm_model_kind kind);
// FM_OK if every option is in range (out is not looked at), else
// FM_ERR_INVALID with a sentence that names the option.
int fm_train_check(const fm_train_options *options, char *msg);
// The steps of the validation's chain: accel, valid_steps accelerator steps;
// init, valid_iters ADMM iterations after the output (0: the output alone).
int fm_train_valid_chain_steps(const fm_train_options *options);
// The unroll configuration of the training chain at `epoch` (0-based).
void fm_train_unroll_config(fm_unroll_config *config, const fm_train_options *options, int epoch);

// The rank of training matrix `index`: `rank`, or with max_rank a uniform
// draw from [rank, max_rank] keyed by the seed and the index (the same in
// every epoch, from any thread).
int fm_train_rank(const fm_train_options *options, int64_t index);
// Runs item(i, context, msg_i) for i in [0, count) on up to `threads`
// threads, every call single-threaded inside (its ops see one thread: a
// training or validation matrix is too small to share, and its bits are then
// the same at any thread count). Returns the status of the first item, in
// index order, that failed, with its message in msg; else FM_OK.
typedef int (*fm_train_item)(int64_t i, void *context, char *msg);
int fm_train_each(int64_t count, int threads, fm_train_item item, void *context, char *msg);

// The rank of validation matrix `index` (of either set): `rank`, or with
// max_rank every rank of [rank, max_rank] in turn, so that a model of any
// rank is chosen on all the ranks it trained at.
int fm_train_valid_rank(const fm_train_options *options, int64_t index);
// The highest rank the run trains at: max_rank, else rank. A model of any
// rank records it (fm_lfactormer_config.trained_rank) for its samples at
// inference (§5.2, "Samples").
int fm_train_top_rank(const fm_train_options *options);

// The training matrix at `position` of epoch `epoch` in a set of `size`.
int64_t fm_train_order(uint64_t seed, int epoch, int64_t position, int64_t size);

// Matrix `index` of `set` (of `set_size`) prepared for the model (see
// above), of the kind of `data` (NULL: dense, §7); *sample is overwritten.
// (fm_train_sample is in models/nmf/train_sampling.h.)
// Its NNDSVD start takes `svd_power` power iterations (FM_SVD_POWER_AUTO: the rule).
int fm_train_sample_new(fm_train_sample *sample, const fm_train_data *data, fm_train_set set, int64_t index,
                        int64_t set_size, int rank, int svd_power, uint64_t seed, char *msg);
void fm_train_sample_free(fm_train_sample *sample);
// The NNDSVD start of a sample whose graph, message graph and svd_power are set.
int fm_train_sample_start(fm_train_sample *sample, int rank, uint64_t nndsvd_seed, char *msg);
// w (rows × k), ht (cols × k): `iters` plain ADMM outer iterations (§3, the
// chains' ADMM, `inner` steps per factor update, duals from 0) from the
// sample's start: the validation's baseline and §7's limit term.
int fm_train_sample_admm(float *w, float *ht, const fm_train_sample *sample, int k, int iters, int inner, char *msg);

// The initial parameters of a run (see "Initial parameters"). *params NULL on entry.
int fm_train_params_new(fm_params **params, const fm_train_options *options, char *msg);

// ceil(train_size / batch).
int64_t fm_train_steps_per_epoch(const fm_train_options *options);

// One training step, the one a run takes as step `step` (0-based) of epoch
// `epoch` (0-based): the matrices at positions [step·batch, (step+1)·batch)
// ∩ [0, train_size) of fm_train_order, each prepared by fm_train_sample_new,
// the chain of fm_train_unroll_config(epoch) forward and backward (gradients
// zeroed first), and fm_adamw_step with the scheduled rate (see above).
// `params` is laid out for the options' model; *loss gets the mean unrolled
// loss of the batch. A step whose loss or summed gradient is not finite (the
// model's arithmetic overflowed: a rate that wrecked it) is skipped: the
// parameters and the moments are unchanged, *loss is NaN, the status FM_OK.
int fm_train_step(double *loss, fm_params *params, const fm_train_options *options, int epoch, int64_t step,
                  char *msg);
// fm_train_step with the caller's scratch `extra` of (batch − 1) · count
// floats (the run keeps one for all its steps); no argument checks.
int fm_train_step_scratch(double *loss, fm_params *params, float *extra, const fm_train_options *options, int epoch,
                          int64_t step, char *msg);

// One epoch's line of the report. Epoch 0 is the untrained model (no
// training: matrices 0, loss NaN).
typedef struct fm_train_epoch {
    int epoch;                   // epochs completed when validated
    int steps;                   // unrolled steps of the epoch's chain (init n_unroll, accel T)
    double peak_rate;            // the epoch's first rate
    int64_t matrices;            // trained in this call (fewer than train_size after a resume)
    double loss;                 // mean unrolled loss over them
    double valid_small, valid_large, valid;   // median RMSEs and their mean (the score)
    bool best;                   // the best so far: written to `out`
    int64_t skipped;             // steps skipped: their loss or gradient was not finite
    double train_seconds, valid_seconds;
} fm_train_epoch;

typedef enum {
    FM_TRAIN_EVENT_STEP = 0,     // a training step is done (and the state written, if due)
    FM_TRAIN_EVENT_EPOCH = 1,    // a validation is done (`epoch` holds it; after the untrained one too)
} fm_train_event;

struct fm_train_progress {
    fm_train_event event;
    int epoch;                   // STEP: the epoch in progress (0-based); EPOCH: epochs completed
    int epochs;                  // the run's total
    int64_t done, total;         // matrices of the epoch done, train_size
    double loss, running_loss;   // this step's (mean) loss; the mean over the epoch's matrices in this call
    double valid;                // the last validation score (NaN before any)
    double baseline;             // the baselines' score (fm_train_result.baseline)
    const fm_train_epoch *report;   // EPOCH only
    double seconds;              // since fm_train_run began
    int64_t matrices;            // trained in this call
    int64_t remaining;           // matrices left to train in the run
};

typedef struct fm_train_result {
    fm_train_epoch *epochs;      // the validations of this call, in order
    int count;
    double baseline_small, baseline_large, baseline;   // medians and their mean (see above)
    fm_train_state state;        // the state last written (the starting state if none was)
    bool resumed, stopped;
    int64_t matrices;            // trained in this call
    double train_seconds;        // spent on them (data, forward, backward, AdamW)
    double seconds;              // the whole call
    char state_path[4200];
} fm_train_result;

// Runs (or resumes) the training; *result (NULL on entry) is set on success,
// and also when the callback stopped the run.
int fm_train_run(fm_train_result **result, const fm_train_options *options, char *msg);
void fm_train_result_free(fm_train_result **result);

#endif
