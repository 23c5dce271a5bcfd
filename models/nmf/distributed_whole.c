// The whole matrix around a distributed run (docs §11): its statistics
// from the processes' blocks, W and H from their owners to process 0, the
// run's costs, and each block's held-out entries; see distributed.h.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "distributed.h"
#include "holdout.h"
#include "status.h"

void fm_distributed_stats(fm_graph_stats *st, fm_comm *comm, const fm_graph *g, const fm_layout *layout)
{
    fm_graph_stats_get(g, st);
    double sums[3] = { (double)st->entries, st->sum, st->sumsq };
    fm_comm_sum(comm, sums, 3);
    // a process with no entries has no minimum or maximum of its own
    const bool any = st->entries > 0;
    st->min = (float)-fm_comm_max(comm, any ? -(double)st->min : -INFINITY);
    st->max = (float)fm_comm_max(comm, any ? (double)st->max : -INFINITY);
    st->rows = layout->rows;
    st->cols = layout->cols;
    st->entries = (int64_t)sums[0];
    st->sum = sums[1];
    st->sumsq = sums[2];
}

int fm_distributed_gather_w(fm_dense **W, fm_comm *comm, const fm_dense *mine, const fm_layout *layout, char *msg)
{
    int64_t *counts = calloc((size_t)comm->size, sizeof *counts);
#define FREE_ALL do { free(counts); fm_dense_free(W); } while (0)
    int status = counts ? FM_OK : fm_fail(FM_ERR_MEMORY, msg, "out of memory");
    if (status == FM_OK && comm->rank == 0) status = fm_dense_new(W, layout->rows, mine->cols, msg);
    FM_TRY(fm_comm_agree(comm, status, msg));   // process 0's W may not fit: the others must not wait for it
    for (int p = 0; p < comm->size; p++) {   // the owned rows follow the processes' order (layout.h)
        const fm_span rows = fm_layout_owned_rows(layout, p);
        counts[p] = rows.end - rows.begin;
    }
    status = fm_comm_gather_root(comm, mine->data, comm->rank == 0 ? (*W)->data : NULL, counts, (int)mine->cols, msg);
    FM_TRY(fm_comm_agree(comm, status, msg));
    free(counts);
    return FM_OK;
#undef FREE_ALL
}

int fm_distributed_gather_h(fm_dense **H, fm_comm *comm, const fm_dense *mine, const fm_layout *layout, char *msg)
{
    int64_t *counts = calloc((size_t)comm->size, sizeof *counts);
    fm_dense *part = NULL, *gathered = NULL, *ordered = NULL;
#define FREE_ALL do { free(counts); fm_dense_free(&part); fm_dense_free(&gathered); fm_dense_free(&ordered); \
                      fm_dense_free(H); } while (0)
    const int k = (int)mine->rows;
    int status = counts ? FM_OK : fm_fail(FM_ERR_MEMORY, msg, "out of memory");
    if (status == FM_OK) status = fm_dense_new(&part, mine->cols, k, msg);   // this process's rows of Hᵀ
    if (status == FM_OK && comm->rank == 0) status = fm_dense_new(&gathered, layout->cols, k, msg);
    if (status == FM_OK && comm->rank == 0) status = fm_dense_new(&ordered, layout->cols, k, msg);
    if (status == FM_OK && comm->rank == 0) status = fm_dense_new(H, k, layout->cols, msg);
    FM_TRY(fm_comm_agree(comm, status, msg));
    fm_dense_transpose(part->data, mine);
    for (int p = 0; p < comm->size; p++) {
        const fm_span cols = fm_layout_owned_cols(layout, p);
        counts[p] = cols.end - cols.begin;
    }
    status = fm_comm_gather_root(comm, part->data, comm->rank == 0 ? gathered->data : NULL, counts, k, msg);
    FM_TRY(fm_comm_agree(comm, status, msg));
    if (comm->rank == 0) {   // the processes' order goes by grid rows first: each part to its own columns
        int64_t at = 0;
        for (int p = 0; p < comm->size; p++) {
            const fm_span cols = fm_layout_owned_cols(layout, p);
            memcpy(ordered->data + cols.begin * k, gathered->data + at * k,
                   sizeof(float) * (size_t)((cols.end - cols.begin) * k));
            at += cols.end - cols.begin;
        }
        fm_dense_transpose((*H)->data, ordered);
    }
    free(counts);
    fm_dense_free(&part);
    fm_dense_free(&gathered);
    fm_dense_free(&ordered);
    return FM_OK;
#undef FREE_ALL
}

void fm_distributed_measure(fm_distributed_figures *f, fm_comm *comm, const fm_comm *before, int iterations)
{
    const double per = iterations > 0 ? 1.0 / iterations : 0;
    f->scatter = fm_comm_max(comm, (comm->sent_scatter - before->sent_scatter) * per);
    f->gather = fm_comm_max(comm, (comm->sent_gather - before->sent_gather) * per);
    f->reductions = fm_comm_max(comm, (comm->sent_reduce - before->sent_reduce) * per);
    f->reading = fm_comm_max(comm, comm->sent_exchange);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    const double peak = (double)usage.ru_maxrss / 1024.0;   // KiB on Linux
    f->peak_most = fm_comm_max(comm, peak);
    f->peak_first = comm->rank == 0 ? peak : 0;
    fm_comm_sum(comm, &f->peak_first, 1);
}

int fm_distributed_holdout(fm_triplets **kept, fm_triplets **held, fm_triplets *mine, const fm_layout *layout,
                           int rank, fm_kind kind, double fraction, uint64_t seed, char *msg)
{
    // the split draws by the global coordinates (holdout.h): as the whole matrix numbers them
    const fm_span r = fm_layout_block_rows(layout, rank), c = fm_layout_block_cols(layout, rank);
    if (kind != FM_KIND_INCOMPLETE)   // every coordinate of the block drawn: a speckled mask
        return fm_holdout_speckle_block(kept, held, mine, r.begin, c.begin, layout->cols, fraction, seed, msg);
    const int64_t rows = mine->rows, cols = mine->cols;
    fm_triplets *sides[3] = { mine, NULL, NULL };
    for (int64_t e = 0; e < mine->count; e++) {
        mine->row[e] += r.begin;
        mine->col[e] += c.begin;
    }
    mine->rows = layout->rows;
    mine->cols = layout->cols;
    const int status = fm_holdout_split(kept, held, mine, fraction, seed, msg);
    if (status == FM_OK) {
        sides[1] = *kept;
        sides[2] = *held;
    }
    for (int side = 0; side < 3 && sides[side]; side++) {   // numbered in the block again
        fm_triplets *t = sides[side];
        for (int64_t e = 0; e < t->count; e++) {
            t->row[e] -= r.begin;
            t->col[e] -= c.begin;
        }
        t->rows = rows;
        t->cols = cols;
    }
    return status;
}
