// factormer/generate.h: synthetic data with planted factors.
// A part of the public API: a user includes factormer.h, which includes
// every part and states the conventions they follow.
#ifndef FACTORMER_GENERATE_H
#define FACTORMER_GENERATE_H

#include <stdint.h>

#include "data.h"

#ifdef __cplusplus
extern "C" {
#endif

//------------------------------------------------------------------------------
// Synthetic data (models/nmf/synthetic, §7 eq. 18)
//------------------------------------------------------------------------------

// X = W H + N: W and H with i.i.d. Exponential(sqrt(rank)) entries, so that
// the entries of W H have mean 1; N i.i.d. normal with standard deviation
// `noise`, clipped at zero. With density 1 the result is an `array` (dense);
// below 1, a seeded `density` share of the entries is kept as coordinates.
int fm_synthetic_planted(fm_triplets **out, int64_t rows, int64_t cols, int rank, double noise,
                         double density, uint64_t seed, char *msg);

// How the observed entries of fm_synthetic_observed spread over rows and columns.
typedef enum {
    FM_DEGREES_UNIFORM = 0,    // every entry equally likely: degrees about entries/rows and entries/cols
    FM_DEGREES_POWER_LAW,      // Pareto node weights of tail index 2, like real ratings (a few very active
                               // users and very popular items)
} fm_degrees;

const char *fm_degrees_name(fm_degrees degrees);
int fm_degrees_parse(fm_degrees *degrees, const char *name, char *msg);

// About `entries` distinct coordinates of X = W H + N (W, H and N as in
// fm_synthetic_planted), for the incomplete kind (the observed entries of
// ratings) or the sparse kind, without visiting the rows × cols others: in
// O(entries·rank) time and memory, so 10^6 × 10^5 with 5·10^7 entries is
// quick. Each node gets a weight (1 for uniform, Pareto(2) for power-law);
// row i gets a degree of entries · w_i / Σw (rounded at random, at most
// half of the columns), and its columns are drawn with probability
// proportional to their weights, without repeats. Seeded, and the same for
// any thread count.
int fm_synthetic_observed(fm_triplets **out, int64_t rows, int64_t cols, int rank, double noise, int64_t entries,
                          fm_degrees degrees, uint64_t seed, char *msg);

#ifdef __cplusplus
}
#endif
#endif
