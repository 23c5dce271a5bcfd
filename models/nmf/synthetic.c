// Planted nonnegative low-rank data (§7, paper eq. 18).
#include <math.h>
#include <stdlib.h>

#include "profile.h"
#include "rng.h"
#include "status.h"
#include "synthetic.h"

void fm_planted_factors(float *W, float *Ht, int64_t rows, int64_t cols, int rank, uint64_t seed)
{
    const fm_rng factors = fm_rng_stream(seed, FM_STREAM_SYNTH);
    const double lambda = sqrt((double)rank);
#pragma omp parallel for schedule(static)
    for (int64_t e = 0; e < rows * rank; e++) W[e] = (float)fm_rng_exponential(factors, (uint64_t)e, lambda);
#pragma omp parallel for schedule(static)
    for (int64_t e = 0; e < cols * rank; e++)
        Ht[e] = (float)fm_rng_exponential(factors, (uint64_t)(rows * rank + e), lambda);
}

int fm_synthetic_planted(fm_triplets **out, int64_t rows, int64_t cols, int rank, double noise,
                         double density, uint64_t seed, char *msg)
{
    fm_triplets *t = NULL;
    float *W = NULL, *Ht = NULL;
#define FREE_ALL { fm_triplets_free(&t); free(W); free(Ht); }
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_synthetic_planted: output handle must be empty");
    FM_CHECK(rows >= 1 && cols >= 1 && rows <= INT64_MAX / cols, FM_ERR_INVALID,
             "synthetic shape %lld x %lld is not valid", (long long)rows, (long long)cols);
    FM_CHECK(rank >= 1, FM_ERR_INVALID, "synthetic rank must be >= 1, not %d", rank);
    FM_CHECK(density > 0 && density <= 1, FM_ERR_INVALID, "density %g must lie in (0, 1]", density);
    FM_CHECK(noise >= 0, FM_ERR_INVALID, "noise %g must be >= 0", noise);
    FM_PROFILE_START(profile_clock);
    fm_rng pick = fm_rng_stream(seed + 1, FM_STREAM_SYNTH);
    fm_rng jitter = fm_rng_stream(seed + 2, FM_STREAM_SYNTH);
    FM_ALLOC(W, rows * rank);
    FM_ALLOC(Ht, cols * rank);
    fm_planted_factors(W, Ht, rows, cols, rank, seed);

    const bool array = density >= 1;
    const int64_t size = rows * cols;
    int64_t count = size;
    if (!array) {
        count = 0;
        for (int64_t e = 0; e < size; e++) count += fm_rng_uniform(pick, e) < density;
    }
    FM_ALLOC(t, 1);
    t->rows = rows;
    t->cols = cols;
    t->array = array;
    t->count = count;
    FM_ALLOC(t->val, count);
    if (!array) {
        FM_ALLOC(t->row, count);
        FM_ALLOC(t->col, count);
    }
    int64_t n = 0;
    for (int64_t e = 0; e < size; e++) {
        if (!array && !(fm_rng_uniform(pick, e) < density)) continue;
        int64_t i = e / cols, j = e % cols;
        if (!array) {
            t->row[n] = i;
            t->col[n] = j;
        }
        t->val[n++] = fm_planted_value(W, Ht, i, j, rank, noise, jitter, (uint64_t)e);
    }
    // flops 2·N·rank (a dot product per kept entry, N = count); bytes: W and
    // Hᵀ written (4·(rows + cols)·rank), a row of each read per kept entry
    // (8·N·rank), the entries written (4·N, 20·N as coordinates)
    const double N = (double)count;
    FM_PROFILE_STOP(profile_clock, "synthetic.planted", 2 * N * rank,
                    4.0 * (rows + cols) * rank + 8 * N * rank + (array ? 4 : 20) * N);
    *out = t;
    t = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
