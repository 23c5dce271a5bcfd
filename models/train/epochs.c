// The preconditioner trainers' epoch loop (P5, P6): models/train/epochs.h
// says what a run does.
#include <math.h>
#include <omp.h>
#include <string.h>

#include "epochs.h"
#include "rng.h"
#include "status.h"

void fm_epochs_step_probe(double *z, int64_t n, uint64_t seed, uint64_t step)
{
    const fm_rng stream = fm_rng_stream(seed ^ fm_mix64(step), FM_STREAM_TRAIN);
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) z[i] = fm_rng_normal(stream, (uint64_t)i);
}

// The right-hand sides' keys start past any step's.
#define RHS_KEY_OFFSET (UINT64_C(1) << 62)

void fm_epochs_matrix_rhs(double *b, int64_t n, uint64_t seed, int64_t index)
{
    const fm_rng stream = fm_rng_stream(seed ^ fm_mix64(RHS_KEY_OFFSET + (uint64_t)index), FM_STREAM_TRAIN);
    for (int64_t i = 0; i < n; i++) b[i] = fm_rng_normal(stream, (uint64_t)i);
}

static bool report(const fm_epochs *loop, const fm_epochs_progress *p)
{
    return loop->progress && loop->progress(p, loop->user);
}

int fm_epochs_run(fm_epochs_result *result, const fm_epochs *loop, fm_epochs_state *state, char *msg)
{
#define FREE_ALL
    memset(result, 0, sizeof *result);
    const int64_t steps_per_epoch = loop->train_count;
    fm_epochs_progress p = { .epochs = loop->epochs, .total = steps_per_epoch, .loss = NAN,
                             .best = state->best_validation };
    if (state->step == 0) {
        FM_TRY(loop->validate(&result->first_validation, loop->self, msg));
        p.validation = result->first_validation;
        p.seconds = omp_get_wtime() - loop->start;
        if (report(loop, &p)) result->stopped = true;
    } else {
        result->first_validation = NAN;
    }
    while (!result->stopped && state->epoch < (uint64_t)loop->epochs) {
        const int64_t epoch = (int64_t)state->epoch + 1;
        const fm_rng order = fm_rng_stream(loop->seed ^ fm_mix64((uint64_t)epoch), FM_STREAM_ORDER);
        double loss_sum = 0;
        int64_t taken = 0, skipped = 0;
        for (int64_t done = (int64_t)(state->step % (uint64_t)steps_per_epoch); done < steps_per_epoch; done++) {
            const int64_t index = fm_rng_permute(done, loop->train_count, order);
            double loss = NAN;
            FM_TRY(loop->step(&loss, loop->self, index, state->step + 1, msg));
            state->step++;
            if (isnan(loss)) {
                skipped++;
                result->skipped++;
            } else {
                loss_sum += loss;
                taken++;
            }
            p = (fm_epochs_progress){ .epoch = epoch, .epochs = loop->epochs, .done = done + 1,
                                      .total = steps_per_epoch, .loss = loss,
                                      .running_loss = taken ? loss_sum / (double)taken : NAN, .skipped = skipped,
                                      .validation = NAN,
                                      .best = state->best_validation, .seconds = omp_get_wtime() - loop->start };
            const bool late = loop->time_limit > 0 && p.seconds >= loop->time_limit;
            if (report(loop, &p) || late) result->stopped = true;
            if (loop->checkpoint_every > 0 && state->step % (uint64_t)loop->checkpoint_every == 0 &&
                done + 1 < steps_per_epoch)
                FM_TRY(loop->write_state(loop->self, state, msg));
            if (result->stopped) break;
        }
        if (state->step % (uint64_t)steps_per_epoch != 0) {   // stopped inside the epoch
            FM_TRY(loop->write_state(loop->self, state, msg));
            break;
        }
        state->epoch++;
        double score;
        FM_TRY(loop->validate(&score, loop->self, msg));
        if (score < state->best_validation) {
            state->best_validation = score;
            state->best_epoch = state->epoch;
            FM_TRY(loop->write_model(loop->self, msg));
        }
        FM_TRY(loop->write_state(loop->self, state, msg));
        p = (fm_epochs_progress){ .epoch = epoch, .epochs = loop->epochs, .done = steps_per_epoch,
                                  .total = steps_per_epoch, .loss = NAN,
                                  .running_loss = taken ? loss_sum / (double)taken : NAN, .skipped = skipped,
                                  .validation = score,
                                  .best = state->best_validation, .seconds = omp_get_wtime() - loop->start };
        if (report(loop, &p)) result->stopped = true;
    }
    result->epochs_done = (int64_t)state->epoch;
    result->steps = (int64_t)state->step;
    result->best_validation = state->best_validation;
    result->best_epoch = (int64_t)state->best_epoch;
    result->seconds = omp_get_wtime() - loop->start;
    return FM_OK;
#undef FREE_ALL
}
