// The attention block of a Factormer layer, instantiated for float and double.
#include <stdlib.h>
#include <string.h>

#include "attention_block.h"
#include "gemm_rows.h"
#include "linear.h"
#include "status.h"

// The parts of fm_attention_saved, in the order they are carved from its
// block: queries, keys, values, edge_keys, probes, edge_scales, the four sums,
// has_edges. Each starts at a multiple of 16 reals.
#define FM_SAVED_PARTS 11

static void saved_sizes(int64_t sizes[FM_SAVED_PARTS], fm_attention_shape shape)
{
    const int64_t nt = shape.targets, ns = shape.sources, d = shape.width, nh = shape.heads;
    const int64_t all[FM_SAVED_PARTS] = {nt * d, ns * d, ns * d, nt * nh * d, nt * nh * d, nt * nh,
                                         nt * d, nt * nh * d, nt * nh, nt * nh, nt};
    memcpy(sizes, all, sizeof all);
}

static int64_t padded(int64_t count) { return (count + 15) / 16 * 16; }

int64_t fm_attention_saved_count(fm_attention_shape shape)
{
    int64_t sizes[FM_SAVED_PARTS], total = 0;
    saved_sizes(sizes, shape);
    for (int p = 0; p < FM_SAVED_PARTS; p++) total += padded(sizes[p]);
    return total;
}

#define FM_BODY "attention_block.inc"
#include "instantiate.h"
