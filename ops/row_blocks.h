// Fixed-size row blocks for the dense ops. Work is split into blocks of
// FM_ROW_BLOCK rows whatever the thread count; a reduction over rows (the
// gradient of a weight, a bias, a layernorm scale) makes one partial per
// block and adds the partials in block order, so its result does not depend
// on the thread count. Partials are made a batch of blocks at a time, which
// bounds their memory.
#ifndef FM_ROW_BLOCKS_H
#define FM_ROW_BLOCKS_H

#include <omp.h>
#include <stdint.h>

#define FM_ROW_BLOCK 256

static inline int64_t fm_row_blocks(int64_t rows) { return (rows + FM_ROW_BLOCK - 1) / FM_ROW_BLOCK; }

// How many blocks of partials (each `partial_size` scalars) to make at once:
// enough to keep every thread busy, at most about 2^24 scalars unless the
// threads need more, never more than `blocks`. The batch changes only how
// much is in flight, never the order of the sum.
static inline int64_t fm_partial_batch(int64_t blocks, int64_t partial_size)
{
    const int64_t threads = omp_get_max_threads();
    int64_t batch = 4 * threads > 16 ? 4 * threads : 16;
    const int64_t fits = partial_size > 0 ? ((int64_t)1 << 24) / partial_size : batch;
    if (batch > fits) batch = fits > threads ? fits : threads;
    if (batch > blocks) batch = blocks;
    return batch > 0 ? batch : 1;
}

#endif
