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
// sources.
static int fm_source_offsets(GrB_Index **offsets, const fm_edges *edges, char *msg)
{
#define FREE_ALL
    GrB_Index *by_source = NULL;
    FM_ALLOC(by_source, edges->sources + 1);
    for (GrB_Index e = edges->ptr[0]; e < edges->ptr[edges->targets]; e++) by_source[edges->idx[e] + 1]++;
    for (int64_t s = 0; s < edges->sources; s++) by_source[s + 1] += by_source[s];
    *offsets = by_source;
    return FM_OK;
#undef FREE_ALL
}

#define FM_BODY "attention_fused.inc"
#include "instantiate.h"
