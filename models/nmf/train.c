// Training the learned initialization and acceleration (§7): the options,
// the draws, the samples and one step (see train.h; the run: train_run.c).
#include "train.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admm_grad.h"
#include "init.h"
#include "loss_grad.h"
#include "rng.h"
#include "schedule.h"
#include "status.h"
#include "train_limit.h"

//------------------------------------------------------------------------------
// Options
//------------------------------------------------------------------------------

void fm_train_options_default(fm_train_options *options, fm_model_kind kind)
{
    if (!options) return;
    *options = (fm_train_options){
        .kind = kind,
        .rank = 10,
        .width = 100,
        .heads = 4,
        .layers = 4,
        .epochs = FM_TRAIN_EPOCHS,
        .train_size = FM_TRAIN_SIZE,
        .valid_size = FM_VALID_SIZE,
        .seed = 42,
        .svd_power = FM_SVD_POWER_AUTO,
        .rate = kind == FM_MODEL_ACCEL ? FM_TRAIN_RATE_ACCEL : FM_TRAIN_RATE_INIT,
        .unroll = FM_UNROLL_STEPS,
        .admm = FM_UNROLL_ADMM,
        .inner = 1,
        .discount = FM_UNROLL_DISCOUNT,
        .valid_steps = FM_SCHEDULE_MAX_ACCEL,
        .limit_iters = FM_TRAIN_LIMIT_ITERS,
        .batch = 1,
        .checkpoint_every = FM_TRAIN_CHECKPOINT_EVERY,
    };
    fm_adamw_default(&options->adamw);
    fm_train_data_default(&options->data);
    fm_train_sampling_default(&options->sampling);
}

void fm_train_unroll_config(fm_unroll_config *config, const fm_train_options *options, int epoch)
{
    const bool accel = options->kind == FM_MODEL_ACCEL;
    *config = (fm_unroll_config){
        .mode = accel ? FM_UNROLL_ACCEL : FM_UNROLL_INIT,
        .model = {.inputs = fm_model_kind_inputs(options->kind, options->rank), .rank = options->rank,
                  .width = options->width, .heads = options->heads, .layers = options->layers,
                  .components = options->any_rank, .gathered = options->gathered,
                  .pooled = options->pooled, .residual = options->residual,
                  .trained_rank = options->any_rank ? fm_train_top_rank(options) : 0},
        .steps = accel ? fm_schedule_accel_steps(epoch) : options->unroll,
        .admm = options->admm,
        .inner = options->inner,
        .discount = options->discount,
    };
}

int fm_train_valid_chain_steps(const fm_train_options *options)
{
    return options->kind == FM_MODEL_ACCEL ? options->valid_steps : options->valid_iters;
}

int fm_train_check(const fm_train_options *options, char *msg)
{
    if (!options) return fm_fail(FM_ERR_INVALID, msg, "train: no options");
    const fm_train_options *o = options;
    if (o->kind != FM_MODEL_INIT && o->kind != FM_MODEL_ACCEL)
        return fm_fail(FM_ERR_INVALID, msg, "train: unknown model kind %d; expected init or accel", (int)o->kind);
    if (o->rank < 1 || o->rank > FM_TRAIN_MAX_RANK)
        return fm_fail(FM_ERR_INVALID, msg,
                       "train: rank %d; expected 1 to %d (the training chains' ADMM; a model of any rank, "
                       "--any-rank, runs at every rank)",
                       o->rank, FM_TRAIN_MAX_RANK);
    if (o->max_rank && (!o->any_rank || o->max_rank < o->rank || o->max_rank > FM_TRAIN_MAX_RANK))
        return fm_fail(FM_ERR_INVALID, msg,
                       "train: --max-rank %d; expected a model of any rank (--any-rank) and %d to %d", o->max_rank,
                       o->rank, FM_TRAIN_MAX_RANK);
    if ((o->gathered || o->pooled) && !o->any_rank)
        return fm_fail(FM_ERR_INVALID, msg, "train: --%s is a feature of a model of any rank; give --any-rank",
                       o->gathered ? "gathered" : "pooled");
    if (!fm_svd_power_valid(o->svd_power))
        return fm_fail(FM_ERR_INVALID, msg, "train: --svd-power %d; expected auto or 0 to %d", o->svd_power,
                       FM_MAX_SVD_POWER);
    if (o->residual && !o->pooled)
        return fm_fail(FM_ERR_INVALID, msg, "train: --residual is a feature of a pooled model; give --pooled");
    if (o->resume && o->from)
        return fm_fail(FM_ERR_INVALID, msg,
                       "train: --from starts a new run from a model, --resume continues a run's own state; give one");
    if (o->width < 1) return fm_fail(FM_ERR_INVALID, msg, "train: width %d; expected at least 1", o->width);
    if (o->heads < 1) return fm_fail(FM_ERR_INVALID, msg, "train: %d heads; expected at least 1", o->heads);
    if (o->width % o->heads)
        return fm_fail(FM_ERR_INVALID, msg, "train: width %d is not a multiple of the %d heads", o->width, o->heads);
    if (o->layers < 0 || o->layers > FM_LFACTORMER_MAX_LAYERS)
        return fm_fail(FM_ERR_INVALID, msg, "train: %d layers; expected 0 to %d", o->layers,
                       FM_LFACTORMER_MAX_LAYERS);
    if (o->epochs < 1) return fm_fail(FM_ERR_INVALID, msg, "train: %d epochs; expected at least 1", o->epochs);
    if (o->epochs > 1000000)
        return fm_fail(FM_ERR_INVALID, msg, "train: %d epochs; expected at most 1000000", o->epochs);
    if (o->train_size < 1 || o->train_size > FM_TRAIN_MAX_SET)
        return fm_fail(FM_ERR_INVALID, msg, "train: train size %lld; expected 1 to 2^40", (long long)o->train_size);
    if (o->valid_size < 1 || o->valid_size > 1000000)
        return fm_fail(FM_ERR_INVALID, msg, "train: validation size %lld; expected 1 to 1000000",
                       (long long)o->valid_size);
    if (!(o->rate > 0) || !isfinite(o->rate))
        return fm_fail(FM_ERR_INVALID, msg, "train: learning rate %g; expected a finite rate above 0", o->rate);
    if (o->unroll < 0) return fm_fail(FM_ERR_INVALID, msg, "train: --unroll %d; expected at least 0", o->unroll);
    if (o->admm < 1)
        return fm_fail(FM_ERR_INVALID, msg, "train: %d ADMM iterations per accelerator step; expected at least 1",
                       o->admm);
    if (o->valid_steps < 1)
        return fm_fail(FM_ERR_INVALID, msg, "train: %d validation accelerator steps; expected at least 1",
                       o->valid_steps);
    if (o->valid_iters < 0 || (o->valid_iters > 0 && o->kind != FM_MODEL_INIT))
        return fm_fail(FM_ERR_INVALID, msg,
                       "train: %d validation ADMM iterations; expected at least 0, and 0 but for an init model",
                       o->valid_iters);
    if (!(o->limit_weight >= 0 && o->limit_weight <= 1) || (o->limit_weight > 0 && o->kind != FM_MODEL_INIT))
        return fm_fail(FM_ERR_INVALID, msg, "train: --limit-weight %g; expected 0 to 1, and 0 but for an init model",
                       o->limit_weight);
    if (o->limit_iters < 1 || o->limit_iters > 100000)
        return fm_fail(FM_ERR_INVALID, msg, "train: --limit-iters %d; expected 1 to 100000", o->limit_iters);
    if (o->batch < 1 || o->batch > 4096)
        return fm_fail(FM_ERR_INVALID, msg, "train: batch of %d matrices; expected 1 to 4096", o->batch);
    if (o->checkpoint_every < 0)
        return fm_fail(FM_ERR_INVALID, msg, "train: checkpoint every %lld matrices; expected 0 (epoch ends only) or more",
                       (long long)o->checkpoint_every);
    int status = fm_train_data_check(&o->data, msg);
    if (!status) status = fm_train_sampling_check(&o->sampling, &o->data, msg);
    if (status) return status;
    // the chains of every epoch and of the validation
    fm_unroll_config config;
    const int last = o->epochs - 1 < 2 * FM_SCHEDULE_MAX_ACCEL ? o->epochs - 1 : 2 * FM_SCHEDULE_MAX_ACCEL;
    fm_train_unroll_config(&config, o, last);
    status = fm_unroll_check(&config, msg);
    if (status) return status;
    config.steps = fm_train_valid_chain_steps(o);
    if (config.steps > 0) {
        status = fm_unroll_check(&config, msg);
        if (status) return status;
    }
    return FM_OK;
}

//------------------------------------------------------------------------------
// Draws: the order of each epoch and the NNDSVD seed of each matrix
//------------------------------------------------------------------------------

static fm_rng order_stream(uint64_t seed) { return fm_rng_stream(seed, FM_STREAM_ORDER); }

int fm_train_rank(const fm_train_options *o, int64_t index)
{
    if (!o->max_rank || o->max_rank <= o->rank) return o->rank;
    // counters 2^61 + index of the order stream: neither the epochs' (from 0) nor the NNDSVD seeds' (2^62 + …)
    const double u = fm_rng_uniform(order_stream(o->seed), UINT64_C(1) << 61 | (uint64_t)index);
    const int rank = o->rank + (int)(u * (o->max_rank - o->rank + 1));
    return rank < o->max_rank ? rank : o->max_rank;
}

int fm_train_top_rank(const fm_train_options *o) { return o->max_rank > o->rank ? o->max_rank : o->rank; }

int fm_train_valid_rank(const fm_train_options *o, int64_t index)
{
    if (!o->max_rank || o->max_rank <= o->rank) return o->rank;
    return o->rank + (int)(index % (o->max_rank - o->rank + 1));
}

int64_t fm_train_order(uint64_t seed, int epoch, int64_t position, int64_t size)
{
    const fm_rng key = fm_rng_stream(fm_rng_bits(order_stream(seed), (uint64_t)epoch), (uint64_t)size);
    return fm_rng_permute(position, size, key);
}

// The seed of the randomized SVD behind matrix `index`'s NNDSVD start: the
// same in every epoch. Counters 2^62 + … never meet the epochs' counters.
static uint64_t nndsvd_seed(uint64_t seed, fm_train_set set, int64_t index)
{
    return fm_rng_bits(order_stream(seed), (UINT64_C(1) << 62) | ((uint64_t)set << 48) | (uint64_t)index);
}

//------------------------------------------------------------------------------
// Samples
//------------------------------------------------------------------------------

void fm_train_sample_free(fm_train_sample *sample)
{
    if (!sample) return;
    fm_message_graph_close(&sample->mg, NULL);
    fm_graph_free(&sample->graph);
    fm_subgraph_matrix_free(&sample->subgraph);
    free(sample->columns_log_pi);
    free(sample->w_start);
    free(sample->ht_start);
    memset(sample, 0, sizeof *sample);
}

int fm_train_sample_start(fm_train_sample *sample, int rank, uint64_t nndsvd_seed, char *msg)
{
    fm_dense *w_start = NULL, *ht_start = NULL;
#define FREE_ALL { fm_dense_free(&w_start); fm_dense_free(&ht_start); }
    FM_TRY(fm_init_factors(&w_start, &ht_start, sample->graph, &sample->mg.rows, &sample->mg.columns, rank,
                           FM_INIT_NNDSVD, sample->svd_power, nndsvd_seed, msg));
    free(sample->w_start);
    free(sample->ht_start);
    sample->w_start = w_start->data;
    sample->ht_start = ht_start->data;
    w_start->data = ht_start->data = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_train_sample_admm(float *w, float *ht, const fm_train_sample *s, int k, int iters, int inner, char *msg)
{
    float *duals = NULL;
    fm_admm_tape *tape = NULL;
#define FREE_ALL { free(duals); fm_admm_tape_free(&tape); }
    const int64_t m = s->rows, n = s->cols;
    const fm_kind kind = s->graph->stats.kind;
    FM_ALLOC(duals, (m + n) * k);
    float *uw = duals, *uh = duals + m * k;
    memcpy(w, s->w_start, sizeof(float) * m * k);
    memcpy(ht, s->ht_start, sizeof(float) * n * k);
    for (int it = 0; it < iters; it++) {
        FM_TRY(fm_admm_grad_forward(ht, uh, &tape, w, ht, uh, &s->mg.columns, kind, k, inner, msg));
        fm_admm_tape_free(&tape);
        FM_TRY(fm_admm_grad_forward(w, uw, &tape, ht, w, uw, &s->mg.rows, kind, k, inner, msg));
        fm_admm_tape_free(&tape);
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// The graph and the message graph of a sample, without its start.
static int sample_graph(fm_train_sample *sample, const fm_train_data *data, fm_train_set set, int64_t index,
                        int64_t set_size, int rank, uint64_t seed, char *msg)
{
    fm_train_sample s = {0};
#define FREE_ALL fm_train_sample_free(&s)
    FM_CHECK(rank >= 1, FM_ERR_INVALID, "fm_train_sample_new: rank %d must be >= 1", rank);
    FM_TRY(fm_train_data_shape(&s.rows, &s.cols, data, set, index, set_size, rank, seed, msg));
    FM_CHECK(rank <= s.rows && rank <= s.cols, FM_ERR_INVALID,
             "fm_train_sample_new: rank %d is above the smaller side of the %s matrix %lld (%lld x %lld)", rank,
             fm_train_set_name(set), (long long)index, (long long)s.rows, (long long)s.cols);
    FM_TRY(fm_train_matrix(&s.graph, NULL, NULL, &s.mean, data, set, index, set_size, rank, seed, msg));
    FM_TRY(fm_message_graph_open(&s.mg, s.graph, FM_KERNELS_FUSED, msg));
    *sample = s;
    return FM_OK;
#undef FREE_ALL
}

int fm_train_sample_new(fm_train_sample *sample, const fm_train_data *data, fm_train_set set, int64_t index,
                        int64_t set_size, int rank, int svd_power, uint64_t seed, char *msg)
{
    fm_train_sample s = {0};
#define FREE_ALL fm_train_sample_free(&s)
    FM_CHECK(sample, FM_ERR_INVALID, "fm_train_sample_new: no sample");
    FM_TRY(sample_graph(&s, data, set, index, set_size, rank, seed, msg));
    s.svd_power = svd_power;
    FM_TRY(fm_train_sample_start(&s, rank, nndsvd_seed(seed, set, index), msg));
    *sample = s;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// One step
//------------------------------------------------------------------------------

int64_t fm_train_steps_per_epoch(const fm_train_options *options)
{
    return (options->train_size + options->batch - 1) / options->batch;
}

// One member of a batch: matrix `index` forward and backward, d_loss =
// `weight`, into the zeroed gradient block `grads`.
static int member_step(double *loss, float *grads, const fm_params *params, const fm_unroll_config *config,
                       const fm_train_options *o, int epoch, int64_t index, float weight, char *msg)
{
    fm_train_sample whole = {0}, sub = {0};
    fm_network_graph ng = {0};
    fm_unroll_tape *tape = NULL;
    fm_train_limit limit = {0};
#define FREE_ALL { fm_train_sample_free(&whole); fm_train_sample_free(&sub); fm_network_graph_free(&ng); \
                   fm_unroll_tape_free(&tape); fm_train_limit_free(&limit); }
    // a model of any rank trains each matrix at its own rank (max_rank)
    const int rank = fm_train_rank(o, index);
    fm_unroll_config at = *config;
    if (config->model.components) at.model = fm_lfactormer_at_rank(&config->model, rank);
    fm_lfactormer_weights w;
    fm_lfactormer_grads g;
    fm_lfactormer_bind(&w, &at.model, params->values, params->offsets);
    fm_lfactormer_bind_grads(&g, &at.model, grads, params->offsets);
    fm_train_sample *sample = &whole;
    if (o->sampling.sampler < FM_SAMPLER_NODE_WISE) {
        FM_TRY(fm_train_sample_new(&whole, &o->data, FM_SET_TRAIN, index, o->train_size, rank, o->svd_power, o->seed,
                                   msg));
    } else {   // the whole matrix's start is not needed: the subgraph has its own
        FM_TRY(sample_graph(&whole, &o->data, FM_SET_TRAIN, index, o->train_size, rank, o->seed, msg));
        FM_TRY(fm_train_sample_subgraph(&sub, &whole, &o->sampling, o->seed, FM_SET_TRAIN, index, epoch, rank,
                                        msg));
        sample = &sub;
    }
    fm_message_graph reads;
    FM_TRY(fm_train_network_graph(&ng, &reads, sample, &o->sampling, o->layers, o->seed, FM_SET_TRAIN, index, epoch,
                                  msg));
    if (o->limit_weight > 0)
        FM_TRY(fm_train_limit_new(&limit, &reads, sample, rank, o->limit_weight, o->limit_iters, o->inner, msg));
    int status = fm_unroll_forward(loss, &tape, sample->w_start, sample->ht_start, &w, &at, &reads, msg);
    if (status == FM_OK) status = fm_unroll_backward(&g, weight, tape, &w, &reads, msg);
    // the model's arithmetic overflowed (a rate that wrecks it): a NaN loss,
    // and fm_train_step skips the step
    if (status == FM_ERR_NUMERIC) {
        *loss = NAN;
        status = FM_OK;
    }
    FM_TRY(status);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_train_each(int64_t count, int threads, fm_train_item item, void *context, char *msg)
{
    int *status = NULL;
    char (*msgs)[FM_MSG_LEN] = NULL;
#define FREE_ALL { free(status); free(msgs); }
    FM_ALLOC(status, count);
    FM_ALLOC(msgs, count);
    if (threads > count) threads = (int)count;
    const int outside = omp_get_max_threads();
    omp_set_num_threads(1);   // the threads' own ops, and a lone item's
#pragma omp parallel for num_threads(threads) schedule(dynamic) if (threads > 1)
    for (int64_t i = 0; i < count; i++) status[i] = item(i, context, msgs[i]);
    omp_set_num_threads(outside);
    int failed = FM_OK;
    for (int64_t i = 0; i < count && !failed; i++)
        if ((failed = status[i])) snprintf(msg, FM_MSG_LEN, "%s", msgs[i]);
    FREE_ALL;
    return failed;
#undef FREE_ALL
}

// The members of a step, for fm_train_each: member `lo + i` into parts[i].
typedef struct member_batch {
    double *losses;
    float **parts;
    const fm_params *params;
    const fm_unroll_config *config;
    const fm_train_options *o;
    int epoch, lo;
    int64_t first;
    float weight;
} member_batch;

static int member_item(int64_t i, void *context, char *msg)
{
    const member_batch *c = context;
    const int b = c->lo + (int)i;
    return member_step(&c->losses[b], c->parts[i], c->params, c->config, c->o, c->epoch,
                       fm_train_order(c->o->seed, c->epoch, c->first + b, c->o->train_size), c->weight, msg);
}

// Step `step` of epoch `epoch`; `extra` holds (batch − 1) · count floats of
// gradient scratch (NULL for batch 1).
int fm_train_step_scratch(double *loss, fm_params *params, float *extra, const fm_train_options *o, int epoch,
                          int64_t step, char *msg)
{
    double *losses = NULL;
    float **parts = NULL;
    int64_t *counts = NULL;
#define FREE_ALL { free(losses); free(parts); free(counts); }
    const int64_t n = o->train_size, steps = fm_train_steps_per_epoch(o);
    FM_CHECK(epoch >= 0 && step >= 0 && step < steps, FM_ERR_INVALID,
             "fm_train_step: epoch %d, step %lld; expected epoch >= 0 and a step in [0, %lld)", epoch,
             (long long)step, (long long)steps);
    fm_unroll_config config;
    fm_train_unroll_config(&config, o, epoch);
    FM_TRY(fm_unroll_check(&config, msg));
    FM_CHECK(params->tensors == fm_lfactormer_tensors(&config.model), FM_ERR_INVALID,
             "fm_train_step: the parameter block is not laid out for the model");
    const int64_t first = step * o->batch, last = first + o->batch < n ? first + o->batch : n;
    const int members = (int)(last - first);
    // this process's members [lo, hi) (all of them in one process)
    fm_comm *comm = o->comm;
    const int P = comm ? comm->size : 1, p = comm ? comm->rank : 0;
    const int lo = (int)((int64_t)members * p / P), hi = (int)((int64_t)members * (p + 1) / P), mine = hi - lo;
    FM_ALLOC(losses, members);
    FM_ALLOC(parts, mine > 0 ? mine : 1);
    FM_ALLOC(counts, P);
    const float weight = (float)(1.0 / members);
    const int64_t count = params->count;
    fm_params_zero_grads(params);
    if (mine > 1) memset(extra, 0, sizeof(float) * (size_t)count * (size_t)(mine - 1));
    for (int b = 0; b < mine; b++) parts[b] = b == 0 ? params->grads : extra + (size_t)(b - 1) * (size_t)count;
    // this process's members in parallel, each single-threaded inside, one
    // alone too (fm_train_each): the pooled model of §5.2 on the mix took 4.5x
    // as long on 2 threads as on 1 with its ops shared, the rank-10 model of §5
    // 10x, and at --size-scale 20 still 1.07x; a member's bits are then the
    // same at any thread or process count
    const member_batch team = {losses, parts, params, &config, o, epoch, lo, first, weight};
    const int failed = fm_train_each(mine, fm_get_threads(), member_item, (void *)&team, msg);
    if (comm) FM_TRY(fm_comm_agree(comm, failed, msg));
    FM_TRY(failed);
    // the members' gradients summed in member order (any thread or process count)
    if (comm) {
        FM_TRY(fm_comm_sum_in_order(comm, params->grads, parts, mine, lo, count, msg));
        for (int q = 0; q < P; q++) counts[q] = (int64_t)members * (q + 1) / P - (int64_t)members * q / P;
        FM_TRY(fm_comm_gather_all_doubles(comm, losses, counts, msg));
    } else if (members > 1) {
        float *grads = params->grads;
#pragma omp parallel for schedule(static) if (count * members >= 65536)
        for (int64_t e = 0; e < count; e++) {
            float sum = grads[e];
            for (int b = 1; b < members; b++) sum += extra[(size_t)(b - 1) * (size_t)count + (size_t)e];
            grads[e] = sum;
        }
    }
    double total = 0;
    for (int b = 0; b < members; b++) total += losses[b];
    *loss = total / members;
    const uint64_t t = (uint64_t)epoch * (uint64_t)steps + (uint64_t)step + 1;
    // a loss or a gradient that is not finite skips the step: every process
    // sees the same losses and the same summed gradient, so all skip it
    bool taken = false;
    if (isfinite(*loss))
        FM_TRY(fm_adamw_try_step(params, &o->adamw, (int64_t)t, fm_schedule_rate(o->rate, epoch, step, steps), &taken,
                                 msg));
    if (!taken) *loss = NAN;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_train_step(double *loss, fm_params *params, const fm_train_options *options, int epoch, int64_t step,
                  char *msg)
{
    float *extra = NULL;
#define FREE_ALL free(extra)
    FM_CHECK(loss && params && options, FM_ERR_INVALID,
             "fm_train_step: the loss, the parameters or the options are missing");
    FM_TRY(fm_train_check(options, msg));
    FM_ALLOC(extra, (size_t)params->count * (size_t)(options->batch - 1));
    FM_TRY(fm_train_step_scratch(loss, params, extra, options, epoch, step, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// The output heads start open and small (see train.h): c_W = c_H =
// 1/sqrt(rank), D_W and D_H their Glorot draws times FM_TRAIN_HEAD_SCALE.
// A pooled model's (§5.2) are its decoders' (one output each); its network's
// heads, which feed the decoders, start the same way at rank d. A residual
// decoder's bias starts at 0, so that the untrained model returns its input.
static int open_output_heads(fm_params *params, int rank, bool pooled, bool residual, char *msg)
{
#define FREE_ALL
    static const char *const heads[8] = {"out_w.bias", "out_h.bias", "out_w.weight", "out_h.weight",
                                         "decode_w.out_bias", "decode_h.out_bias", "decode_w.out", "decode_h.out"};
    for (int h = 0; h < (pooled ? 8 : 4); h++) {
        const int t = fm_params_find(params, heads[h]);
        FM_CHECK(t >= 0, FM_ERR_INVALID, "train: the model has no tensor %s", heads[h]);
        const bool bias = h % 4 < 2;
        const double open = h < 4 ? 1 / sqrt((double)rank) : residual ? 0 : 1;
        float *values = fm_params_values(params, t);
        for (int64_t e = 0; e < fm_params_size(params, t); e++)
            values[e] = bias ? (float)open : (float)(FM_TRAIN_HEAD_SCALE * values[e]);
    }
    return FM_OK;
#undef FREE_ALL
}

int fm_train_params_new(fm_params **params, const fm_train_options *options, char *msg)
{
    fm_params *p = NULL;
#define FREE_ALL fm_params_free(&p)
    FM_CHECK(params && !*params, FM_ERR_INVALID, "fm_train_params_new: the handle must be non-NULL and empty");
    FM_TRY(fm_train_check(options, msg));
    fm_unroll_config config;
    fm_train_unroll_config(&config, options, 0);
    FM_TRY(fm_lfactormer_params_new(&p, &config.model, msg));
    fm_params_init(p, options->seed);
    // a component-set model's network has one output, which it divides by √k itself
    FM_TRY(open_output_heads(p, fm_lfactormer_inner(&config.model).rank, config.model.pooled, config.model.residual,
                             msg));
    *params = p;
    return FM_OK;
#undef FREE_ALL
}
