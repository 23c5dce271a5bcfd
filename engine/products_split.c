// The triangular solves' second schedule for two threads (fm_levels in
// engine/square.h; docs P2.1, "Two sets"): the rows split into a leading set, closed under the rows
// it reads, and the trailing rest; one thread walks each.
//
// Why: on a grid in natural order the strips pipeline band after band, and
// every band reads the whole last grid row of the band before, solved by the
// other thread; each of those reads is a cache line crossing between cores
// (570 ns there and back on the 2-core test machine, perf/README.md), and the
// team lost to one thread's strips. Split by sets instead, the grid's left
// halves form the leading set and the right halves the trailing one: the
// trailing thread reads one leading cell per grid row, and the leading thread
// never waits.
//
// The leading set: the solve reads row j from row i only where j comes
// earlier in the solve's direction, at most β steps earlier (β, the band in
// steps). The last β rows are the seeds; the rows that the seeds [0, t) read,
// directly or through other rows, form a closed set S(t), growing with t. One
// pass backwards gives each row the first seed that reaches it, and t is the
// one whose S(t) holds the share of the entries nearest one half. Where the
// first seed alone reads over 1 − FM_SPLIT_LOW of the entries (a stencil
// reaching one cell beyond a grid row: that seed is the end of the row before
// the last), the seeds start one row later, up to FM_SPLIT_SKIPS rows later.
// T has no split where no t gives between FM_SPLIT_LOW and 1 − FM_SPLIT_LOW
// of the entries, or where β is above n / FM_SPLIT_BAND (rows that read
// across the whole matrix: the closed sets are its first rows, and the
// trailing thread would wait for nearly all of them).
//
// Each set is walked in strips ordered by their local levels, as the strips
// of one thread are, so that a set's divisions overlap too; the walk reads a
// copy of T's rows in its order. Every row is solved by fm_solve_row after
// the rows it reads, so x is bitwise the reference's.
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "solve_walk.h"
#include "status.h"

#define FM_SPLIT_LOW 0.3
#define FM_SPLIT_BAND 4
#define FM_SPLIT_SKIPS 8

// The entries of a set's strip: half the one-thread strips' (a set holds
// about half of every band), at least FM_SOLVE_STRIP_MIN.
static int64_t set_strip_entries(const fm_levels *levels)
{
    const int64_t half = levels->strip_entries / 2;
    return half > FM_SOLVE_STRIP_MIN ? half : FM_SOLVE_STRIP_MIN;
}

// Sorts the strip order[lo, hi) (rows by step) by local level, rows
// ascending within one, for U too (as the strips of products_solve.c: its
// walk descends from level to level, and memory is read ascending within
// one). next: scratch of hi − lo + levels + 1.
static void sort_strip(int64_t *order, int64_t lo, int64_t hi, const int64_t *local, int64_t levels, bool lower,
                       int64_t *next)
{
    int64_t *rows = next + levels + 1;
    memset(next, 0, sizeof(int64_t) * (size_t)(levels + 1));
    for (int64_t q = lo; q < hi; q++) next[local[order[q]] + 1]++;
    for (int64_t l = 0; l < levels; l++) next[l + 1] += next[l];
    memcpy(rows, order + lo, sizeof(int64_t) * (size_t)(hi - lo));
    for (int64_t r = 0; r < hi - lo; r++) {
        const int64_t q = lower ? r : hi - lo - 1 - r;
        order[lo + next[local[rows[q]]]++] = rows[q];
    }
}

// The rows of `set` (in[i] == set), by step, into order[from, …): cut into
// strips of about `strip_entries` entries, each sorted by its local levels
// (the levels of its rows counting only the rows of the same set and strip).
// strip, local: n each; next: 2 n + 1; scratch. Returns the place after the
// set's last row.
static int64_t order_set(const fm_csr *T, bool lower, const unsigned char *in, unsigned char set,
                         int64_t strip_entries, int64_t *order, int64_t from, int64_t *strip, int64_t *local,
                         int64_t *next)
{
    const int64_t n = T->n;
    int64_t place = from, lo = from, held = 0, strips = 0, levels = 0;
    for (int64_t step = 0; step < n; step++) {
        const int64_t i = fm_solve_step(step, n, lower);
        if (in[i] != set) continue;
        int64_t mine = 0;
        for (int64_t e = T->start[i] + !lower; e < T->start[i + 1] - lower; e++) {
            const int64_t j = T->index[e];
            if (in[j] == set && strip[j] == strips && local[j] + 1 > mine) mine = local[j] + 1;
        }
        strip[i] = strips, local[i] = mine;
        if (mine + 1 > levels) levels = mine + 1;
        order[place++] = i;
        held += T->start[i + 1] - T->start[i];
        if (held >= strip_entries) {
            sort_strip(order, lo, place, local, levels, lower, next);
            lo = place, held = 0, strips++, levels = 0;
        }
    }
    if (place > lo) sort_strip(order, lo, place, local, levels, lower, next);
    return place;
}

// The walk of the sets with 2 threads, as a model (as the strips' in
// products_solve.c): a row costs 1 + its entries; a trailing row that reads a
// leading one starts no earlier than that row's finish + FM_SOLVE_WAIT_COST.
static double model_split(const fm_levels *levels, const fm_csr *T, double *finish)
{
    const int64_t n = T->n, count = levels->split_count;
    double leading = 0, trailing = 0;
    for (int64_t q = 0; q < count; q++) {
        const int64_t i = levels->split_order[q];
        leading = finish[q] = leading + 1.0 + (double)(T->start[i + 1] - T->start[i]);
    }
    for (int64_t q = count; q < n; q++) {
        const int64_t i = levels->split_order[q], need = levels->split_need[q - count];
        if (need >= 0 && finish[need] + FM_SOLVE_WAIT_COST > trailing) trailing = finish[need] + FM_SOLVE_WAIT_COST;
        trailing += 1.0 + (double)(T->start[i + 1] - T->start[i]);
    }
    const double span = leading > trailing ? leading : trailing;
    return span > 0 ? (double)(n + T->count) / span : 1;
}

// first[i]: the first of the last `seeds` rows (steps n − seeds, …, n − 1
// as 0, …, seeds − 1) that reads row i, directly or not; `seeds` where none
// does. weight[s + 1]: the entries of the rows whose first is s (seeds + 2).
static void closed_sets(const fm_csr *T, bool lower, int64_t seeds, int64_t *first, int64_t *weight)
{
    const int64_t n = T->n;
    for (int64_t i = 0; i < n; i++) first[i] = seeds;
    for (int64_t step = n - 1; step >= 0; step--) {
        const int64_t i = fm_solve_step(step, n, lower);
        if (step >= n - seeds && step - (n - seeds) < first[i]) first[i] = step - (n - seeds);
        const int64_t seed = first[i];
        if (seed == seeds) continue;
        for (int64_t e = T->start[i] + !lower; e < T->start[i + 1] - lower; e++)
            if (seed < first[T->index[e]]) first[T->index[e]] = seed;
    }
    memset(weight, 0, sizeof(int64_t) * (size_t)(seeds + 2));
    for (int64_t i = 0; i < n; i++) weight[first[i] + 1] += T->start[i + 1] - T->start[i];
}

int fm_levels_split(fm_levels *levels, const fm_csr *T, char *msg)
{
    int64_t *first = NULL, *weight = NULL, *strip = NULL, *local = NULL, *next = NULL, *place = NULL;
    int64_t *order = NULL, *need = NULL;
    unsigned char *in = NULL;
    double *finish = NULL;
    fm_csr *rows = NULL;
#define FREE_ALL                                                                                   \
    do {                                                                                           \
        free(first), free(weight), free(strip), free(local), free(next), free(place), free(order); \
        free(need), free(in), free(finish), fm_csr_free(&rows);                                    \
    } while (0)
    const int64_t n = T->n;
    const bool lower = levels->lower;
    free(levels->split_order);
    free(levels->split_need);
    fm_csr_free(&levels->split_rows);
    levels->split_order = levels->split_need = NULL;
    levels->split_count = 0;
    levels->split_entries = 0;
    levels->split_speedup = 1;
    if (levels->entries < FM_SOLVE_PARALLEL_ENTRIES) return FM_OK;
    // β: the longest reach back, in steps
    int64_t band = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = T->start[i] + !lower; e < T->start[i + 1] - lower; e++) {
            const int64_t reach = lower ? i - T->index[e] : T->index[e] - i;
            if (reach > band) band = reach;
        }
    if (band == 0 || band > n / FM_SPLIT_BAND) return FM_OK;
    FM_ALLOC(first, n);
    FM_ALLOC(weight, band + 2);
    int64_t t = 0, best = 0;
    for (int64_t skipped = 0; skipped < FM_SPLIT_SKIPS && skipped < band; skipped++) {
        const int64_t seeds = band - skipped;
        closed_sets(T, lower, seeds, first, weight);
        // S(t) = {i : first[i] < t}: its entries by t, and the t nearest half
        int64_t held = 0;
        t = 0, best = 0;
        for (int64_t s = 1; s <= seeds; s++) {
            held += weight[s];
            if (llabs(2 * held - T->count) < llabs(2 * best - T->count)) best = held, t = s;
        }
        // the first seed alone reads too much: the next window
        if (weight[1] <= (1 - FM_SPLIT_LOW) * (double)T->count) break;
    }
    const double share = (double)best / (double)T->count;
    if (share < FM_SPLIT_LOW || share > 1 - FM_SPLIT_LOW) {
        FREE_ALL;
        return FM_OK;
    }
    FM_ALLOC(in, n);
    for (int64_t i = 0; i < n; i++) in[i] = first[i] >= t; // 0: leading, 1: trailing
    free(first), first = NULL;
    FM_ALLOC(strip, n);
    FM_ALLOC(local, n);
    FM_ALLOC(next, 2 * n + 1);
    FM_ALLOC(order, n);
    for (int64_t i = 0; i < n; i++) strip[i] = -1;
    const int64_t size = set_strip_entries(levels);
    const int64_t count = order_set(T, lower, in, 0, size, order, 0, strip, local, next);
    for (int64_t i = 0; i < n; i++) strip[i] = -1;
    order_set(T, lower, in, 1, size, order, count, strip, local, next);
    // each trailing row's wait: the last leading place it reads
    FM_ALLOC(place, n);
    for (int64_t q = 0; q < n; q++) place[order[q]] = q;
    FM_ALLOC(need, n - count > 0 ? n - count : 1);
    for (int64_t q = count; q < n; q++) {
        const int64_t i = order[q];
        int64_t last = -1;
        for (int64_t e = T->start[i] + !lower; e < T->start[i + 1] - lower; e++)
            if (!in[T->index[e]] && place[T->index[e]] > last) last = place[T->index[e]];
        need[q - count] = last;
    }
    // T's rows in the walk's order
    FM_TRY(fm_csr_new(&rows, n, T->count, msg));
    for (int64_t q = 0, k = 0; q < n; q++) {
        const int64_t i = order[q], length = T->start[i + 1] - T->start[i];
        memcpy(rows->index + k, T->index + T->start[i], sizeof(int64_t) * (size_t)length);
        memcpy(rows->value + k, T->value + T->start[i], sizeof(double) * (size_t)length);
        k += length;
        rows->start[q + 1] = k;
    }
    levels->split_count = count;
    levels->split_order = order;
    levels->split_need = need;
    levels->split_rows = rows;
    levels->split_entries = share;
    order = need = NULL;
    rows = NULL;
    FM_ALLOC(finish, count > 0 ? count : 1);
    levels->split_speedup = model_split(levels, T, finish);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// Thread `me` of the two (done: their progress; NULL on one thread, which
// solves both sets, the leading one first). The rows come from the copy in
// the walk's order: one stream per array, where T's own rows would be read
// in as many streams as a local level holds rows (at g = 700 the sets took
// 2.1 against 1.1 ms reading T, perf/README.md).
static void walk_sets(const fm_levels *levels, const double *b, double *x, int me, fm_solve_progress *done)
{
    const fm_csr *rows = levels->split_rows;
    const int64_t n = rows->n, count = levels->split_count;
    const bool lower = levels->lower;
    const int64_t *restrict order = levels->split_order;
    const int64_t *restrict need = levels->split_need;
    const int64_t lo = done && me == 1 ? count : 0, hi = done && me == 0 ? count : n;
    int64_t seen = 0; // the leading thread's progress, last read
    int unpublished = 0;
    for (int64_t q = lo; q < hi; q++) {
        if (done && me == 1 && need[q - count] >= seen) {
            const int64_t slack = need[q - count] + 1 + FM_SOLVE_SLACK_ROWS;
            seen = fm_solve_wait(&done[0], slack < count ? slack : count);
        }
        fm_solve_row(rows, q, lower, b, x, order[q]);
        if (done && me == 0 && ++unpublished == FM_SOLVE_PUBLISH_ROWS) {
            fm_solve_publish(&done[0], q + 1);
            unpublished = 0;
        }
    }
    if (done && me == 0) fm_solve_publish(&done[0], count);
}

void fm_solve_split(const fm_levels *levels, const double *b, double *x, int threads)
{
    if (threads <= 1) {
        walk_sets(levels, b, x, 0, NULL);
        return;
    }
    fm_solve_progress done[1];
    atomic_init(&done[0].position, 0);
#pragma omp parallel num_threads(2)
    {
        // a team of one (the runtime's limit): both sets on it
        if (omp_get_num_threads() == 2) walk_sets(levels, b, x, omp_get_thread_num(), done);
        else walk_sets(levels, b, x, 0, NULL);
    }
}
