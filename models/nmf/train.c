// Training the learned initialization and acceleration (§7): see train.h.
#include "train.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "init.h"
#include "loss_grad.h"
#include "rng.h"
#include "schedule.h"
#include "status.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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
        .rate = kind == FM_MODEL_ACCEL ? FM_TRAIN_RATE_ACCEL : FM_TRAIN_RATE_INIT,
        .unroll = FM_UNROLL_STEPS,
        .admm = FM_UNROLL_ADMM,
        .inner = 1,
        .discount = FM_UNROLL_DISCOUNT,
        .valid_steps = FM_SCHEDULE_MAX_ACCEL,
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
                  .width = options->width, .heads = options->heads, .layers = options->layers},
        .steps = accel ? fm_schedule_accel_steps(epoch) : options->unroll,
        .admm = options->admm,
        .inner = options->inner,
        .discount = options->discount,
    };
}

int fm_train_check(const fm_train_options *options, char *msg)
{
    if (!options) return fm_fail(FM_ERR_INVALID, msg, "train: no options");
    const fm_train_options *o = options;
    if (o->kind != FM_MODEL_INIT && o->kind != FM_MODEL_ACCEL)
        return fm_fail(FM_ERR_INVALID, msg, "train: unknown model kind %d; expected init or accel", (int)o->kind);
    if (o->rank < 1 || o->rank > FM_TRAIN_MAX_RANK)
        return fm_fail(FM_ERR_INVALID, msg,
                       "train: rank %d; expected 1 to %d (NNDSVD needs rank <= min(rows, cols), and the smallest "
                       "training matrix is 10 x 10)",
                       o->rank, FM_TRAIN_MAX_RANK);
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
    if (o->unroll < 0) return fm_fail(FM_ERR_INVALID, msg, "train: n_unroll %d; expected at least 0", o->unroll);
    if (o->admm < 1)
        return fm_fail(FM_ERR_INVALID, msg, "train: %d ADMM iterations per accelerator step; expected at least 1",
                       o->admm);
    if (o->valid_steps < 1)
        return fm_fail(FM_ERR_INVALID, msg, "train: %d validation accelerator steps; expected at least 1",
                       o->valid_steps);
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
    if (o->kind == FM_MODEL_ACCEL) {
        config.steps = o->valid_steps;
        status = fm_unroll_check(&config, msg);
        if (status) return status;
    }
    return FM_OK;
}

//------------------------------------------------------------------------------
// Draws: the order of each epoch and the NNDSVD seed of each matrix
//------------------------------------------------------------------------------

static fm_rng order_stream(uint64_t seed) { return fm_rng_stream(seed, FM_STREAM_ORDER); }

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
                           FM_INIT_NNDSVD, nndsvd_seed, msg));
    free(sample->w_start);
    free(sample->ht_start);
    sample->w_start = w_start->data;
    sample->ht_start = ht_start->data;
    w_start->data = ht_start->data = NULL;
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
    FM_TRY(fm_train_shape(&s.rows, &s.cols, set, index, set_size, seed, msg));
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
                        int64_t set_size, int rank, uint64_t seed, char *msg)
{
    fm_train_sample s = {0};
#define FREE_ALL fm_train_sample_free(&s)
    FM_CHECK(sample, FM_ERR_INVALID, "fm_train_sample_new: no sample");
    FM_TRY(sample_graph(&s, data, set, index, set_size, rank, seed, msg));
    FM_TRY(fm_train_sample_start(&s, rank, nndsvd_seed(seed, set, index), msg));
    *sample = s;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// Validation
//------------------------------------------------------------------------------

typedef struct valid_set {
    fm_train_sample *samples;
    int64_t count;
} valid_set;

static void valid_set_free(valid_set *v)
{
    if (v->samples)
        for (int64_t i = 0; i < v->count; i++) fm_train_sample_free(&v->samples[i]);
    free(v->samples);
    v->samples = NULL;
    v->count = 0;
}

static int valid_set_new(valid_set *v, fm_train_set set, const fm_train_options *o, char *msg)
{
#define FREE_ALL valid_set_free(v)
    v->count = o->valid_size;
    FM_ALLOC(v->samples, v->count);
    for (int64_t i = 0; i < v->count; i++)
        FM_TRY(fm_train_sample_new(&v->samples[i], &o->data, set, i, o->valid_size, o->rank, o->seed, msg));
    return FM_OK;
#undef FREE_ALL
}

static int compare_doubles(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// The median of values[0..n) (sorted in place).
static double median(double *values, int64_t n)
{
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// The RMSE on X's own scale from f = ½ Σ r² / |Ω| on the scaled X.
static double rmse_of(double f, const fm_train_sample *s) { return sqrt(2 * f) * s->mean; }

// The validation RMSE of one sample: init, the network's output; accel, the
// output of the last of valid_steps accelerator steps.
static int sample_rmse(double *rmse, fm_train_sample *s, fm_train_set set, int64_t index,
                       const fm_lfactormer_weights *w, const fm_train_options *o, char *msg)
{
    fm_unroll_tape *tape = NULL;
    fm_network_graph ng = {0};
#define FREE_ALL { fm_unroll_tape_free(&tape); fm_network_graph_free(&ng); }
    fm_unroll_config config;
    fm_train_unroll_config(&config, o, 0);
    fm_message_graph reads;
    FM_TRY(fm_train_network_graph(&ng, &reads, s, &o->sampling, o->layers, o->seed, set, index, -1, msg));
    double loss = NAN;
    if (o->kind == FM_MODEL_INIT) {
        config.steps = 0;   // one term: the network's output, weight 1
        FM_TRY(fm_unroll_forward(&loss, NULL, s->w_start, s->ht_start, w, &config, &reads, msg));
    } else {
        config.steps = o->valid_steps;
        FM_TRY(fm_unroll_forward(&loss, &tape, s->w_start, s->ht_start, w, &config, &reads, msg));
        loss = tape->losses[tape->terms - 1];
    }
    *rmse = rmse_of(loss, s);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// The baseline of one sample: init, the NNDSVD start; accel, valid_steps·c
// plain ADMM outer iterations from it (the chain's own ADMM, duals from 0).
static int sample_baseline(double *rmse, const fm_train_sample *s, const fm_train_options *o, char *msg)
{
    float *work = NULL;
    fm_admm_tape *tape = NULL;
#define FREE_ALL { free(work); fm_admm_tape_free(&tape); }
    const int k = o->rank;
    const int64_t m = s->rows, n = s->cols;
    const fm_kind kind = s->graph->stats.kind;
    FM_ALLOC(work, 2 * (m + n) * k);
    float *w = work, *ht = w + m * k, *uw = ht + n * k, *uh = uw + m * k;
    memcpy(w, s->w_start, sizeof(float) * m * k);
    memcpy(ht, s->ht_start, sizeof(float) * n * k);
    const int iterations = o->kind == FM_MODEL_ACCEL ? o->valid_steps * o->admm : 0;
    for (int it = 0; it < iterations; it++) {
        FM_TRY(fm_admm_grad_forward(ht, uh, &tape, w, ht, uh, &s->mg.columns, kind, k, o->inner, msg));
        fm_admm_tape_free(&tape);
        FM_TRY(fm_admm_grad_forward(w, uw, &tape, ht, w, uw, &s->mg.rows, kind, k, o->inner, msg));
        fm_admm_tape_free(&tape);
    }
    double f = NAN;
    FM_TRY(fm_loss_frobenius_forward(&f, w, ht, &s->mg.rows, kind, k, msg));
    *rmse = rmse_of(f, s);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// The medians over both sets (w NULL: the baselines).
static int validate(double *small, double *large, const valid_set sets[2], const fm_lfactormer_weights *w,
                    const fm_train_options *o, char *msg)
{
    double *rmses = NULL;
#define FREE_ALL free(rmses)
    FM_ALLOC(rmses, o->valid_size);
    for (int set = 0; set < 2; set++) {
        for (int64_t i = 0; i < sets[set].count; i++) {
            fm_train_sample *s = &sets[set].samples[i];
            if (w) FM_TRY(sample_rmse(&rmses[i], s, set ? FM_SET_VALID_LARGE : FM_SET_VALID_SMALL, i, w, o, msg));
            else FM_TRY(sample_baseline(&rmses[i], s, o, msg));
        }
        *(set ? large : small) = median(rmses, sets[set].count);
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// One step, and the run
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
#define FREE_ALL { fm_train_sample_free(&whole); fm_train_sample_free(&sub); fm_network_graph_free(&ng); \
                   fm_unroll_tape_free(&tape); }
    fm_lfactormer_weights w;
    fm_lfactormer_grads g;
    fm_lfactormer_bind(&w, &config->model, params->values, params->offsets);
    fm_lfactormer_bind_grads(&g, &config->model, grads, params->offsets);
    fm_train_sample *sample = &whole;
    if (o->sampling.sampler < FM_SAMPLER_NODE_WISE) {
        FM_TRY(fm_train_sample_new(&whole, &o->data, FM_SET_TRAIN, index, o->train_size, o->rank, o->seed, msg));
    } else {   // the whole matrix's start is not needed: the subgraph has its own
        FM_TRY(sample_graph(&whole, &o->data, FM_SET_TRAIN, index, o->train_size, o->rank, o->seed, msg));
        FM_TRY(fm_train_sample_subgraph(&sub, &whole, &o->sampling, o->seed, FM_SET_TRAIN, index, epoch, o->rank,
                                        msg));
        sample = &sub;
    }
    fm_message_graph reads;
    FM_TRY(fm_train_network_graph(&ng, &reads, sample, &o->sampling, o->layers, o->seed, FM_SET_TRAIN, index, epoch,
                                  msg));
    FM_TRY(fm_unroll_forward(loss, &tape, sample->w_start, sample->ht_start, &w, config, &reads, msg));
    FM_TRY(fm_unroll_backward(&g, weight, tape, &w, &reads, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// Step `step` of epoch `epoch`; `extra` holds (batch − 1) · count floats of
// gradient scratch (NULL for batch 1).
static int train_step(double *loss, fm_params *params, float *extra, const fm_train_options *o, int epoch,
                      int64_t step, char *msg)
{
    double *losses = NULL;
    int *status = NULL;
    char (*msgs)[FM_MSG_LEN] = NULL;
#define FREE_ALL { free(losses); free(status); free(msgs); }
    const int64_t n = o->train_size, steps = fm_train_steps_per_epoch(o);
    FM_CHECK(epoch >= 0 && step >= 0 && step < steps, FM_ERR_INVALID,
             "fm_train_step: epoch %d, step %lld; expected epoch >= 0 and a step in [0, %lld)", epoch,
             (long long)step, (long long)steps);
    fm_unroll_config config;
    fm_train_unroll_config(&config, o, epoch);
    FM_TRY(fm_unroll_check(&config, msg));
    FM_CHECK(params->tensors == FM_LFACTORMER_TENSORS(config.model.layers), FM_ERR_INVALID,
             "fm_train_step: the parameter block is not laid out for the model");
    const int64_t first = step * o->batch, last = first + o->batch < n ? first + o->batch : n;
    const int members = (int)(last - first);
    FM_ALLOC(losses, members);
    FM_ALLOC(status, members);
    FM_ALLOC(msgs, members);
    const float weight = (float)(1.0 / members);
    const int64_t count = params->count;
    fm_params_zero_grads(params);
    if (members > 1) memset(extra, 0, sizeof(float) * (size_t)count * (size_t)(members - 1));
    // members in parallel, each single-threaded inside (nested regions are
    // inactive); one member alone keeps every thread for its ops
    const int threads = members < fm_get_threads() ? members : fm_get_threads();
#pragma omp parallel for num_threads(threads) schedule(static, 1) if (threads > 1)
    for (int b = 0; b < members; b++) {
        float *grads = b == 0 ? params->grads : extra + (size_t)(b - 1) * (size_t)count;
        status[b] = member_step(&losses[b], grads, params, &config, o, epoch,
                                fm_train_order(o->seed, epoch, first + b, n), weight, msgs[b]);
    }
    for (int b = 0; b < members; b++)
        if (status[b]) {
            snprintf(msg, FM_MSG_LEN, "%s", msgs[b]);
            const int code = status[b];
            FREE_ALL;
            return code;
        }
    // the members' gradients summed in member order (any thread count)
    if (members > 1) {
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
    FM_TRY(fm_adamw_step(params, &o->adamw, (int64_t)t, fm_schedule_rate(o->rate, epoch, step, steps), NULL, msg));
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
    FM_TRY(train_step(loss, params, extra, options, epoch, step, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

void fm_train_result_free(fm_train_result **result)
{
    if (!result || !*result) return;
    free((*result)->epochs);
    free(*result);
    *result = NULL;
}

// The output heads start open and small (see train.h): c_W = c_H =
// 1/sqrt(rank), D_W and D_H their Glorot draws times FM_TRAIN_HEAD_SCALE.
static int open_output_heads(fm_params *params, int rank, char *msg)
{
#define FREE_ALL
    static const char *const heads[4] = {"out_w.bias", "out_h.bias", "out_w.weight", "out_h.weight"};
    for (int h = 0; h < 4; h++) {
        const int t = fm_params_find(params, heads[h]);
        FM_CHECK(t >= 0, FM_ERR_INVALID, "train: the model has no tensor %s", heads[h]);
        float *values = fm_params_values(params, t);
        for (int64_t e = 0; e < fm_params_size(params, t); e++)
            values[e] = h < 2 ? (float)(1 / sqrt((double)rank)) : (float)(FM_TRAIN_HEAD_SCALE * values[e]);
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
    FM_TRY(open_output_heads(p, options->rank, msg));
    *params = p;
    return FM_OK;
#undef FREE_ALL
}

// `out` is not a directory and a file can be created beside it.
static int probe_output(const char *out, char *msg)
{
    fm_atomic_file probe;
#define FREE_ALL
    struct stat st;
    FM_CHECK(!(stat(out, &st) == 0 && S_ISDIR(st.st_mode)), FM_ERR_IO, "%s: is a directory; expected a model file",
             out);
    FM_TRY(fm_atomic_open(&probe, out, msg));
    fm_atomic_abort(&probe);
    return FM_OK;
#undef FREE_ALL
}

static bool same_rate(double a, double b) { return fabs(a - b) <= 1e-12 * fmax(fabs(a), fabs(b)); }

// The state file against the options (see train.h, "Resume").
static int check_resume(const fm_checkpoint_header *h, const fm_train_state *st, const fm_train_options *o,
                        const char *path, char *msg)
{
#define FREE_ALL
    const fm_lfactormer_config *c = &h->config;
    FM_CHECK(c->width == o->width && c->heads == o->heads && c->layers == o->layers, FM_ERR_INVALID,
             "%s: the run has width %d, %d heads and %d layers; the options say width %d, %d heads, %d layers", path,
             c->width, c->heads, c->layers, o->width, o->heads, o->layers);
    FM_CHECK(st->seed == o->seed, FM_ERR_INVALID, "%s: the run has seed %llu; the options say %llu", path,
             (unsigned long long)st->seed, (unsigned long long)o->seed);
    const int64_t n = o->train_size, steps = fm_train_steps_per_epoch(o);
    const uint64_t done = st->rng_counter;
    FM_CHECK(st->epoch <= (uint64_t)INT32_MAX && done < (uint64_t)n && done % (uint64_t)o->batch == 0 &&
                 st->step == st->epoch * (uint64_t)steps + done / (uint64_t)o->batch,
             FM_ERR_INVALID,
             "%s: the run stands at epoch %llu, matrix %llu, step %llu, which a train size of %lld in batches of %d "
             "does not give (step = epoch x steps per epoch + matrix / batch): was it trained with another "
             "--train-size or --batch?",
             path, (unsigned long long)st->epoch, (unsigned long long)done, (unsigned long long)st->step,
             (long long)n, o->batch);
    const int epoch = (int)st->epoch;
    fm_unroll_config config;
    fm_train_unroll_config(&config, o, epoch);
    FM_CHECK(st->curriculum_steps == (uint64_t)config.steps, FM_ERR_INVALID,
             "%s: the run unrolls %llu steps at epoch %d; the options give %d", path,
             (unsigned long long)st->curriculum_steps, epoch, config.steps);
    const double rate = fm_schedule_rate(o->rate, epoch, (int64_t)(done / (uint64_t)o->batch), steps);
    FM_CHECK(same_rate(st->learning_rate, rate), FM_ERR_INVALID,
             "%s: the run's next learning rate is %.9g; the options give %.9g (another --lr?)", path,
             st->learning_rate, rate);
    return FM_OK;
#undef FREE_ALL
}

// The values of the model o->from into params (laid out for `run`).
static int start_from(fm_params *params, const fm_train_options *o, const fm_checkpoint_header *run, char *msg)
{
    fm_params *from = NULL;
#define FREE_ALL fm_params_free(&from)
    fm_checkpoint_header h;
    const fm_checkpoint_expect expect = {.kind = o->kind, .rank = o->rank, .training = false};
    FM_TRY(fm_checkpoint_read(o->from, &h, &from, NULL, &expect, msg));
    const fm_lfactormer_config *c = &h.config, *want = &run->config;
    FM_CHECK(c->width == want->width && c->heads == want->heads && c->layers == want->layers, FM_ERR_INVALID,
             "%s: the model has width %d, %d heads and %d layers; the run has width %d, %d heads, %d layers (give "
             "--width, --heads and --layers of the model to fine-tune it)",
             o->from, c->width, c->heads, c->layers, want->width, want->heads, want->layers);
    memcpy(params->values, from->values, sizeof(float) * (size_t)params->count);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// A validation into a report line.
static int validate_epoch(fm_train_epoch *e, const valid_set sets[2], const fm_lfactormer_weights *w,
                          const fm_train_options *o, char *msg)
{
    const double t0 = now();
    int status = validate(&e->valid_small, &e->valid_large, sets, w, o, msg);
    if (status) return status;
    e->valid = 0.5 * (e->valid_small + e->valid_large);
    e->valid_seconds = now() - t0;
    return FM_OK;
}

static int64_t remaining_matrices(const fm_train_options *o, int epoch, int64_t done)
{
    return (int64_t)(o->epochs - epoch) * o->train_size - done;
}

int fm_train_run(fm_train_result **result, const fm_train_options *options, char *msg)
{
    fm_params *params = NULL;
    fm_train_result *r = NULL;
    valid_set sets[2] = {{0}, {0}};
    float *extra = NULL;
#define FREE_ALL { fm_params_free(&params); fm_train_result_free(&r); valid_set_free(&sets[0]); \
                   valid_set_free(&sets[1]); free(extra); }
    FM_CHECK(result && !*result, FM_ERR_INVALID, "fm_train_run: the result handle must be non-NULL and empty");
    FM_TRY(fm_train_check(options, msg));
    const fm_train_options *o = options;
    FM_CHECK(o->out && *o->out, FM_ERR_INVALID, "fm_train_run: no output file");
    const double start = now();
    FM_ALLOC(r, 1);
    FM_ALLOC(r->epochs, (size_t)o->epochs + 1);
    FM_CHECK(strlen(o->out) + sizeof FM_TRAIN_STATE_SUFFIX <= sizeof r->state_path, FM_ERR_INVALID,
             "fm_train_run: the output path is too long (%zu bytes)", strlen(o->out));
    snprintf(r->state_path, sizeof r->state_path, "%s%s", o->out, FM_TRAIN_STATE_SUFFIX);
    const char *state_path = r->state_path;
    FM_TRY(probe_output(o->out, msg));

    fm_unroll_config config;
    fm_train_unroll_config(&config, o, 0);
    const fm_checkpoint_header header = {.kind = o->kind, .config = config.model};
    const int64_t n = o->train_size, steps = fm_train_steps_per_epoch(o);
    fm_train_state st;
    if (o->resume) {
        fm_checkpoint_header h;
        const fm_checkpoint_expect expect = {.kind = o->kind, .rank = o->rank, .training = true};
        FM_CHECK(access(state_path, F_OK) == 0, FM_ERR_IO,
                 "%s: no training state to resume (%s); start the run without --resume", state_path,
                 strerror(errno));
        FM_TRY(fm_checkpoint_read(state_path, &h, &params, &st, &expect, msg));
        FM_TRY(check_resume(&h, &st, o, state_path, msg));
        FM_CHECK(!isfinite(st.best_validation_rmse) || access(o->out, F_OK) == 0, FM_ERR_IO,
                 "%s: the best model so far (epoch %llu) is missing (%s); the state %s cannot be resumed without it",
                 o->out, (unsigned long long)st.best_epoch, strerror(errno), state_path);
        r->resumed = true;
    } else {
        FM_CHECK(access(state_path, F_OK) != 0, FM_ERR_IO,
                 "%s: a training state is already there: resume it (--resume) or remove it to start over",
                 state_path);
        FM_TRY(fm_train_params_new(&params, o, msg));
        if (o->from) FM_TRY(start_from(params, o, &header, msg));
        st = (fm_train_state){.epoch = 0, .step = 0, .seed = o->seed, .rng_counter = 0,
                              .curriculum_steps = (uint64_t)config.steps, .best_epoch = 0,
                              .learning_rate = fm_schedule_rate(o->rate, 0, 0, steps),
                              .best_validation_rmse = INFINITY};
    }
    r->state = st;
    r->baseline_small = r->baseline_large = r->baseline = NAN;
    if (st.epoch >= (uint64_t)o->epochs) {   // nothing left to do
        r->seconds = now() - start;
        *result = r;
        r = NULL;
        FREE_ALL;
        return FM_OK;
    }

    FM_TRY(valid_set_new(&sets[0], FM_SET_VALID_SMALL, o, msg));
    FM_TRY(valid_set_new(&sets[1], FM_SET_VALID_LARGE, o, msg));
    FM_TRY(validate(&r->baseline_small, &r->baseline_large, sets, NULL, o, msg));
    r->baseline = 0.5 * (r->baseline_small + r->baseline_large);

    FM_ALLOC(extra, (size_t)params->count * (size_t)(o->batch - 1));
    fm_lfactormer_weights w;
    fm_lfactormer_bind(&w, &config.model, params->values, params->offsets);
    double last_valid = NAN;
    fm_train_progress p = {.epochs = o->epochs, .total = n};

    if (!o->resume) {   // the untrained model: the figure training must improve on
        fm_train_epoch *e = &r->epochs[r->count++];
        *e = (fm_train_epoch){.epoch = 0, .steps = config.steps, .peak_rate = NAN, .loss = NAN};
        FM_TRY(validate_epoch(e, sets, &w, o, msg));
        last_valid = e->valid;
        if (o->from && e->valid < st.best_validation_rmse) {
            // a fine-tuning run's start is a trained model: the one to keep
            // unless an epoch beats it
            st.best_validation_rmse = e->valid;
            e->best = true;
            FM_TRY(fm_checkpoint_write(o->out, &header, params, NULL, msg));
        }
        p.event = FM_TRAIN_EVENT_EPOCH;
        p.epoch = 0;
        p.report = e;
        p.valid = last_valid;
        p.baseline = r->baseline;
        p.loss = p.running_loss = NAN;
        p.seconds = now() - start;
        p.remaining = remaining_matrices(o, 0, 0);
        if (o->progress && o->progress(&p, o->user)) r->stopped = true;
    }

    for (int epoch = (int)st.epoch; epoch < o->epochs && !r->stopped; epoch++) {
        fm_train_unroll_config(&config, o, epoch);
        const int64_t first = epoch == (int)st.epoch ? (int64_t)st.rng_counter / o->batch : 0;
        fm_train_epoch *e = &r->epochs[r->count];
        *e = (fm_train_epoch){.epoch = epoch + 1, .steps = config.steps,
                              .peak_rate = fm_schedule_rate(o->rate, epoch, 0, steps)};
        double loss_sum = 0;
        for (int64_t step = first; step < steps; step++) {
            const double t0 = now();
            double loss = NAN;
            FM_TRY(train_step(&loss, params, extra, o, epoch, step, msg));
            const int64_t before = step * o->batch, done = before + o->batch < n ? before + o->batch : n;
            st.step = (uint64_t)epoch * (uint64_t)steps + (uint64_t)step + 1;
            st.rng_counter = (uint64_t)done;
            st.learning_rate = fm_schedule_rate(o->rate, epoch, step + 1, steps);
            e->matrices += done - before;
            loss_sum += loss * (double)(done - before);
            r->matrices += done - before;
            const double seconds = now() - t0;
            e->train_seconds += seconds;
            r->train_seconds += seconds;
            const int64_t k = o->checkpoint_every;
            if (k && done / k > before / k && done < n) {
                FM_TRY(fm_checkpoint_write(state_path, &header, params, &st, msg));
                r->state = st;
            }
            p = (fm_train_progress){.event = FM_TRAIN_EVENT_STEP, .epoch = epoch, .epochs = o->epochs,
                                    .done = done, .total = n, .loss = loss,
                                    .running_loss = loss_sum / (double)e->matrices, .valid = last_valid,
                                    .baseline = r->baseline, .seconds = now() - start, .matrices = r->matrices,
                                    .remaining = remaining_matrices(o, epoch, done)};
            if (o->progress && o->progress(&p, o->user)) {
                r->stopped = true;
                break;
            }
        }
        if (r->stopped) break;
        e->loss = e->matrices ? loss_sum / (double)e->matrices : NAN;
        // the epoch is done: validate, keep the best, write the state
        st.epoch = (uint64_t)epoch + 1;
        st.rng_counter = 0;
        st.step = st.epoch * (uint64_t)steps;
        fm_unroll_config next;
        fm_train_unroll_config(&next, o, epoch + 1);
        st.curriculum_steps = (uint64_t)next.steps;
        st.learning_rate = fm_schedule_rate(o->rate, epoch + 1, 0, steps);
        FM_TRY(validate_epoch(e, sets, &w, o, msg));
        r->count++;
        last_valid = e->valid;
        if (e->valid < st.best_validation_rmse) {
            st.best_validation_rmse = e->valid;
            st.best_epoch = st.epoch;
            e->best = true;
            FM_TRY(fm_checkpoint_write(o->out, &header, params, NULL, msg));
        }
        FM_TRY(fm_checkpoint_write(state_path, &header, params, &st, msg));
        r->state = st;
        p = (fm_train_progress){.event = FM_TRAIN_EVENT_EPOCH, .epoch = epoch + 1, .epochs = o->epochs,
                                .done = n, .total = n, .loss = NAN, .running_loss = e->loss, .valid = last_valid,
                                .baseline = r->baseline, .report = e, .seconds = now() - start,
                                .matrices = r->matrices, .remaining = remaining_matrices(o, epoch + 1, 0)};
        if (o->progress && o->progress(&p, o->user)) r->stopped = true;
    }
    r->seconds = now() - start;
    *result = r;
    r = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
