// The edge samplers (engine/sampler, docs/factormer-math.md §8) against a slow
// reference derived here on its own: the inclusion probability π of every
// edge from the definitions in sampler.h. Each draw's recorded log π, and the
// library's design π, must equal it; the frequency with which each edge
// (stored, or an unstored zero of the stratified sampler) is drawn over many
// rounds must converge to it. Also the names, the structure of every sample,
// the same draws for any thread count, and the refusals. The estimator of §8
// built on π: tests/test_sampler_estimator.c.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "sampler.h"
#include "sampler_fixtures.h"

TestSuite(sampler, .init = fm_test_setup);

//------------------------------------------------------------------------------
// The reference: π from the definitions in sampler.h
//------------------------------------------------------------------------------

static double reference_pi(const fm_edges *e, int64_t t, int64_t position, const fm_sampler_options *o)
{
    const int64_t d = smp_degree_of(e, t), f = o->fanout;
    if (o->strategy == FM_SAMPLER_FULL || d <= f) return 1;
    if (o->strategy != FM_SAMPLER_WEIGHTED) return (double)f / (double)d;
    const float *row = smp_row_values(e, t);
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
    const int64_t unstored = e->sources - smp_degree_of(e, t);
    const int64_t z = (int64_t)llround(o->zero_ratio * (double)o->fanout);
    return z < unstored ? z : unstored;
}

static double reference_zero_pi(const fm_edges *e, int64_t t, const fm_sampler_options *o)
{
    const int64_t unstored = e->sources - smp_degree_of(e, t);
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
        const int64_t d = smp_degree_of(e, t), keep = d < o->fanout ? d : o->fanout;
        int64_t stored = 0, drawn_zeros = 0;
        for (GrB_Index k = s->ptr[t]; k < s->ptr[t + 1]; k++) {
            const GrB_Index source = s->idx[k];
            cr_assert_lt(source, (GrB_Index)e->sources, "%s: source out of range", name);
            if (k > s->ptr[t]) cr_assert_gt(source, s->idx[k - 1], "%s: target %lld: sources not increasing", name,
                                            (long long)t);
            cr_assert(isfinite(s->log_pi[k]) && s->log_pi[k] <= 0, "%s: log pi %g", name, s->log_pi[k]);
            const int64_t position = smp_stored_position(e, t, source);
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
        smp_graph sparse = smp_graph_new(24, 40, degrees, 8, 10 + fi, 0);
        smp_graph observed = smp_graph_new(24, 40, degrees, 8, 20 + fi, 4);   // stored zeros
        smp_graph dense = smp_dense_new(12, 40, 30 + fi, 5);
        for (int st = 0; st < FM_SAMPLER_STRATIFIED; st++) {
            const fm_sampler_options o = smp_options_of((fm_sampler)st, f, 0);
            for (uint64_t round = 0; round < 5; round++) {
                fm_sampled_edges *s = smp_draw(&sparse.edges, FM_KIND_SPARSE, &o, round);
                check_sample(s, &sparse.edges, &o);
                fm_sampled_edges_free(&s);
                s = smp_draw(&observed.edges, FM_KIND_INCOMPLETE, &o, round);
                check_sample(s, &observed.edges, &o);
                fm_sampled_edges_free(&s);
                s = smp_draw(&dense.edges, FM_KIND_DENSE, &o, round);
                check_sample(s, &dense.edges, &o);
                fm_sampled_edges_free(&s);
                cr_assert_null(s, "free clears the handle");
            }
        }
        for (int ri = 0; ri < 4; ri++) {
            const fm_sampler_options o = smp_options_of(FM_SAMPLER_STRATIFIED, f, ratios[ri]);
            for (uint64_t round = 0; round < 5; round++) {
                fm_sampled_edges *s = smp_draw(&sparse.edges, FM_KIND_SPARSE, &o, round);
                check_sample(s, &sparse.edges, &o);
                fm_sampled_edges_free(&s);
            }
        }
        smp_graph_free(&sparse);
        smp_graph_free(&observed);
        smp_graph_free(&dense);
    }
}

Test(sampler, full_equals_the_input)
{
    const int64_t degrees[] = { 0, 3, 1, 17, 40 };
    smp_graph sparse = smp_graph_new(11, 40, degrees, 5, 3, 3);
    smp_graph dense = smp_dense_new(7, 9, 4, 4);
    const fm_sampler_options o = smp_options_of(FM_SAMPLER_FULL, 0, 0);   // full reads no fanout
    for (int which = 0; which < 2; which++) {
        const fm_edges *e = which ? &dense.edges : &sparse.edges;
        fm_sampled_edges *s = smp_draw(e, which ? FM_KIND_DENSE : FM_KIND_INCOMPLETE, &o, 9);
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
    smp_graph_free(&sparse);
    smp_graph_free(&dense);
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
                const fm_sampler_options o = smp_options_of((fm_sampler)st, 4, 1);
                fm_sampled_edges *s = smp_draw(&edges, kinds[kk], &o, (uint64_t)d);
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
        fm_sampled_edges *s = smp_draw(e, kind, o, (uint64_t)r);
        for (int64_t t = 0; t < targets; t++)
            for (GrB_Index k = s->ptr[t]; k < s->ptr[t + 1]; k++) hits[t * sources + (int64_t)s->idx[k]]++;
        fm_sampled_edges_free(&s);
    }
    // The library's design π agrees with the reference too.
    cr_assert_eq(fm_sampler_inclusion(log_pi, zero_log_pi, e, kind, o, msg), FM_OK, "%s", msg);
    const char *name = fm_sampler_name(o->strategy);
    int64_t edges_between = 0;
    for (int64_t t = 0; t < targets; t++) {
        const int64_t unstored = sources - smp_degree_of(e, t);
        const double zero_pi = reference_zero_pi(e, t, o);
        if (unstored == 0) cr_assert_eq(zero_log_pi[t], 0.0f);
        else if (zero_pi == 0) cr_assert(isinf(zero_log_pi[t]) && zero_log_pi[t] < 0, "%g", zero_log_pi[t]);
        else expect_log_pi(zero_log_pi[t], zero_pi, "design pi of the unstored zeros", t);
        for (int64_t source = 0; source < sources; source++) {
            const int64_t position = smp_stored_position(e, t, (GrB_Index)source);
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
    smp_graph sparse = smp_graph_new(20, 30, degrees, 8, 77, 0);
    smp_graph observed = smp_graph_new(20, 30, degrees, 8, 78, 4);
    smp_graph dense = smp_dense_new(6, 30, 79, 5);
    const int draws = 4000;
    fm_sampler_options o = smp_options_of(FM_SAMPLER_FULL, 5, 1.4);   // 7 zeros per target
    check_frequencies(&sparse.edges, FM_KIND_SPARSE, &o, 50);
    o.strategy = FM_SAMPLER_UNIFORM;
    check_frequencies(&sparse.edges, FM_KIND_SPARSE, &o, draws);
    o.strategy = FM_SAMPLER_WEIGHTED;
    check_frequencies(&observed.edges, FM_KIND_INCOMPLETE, &o, draws);
    check_frequencies(&dense.edges, FM_KIND_DENSE, &o, draws);
    o.strategy = FM_SAMPLER_STRATIFIED;
    check_frequencies(&sparse.edges, FM_KIND_SPARSE, &o, draws);
    smp_graph_free(&sparse);
    smp_graph_free(&observed);
    smp_graph_free(&dense);
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
    smp_graph g = smp_graph_new(3000, 500, degrees, 8, 555, 0);
    for (int st = 0; st < FM_SAMPLER_NODE_WISE; st++) {
        const fm_sampler_options o = smp_options_of((fm_sampler)st, 16, 1);
        fm_set_threads(1);
        fm_sampled_edges *one = smp_draw(&g.edges, FM_KIND_SPARSE, &o, 3);
        fm_set_threads(2);
        fm_sampled_edges *two = smp_draw(&g.edges, FM_KIND_SPARSE, &o, 3);
        fm_sampled_edges *next = smp_draw(&g.edges, FM_KIND_SPARSE, &o, 4);
        check_sample(two, &g.edges, &o);
        cr_assert(same_sample(one, two), "%s: 1 and 2 threads draw differently", fm_sampler_name(o.strategy));
        if (st != FM_SAMPLER_FULL)
            cr_assert(!same_sample(two, next), "%s: rounds 3 and 4 drew the same", fm_sampler_name(o.strategy));
        fm_sampler_options other = o;
        other.seed = 43;
        fm_sampled_edges *reseeded = smp_draw(&g.edges, FM_KIND_SPARSE, &other, 3);
        if (st != FM_SAMPLER_FULL)
            cr_assert(!same_sample(two, reseeded), "%s: seeds 42 and 43 drew the same", fm_sampler_name(o.strategy));
        fm_sampled_edges_free(&one);
        fm_sampled_edges_free(&two);
        fm_sampled_edges_free(&next);
        fm_sampled_edges_free(&reseeded);
    }
    fm_set_threads(0);
    smp_graph_free(&g);
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
    smp_graph g = smp_graph_new(6, 8, degrees, 3, 1, 0);
    smp_graph dense = smp_dense_new(2, 3, 2, 0);
    for (int st = FM_SAMPLER_UNIFORM; st < FM_SAMPLER_NODE_WISE; st++) {
        expect_refusal(&g.edges, FM_KIND_SPARSE, smp_options_of((fm_sampler)st, 0, 1), "fanout 0", "at least 1");
        expect_refusal(&g.edges, FM_KIND_SPARSE, smp_options_of((fm_sampler)st, -3, 1), "fanout -3", "at least 1");
    }
    expect_refusal(&g.edges, FM_KIND_SPARSE, smp_options_of(FM_SAMPLER_STRATIFIED, 4, -0.5), "zero ratio -0.5", ">= 0");
    expect_refusal(&g.edges, FM_KIND_SPARSE, smp_options_of(FM_SAMPLER_EDGE, 4, 1), "subgraphs", "training");
    expect_refusal(&g.edges, FM_KIND_SPARSE, smp_options_of(FM_SAMPLER_UNIFORM, 4, NAN), "zero ratio", "finite");
    expect_refusal(&g.edges, FM_KIND_INCOMPLETE, smp_options_of(FM_SAMPLER_STRATIFIED, 4, 1), "incomplete",
                   "never invents edges");
    expect_refusal(&dense.edges, FM_KIND_DENSE, smp_options_of(FM_SAMPLER_STRATIFIED, 4, 1), "dense", "sparse");
    expect_refusal(&g.edges, FM_KIND_SPARSE, smp_options_of((fm_sampler)17, 4, 1), "unknown strategy", "17");

    char msg[FM_MSG_LEN];
    fm_sampler_options o = smp_options_of(FM_SAMPLER_UNIFORM, 4, 1);
    fm_sampled_edges *s = smp_draw(&g.edges, FM_KIND_SPARSE, &o, 0), *kept = s;
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
        o = smp_options_of((fm_sampler)st, 4, 1);
        s = smp_draw(&none, FM_KIND_SPARSE, &o, 0);
        cr_assert(s->count == 0 && s->targets == 0 && s->ptr[0] == 0);
        fm_sampled_edges_free(&s);
    }
    smp_graph_free(&g);
    smp_graph_free(&dense);
}
