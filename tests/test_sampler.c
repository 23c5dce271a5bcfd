// The edge samplers (engine/sampler, docs/factormer-math.md §8) against a slow
// reference derived here on its own: the inclusion probability π of every
// edge from the definitions in sampler.h, checked three ways. Each draw's
// recorded log π must equal it; the frequency with which each edge (stored,
// or an unstored zero of the stratified sampler) is drawn over many rounds
// must converge to it; and the inclusion-corrected sums of §8 must be
// unbiased, within a bound that shrinks with the number of draws, tight
// enough that a wrong π fails it.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "rng.h"
#include "sampler.h"

TestSuite(sampler, .init = fm_test_setup);

//------------------------------------------------------------------------------
// Graphs the tests own: CSR (sorted sources per target) or full storage
//------------------------------------------------------------------------------

typedef struct test_graph {
    fm_edges edges;   // a view of the arrays below (no owner: nothing to return)
    GrB_Index *ptr, *idx;
    float *val;
} test_graph;

static int compare_indices(const void *a, const void *b)
{
    const GrB_Index x = *(const GrB_Index *)a, y = *(const GrB_Index *)b;
    return (x > y) - (x < y);
}

// A value exp(normal): spread over about a decade, so that weighted sampling
// differs from uniform; 0 for every `zero_every`-th edge (0: never).
static float edge_value(fm_rng rng, int64_t e, int zero_every)
{
    if (zero_every && e % zero_every == 0) return 0.0f;
    return (float)exp(fm_rng_normal(rng, (uint64_t)e));
}

// targets × sources; target t has degrees[t % n] in-edges (at most sources)
// at distinct random sources.
static test_graph graph_new(int64_t targets, int64_t sources, const int64_t *degrees, int n, uint64_t seed,
                            int zero_every)
{
    test_graph g = { 0 };
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    g.ptr = calloc(targets + 1, sizeof *g.ptr);
    cr_assert_not_null(g.ptr);
    for (int64_t t = 0; t < targets; t++) {
        const int64_t d = degrees[t % n] < sources ? degrees[t % n] : sources;
        g.ptr[t + 1] = g.ptr[t] + (GrB_Index)d;
    }
    const int64_t count = (int64_t)g.ptr[targets];
    g.idx = malloc(sizeof *g.idx * (count + 1));
    g.val = malloc(sizeof *g.val * (count + 1));
    GrB_Index *perm = malloc(sizeof *perm * sources);
    cr_assert(g.idx && g.val && perm);
    uint64_t counter = 0;
    for (int64_t t = 0; t < targets; t++) {
        const int64_t d = (int64_t)(g.ptr[t + 1] - g.ptr[t]);
        for (int64_t s = 0; s < sources; s++) perm[s] = (GrB_Index)s;
        for (int64_t k = 0; k < d; k++) {   // partial Fisher-Yates
            const int64_t j = k + (int64_t)(fm_rng_bits(rng, counter++) % (uint64_t)(sources - k));
            const GrB_Index swap = perm[k];
            perm[k] = perm[j];
            perm[j] = swap;
        }
        qsort(perm, (size_t)d, sizeof *perm, compare_indices);
        memcpy(g.idx + g.ptr[t], perm, sizeof *perm * d);
    }
    fm_rng values = fm_rng_stream(seed + 1, FM_STREAM_SYNTH);
    for (int64_t e = 0; e < count; e++) g.val[e] = edge_value(values, e, zero_every);
    free(perm);
    g.edges = (fm_edges){ .targets = targets, .sources = sources, .count = count, .ptr = g.ptr, .idx = g.idx,
                          .val = g.val };
    return g;
}

// Full storage (the dense kind): every source is an in-edge of every target.
static test_graph dense_new(int64_t targets, int64_t sources, uint64_t seed, int zero_every)
{
    test_graph g = { 0 };
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    g.val = malloc(sizeof *g.val * targets * sources);
    cr_assert_not_null(g.val);
    for (int64_t e = 0; e < targets * sources; e++) g.val[e] = edge_value(rng, e, zero_every);
    g.edges = (fm_edges){ .targets = targets, .sources = sources, .count = targets * sources, .val = g.val };
    return g;
}

static void graph_free(test_graph *g)
{
    free(g->ptr);
    free(g->idx);
    free(g->val);
    memset(g, 0, sizeof *g);
}

static int64_t degree_of(const fm_edges *e, int64_t t)
{
    return e->ptr ? (int64_t)(e->ptr[t + 1] - e->ptr[t]) : e->sources;
}

static const float *row_values(const fm_edges *e, int64_t t)
{
    return e->ptr ? e->val + e->ptr[t] : e->val + t * e->sources;
}

// The position of edge (t, source) among the stored edges, or −1 (linear
// search: obviously right, and the graphs are small).
static int64_t stored_position(const fm_edges *e, int64_t t, GrB_Index source)
{
    if (!e->ptr) return t * e->sources + (int64_t)source;
    for (GrB_Index p = e->ptr[t]; p < e->ptr[t + 1]; p++)
        if (e->idx[p] == source) return (int64_t)p;
    return -1;
}

//------------------------------------------------------------------------------
// The reference: π from the definitions in sampler.h
//------------------------------------------------------------------------------

static double reference_pi(const fm_edges *e, int64_t t, int64_t position, const fm_sampler_options *o)
{
    const int64_t d = degree_of(e, t), f = o->fanout;
    if (o->strategy == FM_SAMPLER_FULL || d <= f) return 1;
    if (o->strategy != FM_SAMPLER_WEIGHTED) return (double)f / (double)d;
    const float *row = row_values(e, t);
    double total = 0;
    for (int64_t p = 0; p < d; p++) total += fabs(row[p]);
    const double x = fabs(e->val[position]);
    const double p = total > 0 ? 0.9 * x / total + 0.1 / (double)d : 1.0 / (double)d;
    return 1 - pow(1 - p, (double)f);   // f draws with replacement, at least one hits
}

// Unstored zeros target t gets: min(round(ratio·f), sources − d) for stratified.
static int64_t reference_zero_draws(const fm_edges *e, int64_t t, const fm_sampler_options *o)
{
    if (o->strategy != FM_SAMPLER_STRATIFIED) return 0;
    const int64_t unstored = e->sources - degree_of(e, t);
    const int64_t z = (int64_t)llround(o->zero_ratio * (double)o->fanout);
    return z < unstored ? z : unstored;
}

static double reference_zero_pi(const fm_edges *e, int64_t t, const fm_sampler_options *o)
{
    const int64_t unstored = e->sources - degree_of(e, t);
    return unstored ? (double)reference_zero_draws(e, t, o) / (double)unstored : 0;
}

static void expect_log_pi(double log_pi, double pi, const char *what, int64_t t)
{
    cr_assert(fabs(log_pi - log(pi)) <= 1e-5 * (1 + fabs(log(pi))), "%s of target %lld: log pi %.9g, expected %.9g",
              what, (long long)t, log_pi, log(pi));
}

// Every structural promise of sampler.h, and each edge's log π.
static void check_sample(const fm_sampled_edges *s, const fm_edges *e, const fm_sampler_options *o)
{
    cr_assert_eq(s->targets, e->targets);
    cr_assert_eq(s->sources, e->sources);
    cr_assert_eq(s->ptr[0], 0);
    cr_assert_eq((int64_t)s->ptr[s->targets], s->count);
    const char *name = fm_sampler_name(o->strategy);
    int64_t zeros = 0;
    for (int64_t t = 0; t < e->targets; t++) {
        cr_assert_leq(s->ptr[t], s->ptr[t + 1], "%s: row pointers decrease at %lld", name, (long long)t);
        const int64_t d = degree_of(e, t), keep = d < o->fanout ? d : o->fanout;
        int64_t stored = 0, drawn_zeros = 0;
        for (GrB_Index k = s->ptr[t]; k < s->ptr[t + 1]; k++) {
            const GrB_Index source = s->idx[k];
            cr_assert_lt(source, (GrB_Index)e->sources, "%s: source out of range", name);
            if (k > s->ptr[t]) cr_assert_gt(source, s->idx[k - 1], "%s: target %lld: sources not increasing", name,
                                            (long long)t);
            cr_assert(isfinite(s->log_pi[k]) && s->log_pi[k] <= 0, "%s: log pi %g", name, s->log_pi[k]);
            const int64_t position = stored_position(e, t, source);
            if (position >= 0) {
                stored++;
                cr_assert_eq(s->val[k], e->val[position], "%s: a stored edge's value changed", name);
                expect_log_pi(s->log_pi[k], reference_pi(e, t, position, o), name, t);
            } else {
                drawn_zeros++;
                cr_assert_eq(o->strategy, FM_SAMPLER_STRATIFIED, "%s invented edge (%lld, %llu)", name,
                             (long long)t, (unsigned long long)source);
                cr_assert_eq(s->val[k], 0.0f, "an unstored position must carry 0");
                expect_log_pi(s->log_pi[k], reference_zero_pi(e, t, o), "unstored zero", t);
            }
        }
        const int64_t n = (int64_t)(s->ptr[t + 1] - s->ptr[t]);
        switch (o->strategy) {
        case FM_SAMPLER_FULL: cr_assert_eq(n, d, "full keeps every edge"); break;
        case FM_SAMPLER_UNIFORM: cr_assert_eq(n, keep, "uniform keeps min(d, f)"); break;
        case FM_SAMPLER_WEIGHTED:
            if (d <= o->fanout) cr_assert_eq(n, d, "weighted keeps all of d <= f");
            else cr_assert(n >= 1 && n <= o->fanout, "weighted kept %lld of fanout %lld", (long long)n,
                           (long long)o->fanout);
            break;
        default:
            cr_assert_eq(stored, keep, "stratified: %lld stored edges, expected %lld", (long long)stored,
                         (long long)keep);
            cr_assert_eq(drawn_zeros, reference_zero_draws(e, t, o), "stratified: %lld zeros at target %lld",
                         (long long)drawn_zeros, (long long)t);
        }
        zeros += drawn_zeros;
    }
    cr_assert_eq(s->zeros, zeros);
}

static fm_sampled_edges *draw(const fm_edges *e, fm_kind kind, const fm_sampler_options *o, uint64_t round)
{
    char msg[FM_MSG_LEN];
    fm_sampled_edges *s = NULL;
    cr_assert_eq(fm_sampler_draw(&s, e, kind, o, round, msg), FM_OK, "%s", msg);
    cr_assert_not_null(s);
    return s;
}

static fm_sampler_options options_of(fm_sampler strategy, int64_t fanout, double ratio)
{
    return (fm_sampler_options){ .strategy = strategy, .fanout = fanout, .zero_ratio = ratio, .seed = 42 };
}

//------------------------------------------------------------------------------
// Names
//------------------------------------------------------------------------------

Test(sampler, names_parse_and_print)
{
    char msg[FM_MSG_LEN];
    for (int s = 0; s < FM_SAMPLER_COUNT; s++) {
        fm_sampler parsed = FM_SAMPLER_COUNT;
        cr_assert_eq(fm_sampler_parse(&parsed, fm_sampler_name((fm_sampler)s), msg), FM_OK);
        cr_assert_eq(parsed, (fm_sampler)s);
    }
    cr_assert_str_eq(fm_sampler_name(FM_SAMPLER_STRATIFIED), "stratified");
    fm_sampler parsed = FM_SAMPLER_UNIFORM;
    cr_assert_eq(fm_sampler_parse(&parsed, "graphsaint", msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "'graphsaint'") && strstr(msg, "full, uniform, weighted, stratified, edge or random-walk"), "%s", msg);
    cr_assert_eq(parsed, FM_SAMPLER_UNIFORM, "a failed parse leaves the strategy alone");
}

//------------------------------------------------------------------------------
// Structure
//------------------------------------------------------------------------------

Test(sampler, samples_are_well_formed)
{
    static const int64_t fanouts[] = { 1, 3, 8 };
    static const double ratios[] = { 0, 0.5, 2, 5 };
    for (int fi = 0; fi < 3; fi++) {
        const int64_t f = fanouts[fi];
        // empty, one edge, two, just below, at and above the fanout, well
        // above it, and every source
        const int64_t degrees[] = { 0, 1, 2, f - 1, f, f + 1, 2 * f + 3, 40 };
        test_graph sparse = graph_new(24, 40, degrees, 8, 10 + fi, 0);
        test_graph observed = graph_new(24, 40, degrees, 8, 20 + fi, 4);   // stored zeros
        test_graph dense = dense_new(12, 40, 30 + fi, 5);
        for (int st = 0; st < FM_SAMPLER_STRATIFIED; st++) {
            const fm_sampler_options o = options_of((fm_sampler)st, f, 0);
            for (uint64_t round = 0; round < 5; round++) {
                fm_sampled_edges *s = draw(&sparse.edges, FM_KIND_SPARSE, &o, round);
                check_sample(s, &sparse.edges, &o);
                fm_sampled_edges_free(&s);
                s = draw(&observed.edges, FM_KIND_INCOMPLETE, &o, round);
                check_sample(s, &observed.edges, &o);
                fm_sampled_edges_free(&s);
                s = draw(&dense.edges, FM_KIND_DENSE, &o, round);
                check_sample(s, &dense.edges, &o);
                fm_sampled_edges_free(&s);
                cr_assert_null(s, "free clears the handle");
            }
        }
        for (int ri = 0; ri < 4; ri++) {
            const fm_sampler_options o = options_of(FM_SAMPLER_STRATIFIED, f, ratios[ri]);
            for (uint64_t round = 0; round < 5; round++) {
                fm_sampled_edges *s = draw(&sparse.edges, FM_KIND_SPARSE, &o, round);
                check_sample(s, &sparse.edges, &o);
                fm_sampled_edges_free(&s);
            }
        }
        graph_free(&sparse);
        graph_free(&observed);
        graph_free(&dense);
    }
}

Test(sampler, full_equals_the_input)
{
    const int64_t degrees[] = { 0, 3, 1, 17, 40 };
    test_graph sparse = graph_new(11, 40, degrees, 5, 3, 3);
    test_graph dense = dense_new(7, 9, 4, 4);
    const fm_sampler_options o = options_of(FM_SAMPLER_FULL, 0, 0);   // full reads no fanout
    for (int which = 0; which < 2; which++) {
        const fm_edges *e = which ? &dense.edges : &sparse.edges;
        fm_sampled_edges *s = draw(e, which ? FM_KIND_DENSE : FM_KIND_INCOMPLETE, &o, 9);
        cr_assert_eq(s->count, e->count);
        cr_assert_eq(s->zeros, 0);
        for (int64_t t = 0; t <= e->targets; t++)
            cr_assert_eq(s->ptr[t], e->ptr ? e->ptr[t] : (GrB_Index)(t * e->sources));
        for (int64_t k = 0; k < e->count; k++) {
            cr_assert_eq(s->idx[k], e->ptr ? e->idx[k] : (GrB_Index)(k % e->sources));
            cr_assert_eq(s->val[k], e->val[k]);
            cr_assert_eq(s->log_pi[k], 0.0f);
        }
        fm_sampled_edges_free(&s);
    }
    graph_free(&sparse);
    graph_free(&dense);
}

// The samplers read the CSR arrays GraphBLAS lends (engine/graph), in both
// directions, and the full storage of the dense kind.
Test(sampler, samples_a_borrowed_graph)
{
    char msg[FM_MSG_LEN];
    float *values = fm_test_uniform(30 * 20, 5);
    for (int e = 0; e < 30 * 20; e++) values[e] = values[e] < 0.6f ? 0.0f : values[e];
    const fm_kind kinds[] = { FM_KIND_SPARSE, FM_KIND_INCOMPLETE, FM_KIND_DENSE };
    for (int kk = 0; kk < 3; kk++) {
        fm_graph *g = NULL;
        cr_assert_eq(fm_graph_from_dense(&g, 30, 20, values, kinds[kk], msg), FM_OK, "%s", msg);
        for (int d = 0; d < 2; d++) {
            fm_edges edges;
            cr_assert_eq(fm_edges_borrow(&edges, g, (fm_direction)d, msg), FM_OK, "%s", msg);
            for (int st = 0; st < FM_SAMPLER_NODE_WISE; st++) {
                if (st == FM_SAMPLER_STRATIFIED && kinds[kk] != FM_KIND_SPARSE) continue;
                const fm_sampler_options o = options_of((fm_sampler)st, 4, 1);
                fm_sampled_edges *s = draw(&edges, kinds[kk], &o, (uint64_t)d);
                check_sample(s, &edges, &o);
                fm_sampled_edges_free(&s);
            }
            cr_assert_eq(fm_edges_return(&edges, msg), FM_OK, "%s", msg);
        }
        fm_graph_free(&g);
    }
    free(values);
}

//------------------------------------------------------------------------------
// π, empirically: each edge's frequency over many draws converges to it
//------------------------------------------------------------------------------

static void check_frequencies(const fm_edges *e, fm_kind kind, const fm_sampler_options *o, int draws)
{
    char msg[FM_MSG_LEN];
    const int64_t targets = e->targets, sources = e->sources;
    int *hits = calloc(targets * sources, sizeof *hits);
    float *log_pi = malloc(sizeof *log_pi * (e->count + 1)), *zero_log_pi = malloc(sizeof *zero_log_pi * targets);
    cr_assert(hits && log_pi && zero_log_pi);
    for (int r = 0; r < draws; r++) {
        fm_sampled_edges *s = draw(e, kind, o, (uint64_t)r);
        for (int64_t t = 0; t < targets; t++)
            for (GrB_Index k = s->ptr[t]; k < s->ptr[t + 1]; k++) hits[t * sources + (int64_t)s->idx[k]]++;
        fm_sampled_edges_free(&s);
    }
    // The library's design π agrees with the reference too.
    cr_assert_eq(fm_sampler_inclusion(log_pi, zero_log_pi, e, kind, o, msg), FM_OK, "%s", msg);
    const char *name = fm_sampler_name(o->strategy);
    int64_t edges_between = 0;
    for (int64_t t = 0; t < targets; t++) {
        const int64_t unstored = sources - degree_of(e, t);
        const double zero_pi = reference_zero_pi(e, t, o);
        if (unstored == 0) cr_assert_eq(zero_log_pi[t], 0.0f);
        else if (zero_pi == 0) cr_assert(isinf(zero_log_pi[t]) && zero_log_pi[t] < 0, "%g", zero_log_pi[t]);
        else expect_log_pi(zero_log_pi[t], zero_pi, "design pi of the unstored zeros", t);
        for (int64_t source = 0; source < sources; source++) {
            const int64_t position = stored_position(e, t, (GrB_Index)source);
            const double pi = position >= 0 ? reference_pi(e, t, position, o) : zero_pi;
            if (position >= 0) expect_log_pi(log_pi[position], pi, "design pi", t);
            const int h = hits[t * sources + source];
            if (pi == 0) {
                cr_assert_eq(h, 0, "%s drew (%lld, %lld), whose pi is 0", name, (long long)t, (long long)source);
            } else if (pi == 1) {
                cr_assert_eq(h, draws, "%s: (%lld, %lld) has pi 1 but was drawn %d of %d times", name,
                             (long long)t, (long long)source, h, draws);
            } else {
                edges_between++;
                const double frequency = (double)h / draws, sd = sqrt(pi * (1 - pi) / draws);
                cr_assert(fabs(frequency - pi) <= 5 * sd,
                          "%s: edge (%lld, %lld)%s drawn with frequency %.4f over %d draws, pi %.4f (sd %.4f)",
                          name, (long long)t, (long long)source, position >= 0 ? "" : " (unstored)", frequency,
                          draws, pi, sd);
            }
        }
    }
    if (o->strategy != FM_SAMPLER_FULL) cr_assert_gt(edges_between, 50, "the graph tests too few edges");
    free(hits);
    free(log_pi);
    free(zero_log_pi);
}

Test(sampler, inclusion_frequencies_match_pi)
{
    const int64_t degrees[] = { 0, 1, 3, 5, 8, 12, 20, 30 };
    // 30 x 20 read by column: 20 targets, 30 sources
    test_graph sparse = graph_new(20, 30, degrees, 8, 77, 0);
    test_graph observed = graph_new(20, 30, degrees, 8, 78, 4);
    test_graph dense = dense_new(6, 30, 79, 5);
    const int draws = 4000;
    fm_sampler_options o = options_of(FM_SAMPLER_FULL, 5, 1.4);   // 7 zeros per target
    check_frequencies(&sparse.edges, FM_KIND_SPARSE, &o, 50);
    o.strategy = FM_SAMPLER_UNIFORM;
    check_frequencies(&sparse.edges, FM_KIND_SPARSE, &o, draws);
    o.strategy = FM_SAMPLER_WEIGHTED;
    check_frequencies(&observed.edges, FM_KIND_INCOMPLETE, &o, draws);
    check_frequencies(&dense.edges, FM_KIND_DENSE, &o, draws);
    o.strategy = FM_SAMPLER_STRATIFIED;
    check_frequencies(&sparse.edges, FM_KIND_SPARSE, &o, draws);
    graph_free(&sparse);
    graph_free(&observed);
    graph_free(&dense);
}

//------------------------------------------------------------------------------
// The estimator of §8: unbiased sums, and an attention output whose error
// falls with the fanout
//------------------------------------------------------------------------------

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
    const int64_t position = stored_position(e, t, source);
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
        if (!all_sources && stored_position(e, t, (GrB_Index)source) < 0) continue;
        const double w = exp(c->scores[t * e->sources + source]), x = edge_x(e, t, (GrB_Index)source);
        out[0] += w;
        for (int k = 0; k < WIDTH; k++) out[1 + k] += w * x * c->g[source * WIDTH + k];
    }
}

// A π that is wrong in the way a bug would be, for the negative control.
static float wrong_log_pi(const fm_sampled_edges *s, GrB_Index k, const fm_edges *e, int64_t t,
                          const fm_sampler_options *o)
{
    const int64_t d = degree_of(e, t);
    if (s->log_pi[k] == 0) return 0;
    if (stored_position(e, t, s->idx[k]) < 0) return 0;   // stratified: zeros uncorrected
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
        fm_sampled_edges *s = draw(e, c->kind, o, first + (uint64_t)r);
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

Test(sampler, estimates_are_unbiased)
{
    const int64_t degrees[] = { 0, 1, 3, 6, 9, 14, 22, 30 };
    test_graph sparse = graph_new(20, 30, degrees, 8, 101, 0);
    test_graph observed = graph_new(20, 30, degrees, 8, 102, 4);
    const fm_sampler strategies[] = { FM_SAMPLER_FULL, FM_SAMPLER_UNIFORM, FM_SAMPLER_WEIGHTED, FM_SAMPLER_STRATIFIED };
    for (int si = 0; si < 4; si++) {
        const fm_sampler_options o = options_of(strategies[si], 4, 1);
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
    graph_free(&sparse);
    graph_free(&observed);
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
        fm_sampled_edges *s = draw(e, c->kind, o, (uint64_t)r);
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

Test(sampler, attention_error_falls_with_fanout)
{
    // targets of degree about 64 among 200 sources
    const int64_t degrees[] = { 60, 62, 64, 66, 68, 70 };
    test_graph sparse = graph_new(40, 200, degrees, 6, 303, 0);
    attention_case c = case_new(&sparse.edges, FM_KIND_SPARSE, 304, 1.0);
    const fm_sampler strategies[] = { FM_SAMPLER_UNIFORM, FM_SAMPLER_WEIGHTED, FM_SAMPLER_STRATIFIED };
    const int64_t fanouts[] = { 2, 4, 8, 16 };
    for (int si = 0; si < 3; si++) {
        const char *name = fm_sampler_name(strategies[si]);
        double previous = INFINITY;
        for (int fi = 0; fi < 4; fi++) {
            const fm_sampler_options o = options_of(strategies[si], fanouts[fi], 1);
            const double error = attention_error(&c, &o, 100);
            cr_log_info("%s fanout %lld: mean relative error %.4f", name, (long long)fanouts[fi], error);
            cr_assert_lt(error, previous, "%s: error %.4f at fanout %lld, %.4f at the fanout before", name, error,
                         (long long)fanouts[fi], previous);
            previous = error;
        }
        if (strategies[si] != FM_SAMPLER_STRATIFIED) {
            // a fanout at or above every degree keeps every edge: exact
            const fm_sampler_options o = options_of(strategies[si], 70, 1);
            cr_assert_leq(attention_error(&c, &o, 3), 1e-12, "%s at fanout >= degree", name);
        }
    }
    // Stratified is exact once it keeps every stored edge and every zero.
    const fm_sampler_options o = options_of(FM_SAMPLER_STRATIFIED, 70, 3);
    cr_assert_leq(attention_error(&c, &o, 3), 1e-12, "stratified keeping everything");
    case_free(&c);
    graph_free(&sparse);
}

Test(sampler, estimate_reference)
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

//------------------------------------------------------------------------------
// Seeds and threads
//------------------------------------------------------------------------------

static bool same_sample(const fm_sampled_edges *a, const fm_sampled_edges *b)
{
    return a->count == b->count && a->zeros == b->zeros && a->targets == b->targets &&
           !memcmp(a->ptr, b->ptr, sizeof *a->ptr * (a->targets + 1)) &&
           !memcmp(a->idx, b->idx, sizeof *a->idx * a->count) && !memcmp(a->val, b->val, sizeof *a->val * a->count) &&
           !memcmp(a->log_pi, b->log_pi, sizeof *a->log_pi * a->count);
}

Test(sampler, draws_do_not_depend_on_threads)
{
    const int64_t degrees[] = { 0, 1, 5, 17, 40, 120, 300, 499 };
    test_graph g = graph_new(3000, 500, degrees, 8, 555, 0);
    for (int st = 0; st < FM_SAMPLER_NODE_WISE; st++) {
        const fm_sampler_options o = options_of((fm_sampler)st, 16, 1);
        fm_set_threads(1);
        fm_sampled_edges *one = draw(&g.edges, FM_KIND_SPARSE, &o, 3);
        fm_set_threads(2);
        fm_sampled_edges *two = draw(&g.edges, FM_KIND_SPARSE, &o, 3), *next = draw(&g.edges, FM_KIND_SPARSE, &o, 4);
        check_sample(two, &g.edges, &o);
        cr_assert(same_sample(one, two), "%s: 1 and 2 threads draw differently", fm_sampler_name(o.strategy));
        if (st != FM_SAMPLER_FULL)
            cr_assert(!same_sample(two, next), "%s: rounds 3 and 4 drew the same", fm_sampler_name(o.strategy));
        fm_sampler_options other = o;
        other.seed = 43;
        fm_sampled_edges *reseeded = draw(&g.edges, FM_KIND_SPARSE, &other, 3);
        if (st != FM_SAMPLER_FULL)
            cr_assert(!same_sample(two, reseeded), "%s: seeds 42 and 43 drew the same", fm_sampler_name(o.strategy));
        fm_sampled_edges_free(&one);
        fm_sampled_edges_free(&two);
        fm_sampled_edges_free(&next);
        fm_sampled_edges_free(&reseeded);
    }
    fm_set_threads(0);
    graph_free(&g);
}

//------------------------------------------------------------------------------
// Refusals
//------------------------------------------------------------------------------

static void expect_refusal(const fm_edges *e, fm_kind kind, fm_sampler_options o, const char *word1,
                           const char *word2)
{
    char msg[FM_MSG_LEN] = "";
    fm_sampled_edges *s = NULL;
    cr_assert_eq(fm_sampler_draw(&s, e, kind, &o, 0, msg), FM_ERR_INVALID, "%s accepted", fm_sampler_name(o.strategy));
    cr_assert_null(s, "a refused draw sets no output");
    cr_assert(strstr(msg, word1) && strstr(msg, word2), "the message lacks '%s' or '%s': %s", word1, word2, msg);
    float log_pi[64];
    cr_assert_eq(fm_sampler_inclusion(log_pi, NULL, e, kind, &o, msg), FM_ERR_INVALID);
}

Test(sampler, bad_input_is_refused)
{
    const int64_t degrees[] = { 0, 2, 5 };
    test_graph g = graph_new(6, 8, degrees, 3, 1, 0);
    test_graph dense = dense_new(2, 3, 2, 0);
    for (int st = FM_SAMPLER_UNIFORM; st < FM_SAMPLER_NODE_WISE; st++) {
        expect_refusal(&g.edges, FM_KIND_SPARSE, options_of((fm_sampler)st, 0, 1), "fanout 0", "at least 1");
        expect_refusal(&g.edges, FM_KIND_SPARSE, options_of((fm_sampler)st, -3, 1), "fanout -3", "at least 1");
    }
    expect_refusal(&g.edges, FM_KIND_SPARSE, options_of(FM_SAMPLER_STRATIFIED, 4, -0.5), "zero ratio -0.5", ">= 0");
    expect_refusal(&g.edges, FM_KIND_SPARSE, options_of(FM_SAMPLER_EDGE, 4, 1), "subgraphs", "training");
    expect_refusal(&g.edges, FM_KIND_SPARSE, options_of(FM_SAMPLER_UNIFORM, 4, NAN), "zero ratio", "finite");
    expect_refusal(&g.edges, FM_KIND_INCOMPLETE, options_of(FM_SAMPLER_STRATIFIED, 4, 1), "incomplete",
                   "never invents edges");
    expect_refusal(&dense.edges, FM_KIND_DENSE, options_of(FM_SAMPLER_STRATIFIED, 4, 1), "dense", "sparse");
    expect_refusal(&g.edges, FM_KIND_SPARSE, options_of((fm_sampler)17, 4, 1), "unknown strategy", "17");

    char msg[FM_MSG_LEN];
    fm_sampler_options o = options_of(FM_SAMPLER_UNIFORM, 4, 1);
    fm_sampled_edges *s = draw(&g.edges, FM_KIND_SPARSE, &o, 0), *kept = s;
    cr_assert_eq(fm_sampler_draw(&s, &g.edges, FM_KIND_SPARSE, &o, 0, msg), FM_ERR_INVALID, "a used handle");
    cr_assert_eq(s, kept, "the caller's handle is left alone");
    fm_sampled_edges_free(&s);
    cr_assert_eq(fm_sampler_draw(NULL, &g.edges, FM_KIND_SPARSE, &o, 0, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_sampler_draw(&s, NULL, FM_KIND_SPARSE, &o, 0, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_sampler_draw(&s, &g.edges, FM_KIND_SPARSE, NULL, 0, msg), FM_ERR_INVALID);
    cr_assert_null(s);
    fm_sampled_edges_free(NULL);
    fm_sampled_edges_free(&s);

    // No targets at all is a valid (empty) sample.
    fm_edges none = { .targets = 0, .sources = 5, .count = 0, .ptr = g.ptr, .idx = g.idx, .val = g.val };
    for (int st = 0; st < FM_SAMPLER_NODE_WISE; st++) {
        o = options_of((fm_sampler)st, 4, 1);
        s = draw(&none, FM_KIND_SPARSE, &o, 0);
        cr_assert(s->count == 0 && s->targets == 0 && s->ptr[0] == 0);
        fm_sampled_edges_free(&s);
    }
    graph_free(&g);
    graph_free(&dense);
}
