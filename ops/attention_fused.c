// The fused edge attention, instantiated for float (the engine's path) and
// double (the finite-difference tests).
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include <cblas.h>
#include <omp.h>

#include "attention_fused.h"
#include "profile.h"
#include "status.h"

// The first node of part `part` of `nodes` cut into `parts` with about as
// many edges each (`ptr`: CSR offsets, which may start above 0); part
// `parts` starts at `nodes`.
static int64_t fm_balanced_cut(const GrB_Index *ptr, int64_t nodes, int parts, int part)
{
    if (part == parts) return nodes;
    const GrB_Index want = ptr[0] + (GrB_Index)((double)(ptr[nodes] - ptr[0]) * part / parts);
    int64_t lo = 0, hi = nodes;   // the first node whose edges start at or after `want`
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (ptr[mid] < want) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

// CSR-style offsets of the edges by source (sources + 1 entries), from a
// count of each source's edges: what fm_balanced_cut needs to cut the
// sources. Also checks what the backward's ranges rely on: every target's
// sources increasing (GraphBLAS's and the samplers' CSR arrays are).
static int fm_source_offsets(GrB_Index **offsets, const fm_edges *edges, char *msg)
{
    GrB_Index *by_source = NULL;
#define FREE_ALL free(by_source)
    FM_ALLOC(by_source, edges->sources + 1);
    for (int64_t t = 0; t < edges->targets; t++)
        for (GrB_Index e = edges->ptr[t]; e < edges->ptr[t + 1]; e++) {
            FM_CHECK(e == edges->ptr[t] || edges->idx[e] > edges->idx[e - 1], FM_ERR_INVALID,
                     "attention backward: the in-edges of target %lld are not sorted by source", (long long)t);
            by_source[edges->idx[e] + 1]++;
        }
    for (int64_t s = 0; s < edges->sources; s++) by_source[s + 1] += by_source[s];
    *offsets = by_source;
    return FM_OK;
#undef FREE_ALL
}

// The first of [first, last) (increasing) that is at least `value`.
static const GrB_Index *fm_lower_bound(const GrB_Index *first, const GrB_Index *last, GrB_Index value)
{
    while (first < last) {
        const GrB_Index *mid = first + (last - first) / 2;
        if (*mid < value) first = mid + 1;
        else last = mid;
    }
    return first;
}

#define FM_BODY "attention_fused.inc"
#include "instantiate.h"
