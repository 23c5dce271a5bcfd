// The optimizer and the schedules of training (§7), which stand alone (the
// synthetic training matrices: tests/test_train_data.c):
//   - AdamW (models/train/optim) against a two-step reference computed by hand in
//     double (bias correction, decoupled weight decay on matrices only or on
//     everything, clipping), on a quadratic, for any thread count, and its
//     refusals;
//   - the learning-rate schedule and the acceleration curriculum
//     (models/train/schedule) at epoch and step boundaries.
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

TestSuite(adamw, .init = fm_test_setup);
TestSuite(schedule);

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

// A step refused as not finite changes nothing, values and moments alike: a
// gradient that is not finite, one whose square leaves float's range (v =
// (1 − β2) g² = 1e39 > FLT_MAX), or a rate whose step does (g = 1 at 1e39).
// fm_adamw_try_step takes the refusal as a skip; the block then steps at an
// ordinary gradient and rate.
Test(adamw, a_refused_step_changes_nothing)
{
    const struct {
        float g;
        double rate;
        const char *why;
    } cases[4] = {{NAN, 0.01, "gradient norm"}, {INFINITY, 0.01, "gradient norm"},
                  {1e21f, 0.01, "beyond float's range"}, {1.0f, 1e39, "beyond float's range"}};
    for (int c = 0; c < 4; c++) {
        fm_params *p = small_block();
        char msg[FM_MSG_LEN] = "";
        fm_adamw opt;
        fm_adamw_default(&opt);
        for (int e = 0; e < 7; e++) {
            p->values[small_offset(p, e)] = (float)initial_values[e];
            p->grads[small_offset(p, e)] = (float)gradients[0][e];
        }
        p->grads[small_offset(p, 5)] = cases[c].g;
        float before[4 * 32];
        cr_assert_leq(4 * p->count, 4 * 32);
        memcpy(before, p->values, sizeof(float) * 4 * p->count);
        double norm = 0;
        cr_expect_eq(fm_adamw_step(p, &opt, 1, cases[c].rate, &norm, msg), FM_ERR_NUMERIC, "case %d", c);
        cr_expect(strstr(msg, cases[c].why) != NULL, "case %d: %s", c, msg);
        cr_expect(isfinite(norm) == (c >= 2), "case %d: norm %g", c, norm);
        cr_expect(memcmp(before, p->values, sizeof(float) * 4 * p->count) == 0, "case %d: the block changed", c);
        bool taken = true;
        cr_expect_eq(fm_adamw_try_step(p, &opt, 1, cases[c].rate, &taken, msg), FM_OK, "case %d", c);
        cr_expect(!taken && msg[0] == 0, "case %d: taken %d, message %s", c, taken, msg);
        cr_expect(memcmp(before, p->values, sizeof(float) * 4 * p->count) == 0, "case %d: the skip wrote", c);
        p->grads[small_offset(p, 5)] = c == 2 ? 1e18f : 1.0f;   // 1e18: v = 1e33, in range
        cr_expect_eq(fm_adamw_try_step(p, &opt, 1, 0.01, &taken, msg), FM_OK, "case %d: %s", c, msg);
        cr_expect(taken, "case %d", c);
        cr_expect(memcmp(before, p->values, sizeof(float) * p->count) != 0, "case %d: nothing moved", c);
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
