// y = A x and the triangular solves over double CSR (engine/square.h), each
// beside its plain serial reference.
//
// Every row is computed by one thread with one fixed sequence of operations,
// whatever the thread count or the order the rows are visited in, so the
// results are bitwise the same for any number of threads.
#include "square.h"

#include <math.h>
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

// Levels per group by default: measured on the 5-point grids (perf/README.md,
// bench_solve_kernels): span 1 visits an anti-diagonal per level, a row per
// grid row, and from g ≈ 500 the pages it touches outgrow the TLB.
#define FM_SOLVE_SPAN_DEFAULT 8

void fm_levels_free(fm_levels **levels)
{
    if (!levels || !*levels) return;
    free((*levels)->start);
    free((*levels)->rows);
    free((*levels)->level);
    free((*levels)->group_start);
    free((*levels)->group_rows);
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

// rows[] (n) by key[i] / divisor ascending, i ascending within: a counting
// sort into `buckets` buckets; start[] (buckets + 1) receives the offsets.
static int bucket_rows(int64_t *start, int64_t *rows, const int64_t *key, int64_t divisor, int64_t n,
                       int64_t buckets, char *msg)
{
    int64_t *next = NULL;
#undef FREE_ALL
#define FREE_ALL free(next)
    memset(start, 0, sizeof(int64_t) * (size_t)(buckets + 1));
    for (int64_t i = 0; i < n; i++) start[key[i] / divisor + 1]++;
    for (int64_t b = 0; b < buckets; b++) start[b + 1] += start[b];
    FM_ALLOC(next, buckets);
    memcpy(next, start, sizeof(int64_t) * (size_t)buckets);
    for (int64_t i = 0; i < n; i++) rows[next[key[i] / divisor]++] = i;
    FREE_ALL;
    return FM_OK;
}

int fm_levels_regroup(fm_levels *levels, int64_t span, char *msg)
{
    int64_t *group_start = NULL, *group_rows = NULL;
#undef FREE_ALL
#define FREE_ALL do { free(group_start); free(group_rows); } while (0)
    FM_CHECK(levels && span >= 1, FM_ERR_INVALID, "fm_levels_regroup: bad arguments (span %lld)", (long long)span);
    const int64_t n = levels->start[levels->count];
    const int64_t groups = (levels->count + span - 1) / span;
    FM_ALLOC(group_start, groups + 1);
    FM_ALLOC(group_rows, n > 0 ? n : 1);
    FM_TRY(bucket_rows(group_start, group_rows, levels->level, span, n, groups, msg));
    free(levels->group_start);
    free(levels->group_rows);
    levels->span = span;
    levels->groups = groups;
    levels->group_start = group_start;
    levels->group_rows = group_rows;
    return FM_OK;
}

int fm_levels_new(fm_levels **out, const fm_csr *T, bool lower, char *msg)
{
    fm_levels *levels = NULL;
#undef FREE_ALL
#define FREE_ALL fm_levels_free(&levels)
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
        const int64_t i = lower ? step : n - 1 - step;
        int64_t mine = 0;
        for (int64_t k = T->start[i] + !lower; k < T->start[i + 1] - lower; k++) {
            const int64_t above = level[T->index[k]] + 1;
            if (above > mine) mine = above;
        }
        level[i] = mine;
        if (mine + 1 > count) count = mine + 1;
    }
    levels->count = count;
    levels->entries = T->count;
    levels->path = FM_SOLVE_AUTO;
    FM_ALLOC(levels->start, count + 1);
    FM_ALLOC(levels->rows, n);
    // a counting sort by level: rows ascending within a level
    FM_TRY(bucket_rows(levels->start, levels->rows, level, 1, n, count, msg));
    FM_TRY(fm_levels_regroup(levels, FM_SOLVE_SPAN_DEFAULT, msg));
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

// The pipelined schedule (point-to-point synchronization instead of a
// barrier per level, as in Park et al., "Sparsifying synchronization for
// high-performance shared-memory sparse triangular solver", ISC 2014), with
// the levels taken `span` at a time:
//
// - the rows are cut into one contiguous block per thread, balanced by
//   entries; each thread solves the rows of its block group by group, in row
//   order within a group (ascending for L, descending for U);
// - a row's key is group·n + its rank in the solve's direction (i for L,
//   n − 1 − i for U): each thread solves its rows by ascending key, and
//   publishes "every row of my block with a key below P is solved" (at the
//   end of each group, every FM_SOLVE_PUBLISH_ROWS rows, and before it
//   waits);
// - a row that reads x_j of another thread's block waits until that thread
//   has published past key(j). Rows of its own block were solved before by
//   the thread itself: j comes before i in the direction of the solve and its
//   level is lower, so its key is lower.
//
// No deadlock: a row waits only for a row of lower key, and a thread
// publishes everything it solved before it waits, so along any chain of
// waiting threads the keys they wait at strictly decrease; the thread at the
// lowest never waits. Each row is solved with the reference's arithmetic
// after the rows it reads are final, so x is bitwise the reference's for any
// thread count and any span.
//
// For the grid in natural order the blocks are bands of grid rows, and only
// the rows at a band's edge read another thread's x: the band below trails
// the one above by about a group.

// At most this many threads share a solve.
#define FM_SOLVE_MAX_THREADS 64
// Fewer entries than this, or fewer rows a level on average than this times
// the threads: the serial loop (the pipeline would mostly wait).
#define FM_SOLVE_PARALLEL_ENTRIES 131072
#define FM_SOLVE_ROWS_PER_THREAD_LEVEL 16
// A thread publishes its progress at least this often (rows).
#define FM_SOLVE_PUBLISH_ROWS 32

typedef struct progress {
    _Alignas(64) _Atomic int64_t key; // every row of the block with a lower key is solved
    char pad[64 - sizeof(int64_t)];   // one cache line each: no false sharing
} progress;

static inline void pause_briefly(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Wait until `owner` has published `key` (spinning, then yielding the core:
// the thread awaited may be waiting for it). Returns what it read.
static int64_t wait_for(progress *owner, int64_t key)
{
    int64_t seen;
    for (int spins = 0; (seen = atomic_load_explicit(&owner->key, memory_order_acquire)) < key; spins++) {
        if (spins < 2000) pause_briefly();
        else sched_yield();
    }
    return seen;
}

static inline void publish(progress *mine, int64_t key)
{
    atomic_store_explicit(&mine->key, key, memory_order_release);
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
    const int64_t n = T->n, groups = levels->groups, span = levels->span;
    const int64_t *restrict start = T->start;
    const int64_t *restrict index = T->index;
    const double *restrict value = T->value;
    const int64_t *restrict rows = levels->group_rows;
    const int64_t *restrict group_start = levels->group_start;
    const int64_t *restrict level = levels->level;
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
                atomic_init(&done[t].key, 0);
            }
            bounds[team] = n;
        }
        const int me = omp_get_thread_num();
        const int64_t begin = bounds[me], end = bounds[me + 1];
        int64_t seen[FM_SOLVE_MAX_THREADS] = { 0 }; // the progress last read of each thread
        int64_t unpublished = 0;
        for (int64_t s = 0; s < groups; s++) {
            const int64_t first = first_at_least(rows, group_start[s], group_start[s + 1], begin);
            const int64_t last = first_at_least(rows, first, group_start[s + 1], end);
            for (int64_t q = 0; q < last - first; q++) {
                const int64_t i = rows[lower ? first + q : last - 1 - q];
                const int64_t from = start[i] + !lower, to = start[i + 1] - lower;
                // the rows of other blocks it reads: below begin (L) or from end on (U)
                if (from < to && (lower ? index[from] < begin : index[to - 1] >= end)) {
                    const int64_t key = s * n + (lower ? i : n - 1 - i);
                    for (int64_t e = from; e < to; e++) {
                        const int64_t j = index[e];
                        if (j >= begin && j < end) continue;
                        int owner = me;
                        while (j < bounds[owner]) owner--;
                        while (j >= bounds[owner + 1]) owner++;
                        const int64_t need = level[j] / span * n + (lower ? j : n - 1 - j) + 1;
                        if (seen[owner] < need) {
                            publish(&done[me], key);
                            unpublished = 0;
                            seen[owner] = wait_for(&done[owner], need);
                        }
                    }
                }
                double sum = b[i];
                for (int64_t e = from; e < to; e++) sum -= value[e] * x[index[e]];
                x[i] = sum / value[lower ? to : from - 1];
                if (++unpublished == FM_SOLVE_PUBLISH_ROWS) {
                    publish(&done[me], s * n + (lower ? i : n - 1 - i) + 1);
                    unpublished = 0;
                }
            }
            publish(&done[me], (s + 1) * n);
            unpublished = 0;
        }
    }
}

bool fm_solve_parallel_pays(const fm_levels *levels, int threads)
{
    const int64_t n = levels->start[levels->count];
    return threads > 1 && levels->entries >= FM_SOLVE_PARALLEL_ENTRIES &&
           n >= levels->count * threads * FM_SOLVE_ROWS_PER_THREAD_LEVEL;
}

static int solve_threads(void)
{
    const int threads = omp_get_max_threads();
    return threads > FM_SOLVE_MAX_THREADS ? FM_SOLVE_MAX_THREADS : threads;
}

static void solve(const fm_csr *T, const fm_levels *levels, const double *b, double *x, bool lower)
{
    const int threads = solve_threads();
    const bool parallel = !omp_in_parallel() &&
                          (levels->path == FM_SOLVE_PARALLEL ||
                           (levels->path == FM_SOLVE_AUTO && fm_solve_parallel_pays(levels, threads)));
    if (parallel)
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

int fm_levels_tune(fm_levels *levels, const fm_csr *T, bool lower, int repeats, char *msg)
{
    double *b = NULL, *x = NULL;
#undef FREE_ALL
#define FREE_ALL do { free(b); free(x); } while (0)
    FM_CHECK(levels && T && T->n == levels->start[levels->count] && repeats >= 1, FM_ERR_INVALID,
             "fm_levels_tune: bad arguments");
    const int threads = solve_threads();
    if (threads < 2 || omp_in_parallel() || levels->entries < FM_SOLVE_PARALLEL_ENTRIES) {
        levels->path = FM_SOLVE_SERIAL;
        return FM_OK;
    }
    const int64_t n = T->n;
    FM_ALLOC(b, n);
    FM_ALLOC(x, n);
    for (int64_t i = 0; i < n; i++) b[i] = 1;
    double serial = 1e300, parallel = 1e300;
    for (int r = 0; r < repeats; r++) {
        double t0 = omp_get_wtime();
        (lower ? fm_solve_lower_reference : fm_solve_upper_reference)(T, b, x);
        serial = fmin(serial, omp_get_wtime() - t0);
        t0 = omp_get_wtime();
        solve_pipelined(T, levels, b, x, lower, threads);
        parallel = fmin(parallel, omp_get_wtime() - t0);
    }
    levels->path = parallel < serial ? FM_SOLVE_PARALLEL : FM_SOLVE_SERIAL;
    FREE_ALL;
    return FM_OK;
}
