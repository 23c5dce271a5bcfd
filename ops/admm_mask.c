// The masked factor update of the speckled holdout (ops/admm_mask.h, §3).
//
// Per target, G_t is the shared Gram less the held sources' outer products,
// or the known sources' own sum when fewer sources are known than held (at
// a holdout fraction above one half; it also keeps G_t free of the
// cancellation of SᵀS − almost all of it). The outer products are summed in
// float (upper triangle), like the incomplete kind's per-target Grams
// (engine/products.h, fm_gather_gram_target); the system is then solved in
// double as there. One target is one thread's work from start to end: the
// result does not depend on the thread count.
#include "admm_mask.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "products.h"
#include "profile.h"
#include "rank.h"
#include "status.h"

// S (upper triangle, float k×k) += s sᵀ.
static inline void outer_add(float *restrict S, const float *restrict s, int k)
{
    for (int a = 0; a < k; a++) {
        const float sa = s[a];
        float *restrict row = S + a * k;
#pragma omp simd
        for (int b = a; b < k; b++) row[b] += sa * s[b];
    }
}

// G_t of target t into L (double k×k, full).
static void target_gram(double *restrict L, float *restrict S, const double *restrict gram,
                        const fm_held_edges *held, int64_t t, const float *restrict sources, int k)
{
    const int64_t begin = held->ptr[t], end = held->ptr[t + 1], count = end - begin, n = held->sources;
    const bool known = count > n - count;   // sum the known sources: they are fewer
    for (int e = 0; e < k * k; e++) S[e] = 0;
    if (known) {
        int64_t next = begin;   // the next held source, in order
        for (int64_t s = 0; s < n; s++) {
            if (next < end && held->idx[next] == s) { next++; continue; }
            outer_add(S, sources + s * k, k);
        }
    } else {
        for (int64_t e = begin; e < end; e++) outer_add(S, sources + held->idx[e] * k, k);
    }
    for (int a = 0; a < k; a++)
        for (int b = a; b < k; b++) {
            const double v = known ? (double)S[a * k + b] : gram[a * k + b] - (double)S[a * k + b];
            L[a * k + b] = L[b * k + a] = v;
        }
}

static inline int target_speckled(float *restrict t, float *restrict u, const float *restrict f,
                                  const double *restrict gram, const fm_held_edges *held, int64_t j,
                                  const float *restrict sources, fm_penalty penalty, int inner, int k)
{
    float S[k * k];
    double L[k * k], fd[k];
    target_gram(L, S, gram, held, j, sources, k);
    for (int r = 0; r < k; r++) fd[r] = f[r];
    return fm_admm_target_steps(t, u, fd, L, held->sources, penalty, inner, k);
}

static int check_held(const fm_admm_factor factor, const fm_edges *edges, const fm_held_edges *held,
                      const fm_dense *sources, char *msg)
{
#define FREE_ALL
    FM_CHECK(held->targets == factor.targets->rows && held->targets == edges->targets &&
                 held->sources == edges->sources && held->sources == sources->rows,
             FM_ERR_INVALID, "the held-out mask is %lld x %lld; the update's edges are %lld x %lld",
             (long long)held->targets, (long long)held->sources, (long long)edges->targets,
             (long long)edges->sources);
    FM_CHECK(sources->cols <= FM_MAX_RANK, FM_ERR_INVALID, "rank %lld is above %d", (long long)sources->cols,
             FM_MAX_RANK);
    return FM_OK;
#undef FREE_ALL
}

FM_TARGET_CLONES
int fm_admm_update_speckled(fm_admm_factor factor, fm_dense *rhs, const fm_edges *edges, const fm_held_edges *held,
                            const fm_dense *sources, const double *gram, fm_penalty penalty, int inner, char *msg)
{
#define FREE_ALL
    FM_TRY(check_held(factor, edges, held, sources, msg));
    fm_products_gather(rhs, edges, sources);
    FM_PROFILE_START(profile_clock);
    const int k = (int)sources->cols;
    int failed = 0;
#define RUN(K)                                                                                       \
    _Pragma("omp parallel for schedule(dynamic, 16) reduction(| : failed)")                         \
    for (int64_t j = 0; j < factor.targets->rows; j++)                                               \
        failed |= target_speckled(factor.targets->data + j * (K), factor.duals->data + j * (K),       \
                                  rhs->data + j * (K), gram, held, j, sources->data, penalty, inner, (K))
    FM_RANK_SWITCH(k, RUN)
#undef RUN
    FM_CHECK(!failed, FM_ERR_NUMERIC,
             "ADMM: a masked per-target Gram matrix plus rho*I is not positive definite (non-finite factor?)");
    // flops: per held (or known) source its outer product (k² over the
    // triangle), then per target the Cholesky (k³/3) and per inner step the
    // solves (2k²) and the projection (8k); bytes: a source row per held
    // entry (4k + 8), targets, duals and F (20·T·k)
    const double T = (double)factor.targets->rows, E = (double)held->count, kk = (double)k * k;
    FM_PROFILE_STOP(profile_clock, "admm.update_speckled", E * kk + T * (kk * k / 3 + inner * (2 * kk + 8.0 * k)),
                    E * (4.0 * k + 8) + 20 * T * k);
    return FM_OK;
#undef FREE_ALL
}

// x_ts of a stored edge, or 0.
static double stored_value(const fm_edges *edges, int64_t t, int64_t s)
{
    if (!edges->ptr) return edges->val[t * edges->sources + s];
    for (GrB_Index e = edges->ptr[t]; e < edges->ptr[t + 1]; e++)
        if ((int64_t)edges->idx[e] == s) return edges->val[e];
    return 0;
}

int fm_admm_update_speckled_reference(fm_admm_factor factor, const fm_edges *edges, const fm_held_edges *held,
                                      const fm_dense *sources, fm_penalty penalty, int inner, char *msg)
{
    double *L = NULL, *f = NULL;
#define FREE_ALL { free(L); free(f); }
    FM_TRY(check_held(factor, edges, held, sources, msg));
    const int k = (int)sources->cols;
    const int64_t n = held->sources;
    FM_ALLOC(L, (size_t)k * k);
    FM_ALLOC(f, k);
    for (int64_t t = 0; t < held->targets; t++) {
        memset(L, 0, sizeof(double) * k * k);
        memset(f, 0, sizeof(double) * k);
        for (int64_t s = 0; s < n; s++) {
            bool is_held = false;
            for (int64_t e = held->ptr[t]; e < held->ptr[t + 1]; e++) is_held |= held->idx[e] == s;
            if (is_held) continue;
            const float *row = sources->data + s * k;
            const double x = stored_value(edges, t, s);
            for (int a = 0; a < k; a++) {
                f[a] += x * row[a];
                for (int b = 0; b < k; b++) L[a * k + b] += (double)row[a] * row[b];
            }
        }
        FM_CHECK(!fm_admm_target_steps(factor.targets->data + t * k, factor.duals->data + t * k, f, L, n, penalty, inner, k),
                 FM_ERR_NUMERIC, "ADMM: a masked Gram matrix plus rho*I is not positive definite");
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
