// Training (models/nmf/train, docs/factormer-math.md §7) on a tiny model (width 8,
// 1 head, 2 layers, rank 3, 24 training and 8 + 8 validation matrices):
//   - the options and their refusals; the epoch order; a prepared sample;
//   - a run trains: the validation RMSE after two epochs is below the
//     untrained model's, the progress events come in order, the best model
//     and the state load with fm_checkpoint_read;
//   - resume: 2 epochs at once against 1 epoch then a resumed second, and
//     against runs stopped mid-epoch (with and without a state at the stop)
//     and resumed: bit-identical blocks, states and best models, for both
//     models and for a batch of 3;
//   - a batch's matrices in parallel give the parameters of the serial loop;
//   - the refusals of a resume and of an output that cannot be written.
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "lfactormer_checkpoint.h"
#include "helpers.h"
#include "train.h"

TestSuite(train, .init = fm_test_setup);

static fm_train_options tiny(fm_model_kind kind, const char *out)
{
    fm_train_options o;
    fm_train_options_default(&o, kind);
    o.rank = 3;
    o.width = 8;
    o.heads = 1;
    o.layers = 2;
    o.epochs = 2;
    o.train_size = 24;
    o.valid_size = 8;
    o.rate = 1e-2;
    o.checkpoint_every = 0;
    o.out = out;
    return o;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(600);
    cr_assert_not_null(p);
    snprintf(p, 600, "%s/%s", dir, name);
    return p;
}

static char *state_of(const char *out)
{
    char *p = malloc(strlen(out) + sizeof FM_TRAIN_STATE_SUFFIX);
    cr_assert_not_null(p);
    sprintf(p, "%s%s", out, FM_TRAIN_STATE_SUFFIX);
    return p;
}

static fm_train_result *run_ok(const fm_train_options *o)
{
    char msg[FM_MSG_LEN] = "";
    fm_train_result *r = NULL;
    cr_assert_eq(fm_train_run(&r, o, msg), FM_OK, "%s", msg);
    cr_assert_not_null(r);
    return r;
}

static int run_fails(const fm_train_options *o, char *msg)
{
    fm_train_result *r = NULL;
    const int status = fm_train_run(&r, o, msg);
    cr_assert_neq(status, FM_OK, "the run should have failed");
    cr_assert_null(r);
    return status;
}

// Stops the run after `after` matrices of the call.
static int stop_after(const fm_train_progress *p, void *user)
{
    return p->event == FM_TRAIN_EVENT_STEP && p->matrices >= *(const int64_t *)user;
}

//------------------------------------------------------------------------------
// Options, order, samples
//------------------------------------------------------------------------------

Test(train, defaults_are_the_papers)
{
    char msg[FM_MSG_LEN] = "";
    fm_train_options o;
    fm_train_options_default(&o, FM_MODEL_INIT);
    cr_expect_eq(o.rank, 10);
    cr_expect_eq(o.width, 100);
    cr_expect_eq(o.heads, 4);
    cr_expect_eq(o.layers, 4);
    cr_expect_eq(o.epochs, 15);
    cr_expect_eq(o.train_size, 15000);
    cr_expect_eq(o.valid_size, 128);
    cr_expect_eq(o.rate, 1e-3);
    cr_expect_eq(o.unroll, 5);
    cr_expect_eq(o.admm, 5);
    cr_expect_eq(o.discount, 0.9);
    cr_expect_eq(o.batch, 1);
    cr_expect_eq(fm_train_check(&o, msg), FM_OK, "%s", msg);
    fm_train_options_default(&o, FM_MODEL_ACCEL);
    cr_expect_eq(o.rate, 3e-4);
    cr_expect_eq(o.valid_steps, 5);
    cr_expect_eq(fm_train_check(&o, msg), FM_OK, "%s", msg);
    fm_unroll_config config;
    for (int epoch = 0; epoch < 15; epoch++) {
        fm_train_unroll_config(&config, &o, epoch);
        cr_expect_eq(config.mode, FM_UNROLL_ACCEL);
        cr_expect_eq(config.model.inputs, 20);
        cr_expect_eq(config.steps, epoch / 2 + 1 < 5 ? epoch / 2 + 1 : 5, "epoch %d: T %d", epoch, config.steps);
    }
    fm_train_options_default(&o, FM_MODEL_INIT);
    fm_train_unroll_config(&config, &o, 7);
    cr_expect_eq(config.mode, FM_UNROLL_INIT);
    cr_expect_eq(config.model.inputs, 10);
    cr_expect_eq(config.steps, 5);
}

Test(train, bad_options_are_refused_by_name)
{
    char msg[FM_MSG_LEN];
    fm_train_options o;
#define REFUSED(change, word)                                                                                   \
    do {                                                                                                        \
        o = tiny(FM_MODEL_INIT, "unused");                                                                      \
        change;                                                                                                 \
        msg[0] = 0;                                                                                             \
        cr_expect_eq(fm_train_check(&o, msg), FM_ERR_INVALID, #change " was accepted");                        \
        cr_expect(strstr(msg, word), #change ": the message lacks \"%s\": %s", word, msg);                       \
    } while (0)
    REFUSED(o.rank = 0, "rank 0");
    REFUSED(o.rank = 33, "rank 33");
    REFUSED(o.max_rank = 5, "--max-rank 5; expected a model of any rank");
    REFUSED(o.any_rank = true; o.max_rank = o.rank - 1, "--max-rank");
    REFUSED(o.any_rank = true; o.max_rank = 33, "--max-rank 33");
    REFUSED(o.gathered = true, "--gathered is a feature of a model of any rank");
    REFUSED(o.pooled = true, "--pooled is a feature of a model of any rank");
    REFUSED(o.width = 10; o.heads = 4, "not a multiple");
    REFUSED(o.heads = 0, "heads");
    REFUSED(o.epochs = 0, "0 epochs");
    REFUSED(o.kind = (fm_model_kind)7, "unknown model kind");
    REFUSED(o.train_size = 0, "train size");
    REFUSED(o.valid_size = 0, "validation size");
    REFUSED(o.rate = 0, "learning rate");
    REFUSED(o.rate = NAN, "learning rate");
    REFUSED(o.batch = 0, "batch");
    REFUSED(o.checkpoint_every = -1, "checkpoint");
    REFUSED(o.layers = 17, "layers");
    REFUSED(o.kind = FM_MODEL_ACCEL; o.valid_steps = 0, "validation accelerator steps");
#undef REFUSED
    cr_expect_eq(fm_train_check(NULL, msg), FM_ERR_INVALID);
}

Test(train, each_epoch_visits_every_matrix_once_in_its_own_order)
{
    const int64_t n = 24;
    int64_t first[24];
    for (int epoch = 0; epoch < 3; epoch++) {
        bool seen[24] = {false};
        int64_t order[24];
        for (int64_t p = 0; p < n; p++) {
            order[p] = fm_train_order(42, epoch, p, n);
            cr_assert(order[p] >= 0 && order[p] < n);
            cr_assert(!seen[order[p]], "epoch %d visits %lld twice", epoch, (long long)order[p]);
            seen[order[p]] = true;
            cr_assert_eq(fm_train_order(42, epoch, p, n), order[p], "not a function of (seed, epoch, position)");
        }
        if (epoch == 0) memcpy(first, order, sizeof first);
        else cr_expect(memcmp(first, order, sizeof first), "epoch %d has epoch 0's order", epoch);
    }
    int same = 0;
    for (int64_t p = 0; p < n; p++) same += fm_train_order(43, 0, p, n) == first[p];
    cr_expect_lt(same, 12, "seeds 42 and 43 share %d of 24 positions", same);
}

Test(train, a_sample_is_scaled_to_mean_one_with_its_nndsvd_start)
{
    char msg[FM_MSG_LEN] = "";
    for (int set = FM_SET_TRAIN; set <= FM_SET_VALID_LARGE; set++) {
        fm_train_sample s, again;
        cr_assert_eq(fm_train_sample_new(&s, NULL, (fm_train_set)set, 5, 24, 3, 42, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_train_sample_new(&again, NULL, (fm_train_set)set, 5, 24, 3, 42, msg), FM_OK, "%s", msg);
        int64_t rows, cols;
        cr_assert_eq(fm_train_shape(&rows, &cols, (fm_train_set)set, 5, 24, 1, 42, msg), FM_OK, "%s", msg);
        cr_expect_eq(s.rows, rows);
        cr_expect_eq(s.cols, cols);
        fm_graph_stats st;
        fm_graph_stats_get(s.graph, &st);
        cr_expect_eq(st.kind, FM_KIND_DENSE);
        cr_expect_eq(st.entries, rows * cols);
        cr_expect_lt(fabs(fm_graph_mean(s.graph) - 1), 1e-5, "mean over Ω %g after scaling", fm_graph_mean(s.graph));
        // the original X, divided by the recorded mean
        float *X = malloc(sizeof(float) * rows * cols), *W = malloc(sizeof(float) * rows * 3),
              *H = malloc(sizeof(float) * 3 * cols);
        cr_assert(X && W && H);
        cr_assert_eq(fm_train_fill(X, W, H, (fm_train_set)set, 5, 24, 3, 42, msg), FM_OK, "%s", msg);
        double sum = 0;
        for (int64_t e = 0; e < rows * cols; e++) sum += X[e];
        cr_expect_lt(fabs(s.mean - sum / (rows * cols)), 1e-12 * s.mean);
        cr_expect(s.mean > 0.2 && s.mean < 5, "E[x] = 1, and a small rank-3 matrix strays: mean %g", s.mean);
        for (int64_t e = 0; e < rows * 3; e++) cr_assert_geq(s.w_start[e], 0);
        for (int64_t e = 0; e < cols * 3; e++) cr_assert_geq(s.ht_start[e], 0);
        cr_expect_eq(memcmp(s.w_start, again.w_start, sizeof(float) * rows * 3), 0, "the NNDSVD start is not reproducible");
        cr_expect_eq(memcmp(s.ht_start, again.ht_start, sizeof(float) * cols * 3), 0);
        free(X);
        free(W);
        free(H);
        fm_train_sample_free(&s);
        fm_train_sample_free(&again);
        fm_train_sample_free(&s);   // twice: nothing
    }
}

//------------------------------------------------------------------------------
// A run trains
//------------------------------------------------------------------------------

typedef struct events {
    int count, epochs_seen;
    int64_t last_done, last_remaining;
    int last_epoch;
    bool order_ok;
} events;

static int record(const fm_train_progress *p, void *user)
{
    events *ev = user;
    if (ev->count == 0 && !(p->event == FM_TRAIN_EVENT_EPOCH && p->epoch == 0)) ev->order_ok = false;
    if (p->event == FM_TRAIN_EVENT_EPOCH) {
        if (p->epoch != ev->epochs_seen || !p->report || p->report->epoch != p->epoch || !isfinite(p->valid))
            ev->order_ok = false;
        ev->epochs_seen++;
        ev->last_done = 0;
    } else {
        if (p->done != ev->last_done + 1 || p->total != 24 || !isfinite(p->running_loss) || !(p->loss > 0) ||
            p->epoch != ev->epochs_seen - 1)
            ev->order_ok = false;
        ev->last_done = p->done;
    }
    if (!isfinite(p->baseline) || !(p->baseline > 0)) ev->order_ok = false;
    ev->last_remaining = p->remaining;
    ev->count++;
    return 0;
}

static void expect_trains(fm_model_kind kind, int valid_steps)
{
    char msg[FM_MSG_LEN] = "";
    const char *dir = fm_test_tmpdir();
    char *out = path_in(dir, "model.fmw"), *state = state_of(out);
    fm_train_options o = tiny(kind, out);
    o.valid_steps = valid_steps;
    events ev = {.order_ok = true};
    o.progress = record;
    o.user = &ev;
    fm_train_result *r = run_ok(&o);
    const char *name = fm_model_kind_name(kind);
    cr_expect(ev.order_ok, "%s: the progress events are out of order", name);
    cr_expect_eq(ev.count, 3 + 2 * 24, "%s: %d events", name, ev.count);
    cr_expect_eq(ev.last_remaining, 0);
    cr_assert_eq(r->count, 3);
    cr_expect(!r->resumed && !r->stopped);
    cr_expect_eq(r->matrices, 48);
    for (int e = 0; e < 3; e++) {
        cr_expect_eq(r->epochs[e].epoch, e);
        cr_expect(isfinite(r->epochs[e].valid_small) && isfinite(r->epochs[e].valid_large));
        cr_expect_eq(r->epochs[e].valid, 0.5 * (r->epochs[e].valid_small + r->epochs[e].valid_large));
        cr_expect_eq(r->epochs[e].matrices, e ? 24 : 0);
    }
    const double before = r->epochs[0].valid, after = r->epochs[2].valid;
    cr_expect_lt(after, 0.9 * before, "%s: validation RMSE %.5g untrained, %.5g after 2 epochs", name, before, after);
    cr_log_info("%s (validated after %d steps): validation RMSE %.4g untrained, %.4g, %.4g after epochs 1, 2; "
                "baseline %.4g", name, kind == FM_MODEL_ACCEL ? valid_steps : 0, before, r->epochs[1].valid, after,
                r->baseline);
    // the state: where the run stands
    const fm_train_state *st = &r->state;
    cr_expect_eq(st->epoch, 2);
    cr_expect_eq(st->step, 48);
    cr_expect_eq(st->rng_counter, 0);
    cr_expect_eq(st->seed, 42);
    const double best = fmin(r->epochs[1].valid, r->epochs[2].valid);
    cr_expect_eq(st->best_validation_rmse, best);
    cr_expect_eq(st->best_epoch, r->epochs[2].valid < r->epochs[1].valid ? 2u : 1u);
    cr_expect_eq(r->epochs[st->best_epoch].best, true);
    cr_expect_eq(r->epochs[1].best, true, "epoch 1 is the best so far when it ends");
    // the best model: values only, the right kind and rank
    fm_checkpoint_header h;
    fm_params *model = NULL, *saved = NULL;
    fm_train_state read;
    const fm_checkpoint_expect expect = {.kind = kind, .rank = 3, .training = false};
    cr_assert_eq(fm_checkpoint_read(out, &h, &model, &read, &expect, msg), FM_OK, "%s", msg);
    cr_expect_eq(h.kind, kind);
    cr_expect_eq(h.config.rank, 3);
    cr_expect_eq(h.config.inputs, kind == FM_MODEL_ACCEL ? 6 : 3);
    cr_expect_eq(h.config.width, 8);
    cr_expect_eq(h.config.heads, 1);
    cr_expect_eq(h.config.layers, 2);
    cr_expect_eq(h.flags & FM_CHECKPOINT_TRAINING, 0u);
    // the state file: the whole training state
    const fm_checkpoint_expect expect_state = {.kind = kind, .rank = 3, .training = true};
    cr_assert_eq(fm_checkpoint_read(state, &h, &saved, &read, &expect_state, msg), FM_OK, "%s", msg);
    cr_expect_eq(memcmp(&read, st, sizeof read), 0, "the state file is not the result's state");
    if (st->best_epoch == 2)
        cr_expect_eq(memcmp(model->values, saved->values, sizeof(float) * model->count), 0,
                     "the best model is not the last epoch's");
    // the other kind, or another rank, is refused with the way to train it
    const fm_checkpoint_expect other = {.kind = kind == FM_MODEL_INIT ? FM_MODEL_ACCEL : FM_MODEL_INIT};
    fm_params *none = NULL;
    cr_expect_eq(fm_checkpoint_read(out, &h, &none, NULL, &other, msg), FM_ERR_INVALID);
    const fm_checkpoint_expect rank = {.rank = 10};
    cr_expect_eq(fm_checkpoint_read(out, &h, &none, NULL, &rank, msg), FM_ERR_INVALID);
    cr_expect_null(none);
    cr_expect_eq(fm_test_count_files(dir), 2, "the directory holds more than the model and its state");
    fm_params_free(&model);
    fm_params_free(&saved);
    fm_train_result_free(&r);
    remove(out);
    remove(state);
    remove(dir);
    free(out);
    free(state);
}

Test(train, tiny_init_model_trains)
{
    expect_trains(FM_MODEL_INIT, 5);
}

// The tiny accelerator, 48 matrices at T = 1, is validated after one step:
// applied five times in a row it needs more training than that.
Test(train, tiny_accel_model_trains)
{
    expect_trains(FM_MODEL_ACCEL, 1);
}

//------------------------------------------------------------------------------
// Resume
//------------------------------------------------------------------------------

// The state file, the best model and the result's state of the run into `out`.
typedef struct outcome {
    fm_params *state_blocks;
    fm_train_state state;
    unsigned char *model;
    long model_bytes;
} outcome;

static unsigned char *slurp(const char *path, long *bytes)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    *bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc((size_t)*bytes + 1);
    cr_assert_not_null(data);
    cr_assert_eq(fread(data, 1, (size_t)*bytes, f), (size_t)*bytes);
    fclose(f);
    return data;
}

static outcome outcome_of(const char *out)
{
    char msg[FM_MSG_LEN] = "";
    outcome c = {0};
    char *state = state_of(out);
    fm_checkpoint_header h;
    cr_assert_eq(fm_checkpoint_read(state, &h, &c.state_blocks, &c.state, NULL, msg), FM_OK, "%s", msg);
    c.model = slurp(out, &c.model_bytes);
    free(state);
    return c;
}

static void outcome_free(outcome *c)
{
    fm_params_free(&c->state_blocks);
    free(c->model);
}

static void expect_same(const outcome *a, const outcome *b, const char *what)
{
    const int64_t n = a->state_blocks->count;
    cr_assert_eq(b->state_blocks->count, n);
    cr_expect_eq(memcmp(a->state_blocks->values, b->state_blocks->values, sizeof(float) * n), 0,
                 "%s: the parameters differ", what);
    cr_expect_eq(memcmp(a->state_blocks->m, b->state_blocks->m, sizeof(float) * n), 0, "%s: m differs", what);
    cr_expect_eq(memcmp(a->state_blocks->v, b->state_blocks->v, sizeof(float) * n), 0, "%s: v differs", what);
    cr_expect_eq(memcmp(&a->state, &b->state, sizeof a->state), 0, "%s: the training states differ", what);
    cr_expect(a->model_bytes == b->model_bytes && !memcmp(a->model, b->model, (size_t)a->model_bytes),
              "%s: the best models differ", what);
}

// Uninterrupted, then 1 epoch + resume, then stopped twice and resumed
// (states every 10 matrices; one stop right after a state, one between two).
static void expect_resume_identical(fm_model_kind kind, int epochs, int batch)
{
    const char *dir = fm_test_tmpdir();
    char *a = path_in(dir, "a.fmw"), *b = path_in(dir, "b.fmw"), *c = path_in(dir, "c.fmw");
    fm_train_options o = tiny(kind, a);
    o.epochs = epochs;
    o.valid_size = 4;
    o.batch = batch;
    fm_train_result *r = run_ok(&o);
    cr_expect_eq(r->state.epoch, (uint64_t)epochs);
    fm_train_result_free(&r);
    outcome whole = outcome_of(a);

    // epochs - 1 epochs, then the last one resumed
    o.out = b;
    o.epochs = epochs - 1;
    r = run_ok(&o);
    fm_train_result_free(&r);
    o.epochs = epochs;
    o.resume = true;
    r = run_ok(&o);
    cr_expect(r->resumed);
    cr_expect_eq(r->count, 1, "a resumed run validates the epochs it trains, not the untrained model");
    fm_train_result_free(&r);
    outcome split = outcome_of(b);
    expect_same(&whole, &split, "epochs then resumed");

    // stopped mid-epoch in the last epoch: right after a state, then between two
    o.out = c;
    o.resume = false;
    o.checkpoint_every = 10;
    int64_t after = (int64_t)(epochs - 1) * 24 + (batch == 1 ? 10 : 12);   // a state is written there
    o.progress = stop_after;
    o.user = &after;
    r = run_ok(&o);
    cr_expect(r->stopped);
    cr_expect_eq(r->state.epoch, (uint64_t)epochs - 1);
    cr_expect_eq(r->state.rng_counter, batch == 1 ? 10u : 12u);
    fm_train_result_free(&r);
    o.resume = true;
    after = 5;   // the last state was at 10 (12): these matrices are lost and done again
    r = run_ok(&o);
    cr_expect(r->stopped);
    cr_expect_eq(r->state.rng_counter, batch == 1 ? 10u : 12u, "no state between two multiples of 10");
    fm_train_result_free(&r);
    o.progress = NULL;
    r = run_ok(&o);
    cr_expect(!r->stopped);
    fm_train_result_free(&r);
    outcome stopped = outcome_of(c);
    expect_same(&whole, &stopped, "stopped twice mid-epoch and resumed");

    // resuming a finished run does nothing
    r = run_ok(&o);
    cr_expect_eq(r->matrices, 0);
    cr_expect_eq(r->count, 0);
    fm_train_result_free(&r);
    outcome again = outcome_of(c);
    expect_same(&whole, &again, "a finished run resumed");

    outcome_free(&whole);
    outcome_free(&split);
    outcome_free(&stopped);
    outcome_free(&again);
    const char *names[] = {"a.fmw", "b.fmw", "c.fmw", "a.fmw.state", "b.fmw.state", "c.fmw.state"};
    for (int i = 0; i < 6; i++) remove(fm_test_path(dir, names[i]));
    cr_expect_eq(remove(dir), 0, "%s holds other files", dir);
    free(a);
    free(b);
    free(c);
}

Test(train, init_resume_is_bit_identical)
{
    expect_resume_identical(FM_MODEL_INIT, 2, 1);
}

// Three epochs: T = 1, 1, 2; the stops fall in the epoch at T = 2.
Test(train, accel_resume_is_bit_identical)
{
    expect_resume_identical(FM_MODEL_ACCEL, 3, 1);
}

Test(train, batched_resume_is_bit_identical)
{
    expect_resume_identical(FM_MODEL_INIT, 2, 3);
}

// The matrices of a batch run in parallel, one thread each, and their
// gradients are summed in batch order; a matrix alone (batch 1) runs on one
// thread too: one thread or two, the same parameters, for a model of one
// rank and a pooled one of any rank read through samples.
Test(train, a_batch_in_parallel_gives_the_serial_parameters)
{
    char msg[FM_MSG_LEN] = "";
    fm_params *p[2] = {NULL, NULL};
    const int threads = fm_get_threads();
    for (int variant = 0; variant < 3; variant++) {
        fm_train_options o = tiny(variant == 0 ? FM_MODEL_ACCEL : FM_MODEL_INIT, "unused");
        o.batch = variant == 0 ? 3 : 1;
        if (variant == 2) {
            o.any_rank = o.pooled = o.gathered = true;
            o.max_rank = 5;
            o.heads = 2;
            o.sampling.sampler = FM_SAMPLER_UNIFORM;
            o.sampling.fanout = 4;
        }
        for (int run = 0; run < 2; run++) {
            fm_set_threads(run ? 2 : 1);
            cr_assert_eq(fm_train_params_new(&p[run], &o, msg), FM_OK, "%s", msg);
            for (int64_t step = 0; step < fm_train_steps_per_epoch(&o); step++) {
                double loss = NAN;
                cr_assert_eq(fm_train_step(&loss, p[run], &o, 0, step, msg), FM_OK, "%s", msg);
                cr_assert(isfinite(loss) && loss > 0);
            }
        }
        fm_set_threads(threads);
        cr_expect_eq(memcmp(p[0]->values, p[1]->values, sizeof(float) * p[0]->count), 0,
                     "variant %d: 1 and 2 threads give different parameters", variant);
        fm_params_free(&p[0]);
        fm_params_free(&p[1]);
    }
    fm_train_options o = tiny(FM_MODEL_ACCEL, "unused");
    o.batch = 3;
    // a step outside the epoch
    double loss;
    cr_assert_eq(fm_train_params_new(&p[0], &o, msg), FM_OK, "%s", msg);
    cr_expect_eq(fm_train_step(&loss, p[0], &o, 0, fm_train_steps_per_epoch(&o), msg), FM_ERR_INVALID);
    cr_expect_eq(fm_train_step(&loss, p[0], &o, -1, 0, msg), FM_ERR_INVALID);
    fm_params_free(&p[0]);
}

//------------------------------------------------------------------------------
// Refusals
//------------------------------------------------------------------------------

Test(train, resume_refusals)
{
    char msg[FM_MSG_LEN] = "";
    const char *dir = fm_test_tmpdir();
    char *out = path_in(dir, "m.fmw"), *state = state_of(out);
    fm_train_options o = tiny(FM_MODEL_INIT, out);
    o.epochs = 1;
    o.valid_size = 2;
    o.resume = true;
    cr_expect_eq(run_fails(&o, msg), FM_ERR_IO);
    cr_expect(strstr(msg, "no training state to resume"), "%s", msg);
    o.resume = false;
    fm_train_result *r = run_ok(&o);
    fm_train_result_free(&r);
    // a fresh run would overwrite the state
    cr_expect_eq(run_fails(&o, msg), FM_ERR_IO);
    cr_expect(strstr(msg, "already there") && strstr(msg, "--resume"), "%s", msg);
    // a resume with other options
    o.resume = true;
    o.epochs = 2;
#define MISMATCH(change, word)                                                                        \
    do {                                                                                              \
        fm_train_options changed = o;                                                                 \
        changed.change;                                                                               \
        cr_expect_eq(run_fails(&changed, msg), FM_ERR_INVALID, #change);                              \
        cr_expect(strstr(msg, word), #change ": the message lacks \"%s\": %s", word, msg);              \
    } while (0)
    MISMATCH(seed = 7, "seed");
    MISMATCH(width = 4, "width");
    MISMATCH(layers = 1, "layers");
    MISMATCH(train_size = 20, "--train-size");
    MISMATCH(batch = 2, "--batch");
    MISMATCH(rate = 1e-3, "--lr");
    MISMATCH(rank = 2, "rank");
    MISMATCH(kind = FM_MODEL_ACCEL, "initialization");
#undef MISMATCH
    // the best model gone
    cr_assert_eq(remove(out), 0);
    cr_expect_eq(run_fails(&o, msg), FM_ERR_IO);
    cr_expect(strstr(msg, "best model") && strstr(msg, "missing"), "%s", msg);
    remove(state);
    remove(dir);
    free(out);
    free(state);
}

// Fine-tuning: a run --from a model starts at its values, here on other data:
// at a learning rate too small to move a float, the best model it writes is
// the model. The model must be of the run's shape.
Test(train, a_run_from_a_model_starts_at_its_values)
{
    char msg[FM_MSG_LEN] = "";
    const char *dir = fm_test_tmpdir();
    char *base = path_in(dir, "base.fmw"), *tuned = path_in(dir, "tuned.fmw");
    char *base_state = state_of(base), *tuned_state = state_of(tuned);
    fm_train_options o = tiny(FM_MODEL_ACCEL, base);
    o.epochs = 1;
    o.valid_size = 4;
    o.valid_steps = 1;
    fm_train_result *trained = run_ok(&o);
    fm_train_options f = o;
    f.out = tuned;
    f.from = base;
    f.rate = 1e-12;
    f.data.kind = FM_KIND_INCOMPLETE;
    fm_train_result *r = run_ok(&f);
    cr_assert_eq(r->count, 2);
    fm_checkpoint_header h;
    fm_params *a = NULL, *b = NULL;
    cr_assert_eq(fm_checkpoint_read(base, &h, &a, NULL, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_checkpoint_read(tuned, &h, &b, NULL, NULL, msg), FM_OK, "%s", msg);
    double worst = 0;
    for (int64_t e = 0; e < a->count; e++) worst = fmax(worst, fabs((double)a->values[e] - b->values[e]));
    cr_expect_lt(worst, 1e-6, "the fine-tuned model moved by %g at a rate of 1e-12", worst);
    fm_params *initial = NULL;
    cr_assert_eq(fm_train_params_new(&initial, &f, msg), FM_OK, "%s", msg);
    double moved = 0;
    for (int64_t e = 0; e < a->count; e++) moved = fmax(moved, fabs((double)a->values[e] - initial->values[e]));
    cr_expect_gt(moved, 1e-3, "the trained model is the initial one (%g): the test could not tell", moved);
    fm_params_free(&initial);
    fm_params_free(&a);
    fm_params_free(&b);
    fm_train_result_free(&r);
    fm_train_result_free(&trained);
    remove(tuned);
    remove(tuned_state);
    // an epoch worse than the start (a rate that wrecks the model) does not
    // replace it: the output is the model fine-tuning started from
    f.from = base;
    f.rate = 10;
    r = run_ok(&f);
    cr_assert_eq(r->count, 2);
    cr_expect(r->epochs[0].best && !r->epochs[1].best, "start %g best %d, epoch 1 %g best %d", r->epochs[0].valid,
              r->epochs[0].best, r->epochs[1].valid, r->epochs[1].best);
    cr_expect(!(r->epochs[1].valid < r->epochs[0].valid), "the wrecked epoch validated at %g, the start at %g",
              r->epochs[1].valid, r->epochs[0].valid);
    cr_expect_eq(r->state.best_epoch, 0);
    cr_expect_eq(r->state.best_validation_rmse, r->epochs[0].valid);
    cr_assert_eq(fm_checkpoint_read(base, &h, &a, NULL, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_checkpoint_read(tuned, &h, &b, NULL, NULL, msg), FM_OK, "%s", msg);
    cr_expect_eq(memcmp(a->values, b->values, sizeof(float) * (size_t)a->count), 0, "the output is not the start");
    fm_params_free(&a);
    fm_params_free(&b);
    fm_train_result_free(&r);
    remove(tuned);
    remove(tuned_state);
    f.rate = o.rate;
    // refusals: another shape, with --resume, a missing file; nothing written
    f.width = 16;
    cr_expect_eq(run_fails(&f, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "width 8") && strstr(msg, "width 16"), "%s", msg);
    f.width = o.width;
    f.resume = true;
    cr_expect_eq(run_fails(&f, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "--from") && strstr(msg, "--resume"), "%s", msg);
    f.resume = false;
    f.from = tuned;
    cr_expect_eq(run_fails(&f, msg), FM_ERR_IO);
    cr_expect(strstr(msg, "tuned.fmw"), "%s", msg);
    cr_expect_neq(access(tuned, F_OK), 0, "a failed run left %s", tuned);
    cr_expect_neq(access(tuned_state, F_OK), 0, "a failed run left %s", tuned_state);
    remove(base);
    remove(base_state);
    remove(dir);
    free(base);
    free(tuned);
    free(base_state);
    free(tuned_state);
}

Test(train, an_output_that_cannot_be_written_fails_first_and_leaves_nothing)
{
    char msg[FM_MSG_LEN] = "";
    const char *dir = fm_test_tmpdir();
    char *missing = path_in(dir, "missing/m.fmw");
    fm_train_options o = tiny(FM_MODEL_INIT, missing);
    cr_expect_eq(run_fails(&o, msg), FM_ERR_IO);
    cr_expect(strstr(msg, "missing/m.fmw") && strstr(msg, strerror(ENOENT)), "%s", msg);
    char *folder = path_in(dir, "folder.fmw");
    cr_assert_eq(mkdir(folder, 0755), 0);
    o.out = folder;
    cr_expect_eq(run_fails(&o, msg), FM_ERR_IO);
    cr_expect(strstr(msg, "is a directory"), "%s", msg);
    cr_expect_eq(fm_test_count_files(dir), 1, "something was left next to the outputs");
    cr_expect_eq(fm_test_count_files(folder), 0);
    o.out = NULL;
    cr_expect_eq(run_fails(&o, msg), FM_ERR_INVALID);
    remove(folder);
    remove(dir);
    free(missing);
    free(folder);
}

//------------------------------------------------------------------------------
// Sparse and incomplete training data, and training on sampled graphs (§8)
//------------------------------------------------------------------------------

Test(train, sparse_and_incomplete_training_data_have_the_fractions_asked)
{
    char msg[FM_MSG_LEN] = "";
    fm_train_data sparse, uniform, power;
    fm_train_data_default(&sparse);
    sparse.kind = FM_KIND_SPARSE;
    sparse.zeros = 0.4;
    uniform = sparse;
    uniform.kind = FM_KIND_INCOMPLETE;
    uniform.observed = 0.2;
    power = uniform;
    power.degrees = FM_DEGREES_POWER_LAW;
    const fm_train_data *kinds[3] = { &sparse, &uniform, &power };
    double fraction[3] = {0}, skew[3] = {0};
    for (int k = 0; k < 3; k++) {
        int64_t stored = 0, total = 0;
        for (int64_t i = 0; i < 40; i++) {
            int64_t rows, cols;
            cr_assert_eq(fm_train_shape(&rows, &cols, FM_SET_TRAIN, i, 40, 1, 42, msg), FM_OK, "%s", msg);
            unsigned char *p = malloc((size_t)(rows * cols)), *again = malloc((size_t)(rows * cols));
            cr_assert_eq(fm_train_pattern(p, kinds[k], FM_SET_TRAIN, i, 40, 1, 42, msg), FM_OK, "%s", msg);
            cr_assert_eq(fm_train_pattern(again, kinds[k], FM_SET_TRAIN, i, 40, 1, 42, msg), FM_OK, "%s", msg);
            cr_assert_eq(memcmp(p, again, (size_t)(rows * cols)), 0, "matrix %lld: two patterns", (long long)i);
            int64_t top = 0;
            for (int64_t r = 0; r < rows; r++) {
                int64_t degree = 0;
                for (int64_t c = 0; c < cols; c++) degree += p[r * cols + c];
                if (kinds[k]->kind == FM_KIND_INCOMPLETE) cr_assert(degree > 0, "matrix %lld: row %lld is empty",
                                                                   (long long)i, (long long)r);
                top = degree > top ? degree : top;
                stored += degree;
            }
            for (int64_t c = 0; c < cols && kinds[k]->kind == FM_KIND_INCOMPLETE; c++) {
                int64_t degree = 0;
                for (int64_t r = 0; r < rows; r++) degree += p[r * cols + c];
                cr_assert(degree > 0, "matrix %lld: column %lld is empty", (long long)i, (long long)c);
            }
            total += rows * cols;
            int64_t here = 0;
            for (int64_t e = 0; e < rows * cols; e++) here += p[e];
            skew[k] += (double)top / ((double)here / rows) / 40;
            // the graph: its kind, and Ω as the pattern (the sparse kind may drop clipped zeros)
            fm_graph *g = NULL;
            double mean;
            cr_assert_eq(fm_train_matrix(&g, NULL, NULL, &mean, kinds[k], FM_SET_TRAIN, i, 40, 3, 42, msg), FM_OK,
                         "%s", msg);
            cr_expect_eq(g->stats.kind, kinds[k]->kind);
            if (kinds[k]->kind == FM_KIND_INCOMPLETE) cr_expect_eq(g->stats.entries, here);
            else cr_expect(g->stats.entries <= here && g->stats.entries >= here * 9 / 10);
            cr_expect(mean > 0.3 && mean < 3, "matrix %lld: mean %g", (long long)i, mean);
            fm_graph_free(&g);
            free(p);
            free(again);
        }
        fraction[k] = (double)stored / (double)total;
    }
    cr_log_info("stored: sparse %.3f (0.6 asked), incomplete uniform %.3f, power-law %.3f (0.2 asked, plus one per "
                "empty node); largest row degree over the mean: %.2f uniform, %.2f power-law",
                fraction[0], fraction[1], fraction[2], skew[1], skew[2]);
    cr_expect(fabs(fraction[0] - 0.6) < 0.02, "sparse: %.3f stored", fraction[0]);
    cr_expect(fabs(fraction[1] - 0.2) < 0.03, "incomplete: %.3f observed", fraction[1]);
    cr_expect(fraction[2] > 0.1 && fraction[2] < 0.25, "power-law: %.3f observed", fraction[2]);
    cr_expect(skew[2] > 1.3 * skew[1], "power-law rows are not more skewed: %.2f against %.2f", skew[2], skew[1]);
    // the dense kind of §7 is every entry, and NULL is the dense kind
    fm_train_data dense;
    fm_train_data_default(&dense);
    unsigned char p[100 * 100];
    cr_assert_eq(fm_train_pattern(p, NULL, FM_SET_TRAIN, 3, 40, 1, 42, msg), FM_OK, "%s", msg);
    int64_t rows, cols;
    fm_train_shape(&rows, &cols, FM_SET_TRAIN, 3, 40, 1, 42, msg);
    for (int64_t e = 0; e < rows * cols; e++) cr_assert_eq(p[e], 1);
    sparse.zeros = 1;
    cr_expect_eq(fm_train_pattern(p, &sparse, FM_SET_TRAIN, 3, 40, 1, 42, msg), FM_ERR_INVALID);
    uniform.observed = 0;
    cr_expect_eq(fm_train_pattern(p, &uniform, FM_SET_TRAIN, 3, 40, 1, 42, msg), FM_ERR_INVALID);
}

// A run on `data` with `sampler` into dir/name.
static outcome sampled_run(const char *dir, const char *name, fm_kind kind, fm_sampler sampler, int64_t fanout,
                           double *valid)
{
    char *out = path_in(dir, name);
    fm_train_options o = tiny(FM_MODEL_ACCEL, out);
    o.valid_steps = 1;
    o.data.kind = kind;
    o.sampling.sampler = sampler;
    o.sampling.fanout = fanout;
    o.sampling.presamples = 50;
    fm_train_result *r = run_ok(&o);
    cr_assert_eq(r->count, 3);
    for (int e = 0; e < 3; e++)
        cr_assert(isfinite(r->epochs[e].valid) && (e == 0 || isfinite(r->epochs[e].loss)), "%s %s: epoch %d",
                  fm_kind_name(kind), fm_sampler_name(sampler), e);
    *valid = r->epochs[2].valid;
    cr_log_info("%s data, %s sampler: validation %.4g untrained, %.4g after 2 epochs", fm_kind_name(kind),
                fm_sampler_name(sampler), r->epochs[0].valid, r->epochs[2].valid);
    fm_train_result_free(&r);
    outcome c = outcome_of(out);
    char *state = state_of(out);
    remove(out);
    remove(state);
    free(state);
    free(out);
    return c;
}

Test(train, training_on_sampled_graphs_is_seeded_and_a_sample_of_every_edge_is_the_whole_graph, .timeout = 240)
{
    const char *dir = fm_test_tmpdir();
    struct { fm_kind kind; fm_sampler sampler; } runs[] = {
        { FM_KIND_INCOMPLETE, FM_SAMPLER_EDGE }, { FM_KIND_SPARSE, FM_SAMPLER_RANDOM_WALK },
        { FM_KIND_INCOMPLETE, FM_SAMPLER_UNIFORM }, { FM_KIND_SPARSE, FM_SAMPLER_STRATIFIED },
    };
    // the unsampled runs, one per kind (incomplete, sparse)
    double v;
    outcome full[2] = { sampled_run(dir, "full-incomplete.fmw", FM_KIND_INCOMPLETE, FM_SAMPLER_FULL, 4, &v),
                        sampled_run(dir, "full-sparse.fmw", FM_KIND_SPARSE, FM_SAMPLER_FULL, 4, &v) };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        outcome a = sampled_run(dir, "a.fmw", runs[i].kind, runs[i].sampler, 4, &v);
        outcome b = sampled_run(dir, "b.fmw", runs[i].kind, runs[i].sampler, 4, &v);
        const outcome *whole = &full[runs[i].kind == FM_KIND_SPARSE];
        char what[96];
        snprintf(what, sizeof what, "%s %s, twice", fm_kind_name(runs[i].kind), fm_sampler_name(runs[i].sampler));
        expect_same(&a, &b, what);
        cr_expect(memcmp(a.state_blocks->values, whole->state_blocks->values, sizeof(float) * a.state_blocks->count),
                  "%s: the sampled run trained exactly as the unsampled one", what);
        outcome_free(&a);
        outcome_free(&b);
    }
    // uniform with a fanout above every degree keeps every edge: the unsampled run bit for bit
    outcome every = sampled_run(dir, "a.fmw", FM_KIND_INCOMPLETE, FM_SAMPLER_UNIFORM, 1000, &v);
    expect_same(&every, &full[0], "uniform with fanout 1000 against full");
    outcome_free(&every);
    outcome_free(&full[0]);
    outcome_free(&full[1]);
    remove(dir);
}

Test(train, sampled_training_refusals)
{
    char msg[FM_MSG_LEN] = "";
    fm_train_options o = tiny(FM_MODEL_ACCEL, "/tmp/unused.fmw");
    o.sampling.sampler = FM_SAMPLER_EDGE;   // dense data: the graph is complete
    cr_expect_eq(fm_train_check(&o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "complete"), "%s", msg);
    o.data.kind = FM_KIND_INCOMPLETE;
    o.sampling.sampler = FM_SAMPLER_STRATIFIED;
    cr_expect_eq(fm_train_check(&o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "stratified"), "%s", msg);
    o.sampling.sampler = FM_SAMPLER_UNIFORM;
    o.sampling.fanout = 0;
    cr_expect_eq(fm_train_check(&o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "fanout"), "%s", msg);
    o.sampling.fanout = 4;
    o.data.observed = 1.5;
    cr_expect_eq(fm_train_check(&o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "observed"), "%s", msg);
    // a budget too small for rank 3 on every draw
    o.data.observed = 0.3;
    o.sampling.sampler = FM_SAMPLER_EDGE;
    o.sampling.budget = 1;
    o.sampling.presamples = 5;
    const char *dir = fm_test_tmpdir();
    char *out = path_in(dir, "m.fmw");
    o.out = out;
    cr_expect_eq(run_fails(&o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "--budget"), "%s", msg);
    cr_expect_eq(fm_test_count_files(dir), 0, "a failed run left files");
    remove(dir);
    free(out);
}

// Validation runs its matrices in parallel, each on one thread: its medians,
// at every rank of a model of any rank, are the same at one thread or two.
Test(train, validation_is_the_same_at_any_thread_count)
{
    const int threads = fm_get_threads();
    fm_train_result *r[2] = {NULL, NULL};
    for (int run = 0; run < 2; run++) {
        char *out = path_in(fm_test_tmpdir(), "model.fmw");
        fm_train_options o = tiny(FM_MODEL_INIT, out);
        o.any_rank = o.pooled = true;
        o.max_rank = 5;
        o.epochs = 1;
        o.valid_size = 12;
        fm_set_threads(run ? 2 : 1);
        r[run] = run_ok(&o);
        free(out);
    }
    fm_set_threads(threads);
    cr_expect_eq(r[0]->baseline_small, r[1]->baseline_small);
    cr_expect_eq(r[0]->baseline_large, r[1]->baseline_large);
    for (int e = 0; e < 2; e++) {
        cr_expect_eq(r[0]->epochs[e].valid_small, r[1]->epochs[e].valid_small, "epoch %d", e);
        cr_expect_eq(r[0]->epochs[e].valid_large, r[1]->epochs[e].valid_large, "epoch %d", e);
    }
    fm_train_result_free(&r[0]);
    fm_train_result_free(&r[1]);
}
