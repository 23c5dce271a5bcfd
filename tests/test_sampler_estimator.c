// The estimator of §8 (engine/sampler's fm_sampler_estimate,
// docs/factormer-math.md) over the samplers' draws: the inclusion-corrected
// sums are unbiased, within a bound that shrinks with the number of draws,
// tight enough that a wrong π fails it; the attention output's error falls
// with the fanout, to zero once every edge is kept; and one estimate by hand.
// π itself against its reference: tests/test_sampler.c.
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "helpers.h"
#include "rng.h"
#include "sampler.h"
#include "sampler_fixtures.h"

TestSuite(sampler_estimator, .init = fm_test_setup);

enum { WIDTH = 2 };

// Per-pair scores and per-source value directions: the value of edge (t, s)
// is x_ts · g_s, 0 for an unstored position.
typedef struct attention_case {
    const fm_edges *edges;
    fm_kind kind;
    double *scores;    // targets × sources
    double *g;         // sources × WIDTH
} attention_case;

static attention_case case_new(const fm_edges *e, fm_kind kind, uint64_t seed, double score_sd)
{
    attention_case c = { e, kind, NULL, NULL };
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    c.scores = malloc(sizeof(double) * e->targets * e->sources);
    c.g = malloc(sizeof(double) * e->sources * WIDTH);
    cr_assert(c.scores && c.g);
    for (int64_t k = 0; k < e->targets * e->sources; k++) c.scores[k] = score_sd * fm_rng_normal(rng, (uint64_t)k);
    for (int64_t k = 0; k < e->sources * WIDTH; k++) c.g[k] = fm_rng_normal(rng, (uint64_t)(1 << 30) + (uint64_t)k);
    return c;
}

static void case_free(attention_case *c)
{
    free(c->scores);
    free(c->g);
}

static double edge_x(const fm_edges *e, int64_t t, GrB_Index source)
{
    const int64_t position = smp_stored_position(e, t, source);
    return position >= 0 ? e->val[position] : 0.0;
}

// The full-neighbourhood sums of target t, out[0] the denominator, out[1..]
// the numerator: over the stored in-edges, or over every source for the
// stratified sampler (the unstored ones with value 0).
static void full_sums(double out[1 + WIDTH], const attention_case *c, int64_t t, bool all_sources)
{
    const fm_edges *e = c->edges;
    for (int k = 0; k <= WIDTH; k++) out[k] = 0;
    for (int64_t source = 0; source < e->sources; source++) {
        if (!all_sources && smp_stored_position(e, t, (GrB_Index)source) < 0) continue;
        const double w = exp(c->scores[t * e->sources + source]), x = edge_x(e, t, (GrB_Index)source);
        out[0] += w;
        for (int k = 0; k < WIDTH; k++) out[1 + k] += w * x * c->g[source * WIDTH + k];
    }
}

// A π that is wrong in the way a bug would be, for the negative control.
static float wrong_log_pi(const fm_sampled_edges *s, GrB_Index k, const fm_edges *e, int64_t t,
                          const fm_sampler_options *o)
{
    const int64_t d = smp_degree_of(e, t);
    if (s->log_pi[k] == 0) return 0;
    if (smp_stored_position(e, t, s->idx[k]) < 0) return 0;   // stratified: zeros uncorrected
    if (o->strategy == FM_SAMPLER_UNIFORM) return (float)log((double)o->fanout / (double)(d + 1));   // off by one
    if (o->strategy == FM_SAMPLER_WEIGHTED) return (float)log((double)o->fanout / (double)d);   // as if uniform
    return s->log_pi[k];
}

// The estimator's sums over `draws` rounds from `first`, through
// fm_sampler_estimate, against the full sums: the largest |mean − truth| in
// units of the standard error of the mean (the empirical sd over the draws,
// over sqrt(draws)), and the root mean square of (mean − truth) / the
// target's true denominator.
static void sums_against_truth(double *max_z, double *rms, const attention_case *c, const fm_sampler_options *o,
                               int draws, uint64_t first, bool wrong_pi)
{
    const fm_edges *e = c->edges;
    const int64_t targets = e->targets;
    const bool all_sources = o->strategy == FM_SAMPLER_STRATIFIED;
    double *sum = calloc(targets * (1 + WIDTH), sizeof(double)), *sumsq = calloc(targets * (1 + WIDTH), sizeof(double));
    double *scores = malloc(sizeof(double) * e->sources * 2), *values = malloc(sizeof(double) * e->sources * 2 * WIDTH);
    float *log_pi = malloc(sizeof(float) * e->sources * 2);
    cr_assert(sum && sumsq && scores && values && log_pi);
    for (int r = 0; r < draws; r++) {
        fm_sampled_edges *s = smp_draw(e, c->kind, o, first + (uint64_t)r);
        for (int64_t t = 0; t < targets; t++) {
            int64_t n = 0;
            for (GrB_Index k = s->ptr[t]; k < s->ptr[t + 1]; k++, n++) {
                const GrB_Index source = s->idx[k];
                scores[n] = c->scores[t * e->sources + (int64_t)source];
                for (int w = 0; w < WIDTH; w++) values[n * WIDTH + w] = s->val[k] * c->g[source * WIDTH + w];
                log_pi[n] = wrong_pi ? wrong_log_pi(s, k, e, t, o) : s->log_pi[k];
            }
            double estimate[1 + WIDTH];
            fm_sampler_estimate(estimate + 1, estimate, n, WIDTH, scores, log_pi, values, 0);
            for (int k = 0; k <= WIDTH; k++) {
                sum[t * (1 + WIDTH) + k] += estimate[k];
                sumsq[t * (1 + WIDTH) + k] += estimate[k] * estimate[k];
            }
        }
        fm_sampled_edges_free(&s);
    }
    *max_z = 0;
    double squares = 0;
    int64_t terms = 0;
    for (int64_t t = 0; t < targets; t++) {
        double truth[1 + WIDTH];
        full_sums(truth, c, t, all_sources);
        if (truth[0] == 0) continue;   // no edges, nothing to estimate
        for (int k = 0; k <= WIDTH; k++) {
            const double mean = sum[t * (1 + WIDTH) + k] / draws;
            const double variance = fmax(0, sumsq[t * (1 + WIDTH) + k] / draws - mean * mean) * draws / (draws - 1);
            // the floor: log π is stored in float (relative error ~1e-7)
            const double scale = sqrt(variance / draws) + 1e-6 * truth[0];
            *max_z = fmax(*max_z, fabs(mean - truth[k]) / scale);
            squares += pow((mean - truth[k]) / truth[0], 2);
            terms++;
        }
    }
    *rms = sqrt(squares / terms);
    free(sum);
    free(sumsq);
    free(scores);
    free(values);
    free(log_pi);
}

Test(sampler_estimator, estimates_are_unbiased)
{
    const int64_t degrees[] = { 0, 1, 3, 6, 9, 14, 22, 30 };
    smp_graph sparse = smp_graph_new(20, 30, degrees, 8, 101, 0);
    smp_graph observed = smp_graph_new(20, 30, degrees, 8, 102, 4);
    const fm_sampler strategies[] = { FM_SAMPLER_FULL, FM_SAMPLER_UNIFORM, FM_SAMPLER_WEIGHTED, FM_SAMPLER_STRATIFIED };
    for (int si = 0; si < 4; si++) {
        const fm_sampler_options o = smp_options_of(strategies[si], 4, 1);
        const bool weighted = strategies[si] == FM_SAMPLER_WEIGHTED;
        attention_case c = case_new(weighted ? &observed.edges : &sparse.edges,
                                    weighted ? FM_KIND_INCOMPLETE : FM_KIND_SPARSE, 200 + si, 1.0);
        double z_few, rms_few, z_many, rms_many;
        sums_against_truth(&z_few, &rms_few, &c, &o, 200, 1000000, false);
        sums_against_truth(&z_many, &rms_many, &c, &o, 3200, 0, false);
        const char *name = fm_sampler_name(o.strategy);
        cr_log_info("%s: 200 draws: max z %.2f, rms %.4g; 3200 draws: max z %.2f, rms %.4g", name, z_few, rms_few,
                    z_many, rms_many);
        cr_assert_leq(z_few, 5, "%s: a mean over 200 draws is %.2f standard errors off", name, z_few);
        cr_assert_leq(z_many, 5, "%s: a mean over 3200 draws is %.2f standard errors off", name, z_many);
        if (o.strategy == FM_SAMPLER_FULL) {
            cr_assert_leq(rms_many, 1e-6, "full is exact");
        } else {
            // 16 times the draws: the error should fall 4 times
            cr_assert_leq(rms_many, 0.5 * rms_few, "%s: rms %.4g after 3200 draws, %.4g after 200", name, rms_many,
                          rms_few);
            // and the test has the power to see a wrong π
            double z_wrong, rms_wrong;
            sums_against_truth(&z_wrong, &rms_wrong, &c, &o, 3200, 0, true);
            cr_log_info("%s with a wrong pi: max z %.2f, rms %.4g", name, z_wrong, rms_wrong);
            cr_assert_gt(z_wrong, 10, "%s: a wrong pi passes (max z %.2f)", name, z_wrong);
        }
        case_free(&c);
    }
    smp_graph_free(&sparse);
    smp_graph_free(&observed);
}

// The mean over draws and targets of ‖num/den − the full attention‖ / ‖the full attention‖.
static double attention_error(const attention_case *c, const fm_sampler_options *o, int draws)
{
    const fm_edges *e = c->edges;
    const bool all_sources = o->strategy == FM_SAMPLER_STRATIFIED;
    double *scores = malloc(sizeof(double) * e->sources * 2), *values = malloc(sizeof(double) * e->sources * 2 * WIDTH);
    cr_assert(scores && values);
    double total = 0;
    int64_t terms = 0;
    for (int r = 0; r < draws; r++) {
        fm_sampled_edges *s = smp_draw(e, c->kind, o, (uint64_t)r);
        for (int64_t t = 0; t < e->targets; t++) {
            double truth[1 + WIDTH], estimate[1 + WIDTH];
            full_sums(truth, c, t, all_sources);
            int64_t n = 0;
            for (GrB_Index k = s->ptr[t]; k < s->ptr[t + 1]; k++, n++) {
                scores[n] = c->scores[t * e->sources + (int64_t)s->idx[k]];
                for (int w = 0; w < WIDTH; w++) values[n * WIDTH + w] = s->val[k] * c->g[s->idx[k] * WIDTH + w];
            }
            fm_sampler_estimate(estimate + 1, estimate, n, WIDTH, scores, s->log_pi + s->ptr[t], values, 0);
            double diff = 0, norm = 0;
            for (int w = 0; w < WIDTH; w++) {
                const double full = truth[1 + w] / truth[0];
                diff += pow(estimate[1 + w] / estimate[0] - full, 2);
                norm += full * full;
            }
            total += sqrt(diff / norm);
            terms++;
        }
        fm_sampled_edges_free(&s);
    }
    free(scores);
    free(values);
    return total / terms;
}

Test(sampler_estimator, attention_error_falls_with_fanout)
{
    // targets of degree about 64 among 200 sources
    const int64_t degrees[] = { 60, 62, 64, 66, 68, 70 };
    smp_graph sparse = smp_graph_new(40, 200, degrees, 6, 303, 0);
    attention_case c = case_new(&sparse.edges, FM_KIND_SPARSE, 304, 1.0);
    const fm_sampler strategies[] = { FM_SAMPLER_UNIFORM, FM_SAMPLER_WEIGHTED, FM_SAMPLER_STRATIFIED };
    const int64_t fanouts[] = { 2, 4, 8, 16 };
    for (int si = 0; si < 3; si++) {
        const char *name = fm_sampler_name(strategies[si]);
        double previous = INFINITY;
        for (int fi = 0; fi < 4; fi++) {
            const fm_sampler_options o = smp_options_of(strategies[si], fanouts[fi], 1);
            const double error = attention_error(&c, &o, 100);
            cr_log_info("%s fanout %lld: mean relative error %.4f", name, (long long)fanouts[fi], error);
            cr_assert_lt(error, previous, "%s: error %.4f at fanout %lld, %.4f at the fanout before", name, error,
                         (long long)fanouts[fi], previous);
            previous = error;
        }
        if (strategies[si] != FM_SAMPLER_STRATIFIED) {
            // a fanout at or above every degree keeps every edge: exact
            const fm_sampler_options o = smp_options_of(strategies[si], 70, 1);
            cr_assert_leq(attention_error(&c, &o, 3), 1e-12, "%s at fanout >= degree", name);
        }
    }
    // Stratified is exact once it keeps every stored edge and every zero.
    const fm_sampler_options o = smp_options_of(FM_SAMPLER_STRATIFIED, 70, 3);
    cr_assert_leq(attention_error(&c, &o, 3), 1e-12, "stratified keeping everything");
    case_free(&c);
    smp_graph_free(&sparse);
}

Test(sampler_estimator, estimate_reference)
{
    const double scores[] = { 0.5, -1, 2 }, values[] = { 1, 2, 3, 4, 5, 6 };
    const float log_pi[] = { 0, -0.5f, -2 };
    double numerator[2], denominator;
    fm_sampler_estimate(numerator, &denominator, 3, 2, scores, log_pi, values, 1);
    const double w[] = { exp(0.5 - 1), exp(-1 + 0.5 - 1), exp(2 + 2 - 1) };
    cr_assert_float_eq(denominator, w[0] + w[1] + w[2], 1e-12);
    cr_assert_float_eq(numerator[0], w[0] * 1 + w[1] * 3 + w[2] * 5, 1e-12);
    cr_assert_float_eq(numerator[1], w[0] * 2 + w[1] * 4 + w[2] * 6, 1e-12);
    fm_sampler_estimate(numerator, &denominator, 3, 2, scores, NULL, values, 0);   // π = 1
    cr_assert_float_eq(denominator, exp(0.5) + exp(-1) + exp(2), 1e-12);
    fm_sampler_estimate(numerator, &denominator, 0, 2, scores, NULL, values, 0);   // no edges
    cr_assert(denominator == 0 && numerator[0] == 0 && numerator[1] == 0);
}
