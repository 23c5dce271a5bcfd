// The learned LU loss and its gradient (P6, fm_llu_loss) on the scaled
// 5-point grid of side g: the best of `repeats` calls with 1 and with 2
// threads. Usage: bench_llu_loss [side=128] [repeats=20]
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "learned_lu_model.h"
#include "rng.h"
#include "square.h"

// The 5-point Laplacian (4 on the diagonal, −1 to each grid neighbour).
static fm_square *grid(int64_t side, char *msg)
{
    const int64_t n = side * side;
    int64_t *row = malloc(5 * n * sizeof *row), *col = malloc(5 * n * sizeof *col), count = 0;
    double *val = malloc(5 * n * sizeof *val);
    fm_square *g = NULL;
    if (!row || !col || !val) { free(row); free(col); free(val); return NULL; }
    for (int64_t y = 0; y < side; y++)
        for (int64_t x = 0; x < side; x++) {
            const int64_t i = y * side + x;
            const int64_t neighbour[4] = { y > 0 ? i - side : -1, x > 0 ? i - 1 : -1,
                                           x + 1 < side ? i + 1 : -1, y + 1 < side ? i + side : -1 };
            for (int q = 0; q < 4; q++)
                if (neighbour[q] >= 0) { row[count] = i; col[count] = neighbour[q]; val[count++] = -1; }
            row[count] = i; col[count] = i; val[count++] = 4;
        }
    fm_square_from_triplets(&g, n, count, row, col, val, false, msg);
    free(row); free(col); free(val);
    return g;
}

int main(int argc, char **argv)
{
    const int64_t side = argc > 1 ? atoll(argv[1]) : 128;
    const int repeats = argc > 2 ? atoi(argv[2]) : 20;
    char msg[FM_MSG_LEN] = "";
    fm_square *A = grid(side, msg), *S = NULL;
    if (!A || fm_square_scaled(&S, A, msg) != FM_OK) { fprintf(stderr, "%s\n", msg); return 1; }
    const int64_t n = S->n, E = S->A->count;
    double *v = malloc(E * sizeof *v), *dv = calloc(E, sizeof *dv), *p = malloc(n * sizeof *p);
    double *t = malloc(n * sizeof *t), *work = malloc(3 * n * sizeof *work);
    fm_rng r = fm_rng_stream(1, 0);
    for (int64_t k = 0; k < E; k++) v[k] = S->A->value[k] + 0.1 * fm_rng_normal(r, (uint64_t)k);
    for (int64_t i = 0; i < n; i++) p[i] = fm_rng_normal(r, (uint64_t)(E + i));
    fm_spmv(S->A, p, t);
    printf("grid %lld x %lld: n = %lld, entries %lld\n", (long long)side, (long long)side, (long long)n,
           (long long)E);
    for (int threads = 1; threads <= 2; threads++) {
        omp_set_num_threads(threads);
        double best = INFINITY, loss = 0;
        for (int rep = 0; rep < repeats; rep++) {
            const double start = omp_get_wtime();
            loss = fm_llu_loss(S, v, p, t, dv, work);
            const double seconds = omp_get_wtime() - start;
            best = seconds < best ? seconds : best;
        }
        printf("threads %d: loss %.6g, loss + gradient %.3g ms (best of %d)\n", threads, loss, 1e3 * best, repeats);
    }
    free(v); free(dv); free(p); free(t); free(work);
    fm_square_free(&S);
    fm_square_free(&A);
    return 0;
}
