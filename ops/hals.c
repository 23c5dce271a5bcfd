// Exact block updates by coordinate descent (§3.1); see hals.h.
#include "hals.h"

#include <omp.h>
#include <string.h>

#include "cpu.h"
#include "products.h"
#include "profile.h"
#include "rank.h"
#include "status.h"

enum { FM_HALS_BLOCK = 256 };   // targets per parallel chunk (any size gives the same result)

void fm_hals_system(double *system, const double *gram, fm_penalty penalty, int64_t sources, int k)
{
    memcpy(system, gram, sizeof(double) * k * k);
    const double ridge = penalty.l2 * (penalty.l2_per_entry ? (double)sources : 1.0);
    for (int a = 0; a < k; a++) system[a * k + a] += ridge;
}

// The same sweeps for a tile of n <= FM_HALS_TILE targets of a shared Ĝ,
// each line of work vectorized across the tile's targets: x and q are held
// rank-major (x[r][j]), the coordinate r of every target updated at once.
enum { FM_HALS_TILE = 16 };

static inline void hals_tile(float *restrict t, const float *restrict f, const double *restrict G, double l1,
                             int sweeps, int k, int n)
{
    double x[k][FM_HALS_TILE], q[k][FM_HALS_TILE], delta[FM_HALS_TILE];
    for (int j = 0; j < n; j++)
        for (int r = 0; r < k; r++) {
            x[r][j] = t[j * k + r];
            q[r][j] = f[j * k + r];
        }
    for (int r = 0; r < k; r++)
        for (int s = 0; s < k; s++) {
            const double g = G[r * k + s];
#pragma omp simd
            for (int j = 0; j < n; j++) q[r][j] -= g * x[s][j];
        }
    for (int sweep = 0; sweep < sweeps; sweep++)
        for (int r = 0; r < k; r++) {
            const double d = G[r * k + r], inv = d > 0 ? 1 / d : 0;
#pragma omp simd
            for (int j = 0; j < n; j++) {
                double next = x[r][j] + (q[r][j] - l1) * inv;
                next = d > 0 && next > 0 ? next : 0;
                delta[j] = next - x[r][j];
                x[r][j] = next;
            }
            for (int s = 0; s < k; s++) {
                const double g = G[r * k + s];
#pragma omp simd
                for (int j = 0; j < n; j++) q[s][j] -= delta[j] * g;
            }
        }
    for (int j = 0; j < n; j++)
        for (int r = 0; r < k; r++) t[j * k + r] = (float)x[r][j];
}

FM_TARGET_CLONES
void fm_hals_block(float *restrict t, const float *restrict f, const double *restrict system, double l1, int sweeps,
                   int k, int64_t count)
{
#define RUN(K)                                                                                   \
    for (int64_t j = 0; j < count; j += FM_HALS_TILE)                                            \
        hals_tile(t + j * (K), f + j * (K), system, l1, sweeps, (K),                              \
                  (int)(count - j < FM_HALS_TILE ? count - j : FM_HALS_TILE))
    FM_RANK_SWITCH(k, RUN)
#undef RUN
}

int fm_hals_update_shared(fm_dense *targets, fm_dense *rhs, const fm_edges *edges, const fm_dense *sources,
                          const double *gram, fm_penalty penalty, int64_t source_count, int sweeps, char *msg)
{
#define FREE_ALL
    const int k = (int)rhs->cols;
    FM_CHECK(targets->cols == k && targets->rows == rhs->rows && sweeps >= 1 && k <= FM_MAX_RANK, FM_ERR_INVALID,
             "fm_hals_update_shared: bad arguments");
    if (edges) fm_products_gather(rhs, edges, sources);
    FM_PROFILE_START(profile_clock);
    double system[k * k];
    fm_hals_system(system, gram, penalty, source_count, k);
    const int64_t T = targets->rows, blocks = (T + FM_HALS_BLOCK - 1) / FM_HALS_BLOCK;
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
        const int64_t begin = b * FM_HALS_BLOCK, count = T - begin < FM_HALS_BLOCK ? T - begin : FM_HALS_BLOCK;
        fm_hals_block(targets->data + begin * k, rhs->data + begin * k, system, penalty.l1, sweeps, k, count);
    }
    // flops: per target the start of q (2k²) and per sweep at most 2k² + 4k;
    // bytes: F read, targets read and written, the Gram
    FM_PROFILE_STOP(profile_clock, "hals.update_shared", (double)T * (2.0 * k * k + sweeps * (2.0 * k * k + 4.0 * k)),
                    12.0 * T * k + 8.0 * k * k);
    return FM_OK;
#undef FREE_ALL
}

static inline void hals_target_masked(float *restrict t, const fm_edges *edges, int64_t j,
                                      const float *restrict sources, fm_penalty penalty, int sweeps, int k)
{
    float f[k], gram[k * k];
    double G[k * k];
    fm_gather_gram_target(f, gram, edges, j, sources, k);
    const double ridge = penalty.l2 * (penalty.l2_per_entry ? (double)(edges->ptr[j + 1] - edges->ptr[j]) : 1.0);
    for (int e = 0; e < k * k; e++) G[e] = gram[e];
    for (int a = 0; a < k; a++) G[a * k + a] += ridge;
    fm_hals_target(t, f, G, penalty.l1, sweeps, k);
}

FM_TARGET_CLONES
int fm_hals_update_masked(fm_dense *targets, const fm_edges *edges, const fm_dense *sources, fm_penalty penalty,
                          int sweeps, char *msg)
{
#define FREE_ALL
    const int k = (int)sources->cols;
    FM_CHECK(targets->cols == k && targets->rows == edges->targets && sweeps >= 1 && k <= FM_MAX_RANK,
             FM_ERR_INVALID, "fm_hals_update_masked: bad arguments");
    FM_PROFILE_START(profile_clock);
#define RUN(K)                                                                                  \
    _Pragma("omp parallel for schedule(dynamic, 64)")                                           \
    for (int64_t j = 0; j < targets->rows; j++)                                                 \
        hals_target_masked(targets->data + j * (K), edges, j, sources->data, penalty, sweeps, (K))
    FM_RANK_SWITCH(k, RUN)
#undef RUN
    // flops: F_j and G_j over the edges (2·E·(k + k²)), then per target the
    // start of q (2k²) and per sweep at most 2k² + 4k; bytes: ptr, idx and
    // val, a source row per edge, targets read and written
    const double T = (double)targets->rows, E = (double)edges->count, kk = (double)k * k;
    FM_PROFILE_STOP(profile_clock, "hals.update_masked", 2 * E * (k + kk) + T * (2 * kk + sweeps * (2 * kk + 4.0 * k)),
                    8 * (T + 1) + 12 * E + 4 * E * k + 8 * T * k);
    return FM_OK;
#undef FREE_ALL
}
