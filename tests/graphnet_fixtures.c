// Fixtures of the GraphNet ops' tests (tests/graphnet_fixtures.h).
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graphnet_fixtures.h"
#include "helpers.h"
#include "rng.h"

static bool lower_has(fm_rng r, int64_t n, int64_t i, int64_t j, double p)
{
    if (i == j) return i != 0 && i != n - 1 && fm_rng_uniform(r, (uint64_t)(i * n + j)) < 0.8;
    if (fm_rng_uniform(r, (uint64_t)(n * n + i)) < 0.15) return false;   // an empty row
    return fm_rng_uniform(r, (uint64_t)(i * n + j)) < p;
}

gn_lower_fixture *gn_lower_fixture_new(int64_t n, double p, uint64_t seed)
{
    gn_lower_fixture *fp = calloc(1, sizeof(gn_lower_fixture));
    cr_assert_not_null(fp);
    gn_lower_fixture f = *fp;
    const fm_rng r = fm_rng_stream(seed, FM_STREAM_SYNTH);
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j <= i; j++) count += lower_has(r, n, i, j, p);
    f.by_rows = (fm_csr){ n, count, calloc(n + 1, sizeof(int64_t)), malloc(sizeof(int64_t) * (count + 1)),
                          malloc(sizeof(double) * (count + 1)) };
    f.by_columns = (fm_csr){ n, count, calloc(n + 2, sizeof(int64_t)), malloc(sizeof(int64_t) * (count + 1)),
                             malloc(sizeof(double) * (count + 1)) };
    f.row_of = malloc(sizeof(int64_t) * (count + 1));
    int64_t *edge_of = malloc(sizeof(int64_t) * (count + 1));
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j <= i; j++)
            if (lower_has(r, n, i, j, p)) {
                f.by_rows.index[k] = j;
                f.by_rows.value[k] = fm_rng_uniform(r, (uint64_t)(2 * n * n + k)) - 0.5;
                f.row_of[k++] = i;
                f.by_columns.start[j + 2]++;
            }
        f.by_rows.start[i + 1] = k;
    }
    // by columns: a counting sort of the entries by column, rows ascending
    for (int64_t j = 0; j < n; j++) f.by_columns.start[j + 2] += f.by_columns.start[j + 1];
    for (int64_t e = 0; e < count; e++) {
        const int64_t q = f.by_columns.start[f.by_rows.index[e] + 1]++;
        f.by_columns.index[q] = f.row_of[e];
        f.by_columns.value[q] = f.by_rows.value[e];
        edge_of[q] = e;
    }
    f.g.n = n;
    f.g.lower_edge = edge_of;
    *fp = f;
    fp->g.lower = &fp->by_rows;   // into the heap copy, not the local
    fp->g.lower_by_columns = &fp->by_columns;
    return fp;
}

void gn_lower_fixture_free(gn_lower_fixture *f)
{
    free(f->by_rows.start);
    free(f->by_rows.index);
    free(f->by_rows.value);
    free(f->by_columns.start);
    free(f->by_columns.index);
    free(f->by_columns.value);
    free(f->row_of);
    free(f->g.lower_edge);
    free(f);
}

fm_edge_set *gn_edges_from_lower(const gn_lower_fixture *f, fm_lower_orientation orientation)
{
    char msg[FM_MSG_LEN];
    fm_edge_set *s = NULL;
    cr_assert_eq(fm_edge_set_from_lower(&s, &f->g, orientation, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edge_set_check(s, msg), FM_OK, "%s", msg);
    return s;
}

static void group(int64_t nodes, int64_t count, const int64_t *node_of, int64_t *start, int64_t *ids,
                  fm_rng r)
{
    for (int64_t t = 0; t <= nodes; t++) start[t] = 0;
    for (int64_t k = 0; k < count; k++) start[node_of[k] + 1]++;
    for (int64_t t = 0; t < nodes; t++) start[t + 1] += start[t];
    int64_t *fill = malloc(sizeof(int64_t) * (nodes + 1));
    memcpy(fill, start, sizeof(int64_t) * (nodes + 1));
    for (int64_t k = 0; k < count; k++) ids[fill[node_of[k]]++] = k;
    free(fill);
    for (int64_t t = 0; t < nodes; t++)   // Fisher-Yates inside each group
        for (int64_t p = start[t + 1] - 1; p > start[t]; p--) {
            const int64_t q = start[t] + (int64_t)(fm_rng_uniform(r, (uint64_t)p) * (double)(p - start[t] + 1));
            const int64_t keep = ids[p];
            ids[p] = ids[q];
            ids[q] = keep;
        }
}

gn_general_set gn_general_set_new(int64_t nodes, int64_t count, uint64_t seed)
{
    gn_general_set g;
    g.arrays = malloc(sizeof(int64_t) * (4 * count + 2 * nodes + 2 + 1));
    int64_t *target = g.arrays, *source = target + count, *te = source + count, *se = te + count;
    int64_t *ts = se + count, *ss = ts + nodes + 1;
    const fm_rng r = fm_rng_stream(seed, FM_STREAM_SYNTH);
    const int64_t live = nodes - nodes / 4;
    for (int64_t k = 0; k < count; k++) {
        target[k] = (int64_t)(fm_rng_uniform(r, (uint64_t)(2 * k)) * (double)live);
        source[k] = (int64_t)(fm_rng_uniform(r, (uint64_t)(2 * k + 1)) * (double)live);
        if (k % 7 == 0) source[k] = target[k];   // self-loops
    }
    group(nodes, count, target, ts, te, fm_rng_stream(seed, FM_STREAM_ORDER));
    group(nodes, count, source, ss, se, fm_rng_stream(seed + 1, FM_STREAM_ORDER));
    g.s = (fm_edge_set){ nodes, count, target, source, ts, te, ss, se, NULL };
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_edge_set_check(&g.s, msg), FM_OK, "%s", msg);
    return g;
}

gn_cases *gn_cases_new(int64_t n, double p, int64_t general_count, uint64_t seed)
{
    gn_cases *c = calloc(1, sizeof(gn_cases));
    c->lower = gn_lower_fixture_new(n, p, seed);
    c->by_rows = gn_edges_from_lower(c->lower, FM_LOWER_BY_ROWS);
    c->by_columns = gn_edges_from_lower(c->lower, FM_LOWER_BY_COLUMNS);
    c->general = gn_general_set_new(n, general_count, seed + 100);
    c->set[0] = c->by_rows;
    c->set[1] = c->by_columns;
    c->set[2] = &c->general.s;
    c->name[0] = "lower by rows";
    c->name[1] = "lower by columns";
    c->name[2] = "general";
    return c;
}

void gn_cases_free(gn_cases *c)
{
    fm_edge_set_free(&c->by_rows);
    fm_edge_set_free(&c->by_columns);
    free(c->general.arrays);
    gn_lower_fixture_free(c->lower);
    free(c);
}

int64_t gn_targets_without_edges(const fm_edge_set *s)
{
    int64_t none = 0;
    for (int64_t t = 0; t < s->nodes; t++) none += s->by_target_start[t + 1] == s->by_target_start[t];
    return none;
}
