// ADMM for the nonnegative least-squares subproblem (§3):
//
//   G = SᵀS (+ λ2 I),  F = the edges times the sources,  ρ = trace(G)/k
//   repeat inner:  T̃ = (G + ρI)⁻¹ (F + ρ(T + U))
//                  T  = max(0, T̃ − U − λ1/ρ)
//                  U  = U + T − T̃
//
// The L1 penalty enters the proximal step; the L2 penalty adds λ2 I to G.
// With ρ = trace(G)/k the system is well conditioned: its eigenvalues lie in
// [ρ, trace(G) + ρ], so cond(G + ρI) <= k + 1 for every Gram matrix. That is
// why a float solve in the hot loop is safe and no CHOLMOD refactorization is
// ever needed here.
#include "admm.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "hals.h"
#include "products.h"
#include "profile.h"
#include "rank.h"
#include "status.h"

double fm_admm_rho(const double *G, int k)
{
    double trace = 0;
    for (int a = 0; a < k; a++) trace += G[a * k + a];
    return (trace > 0 && isfinite(trace)) ? trace / k : 1.0;
}

int fm_chol_small(double *L, int k)
{
    for (int j = 0; j < k; j++) {
        double d = L[j * k + j];
        for (int p = 0; p < j; p++) d -= L[j * k + p] * L[j * k + p];
        if (!(d > 0)) return -1;
        d = sqrt(d);
        L[j * k + j] = d;
        for (int i = j + 1; i < k; i++) {
            double v = L[i * k + j];
            for (int p = 0; p < j; p++) v -= L[i * k + p] * L[j * k + p];
            L[i * k + j] = v / d;
        }
    }
    return 0;
}

void fm_chol_solve_small(const double *L, int k, double *x)
{
    for (int i = 0; i < k; i++) {   // L y = b
        double v = x[i];
        for (int p = 0; p < i; p++) v -= L[i * k + p] * x[p];
        x[i] = v / L[i * k + i];
    }
    for (int i = k - 1; i >= 0; i--) {   // Lᵀ x = y
        double v = x[i];
        for (int p = i + 1; p < k; p++) v -= L[p * k + i] * x[p];
        x[i] = v / L[i * k + i];
    }
}

int fm_admm_shared_system(float *inverse, float *rho, float *shrink, const double *gram, fm_penalty penalty,
                          int64_t sources, int k, char *msg)
{
    double *system = NULL;
#define FREE_ALL free(system)
    FM_ALLOC(system, (size_t)k * k);
    fm_hals_system(system, gram, penalty, sources, k);   // Ĝ = G + λ2 c I, then + ρI
    const double r = fm_admm_rho(system, k);
    for (int a = 0; a < k; a++) system[a * k + a] += r;
    FM_CHECK(fm_chol_small(system, k) == 0, FM_ERR_NUMERIC,
             "ADMM: the Gram matrix plus rho*I is not positive definite (non-finite factor?)");
    for (int c = 0; c < k; c++) {
        double col[k];
        for (int e = 0; e < k; e++) col[e] = e == c;
        fm_chol_solve_small(system, k, col);
        for (int e = 0; e < k; e++) inverse[e * k + c] = (float)col[e];
    }
    *rho = (float)r;
    *shrink = (float)(penalty.l1 / r);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

FM_TARGET_CLONES
void fm_admm_steps_block(float *restrict t, float *restrict u, const float *restrict f, const float *restrict inverse,
                         float rho, float shrink, int inner, int k, int64_t count, float *restrict b,
                         float *restrict tt)
{
    const int64_t size = count * k;
    for (int step = 0; step < inner; step++) {
#pragma omp simd
        for (int64_t e = 0; e < size; e++) b[e] = f[e] + rho * (t[e] + u[e]);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)count, k, k, 1.0f, b, k, inverse, k, 0.0f, tt, k);
#pragma omp simd
        for (int64_t e = 0; e < size; e++) {
            const float v = tt[e] - u[e] - shrink, next = v > 0 ? v : 0;
            u[e] += next - tt[e];
            t[e] = next;
        }
    }
}

// The per-target steps of every target, given F in `rhs`: blocks of
// FM_ADMM_BLOCK targets in parallel (fixed blocks: the same sums on any
// thread count), each stepped by fm_admm_steps_block.
static int shared_steps(fm_admm_factor factor, const fm_dense *rhs, const float *inverse, float rho, float shrink,
                        int inner, int k, char *msg)
{
    float *work = NULL;
#define FREE_ALL free(work)
    const int64_t targets = factor.targets->rows, blocks = (targets + FM_ADMM_BLOCK - 1) / FM_ADMM_BLOCK;
    const int threads = omp_get_max_threads();
    FM_ALLOC(work, (size_t)threads * 2 * FM_ADMM_BLOCK * k);
#pragma omp parallel for schedule(static)
    for (int64_t block = 0; block < blocks; block++) {
        const int64_t begin = block * FM_ADMM_BLOCK;
        const int64_t count = targets - begin < FM_ADMM_BLOCK ? targets - begin : FM_ADMM_BLOCK;
        float *b = work + (size_t)omp_get_thread_num() * 2 * FM_ADMM_BLOCK * k;
        fm_admm_steps_block(factor.targets->data + begin * k, factor.duals->data + begin * k, rhs->data + begin * k,
                            inverse, rho, shrink, inner, k, count, b, b + FM_ADMM_BLOCK * k);
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// flops: Cholesky (k³/3) and k solves (2k² each) for the inverse, then per
// target and inner step the right-hand side (3k), the matvec (2k²) and the
// projection (5k); bytes: rhs (4·T·k), targets and duals read and written
// (16·T·k), the Gram (8·k²) and the inverse (4·k²)
#define FM_SHARED_FLOPS(T, k, inner) ((double)(k) * (k) * (k) / 3 + 2.0 * (k) * (k) * (k) + \
                                      (T) * (inner) * (2.0 * (k) * (k) + 8.0 * (k)))
#define FM_SHARED_BYTES(T, k) (20.0 * (T) * (k) + 12.0 * (k) * (k))

int fm_admm_update_shared(fm_admm_factor factor, fm_dense *rhs, const fm_edges *edges,
                          const fm_dense *sources, const double *gram, fm_penalty penalty,
                          int inner, char *msg)
{
    float *inverse = NULL;
#define FREE_ALL free(inverse)
    FM_PROFILE_START(setup_clock);
    const int k = (int)sources->cols;
    float rho, shrink;
    FM_ALLOC(inverse, (size_t)k * k);
    FM_TRY(fm_admm_shared_system(inverse, &rho, &shrink, gram, penalty, edges->sources, k, msg));
    // The gather records itself (products.gather); this op's time is the
    // set-up before it and the per-target steps after it.
    const double setup_seconds = fm_profile_on ? omp_get_wtime() - setup_clock : 0;
    fm_products_gather(rhs, edges, sources);
    FM_PROFILE_START(profile_clock);
    FM_TRY(shared_steps(factor, rhs, inverse, rho, shrink, inner, k, msg));
    const double T = (double)factor.targets->rows;
    FM_PROFILE_STOP(profile_clock - setup_seconds, "admm.update_shared", FM_SHARED_FLOPS(T, k, inner),
                    FM_SHARED_BYTES(T, k));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_admm_steps_shared(fm_admm_factor factor, const fm_dense *rhs, const fm_edges *edges, const double *gram,
                         fm_penalty penalty, int inner, char *msg)
{
    float *inverse = NULL;
#define FREE_ALL free(inverse)
    FM_PROFILE_START(profile_clock);
    const int k = (int)rhs->cols;
    float rho, shrink;
    FM_ALLOC(inverse, (size_t)k * k);
    FM_TRY(fm_admm_shared_system(inverse, &rho, &shrink, gram, penalty, edges->sources, k, msg));
    FM_TRY(shared_steps(factor, rhs, inverse, rho, shrink, inner, k, msg));
    const double T = (double)factor.targets->rows;
    FM_PROFILE_STOP(profile_clock, "admm.update_shared", FM_SHARED_FLOPS(T, k, inner), FM_SHARED_BYTES(T, k));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// One target of the incomplete kind: F_j and G_j in one pass over its
// observed edges, G_j + ρ_j I factored once, then `inner` steps.
static inline int admm_target_masked(float *restrict t, float *restrict u, const fm_edges *edges, int64_t j,
                                     const float *restrict sources, fm_penalty penalty, int inner, int k)
{
    float f[k], gram[k * k];
    double L[k * k], fd[k];
    fm_gather_gram_target(f, gram, edges, j, sources, k);
    for (int e = 0; e < k * k; e++) L[e] = gram[e];
    for (int r = 0; r < k; r++) fd[r] = f[r];
    return fm_admm_target_steps(t, u, fd, L, edges->ptr[j + 1] - edges->ptr[j], penalty, inner, k);
}

FM_TARGET_CLONES
int fm_admm_update_masked(fm_admm_factor factor, const fm_edges *edges, const fm_dense *sources,
                          fm_penalty penalty, int inner, char *msg)
{
#define FREE_ALL
    FM_PROFILE_START(profile_clock);
    const int k = (int)sources->cols;
    int failed = 0;
#define RUN(K)                                                                    \
    _Pragma("omp parallel for schedule(dynamic, 64) reduction(| : failed)")      \
    for (int64_t j = 0; j < factor.targets->rows; j++)                            \
        failed |= admm_target_masked(factor.targets->data + j * (K), factor.duals->data + j * (K), \
                                     edges, j, sources->data, penalty, inner, (K))
    FM_RANK_SWITCH(k, RUN)
#undef RUN
    FM_CHECK(!failed, FM_ERR_NUMERIC,
             "ADMM: a per-target Gram matrix plus rho*I is not positive definite (non-finite factor?)");
    // flops: F_j and G_j over the edges (2·E·(k + k²)), then per target the
    // Cholesky (k³/3) and per inner step the right-hand side (3k), the two
    // triangular solves (2k²) and the projection (5k); bytes: ptr (8·(T+1)),
    // idx and val (12·E), a source row per edge (4·E·k), targets and duals
    // read and written (16·T·k)
    const double T = (double)factor.targets->rows, E = (double)edges->count, kk = (double)k * k;
    FM_PROFILE_STOP(profile_clock, "admm.update_masked",
                    2 * E * (k + kk) + T * (kk * k / 3 + inner * (2 * kk + 8.0 * k)),
                    8 * (T + 1) + 12 * E + 4 * E * k + 16 * T * k);
    return FM_OK;
#undef FREE_ALL
}
