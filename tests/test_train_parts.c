// The parts of training (§7) that stand alone:
//   - AdamW (models/train/optim) against a two-step reference computed by hand in
//     double (bias correction, decoupled weight decay on matrices only or on
//     everything, clipping), on a quadratic, for any thread count, and its
//     refusals;
//   - the learning-rate schedule and the acceleration curriculum
//     (models/train/schedule) at epoch and step boundaries;
//   - the synthetic training and validation matrices (models/nmf/train_data):
//     reproducible from (seed, set, index) in any order and for any thread
//     count, shapes inside their classes, exact class proportions, E[WH] = 1,
//     the training noise, noise-free validation, X >= 0.
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "optim.h"
#include "params.h"
#include "schedule.h"
#include "train_data.h"

TestSuite(adamw, .init = fm_test_setup);
TestSuite(schedule);
TestSuite(train_data, .init = fm_test_setup);

static const int thread_counts[] = { 1, 2, 3 };

//------------------------------------------------------------------------------
// AdamW: a two-step reference
//------------------------------------------------------------------------------

// A 2 x 2 weight matrix "w" (decays) and a 3-vector "b" (decays only with
// decay_vectors), two steps with the gradients below at rates 0.01 then
// 0.005, β = 0.9 / 0.999, ε = 1e-8, weight decay 0.1. The expected values
// were computed by hand in double (Python floats) from
//     m = β1 m + (1−β1) g,  v = β2 v + (1−β2) g²,
//     θ = θ − rate·( m/(1−β1^t) / (sqrt(v/(1−β2^t)) + ε) + λ θ ),
// with g scaled by max_norm/‖g‖ when clipping and ‖g‖ > max_norm.
static const double initial_values[7] = { 0.5, -1.0, 2.0, 0.25, 0.1, -0.2, 0.0 };
static const double gradients[2][7] = {
    { 0.2, -0.4, 1.0, 0.0, 0.3, -0.05, 2.0 },
    { -0.1, 0.3, 0.5, 0.2, 0.1, 0.05, -1.0 },
};
static const double rates[2] = { 0.01, 0.005 };
static const double norms[2] = { 2.3005434140654684, 1.1842719282327012 };

typedef struct adamw_expected {
    double values[7], m[7], v[7];
} adamw_expected;

static const adamw_expected decay_matrices = {
    { 0.48792356538568377, -0.98805887522548175, 1.9823451019648581, 0.24590444114519139,
      0.085644680774526444, -0.19026315984210487, -0.011331685139878424 },
    { 0.0080000000000000002, -0.0060000000000000053, 0.13999999999999996, 0.019999999999999997,
      0.036999999999999991, 0.00049999999999999958, 0.079999999999999988 },
    { 4.9960000000000057e-05, 0.00024984000000000025, 0.0012490000000000012, 4.0000000000000044e-05,
      9.9910000000000092e-05, 4.9975000000000059e-06, 0.0049960000000000048 },
};
static const adamw_expected clipped_at_1 = {
    { 0.4894455703803734, -0.98967832954655766, 1.982010326363165, 0.24590444119365976,
      0.085165203450608226, -0.19177564025803132, -0.0098096806343082234 },
    { -0.00061976827109737516, 0.0096835431606097262, 0.081341224828662906, 0.016888013236829959,
      0.020180364139391383, 0.0022659437223780886, -0.006197682710973762 },
    { 1.4680431815445304e-05, 9.4372351147699226e-05, 0.00036701079538613258, 2.8520499108734429e-05,
      2.4118315613272417e-05, 2.254425384187258e-06, 0.0014680431815445303 },
};
static const adamw_expected decay_everything = {
    { 0.48792356538568377, -0.98805887522548175, 1.9823451019648581, 0.24590444114519139,
      0.085499730774359781, -0.18996825984110488, -0.011326685139903423 },
    { 0.0080000000000000002, -0.0060000000000000053, 0.13999999999999996, 0.019999999999999997,
      0.036999999999999991, 0.00049999999999999958, 0.079999999999999988 },
    { 4.9960000000000057e-05, 0.00024984000000000025, 0.0012490000000000012, 4.0000000000000044e-05,
      9.9910000000000092e-05, 4.9975000000000059e-06, 0.0049960000000000048 },
};

static fm_params *small_block(void)
{
    const fm_tensor_spec specs[2] = { { "w", 2, 2 }, { "b", 3, 1 } };
    fm_params *p = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_params_new(&p, specs, 2, msg), FM_OK, "%s", msg);
    return p;
}

// Element e of the 7 (4 of "w", then 3 of "b") in the block.
static int64_t small_offset(const fm_params *p, int e) { return e < 4 ? p->offsets[0] + e : p->offsets[1] + e - 4; }

// Each value within `tolerance` of expected (floats stored, double reference).
static void expect_block(const float *block, const fm_params *p, const double *expected, double tolerance,
                         const char *what)
{
    for (int e = 0; e < 7; e++) {
        const double got = block[small_offset(p, e)];
        cr_expect(fabs(got - expected[e]) <= tolerance * fmax(1, fabs(expected[e])),
                  "%s[%d] = %.9g, expected %.9g", what, e, got, expected[e]);
    }
}

static void run_two_steps(const fm_adamw *opt, const adamw_expected *expected)
{
    fm_params *p = small_block();
    char msg[FM_MSG_LEN];
    for (int e = 0; e < 7; e++) p->values[small_offset(p, e)] = (float)initial_values[e];
    for (int t = 0; t < 2; t++) {
        for (int e = 0; e < 7; e++) p->grads[small_offset(p, e)] = (float)gradients[t][e];
        double norm = -1;
        cr_assert_eq(fm_adamw_step(p, opt, t + 1, rates[t], &norm, msg), FM_OK, "%s", msg);
        cr_expect(fabs(norm - norms[t]) < 1e-6, "gradient norm at step %d is %.9g, expected %.9g", t + 1,
                  norm, norms[t]);
    }
    // the moments are second-order small: compare them relative to their size
    expect_block(p->values, p, expected->values, 1e-6, "value");
    for (int e = 0; e < 7; e++) {
        const int64_t at = small_offset(p, e);
        cr_expect(fabs(p->m[at] - expected->m[e]) <= 1e-6 * fabs(expected->m[e]) + 1e-9, "m[%d] = %.9g, expected %.9g",
                  e, p->m[at], expected->m[e]);
        cr_expect(fabs(p->v[at] - expected->v[e]) <= 1e-6 * fabs(expected->v[e]) + 1e-12,
                  "v[%d] = %.9g, expected %.9g", e, p->v[at], expected->v[e]);
    }
    fm_params_free(&p);
}

static fm_adamw reference_options(void)
{
    fm_adamw opt;
    fm_adamw_default(&opt);
    opt.weight_decay = 0.1;
    return opt;
}

Test(adamw, defaults)
{
    fm_adamw opt;
    memset(&opt, 0xff, sizeof opt);
    fm_adamw_default(&opt);
    cr_expect_eq(opt.beta1, 0.9);
    cr_expect_eq(opt.beta2, 0.999);
    cr_expect_eq(opt.eps, 1e-8);
    cr_expect_eq(opt.weight_decay, 0.01);
    cr_expect_not(opt.decay_vectors);
    cr_expect_eq(opt.max_grad_norm, 0);
}

Test(adamw, two_steps_decay_on_matrices_only)
{
    const fm_adamw opt = reference_options();
    run_two_steps(&opt, &decay_matrices);
}

Test(adamw, two_steps_decay_on_everything)
{
    fm_adamw opt = reference_options();
    opt.decay_vectors = true;
    run_two_steps(&opt, &decay_everything);
}

Test(adamw, two_steps_clipped)
{
    fm_adamw opt = reference_options();
    opt.max_grad_norm = 1.0;   // both steps' norms exceed it
    run_two_steps(&opt, &clipped_at_1);
}

Test(adamw, clipping_below_the_norm_changes_nothing)
{
    fm_adamw opt = reference_options();
    opt.max_grad_norm = 3.0;   // above both norms
    run_two_steps(&opt, &decay_matrices);
}

Test(adamw, padding_is_not_touched)
{
    fm_params *p = small_block();
    char msg[FM_MSG_LEN];
    const fm_adamw opt = reference_options();
    const int64_t pad = p->offsets[0] + 4;   // "w" holds 4, its padding runs to offsets[1]
    cr_assert_lt(pad, p->offsets[1]);
    p->values[pad] = 7;
    for (int e = 0; e < 7; e++) {
        p->values[small_offset(p, e)] = (float)initial_values[e];
        p->grads[small_offset(p, e)] = (float)gradients[0][e];
    }
    cr_assert_eq(fm_adamw_step(p, &opt, 1, 0.01, NULL, msg), FM_OK, "%s", msg);
    cr_expect_eq(p->values[pad], 7);
    cr_expect_eq(p->m[pad], 0);
    cr_expect_eq(p->v[pad], 0);
    cr_expect_neq(p->values[small_offset(p, 0)], (float)initial_values[0]);
    fm_params_free(&p);
}

//------------------------------------------------------------------------------
// AdamW: a quadratic, threads, refusals
//------------------------------------------------------------------------------

// f(θ) = ½ Σ a_e (θ_e − c_e)² with curvatures a_e in [0.1, 10]: AdamW
// without decay, under the §7 schedule, ends at c.
Test(adamw, converges_on_a_quadratic)
{
    const fm_tensor_spec specs[2] = { { "w", 6, 5 }, { "b", 7, 1 } };
    fm_params *p = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_params_new(&p, specs, 2, msg), FM_OK, "%s", msg);
    fm_params_init(p, 3);
    const int64_t count = p->count;
    double *curvature = fm_test_uniform_range(count, 11, 0.1, 10);
    double *center = fm_test_uniform_range(count, 12, -2, 2);
    fm_adamw opt;
    fm_adamw_default(&opt);
    opt.weight_decay = 0;
    double start = 0;
    for (int t = 0; t < 2; t++)
        for (int64_t e = 0; e < fm_params_size(p, t); e++) {
            const int64_t at = p->offsets[t] + e;
            start = fmax(start, fabs(p->values[at] - center[at]));
        }
    cr_assert_gt(start, 1, "the start is already near the minimum (%g)", start);
    const int epochs = 4, steps = 500;
    int64_t step = 0;
    for (int epoch = 0; epoch < epochs; epoch++)
        for (int s = 0; s < steps; s++) {
            fm_params_zero_grads(p);
            for (int t = 0; t < 2; t++)
                for (int64_t e = 0; e < fm_params_size(p, t); e++) {
                    const int64_t at = p->offsets[t] + e;
                    p->grads[at] = (float)(curvature[at] * (p->values[at] - center[at]));
                }
            const double rate = fm_schedule_rate(0.05, epoch, s, steps);
            cr_assert_eq(fm_adamw_step(p, &opt, ++step, rate, NULL, msg), FM_OK, "%s", msg);
        }
    double worst = 0;
    for (int t = 0; t < 2; t++)
        for (int64_t e = 0; e < fm_params_size(p, t); e++) {
            const int64_t at = p->offsets[t] + e;
            worst = fmax(worst, fabs(p->values[at] - center[at]));
        }
    cr_expect_lt(worst, 1e-3, "after %lld steps the farthest parameter is %g from the minimum (from %g)",
                 (long long)step, worst, start);
    free(curvature);
    free(center);
    fm_params_free(&p);
}

Test(adamw, same_for_any_thread_count)
{
    // large enough (> 32768 elements) for the parallel path
    const fm_tensor_spec specs[3] = { { "a", 300, 200 }, { "bias", 77, 1 }, { "c", 150, 150 } };
    char msg[FM_MSG_LEN];
    const int saved = fm_get_threads();
    fm_params *reference = NULL;
    double reference_norms[3] = { 0 };
    for (int k = 0; k < 3; k++) {
        fm_set_threads(thread_counts[k]);
        fm_params *p = NULL;
        cr_assert_eq(fm_params_new(&p, specs, 3, msg), FM_OK, "%s", msg);
        cr_assert_gt(p->count, 32768);
        fm_params_init(p, 5);
        fm_adamw opt;
        fm_adamw_default(&opt);
        opt.max_grad_norm = 10;
        double step_norms[3];
        for (int step = 1; step <= 3; step++) {
            double *g = fm_test_uniform_range(p->count, 100 + step, -1, 1);
            for (int t = 0; t < 3; t++)
                for (int64_t e = 0; e < fm_params_size(p, t); e++) {
                    const int64_t at = p->offsets[t] + e;
                    p->grads[at] = (float)g[at];
                }
            free(g);
            cr_assert_eq(fm_adamw_step(p, &opt, step, 1e-3, &step_norms[step - 1], msg), FM_OK, "%s", msg);
            cr_assert_gt(step_norms[step - 1], 10, "the clipping path is not exercised");
        }
        if (k == 0) {
            reference = p;
            memcpy(reference_norms, step_norms, sizeof step_norms);
            continue;
        }
        const size_t bytes = sizeof(float) * (size_t)p->count;
        cr_expect(memcmp(p->values, reference->values, bytes) == 0, "values differ at %d threads", thread_counts[k]);
        cr_expect(memcmp(p->m, reference->m, bytes) == 0, "m differs at %d threads", thread_counts[k]);
        cr_expect(memcmp(p->v, reference->v, bytes) == 0, "v differs at %d threads", thread_counts[k]);
        for (int s = 0; s < 3; s++)
            cr_expect_eq(step_norms[s], reference_norms[s], "the norm at step %d differs at %d threads", s + 1,
                         thread_counts[k]);
        fm_params_free(&p);
    }
    fm_set_threads(saved);
    fm_params_free(&reference);
}

Test(adamw, grad_norm_is_the_l2_norm)
{
    const fm_tensor_spec specs[2] = { { "a", 400, 100 }, { "b", 9, 1 } };
    fm_params *p = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_params_new(&p, specs, 2, msg), FM_OK, "%s", msg);
    double *g = fm_test_uniform_range(p->count, 77, -1, 1);
    double sum = 0;
    for (int t = 0; t < 2; t++)
        for (int64_t e = 0; e < fm_params_size(p, t); e++) {
            const int64_t at = p->offsets[t] + e;
            p->grads[at] = (float)g[at];
            sum += (double)p->grads[at] * p->grads[at];
        }
    const double norm = fm_optim_grad_norm(p);
    cr_expect(fabs(norm - sqrt(sum)) <= 1e-12 * sqrt(sum), "norm %.17g, expected %.17g", norm, sqrt(sum));
    free(g);
    fm_params_free(&p);
}

Test(adamw, a_nonfinite_gradient_changes_nothing)
{
    const float bad[2] = { NAN, INFINITY };
    for (int b = 0; b < 2; b++) {
        fm_params *p = small_block();
        char msg[FM_MSG_LEN] = "";
        fm_adamw opt;
        fm_adamw_default(&opt);
        for (int e = 0; e < 7; e++) {
            p->values[small_offset(p, e)] = (float)initial_values[e];
            p->grads[small_offset(p, e)] = (float)gradients[0][e];
        }
        p->grads[small_offset(p, 5)] = bad[b];
        float before[4 * 32];
        cr_assert_leq(4 * p->count, 4 * 32);
        memcpy(before, p->values, sizeof(float) * 4 * p->count);
        double norm = 0;
        cr_expect_eq(fm_adamw_step(p, &opt, 1, 0.01, &norm, msg), FM_ERR_NUMERIC);
        cr_expect(strstr(msg, "gradient norm") != NULL, "message: %s", msg);
        cr_expect(!isfinite(norm));
        cr_expect(memcmp(before, p->values, sizeof(float) * 4 * p->count) == 0, "the block changed");
        fm_params_free(&p);
    }
}

Test(adamw, refuses_bad_arguments)
{
    fm_params *p = small_block();
    char msg[FM_MSG_LEN];
    fm_adamw opt;
    fm_adamw_default(&opt);
    cr_expect_eq(fm_adamw_step(NULL, &opt, 1, 0.01, NULL, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_adamw_step(p, NULL, 1, 0.01, NULL, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_adamw_step(p, &opt, 0, 0.01, NULL, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "step 0") != NULL, "message: %s", msg);
    cr_expect_eq(fm_adamw_step(p, &opt, 1, -0.01, NULL, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_adamw_step(p, &opt, 1, NAN, NULL, msg), FM_ERR_INVALID);
    const fm_adamw bad[] = {
        { 1.0, 0.999, 1e-8, 0.01, false, 0 }, { 0.9, -0.1, 1e-8, 0.01, false, 0 },
        { 0.9, 0.999, 0, 0.01, false, 0 },    { 0.9, 0.999, 1e-8, -1, false, 0 },
        { 0.9, 0.999, 1e-8, 0.01, false, -1 },
    };
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
        cr_expect_eq(fm_adamw_step(p, &bad[b], 1, 0.01, NULL, msg), FM_ERR_INVALID, "options %zu accepted", b);
    cr_expect_eq(fm_adamw_step(p, &opt, 1, 0.01, NULL, msg), FM_OK, "%s", msg);
    fm_params_free(&p);
}

//------------------------------------------------------------------------------
// Schedules
//------------------------------------------------------------------------------

Test(schedule, each_epoch_starts_at_the_decayed_peak)
{
    const double initial = 3e-4;
    double peak = initial;
    for (int epoch = 0; epoch < 15; epoch++) {
        const double rate = fm_schedule_rate(initial, epoch, 0, 1000);
        cr_expect(fabs(rate - peak) <= 1e-12 * peak, "epoch %d starts at %.17g, expected %.17g", epoch, rate,
                  peak);
        peak *= 0.9;
    }
}

Test(schedule, each_epoch_ends_near_zero)
{
    const double initial = 1e-3;
    const int64_t steps[] = { 1, 2, 7, 1000, 15000 };
    for (int epoch = 0; epoch < 15; epoch += 7)
        for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
            const int64_t S = steps[k];
            const double peak = initial * pow(0.9, epoch);
            cr_expect(fabs(fm_schedule_rate(initial, epoch, S, S)) <= 1e-15 * peak, "the end of epoch %d is not 0", epoch);
            const double last = fm_schedule_rate(initial, epoch, S - 1, S);
            const double bound = peak * (1 - cos(M_PI / (double)S)) / 2;   // ≈ peak·π²/(4S²)
            cr_expect(fabs(last - bound) <= 1e-9 * peak, "last step of %lld: %.17g, expected %.17g", (long long)S,
                      last, bound);
            if (S >= 1000) cr_expect_lt(last, 1e-5 * peak, "the last step's rate %g is not near 0", last);
        }
}

Test(schedule, falls_strictly_within_an_epoch_and_restarts)
{
    const double initial = 1e-3;
    const int64_t steps[] = { 1, 2, 7, 1000 };
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        const int64_t S = steps[k];
        for (int epoch = 0; epoch < 4; epoch++) {
            double previous = INFINITY;
            for (int64_t s = 0; s <= S; s++) {
                const double rate = fm_schedule_rate(initial, epoch, s, S);
                cr_assert_lt(rate, previous, "epoch %d, step %lld of %lld: %g after %g", epoch, (long long)s,
                             (long long)S, rate, previous);
                previous = rate;
            }
            const double restart = fm_schedule_rate(initial, epoch + 1, 0, S);
            if (S >= 2)   // one step per epoch: every step is an epoch's peak
                cr_expect_gt(restart, fm_schedule_rate(initial, epoch, S - 1, S), "no restart after epoch %d (S = %lld)",
                             epoch, (long long)S);
            cr_expect(fabs(restart - 0.9 * fm_schedule_rate(initial, epoch, 0, S)) <= 1e-15,
                      "the restart after epoch %d is not 0.9 of the previous peak", epoch);
        }
    }
}

Test(schedule, follows_a_half_cosine)
{
    const double initial = 2.0;
    // the quarter point of a half cosine is (1 + cos(π/4))/2 ≈ 0.854 of the
    // peak (a linear fall would give 0.75), the middle is half of it
    cr_expect(fabs(fm_schedule_rate(initial, 0, 250, 1000) - (1 + sqrt(0.5))) <= 1e-12);
    cr_expect(fabs(fm_schedule_rate(initial, 0, 500, 1000) - 1.0) <= 1e-12);
    cr_expect(fabs(fm_schedule_rate(initial, 2, 750, 1000) - 0.81 * (1 - sqrt(0.5))) <= 1e-12);
}

Test(schedule, rate_refuses_bad_arguments)
{
    cr_expect(isnan(fm_schedule_rate(-1e-3, 0, 0, 10)));
    cr_expect(isnan(fm_schedule_rate(INFINITY, 0, 0, 10)));
    cr_expect(isnan(fm_schedule_rate(1e-3, -1, 0, 10)));
    cr_expect(isnan(fm_schedule_rate(1e-3, 0, -1, 10)));
    cr_expect(isnan(fm_schedule_rate(1e-3, 0, 11, 10)));
    cr_expect(isnan(fm_schedule_rate(1e-3, 0, 0, 0)));
    cr_expect_eq(fm_schedule_rate(0, 3, 2, 10), 0);
}

Test(schedule, acceleration_curriculum)
{
    const int expected[11] = { 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 5 };
    for (int epoch = 0; epoch < 11; epoch++)
        cr_expect_eq(fm_schedule_accel_steps(epoch), expected[epoch], "epoch %d: T = %d, expected %d", epoch,
                     fm_schedule_accel_steps(epoch), expected[epoch]);
    cr_expect_eq(fm_schedule_accel_steps(14), 5);
    cr_expect_eq(fm_schedule_accel_steps(1000), 5);
    cr_expect_eq(fm_schedule_accel_steps(-1), 0);
}

//------------------------------------------------------------------------------
// Training data
//------------------------------------------------------------------------------

#define SEED 2024
#define RANK 5

typedef struct generated {
    int64_t rows, cols;
    float *X, *W, *H;
} generated;

static generated generate(fm_train_set set, int64_t index, int64_t set_size, int rank, uint64_t seed)
{
    generated m = { 0 };
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_train_shape(&m.rows, &m.cols, set, index, set_size, 1, seed, msg), FM_OK, "%s", msg);
    m.X = malloc(sizeof(float) * m.rows * m.cols);
    m.W = malloc(sizeof(float) * m.rows * rank);
    m.H = malloc(sizeof(float) * rank * m.cols);
    cr_assert(m.X && m.W && m.H);
    cr_assert_eq(fm_train_fill(m.X, m.W, m.H, set, index, set_size, rank, seed, msg), FM_OK, "%s", msg);
    return m;
}

static void generated_free(generated *m)
{
    free(m->X);
    free(m->W);
    free(m->H);
    *m = (generated){ 0 };
}

static bool same(const generated *a, const generated *b, int rank)
{
    return a->rows == b->rows && a->cols == b->cols &&
           memcmp(a->X, b->X, sizeof(float) * a->rows * a->cols) == 0 &&
           memcmp(a->W, b->W, sizeof(float) * a->rows * rank) == 0 &&
           memcmp(a->H, b->H, sizeof(float) * rank * a->cols) == 0;
}

// (W H)_ij in double, summed over r in order, as the generator does.
static double product(const generated *m, int rank, int64_t i, int64_t j)
{
    double x = 0;
    for (int r = 0; r < rank; r++) x += (double)m->W[i * rank + r] * m->H[r * m->cols + j];
    return x;
}

static fm_shape_class class_of(fm_train_set set, int64_t index, int64_t set_size, uint64_t seed)
{
    fm_shape_class shape = FM_SHAPE_CLASSES;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_train_class(&shape, set, index, set_size, seed, msg), FM_OK, "%s", msg);
    return shape;
}

Test(train_data, class_proportions_are_exact)
{
    // 15 000 as in §7, and sizes whose shares are not whole
    const int64_t sizes[] = { FM_TRAIN_SIZE, 1000, 29, 3, 1 };
    const int64_t expected[][FM_SHAPE_CLASSES] = {
        { 10000, 2000, 1500, 1500 }, { 666, 134, 100, 100 }, { 19, 4, 3, 3 }, { 2, 0, 0, 1 }, { 0, 0, 0, 1 },
    };
    char msg[FM_MSG_LEN];
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int64_t counted[FM_SHAPE_CLASSES] = { 0 }, formula[FM_SHAPE_CLASSES];
        for (int64_t i = 0; i < sizes[k]; i++) counted[class_of(FM_SET_TRAIN, i, sizes[k], SEED)]++;
        cr_assert_eq(fm_train_class_counts(formula, FM_SET_TRAIN, sizes[k], msg), FM_OK, "%s", msg);
        for (int c = 0; c < FM_SHAPE_CLASSES; c++) {
            cr_expect_eq(counted[c], expected[k][c], "N = %lld, class %s: %lld matrices, expected %lld",
                         (long long)sizes[k], fm_shape_class_name(c), (long long)counted[c],
                         (long long)expected[k][c]);
            cr_expect_eq(formula[c], expected[k][c], "N = %lld, class %s: counts say %lld", (long long)sizes[k],
                         fm_shape_class_name(c), (long long)formula[c]);
        }
    }
    // another seed: another order, the same counts
    int64_t counted[FM_SHAPE_CLASSES] = { 0 };
    int differ = 0;
    for (int64_t i = 0; i < FM_TRAIN_SIZE; i++) {
        const fm_shape_class c = class_of(FM_SET_TRAIN, i, FM_TRAIN_SIZE, SEED + 1);
        counted[c]++;
        differ += c != class_of(FM_SET_TRAIN, i, FM_TRAIN_SIZE, SEED);
    }
    cr_expect(counted[0] == 10000 && counted[1] == 2000 && counted[2] == 1500 && counted[3] == 1500);
    cr_expect_gt(differ, 1000, "the order hardly depends on the seed (%d of 15000 differ)", differ);
    int64_t valid[FM_SHAPE_CLASSES];
    cr_assert_eq(fm_train_class_counts(valid, FM_SET_VALID_LARGE, FM_VALID_SIZE, msg), FM_OK, "%s", msg);
    cr_expect(valid[0] == 0 && valid[1] == FM_VALID_SIZE && valid[2] == 0 && valid[3] == 0);
}

Test(train_data, classes_are_spread_over_the_indices)
{
    // every stretch of 1500 indices holds about 1000 small matrices (the
    // deviation of a random permutation is about 17), and all four classes
    for (int64_t start = 0; start < FM_TRAIN_SIZE; start += 1500) {
        int64_t counted[FM_SHAPE_CLASSES] = { 0 };
        for (int64_t i = start; i < start + 1500; i++) counted[class_of(FM_SET_TRAIN, i, FM_TRAIN_SIZE, SEED)]++;
        cr_expect(llabs(counted[FM_SHAPE_SMALL] - 1000) <= 120, "indices %lld..: %lld small", (long long)start,
                  (long long)counted[FM_SHAPE_SMALL]);
        for (int c = 1; c < FM_SHAPE_CLASSES; c++)
            cr_expect_gt(counted[c], 100, "indices %lld..: %lld %s", (long long)start, (long long)counted[c],
                         fm_shape_class_name(c));
    }
    int64_t first[FM_SHAPE_CLASSES] = { 0 };
    for (int64_t i = 0; i < 60; i++) first[class_of(FM_SET_TRAIN, i, FM_TRAIN_SIZE, SEED)]++;
    cr_expect_lt(first[FM_SHAPE_SMALL], 60, "the first 60 matrices are all small");
}

Test(train_data, shapes_fill_their_class_ranges)
{
    char msg[FM_MSG_LEN];
    fm_shape_range seen[FM_SHAPE_CLASSES];
    for (int c = 0; c < FM_SHAPE_CLASSES; c++) seen[c] = (fm_shape_range){ INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN };
    for (int64_t i = 0; i < FM_TRAIN_SIZE; i++) {
        const fm_shape_class c = class_of(FM_SET_TRAIN, i, FM_TRAIN_SIZE, SEED);
        int64_t rows, cols;
        cr_assert_eq(fm_train_shape(&rows, &cols, FM_SET_TRAIN, i, FM_TRAIN_SIZE, 1, SEED, msg), FM_OK, "%s", msg);
        fm_shape_range *s = &seen[c];
        s->min_rows = rows < s->min_rows ? rows : s->min_rows;
        s->max_rows = rows > s->max_rows ? rows : s->max_rows;
        s->min_cols = cols < s->min_cols ? cols : s->min_cols;
        s->max_cols = cols > s->max_cols ? cols : s->max_cols;
    }
    // §7's bounds, written out here rather than read from the library
    const fm_shape_range expected[FM_SHAPE_CLASSES] = {
        { 10, 30, 10, 30 }, { 30, 70, 30, 70 }, { 30, 100, 10, 35 }, { 10, 35, 30, 100 } };
    for (int c = 0; c < FM_SHAPE_CLASSES; c++) {
        const fm_shape_range r = fm_train_range(c), s = seen[c], e = expected[c];
        cr_expect(r.min_rows == e.min_rows && r.max_rows == e.max_rows && r.min_cols == e.min_cols &&
                  r.max_cols == e.max_cols, "class %s has other bounds", fm_shape_class_name(c));
        // 1500 draws or more per class: every bound is reached, none passed
        cr_expect(s.min_rows == e.min_rows && s.max_rows == e.max_rows && s.min_cols == e.min_cols &&
                  s.max_cols == e.max_cols,
                  "class %s: rows %lld..%lld, cols %lld..%lld seen; expected %lld..%lld x %lld..%lld",
                  fm_shape_class_name(c), (long long)s.min_rows, (long long)s.max_rows, (long long)s.min_cols,
                  (long long)s.max_cols, (long long)e.min_rows, (long long)e.max_rows, (long long)e.min_cols,
                  (long long)e.max_cols);
    }
    const fm_train_set sets[2] = { FM_SET_VALID_SMALL, FM_SET_VALID_LARGE };
    for (int k = 0; k < 2; k++)
        for (int64_t i = 0; i < FM_VALID_SIZE; i++) {
            const fm_shape_range e = expected[k == 0 ? FM_SHAPE_SMALL : FM_SHAPE_LARGE];
            int64_t rows, cols;
            cr_assert_eq(fm_train_shape(&rows, &cols, sets[k], i, FM_VALID_SIZE, 1, SEED, msg), FM_OK, "%s", msg);
            cr_expect(rows >= e.min_rows && rows <= e.max_rows && cols >= e.min_cols && cols <= e.max_cols,
                      "%s matrix %lld is %lld x %lld", fm_train_set_name(sets[k]), (long long)i, (long long)rows,
                      (long long)cols);
        }
}

// Up to rank 10 every class keeps its ranges (the same draws as rank 1);
// above, a class's ranges shift up so that both sides are at least the rank.
Test(train_data, ranges_shift_up_to_the_rank)
{
    char msg[FM_MSG_LEN];
    const fm_train_set sets[3] = { FM_SET_TRAIN, FM_SET_VALID_SMALL, FM_SET_VALID_LARGE };
    for (int k = 0; k < 3; k++)
        for (int64_t i = 0; i < 64; i++) {
            int64_t rows1, cols1, rows10, cols10, rows40, cols40;
            cr_assert_eq(fm_train_shape(&rows1, &cols1, sets[k], i, 64, 1, SEED, msg), FM_OK, "%s", msg);
            cr_assert_eq(fm_train_shape(&rows10, &cols10, sets[k], i, 64, 10, SEED, msg), FM_OK, "%s", msg);
            cr_assert_eq(fm_train_shape(&rows40, &cols40, sets[k], i, 64, 40, SEED, msg), FM_OK, "%s", msg);
            cr_expect(rows10 == rows1 && cols10 == cols1, "%s %lld: rank 10 changed the shape",
                      fm_train_set_name(sets[k]), (long long)i);
            fm_shape_class c;
            cr_assert_eq(fm_train_class(&c, sets[k], i, 64, SEED, msg), FM_OK, "%s", msg);
            const fm_shape_range r = fm_train_range(c);
            // the same draw within the shifted range
            const int64_t up_rows = 40 > r.min_rows ? 40 - r.min_rows : 0, up_cols = 40 > r.min_cols ? 40 - r.min_cols : 0;
            cr_expect(rows40 == rows1 + up_rows && cols40 == cols1 + up_cols,
                      "%s %lld: %lld x %lld at rank 1, %lld x %lld at rank 40", fm_train_set_name(sets[k]),
                      (long long)i, (long long)rows1, (long long)cols1, (long long)rows40, (long long)cols40);
            cr_expect(rows40 >= 40 && cols40 >= 40);
        }
}

Test(train_data, reproducible_from_seed_set_and_index)
{
    generated a = generate(FM_SET_TRAIN, 17, FM_TRAIN_SIZE, RANK, SEED);
    generated b = generate(FM_SET_TRAIN, 17, FM_TRAIN_SIZE, RANK, SEED);
    cr_expect(same(&a, &b, RANK), "the same matrix came out twice differently");
    generated other_seed = generate(FM_SET_TRAIN, 17, FM_TRAIN_SIZE, RANK, SEED + 1);
    cr_expect_not(same(&a, &other_seed, RANK), "the seed does not matter");
    generated other_index = generate(FM_SET_TRAIN, 18, FM_TRAIN_SIZE, RANK, SEED);
    cr_expect_not(same(&a, &other_index, RANK), "the index does not matter");
    // a small training matrix against the same index of the small validation set
    int64_t small = 0;
    while (class_of(FM_SET_TRAIN, small, FM_TRAIN_SIZE, SEED) != FM_SHAPE_SMALL) small++;
    generated train = generate(FM_SET_TRAIN, small, FM_TRAIN_SIZE, RANK, SEED);
    generated valid = generate(FM_SET_VALID_SMALL, small, FM_VALID_SIZE, RANK, SEED);
    cr_expect_neq(train.W[0], valid.W[0], "the set does not matter");
    generated_free(&a);
    generated_free(&b);
    generated_free(&other_seed);
    generated_free(&other_index);
    generated_free(&train);
    generated_free(&valid);
}

#define ORDER_COUNT 48

Test(train_data, independent_of_order_and_thread_count)
{
    const fm_train_set sets[3] = { FM_SET_TRAIN, FM_SET_VALID_SMALL, FM_SET_VALID_LARGE };
    const int64_t sizes[3] = { FM_TRAIN_SIZE, FM_VALID_SIZE, FM_VALID_SIZE };
    const int saved = fm_get_threads();
    for (int k = 0; k < 3; k++) {
        generated forward[ORDER_COUNT];
        for (int64_t i = 0; i < ORDER_COUNT; i++) forward[i] = generate(sets[k], i, sizes[k], RANK, SEED);
        for (int64_t i = ORDER_COUNT - 1; i >= 0; i--) {
            generated backward = generate(sets[k], i, sizes[k], RANK, SEED);
            cr_expect(same(&backward, &forward[i], RANK), "%s matrix %lld depends on the order",
                      fm_train_set_name(sets[k]), (long long)i);
            generated_free(&backward);
        }
        for (int t = 0; t < 3; t++) {
            fm_set_threads(thread_counts[t]);
            generated parallel[ORDER_COUNT];
            int failures = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : failures)
            for (int64_t i = 0; i < ORDER_COUNT; i++) {
                generated *m = &parallel[i];
                *m = (generated){ 0 };
                char own[FM_MSG_LEN];
                failures += fm_train_shape(&m->rows, &m->cols, sets[k], i, sizes[k], 1, SEED, own) != FM_OK;
                m->X = malloc(sizeof(float) * m->rows * m->cols);
                m->W = malloc(sizeof(float) * m->rows * RANK);
                m->H = malloc(sizeof(float) * RANK * m->cols);
                failures += fm_train_fill(m->X, m->W, m->H, sets[k], i, sizes[k], RANK, SEED, own) != FM_OK;
            }
            cr_expect_eq(failures, 0);
            for (int64_t i = 0; i < ORDER_COUNT; i++) {
                cr_expect(same(&parallel[i], &forward[i], RANK), "%s matrix %lld differs with %d threads",
                          fm_train_set_name(sets[k]), (long long)i, thread_counts[t]);
                generated_free(&parallel[i]);
            }
        }
        for (int64_t i = 0; i < ORDER_COUNT; i++) generated_free(&forward[i]);
    }
    fm_set_threads(saved);
}

Test(train_data, the_mean_of_w_h_is_one)
{
    // Per-matrix means of W H are independent across matrices; their average
    // must lie within 5 standard errors of 1 (a false alarm about once in
    // 10^6 seeds), and the standard error must be small enough for that to
    // mean something (a λ off by 10% moves the mean by 20%).
    const int ranks[3] = { 1, 5, 10 };
    const int64_t count = 600;
    for (int k = 0; k < 3; k++) {
        double sum = 0, sumsq = 0;
        for (int64_t i = 0; i < count; i++) {
            generated m = generate(FM_SET_TRAIN, i, FM_TRAIN_SIZE, ranks[k], SEED);
            double mean = 0;
            for (int64_t r = 0; r < m.rows; r++)
                for (int64_t c = 0; c < m.cols; c++) mean += product(&m, ranks[k], r, c);
            mean /= (double)(m.rows * m.cols);
            sum += mean;
            sumsq += mean * mean;
            generated_free(&m);
        }
        const double mean = sum / count, sd = sqrt((sumsq - count * mean * mean) / (count - 1));
        const double stderr_ = sd / sqrt((double)count);
        cr_expect_lt(stderr_, 0.02, "rank %d: standard error %g is too large for the test", ranks[k], stderr_);
        cr_expect(fabs(mean - 1) < 5 * stderr_, "rank %d: mean of W H %.4f over %lld matrices (standard error %.4f)",
                  ranks[k], mean, (long long)count, stderr_);
    }
}

Test(train_data, training_noise_has_the_chosen_deviation)
{
    // Where W H > 0.5 (10 σ) clipping never acts: X − W H is the noise itself.
    double sum = 0, sumsq = 0;
    int64_t n = 0;
    for (int64_t i = 0; i < 100; i++) {
        generated m = generate(FM_SET_TRAIN, i, FM_TRAIN_SIZE, RANK, SEED);
        for (int64_t r = 0; r < m.rows; r++)
            for (int64_t c = 0; c < m.cols; c++) {
                const double clean = product(&m, RANK, r, c);
                if (clean <= 0.5) continue;
                const double noise = m.X[r * m.cols + c] - clean;
                sum += noise;
                sumsq += noise * noise;
                n++;
            }
        generated_free(&m);
    }
    cr_assert_gt(n, 20000);
    const double mean = sum / n, sd = sqrt(sumsq / n - mean * mean);
    // standard errors: 0.05/sqrt(n) < 0.00036 for the mean, 0.05/sqrt(2n) < 0.00025 for σ
    cr_expect_lt(fabs(mean), 0.002, "the noise has mean %g", mean);
    cr_expect_lt(fabs(sd - FM_TRAIN_NOISE), 0.002, "the noise has deviation %g, expected %g", sd, FM_TRAIN_NOISE);
}

Test(train_data, validation_is_noise_free)
{
    const fm_train_set sets[2] = { FM_SET_VALID_SMALL, FM_SET_VALID_LARGE };
    for (int k = 0; k < 2; k++)
        for (int64_t i = 0; i < FM_VALID_SIZE; i++) {
            generated m = generate(sets[k], i, FM_VALID_SIZE, RANK, SEED);
            int64_t wrong = 0;
            for (int64_t r = 0; r < m.rows; r++)
                for (int64_t c = 0; c < m.cols; c++) wrong += m.X[r * m.cols + c] != (float)product(&m, RANK, r, c);
            cr_expect_eq(wrong, 0, "%s matrix %lld: %lld entries are not (W H)_ij", fm_train_set_name(sets[k]),
                         (long long)i, (long long)wrong);
            generated_free(&m);
        }
}

Test(train_data, entries_are_nonnegative_and_clipped)
{
    // rank 1: W H is often below the noise, so clipping has work to do
    int64_t zeros = 0, negative = 0;
    for (int64_t i = 0; i < 200; i++) {
        generated m = generate(FM_SET_TRAIN, i, FM_TRAIN_SIZE, 1, SEED);
        for (int64_t e = 0; e < m.rows * m.cols; e++) {
            negative += !(m.X[e] >= 0);
            zeros += m.X[e] == 0;
        }
        generated_free(&m);
    }
    cr_expect_eq(negative, 0, "%lld entries are negative or NaN", (long long)negative);
    cr_expect_gt(zeros, 0, "nothing was clipped: the test saw no negative noise to clip");
}

Test(train_data, graph_holds_the_generated_matrix)
{
    char msg[FM_MSG_LEN];
    for (int64_t i = 0; i < 4; i++) {
        generated m = generate(FM_SET_TRAIN, i, FM_TRAIN_SIZE, RANK, SEED);
        fm_graph *g = NULL;
        fm_dense *W = NULL, *H = NULL;
        cr_assert_eq(fm_train_matrix(&g, &W, &H, NULL, NULL, FM_SET_TRAIN, i, FM_TRAIN_SIZE, RANK, SEED, msg), FM_OK, "%s", msg);
        fm_graph_stats stats;
        fm_graph_stats_get(g, &stats);
        cr_expect_eq(stats.kind, FM_KIND_DENSE);
        cr_expect(stats.rows == m.rows && stats.cols == m.cols);
        double sum = 0;
        for (int64_t e = 0; e < m.rows * m.cols; e++) sum += m.X[e];
        cr_expect(fabs(stats.sum - sum) <= 1e-6 * sum, "the graph sums to %g, the matrix to %g", stats.sum, sum);
        cr_expect(W->rows == m.rows && W->cols == RANK && H->rows == RANK && H->cols == m.cols);
        cr_expect(memcmp(W->data, m.W, sizeof(float) * m.rows * RANK) == 0);
        cr_expect(memcmp(H->data, m.H, sizeof(float) * RANK * m.cols) == 0);
        fm_graph_free(&g);
        fm_dense_free(&W);
        fm_dense_free(&H);
        // the factors are optional
        cr_assert_eq(fm_train_matrix(&g, NULL, NULL, NULL, NULL, FM_SET_TRAIN, i, FM_TRAIN_SIZE, RANK, SEED, msg), FM_OK, "%s", msg);
        fm_graph_free(&g);
        generated_free(&m);
    }
}

Test(train_data, refuses_bad_arguments)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL;
    int64_t rows, cols;
    fm_shape_class shape;
    cr_expect_eq(fm_train_shape(&rows, &cols, FM_SET_TRAIN, FM_TRAIN_SIZE, FM_TRAIN_SIZE, 1, SEED, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "index 15000") != NULL, "message: %s", msg);
    cr_expect_eq(fm_train_shape(&rows, &cols, FM_SET_TRAIN, -1, FM_TRAIN_SIZE, 1, SEED, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_train_class(&shape, FM_SET_TRAIN, 0, 0, SEED, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_train_class(&shape, (fm_train_set)7, 0, 10, SEED, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_train_matrix(&g, NULL, NULL, NULL, NULL, FM_SET_TRAIN, 0, FM_TRAIN_SIZE, 0, SEED, msg), FM_ERR_INVALID);
    cr_expect_null(g);
    cr_expect_eq(fm_train_matrix(NULL, NULL, NULL, NULL, NULL, FM_SET_TRAIN, 0, FM_TRAIN_SIZE, RANK, SEED, msg), FM_ERR_INVALID);
    fm_dense *W = NULL;
    cr_assert_eq(fm_dense_new(&W, 1, 1, msg), FM_OK, "%s", msg);
    cr_expect_eq(fm_train_matrix(&g, &W, NULL, NULL, NULL, FM_SET_TRAIN, 0, FM_TRAIN_SIZE, RANK, SEED, msg), FM_ERR_INVALID);
    cr_expect_null(g);
    fm_dense_free(&W);
    float X[1], Wd[1], Hd[1];
    cr_expect_eq(fm_train_fill(X, Wd, NULL, FM_SET_TRAIN, 0, FM_TRAIN_SIZE, RANK, SEED, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_train_fill(X, NULL, Hd, FM_SET_TRAIN, 0, FM_TRAIN_SIZE, RANK, SEED, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_train_fill(X, Wd, Hd, FM_SET_TRAIN, 0, FM_TRAIN_SIZE, 0, SEED, msg), FM_ERR_INVALID);
}
