// Counter-based random streams: value = hash(seed, stream, counter). Any
// thread can draw any element of a stream, so a parallel loop that draws
// element i for item i gives the same result for every thread count.
#ifndef FM_RNG_H
#define FM_RNG_H

#include <math.h>
#include <stdint.h>

// Streams: one per purpose, so that adding draws to one never shifts another.
enum {
    FM_STREAM_INIT = 1,      // random initial factors
    FM_STREAM_SVD = 2,       // randomized SVD test matrix
    FM_STREAM_HOLDOUT = 3,   // which entries are held out
    FM_STREAM_FILL = 4,      // nndsvdar fill
    FM_STREAM_SYNTH = 5,     // synthetic data
    FM_STREAM_PARAMS = 6,    // initial model parameters (engine/params)
    FM_STREAM_TRAIN = 7,     // training and validation matrices (models/train_data)
};

static inline uint64_t fm_mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct fm_rng { uint64_t key; } fm_rng;

static inline fm_rng fm_rng_stream(uint64_t seed, uint64_t stream)
{
    fm_rng r = { fm_mix64(fm_mix64(seed) ^ (stream * 0xd1b54a32d192ed03ull)) };
    return r;
}

static inline uint64_t fm_rng_bits(fm_rng r, uint64_t counter)
{
    return fm_mix64(r.key ^ fm_mix64(counter));
}

// Uniform in the open interval (0, 1).
static inline double fm_rng_uniform(fm_rng r, uint64_t counter)
{
    return ((double)(fm_rng_bits(r, counter) >> 11) + 0.5) * 0x1.0p-53;
}

// Standard normal (Box-Muller on counters 2c and 2c+1).
static inline double fm_rng_normal(fm_rng r, uint64_t counter)
{
    double u1 = fm_rng_uniform(r, 2 * counter), u2 = fm_rng_uniform(r, 2 * counter + 1);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

// Exponential with rate lambda.
static inline double fm_rng_exponential(fm_rng r, uint64_t counter, double lambda)
{
    return -log(fm_rng_uniform(r, counter)) / lambda;
}

#endif
