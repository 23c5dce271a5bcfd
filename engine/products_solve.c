// y = A x and the triangular solves over double CSR (engine/square.h), each
// beside its plain serial reference.
//
// Every row is computed by one thread with one fixed sequence of operations,
// whatever the thread count or the order the rows are visited in, so the
// results are bitwise the same for any number of threads.
#include "square.h"

#include <omp.h>
#include <sched.h>
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

// The dot product of a row's values with x at its columns [from, to).
static inline double row_dot(const int64_t *restrict index, const double *restrict value,
                             const double *restrict x, int64_t from, int64_t to)
{
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t k = from; k < to; k++) sum += value[k] * x[index[k]];
    return sum;
}

void fm_spmv(const fm_csr *A, const double *x, double *y)
{
    const int64_t n = A->n;
    const int64_t *restrict start = A->start;
    const int64_t *restrict index = A->index;
    const double *restrict value = A->value;
#pragma omp parallel for schedule(static) if (A->count >= FM_SPMV_PARALLEL_ENTRIES)
    for (int64_t i = 0; i < n; i++) y[i] = row_dot(index, value, x, start[i], start[i + 1]);
}

//------------------------------------------------------------------------------
// Level schedules
//------------------------------------------------------------------------------

void fm_levels_free(fm_levels **levels)
{
    if (!levels || !*levels) return;
    free((*levels)->start);
    free((*levels)->rows);
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

int fm_levels_new(fm_levels **out, const fm_csr *T, bool lower, char *msg)
{
    fm_levels *levels = NULL;
    int64_t *level = NULL, *next = NULL;
#undef FREE_ALL
#define FREE_ALL do { fm_levels_free(&levels); free(level); free(next); } while (0)
    FM_CHECK(out && !*out && T, FM_ERR_INVALID, "fm_levels_new: bad arguments");
    FM_TRY(check_triangular(T, lower, msg));
    const int64_t n = T->n;
    FM_ALLOC(level, n);
    // level(i) = 1 + the highest level of the rows row i reads (0 for none);
    // those rows come before i (lower) or after it (upper)
    int64_t count = 0;
    for (int64_t step = 0; step < n; step++) {
        const int64_t i = lower ? step : n - 1 - step;
        int64_t mine = 0;
        for (int64_t k = T->start[i] + !lower; k < T->start[i + 1] - lower; k++) {
            const int64_t above = level[T->index[k]] + 1;
            if (above > mine) mine = above;
        }
        level[i] = mine;
        if (mine + 1 > count) count = mine + 1;
    }
    FM_ALLOC(levels, 1);
    levels->count = count;
    FM_ALLOC(levels->start, count + 1);
    FM_ALLOC(levels->rows, n);
    for (int64_t i = 0; i < n; i++) levels->start[level[i] + 1]++;
    for (int64_t l = 0; l < count; l++) levels->start[l + 1] += levels->start[l];
    // a counting sort by level: rows ascending within a level
    FM_ALLOC(next, count);
    memcpy(next, levels->start, sizeof(int64_t) * (size_t)count);
    for (int64_t i = 0; i < n; i++) levels->rows[next[level[i]]++] = i;
    free(next);
    free(level);
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

void fm_solve_upper_reference(const fm_csr *U, const double *b, double *x)
{
    for (int64_t i = U->n - 1; i >= 0; i--) {
        const int64_t diagonal = U->start[i];
        double sum = b[i];
        for (int64_t k = diagonal + 1; k < U->start[i + 1]; k++) sum -= U->value[k] * x[U->index[k]];
        x[i] = sum / U->value[diagonal];
    }
}

// The pipelined level schedule (point-to-point synchronization instead of a
// barrier per level, as in Park et al., "Sparsifying synchronization for
// high-performance shared-memory sparse triangular solver", ISC 2014):
//
// - the rows are cut into one contiguous block per thread, balanced by
//   entries; each thread solves the rows of its block level by level, and
//   after each level publishes how many levels it has completed;
// - a row that reads x_j of another thread's block first waits until that
//   thread has completed every level before the row's own (x_j's level is
//   one of them); rows of its own block were solved earlier by the thread
//   itself.
//
// For the grid in natural order the blocks are bands of grid rows: only the
// rows next to a band's edge read another thread's x, and the band below
// trails the one above by a level, with no barrier at all (a barrier per
// level costs more than a level's work on grids up to a few hundred wide).
// No thread waits for a later one in the direction of the solve (L: a block
// reads only blocks before it; U: after it), so the pipeline cannot
// deadlock. Each row is solved with the reference's arithmetic after the rows
// it reads are final, so x is bitwise the reference's for any thread count.

// At most this many threads share a solve.
#define FM_SOLVE_MAX_THREADS 64
// Fewer entries than this, or fewer rows a level on average than this times
// the threads: the serial loop (the pipeline would mostly wait).
#define FM_SOLVE_PARALLEL_ENTRIES 131072
#define FM_SOLVE_ROWS_PER_THREAD_LEVEL 16

typedef struct progress {
    _Alignas(64) _Atomic int64_t levels; // levels this thread has completed
} progress;

static inline void pause_briefly(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Wait until `owner` has completed `levels` levels (spinning, then yielding
// the core: another thread of the team may be waiting for it).
static void wait_for(progress *owner, int64_t levels)
{
    for (int spins = 0; atomic_load_explicit(&owner->levels, memory_order_acquire) < levels; spins++) {
        if (spins < 2000) pause_briefly();
        else sched_yield();
    }
}

// The first position in rows[from, to) (ascending) holding a row ≥ row.
static inline int64_t first_at_least(const int64_t *rows, int64_t from, int64_t to, int64_t row)
{
    while (from < to) {
        const int64_t mid = from + (to - from) / 2;
        if (rows[mid] < row) from = mid + 1;
        else to = mid;
    }
    return from;
}

static void solve_pipelined(const fm_csr *T, const fm_levels *levels, const double *b, double *x, bool lower,
                            int threads)
{
    const int64_t n = T->n, count = levels->count;
    const int64_t *restrict start = T->start;
    const int64_t *restrict index = T->index;
    const double *restrict value = T->value;
    const int64_t *restrict rows = levels->rows;
    const int64_t *restrict level_start = levels->start;
    progress done[FM_SOLVE_MAX_THREADS];
    int64_t bounds[FM_SOLVE_MAX_THREADS + 1];
    int team = 1;
#pragma omp parallel num_threads(threads)
    {
#pragma omp single
        {
            // the team may be smaller than asked for
            team = omp_get_num_threads();
            for (int t = 0; t < team; t++) {
                bounds[t] = first_at_least(start, 0, n, (int64_t)((double)T->count * t / team));
                atomic_init(&done[t].levels, 0);
            }
            bounds[team] = n;
        }
        const int me = omp_get_thread_num();
        const int64_t begin = bounds[me], end = bounds[me + 1];
        int64_t seen[FM_SOLVE_MAX_THREADS] = { 0 }; // the progress last read of each thread
        for (int64_t l = 0; l < count; l++) {
            const int64_t first = first_at_least(rows, level_start[l], level_start[l + 1], begin);
            const int64_t last = first_at_least(rows, first, level_start[l + 1], end);
            for (int64_t k = first; k < last; k++) {
                const int64_t i = rows[k];
                const int64_t diagonal = lower ? start[i + 1] - 1 : start[i];
                double sum = b[i];
                for (int64_t e = start[i] + !lower; e < start[i + 1] - lower; e++) {
                    const int64_t j = index[e];
                    if (j < begin || j >= end) {
                        int owner = me;
                        while (j < bounds[owner]) owner--;
                        while (j >= bounds[owner + 1]) owner++;
                        if (seen[owner] < l) {
                            wait_for(&done[owner], l);
                            seen[owner] = atomic_load_explicit(&done[owner].levels, memory_order_acquire);
                        }
                    }
                    sum -= value[e] * x[j];
                }
                x[i] = sum / value[diagonal];
            }
            atomic_store_explicit(&done[me].levels, l + 1, memory_order_release);
        }
    }
}

static void solve(const fm_csr *T, const fm_levels *levels, const double *b, double *x, bool lower)
{
    int threads = omp_get_max_threads();
    if (threads > FM_SOLVE_MAX_THREADS) threads = FM_SOLVE_MAX_THREADS;
    if (threads > 1 && !omp_in_parallel() && T->count >= FM_SOLVE_PARALLEL_ENTRIES &&
        T->n >= levels->count * threads * FM_SOLVE_ROWS_PER_THREAD_LEVEL)
        solve_pipelined(T, levels, b, x, lower, threads);
    else if (lower)
        fm_solve_lower_reference(T, b, x);
    else
        fm_solve_upper_reference(T, b, x);
}

void fm_solve_lower(const fm_csr *L, const fm_levels *levels, const double *b, double *x)
{
    solve(L, levels, b, x, true);
}

void fm_solve_upper(const fm_csr *U, const fm_levels *levels, const double *b, double *x)
{
    solve(U, levels, b, x, false);
}
