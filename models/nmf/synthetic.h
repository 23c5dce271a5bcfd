// What the planted-data generators share (models/nmf/synthetic.c,
// models/nmf/synthetic_observed.c, models/nmf/train_data.c): the factors, the value of
// one entry and the weight of a node.
#ifndef FM_SYNTHETIC_H
#define FM_SYNTHETIC_H

#include <math.h>
#include <stdint.h>

#include "factormer.h"
#include "rng.h"

// W (rows × rank) and Hᵀ (cols × rank), i.i.d. Exponential(sqrt(rank)), so
// that the entries of W H have mean 1; the same for any thread count.
void fm_planted_factors(float *W, float *Ht, int64_t rows, int64_t cols, int rank, uint64_t seed);

// The weight of one node for a degree profile: 1 (uniform), or Pareto with
// tail index 2 (P(w > x) = x^-2, x >= 1; power-law, like ratings), drawn at
// `counter` of `draw`.
static inline double fm_degree_weight(fm_degrees degrees, fm_rng draw, uint64_t counter)
{
    return degrees == FM_DEGREES_UNIFORM ? 1.0 : pow(fm_rng_uniform(draw, counter), -0.5);
}

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
