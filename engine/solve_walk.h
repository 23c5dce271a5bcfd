// What the walks of the triangular solves share (engine/products_solve.c:
// the strips; engine/products_split.c: the two sets; engine/products_stages.c:
// the two stages; engine/products_path.c: the choice among them): the row's
// arithmetic, the direction of the solve, and the point-to-point
// synchronization between threads. Not installed.
#ifndef FM_SOLVE_WALK_H
#define FM_SOLVE_WALK_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "square.h"

// Fewer entries than this: the serial loop (waking a team costs more).
#define FM_SOLVE_PARALLEL_ENTRIES 131072
// AUTO runs a team from this modeled speedup on (fm_solve_choose).
#define FM_SOLVE_MODELED_SPEEDUP 1.4
// The walks' model: a wait for another thread costs as much as this many
// entries (a cache line crossing between cores, and the progress published
// every FM_SOLVE_PUBLISH_ROWS rows).
#define FM_SOLVE_WAIT_COST 200
// A thread publishes its progress at least this often (rows).
#define FM_SOLVE_PUBLISH_ROWS 32
// A thread that must wait for a row waits for this many rows more (within
// that row's strip or set): a follower right at the heels of the thread it
// reads would wait again at each publication, each wait a cache line crossing.
#define FM_SOLVE_SLACK_ROWS 512
// A waiting thread spins this many times, then yields its core at each look:
// on a machine shared with other work the thread it waits for may not be
// running, and spinning would only delay it.
#define FM_SOLVE_SPINS 256
// At most this many threads share a solve.
#define FM_SOLVE_MAX_THREADS 64
// The strips' smallest size (entries).
#define FM_SOLVE_STRIP_MIN 4096

// The step of row i: its rank in the direction of the solve.
static inline int64_t fm_solve_step(int64_t i, int64_t n, bool lower)
{
    return lower ? i : n - 1 - i;
}

// sum − Σ value[e]·x[index[e]] over e in [from, to), ascending or
// descending, each product rounded and then subtracted in that order: the
// reference's arithmetic, bit for bit. Two entries at a time: their values
// in one load, the two x's in two, one multiplication, then the two
// subtractions in order (what GCC made of the plain loop for SSE2). The solve
// files compile without vectorization (CMakeLists.txt): with AVX-512 GCC
// gathered x here instead, 2x slower on Zen 5. Scalar loads in four lanes
// ran as fast alone but 7% slower inside PCG (perf/README.md).
typedef double fm_solve_pair __attribute__((vector_size(16)));

static inline double fm_solve_sum(const int64_t *restrict index, const double *restrict value,
                                  const double *restrict x, int64_t from, int64_t to, bool ascending,
                                  double sum)
{
    fm_solve_pair v, p;
    if (ascending) {
        int64_t e = from;
        for (; e + 2 <= to; e += 2) {
            memcpy(&v, value + e, sizeof v);
            p = v * (fm_solve_pair){ x[index[e]], x[index[e + 1]] };
            sum -= p[0];
            sum -= p[1];
        }
        if (e < to) sum -= value[e] * x[index[e]];
    } else {
        int64_t e = to;
        for (; e - 2 >= from; e -= 2) {
            memcpy(&v, value + e - 2, sizeof v);
            p = v * (fm_solve_pair){ x[index[e - 2]], x[index[e - 1]] };
            sum -= p[1];
            sum -= p[0];
        }
        if (e > from) sum -= value[e - 1] * x[index[e - 1]];
    }
    return sum;
}

// fm_solve_sum for two rows at once, [from, to) into *sum and [from2, to2)
// into *sum2, each in its own order: one entry of each a turn while both
// have entries, then each alone. Two independent chains of subtractions in
// flight and one loop exit for two rows: on the random SPD class the two
// stages ran 1.1-1.2x faster alone, and NeuralIF's CG about 5% faster
// (perf/README.md).
static inline void fm_solve_sums_two(const int64_t *restrict index, const double *restrict value,
                                     const double *restrict x, int64_t from, int64_t to, int64_t from2,
                                     int64_t to2, bool ascending, double *sum, double *sum2)
{
    double s = *sum, s2 = *sum2;
    if (ascending) {
        for (; from < to && from2 < to2; from++, from2++) {
            s -= value[from] * x[index[from]];
            s2 -= value[from2] * x[index[from2]];
        }
    } else {
        for (; to > from && to2 > from2; to--, to2--) {
            s -= value[to - 1] * x[index[to - 1]];
            s2 -= value[to2 - 1] * x[index[to2 - 1]];
        }
    }
    *sum = fm_solve_sum(index, value, x, from, to, ascending, s);
    *sum2 = fm_solve_sum(index, value, x, from2, to2, ascending, s2);
}

// x_i by the reference's arithmetic (fm_solve_lower_reference,
// fm_solve_upper_reference) from row r of W, which holds row i of T: T
// itself (r = i) or T's rows copied in a walk's order. L's row from its first
// entry to the one before the diagonal, U's from its last to the one after
// it (the nearest rows last).
static inline void fm_solve_row(const fm_csr *W, int64_t r, bool lower, const double *b, double *x, int64_t i)
{
    const int64_t from = W->start[r] + !lower, to = W->start[r + 1] - lower;
    const double sum = fm_solve_sum(W->index, W->value, x, from, to, lower, b[i]);
    x[i] = sum / W->value[lower ? to : from - 1];
}

// Whether row i of W (T's rows, r = i) reads the row one step before it:
// its nearest entry, L's last before the diagonal or U's first after it.
static inline bool fm_solve_reads_previous(const fm_csr *W, bool lower, int64_t i)
{
    const int64_t from = W->start[i] + !lower, to = W->start[i + 1] - lower;
    return from < to && W->index[lower ? to - 1 : from] == (lower ? i - 1 : i + 1);
}

// x_i and x_i2 (i2 one step after i, not reading it) at once, each by the
// reference's arithmetic from b (fm_solve_sums_two); W holds T's rows (r = i).
static inline void fm_solve_two_rows(const fm_csr *W, bool lower, int64_t i, int64_t i2, const double *b,
                                     double *x)
{
    const int64_t from = W->start[i] + !lower, to = W->start[i + 1] - lower;
    const int64_t from2 = W->start[i2] + !lower, to2 = W->start[i2 + 1] - lower;
    double sum = b[i], sum2 = b[i2];
    fm_solve_sums_two(W->index, W->value, x, from, to, from2, to2, lower, &sum, &sum2);
    x[i] = sum / W->value[lower ? to : from - 1];
    x[i2] = sum2 / W->value[lower ? to2 : from2 - 1];
}

typedef struct fm_solve_progress {
    _Alignas(64) _Atomic int64_t position; // every row of mine below it is solved
    char pad[64 - sizeof(int64_t)];        // one cache line each: no false sharing
} fm_solve_progress;

static inline void fm_solve_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Waits until `owner` has published `position` (spinning, then yielding the
// core: the thread awaited may be waiting for it). Returns what it read.
static inline int64_t fm_solve_wait(fm_solve_progress *owner, int64_t position)
{
    int64_t seen;
    for (int spins = 0; (seen = atomic_load_explicit(&owner->position, memory_order_acquire)) < position;
         spins++) {
        if (spins < FM_SOLVE_SPINS) fm_solve_pause();
        else sched_yield();
    }
    return seen;
}

static inline void fm_solve_publish(fm_solve_progress *mine, int64_t position)
{
    atomic_store_explicit(&mine->position, position, memory_order_release);
}

// engine/products_solve.c: T⁻¹ b by the strips on `threads` (one: in their
// order on the calling thread).
void fm_solve_strips(const fm_csr *T, const fm_levels *levels, const double *b, double *x, int threads);

// engine/products_path.c: AUTO's trial state (fm_levels.trial), new and
// forgotten (new strips are timed anew).
int fm_solve_trial_new(struct fm_solve_trial **out, char *msg);
void fm_solve_trial_reset(struct fm_solve_trial *trial);

// engine/products_stages.c: builds levels' stages (fm_levels in square.h)
// where T's structure gives them, and walks them.
int fm_levels_stages(fm_levels *levels, const fm_csr *T, char *msg);
void fm_solve_stages(const fm_csr *T, const fm_levels *levels, const double *b, double *x, int threads);

// engine/products_split.c: builds levels' two sets (fm_levels in square.h)
// where T's structure gives them, and walks them.
int fm_levels_split(fm_levels *levels, const fm_csr *T, char *msg);
void fm_solve_split(const fm_levels *levels, const double *b, double *x, int threads);

#endif
