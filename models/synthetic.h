// What the two planted-data generators share (models/synthetic.c,
// models/synthetic_observed.c): the factors and the value of one entry.
#ifndef FM_SYNTHETIC_H
#define FM_SYNTHETIC_H

#include <stdint.h>

#include "rng.h"

// W (rows × rank) and Hᵀ (cols × rank), i.i.d. Exponential(sqrt(rank)), so
// that the entries of W H have mean 1; the same for any thread count.
void fm_planted_factors(float *W, float *Ht, int64_t rows, int64_t cols, int rank, uint64_t seed);

// max(0, w_i · h_j + noise · N(0, 1)), the normal drawn at `counter` of `jitter`.
static inline float fm_planted_value(const float *W, const float *Ht, int64_t i, int64_t j, int rank, double noise,
                                     fm_rng jitter, uint64_t counter)
{
    double x = 0;
    for (int r = 0; r < rank; r++) x += (double)W[i * rank + r] * Ht[j * rank + r];
    if (noise > 0) x += noise * fm_rng_normal(jitter, counter);
    return (float)(x > 0 ? x : 0);
}

#endif
