// The preconditioner trainers' epoch loop (models/train/epochs.h) with a
// trainer of its own that only records: every epoch visits every training
// matrix once, steps are numbered 1, 2, ... across epochs; validation before
// the first epoch and after each; the model written exactly when the score
// improves; the state every K steps inside an epoch and after each epoch; a
// run stopped inside an epoch and resumed from its state takes the steps an
// uninterrupted run takes; the time limit stops after a step; a callback's
// error is returned.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "epochs.h"
#include "helpers.h"
#include "status.h"

TestSuite(epochs, .init = fm_test_setup);

#define MAX_STEPS 256

typedef struct recorder {
    int64_t index[MAX_STEPS + 1];   // by step t (1-based)
    int64_t steps;                  // steps taken by this recorder
    uint64_t last_step;
    int validations, models, states;
    uint64_t state_steps[MAX_STEPS];
    const double *scores;           // the validation scores, in turn
    int64_t stop_at;                // the progress callback stops after this step (0: never)
    int64_t fail_at;                // the step callback fails at this step (0: never)
    int64_t skip_from;              // the step callback skips (NaN loss) from this step on (0: never)
    int64_t progress_skipped;       // the skips the last epoch's progress reported
    double progress_running;        // and its running loss
} recorder;

static int step(double *loss, void *self, int64_t index, uint64_t t, char *msg)
{
    recorder *r = self;
    cr_assert(t >= 1 && t <= MAX_STEPS);
    if (r->fail_at && (int64_t)t == r->fail_at) return fm_fail(FM_ERR_NUMERIC, msg, "step %llu failed", (unsigned long long)t);
    r->index[t] = index;
    r->steps++;
    r->last_step = t;
    *loss = r->skip_from && (int64_t)t >= r->skip_from ? NAN : (double)index;
    return FM_OK;
}

static int validate(double *score, void *self, char *msg)
{
    (void)msg;
    recorder *r = self;
    *score = r->scores[r->validations++];
    return FM_OK;
}

static int write_state(void *self, const fm_epochs_state *state, char *msg)
{
    (void)msg;
    recorder *r = self;
    r->state_steps[r->states++] = state->step;
    return FM_OK;
}

static int write_model(void *self, char *msg)
{
    (void)msg;
    ((recorder *)self)->models++;
    return FM_OK;
}

static int stop_when(const fm_epochs_progress *p, void *user)
{
    recorder *r = user;
    if (!isnan(p->validation)) {
        r->progress_skipped = p->skipped;
        r->progress_running = p->running_loss;
    }
    return r->stop_at && isnan(p->validation) && r->last_step == (uint64_t)r->stop_at;
}

static fm_epochs loop_of(recorder *r, int64_t train_count, int64_t epochs, int64_t checkpoint_every)
{
    return (fm_epochs){ .train_count = train_count, .epochs = epochs, .seed = 17, .checkpoint_every = checkpoint_every,
                        .start = omp_get_wtime(), .self = r, .step = step, .validate = validate,
                        .write_state = write_state, .write_model = write_model, .progress = stop_when, .user = r };
}

static fm_epochs_state fresh(void)
{
    return (fm_epochs_state){ .best_validation = INFINITY };
}

Test(epochs, every_matrix_once_an_epoch_the_best_kept_and_states_on_schedule)
{
    const double scores[] = { 50, 40, 45, 30, 30 };   // before, then epochs 1..4
    recorder r = { .scores = scores };
    const int64_t N = 7, E = 4, K = 3;
    const fm_epochs loop = loop_of(&r, N, E, K);
    fm_epochs_state state = fresh();
    fm_epochs_result result;
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_epochs_run(&result, &loop, &state, msg), FM_OK, "%s", msg);
    cr_assert_eq(r.steps, N * E);
    bool orders_differ = false;
    for (int64_t e = 0; e < E; e++) {
        bool seen[7] = { false };
        for (int64_t k = 1; k <= N; k++) {
            const int64_t index = r.index[e * N + k];
            cr_assert(index >= 0 && index < N && !seen[index], "epoch %lld visits %lld twice", (long long)e, (long long)index);
            seen[index] = true;
            if (e > 0 && index != r.index[k]) orders_differ = true;
        }
    }
    cr_assert(orders_differ, "every epoch visits the matrices in the same order");
    cr_assert_eq(r.validations, E + 1);
    cr_assert_eq(r.models, 2, "the model is written at epochs 1 and 3 only (not at a tie)");
    cr_assert_eq(state.best_epoch, 3);
    cr_assert_eq(state.best_validation, 30);
    cr_assert_eq(result.first_validation, 50);
    cr_assert_eq(result.best_epoch, 3);
    cr_assert_eq(result.epochs_done, E);
    cr_assert_eq(result.steps, N * E);
    cr_assert_not(result.stopped);
    // inside the epochs every K steps unless at an epoch's end, then after every epoch
    int expected = 0;
    for (int64_t t = 1; t <= N * E; t++)
        if (t % N == 0 || t % K == 0) {
            cr_assert(expected < r.states && r.state_steps[expected] == (uint64_t)t, "no state at step %lld",
                      (long long)t);
            expected++;
        }
    cr_assert_eq(r.states, expected);
}

Test(epochs, a_run_stopped_inside_an_epoch_resumes_with_the_same_steps)
{
    const double scores[] = { 9, 8, 7, 6, 5, 4 };
    recorder whole = { .scores = scores };
    const int64_t N = 5, E = 3;
    fm_epochs loop = loop_of(&whole, N, E, 0);
    fm_epochs_state state = fresh();
    fm_epochs_result result;
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_epochs_run(&result, &loop, &state, msg), FM_OK, "%s", msg);

    recorder first = { .scores = scores, .stop_at = 7 };
    loop = loop_of(&first, N, E, 0);
    fm_epochs_state saved = fresh();
    cr_assert_eq(fm_epochs_run(&result, &loop, &saved, msg), FM_OK, "%s", msg);
    cr_assert(result.stopped);
    cr_assert_eq(saved.step, 7);
    cr_assert_eq(saved.epoch, 1);
    cr_assert_eq(first.states, 2, "a state after epoch 1 and one where the run stopped");
    cr_assert_eq(first.state_steps[1], 7);

    recorder second = { .scores = scores + first.validations };
    loop = loop_of(&second, N, E, 0);
    cr_assert_eq(fm_epochs_run(&result, &loop, &saved, msg), FM_OK, "%s", msg);
    cr_assert(isnan(result.first_validation), "a resumed run does not validate before its first step");
    cr_assert_eq(result.steps, N * E);
    cr_assert_eq(second.steps, N * E - 7);
    for (int64_t t = 1; t <= N * E; t++)
        cr_assert_eq(t <= 7 ? first.index[t] : second.index[t], whole.index[t], "step %lld", (long long)t);
    cr_assert_eq(saved.best_epoch, state.best_epoch);
    cr_assert_eq(saved.best_validation, state.best_validation);
}

Test(epochs, the_time_limit_stops_after_a_step_and_errors_are_returned)
{
    const double scores[] = { 9, 8, 7 };
    recorder r = { .scores = scores };
    fm_epochs loop = loop_of(&r, 4, 2, 0);
    loop.time_limit = 1e-300;
    loop.start = omp_get_wtime() - 1;
    fm_epochs_state state = fresh();
    fm_epochs_result result;
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_epochs_run(&result, &loop, &state, msg), FM_OK, "%s", msg);
    cr_assert(result.stopped);
    cr_assert_eq(result.steps, 1);
    cr_assert_eq(r.states, 1);

    recorder failing = { .scores = scores, .fail_at = 3 };
    loop = loop_of(&failing, 4, 2, 0);
    state = fresh();
    cr_assert_eq(fm_epochs_run(&result, &loop, &state, msg), FM_ERR_NUMERIC);
    cr_assert(strstr(msg, "step 3 failed"), "%s", msg);
    cr_assert_eq(state.step, 2);
}

// Steps the trainer skips (NaN loss: models/train/epochs.h) are counted in
// the epoch's progress and the result, and left out of the running loss.
Test(epochs, skipped_steps_are_counted_and_left_out_of_the_loss)
{
    const double scores[] = { 50, 40, 45 };
    recorder r = { .scores = scores, .skip_from = 5 };
    const int64_t N = 6;
    const fm_epochs loop = loop_of(&r, N, 2, 0);
    fm_epochs_state state = fresh();
    fm_epochs_result result;
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_epochs_run(&result, &loop, &state, msg), FM_OK, "%s", msg);
    cr_expect_eq(result.steps, 2 * N);
    cr_expect_eq(result.skipped, 2 * N - 4, "%lld skipped", (long long)result.skipped);
    // epoch 2 skipped every step: its running loss is NaN, its count N
    cr_expect_eq(r.progress_skipped, N);
    cr_expect(isnan(r.progress_running), "running loss %g over no step taken", r.progress_running);
    cr_expect_eq(result.best_epoch, 1);
    // epoch 1: the mean of its first 4 steps' losses (their indices), not of 6
    recorder one = { .scores = scores, .skip_from = 5 };
    const fm_epochs single = loop_of(&one, N, 1, 0);
    fm_epochs_state s1 = fresh();
    cr_assert_eq(fm_epochs_run(&result, &single, &s1, msg), FM_OK, "%s", msg);
    double sum = 0;
    for (int t = 1; t <= 4; t++) sum += (double)one.index[t];
    cr_expect_eq(one.progress_skipped, 2);
    cr_expect(fabs(one.progress_running - sum / 4) < 1e-12, "running loss %g, expected %g", one.progress_running,
              sum / 4);
}
