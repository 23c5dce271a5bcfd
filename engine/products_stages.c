// The triangular solves' third schedule for two threads (fm_levels in
// engine/square.h; docs P2.1, "Two stages"): each row's sum cut in two, its
// far entries (rows more than w steps back) summed by one thread running
// ahead, its near entries and the division by the other.
//
// Why: where rows read at random across all earlier rows (the random SPD
// class, P7), no closed set is smaller than a prefix (engine/products_split.c
// finds none), the levels are narrow and the strips' model predicts no gain:
// the serial loop ran on one core while the other waited. But a row's sum is
// one sequence, b_i minus its terms in the reference's order (L's entries
// ascending, U's descending: the farthest rows first in both), so it can be
// handed over midway: the far thread computes s_i = b_i − Σ_far l_ij x_j as
// soon as every far x_j is final (the near thread has passed row i − w); the
// near thread finishes x_i = (s_i − Σ_near l_ij x_j) / l_ii. The operations
// and their order are the reference's, so x is bitwise the serial loop's.
// Each thread reads its part of every row from a copy of its own (T's rows
// cut in two): reading T, both would stream every cache line of T, each at
// one core's rate, and the pair took as long as the serial loop. The pair
// pays where the factor is out of cache (1.8x on a random SPD matrix of
// n = 50 000); in cache (n = 10 000) it ran 1.5-2x faster alone
// (2026-12-05, both threads taking two rows at a time), but inside PCG,
// where every x_j and s_i crossing between the cores competes with A's
// traffic, about as fast as the serial loop: AUTO's trial takes it for Lᵀ
// on most systems of that class and the serial loop for L (perf/README.md).
//
// w is chosen from the entries' reach (in steps) so that the far thread's
// work (its entries) and the near thread's (its entries and 2 a row for the
// division and the hand-over) are nearest equal; where the better of the two
// would leave the pair below FM_SOLVE_MODELED_SPEEDUP, or w is below
// FM_STAGES_MIN_REACH rows (the threads would run at each other's heels:
// the grid, whose far half is one entry a row, is the sets' case), T has no
// stages.
#include <math.h>
#include <stdlib.h>

#include <omp.h>

#include "solve_walk.h"
#include "status.h"

#define FM_STAGES_MIN_REACH 256
#define FM_STAGES_ROW_COST 2

// T's rows cut at reach: far, the entries beyond it; near, the rest with the
// diagonal (each row's entries in T's order).
static int cut_rows(const fm_csr *T, bool lower, int64_t reach, int64_t far_count, fm_csr **far, fm_csr **near,
                    char *msg)
{
    const int64_t n = T->n;
#define FREE_ALL do { } while (0) // the caller frees both
    FM_TRY(fm_csr_new(far, n, far_count, msg));
    FM_TRY(fm_csr_new(near, n, T->count - far_count, msg));
#undef FREE_ALL
    int64_t f = 0, k = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t e = T->start[i]; e < T->start[i + 1]; e++) {
            const int64_t j = T->index[e], back = lower ? i - j : j - i;
            fm_csr *to = back > reach ? *far : *near;
            int64_t *at = back > reach ? &f : &k;
            to->index[*at] = j;
            to->value[(*at)++] = T->value[e];
        }
        (*far)->start[i + 1] = f;
        (*near)->start[i + 1] = k;
    }
    return FM_OK;
}

int fm_levels_stages(fm_levels *levels, const fm_csr *T, char *msg)
{
    int64_t *far = NULL;
#define FREE_ALL free(far)
    const int64_t n = T->n;
    const bool lower = levels->lower;
    fm_csr_free(&levels->stages_far);
    fm_csr_free(&levels->stages_near);
    levels->stages_reach = 0;
    levels->stages_speedup = 1;
    if (levels->entries < FM_SOLVE_PARALLEL_ENTRIES || n < 2 * FM_STAGES_MIN_REACH) return FM_OK;
    // far[d]: the off-diagonal entries that reach d steps back
    FM_ALLOC(far, n + 1);
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = T->start[i] + !lower; e < T->start[i + 1] - lower; e++)
            far[lower ? i - T->index[e] : T->index[e] - i]++;
    const int64_t offdiagonal = T->count - n;
    // with reach w: the far thread takes the entries reaching beyond w
    int64_t beyond = offdiagonal, reach = 0, far_count = 0;
    double best = INFINITY;
    for (int64_t w = 1, within = 0; w < n; w++) {
        within += far[w], beyond -= far[w];
        const double span = fmax((double)beyond, (double)(within + FM_STAGES_ROW_COST * n));
        if (w >= FM_STAGES_MIN_REACH && span < best) best = span, reach = w, far_count = beyond;
    }
    const double speedup = (double)(offdiagonal + FM_STAGES_ROW_COST * n) / best;
    free(far);
    far = NULL;
    if (reach == 0 || speedup < FM_SOLVE_MODELED_SPEEDUP) return FM_OK;
    fm_csr *far_rows = NULL, *near_rows = NULL;
    const int status = cut_rows(T, lower, reach, far_count, &far_rows, &near_rows, msg);
    if (status != FM_OK) {
        fm_csr_free(&far_rows);
        fm_csr_free(&near_rows);
        return status;
    }
    levels->stages_far = far_rows;
    levels->stages_near = near_rows;
    levels->stages_reach = reach;
    levels->stages_speedup = speedup;
    return FM_OK;
#undef FREE_ALL
}

// The rows a thread waits for beyond what it needs (FM_SOLVE_SLACK_ROWS), at
// most a quarter of the reach: the two threads' slacks together stay under
// it, so neither waits for a row the other cannot reach without it.
static int64_t stage_slack(int64_t reach)
{
    return reach / 4 < FM_SOLVE_SLACK_ROWS ? reach / 4 : FM_SOLVE_SLACK_ROWS;
}

// The far thread: s_i for every row, in steps, each once the near thread has
// passed the row w steps back; the far rows' entries in T's order (U's
// backwards, as the reference).
static void walk_far(const fm_levels *levels, const double *b, const double *x, double *partial,
                     fm_solve_progress *done)
{
    const fm_csr *rows = levels->stages_far;
    const int64_t n = rows->n, reach = levels->stages_reach;
    const bool lower = levels->lower;
    const int64_t *restrict start = rows->start;
    const int64_t *restrict index = rows->index;
    const double *restrict value = rows->value;
    const int64_t slack = stage_slack(reach);
    int64_t seen = 0; // the near thread's progress, last read
    int unpublished = 0;
    // two rows a step (fm_solve_sums_two): the far sums read only rows the
    // near thread has passed, never each other
    for (int64_t step = 0; step < n; step += 2) {
        const int64_t last = step + 1 < n ? step + 1 : step;
        // their far rows are at steps below last − reach
        if (last - reach > seen) {
            fm_solve_publish(&done[1], step);
            unpublished = 0;
            const int64_t want = last - reach + slack;
            seen = fm_solve_wait(&done[0], want < step ? want : step);
        }
        const int64_t i = fm_solve_step(step, n, lower);
        if (last == step) {
            partial[i] = fm_solve_sum(index, value, x, start[i], start[i + 1], lower, b[i]);
        } else {
            const int64_t i2 = fm_solve_step(last, n, lower);
            double sum = b[i], sum2 = b[i2];
            fm_solve_sums_two(index, value, x, start[i], start[i + 1], start[i2], start[i2 + 1], lower, &sum, &sum2);
            partial[i] = sum;
            partial[i2] = sum2;
        }
        unpublished += 2;
        if (unpublished >= FM_SOLVE_PUBLISH_ROWS) {
            fm_solve_publish(&done[1], last + 1);
            unpublished = 0;
        }
    }
    fm_solve_publish(&done[1], n);
}

// The near thread: x_i from s_i and the near rows, in steps, each once the
// far thread has left s_i; two rows at once where the second does not read
// the first (fm_solve_two_rows).
static void walk_near(const fm_levels *levels, const double *partial, double *x, fm_solve_progress *done)
{
    const fm_csr *rows = levels->stages_near;
    const int64_t n = rows->n, reach = levels->stages_reach;
    const bool lower = levels->lower;
    const int64_t slack = stage_slack(reach);
    int64_t seen = 0; // the far thread's progress, last read
    int unpublished = 0;
    for (int64_t step = 0; step < n;) {
        if (step + 1 >= seen) { // s_i of this step and the next
            fm_solve_publish(&done[0], step);
            unpublished = 0;
            const int64_t want = step + 2 + slack;
            seen = fm_solve_wait(&done[1], want < n ? want : n);
        }
        const int64_t i = fm_solve_step(step, n, lower), i2 = fm_solve_step(step + 1, n, lower);
        if (step + 1 < n && !fm_solve_reads_previous(rows, lower, i2)) {
            fm_solve_two_rows(rows, lower, i, i2, partial, x);
            step += 2;
            unpublished += 2;
        } else {
            fm_solve_row(rows, i, lower, partial, x, i);
            step++;
            unpublished++;
        }
        if (unpublished >= FM_SOLVE_PUBLISH_ROWS) {
            fm_solve_publish(&done[0], step);
            unpublished = 0;
        }
    }
    fm_solve_publish(&done[0], n);
}

void fm_solve_stages(const fm_csr *T, const fm_levels *levels, const double *b, double *x, int threads)
{
    // the hand-over: s_i, written by one thread and read by the other once
    double *partial = threads > 1 ? malloc(sizeof(double) * (size_t)T->n) : NULL;
    if (!partial) { // one thread, or no memory for the hand-over: the serial loop, the same x
        fm_solve_serial(T, levels->lower, b, x);
        return;
    }
    fm_solve_progress done[2];
    atomic_init(&done[0].position, 0);
    atomic_init(&done[1].position, 0);
#pragma omp parallel num_threads(2)
    {
        // a team of one (the runtime's limit): the serial loop
        if (omp_get_num_threads() < 2) {
            fm_solve_serial(T, levels->lower, b, x);
        } else if (omp_get_thread_num() == 0) {
            walk_near(levels, partial, x, done);
        } else {
            walk_far(levels, b, x, partial, done);
        }
    }
    free(partial);
}
