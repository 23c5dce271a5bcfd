// SpMV and the triangular solves on the 5-point Laplacian of a g × g grid
// (natural order), against the STREAM triad measured in the same run.
//
//   bench_solve_kernels G REPEATS
//
// Prints the triad bandwidth, then for 1 and 2 threads: SpMV, and the lower
// (L = tril(A), diagonal last) and upper (Lᵀ = L by columns) solves, serial
// reference and level-scheduled, in seconds (best and median of REPEATS) and
// GB/s. Bytes counted (int64 indices, double values; each array read or
// written once, no write-allocate, as STREAM counts):
//   SpMV   16·nnz(A) + 8·(n + 1) row starts + 8·n x + 8·n y
//   solve  16·nnz(L) + 8·(n + 1) row starts + 8·n b + 8·n x
// (the level-scheduled solve also reads the 8·n level order, not counted).
// Also times the graph builds the issue sizes, on one thread in processor
// seconds: this grid (mirrored from its lower triangle) and a random
// symmetric n = 10 000 with 10^6 entries.
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bandwidth.h"
#include "rng.h"
#include "square.h"

static int compare(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct timing { double best, median; } timing;

static timing summarize(double *seconds, int repeats)
{
    qsort(seconds, repeats, sizeof(double), compare);
    return (timing){ seconds[0], seconds[repeats / 2] };
}

typedef enum { SPMV, LOWER_REFERENCE, LOWER, UPPER_REFERENCE, UPPER } kernel;

static timing run(kernel which, const fm_square *g, const fm_levels *lower, const fm_levels *upper,
                  const double *in, double *out, int repeats)
{
    double *seconds = malloc(sizeof(double) * repeats);
    for (int r = 0; r < repeats; r++) {
        const double t0 = omp_get_wtime();
        switch (which) {
        case SPMV: fm_spmv(g->A, in, out); break;
        case LOWER_REFERENCE: fm_solve_lower_reference(g->lower, in, out); break;
        case LOWER: fm_solve_lower(g->lower, lower, in, out); break;
        case UPPER_REFERENCE: fm_solve_upper_reference(g->lower_by_columns, in, out); break;
        case UPPER: fm_solve_upper(g->lower_by_columns, upper, in, out); break;
        }
        seconds[r] = omp_get_wtime() - t0;
    }
    timing t = summarize(seconds, repeats);
    free(seconds);
    return t;
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

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s G REPEATS\n", argv[0]);
        return 2;
    }
    const int64_t side = atoll(argv[1]);
    const int repeats = atoi(argv[2]);
    if (side < 1 || repeats < 1) {
        fprintf(stderr, "G and REPEATS must be positive\n");
        return 2;
    }
    char msg[FM_MSG_LEN];
    const int64_t n = side * side;
    int64_t *row = malloc(sizeof(int64_t) * 3 * n), *col = malloc(sizeof(int64_t) * 3 * n);
    double *val = malloc(sizeof(double) * 3 * n);
    int64_t count = 0;
    for (int64_t r = 0; r < side; r++)
        for (int64_t c = 0; c < side; c++) {
            const int64_t i = r * side + c;
            row[count] = i, col[count] = i, val[count++] = 4;
            if (c > 0) row[count] = i, col[count] = i - 1, val[count++] = -1;
            if (r > 0) row[count] = i, col[count] = i - side, val[count++] = -1;
        }
    fm_square *g = NULL;
    omp_set_num_threads(1);
    double t0 = cpu_seconds();
    if (fm_square_from_triplets(&g, n, count, row, col, val, true, msg)) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    const double build = cpu_seconds() - t0;
    free(row);
    free(col);
    free(val);
    fm_levels *lower = NULL, *upper = NULL;
    if (fm_levels_new(&lower, g->lower, true, msg) || fm_levels_new(&upper, g->lower_by_columns, false, msg)) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    printf("grid %lld x %lld: n %lld, nnz(A) %lld, nnz(L) %lld, levels %lld; build %.3f s; "
           "random n 10000 with 1e6 entries: build %.3f s (processor seconds, one thread)\n",
           (long long)side, (long long)side, (long long)n, (long long)g->A->count, (long long)g->lower->count,
           (long long)lower->count, build, build_random_seconds());

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
        printf("  spmv            best %.6f s  median %.6f s  %.2f GB/s (%.0f%% of the triad)\n", spmv.best,
               spmv.median, spmv_bytes / spmv.best / 1e9, 100 * spmv_bytes / spmv.best / 1e9 / bandwidth);
        const char *names[] = { "lower", "upper" };
        for (int u = 0; u < 2; u++) {
            timing serial = run(u ? UPPER_REFERENCE : LOWER_REFERENCE, g, lower, upper, x, y, repeats);
            timing fast = run(u ? UPPER : LOWER, g, lower, upper, x, y, repeats);
            printf("  %s reference best %.6f s  median %.6f s  %.2f GB/s\n", names[u], serial.best, serial.median,
                   solve_bytes / serial.best / 1e9);
            printf("  %s levels    best %.6f s  median %.6f s  %.2f GB/s  serial/levels %.2f (best) %.2f "
                   "(median)\n", names[u], fast.best, fast.median, solve_bytes / fast.best / 1e9,
                   serial.best / fast.best, serial.median / fast.median);
        }
    }
    free(x);
    free(y);
    fm_levels_free(&lower);
    fm_levels_free(&upper);
    fm_square_free(&g);
    return 0;
}
