// Benchmark (not a test): the dense kind's W-update and the products around
// it, the two ways the solver can run them (ops/admm_full.c):
//
//   unfused   gather X·Hᵀ over X, the steps, gather Xᵀ·W over Xᵀ (the next
//             H-update's right-hand side), and Σr² over X: three passes;
//   fused     one pass over X by rows for all of it (and without Σr²).
//
// Each figure is the best and the median of --repeat calls (best: what the
// kernels can do; median: what a busy machine gives), with the kernels'
// x86-64 level (engine/cpu.h) and the thread count.
//
// Usage: bench_dense [--rows M --cols N --rank K] [--repeat R] [--threads T]
//        defaults 2000 x 2000, rank 10, 50 calls, all cores.
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admm.h"
#include "factormer.h"
#include "products.h"
#include "rng.h"

static void check(int status, const char *msg)
{
    if (status != FM_OK) {
        fprintf(stderr, "bench_dense: %s\n", msg);
        exit(2);
    }
}

static int by_value(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *seconds, int repeat, double flops)
{
    qsort(seconds, repeat, sizeof *seconds, by_value);
    printf("  %-28s best %8.3f ms  median %8.3f ms  %7.1f GFLOP/s (best)\n", what, 1e3 * seconds[0],
           1e3 * seconds[repeat / 2], flops / seconds[0] / 1e9);
}

int main(int argc, char **argv)
{
    long rows = 2000, cols = 2000, rank = 10, repeat = 50, threads = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        long *v = !strcmp(argv[i], "--rows") ? &rows : !strcmp(argv[i], "--cols") ? &cols
                : !strcmp(argv[i], "--rank") ? &rank : !strcmp(argv[i], "--repeat") ? &repeat
                : !strcmp(argv[i], "--threads") ? &threads : NULL;
        if (!v || ((*v = strtol(argv[i + 1], NULL, 10)) <= 0 && v != &threads)) {
            fprintf(stderr, "usage: bench_dense [--rows M --cols N --rank K] [--repeat R] [--threads T]\n");
            return 2;
        }
    }
    char msg[FM_MSG_LEN];
    check(fm_init(msg), msg);
    fm_set_threads((int)threads);
    const int64_t m = rows, n = cols;
    const int k = (int)rank;
    // uniform data and factors: the kernels' speed does not depend on the values
    float *X = malloc(sizeof(float) * m * n);
    fm_dense *W = NULL, *UW = NULL, *Ht = NULL, *XHt = NULL, *XtW = NULL, *W0 = NULL;
    check(X ? FM_OK : FM_ERR_MEMORY, "out of memory");
    const fm_rng rng = fm_rng_stream(1, FM_STREAM_SYNTH);
    for (int64_t e = 0; e < m * n; e++) X[e] = (float)fm_rng_uniform(rng, (uint64_t)e);
    fm_graph *g = NULL;
    check(fm_graph_from_dense(&g, m, n, X, FM_KIND_DENSE, msg), msg);
    free(X);
    check(fm_dense_new(&W0, m, k, msg), msg);
    check(fm_dense_new(&UW, m, k, msg), msg);
    check(fm_dense_new(&Ht, n, k, msg), msg);
    check(fm_dense_new(&XHt, m, k, msg), msg);
    check(fm_dense_new(&XtW, n, k, msg), msg);
    for (int64_t e = 0; e < m * k; e++) W0->data[e] = (float)fm_rng_uniform(rng, (uint64_t)(m * n + e));
    for (int64_t e = 0; e < n * k; e++) Ht->data[e] = (float)fm_rng_uniform(rng, (uint64_t)(m * n + m * k + e));
    check(fm_dense_copy(&W, W0, msg), msg);
    fm_edges edges_rows = { 0 }, edges_cols = { 0 };
    check(fm_edges_borrow(&edges_rows, g, FM_TO_ROWS, msg), msg);
    check(fm_edges_borrow(&edges_cols, g, FM_TO_COLUMNS, msg), msg);
    double gram[k * k];
    check(fm_products_gram(gram, Ht, msg), msg);
    fm_admm_full *work = NULL;
    check(fm_admm_full_new(&work, &edges_rows, k, msg), msg);
    const fm_penalty none = { 0 };
    const fm_admm_factor w = { W, UW };
    double *seconds = malloc(sizeof(double) * repeat);
    check(seconds ? FM_OK : FM_ERR_MEMORY, "out of memory");
    const double product = 2.0 * m * n * k;

    printf("dense %lld x %lld, rank %d, %d threads; %s\n", (long long)m, (long long)n, k, fm_get_threads(),
           fm_cpu_features());
    for (int variant = 0; variant < 4; variant++) {
        for (int r = 0; r < repeat; r++) {
            memcpy(W->data, W0->data, sizeof(float) * m * k);
            memset(UW->data, 0, sizeof(float) * m * k);
            double sq = 0;
            const double start = omp_get_wtime();
            if (variant == 0) {
                check(fm_admm_update_shared(w, XHt, &edges_rows, Ht, gram, none, 1, msg), msg);
                fm_products_gather(XtW, &edges_cols, W);
                check(fm_products_dense_residual(&sq, &edges_rows, W, Ht, msg), msg);
            } else if (variant == 3) {
                fm_products_gather(XHt, &edges_rows, Ht);
            } else {
                check(fm_admm_update_full(work, w, XHt, XtW, variant == 1 ? &sq : NULL, &edges_rows, Ht, gram,
                                          none, 1, msg),
                      msg);
            }
            seconds[r] = omp_get_wtime() - start;
        }
        static const char *const names[] = { "unfused (3 passes over X)", "fused, with the residual",
                                             "fused, without", "gather X·Hᵀ alone" };
        report(names[variant], seconds, (int)repeat, variant == 3 ? product : variant == 2 ? 2 * product : 3 * product);
    }
    free(seconds);
    fm_admm_full_free(&work);
    check(fm_edges_return(&edges_rows, msg), msg);
    check(fm_edges_return(&edges_cols, msg), msg);
    fm_dense_free(&W);
    fm_dense_free(&W0);
    fm_dense_free(&UW);
    fm_dense_free(&Ht);
    fm_dense_free(&XHt);
    fm_dense_free(&XtW);
    fm_graph_free(&g);
    fm_finalize();
    return 0;
}
