// Training (models/nmf/train, docs/factormer-math.md §7) on a tiny model (width 8,
// 1 head, 2 layers, rank 3, 24 training and 8 + 8 validation matrices):
//   - the options and their refusals; the epoch order; a prepared sample;
//   - a run trains: the validation RMSE after two epochs is below the
//     untrained model's, the progress events come in order, the best model
//     and the state load with fm_checkpoint_read;
//   - the refusals of a resume and of an output that cannot be written;
//   - the highest rank a model of any rank trained at, kept over resumes and
//     fine-tuning.
// Resume, threads and sampled training data: tests/test_train_runs.c.
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
#include "train_fixtures.h"

TestSuite(train, .init = fm_test_setup);


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
    REFUSED(o.rank = 65, "rank 65");
    REFUSED(o.max_rank = 5, "--max-rank 5; expected a model of any rank");
    REFUSED(o.any_rank = true; o.max_rank = o.rank - 1, "--max-rank");
    REFUSED(o.any_rank = true; o.max_rank = 65, "--max-rank 65");
    REFUSED(o.gathered = true, "--gathered is a feature of a model of any rank");
    REFUSED(o.pooled = true, "--pooled is a feature of a model of any rank");
    REFUSED(o.any_rank = true; o.residual = true, "--residual is a feature of a pooled model");
    REFUSED(o.svd_power = 65, "--svd-power 65");
    REFUSED(o.svd_power = -2, "--svd-power -2");
    REFUSED(o.unroll = -1, "--unroll -1");
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
    REFUSED(o.valid_iters = -1, "validation ADMM iterations");
    REFUSED(o.kind = FM_MODEL_ACCEL; o.valid_iters = 3, "validation ADMM iterations");
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
        cr_assert_eq(fm_train_sample_new(&s, NULL, (fm_train_set)set, 5, 24, 3, FM_SVD_POWER_AUTO, 42, msg), FM_OK,
                     "%s", msg);
        cr_assert_eq(fm_train_sample_new(&again, NULL, (fm_train_set)set, 5, 24, 3, FM_SVD_POWER_AUTO, 42, msg), FM_OK,
                     "%s", msg);
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

// A model of any rank records the highest rank it has trained at (§5.2,
// "Samples"), over its history: a resume or a fine-tuning run at lower
// ranks keeps the earlier top, one at higher ranks records its own.
static int recorded_top_rank(const char *path)
{
    char msg[FM_MSG_LEN];
    fm_checkpoint_header h;
    cr_assert_eq(fm_checkpoint_read_header(path, &h, NULL, msg), FM_OK, "%s", msg);
    return h.config.trained_rank;
}

Test(train, a_model_records_the_highest_rank_it_trained_at)
{
    const char *dir = fm_test_tmpdir();
    char *out = path_in(dir, "m.fmw"), *state = state_of(out), *tuned = path_in(dir, "tuned.fmw");
    fm_train_options o = tiny(FM_MODEL_INIT, out);
    o.any_rank = o.pooled = true;
    o.max_rank = 5;
    o.epochs = 1;
    o.valid_size = 2;
    fm_train_result *r = run_ok(&o);
    fm_train_result_free(&r);
    cr_expect_eq(recorded_top_rank(out), 5);
    cr_expect_eq(recorded_top_rank(state), 5);
    o.resume = true;
    o.epochs = 2;
    o.max_rank = 4;
    r = run_ok(&o);
    fm_train_result_free(&r);
    cr_expect_eq(recorded_top_rank(state), 5, "a resume at ranks to 4 keeps 5");
    fm_train_options f = tiny(FM_MODEL_INIT, tuned);
    f.any_rank = f.pooled = true;
    f.epochs = 1;
    f.valid_size = 2;
    f.from = out;
    r = run_ok(&f);
    fm_train_result_free(&r);
    cr_expect_eq(recorded_top_rank(tuned), 5, "fine-tuned at rank 3 from a model trained to 5");
    char *tuned_state = state_of(tuned);
    remove(tuned);
    remove(tuned_state);
    f.max_rank = 7;
    r = run_ok(&f);
    fm_train_result_free(&r);
    cr_expect_eq(recorded_top_rank(tuned), 7);
    remove(tuned);
    remove(tuned_state);
    remove(out);
    remove(state);
    remove(dir);
    free(out);
    free(state);
    free(tuned);
    free(tuned_state);
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

// One epoch of a tiny residual model of any rank (§5.2), ranks 2 to 5.
static fm_train_result *residual_epoch(int svd_power, int valid_iters)
{
    char *out = path_in(fm_test_tmpdir(), "model.fmw");
    fm_train_options o = tiny(FM_MODEL_INIT, out);
    o.any_rank = o.pooled = o.residual = true;
    o.max_rank = 5;
    o.epochs = 1;
    o.svd_power = svd_power;
    o.valid_iters = valid_iters;
    fm_train_result *r = run_ok(&o);
    free(out);
    return r;
}

// A residual model (§5.2) starts as its input: its untrained validation RMSE
// is the NNDSVD start's (to float rounding of the √k in and out). The
// chains' starts take the power iterations given: a sketch of 0 is not the
// rule's start (every baseline differs).
Test(train, a_residual_model_starts_at_its_input_from_the_sketch_given)
{
    fm_train_result *r[2] = {residual_epoch(FM_SVD_POWER_AUTO, 0), residual_epoch(0, 0)};
    for (int run = 0; run < 2; run++) {
        cr_expect_float_eq(r[run]->epochs[0].valid_small, r[run]->baseline_small, 1e-6 * r[run]->baseline_small,
                           "power %d: untrained %.9g, the start %.9g", run ? 0 : -1, r[run]->epochs[0].valid_small,
                           r[run]->baseline_small);
        cr_expect_float_eq(r[run]->epochs[0].valid_large, r[run]->baseline_large, 1e-6 * r[run]->baseline_large);
    }
    cr_expect_neq(r[0]->baseline_small, r[1]->baseline_small, "a sketch of 0 gave the rule's starts");
    cr_expect_neq(r[0]->baseline_large, r[1]->baseline_large, "a sketch of 0 gave the rule's starts");
    fm_train_result_free(&r[0]);
    fm_train_result_free(&r[1]);
}

// --valid-iters scores an init model N ADMM iterations after its output,
// against N from the NNDSVD start: a residual model, untrained, outputs its
// input, so both are the same N iterations of the same ADMM from the same
// start, and they fit X better than the start itself does.
Test(train, a_validation_after_admm_iterations_scores_where_the_start_leads)
{
    fm_train_result *r[2] = {residual_epoch(FM_SVD_POWER_AUTO, 0), residual_epoch(FM_SVD_POWER_AUTO, 8)};
    const fm_train_result *after = r[1], *at = r[0];
    cr_expect_float_eq(after->epochs[0].valid_small, after->baseline_small, 1e-5 * after->baseline_small,
                       "untrained %.9g, plain ADMM %.9g", after->epochs[0].valid_small, after->baseline_small);
    cr_expect_float_eq(after->epochs[0].valid_large, after->baseline_large, 1e-5 * after->baseline_large);
    cr_expect_lt(after->baseline_small, 0.9 * at->baseline_small, "8 iterations %.6g, the start %.6g",
                 after->baseline_small, at->baseline_small);
    cr_expect_lt(after->baseline_large, 0.9 * at->baseline_large);
    cr_expect_lt(after->epochs[1].valid, 0.9 * at->epochs[1].valid, "the trained start, then 8 iterations");
    fm_train_result_free(&r[0]);
    fm_train_result_free(&r[1]);
}
