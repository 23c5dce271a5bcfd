// The statistics of `factormer sample` (sampler_stats.h says what each is).
#include "sampler_stats.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "status.h"

enum { WIDTH = FM_SAMPLER_STATS_WIDTH, BLOCK = 1024, COVERAGE_BLOCK = 65536 };

// Node features, drawn by node index from the seed (so a node's features do
// not depend on which targets are probed): queries and keys standard normal,
// values normal with mean 1. A common direction in the values, as a learned
// projection with a bias has, keeps the full output away from zero: with
// zero-mean values it is a nearly cancelling sum, and its relative error
// measures the cancellation more than the sampler.
typedef struct features {
    float *queries;            // probes × WIDTH: q of each probed target
    float *keys, *values;      // sources × WIDTH: k_i and v_i
} features;

// The edges of one target are attended over in blocks: scores, values and
// log π gathered for BLOCK edges, then summed by fm_sampler_estimate (§8).
// The sums add over blocks, so a target of any degree needs one block.
typedef struct edge_block {
    int64_t n;
    double scores[BLOCK];
    double values[BLOCK * WIDTH];
    float log_pi[BLOCK];
    double numerator[WIDTH], denominator;
} edge_block;

static void block_start(edge_block *b)
{
    b->n = 0;
    b->denominator = 0;
    for (int c = 0; c < WIDTH; c++) b->numerator[c] = 0;
}

static void block_flush(edge_block *b)
{
    double numerator[WIDTH], denominator;
    // Scores are q·k/4 of standard normal features, of variance 1: no shift
    // is needed to keep the exponentials finite.
    fm_sampler_estimate(numerator, &denominator, b->n, WIDTH, b->scores, b->log_pi, b->values, 0);
    b->denominator += denominator;
    for (int c = 0; c < WIDTH; c++) b->numerator[c] += numerator[c];
    b->n = 0;
}

static void block_push(edge_block *b, const float *query, const features *f, GrB_Index source, float x,
                       float log_pi)
{
    const float *key = f->keys + source * WIDTH, *value = f->values + source * WIDTH;
    double score = 0;
    for (int c = 0; c < WIDTH; c++) score += (double)query[c] * key[c];
    b->scores[b->n] = score / sqrt((double)WIDTH);
    for (int c = 0; c < WIDTH; c++) b->values[b->n * WIDTH + c] = (double)x * value[c];
    b->log_pi[b->n++] = log_pi;
    if (b->n == BLOCK) block_flush(b);
}

// The attention output numerator / denominator (zero without edges).
static void block_output(double *out, edge_block *b)
{
    block_flush(b);
    for (int c = 0; c < WIDTH; c++) out[c] = b->denominator > 0 ? b->numerator[c] / b->denominator : 0;
}

// The full attention of target t: over its stored in-edges, or over every
// source (an unstored one with value 0) for the stratified sampler.
static void full_output(double *out, const fm_edges *e, int64_t t, bool every_source, const float *query,
                        const features *f, edge_block *b)
{
    block_start(b);
    const int64_t degree = e->ptr ? (int64_t)(e->ptr[t + 1] - e->ptr[t]) : e->sources;
    const GrB_Index *idx = e->ptr ? e->idx + e->ptr[t] : NULL;
    const float *val = e->ptr ? e->val + e->ptr[t] : e->val + t * e->sources;
    if (!every_source) {
        for (int64_t p = 0; p < degree; p++) block_push(b, query, f, idx ? idx[p] : (GrB_Index)p, val[p], 0);
    } else {
        int64_t p = 0;
        for (GrB_Index s = 0; s < (GrB_Index)e->sources; s++) {
            const bool stored = p < degree && (idx ? idx[p] : (GrB_Index)p) == s;
            block_push(b, query, f, s, stored ? val[p++] : 0.0f, 0);
        }
    }
    block_output(out, b);
}

static void sampled_output(double *out, const fm_sampled_edges *s, int64_t t, const float *query,
                           const features *f, edge_block *b)
{
    block_start(b);
    for (GrB_Index k = s->ptr[t]; k < s->ptr[t + 1]; k++) block_push(b, query, f, s->idx[k], s->val[k], s->log_pi[k]);
    block_output(out, b);
}

// The position of edge (t, source) among the stored edges, or −1 (an
// unstored zero of the stratified sampler).
static int64_t stored_position(const fm_edges *e, int64_t t, GrB_Index source)
{
    if (!e->ptr) return t * e->sources + (int64_t)source;
    int64_t lo = (int64_t)e->ptr[t], hi = (int64_t)e->ptr[t + 1];
    const int64_t end = hi;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (e->idx[mid] < source) lo = mid + 1;
        else hi = mid;
    }
    return lo < end && e->idx[lo] == source ? lo : -1;
}

static int64_t degree_of(const fm_edges *e, int64_t t)
{
    return e->ptr ? (int64_t)(e->ptr[t + 1] - e->ptr[t]) : e->sources;
}

static double relative_error(const double *sampled, const double *full)
{
    double diff = 0, norm = 0;
    for (int c = 0; c < WIDTH; c++) {
        diff += (sampled[c] - full[c]) * (sampled[c] - full[c]);
        norm += full[c] * full[c];
    }
    return norm > 0 ? sqrt(diff / norm) : 0;   // such a probe is left out of the mean
}

static int stats_run(fm_sampler_stats *st, const fm_edges *e, fm_kind kind, fm_direction direction,
                     const fm_sampler_stats_options *o, char *msg)
{
    float *design = NULL;
    uint32_t *hits = NULL;
    int64_t *histogram = NULL, *probe = NULL;
    features f = { 0 };
    double *full = NULL, *errors = NULL, *coverage = NULL;
    edge_block *blocks = NULL;
    fm_sampled_edges *s = NULL;
#define FREE_ALL                                                              \
    {                                                                         \
        free(design); free(hits); free(histogram); free(probe);               \
        free(f.queries); free(f.keys); free(f.values); free(full);            \
        free(errors); free(coverage);                                         \
        free(blocks); fm_sampled_edges_free(&s);                              \
    }
    const int64_t targets = e->targets, sources = e->sources, stored = e->count;
    const bool every_source = o->sampler.strategy == FM_SAMPLER_STRATIFIED;
    FM_CHECK(o->draws >= 1 && o->probes >= 0, FM_ERR_INVALID, "sampler statistics: %d draws and %d probes",
             o->draws, o->probes);
    memset(st, 0, sizeof *st);
    st->targets = targets;
    st->sources = sources;
    st->stored = stored;

    // The design π of every stored edge (this also checks the options).
    FM_ALLOC(design, stored + 1);   // + 1: an array even for a graph without edges
    FM_TRY(fm_sampler_inclusion(design, NULL, e, kind, &o->sampler, msg));
    FM_ALLOC(hits, stored + 1);
    FM_ALLOC(histogram, sources + 1);   // a target keeps at most every source

    // The probed targets: the first with in-edges in a seeded permutation.
    FM_ALLOC(probe, o->probes);
    const fm_rng order = fm_rng_stream(~o->sampler.seed, FM_STREAM_SYNTH);
    int64_t probes = 0;
    for (int64_t k = 0; k < targets && probes < o->probes; k++) {
        const int64_t t = fm_rng_permute(k, targets, order);
        if (degree_of(e, t) > 0) probe[probes++] = t;
    }
    st->probes = probes;

    // Features, and the full attention output of each probe.
    const fm_rng draw = fm_rng_stream(o->sampler.seed, FM_STREAM_SYNTH);
    FM_ALLOC(f.keys, sources * WIDTH);
    FM_ALLOC(f.values, sources * WIDTH);
    FM_ALLOC(f.queries, probes * WIDTH);
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < sources * WIDTH; k++) {
        f.keys[k] = (float)fm_rng_normal(draw, (uint64_t)k);
        f.values[k] = (float)(1 + fm_rng_normal(draw, (uint64_t)(sources * WIDTH + k)));
    }
    for (int64_t p = 0; p < probes; p++)
        for (int c = 0; c < WIDTH; c++)
            f.queries[p * WIDTH + c] = (float)fm_rng_normal(draw, (uint64_t)(2 * sources * WIDTH + probe[p] * WIDTH + c));
    const int threads = omp_get_max_threads();
    FM_ALLOC(blocks, threads);
    FM_ALLOC(full, probes * WIDTH);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t p = 0; p < probes; p++)
        full_output(full + p * WIDTH, e, probe[p], every_source, f.queries + p * WIDTH, &f,
                    &blocks[omp_get_thread_num()]);

    // The draws.
    FM_ALLOC(errors, probes);
    double kept_sum = 0;
    st->draw_seconds = INFINITY;
    for (int d = 0; d < o->draws; d++) {
        const double start = omp_get_wtime();
        FM_TRY(fm_sampler_draw(&s, e, kind, &o->sampler, 2 * (uint64_t)d + (uint64_t)direction, msg));
        const double seconds = omp_get_wtime() - start;
        if (seconds < st->draw_seconds) {
            st->draw_seconds = seconds;
            st->edges_per_second = seconds > 0 ? (double)s->count / seconds : 0;
        }
        kept_sum += (double)s->count;
        for (int64_t t = 0; t < targets; t++) histogram[s->ptr[t + 1] - s->ptr[t]]++;
#pragma omp parallel for schedule(dynamic, 256)
        for (int64_t t = 0; t < targets; t++)
            for (GrB_Index k = s->ptr[t]; k < s->ptr[t + 1]; k++) {
                const int64_t position = stored_position(e, t, s->idx[k]);
                if (position >= 0) hits[position]++;   // each target's edges are its own: no race
            }
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t p = 0; p < probes; p++) {
            double out[WIDTH];
            sampled_output(out, s, probe[p], f.queries + p * WIDTH, &f, &blocks[omp_get_thread_num()]);
            errors[p] += relative_error(out, full + p * WIDTH);
        }
        fm_sampled_edges_free(&s);
    }
    st->edges_per_draw = kept_sum / o->draws;
    // In probe order, not in a reduction's: the same for any thread count.
    double error_sum = 0;
    int64_t error_terms = 0;
    for (int64_t p = 0; p < probes; p++) {
        double norm = 0;
        for (int c = 0; c < WIDTH; c++) norm += full[p * WIDTH + c] * full[p * WIDTH + c];
        if (norm == 0) continue;   // an output of zero has no relative error
        error_sum += errors[p];
        error_terms += o->draws;
    }
    st->attention_error = error_terms ? error_sum / (double)error_terms : 0;

    // Kept per target over every (target, draw).
    const int64_t pairs = targets * o->draws;
    int64_t below = 0;
    st->kept_min = -1;
    for (int64_t n = 0; n <= sources; n++) {
        if (!histogram[n]) continue;
        if (st->kept_min < 0) st->kept_min = n;
        st->kept_max = n;
        if (below <= (pairs - 1) / 2 && below + histogram[n] > (pairs - 1) / 2) st->kept_median = n;
        below += histogram[n];
    }
    if (st->kept_min < 0) st->kept_min = 0;

    // Coverage of the stored edges against their design π, summed in fixed
    // blocks (then the blocks in order): the same figures for any thread count.
    const double draws = o->draws;
    const int64_t block_count = (stored + COVERAGE_BLOCK - 1) / COVERAGE_BLOCK;
    FM_ALLOC(coverage, 5 * block_count + 1);
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < block_count; b++) {
        double *sums = coverage + 5 * b;   // Σ r, Σ r², Σ (1 − π)/(Nπ), never drawn, Σ (1 − π)^N
        const int64_t end = (b + 1) * COVERAGE_BLOCK < stored ? (b + 1) * COVERAGE_BLOCK : stored;
        for (int64_t k = b * COVERAGE_BLOCK; k < end; k++) {
            const double pi = exp((double)design[k]), ratio = hits[k] / (draws * pi);
            sums[0] += ratio;
            sums[1] += ratio * ratio;
            sums[2] += (1 - pi) / (draws * pi);
            sums[3] += hits[k] == 0;
            sums[4] += exp(draws * log1p(-fmin(pi, 1.0)));
        }
    }
    double total[5] = { 0 };
    for (int64_t b = 0; b < block_count; b++)
        for (int k = 0; k < 5; k++) total[k] += coverage[5 * b + k];
    if (stored > 0) {
        const double mean = total[0] / stored, variance = fmax(0, total[1] / stored - mean * mean);
        st->coverage_cv = mean > 0 ? sqrt(variance) / mean : 0;
        st->coverage_cv_chance = sqrt(total[2] / stored);
        st->never_drawn = total[3] / stored;
        st->never_drawn_chance = total[4] / stored;
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_sampler_stats_run(fm_sampler_stats *stats, fm_graph *g, fm_direction direction,
                         const fm_sampler_stats_options *options, char *msg)
{
    fm_edges edges = { 0 };
#define FREE_ALL fm_edges_return(&edges, NULL)
    FM_CHECK(stats && g && options, FM_ERR_INVALID, "fm_sampler_stats_run: bad arguments");
    FM_TRY(fm_edges_borrow(&edges, g, direction, msg));
    FM_TRY(stats_run(stats, &edges, g->stats.kind, direction, options, msg));
    FM_TRY(fm_edges_return(&edges, msg));
    return FM_OK;
#undef FREE_ALL
}
