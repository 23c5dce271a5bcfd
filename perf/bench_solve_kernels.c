// SpMV and the triangular solves on the 5-point Laplacian of a g × g grid
// (natural order), or on a Matrix Market file, against the STREAM triad
// measured in the same run.
//
//   bench_solve_kernels G|FILE.mtx REPEATS [STRIP ...]
//
// Prints the triad bandwidth, then for 1 and 2 threads: SpMV, and the lower
// (L = tril(A), diagonal last: the pattern of IC(0)'s factor) and upper
// (Lᵀ = L by columns) solves: the serial reference, the strips forced
// (levels->path = FM_SOLVE_PARALLEL) for each STRIP size in entries (default
// 4096 16384 32768 65536 262144), what FM_SOLVE_AUTO runs, and the path
// fm_levels_tune picks; in seconds (best and median of REPEATS) and GB/s.
// The two sets (FM_SOLVE_SPLIT) and the two stages (FM_SOLVE_STAGES) where
// the matrix has them. Last, the
// library's solve on 2 threads against 1, interleaved round by round.
// Bytes counted (int64 indices, double values; each array read or written
// once, no write-allocate, as STREAM counts):
//   SpMV   16·nnz(A) + 8·(n + 1) row starts + 8·n x + 8·n y
//   solve  16·nnz(L) + 8·(n + 1) row starts + 8·n b + 8·n x
// (the strips also read the 8·n row order, not counted).
// Also times the graph builds the issue sizes, on one thread in processor
// seconds: this matrix (a grid mirrored from its lower triangle) and a random
// symmetric n = 10 000 with 10^6 entries.
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bandwidth.h"
#include "mtx_system.h"
#include "rng.h"
#include "spd_data.h"
#include "square.h"

static int compare(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Wall seconds, best and median; and the best in processor seconds of the
// calling thread (on a machine shared with other work, the wall clock of a
// one-thread kernel counts the time others held the core; this does not).
typedef struct timing { double best, median, processor; } timing;

static timing summarize(double *seconds, int repeats)
{
    qsort(seconds, repeats, sizeof(double), compare);
    return (timing){ seconds[0], seconds[repeats / 2], 0 };
}

static double cpu_seconds(void);

typedef enum { SPMV, LOWER_REFERENCE, LOWER, UPPER_REFERENCE, UPPER } kernel;

static timing run(kernel which, const fm_square *g, const fm_levels *lower, const fm_levels *upper,
                  const double *in, double *out, int repeats)
{
    // one call untimed: first touches, the team started
    switch (which) {
    case SPMV: fm_spmv(g->A, in, out); break;
    case LOWER_REFERENCE: case LOWER: fm_solve_lower(g->lower, lower, in, out); break;
    case UPPER_REFERENCE: case UPPER: fm_solve_upper(g->lower_by_columns, upper, in, out); break;
    }
    double *seconds = malloc(sizeof(double) * repeats), processor = 1e300;
    for (int r = 0; r < repeats; r++) {
        const double t0 = omp_get_wtime(), c0 = cpu_seconds();
        switch (which) {
        case SPMV: fm_spmv(g->A, in, out); break;
        case LOWER_REFERENCE: fm_solve_lower_reference(g->lower, in, out); break;
        case LOWER: fm_solve_lower(g->lower, lower, in, out); break;
        case UPPER_REFERENCE: fm_solve_upper_reference(g->lower_by_columns, in, out); break;
        case UPPER: fm_solve_upper(g->lower_by_columns, upper, in, out); break;
        }
        seconds[r] = omp_get_wtime() - t0;
        processor = fmin(processor, cpu_seconds() - c0);
    }
    timing t = summarize(seconds, repeats);
    t.processor = processor;
    free(seconds);
    return t;
}

// The triad on three arrays totalling `bytes` (the SpMV's footprint: where
// the matrix fits in the last-level cache, so do they), GB/s, best of 50.
static double triad_at(double bytes)
{
    const int64_t n = (int64_t)(bytes / 24) + 1;
    double *a = malloc(sizeof(double) * n), *b = malloc(sizeof(double) * n), *c = malloc(sizeof(double) * n);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) a[i] = 0, b[i] = 1, c[i] = 2;
    double best = 1e300;
    for (int r = 0; r < 50; r++) {
        const double t0 = omp_get_wtime();
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) a[i] = b[i] + 3 * c[i];
        best = fmin(best, omp_get_wtime() - t0);
    }
    if (a[n / 2] != 7) fprintf(stderr, "triad computed %g\n", a[n / 2]);
    free(a);
    free(b);
    free(c);
    return 24.0 * (double)n / best / 1e9;
}

// Processor seconds of this thread (the builds run on one): a loaded machine
// stretches wall seconds, not these.
static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double build_random_seconds(void)
{
    // random symmetric: 10^6 entries of the lower triangle at random, mirrored
    const int64_t n = 10000, count = 500000 + n;
    int64_t *row = malloc(sizeof(int64_t) * count), *col = malloc(sizeof(int64_t) * count);
    double *val = malloc(sizeof(double) * count);
    fm_rng rng = fm_rng_stream(1, FM_STREAM_SYNTH);
    for (int64_t e = 0; e < count; e++) {
        int64_t i = e < n ? e : (int64_t)(fm_rng_uniform(rng, 2 * e) * n);
        int64_t j = e < n ? e : (int64_t)(fm_rng_uniform(rng, 2 * e + 1) * n);
        row[e] = i > j ? i : j;
        col[e] = i > j ? j : i;
        val[e] = e < n ? 100 : -fm_rng_uniform(rng, 3 * e);
    }
    fm_square *g = NULL;
    char msg[FM_MSG_LEN];
    const double t0 = cpu_seconds();
    if (fm_square_from_triplets(&g, n, count, row, col, val, true, msg)) fprintf(stderr, "%s\n", msg);
    const double seconds = cpu_seconds() - t0;
    fm_square_free(&g);
    free(row);
    free(col);
    free(val);
    return seconds;
}


// The 5-point Laplacian (4 and −1): P7's diffusion grid with contrast 1,
// whose coefficient is then 1 everywhere.
static fm_square *grid(int64_t side, char *msg)
{
    fm_spd_options options;
    fm_spd_defaults(&options);
    options.contrast = 1;
    fm_system_matrix *m = NULL;
    fm_square *g = NULL;
    if (fm_spd_diffusion(&m, side, 1, &options, msg)) return NULL;
    if (fm_square_from_triplets(&g, m->n, m->count, m->row, m->col, m->val, m->symmetric, msg)) g = NULL;
    fm_system_matrix_free(&m);
    return g;
}

static fm_square *from_file(const char *path, char *msg)
{
    fm_system_matrix *m = NULL;
    fm_square *g = NULL;
    if (fm_mtx_read_system(&m, path, msg)) return NULL;
    if (fm_square_from_triplets(&g, m->n, m->count, m->row, m->col, m->val, m->symmetric, msg)) g = NULL;
    fm_system_matrix_free(&m);
    return g;
}

// A forced path's line: its times and rate, and the serial loop's time over
// its own.
static void print_forced(const char *name, const char *label, timing t, timing serial, double bytes)
{
    printf("  %s %s best %.6f s  median %.6f s  %.2f GB/s  reference/this %.2f (best) %.2f (median)\n", name, label,
           t.best, t.median, bytes / t.best / 1e9, serial.best / t.best, serial.median / t.median);
}

// The library's solve with 2 threads against its solve with 1 (each AUTO,
// on a schedule of its own, its trial done first), alternating round by
// round so that the machine's drift falls on both alike: medians, and the
// median [quartiles] of the rounds' ratios.
static int interleaved(const fm_square *g, const double *b, double *x, int repeats, char *msg)
{
    printf("\ninterleaved, %d rounds: 1 thread (AUTO) against 2 threads (AUTO)\n", repeats);
    for (int u = 0; u < 2; u++) {
        const fm_csr *T = u ? g->lower_by_columns : g->lower;
        void (*solve)(const fm_csr *, const fm_levels *, const double *, double *) = u ? fm_solve_upper : fm_solve_lower;
        fm_levels *levels[2] = { NULL, NULL };
        for (int t = 0; t < 2; t++)
            if (fm_levels_new(&levels[t], T, !u, msg)) return 1;
        // the trials: at most 4 candidates × 3 rounds
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(t + 1);
            for (int k = 0; k < 16; k++) solve(T, levels[t], b, x);
        }
        double *seconds[2] = { malloc(sizeof(double) * repeats), malloc(sizeof(double) * repeats) };
        double *ratio = malloc(sizeof(double) * repeats);
        for (int r = 0; r < repeats; r++) {
            for (int t = 0; t < 2; t++) {
                omp_set_num_threads(t + 1);
                const double t0 = omp_get_wtime();
                solve(T, levels[t], b, x);
                seconds[t][r] = omp_get_wtime() - t0;
            }
            ratio[r] = seconds[0][r] / seconds[1][r];
        }
        const timing one = summarize(seconds[0], repeats), two = summarize(seconds[1], repeats);
        qsort(ratio, repeats, sizeof(double), compare);
        printf("  %s: 1 thread (%s) median %.6f s, 2 threads (%s) median %.6f s: %.2fx; the rounds' ratio "
               "median %.2f [%.2f, %.2f]\n", u ? "upper" : "lower", fm_solve_path_name(fm_levels_chosen(levels[0], NULL)),
               one.median, fm_solve_path_name(fm_levels_chosen(levels[1], NULL)), two.median, one.median / two.median,
               ratio[repeats / 2], ratio[repeats / 4], ratio[(3 * repeats) / 4]);
        free(seconds[0]);
        free(seconds[1]);
        free(ratio);
        fm_levels_free(&levels[0]);
        fm_levels_free(&levels[1]);
    }
    omp_set_num_threads(2);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s G|FILE.mtx REPEATS [STRIP ...]\n", argv[0]);
        return 2;
    }
    const bool is_file = strspn(argv[1], "0123456789") != strlen(argv[1]);
    const int64_t side = is_file ? 0 : atoll(argv[1]);
    const int repeats = atoi(argv[2]);
    int64_t spans[32] = { 4096, 16384, 32768, 65536, 262144 };
    int span_count = 5;
    if (argc > 3) {
        span_count = 0;
        for (int a = 3; a < argc && span_count < 32; a++) spans[span_count++] = atoll(argv[a]);
    }
    if ((!is_file && side < 1) || repeats < 1) {
        fprintf(stderr, "G and REPEATS must be positive\n");
        return 2;
    }
    for (int s = 0; s < span_count; s++)
        if (spans[s] < 1) {
            fprintf(stderr, "a STRIP must be positive\n");
            return 2;
        }
    char msg[FM_MSG_LEN];
    omp_set_num_threads(1);
    double t0 = cpu_seconds();
    fm_square *g = is_file ? from_file(argv[1], msg) : grid(side, msg);
    if (!g) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    const double build = cpu_seconds() - t0;
    const int64_t n = g->n;
    fm_levels *lower = NULL, *upper = NULL;
    t0 = cpu_seconds();
    if (fm_levels_new(&lower, g->lower, true, msg) || fm_levels_new(&upper, g->lower_by_columns, false, msg)) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    const double schedules = cpu_seconds() - t0;
    printf("%s: n %lld, nnz(A) %lld, nnz(L) %lld, levels %lld (upper %lld), %.1f rows a level; build %.3f s; "
           "both schedules (levels, strips, sets, stages) %.3f s; random n 10000 with 1e6 entries: build %.3f s "
           "(processor seconds, one thread)\n",
           is_file ? argv[1] : "grid", (long long)n, (long long)g->A->count, (long long)g->lower->count,
           (long long)lower->count, (long long)upper->count, (double)n / (double)lower->count, build, schedules,
           build_random_seconds());
    if (!is_file) printf("grid %lld x %lld\n", (long long)side, (long long)side);

    double *x = malloc(sizeof(double) * n), *y = malloc(sizeof(double) * n);
    for (int64_t i = 0; i < n; i++) x[i] = 1.0 + (double)(i % 7) / 7;
    const double spmv_bytes = 16.0 * g->A->count + 8.0 * (n + 1) + 16.0 * n;
    const double solve_bytes = 16.0 * g->lower->count + 8.0 * (n + 1) + 16.0 * n;
    const int threads[] = { 1, 2 };
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(threads[t]);
        double bandwidth = 0;
        if (fm_memory_bandwidth(&bandwidth, 0.5, msg)) {
            fprintf(stderr, "%s\n", msg);
            return 1;
        }
        printf("\nthreads %d: triad bandwidth %.2f GB/s (3 arrays of %lld MiB)\n", threads[t], bandwidth,
               (long long)(fm_memory_bandwidth_bytes() >> 20));
        timing spmv = run(SPMV, g, lower, upper, x, y, repeats);
        const double local = triad_at(spmv_bytes);
        printf("  spmv              best %.6f s  median %.6f s  %.2f GB/s (%.0f%% of the triad; the triad on "
               "%.1f MB, this footprint: %.2f GB/s, %.0f%%)\n", spmv.best, spmv.median, spmv_bytes / spmv.best / 1e9,
               100 * spmv_bytes / spmv.best / 1e9 / bandwidth, spmv_bytes / 1e6, local,
               100 * spmv_bytes / spmv.best / 1e9 / local);
        const char *names[] = { "lower", "upper" };
        for (int u = 0; u < 2; u++) {
            fm_levels *levels = u ? upper : lower;
            const fm_csr *T = u ? g->lower_by_columns : g->lower;
            levels->path = FM_SOLVE_SERIAL;
            timing serial = run(u ? UPPER_REFERENCE : LOWER_REFERENCE, g, lower, upper, x, y, repeats);
            printf("  %s reference   best %.6f s  median %.6f s  %.2f GB/s; processor best %.6f s\n", names[u],
                   serial.best, serial.median, solve_bytes / serial.best / 1e9, serial.processor);
            for (int s = 0; s < span_count; s++) {
                if (fm_levels_restrip(levels, T, spans[s], msg)) {
                    fprintf(stderr, "%s\n", msg);
                    return 1;
                }
                // one thread: the strips' order alone; two: the strips in parallel
                levels->path = threads[t] == 1 ? FM_SOLVE_STRIPS : FM_SOLVE_PARALLEL;
                timing fast = run(u ? UPPER : LOWER, g, lower, upper, x, y, repeats);
                printf("  %s strips of %-6lld (%5lld strips, %5.1f rows a local level, model 2 thr %.2fx) best %.6f s"
                       "  median %.6f s  %.2f GB/s  reference/this %.2f (best) %.2f (median)%s\n", names[u],
                       (long long)spans[s], (long long)levels->strips, levels->local_width, levels->modeled_speedup,
                       fast.best, fast.median, solve_bytes / fast.best / 1e9, serial.best / fast.best,
                       serial.median / fast.median, "");
                if (threads[t] == 1)
                    printf("    processor best %.6f s: reference/this %.2f\n", fast.processor,
                           serial.processor / fast.processor);
            }
            // the two sets (one thread: the leading set, then the trailing one)
            // and the two stages (one thread: the serial loop), where T has them
            char label[128];
            if (levels->split_count > 0) {
                levels->path = FM_SOLVE_SPLIT;
                snprintf(label, sizeof label, "sets (leading %.0f%% of the entries, model 2 thr %.2fx)",
                         100 * levels->split_entries, levels->split_speedup);
                print_forced(names[u], label, run(u ? UPPER : LOWER, g, lower, upper, x, y, repeats), serial,
                             solve_bytes);
            } else {
                printf("  %s sets: none (no closed set of a third to two thirds of the entries)\n", names[u]);
            }
            if (levels->stages_reach > 0) {
                levels->path = FM_SOLVE_STAGES;
                snprintf(label, sizeof label, "stages (reach %lld rows, model 2 thr %.2fx)",
                         (long long)levels->stages_reach, levels->stages_speedup);
                print_forced(names[u], label, run(u ? UPPER : LOWER, g, lower, upper, x, y, repeats), serial,
                             solve_bytes);
            } else {
                printf("  %s stages: none\n", names[u]);
            }
            // the library's default strips and choices
            fm_levels_free(u ? &upper : &lower);
            if (fm_levels_new(u ? &upper : &lower, T, !u, msg)) {
                fprintf(stderr, "%s\n", msg);
                return 1;
            }
            levels = u ? upper : lower;
            const fm_solve_path chosen = fm_solve_choose(levels, threads[t]);
            timing automatic = run(u ? UPPER : LOWER, g, lower, upper, x, y, repeats);
            t0 = omp_get_wtime();
            if (fm_levels_tune(levels, T, 3, msg)) {
                fprintf(stderr, "%s\n", msg);
                return 1;
            }
            const double tune_seconds = omp_get_wtime() - t0;
            timing tuned = run(u ? UPPER : LOWER, g, lower, upper, x, y, repeats);
            printf("  %s auto (%s, strips of %lld) best %.6f s  median %.6f s; tuned: %s in %.4f s, best %.6f s  "
                   "median %.6f s\n", names[u], fm_solve_path_name(chosen), (long long)levels->strip_entries,
                   automatic.best, automatic.median, fm_solve_path_name(levels->path), tune_seconds, tuned.best,
                   tuned.median);
        }
    }
    if (interleaved(g, x, y, repeats, msg)) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    free(x);
    free(y);
    fm_levels_free(&lower);
    fm_levels_free(&upper);
    fm_square_free(&g);
    return 0;
}
