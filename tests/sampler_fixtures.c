// Fixtures of the edge samplers' tests (tests/sampler_fixtures.h).
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "rng.h"
#include "sampler_fixtures.h"

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
smp_graph smp_graph_new(int64_t targets, int64_t sources, const int64_t *degrees, int n, uint64_t seed,
                        int zero_every)
{
    smp_graph g = { 0 };
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
smp_graph smp_dense_new(int64_t targets, int64_t sources, uint64_t seed, int zero_every)
{
    smp_graph g = { 0 };
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    g.val = malloc(sizeof *g.val * targets * sources);
    cr_assert_not_null(g.val);
    for (int64_t e = 0; e < targets * sources; e++) g.val[e] = edge_value(rng, e, zero_every);
    g.edges = (fm_edges){ .targets = targets, .sources = sources, .count = targets * sources, .val = g.val };
    return g;
}

void smp_graph_free(smp_graph *g)
{
    free(g->ptr);
    free(g->idx);
    free(g->val);
    memset(g, 0, sizeof *g);
}

int64_t smp_degree_of(const fm_edges *e, int64_t t)
{
    return e->ptr ? (int64_t)(e->ptr[t + 1] - e->ptr[t]) : e->sources;
}

const float *smp_row_values(const fm_edges *e, int64_t t)
{
    return e->ptr ? e->val + e->ptr[t] : e->val + t * e->sources;
}

// The position of edge (t, source) among the stored edges, or −1 (linear
// search: obviously right, and the graphs are small).
int64_t smp_stored_position(const fm_edges *e, int64_t t, GrB_Index source)
{
    if (!e->ptr) return t * e->sources + (int64_t)source;
    for (GrB_Index p = e->ptr[t]; p < e->ptr[t + 1]; p++)
        if (e->idx[p] == source) return (int64_t)p;
    return -1;
}

fm_sampled_edges *smp_draw(const fm_edges *e, fm_kind kind, const fm_sampler_options *o, uint64_t round)
{
    char msg[FM_MSG_LEN];
    fm_sampled_edges *s = NULL;
    cr_assert_eq(fm_sampler_draw(&s, e, kind, o, round, msg), FM_OK, "%s", msg);
    cr_assert_not_null(s);
    return s;
}

fm_sampler_options smp_options_of(fm_sampler strategy, int64_t fanout, double ratio)
{
    return (fm_sampler_options){ .strategy = strategy, .fanout = fanout, .zero_ratio = ratio, .seed = 42 };
}
