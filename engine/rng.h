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
    FM_STREAM_TRAIN = 7,     // training and validation matrices (models/nmf/train_data)
    FM_STREAM_ORDER = 8,     // the order of the training matrices in each epoch (models/nmf/train)
    FM_STREAM_SAMPLE = 9,    // edge samplers: the draw of (round, target) (engine/sampler)
    FM_STREAM_SUBGRAPH = 10, // subgraph samplers: the draws of a round (engine/subgraph)
    FM_STREAM_SPD = 11,      // SPD matrices and right-hand sides of P7 (models/precond/spd_data)
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

// A seeded permutation of [0, n) (1 <= n <= 2^62): the position of `index`.
// A 4-round Feistel network on 2·half bits (the smallest even number of bits
// with 2^(2·half) >= n, so fewer than 4n values), cycle-walked until the
// value falls inside [0, n). A bijection of [0, n) for every key, computed in
// O(1) expected time for any index without the others.
static inline int64_t fm_rng_permute(int64_t index, int64_t n, fm_rng key)
{
    int half = 1;
    while ((INT64_C(1) << (2 * half)) < n) half++;
    const uint64_t mask = (UINT64_C(1) << half) - 1;
    uint64_t x = (uint64_t)index;
    do {
        uint64_t left = x >> half, right = x & mask;
        for (uint64_t round = 0; round < 4; round++) {
            const uint64_t mixed = left ^ (fm_rng_bits(key, (round << 32) | right) & mask);
            left = right;
            right = mixed;
        }
        x = (left << half) | right;
    } while (x >= (uint64_t)n);
    return (int64_t)x;
}

#endif
