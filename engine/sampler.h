// Node-wise edge samplers (docs/factormer-math.md §8): for every target of one
// orientation of the graph (an fm_edges CSR: the in-edges of target t are the
// stored entries of row t), a subset M(t) of its in-edges, each with its
// inclusion probability π, the probability that the sampler keeps that edge.
// An importance-sampled edge enters the softmax with score − log π, so that
//
//   numerator   = Σ_{i∈M(t)} exp(s_it − log π_it) · v_it
//   denominator = Σ_{i∈M(t)} exp(s_it − log π_it)
//
// are unbiased estimates of the full-neighbourhood sums Σ_{i∈N(t)} (the
// Horvitz-Thompson estimator: E[Σ_{i∈M} y_i/π_i] = Σ_{i∈N} y_i whenever every
// π_i > 0), and numerator / denominator is the self-normalized estimate of the
// attention output, whose bias shrinks as the fanout grows.
//
// Strategies (f = fanout, d = the target's stored in-edges):
//
//   full        every in-edge, π = 1.
//   uniform     GraphSAGE node-wise fanout: all d edges if d <= f (π = 1), else
//               f distinct edges uniformly without replacement (π = f/d).
//   weighted    by |x|: all d edges if d <= f (π = 1), else f draws with
//               replacement, edge i with probability
//                   p_i = (1 − λ) |x_i| / Σ|x| + λ / d,   λ = FM_SAMPLER_WEIGHTED_FLOOR,
//               duplicates merged, so π_i = 1 − (1 − p_i)^f exactly and at most f
//               edges are kept. The uniform share λ/d is the floor that keeps
//               π > 0 for edges of value 0 (sampler.c says why).
//   stratified  the sparse kind only, where every unstored entry is a true zero
//               and the neighbourhood of a target is every source: the stored
//               stratum as `uniform` (π_s = min(1, f/d)), plus z = round(ratio·f)
//               of the u = sources − d unstored positions, uniformly without
//               replacement (all of them if z >= u), as edges of value 0 with
//               π_z = min(z, u)/u. These edges are not in the stored graph.
//
// The incomplete kind never invents edges (its unstored entries are unknown,
// §8), and the dense kind stores every entry: stratified refuses both.
//
// A draw is seeded: the sample of target t in round r (one round per layer,
// direction and draw; the caller numbers them) is a function of (seed, r, t)
// only, drawn from the counter-based stream FM_STREAM_SAMPLE (engine/rng.h),
// so it is the same for any thread count and any schedule.
#ifndef FM_SAMPLER_H
#define FM_SAMPLER_H

#include <stdint.h>

#include "graph.h"

// (fm_sampler, the strategies, and their names are in factormer.h: the
// solver's options name them)

// The uniform share λ of the weighted sampler's draw probabilities.
#define FM_SAMPLER_WEIGHTED_FLOOR 0.1


typedef struct fm_sampler_options {
    fm_sampler strategy;
    int64_t fanout;            // f >= 1 (not read by full)
    double zero_ratio;         // >= 0: unstored zeros drawn per target = round(ratio·f) (stratified only)
    uint64_t seed;
} fm_sampler_options;

// The sampled edges of every target, CSR like fm_edges (GrB_Index arrays:
// the fused kernels read them as they are, and fm_message_graph_pack imports
// a copy into GraphBLAS), owned by the struct.
typedef struct fm_sampled_edges {
    int64_t targets, sources, count;
    GrB_Index *ptr;            // targets + 1
    GrB_Index *idx;            // count sources, increasing within each target
    float *val;                // x of the edge; 0 for a drawn unstored zero
    float *log_pi;             // log π of the edge; 0 where it is always kept
    int64_t zeros;             // how many of the edges are drawn unstored zeros (stratified)
} fm_sampled_edges;

// Draw round `round` over `edges` (either storage: CSR, or full when
// edges->ptr is NULL, the dense kind). `kind` is the graph's kind.
int fm_sampler_draw(fm_sampled_edges **out, const fm_edges *edges, fm_kind kind,
                    const fm_sampler_options *options, uint64_t round, char *msg);
void fm_sampled_edges_free(fm_sampled_edges **sampled);

// The design: log π of every stored edge, in the positions of `edges`
// (edges->count values, or targets × sources for full storage), and, when
// `zero_log_pi` is not NULL, the log π of each of a target's unstored
// positions (targets values: −INFINITY where the sampler never draws them,
// which is every strategy but stratified; 0 where the target has none). For
// coverage statistics and tests.
int fm_sampler_inclusion(float *log_pi, float *zero_log_pi, const fm_edges *edges, fm_kind kind,
                         const fm_sampler_options *options, char *msg);

// The inclusion-corrected sums of §8 for one target, in double: over its
// `count` sampled edges with scores s_e, log inclusion probabilities log π_e
// (NULL: every π = 1) and values (count × width, row-major),
//
//   numerator[c] = Σ_e exp(s_e − log π_e − shift) · values[e·width + c]
//   denominator  = Σ_e exp(s_e − log π_e − shift)
//
// `shift` (e.g. the largest score) scales both by exp(−shift) to keep the
// exponentials finite; their ratio, the attention output, does not change.
// A reference-style loop for the tests and `factormer sample`.
void fm_sampler_estimate(double *numerator, double *denominator, int64_t count, int width,
                         const double *scores, const float *log_pi, const double *values, double shift);

#endif
