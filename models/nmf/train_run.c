// Training the learned initialization and acceleration (§7): validation
// and the run, its epochs, its best model and its training state (see
// train.h; one step and the samples: train.c).
#include "train.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loss_grad.h"
#include "schedule.h"
#include "status.h"
#include "run_state.h"
#include "solver_networks.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

//------------------------------------------------------------------------------
// Validation
//------------------------------------------------------------------------------

// Sample i at its rank, fm_train_valid_rank (o, i).
typedef struct valid_set {
    fm_train_sample *samples;
    int64_t count;
    fm_train_set set;
    const fm_train_options *o;
} valid_set;

static void valid_set_free(valid_set *v)
{
    if (v->samples)
        for (int64_t i = 0; i < v->count; i++) fm_train_sample_free(&v->samples[i]);
    free(v->samples);
    v->samples = NULL;
    v->count = 0;
}

static int valid_sample_new(int64_t i, void *context, char *msg)
{
    valid_set *v = context;
    const fm_train_options *o = v->o;
    return fm_train_sample_new(&v->samples[i], &o->data, v->set, i, o->valid_size, fm_train_valid_rank(o, i),
                               o->svd_power, o->seed, msg);
}

// The matrices in parallel, one thread each (fm_train_each): their NNDSVD
// starts, and so every validation figure, are the same at any thread count.
static int valid_set_new(valid_set *v, fm_train_set set, const fm_train_options *o, char *msg)
{
#define FREE_ALL valid_set_free(v)
    *v = (valid_set){.count = o->valid_size, .set = set, .o = o};
    FM_ALLOC(v->samples, v->count);
    FM_TRY(fm_train_each(v->count, fm_get_threads(), valid_sample_new, v, msg));
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

// The RMSE on X's own scale from f = ½ Σ r² / |Ω| on the scaled X; for the
// mix on the scaled X (relative to the mean), where each family's own units
// would let the brightest (spectra, 0..5000) decide the median.
static double rmse_of(double f, const fm_train_sample *s, const fm_train_options *o)
{
    return sqrt(2 * f) * (fm_train_family_is_mix(o->data.family) ? 1 : s->mean);
}

// The validation RMSE of one sample: init, the network's output (or the
// iterate valid_iters ADMM iterations after it); accel, the output of the last
// of valid_steps accelerator steps.
static int sample_rmse(double *rmse, fm_train_sample *s, int rank, fm_train_set set, int64_t index,
                       const fm_lfactormer_weights *weights, const fm_train_options *o, char *msg)
{
    fm_unroll_tape *tape = NULL;
    fm_network_graph ng = {0};
#define FREE_ALL { fm_unroll_tape_free(&tape); fm_network_graph_free(&ng); }
    fm_unroll_config config;
    fm_train_unroll_config(&config, o, 0);
    // a model of any rank: the same tensors at the sample's rank
    fm_lfactormer_weights at = *weights;
    const fm_lfactormer_weights *w = weights;
    if (config.model.components) {
        config.model = at.config = fm_lfactormer_at_rank(&config.model, rank);
        w = &at;
    }
    fm_message_graph reads;
    FM_TRY(fm_train_network_graph(&ng, &reads, s, &o->sampling, o->layers, o->seed, set, index, -1, msg));
    double loss = NAN;
    config.steps = fm_train_valid_chain_steps(o);
    if (config.steps == 0) {   // one term: the network's output, weight 1
        FM_TRY(fm_unroll_forward(&loss, NULL, s->w_start, s->ht_start, w, &config, &reads, msg));
    } else {   // the last term: the iterate after the ADMM iterations or the accelerator steps
        FM_TRY(fm_unroll_forward(&loss, &tape, s->w_start, s->ht_start, w, &config, &reads, msg));
        loss = tape->losses[tape->terms - 1];
    }
    *rmse = rmse_of(loss, s, o);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// The baseline of one sample: init, the NNDSVD start (valid_iters plain ADMM
// outer iterations from it); accel, valid_steps·c from it (the chain's own
// ADMM, duals from 0).
static int sample_baseline(double *rmse, const fm_train_sample *s, int k, const fm_train_options *o, char *msg)
{
    float *work = NULL;
#define FREE_ALL free(work)
    const int64_t m = s->rows, n = s->cols;
    FM_ALLOC(work, (m + n) * k);
    float *w = work, *ht = w + m * k;
    const int iterations = o->kind == FM_MODEL_ACCEL ? o->valid_steps * o->admm : o->valid_iters;
    FM_TRY(fm_train_sample_admm(w, ht, s, k, iterations, o->inner, msg));
    double f = NAN;
    FM_TRY(fm_loss_frobenius_forward(&f, w, ht, &s->mg.rows, s->graph->stats.kind, k, msg));
    *rmse = rmse_of(f, s, o);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// One validation set scored by fm_train_each: the network's RMSE (w) or the
// baseline's (w NULL) of sample i into rmses[i].
typedef struct valid_scores {
    const valid_set *v;
    const fm_lfactormer_weights *w;
    double *rmses;
} valid_scores;

static int valid_score(int64_t i, void *context, char *msg)
{
    const valid_scores *c = context;
    fm_train_sample *s = &c->v->samples[i];
    const int rank = fm_train_valid_rank(c->v->o, i);
    if (!c->w) return sample_baseline(&c->rmses[i], s, rank, c->v->o, msg);
    const int status = sample_rmse(&c->rmses[i], s, rank, c->v->set, i, c->w, c->v->o, msg);
    if (status != FM_ERR_NUMERIC) return status;
    // a network whose output is not finite (wrecked by its rate) scores the
    // worst: its epoch is recorded, and never kept
    c->rmses[i] = INFINITY;
    msg[0] = 0;
    return FM_OK;
}

// The medians over both sets (w NULL: the baselines), the matrices in
// parallel, one thread each (fm_train_each): the same at any thread count.
static int validate(double *small, double *large, const valid_set sets[2], const fm_lfactormer_weights *w,
                    const fm_train_options *o, char *msg)
{
    double *rmses = NULL;
#define FREE_ALL free(rmses)
    FM_ALLOC(rmses, o->valid_size);
    for (int set = 0; set < 2; set++) {
        const valid_scores scores = {&sets[set], w, rmses};
        FM_TRY(fm_train_each(sets[set].count, fm_get_threads(), valid_score, (void *)&scores, msg));
        *(set ? large : small) = median(rmses, sets[set].count);
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// The run
//------------------------------------------------------------------------------

void fm_train_result_free(fm_train_result **result)
{
    if (!result || !*result) return;
    free((*result)->epochs);
    free(*result);
    *result = NULL;
}

// The state file against the options (see train.h, "Resume").
static int check_resume(const fm_checkpoint_header *h, const fm_train_state *st, const fm_train_options *o,
                        const char *path, char *msg)
{
#define FREE_ALL
    const fm_lfactormer_config *c = &h->config;
    FM_CHECK(c->width == o->width && c->heads == o->heads && c->layers == o->layers, FM_ERR_INVALID,
             "%s: the run has width %d, %d heads and %d layers; the options say width %d, %d heads, %d layers", path,
             c->width, c->heads, c->layers, o->width, o->heads, o->layers);
    FM_CHECK(c->components == o->any_rank, FM_ERR_INVALID, "%s: the run trains a model of %s; %s", path,
             c->components ? "any rank" : "one rank", c->components ? "give --any-rank" : "drop --any-rank");
    FM_CHECK(c->gathered == o->gathered, FM_ERR_INVALID, "%s: the run trains a model %s the gathered term; %s",
             path, c->gathered ? "with" : "without", c->gathered ? "give --gathered" : "drop --gathered");
    FM_CHECK(c->pooled == o->pooled, FM_ERR_INVALID, "%s: the run trains a %s model; %s", path,
             c->pooled ? "pooled" : "component-per-pass", c->pooled ? "give --pooled" : "drop --pooled");
    const int64_t steps = fm_train_steps_per_epoch(o);
    FM_TRY(fm_run_check_position(st, o->seed, o->train_size, o->batch, steps, path, msg));
    const uint64_t done = st->rng_counter;
    const int epoch = (int)st->epoch;
    fm_unroll_config config;
    fm_train_unroll_config(&config, o, epoch);
    FM_CHECK(st->curriculum_steps == (uint64_t)config.steps, FM_ERR_INVALID,
             "%s: the run unrolls %llu steps at epoch %d; the options give %d", path,
             (unsigned long long)st->curriculum_steps, epoch, config.steps);
    const double rate = fm_schedule_rate(o->rate, epoch, (int64_t)(done / (uint64_t)o->batch), steps);
    FM_CHECK(fm_run_same_rate(st->learning_rate, rate), FM_ERR_INVALID,
             "%s: the run's next learning rate is %.9g; the options give %.9g (another --lr?)", path,
             st->learning_rate, rate);
    return FM_OK;
#undef FREE_ALL
}

// The highest rank a model of any rank has been trained at, over its
// history: the run's and that of the file it goes on from (a pooled file
// that does not record it: its kind's shipped one, as inference takes it).
static void keep_top_rank(fm_checkpoint_header *run, const fm_lfactormer_config *earlier, fm_model_kind kind)
{
    if (!run->config.components) return;
    const int before = earlier->pooled ? fm_pooled_trained_rank(kind, earlier) : earlier->trained_rank;
    if (before > run->config.trained_rank) run->config.trained_rank = before;
}

// The values of the model o->from into params (laid out for `run`), and its
// top rank into the run's record.
static int start_from(fm_params *params, const fm_train_options *o, fm_checkpoint_header *run, char *msg)
{
    fm_params *from = NULL;
#define FREE_ALL fm_params_free(&from)
    fm_checkpoint_header h;
    const fm_checkpoint_expect expect = {.kind = o->kind, .rank = o->rank, .training = false};
    FM_TRY(fm_checkpoint_read(o->from, &h, &from, NULL, &expect, msg));
    const fm_lfactormer_config *c = &h.config, *want = &run->config;
    FM_CHECK(c->components == want->components, FM_ERR_INVALID, "%s: a model of %s, but the run trains one of %s",
             o->from, c->components ? "any rank" : "one rank", want->components ? "any rank (--any-rank)" : "one rank");
    FM_CHECK(c->gathered == want->gathered, FM_ERR_INVALID, "%s: a model %s the gathered term, but the run trains "
             "one %s (--gathered)", o->from, c->gathered ? "with" : "without", want->gathered ? "with" : "without");
    FM_CHECK(c->pooled == want->pooled, FM_ERR_INVALID, "%s: a %s model, but the run trains a %s one (--pooled)",
             o->from, c->pooled ? "pooled" : "component-per-pass", want->pooled ? "pooled" : "component-per-pass");
    FM_CHECK(c->width == want->width && c->heads == want->heads && c->layers == want->layers, FM_ERR_INVALID,
             "%s: the model has width %d, %d heads and %d layers; the run has width %d, %d heads, %d layers (give "
             "--width, --heads and --layers of the model to fine-tune it)",
             o->from, c->width, c->heads, c->layers, want->width, want->heads, want->layers);
    memcpy(params->values, from->values, sizeof(float) * (size_t)params->count);
    keep_top_rank(run, c, o->kind);
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

// A checkpoint, written by process 0 alone in a data-parallel run (every
// process holds the same parameters), its status agreed by all.
static int write_checkpoint(const fm_train_options *o, const char *path, const fm_checkpoint_header *header,
                            const fm_params *params, const fm_train_state *st, char *msg)
{
    if (!o->comm) return fm_checkpoint_write(path, header, params, st, msg);
    const int status = o->comm->rank == 0 ? fm_checkpoint_write(path, header, params, st, msg) : FM_OK;
    return fm_comm_agree(o->comm, status, msg);
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
    // data-parallel: every failure agreed by all the processes where it happens, so that none is left
    // waiting in a later collective for one that gave up
#define AGREE_TRY(expr) FM_TRY(options && options->comm ? fm_comm_agree(options->comm, (expr), msg) : (expr))
    FM_CHECK(result && !*result, FM_ERR_INVALID, "fm_train_run: the result handle must be non-NULL and empty");
    AGREE_TRY(fm_train_check(options, msg));
    const fm_train_options *o = options;
    FM_CHECK(o->out && *o->out, FM_ERR_INVALID, "fm_train_run: no output file");
    const double start = now();
    FM_ALLOC(r, 1);
    FM_ALLOC(r->epochs, (size_t)o->epochs + 1);
    FM_CHECK(strlen(o->out) + sizeof FM_TRAIN_STATE_SUFFIX <= sizeof r->state_path, FM_ERR_INVALID,
             "fm_train_run: the output path is too long (%zu bytes)", strlen(o->out));
    snprintf(r->state_path, sizeof r->state_path, "%s%s", o->out, FM_TRAIN_STATE_SUFFIX);
    const char *state_path = r->state_path;
    AGREE_TRY(o->comm ? fm_comm_agree(o->comm, o->comm->rank == 0 ? fm_run_probe_output(o->out, msg) : FM_OK, msg)
                   : fm_run_probe_output(o->out, msg));

    fm_unroll_config config;
    fm_train_unroll_config(&config, o, 0);
    fm_checkpoint_header header = {.kind = o->kind, .config = config.model};
    const int64_t n = o->train_size, steps = fm_train_steps_per_epoch(o);
    fm_train_state st;
    if (o->resume) {
        fm_checkpoint_header h;
        const fm_checkpoint_expect expect = {.kind = o->kind, .rank = o->rank, .training = true};
        FM_CHECK(access(state_path, F_OK) == 0, FM_ERR_IO,
                 "%s: no training state to resume (%s); start the run without --resume", state_path,
                 strerror(errno));
        AGREE_TRY(fm_checkpoint_read(state_path, &h, &params, &st, &expect, msg));
        AGREE_TRY(check_resume(&h, &st, o, state_path, msg));
        keep_top_rank(&header, &h.config, o->kind);
        FM_CHECK(!isfinite(st.best_validation_rmse) || access(o->out, F_OK) == 0, FM_ERR_IO,
                 "%s: the best model so far (epoch %llu) is missing (%s); the state %s cannot be resumed without it",
                 o->out, (unsigned long long)st.best_epoch, strerror(errno), state_path);
        r->resumed = true;
    } else {
        FM_CHECK(access(state_path, F_OK) != 0, FM_ERR_IO,
                 "%s: a training state is already there: resume it (--resume) or remove it to start over",
                 state_path);
        AGREE_TRY(fm_train_params_new(&params, o, msg));
        if (o->from) AGREE_TRY(start_from(params, o, &header, msg));
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

    AGREE_TRY(valid_set_new(&sets[0], FM_SET_VALID_SMALL, o, msg));
    AGREE_TRY(valid_set_new(&sets[1], FM_SET_VALID_LARGE, o, msg));
    AGREE_TRY(validate(&r->baseline_small, &r->baseline_large, sets, NULL, o, msg));
    r->baseline = 0.5 * (r->baseline_small + r->baseline_large);

    FM_ALLOC(extra, (size_t)params->count * (size_t)(o->batch - 1));
    fm_lfactormer_weights w;
    fm_lfactormer_bind(&w, &config.model, params->values, params->offsets);
    double last_valid = NAN;
    fm_train_progress p = {.epochs = o->epochs, .total = n};

    if (!o->resume) {   // the untrained model: the figure training must improve on
        fm_train_epoch *e = &r->epochs[r->count++];
        *e = (fm_train_epoch){.epoch = 0, .steps = config.steps, .peak_rate = NAN, .loss = NAN};
        AGREE_TRY(validate_epoch(e, sets, &w, o, msg));
        last_valid = e->valid;
        if (o->from) {
            // a fine-tuning run's start is a trained model: the one to keep
            // unless an epoch beats it (kept even at +inf: a run writes a model)
            st.best_validation_rmse = e->valid;
            e->best = true;
            AGREE_TRY(write_checkpoint(o, o->out, &header, params, NULL, msg));
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
        int64_t stepped = 0;   // matrices of the steps taken (a skipped step's loss is NaN)
        for (int64_t step = first; step < steps; step++) {
            const double t0 = now();
            double loss = NAN;
            AGREE_TRY(fm_train_step_scratch(&loss, params, extra, o, epoch, step, msg));
            const int64_t before = step * o->batch, done = before + o->batch < n ? before + o->batch : n;
            st.step = (uint64_t)epoch * (uint64_t)steps + (uint64_t)step + 1;
            st.rng_counter = (uint64_t)done;
            st.learning_rate = fm_schedule_rate(o->rate, epoch, step + 1, steps);
            e->matrices += done - before;
            if (isnan(loss)) {
                e->skipped++;
            } else {
                loss_sum += loss * (double)(done - before);
                stepped += done - before;
            }
            r->matrices += done - before;
            const double seconds = now() - t0;
            e->train_seconds += seconds;
            r->train_seconds += seconds;
            const int64_t k = o->checkpoint_every;
            if (k && done / k > before / k && done < n) {
                AGREE_TRY(write_checkpoint(o, state_path, &header, params, &st, msg));
                r->state = st;
            }
            p = (fm_train_progress){.event = FM_TRAIN_EVENT_STEP, .epoch = epoch, .epochs = o->epochs,
                                    .done = done, .total = n, .loss = loss,
                                    .running_loss = stepped ? loss_sum / (double)stepped : NAN, .valid = last_valid,
                                    .baseline = r->baseline, .seconds = now() - start, .matrices = r->matrices,
                                    .remaining = remaining_matrices(o, epoch, done)};
            if (o->progress && o->progress(&p, o->user)) {
                r->stopped = true;
                break;
            }
        }
        if (r->stopped) break;
        e->loss = stepped ? loss_sum / (double)stepped : NAN;
        // the epoch is done: validate, keep the best, write the state
        st.epoch = (uint64_t)epoch + 1;
        st.rng_counter = 0;
        st.step = st.epoch * (uint64_t)steps;
        fm_unroll_config next;
        fm_train_unroll_config(&next, o, epoch + 1);
        st.curriculum_steps = (uint64_t)next.steps;
        st.learning_rate = fm_schedule_rate(o->rate, epoch + 1, 0, steps);
        AGREE_TRY(validate_epoch(e, sets, &w, o, msg));
        r->count++;
        last_valid = e->valid;
        // a run writes a model: with none kept yet (no --from start, in the
        // options or in a resumed state's finite best) the first epoch is kept
        // whatever its score (+inf when its network overflows on the validation)
        const bool none_kept = !o->from && !(st.best_validation_rmse < INFINITY);
        if (e->valid < st.best_validation_rmse || (none_kept && epoch == 0)) {
            st.best_validation_rmse = e->valid;
            st.best_epoch = st.epoch;
            e->best = true;
            AGREE_TRY(write_checkpoint(o, o->out, &header, params, NULL, msg));
        }
        AGREE_TRY(write_checkpoint(o, state_path, &header, params, &st, msg));
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
#undef AGREE_TRY
#undef FREE_ALL
}
