// What `factormer sample` measures about one edge sampler (engine/sampler,
// docs/factormer-math.md §8) in one direction of a graph, over repeated draws.
//
// - Edges kept per target: min, median and max over every (target, draw).
// - Coverage of the stored edges: for edge e drawn h_e times in N draws with
//   inclusion probability π_e, r_e = h_e / (N π_e) has mean 1 when the
//   sampler draws as designed. The coefficient of variation of r over the
//   stored edges is reported beside the value N draws give by chance alone,
//   sqrt(mean_e (1 − π_e) / (N π_e)) (each draw includes e independently
//   with probability π_e), and the share of edges never drawn beside its
//   expectation mean_e (1 − π_e)^N. Stratified's unstored zeros are not
//   counted here.
// - Attention error: on a seeded subset of targets with in-edges, random
//   features of width FM_SAMPLER_STATS_WIDTH, q_j (targets) and k_i
//   (sources) standard normal, v_i (sources) normal with mean 1 and standard
//   deviation 1; score_ij = q_j·k_i / sqrt(width), value_ij = x_ij v_i. The sampled output is the §8 estimate (numerator over
//   denominator, scores corrected by log π) and the full one the softmax over
//   every in-edge (every source for stratified, whose unstored zeros count in
//   the denominator with value 0); reported is the mean of
//   ‖sampled − full‖ / ‖full‖ over the subset and the draws.
// - Speed: the sampler alone (fm_sampler_draw), the best of the draws, as
//   sampled edges per second.
#ifndef FM_SAMPLER_STATS_H
#define FM_SAMPLER_STATS_H

#include "graph.h"
#include "sampler.h"

#define FM_SAMPLER_STATS_WIDTH 16
#define FM_SAMPLER_STATS_PROBES 256

typedef struct fm_sampler_stats_options {
    fm_sampler_options sampler;    // strategy, fanout, zero ratio, seed
    int draws;                     // N >= 1: rounds 2·d + direction, d < N
    int probes;                    // targets for the attention error (FM_SAMPLER_STATS_PROBES)
} fm_sampler_stats_options;

typedef struct fm_sampler_stats {
    int64_t targets, sources, stored;     // stored: the direction's stored edges
    int64_t kept_min, kept_median, kept_max;
    double edges_per_draw;                // mean sampled edges per draw
    double coverage_cv, coverage_cv_chance;
    double never_drawn, never_drawn_chance;   // shares of the stored edges
    int64_t probes;                       // targets the attention error averages over
    double attention_error;
    double draw_seconds;                  // best
    double edges_per_second;              // of the best draw
} fm_sampler_stats;

// One strategy, one direction: borrows that orientation of `g` for the call.
int fm_sampler_stats_run(fm_sampler_stats *stats, fm_graph *g, fm_direction direction,
                         const fm_sampler_stats_options *options, char *msg);

#endif
