// Which walk a triangular solve takes (engine/square.h above fm_solve_lower;
// docs P2.1, "The path"): the structural guess, the candidates, and AUTO's
// trial of them inside the caller's own calls.
#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "solve_walk.h"
#include "status.h"

// fm_solve_choose runs the strips on one thread where the rows hold at most
// FM_SOLVE_SHORT_ROW entries on average and a local level at least
// FM_SOLVE_LOCAL_WIDTH rows.
#define FM_SOLVE_SHORT_ROW 8
#define FM_SOLVE_LOCAL_WIDTH 4

// AUTO's trial (fm_levels.trial; the rule in square.h above fm_solve_lower).
// After the first round, a candidate over FM_SOLVE_TRIAL_SLOWER times the
// fastest so far (by its least time) is not tried again: its calls take the
// fastest (a team whose threads wait on each other may take ten times one
// thread's time). The choice goes by the mean time, which counts a team's
// occasional long wait (a thread woken late), and a team must beat the
// fastest path on one thread by FM_SOLVE_TRIAL_TEAM_GAIN: its gain is the
// less certain (inside PCG on the random SPD class the two stages won a
// three-round trial about half the time and then ran 5-15% slower than the
// serial loop).
#define FM_SOLVE_TRIAL_ROUNDS 3
#define FM_SOLVE_TRIAL_SLOWER 1.5
#define FM_SOLVE_TRIAL_TEAM_GAIN 1.1

struct fm_solve_trial {
    _Atomic int chosen;   // 256 · path + the thread count it was chosen for; 0: none
    _Atomic int threads;  // the trial under way: its thread count (0: none)
    _Atomic int rounds;
    _Atomic int calls;    // calls of the trial begun
    _Atomic int64_t best[FM_SOLVE_MAX_CANDIDATES];  // each candidate's least time so far, ns
    _Atomic int64_t spent[FM_SOLVE_MAX_CANDIDATES]; // and its times summed
    _Atomic int runs[FM_SOLVE_MAX_CANDIDATES];
};

static void trial_begin(struct fm_solve_trial *trial, int threads, int rounds)
{
    atomic_store(&trial->chosen, 0);
    atomic_store(&trial->rounds, rounds);
    for (int c = 0; c < FM_SOLVE_MAX_CANDIDATES; c++) {
        atomic_store(&trial->best[c], INT64_MAX);
        atomic_store(&trial->spent[c], 0);
        atomic_store(&trial->runs[c], 0);
    }
    atomic_store(&trial->calls, 0);
    atomic_store(&trial->threads, threads);
}

int fm_solve_trial_new(struct fm_solve_trial **out, char *msg)
{
    struct fm_solve_trial *trial = NULL;
#define FREE_ALL free(trial)
    FM_ALLOC(trial, 1);
    trial_begin(trial, 0, FM_SOLVE_TRIAL_ROUNDS);
    *out = trial;
    return FM_OK;
#undef FREE_ALL
}

void fm_solve_trial_reset(struct fm_solve_trial *trial)
{
    trial_begin(trial, 0, FM_SOLVE_TRIAL_ROUNDS);
}

const char *fm_solve_path_name(fm_solve_path path)
{
    switch (path) {
    case FM_SOLVE_SERIAL: return "serial";
    case FM_SOLVE_STRIPS: return "strips";
    case FM_SOLVE_PARALLEL: return "parallel";
    case FM_SOLVE_SPLIT: return "sets";
    case FM_SOLVE_STAGES: return "stages";
    case FM_SOLVE_AUTO:
    default: return "auto";
    }
}

fm_solve_path fm_solve_choose(const fm_levels *levels, int threads)
{
    const int64_t n = levels->start[levels->count];
    if (levels->entries < FM_SOLVE_PARALLEL_ENTRIES) return FM_SOLVE_SERIAL;
    const double strips = threads > 1 && levels->strips >= 2 * threads ? levels->modeled_speedup : 0;
    const double sets = threads > 1 && levels->split_count > 0 ? levels->split_speedup : 0;
    const double stages = threads > 1 && levels->stages_reach > 0 ? levels->stages_speedup : 0;
    if (sets >= FM_SOLVE_MODELED_SPEEDUP && sets >= strips && sets >= stages) return FM_SOLVE_SPLIT;
    if (stages >= FM_SOLVE_MODELED_SPEEDUP && stages >= strips) return FM_SOLVE_STAGES;
    if (strips >= FM_SOLVE_MODELED_SPEEDUP) return FM_SOLVE_PARALLEL;
    if ((double)levels->entries <= FM_SOLVE_SHORT_ROW * (double)n && levels->local_width >= FM_SOLVE_LOCAL_WIDTH)
        return FM_SOLVE_STRIPS;
    return FM_SOLVE_SERIAL;
}

static int solve_threads(void)
{
    const int threads = omp_get_max_threads();
    return threads > FM_SOLVE_MAX_THREADS ? FM_SOLVE_MAX_THREADS : threads;
}

static bool is_team(fm_solve_path path)
{
    return path == FM_SOLVE_PARALLEL || path == FM_SOLVE_SPLIT || path == FM_SOLVE_STAGES;
}

// T⁻¹ b by `path` (not AUTO) on `threads`.
static void run_path(const fm_csr *T, const fm_levels *levels, const double *b, double *x, fm_solve_path path,
                     int threads)
{
    if (path == FM_SOLVE_SPLIT && levels->split_count > 0) fm_solve_split(levels, b, x, threads);
    else if (path == FM_SOLVE_STAGES && levels->stages_reach > 0) fm_solve_stages(T, levels, b, x, threads);
    else if (is_team(path)) fm_solve_strips(T, levels, b, x, threads);
    else if (path == FM_SOLVE_STRIPS) fm_solve_strips(T, levels, b, x, 1);
    else fm_solve_serial(T, levels->lower, b, x);
}

// T⁻¹ b by `path` for a caller with `threads` threads. A path of one thread
// still holds the caller's team: the others wait in a region of their own
// (spinning, then yielding the core: fm_solve_wait) until the solve is done.
// Left idle they would fall asleep during a solve of a few hundred
// microseconds (the program lets OpenMP threads spin 10 000 times, then
// sleep: cli/main.c), and the caller's next parallel region would wake them:
// inside PCG on the random SPD class, with both solves on one thread, that
// cost 6% of CG's time (perf/README.md). Below FM_SOLVE_PARALLEL_ENTRIES the
// solve is too short for them to fall asleep.
static void run_held(const fm_csr *T, const fm_levels *levels, const double *b, double *x, fm_solve_path path,
                     int threads)
{
    if (is_team(path) || threads < 2 || levels->entries < FM_SOLVE_PARALLEL_ENTRIES) {
        run_path(T, levels, b, x, path, is_team(path) ? threads : 1);
        return;
    }
    fm_solve_progress done;
    atomic_init(&done.position, 0);
#pragma omp parallel num_threads(threads)
    {
        if (omp_get_thread_num() == 0) {
            run_path(T, levels, b, x, path, 1);
            fm_solve_publish(&done, 1);
        } else {
            fm_solve_wait(&done, 1);
        }
    }
}

int fm_solve_candidates(const fm_levels *levels, int threads, fm_solve_path *out)
{
    if (levels->entries < FM_SOLVE_PARALLEL_ENTRIES) return 0;
    int count = 0;
    out[count++] = FM_SOLVE_SERIAL;
    out[count++] = FM_SOLVE_STRIPS;
    if (threads > 1 && levels->split_count > 0 && levels->split_speedup >= FM_SOLVE_MODELED_SPEEDUP)
        out[count++] = FM_SOLVE_SPLIT;
    if (threads > 1 && levels->stages_reach > 0) out[count++] = FM_SOLVE_STAGES;
    if (threads > 1 && levels->strips >= 2 * threads && levels->modeled_speedup >= FM_SOLVE_MODELED_SPEEDUP)
        out[count++] = FM_SOLVE_PARALLEL;
    return count;
}

static int fastest(struct fm_solve_trial *trial, int count)
{
    int best = 0;
    for (int c = 1; c < count; c++)
        if (atomic_load(&trial->best[c]) < atomic_load(&trial->best[best])) best = c;
    return best;
}

// The trial's choice: the candidate of least mean time on one thread, or the
// team of least mean time where it is FM_SOLVE_TRIAL_TEAM_GAIN faster.
static fm_solve_path choose(struct fm_solve_trial *trial, const fm_solve_path *candidate, int count)
{
    double mean[FM_SOLVE_MAX_CANDIDATES];
    int alone = -1, team = -1;
    for (int c = 0; c < count; c++) {
        const int runs = atomic_load(&trial->runs[c]);
        mean[c] = runs ? (double)atomic_load(&trial->spent[c]) / runs : INFINITY;
        int *best = is_team(candidate[c]) ? &team : &alone;
        if (*best < 0 || mean[c] < mean[*best]) *best = c;
    }
    if (team >= 0 && (alone < 0 || FM_SOLVE_TRIAL_TEAM_GAIN * mean[team] < mean[alone])) return candidate[team];
    return candidate[alone >= 0 ? alone : 0];
}

static int64_t nanoseconds_since(double t0)
{
    return (int64_t)(1e9 * (omp_get_wtime() - t0));
}

// One call of the trial: the next candidate, timed. Where concurrent callers
// have taken every call of the trial, the structural path, untimed.
static void trial_call(const fm_csr *T, const fm_levels *levels, const double *b, double *x, int threads)
{
    struct fm_solve_trial *trial = levels->trial;
    if (atomic_load(&trial->threads) != threads) trial_begin(trial, threads, FM_SOLVE_TRIAL_ROUNDS);
    fm_solve_path candidate[FM_SOLVE_MAX_CANDIDATES];
    const int count = fm_solve_candidates(levels, threads, candidate);
    const int total = count * atomic_load(&trial->rounds);
    const int k = atomic_fetch_add(&trial->calls, 1);
    if (k >= total) {
        const fm_solve_path path = fm_solve_choose(levels, threads);
        run_held(T, levels, b, x, path, threads);
        return;
    }
    int c = k % count;
    if (k >= count) {
        const int best = fastest(trial, count);
        if ((double)atomic_load(&trial->best[c]) > FM_SOLVE_TRIAL_SLOWER * (double)atomic_load(&trial->best[best]))
            c = best;
    }
    const double t0 = omp_get_wtime();
    run_held(T, levels, b, x, candidate[c], threads);
    const int64_t spent = nanoseconds_since(t0);
    int64_t held = atomic_load(&trial->best[c]);
    while (spent < held && !atomic_compare_exchange_weak(&trial->best[c], &held, spent)) {
    }
    atomic_fetch_add(&trial->spent[c], spent);
    atomic_fetch_add(&trial->runs[c], 1);
    if (k == total - 1) atomic_store(&trial->chosen, 256 * (int)choose(trial, candidate, count) + threads);
}

fm_solve_path fm_levels_chosen(const fm_levels *levels, int *threads)
{
    if (levels->entries < FM_SOLVE_PARALLEL_ENTRIES) {
        if (threads) *threads = 0;
        return FM_SOLVE_SERIAL;
    }
    const int chosen = atomic_load(&levels->trial->chosen);
    if (threads) *threads = chosen % 256;
    return chosen ? (fm_solve_path)(chosen / 256) : FM_SOLVE_AUTO;
}

static void solve(const fm_csr *T, const fm_levels *levels, const double *b, double *x)
{
    const int threads = omp_in_parallel() ? 1 : solve_threads();
    fm_solve_path path = levels->path;
    if (path == FM_SOLVE_AUTO) {
        int chosen_threads = 0;
        path = fm_levels_chosen(levels, &chosen_threads);
        if (levels->entries >= FM_SOLVE_PARALLEL_ENTRIES && (path == FM_SOLVE_AUTO || chosen_threads != threads)) {
            trial_call(T, levels, b, x, threads);
            return;
        }
    }
    run_held(T, levels, b, x, path, threads);
}

void fm_solve_lower(const fm_csr *L, const fm_levels *levels, const double *b, double *x)
{
    solve(L, levels, b, x);
}

void fm_solve_upper(const fm_csr *U, const fm_levels *levels, const double *b, double *x)
{
    solve(U, levels, b, x);
}

int fm_levels_tune(fm_levels *levels, const fm_csr *T, int repeats, char *msg)
{
    double *b = NULL, *x = NULL;
#undef FREE_ALL
#define FREE_ALL do { free(b); free(x); } while (0)
    FM_CHECK(levels && T && T->n == levels->start[levels->count] && T->count == levels->entries && repeats >= 1,
             FM_ERR_INVALID, "fm_levels_tune: bad arguments");
    const int threads = omp_in_parallel() ? 1 : solve_threads();
    fm_solve_path candidate[FM_SOLVE_MAX_CANDIDATES];
    const int count = fm_solve_candidates(levels, threads, candidate);
    levels->path = FM_SOLVE_SERIAL;
    if (count == 0) return FM_OK;
    const int64_t n = T->n;
    FM_ALLOC(b, n);
    FM_ALLOC(x, n);
    for (int64_t i = 0; i < n; i++) b[i] = 1;
    trial_begin(levels->trial, threads, repeats);
    for (int k = 0; k < count * repeats; k++) trial_call(T, levels, b, x, threads);
    levels->path = fm_levels_chosen(levels, NULL);
    FREE_ALL;
    return FM_OK;
}
