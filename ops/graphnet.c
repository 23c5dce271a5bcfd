// GraphNet operators: the edge sets, and the float and double builds of
// ops/graphnet.inc.
#include "graphnet.h"

#include <stdbool.h>
#include <stdlib.h>

#include "linear.h"
#include "profile.h"
#include "relu.h"
#include "status.h"

// Below this many scalars touched a loop runs on one thread.
#define FM_GRAPHNET_PARALLEL 32768

//------------------------------------------------------------------------------
// Edge sets
//------------------------------------------------------------------------------

int fm_edge_set_from_lower(fm_edge_set **out, const fm_square *g,
                           fm_lower_orientation orientation, char *msg)
{
    fm_edge_set *s = NULL;
    int64_t *row = NULL;
#define FREE_ALL { free(s); free(row); }
    FM_CHECK(out && *out == NULL, FM_ERR_INVALID, "fm_edge_set_from_lower: *out must be NULL");
    FM_CHECK(g && g->lower && g->lower_by_columns && (g->lower_edge || g->lower->count == 0),
             FM_ERR_INVALID, "fm_edge_set_from_lower: the graph has no lower part");
    FM_CHECK(orientation == FM_LOWER_BY_ROWS || orientation == FM_LOWER_BY_COLUMNS,
             FM_ERR_INVALID, "fm_edge_set_from_lower: unknown orientation %d", (int)orientation);
    const fm_csr *lower = g->lower, *by_columns = g->lower_by_columns;
    FM_CHECK(lower->n == g->n && by_columns->n == g->n && by_columns->count == lower->count,
             FM_ERR_INVALID,
             "fm_edge_set_from_lower: the lower part by rows (%lld x %lld, %lld entries) and by "
             "columns (%lld x %lld, %lld entries) disagree",
             (long long)lower->n, (long long)lower->n, (long long)lower->count,
             (long long)by_columns->n, (long long)by_columns->n, (long long)by_columns->count);
    const int64_t n = g->n, count = lower->count;
    FM_ALLOC(s, 1);
    FM_ALLOC(row, count);
    for (int64_t i = 0; i < n; i++)
        for (int64_t p = lower->start[i]; p < lower->start[i + 1]; p++) row[p] = i;
    s->nodes = n;
    s->count = count;
    if (orientation == FM_LOWER_BY_ROWS) {   // edge k: column j → row i
        s->target = row;
        s->source = lower->index;
        s->by_target_start = lower->start;
        s->by_target_edge = NULL;            // entry k of lower is edge k
        s->by_source_start = by_columns->start;
        s->by_source_edge = g->lower_edge;
    } else {                                 // edge k: row i → column j
        s->target = lower->index;
        s->source = row;
        s->by_target_start = by_columns->start;
        s->by_target_edge = g->lower_edge;
        s->by_source_start = lower->start;
        s->by_source_edge = NULL;
    }
    s->owned = row;
    *out = s;
    return FM_OK;
#undef FREE_ALL
}

int fm_edge_set_from_matrix(fm_edge_set **out, const fm_square *g, char *msg)
{
    fm_edge_set *s = NULL;
    int64_t *block = NULL;
#define FREE_ALL { free(s); free(block); }
    FM_CHECK(out && *out == NULL, FM_ERR_INVALID, "fm_edge_set_from_matrix: *out must be NULL");
    FM_CHECK(g && g->A && g->A->n == g->n, FM_ERR_INVALID,
             "fm_edge_set_from_matrix: the graph has no matrix");
    const fm_csr *A = g->A;
    const int64_t n = g->n, count = A->count;
    FM_ALLOC(s, 1);
    // one block: the row of each edge (count), the column starts (n + 1), the
    // edge ids by column (count)
    FM_ALLOC(block, 2 * count + n + 1);
    int64_t *row = block, *column_start = row + count, *column_edge = column_start + n + 1;
    for (int64_t j = 0; j <= n; j++) column_start[j] = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = A->start[i]; k < A->start[i + 1]; k++) {
            const int64_t j = A->index[k];
            FM_CHECK(j >= 0 && j < n, FM_ERR_INVALID,
                     "fm_edge_set_from_matrix: entry %lld of row %lld has column %lld of %lld",
                     (long long)k, (long long)i, (long long)j, (long long)n);
            row[k] = i;
            column_start[j + 1]++;
        }
    for (int64_t j = 0; j < n; j++) column_start[j + 1] += column_start[j];
    // the counting sort: column j's edges in ascending k, its start advanced as
    // it fills, then shifted back by one column
    for (int64_t k = 0; k < count; k++) column_edge[column_start[A->index[k]]++] = k;
    for (int64_t j = n; j > 0; j--) column_start[j] = column_start[j - 1];
    column_start[0] = 0;
    *s = (fm_edge_set){ .nodes = n, .count = count, .target = row, .source = A->index,
                        .by_target_start = A->start, .by_target_edge = NULL,
                        .by_source_start = column_start, .by_source_edge = column_edge,
                        .owned = block };
    *out = s;
    return FM_OK;
#undef FREE_ALL
}

void fm_edge_set_free(fm_edge_set **edges)
{
    if (!edges || !*edges) return;
    free((*edges)->owned);
    free(*edges);
    *edges = NULL;
}

// One grouping (start, ids) of the edges against `node_of` (their target or
// their source); `seen` is count bytes, zeroed.
static int check_groups(const fm_edge_set *s, const int64_t *start, const int64_t *ids,
                        const int64_t *node_of, const char *what, unsigned char *seen, char *msg)
{
#define FREE_ALL
    FM_CHECK(start, FM_ERR_INVALID, "edge set: the by-%s starts are missing", what);
    FM_CHECK(start[0] == 0 && start[s->nodes] == s->count, FM_ERR_INVALID,
             "edge set: the by-%s groups span [%lld, %lld), not the %lld edges", what,
             (long long)start[0], (long long)start[s->nodes], (long long)s->count);
    for (int64_t t = 0; t < s->nodes; t++) {
        FM_CHECK(start[t] <= start[t + 1], FM_ERR_INVALID,
                 "edge set: the by-%s group of node %lld ends before it starts", what,
                 (long long)t);
        for (int64_t p = start[t]; p < start[t + 1]; p++) {
            const int64_t k = ids ? ids[p] : p;
            FM_CHECK(k >= 0 && k < s->count, FM_ERR_INVALID,
                     "edge set: the by-%s group of node %lld lists edge %lld of %lld", what,
                     (long long)t, (long long)k, (long long)s->count);
            FM_CHECK(node_of[k] == t, FM_ERR_INVALID,
                     "edge set: edge %lld (%s %lld) is in the by-%s group of node %lld", (long long)k,
                     what, (long long)node_of[k], what, (long long)t);
            FM_CHECK(!seen[k], FM_ERR_INVALID, "edge set: edge %lld is twice in the by-%s groups",
                     (long long)k, what);
            seen[k] = 1;
        }
    }
    return FM_OK;
#undef FREE_ALL
}

int fm_edge_set_check(const fm_edge_set *s, char *msg)
{
    unsigned char *seen = NULL;
#define FREE_ALL free(seen);
    FM_CHECK(s, FM_ERR_INVALID, "edge set: NULL");
    FM_CHECK(s->nodes >= 0 && s->count >= 0, FM_ERR_INVALID,
             "edge set: %lld nodes and %lld edges", (long long)s->nodes, (long long)s->count);
    FM_CHECK(s->count == 0 || (s->target && s->source), FM_ERR_INVALID,
             "edge set: the targets or the sources of the %lld edges are missing",
             (long long)s->count);
    for (int64_t k = 0; k < s->count; k++)
        FM_CHECK(s->target[k] >= 0 && s->target[k] < s->nodes && s->source[k] >= 0 &&
                     s->source[k] < s->nodes,
                 FM_ERR_INVALID, "edge set: edge %lld goes from node %lld to node %lld of %lld",
                 (long long)k, (long long)s->source[k], (long long)s->target[k],
                 (long long)s->nodes);
    FM_ALLOC(seen, s->count);
    FM_TRY(check_groups(s, s->by_target_start, s->by_target_edge, s->target, "target", seen, msg));
    for (int64_t k = 0; k < s->count; k++) seen[k] = 0;
    FM_TRY(check_groups(s, s->by_source_start, s->by_source_edge, s->source, "source", seen, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// The ops
//------------------------------------------------------------------------------

#define FM_BODY "graphnet.inc"
#include "instantiate.h"
