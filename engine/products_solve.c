// y = A x and the triangular solves over double CSR (engine/square.h; docs
// P2.1), each beside its plain serial reference.
//
// Every row is computed by one thread with one fixed sequence of operations,
// whatever the thread count or the order the rows are visited in, so the
// results are bitwise the same for any number of threads.
#include "square.h"
#include "solve_walk.h"

#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

// Below this many entries the products run on one thread: waking a sleeping
// team (13.5 us under the passive wait policy, perf/README.md) costs more than
// the work (2^17 entries take about 100 us).
#define FM_SPMV_PARALLEL_ENTRIES 131072

//------------------------------------------------------------------------------
// y = A x
//------------------------------------------------------------------------------

void fm_spmv_reference(const fm_csr *A, const double *x, double *y)
{
    for (int64_t i = 0; i < A->n; i++) {
        double sum = 0;
        for (int64_t k = A->start[i]; k < A->start[i + 1]; k++) sum += A->value[k] * x[A->index[k]];
        y[i] = sum;
    }
}

// The dot product of a row's values with x at its columns [from, to), in
// two running sums (the row's even and odd entries, counted from its first),
// added at the end: the same bits on every target. The pairs are formed by
// hand, two values in one load and two x's in two (engine/solve_walk.h's
// fm_solve_pair), as GCC vectorized the plain loop for SSE2; the file
// compiles without vectorization (CMakeLists.txt), since with AVX-512 GCC
// gathered x instead, 1.45x slower on Zen 5. Four scalar sums ran as fast
// alone but 2% slower inside PCG (perf/README.md).
static inline double row_dot(const int64_t *restrict index, const double *restrict value,
                             const double *restrict x, int64_t from, int64_t to)
{
    fm_solve_pair sum = { 0, 0 }, v;
    int64_t k = from;
    for (; k + 2 <= to; k += 2) {
        memcpy(&v, value + k, sizeof v);
        sum += v * (fm_solve_pair){ x[index[k]], x[index[k + 1]] };
    }
    if (k < to) sum[0] += value[k] * x[index[k]];
    return sum[0] + sum[1];
}

// Rows this short on average are summed one entry after another: the
// vector reduction's set-up and final sum cost more than it saves on the
// 5-point grid's 5 entries (41 against 34 GB/s at g = 300, perf/README.md).
#define FM_SPMV_SHORT_ROW 8

void fm_spmv(const fm_csr *A, const double *x, double *y)
{
    const int64_t n = A->n;
    const int64_t *restrict start = A->start;
    const int64_t *restrict index = A->index;
    const double *restrict value = A->value;
    if (A->count < FM_SPMV_SHORT_ROW * n) {
#pragma omp parallel for schedule(static) if (A->count >= FM_SPMV_PARALLEL_ENTRIES)
        for (int64_t i = 0; i < n; i++) {
            double sum = 0;
            for (int64_t k = start[i]; k < start[i + 1]; k++) sum += value[k] * x[index[k]];
            y[i] = sum;
        }
        return;
    }
#pragma omp parallel for schedule(static) if (A->count >= FM_SPMV_PARALLEL_ENTRIES)
    for (int64_t i = 0; i < n; i++) y[i] = row_dot(index, value, x, start[i], start[i + 1]);
}

//------------------------------------------------------------------------------
// Level schedules and strips
//------------------------------------------------------------------------------

// The strips' size: the smallest of FM_SOLVE_STRIP_MIN · 2^k entries (up to
// FM_SOLVE_STRIP_MAX) whose local levels hold FM_SOLVE_LOCAL_TARGET rows on
// average: enough divisions in flight to hide one's latency (about 4 at
// once), and no wider than that, since a local level's rows are apart in
// memory (for the grid of width g a strip is a band of about
// FM_SOLVE_LOCAL_TARGET grid rows, and a local level one cell of each). The
// sizes measured on the 5-point grids: perf/README.md, bench_solve_kernels.
#define FM_SOLVE_STRIP_MAX (1 << 20)
#define FM_SOLVE_LOCAL_TARGET 8

void fm_levels_free(fm_levels **levels)
{
    if (!levels || !*levels) return;
    free((*levels)->start);
    free((*levels)->rows);
    free((*levels)->level);
    free((*levels)->strip_start);
    free((*levels)->order);
    free((*levels)->position);
    free((*levels)->split_order);
    free((*levels)->split_need);
    fm_csr_free(&(*levels)->stages_far);
    fm_csr_free(&(*levels)->stages_near);
    fm_csr_free(&(*levels)->split_rows);
    free((*levels)->trial);
    free(*levels);
    *levels = NULL;
}

// Row i of a lower T (by rows) must end with its diagonal and hold only j < i
// before it; of an upper one, begin with it and hold only j > i after it.
static int check_triangular(const fm_csr *T, bool lower, char *msg)
{
    for (int64_t i = 0; i < T->n; i++) {
        const int64_t from = T->start[i], to = T->start[i + 1];
        if (to <= from || T->index[lower ? to - 1 : from] != i)
            return fm_fail(FM_ERR_INVALID, msg, "row %lld of the %s triangular matrix does not %s with its "
                           "diagonal entry", (long long)i + 1, lower ? "lower" : "upper", lower ? "end" : "begin");
        for (int64_t k = from + !lower; k < to - lower; k++)
            if (lower ? T->index[k] >= i : T->index[k] <= i)
                return fm_fail(FM_ERR_INVALID, msg, "entry (%lld, %lld) lies %s the diagonal of a %s triangular "
                               "matrix", (long long)i + 1, (long long)T->index[k] + 1,
                               lower ? "above" : "below", lower ? "lower" : "upper");
    }
    return FM_OK;
}

// The strip holding `step`: the last k in [0, below) with strip_start[k] ≤ step.
static inline int64_t strip_of(const int64_t *strip_start, int64_t below, int64_t step)
{
    int64_t from = 0, to = below - 1;
    while (from < to) {
        const int64_t mid = to - (to - from) / 2;
        if (strip_start[mid] <= step) from = mid;
        else to = mid - 1;
    }
    return from;
}

// The walk with 2 threads, as a model: rows in order, each thread's clock
// advanced by 1 + the row's entries, a row that reads the other thread's
// strip starting no earlier than that row's finish + FM_SOLVE_WAIT_COST.
// `strip` (n) receives each step's strip.
static double model_speedup(const fm_levels *levels, const fm_csr *T, double *finish, int64_t *strip)
{
    const int64_t n = T->n;
    for (int64_t k = 0; k < levels->strips; k++)
        for (int64_t step = levels->strip_start[k]; step < levels->strip_start[k + 1]; step++) strip[step] = k;
    double clock[2] = { 0, 0 }, total = 0;
    for (int64_t k = 0; k < levels->strips; k++) {
        const int me = (int)(k % 2);
        const int64_t lo = levels->strip_start[k];
        for (int64_t q = lo; q < levels->strip_start[k + 1]; q++) {
            const int64_t i = levels->order[q];
            const int64_t from = T->start[i] + !levels->lower, to = T->start[i + 1] - levels->lower;
            double begin = clock[me];
            for (int64_t e = from; e < to; e++) {
                const int64_t j = T->index[e], step = fm_solve_step(j, n, levels->lower);
                if (step < lo && strip[step] % 2 != me) {
                    const double ready = finish[levels->position[j]] + FM_SOLVE_WAIT_COST;
                    if (ready > begin) begin = ready;
                }
            }
            const double cost = 1.0 + (double)(T->start[i + 1] - T->start[i]);
            total += cost;
            clock[me] = finish[q] = begin + cost;
        }
    }
    const double span = clock[0] > clock[1] ? clock[0] : clock[1];
    return span > 0 ? total / span : 1;
}

int fm_levels_restrip(fm_levels *levels, const fm_csr *T, int64_t strip_entries, char *msg)
{
    int64_t *strip_start = NULL, *order = NULL, *position = NULL, *local = NULL, *next = NULL;
    double *finish = NULL;
#undef FREE_ALL
#define FREE_ALL \
    do { free(strip_start); free(order); free(position); free(local); free(next); free(finish); } while (0)
    FM_CHECK(levels && T && strip_entries >= 1 && T->n == levels->start[levels->count] &&
             T->count == levels->entries, FM_ERR_INVALID,
             "fm_levels_restrip: bad arguments (not T's schedule, or %lld entries a strip)", (long long)strip_entries);
    const int64_t n = T->n;
    const bool lower = levels->lower;
    // the cuts: a strip closes once it holds strip_entries entries
    int64_t strips = 0, held = 0;
    for (int64_t step = 0; step < n; step++) {
        const int64_t i = fm_solve_step(step, n, lower);
        held += T->start[i + 1] - T->start[i];
        if (held >= strip_entries || step == n - 1) strips++, held = 0;
    }
    FM_ALLOC(strip_start, strips + 1);
    FM_ALLOC(order, n);
    FM_ALLOC(position, n);
    FM_ALLOC(local, n);
    FM_ALLOC(next, n + 1);
    strips = 0, held = 0;
    for (int64_t step = 0; step < n; step++) {
        const int64_t i = fm_solve_step(step, n, lower);
        held += T->start[i + 1] - T->start[i];
        if (held >= strip_entries || step == n - 1) strip_start[++strips] = step + 1, held = 0;
    }
    // each strip by its local levels (a counting sort), rows ascending within
    // one: for U too, whose walk descends from level to level (with the rows
    // by step, descending within a level as well, the upper solve of the grid
    // gained 1.1-1.2x over the reference at g = 500 against 1.4-1.9x)
    int64_t local_levels = 0;
    for (int64_t k = 0; k < strips; k++) {
        const int64_t lo = strip_start[k], hi = strip_start[k + 1];
        int64_t count = 0;
        for (int64_t step = lo; step < hi; step++) {
            const int64_t i = fm_solve_step(step, n, lower);
            int64_t mine = 0;
            for (int64_t e = T->start[i] + !lower; e < T->start[i + 1] - lower; e++) {
                const int64_t j = T->index[e];
                if (fm_solve_step(j, n, lower) >= lo && local[j] + 1 > mine) mine = local[j] + 1;
            }
            local[i] = mine;
            if (mine + 1 > count) count = mine + 1;
        }
        local_levels += count;
        memset(next, 0, sizeof(int64_t) * (size_t)(count + 1));
        for (int64_t step = lo; step < hi; step++) next[local[fm_solve_step(step, n, lower)] + 1]++;
        next[0] = lo;
        for (int64_t l = 0; l < count; l++) next[l + 1] += next[l];
        for (int64_t r = 0; r < hi - lo; r++) {
            const int64_t i = fm_solve_step(lower ? lo + r : hi - 1 - r, n, lower);
            position[i] = next[local[i]]++;
            order[position[i]] = i;
        }
    }
    free(levels->strip_start);
    free(levels->order);
    free(levels->position);
    levels->strip_entries = strip_entries;
    levels->strips = strips;
    levels->local_width = (double)n / (double)local_levels;
    if (levels->trial) fm_solve_trial_reset(levels->trial); // timed on other strips
    levels->strip_start = strip_start;
    levels->order = order;
    levels->position = position;
    strip_start = order = position = NULL;
    FM_ALLOC(finish, n);
    levels->modeled_speedup = model_speedup(levels, T, finish, next); // next: n + 1, free again
    FREE_ALL;
    return FM_OK;
}

int fm_levels_new(fm_levels **out, const fm_csr *T, bool lower, char *msg)
{
    fm_levels *levels = NULL;
    int64_t *next = NULL;
#undef FREE_ALL
#define FREE_ALL do { fm_levels_free(&levels); free(next); } while (0)
    FM_CHECK(out && !*out && T, FM_ERR_INVALID, "fm_levels_new: bad arguments");
    FM_TRY(check_triangular(T, lower, msg));
    const int64_t n = T->n;
    FM_ALLOC(levels, 1);
    FM_ALLOC(levels->level, n);
    int64_t *level = levels->level;
    // level(i) = 1 + the highest level of the rows row i reads (0 for none);
    // those rows come before i (lower) or after it (upper)
    int64_t count = 0;
    for (int64_t step = 0; step < n; step++) {
        const int64_t i = fm_solve_step(step, n, lower);
        int64_t mine = 0;
        for (int64_t k = T->start[i] + !lower; k < T->start[i + 1] - lower; k++) {
            const int64_t above = level[T->index[k]] + 1;
            if (above > mine) mine = above;
        }
        level[i] = mine;
        if (mine + 1 > count) count = mine + 1;
    }
    levels->count = count;
    levels->lower = lower;
    levels->entries = T->count;
    levels->path = FM_SOLVE_AUTO;
    FM_TRY(fm_solve_trial_new(&levels->trial, msg));
    FM_ALLOC(levels->start, count + 1);
    FM_ALLOC(levels->rows, n);
    // a counting sort by level: rows ascending within a level
    for (int64_t i = 0; i < n; i++) levels->start[level[i] + 1]++;
    for (int64_t l = 0; l < count; l++) levels->start[l + 1] += levels->start[l];
    FM_ALLOC(next, count);
    memcpy(next, levels->start, sizeof(int64_t) * (size_t)count);
    for (int64_t i = 0; i < n; i++) levels->rows[next[level[i]]++] = i;
    free(next);
    next = NULL;
    for (int64_t size = FM_SOLVE_STRIP_MIN; size <= FM_SOLVE_STRIP_MAX; size *= 2) {
        FM_TRY(fm_levels_restrip(levels, T, size, msg));
        if (levels->local_width >= FM_SOLVE_LOCAL_TARGET || levels->strips == 1) break;
    }
    FM_TRY(fm_levels_split(levels, T, msg));
    FM_TRY(fm_levels_stages(levels, T, msg));
    *out = levels;
    return FM_OK;
}

//------------------------------------------------------------------------------
// Triangular solves
//------------------------------------------------------------------------------

void fm_solve_lower_reference(const fm_csr *L, const double *b, double *x)
{
    for (int64_t i = 0; i < L->n; i++) {
        const int64_t diagonal = L->start[i + 1] - 1;
        double sum = b[i];
        for (int64_t k = L->start[i]; k < diagonal; k++) sum -= L->value[k] * x[L->index[k]];
        x[i] = sum / L->value[diagonal];
    }
}

// Two rows at a time where the second does not read the first (its nearest
// entry, L's last before the diagonal or U's first after it, is not the
// first row), else one (engine/solve_walk.h's fm_solve_sums_two).
void fm_solve_serial(const fm_csr *T, bool lower, const double *b, double *x)
{
    const int64_t n = T->n;
    int64_t step = 0;
    while (step + 1 < n) {
        const int64_t i = fm_solve_step(step, n, lower), i2 = fm_solve_step(step + 1, n, lower);
        if (fm_solve_reads_previous(T, lower, i2)) {
            fm_solve_row(T, i, lower, b, x, i);
            step++;
            continue;
        }
        fm_solve_two_rows(T, lower, i, i2, b, x);
        step += 2;
    }
    if (step < n) {
        const int64_t i = fm_solve_step(step, n, lower);
        fm_solve_row(T, i, lower, b, x, i);
    }
}

// Each row's entries from the last to the first, so that memory is read in
// one descending stream and the row just solved (x_{i+1}, the nearest) enters
// the sum last: ascending, the prefetchers lost the stream at every row and
// the solve took 2.5x the lower one's time inside PCG on the random SPD class
// (perf/README.md).
void fm_solve_upper_reference(const fm_csr *U, const double *b, double *x)
{
    for (int64_t i = U->n - 1; i >= 0; i--) {
        const int64_t diagonal = U->start[i];
        double sum = b[i];
        for (int64_t k = U->start[i + 1] - 1; k > diagonal; k--) sum -= U->value[k] * x[U->index[k]];
        x[i] = sum / U->value[diagonal];
    }
}

// The walk of the strips (fm_levels in square.h), with point-to-point
// synchronization instead of a barrier per level (as in Park et al.,
// "Sparsifying synchronization for high-performance shared-memory sparse
// triangular solver", ISC 2014):
//
// - thread t solves strips t, t + T, …, each in its order (local levels);
// - it publishes "every row of mine at a position below P is solved" (at the
//   end of each strip, every FM_SOLVE_PUBLISH_ROWS rows, and before it
//   waits), on a cache line of its own;
// - a row that reads x_j of another thread's strip waits until that thread
//   has published past j's position. Rows of its own strips it solved
//   before: an earlier strip of its own, or an earlier local level.
//
// No deadlock: a row waits only for a row at a lower position (an earlier
// strip), and a thread publishes everything it solved before it waits, so
// along any chain of waiting threads the positions they wait at strictly
// decrease; the thread at the lowest never waits. Each row is solved with the
// reference's arithmetic after the rows it reads are final, so x is bitwise
// the reference's for any thread count and any strip size.

// Thread `me` of `team` (done: the team's progress, NULL for a team of one).
static void walk(const fm_csr *T, const fm_levels *levels, const double *b, double *x, int me, int team,
                 fm_solve_progress *done)
{
    const int64_t n = T->n, strips = levels->strips;
    const bool lower = levels->lower;
    const int64_t *restrict start = T->start;
    const int64_t *restrict index = T->index;
    const int64_t *restrict order = levels->order;
    const int64_t *restrict strip_start = levels->strip_start;
    const int64_t *restrict position = levels->position;
    int64_t seen[FM_SOLVE_MAX_THREADS] = { 0 }; // the progress last read of each thread
    int unpublished = 0;
    for (int64_t k = me; k < strips; k += team) {
        const int64_t lo = strip_start[k], hi = strip_start[k + 1];
        const int64_t edge = lower ? lo : n - 1 - lo; // rows before it (L: below, U: above) are earlier strips'
        for (int64_t q = lo; q < hi; q++) {
            const int64_t i = order[q];
            const int64_t from = start[i] + !lower, to = start[i + 1] - lower;
            if (team > 1 && from < to && (lower ? index[from] < edge : index[to - 1] > edge)) {
                for (int64_t e = from; e < to; e++) {
                    const int64_t j = index[e], step = fm_solve_step(j, n, lower);
                    if (step >= lo) continue;
                    // its strip: most often the one just before
                    const int64_t strip = step >= strip_start[k - 1] ? k - 1 : strip_of(strip_start, k - 1, step);
                    const int owner = (int)(strip % team);
                    if (owner == me || seen[owner] > position[j]) continue;
                    fm_solve_publish(&done[me], q);
                    unpublished = 0;
                    // the owner's strip depends only on strips before mine: it can reach its end
                    // without me
                    const int64_t slack = position[j] + 1 + FM_SOLVE_SLACK_ROWS, strip_end = strip_start[strip + 1];
                    seen[owner] = fm_solve_wait(&done[owner], slack < strip_end ? slack : strip_end);
                }
            }
            fm_solve_row(T, i, lower, b, x, i);
            if (team > 1 && ++unpublished == FM_SOLVE_PUBLISH_ROWS) {
                fm_solve_publish(&done[me], q + 1);
                unpublished = 0;
            }
        }
        if (team > 1) fm_solve_publish(&done[me], hi);
        unpublished = 0;
    }
}

void fm_solve_strips(const fm_csr *T, const fm_levels *levels, const double *b, double *x, int threads)
{
    if (threads <= 1) {
        walk(T, levels, b, x, 0, 1, NULL);
        return;
    }
    fm_solve_progress done[FM_SOLVE_MAX_THREADS];
    int team = 1;
#pragma omp parallel num_threads(threads)
    {
#pragma omp single
        {
            // the team may be smaller than asked for
            team = omp_get_num_threads();
            for (int t = 0; t < team; t++) atomic_init(&done[t].position, 0);
        }
        walk(T, levels, b, x, omp_get_thread_num(), team, done);
    }
}
