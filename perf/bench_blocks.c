// Benchmark (not a test): a batch of independent small SPD systems, which is
// what the incomplete kind of the ADMM solver factors and solves once per
// update (one k×k system G_j + ρ_j I per target, ops/admm.c), done two ways:
//
//   per-block   an OpenMP loop over the blocks, each factored with
//               fm_chol_small and solved with fm_chol_solve_small (the
//               engine's routines; schedule(dynamic, 64) as in the engine);
//   CHOLMOD     the same blocks as one block-diagonal sparse symmetric matrix
//               (lower triangle, stype = -1): cholmod_l_analyze +
//               cholmod_l_factorize + cholmod_l_solve, and factorize + solve
//               alone with the analysis reused (as it could be across outer
//               iterations, the pattern never changes).
//
// Blocks: G_j = A_jᵀ A_j + ρ_j I with A_j a random 2k×k matrix (standard
// normal, counter-based generator of engine/rng.h, fixed seed) and
// ρ_j = trace(A_jᵀ A_j)/k (fm_admm_rho), the engine's choice. Right-hand
// sides are standard normal. Each timing is the best of --repeat runs.
//
// Not timed: generating the blocks, and assembling the CHOLMOD matrix from
// them (printed on its own line, since the engine would have to pay it on
// every update: its Gram matrices change each time). The per-block timing
// includes copying G_j into a per-thread workspace and b_j into x_j, which
// the engine does too.
//
// Usage: bench_blocks [--blocks N] [--rank K] [--repeat R]
//        defaults 20000 blocks, k = 16, best of 5.
// Exit status: 0 if both paths agree (max relative difference <= 1e-8),
// 1 if they do not, 2 on a bad argument, an allocation or a CHOLMOD failure.
#include <cholmod.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admm.h"
#include "rng.h"

#define BENCH_SEED 20240611u
#define BENCH_TOLERANCE 1e-8
#define BENCH_MAX_RANK 1024

static void die(const char *what)
{
    fprintf(stderr, "bench_blocks: %s\n", what);
    exit(2);
}

static void *xcalloc(size_t count, size_t size, const char *what)
{
    if (count && size > SIZE_MAX / count) {
        fprintf(stderr, "bench_blocks: %s: size overflow (%zu x %zu bytes)\n", what, count, size);
        exit(2);
    }
    void *p = calloc(count ? count : 1, size);
    if (!p) {
        fprintf(stderr, "bench_blocks: out of memory allocating %s (%zu x %zu bytes)\n", what,
                count, size);
        exit(2);
    }
    return p;
}

static long parse_positive(const char *option, const char *text, long max)
{
    char *end;
    errno = 0;
    long v = text ? strtol(text, &end, 10) : 0;
    if (!text || errno || end == text || *end || v < 1 || v > max) {
        fprintf(stderr, "bench_blocks: %s needs an integer in [1, %ld], got '%s'\n", option, max,
                text ? text : "(nothing)");
        exit(2);
    }
    return v;
}

// CHOLMOD calls this on every error or warning before returning; the caller
// still checks Common->status and exits.
static void bench_cholmod_report(int status, const char *file, int line, const char *message)
{
    fprintf(stderr, "bench_blocks: CHOLMOD %s %d at %s:%d: %s\n",
            status < 0 ? "error" : "warning", status, file, line, message);
}

static void bench_check(const cholmod_common *c, const char *call)
{
    if (c->status < CHOLMOD_OK) {
        fprintf(stderr, "bench_blocks: %s failed, CHOLMOD status %d%s\n", call, c->status,
                c->status == CHOLMOD_OUT_OF_MEMORY ? " (out of memory)" : "");
        exit(2);
    }
}

// The factorization succeeded as a call but the matrix may still not be
// positive definite: CHOLMOD then reports a warning and L->minor < n.
static void bench_check_factor(const cholmod_common *c, const cholmod_factor *L)
{
    bench_check(c, "cholmod_l_factorize");
    if (c->status == CHOLMOD_NOT_POSDEF || L->minor < L->n) {
        fprintf(stderr, "bench_blocks: CHOLMOD: matrix not positive definite (column %zu of %zu)\n",
                (size_t)L->minor, (size_t)L->n);
        exit(2);
    }
}

// Max over blocks of ||x_j - y_j||_inf / ||y_j||_inf.
static double max_relative_difference(const double *x, const double *y, int64_t blocks, int k)
{
    double worst = 0;
    for (int64_t j = 0; j < blocks; j++) {
        double diff = 0, norm = 0;
        for (int r = 0; r < k; r++) {
            diff = fmax(diff, fabs(x[j * k + r] - y[j * k + r]));
            norm = fmax(norm, fabs(y[j * k + r]));
        }
        double rel = norm > 0 ? diff / norm : diff;
        if (!(rel <= worst)) worst = rel;   // NaN propagates as a failure
    }
    return worst;
}

// Max over blocks of ||G_j x_j - b_j||_inf / (||G_j||_inf ||x_j||_inf).
static double max_relative_residual(const double *G, const double *x, const double *b,
                                    int64_t blocks, int k)
{
    double worst = 0;
    for (int64_t j = 0; j < blocks; j++) {
        const double *g = G + j * k * k, *xj = x + j * k, *bj = b + j * k;
        double res = 0, gnorm = 0, xnorm = 0;
        for (int r = 0; r < k; r++) {
            double v = -bj[r], row = 0;
            for (int c = 0; c < k; c++) {
                v += g[r * k + c] * xj[c];
                row += fabs(g[r * k + c]);
            }
            res = fmax(res, fabs(v));
            gnorm = fmax(gnorm, row);
            xnorm = fmax(xnorm, fabs(xj[r]));
        }
        double rel = res / (gnorm * xnorm > 0 ? gnorm * xnorm : 1.0);
        if (!(rel <= worst)) worst = rel;
    }
    return worst;
}

int main(int argc, char **argv)
{
    long blocks_arg = 20000, k_arg = 16, repeat = 5;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--blocks"))
            blocks_arg = parse_positive("--blocks", a + 1 < argc ? argv[++a] : NULL, 100000000L);
        else if (!strcmp(argv[a], "--rank"))
            k_arg = parse_positive("--rank", a + 1 < argc ? argv[++a] : NULL, BENCH_MAX_RANK);
        else if (!strcmp(argv[a], "--repeat"))
            repeat = parse_positive("--repeat", a + 1 < argc ? argv[++a] : NULL, 1000);
        else if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
            printf("usage: %s [--blocks N (20000)] [--rank K (16)] [--repeat R (5)]\n", argv[0]);
            return 0;
        } else {
            fprintf(stderr, "bench_blocks: unknown option '%s' (try --help)\n", argv[a]);
            return 2;
        }
    }
    const int64_t blocks = blocks_arg;
    const int k = (int)k_arg;
    const size_t n = (size_t)blocks * (size_t)k;
    const size_t entries = (size_t)blocks * (size_t)k * (size_t)k;
    const size_t lower_nnz = (size_t)blocks * ((size_t)k * (size_t)(k + 1) / 2);
    const int threads = omp_get_max_threads();

    // The blocks, full row-major k×k each, and the right-hand sides.
    double *G = xcalloc(entries, sizeof(double), "the blocks");
    double *b = xcalloc(n, sizeof(double), "the right-hand sides");
    double *x_block = xcalloc(n, sizeof(double), "the per-block solutions");
    // Each thread's workspace on its own 4 KiB pages: adjacent workspaces
    // would share prefetched cache lines between the threads' writes.
    const size_t work_stride = ((size_t)k * (size_t)k + 511) / 512 * 512;
    double *work = xcalloc((size_t)threads * work_stride, sizeof(double),
                           "the per-thread Cholesky workspace");
    const fm_rng rng_a = fm_rng_stream(BENCH_SEED, 1), rng_b = fm_rng_stream(BENCH_SEED, 2);
    int not_finite = 0;
#pragma omp parallel reduction(| : not_finite)
    {
        double *A = malloc(sizeof(double) * 2 * (size_t)k * (size_t)k);
        if (!A) not_finite |= 2;
#pragma omp for schedule(static)
        for (int64_t j = 0; j < blocks; j++) {
            if (!A) continue;
            double *g = G + (size_t)j * k * k;
            const uint64_t base = (uint64_t)j * 2 * (uint64_t)k * (uint64_t)k;
            for (int e = 0; e < 2 * k * k; e++) A[e] = fm_rng_normal(rng_a, base + (uint64_t)e);
            for (int r = 0; r < k; r++)   // AᵀA, A is 2k×k row-major
                for (int c = 0; c <= r; c++) {
                    double s = 0;
                    for (int i = 0; i < 2 * k; i++) s += A[i * k + r] * A[i * k + c];
                    g[r * k + c] = g[c * k + r] = s;
                }
            const double rho = fm_admm_rho(g, k);
            for (int r = 0; r < k; r++) g[r * k + r] += rho;
            for (int r = 0; r < k; r++) {
                b[j * k + r] = fm_rng_normal(rng_b, (uint64_t)j * k + r);
                if (!isfinite(b[j * k + r])) not_finite |= 1;
            }
        }
        free(A);
    }
    if (not_finite & 2) die("out of memory allocating a generator workspace");
    if (not_finite & 1) die("the generator produced a non-finite value");

    // Path 1: per-block, the engine's routines in an OpenMP loop.
    double best_block = INFINITY;
    for (long rep = 0; rep < repeat; rep++) {
        int failed = 0;
        const double t0 = omp_get_wtime();
#pragma omp parallel reduction(| : failed)
        {
            double *L = work + (size_t)omp_get_thread_num() * work_stride;
#pragma omp for schedule(dynamic, 64)
            for (int64_t j = 0; j < blocks; j++) {
                memcpy(L, G + (size_t)j * k * k, sizeof(double) * k * k);
                if (fm_chol_small(L, k)) {
                    failed = 1;
                    continue;
                }
                double *xj = x_block + (size_t)j * k;
                memcpy(xj, b + (size_t)j * k, sizeof(double) * k);
                fm_chol_solve_small(L, k, xj);
            }
        }
        const double t = omp_get_wtime() - t0;
        if (failed) die("fm_chol_small: a block is not positive definite");
        if (t < best_block) best_block = t;
    }
    const double residual = max_relative_residual(G, x_block, b, blocks, k);

    // Path 2: CHOLMOD on the block-diagonal matrix.
    cholmod_common common, *c = &common;
    if (!cholmod_l_start(c)) die("cholmod_l_start failed");
    c->error_handler = bench_cholmod_report;

    // Assembly: lower triangle, compressed columns, sorted and packed.
    const double t_assemble0 = omp_get_wtime();
    cholmod_sparse *S = cholmod_l_allocate_sparse(n, n, lower_nnz, 1, 1, -1, CHOLMOD_REAL, c);
    bench_check(c, "cholmod_l_allocate_sparse");
    if (!S) die("cholmod_l_allocate_sparse returned NULL");
    {
        SuiteSparse_long *Sp = S->p, *Si = S->i;
        double *Sx = S->x;
        SuiteSparse_long p = 0;
        for (int64_t j = 0; j < blocks; j++) {
            const double *g = G + (size_t)j * k * k;
            for (int col = 0; col < k; col++) {
                Sp[j * k + col] = p;
                for (int row = col; row < k; row++) {
                    Si[p] = (SuiteSparse_long)(j * k + row);
                    Sx[p] = g[row * k + col];
                    p++;
                }
            }
        }
        Sp[n] = p;
    }
    const double t_assemble = omp_get_wtime() - t_assemble0;

    cholmod_dense *B = cholmod_l_allocate_dense(n, 1, n, CHOLMOD_REAL, c);
    bench_check(c, "cholmod_l_allocate_dense");
    if (!B) die("cholmod_l_allocate_dense returned NULL");
    memcpy(B->x, b, sizeof(double) * n);

    double *x_full = xcalloc(n, sizeof(double), "the CHOLMOD solutions (analyze+factorize+solve)");
    double *x_refac = xcalloc(n, sizeof(double), "the CHOLMOD solutions (factorize+solve)");

    // Analyze + factorize + solve, from scratch each time.
    double best_full = INFINITY;
    int is_super = 0, is_ll = 0, ordering = -1;
    for (long rep = 0; rep < repeat; rep++) {
        const double t0 = omp_get_wtime();
        cholmod_factor *L = cholmod_l_analyze(S, c);
        bench_check(c, "cholmod_l_analyze");
        if (!L) die("cholmod_l_analyze returned NULL");
        cholmod_l_factorize(S, L, c);
        bench_check_factor(c, L);
        cholmod_dense *X = cholmod_l_solve(CHOLMOD_A, L, B, c);
        bench_check(c, "cholmod_l_solve");
        if (!X) die("cholmod_l_solve returned NULL");
        const double t = omp_get_wtime() - t0;
        if (t < best_full) best_full = t;
        memcpy(x_full, X->x, sizeof(double) * n);
        is_super = L->is_super;
        is_ll = L->is_ll;
        ordering = L->ordering;
        cholmod_l_free_dense(&X, c);
        cholmod_l_free_factor(&L, c);
    }

    // Factorize + solve, the analysis done once outside the timing.
    cholmod_factor *L = cholmod_l_analyze(S, c);
    bench_check(c, "cholmod_l_analyze");
    if (!L) die("cholmod_l_analyze returned NULL");
    double best_refac = INFINITY;
    for (long rep = 0; rep < repeat; rep++) {
        const double t0 = omp_get_wtime();
        cholmod_l_factorize(S, L, c);
        bench_check_factor(c, L);
        cholmod_dense *X = cholmod_l_solve(CHOLMOD_A, L, B, c);
        bench_check(c, "cholmod_l_solve");
        if (!X) die("cholmod_l_solve returned NULL");
        const double t = omp_get_wtime() - t0;
        if (t < best_refac) best_refac = t;
        memcpy(x_refac, X->x, sizeof(double) * n);
        cholmod_l_free_dense(&X, c);
    }
    cholmod_l_free_factor(&L, c);
    cholmod_l_free_dense(&B, c);
    cholmod_l_free_sparse(&S, c);
    cholmod_l_finish(c);

    const double diff_full = max_relative_difference(x_full, x_block, blocks, k);
    const double diff_refac = max_relative_difference(x_refac, x_block, blocks, k);
    const double diff = fmax(diff_full, diff_refac);

    const char *ordering_name = ordering == CHOLMOD_NATURAL ? "natural"
                                : ordering == CHOLMOD_AMD   ? "AMD"
                                : ordering == CHOLMOD_METIS ? "METIS"
                                : ordering == CHOLMOD_NESDIS ? "NESDIS"
                                : ordering == CHOLMOD_COLAMD ? "COLAMD"
                                : ordering == CHOLMOD_GIVEN ? "given"
                                                            : "other";
    printf("bench_blocks: %" PRId64 " blocks, k = %d (n = %zu, nnz(tril) = %zu), best of %ld, "
           "%d thread%s (omp_get_max_threads)\n",
           blocks, k, n, lower_nnz, repeat, threads, threads == 1 ? "" : "s");
    printf("CHOLMOD %d.%d.%d: %s %s, %s ordering\n", CHOLMOD_MAIN_VERSION, CHOLMOD_SUB_VERSION,
           CHOLMOD_SUBSUB_VERSION, is_super ? "supernodal" : "simplicial", is_ll ? "LL'" : "LDL'",
           ordering_name);
    printf("%-36s %12s %10s %8s\n", "path", "seconds", "ratio", "threads");
    printf("%-36s %12.6f %10.2f %8d\n", "per-block fm_chol_small (OpenMP)", best_block, 1.0,
           threads);
    printf("%-36s %12.6f %10.2f %8d\n", "cholmod analyze+factorize+solve", best_full,
           best_full / best_block, threads);
    printf("%-36s %12.6f %10.2f %8d\n", "cholmod factorize+solve", best_refac,
           best_refac / best_block, threads);
    printf("%-36s %12.6f %10.2f %8d\n", "(cholmod assembly, untimed above)", t_assemble,
           t_assemble / best_block, 1);
    printf("max relative difference per-block vs CHOLMOD: %.3e (tolerance %.0e)\n", diff,
           BENCH_TOLERANCE);
    printf("max relative residual of per-block solutions: %.3e\n", residual);

    free(G);
    free(b);
    free(x_block);
    free(work);
    free(x_full);
    free(x_refac);
    if (!(diff <= BENCH_TOLERANCE)) {
        fprintf(stderr, "bench_blocks: the two paths disagree: max relative difference %.3e > %.0e\n",
                diff, BENCH_TOLERANCE);
        return 1;
    }
    return 0;
}
