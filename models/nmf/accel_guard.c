// The accelerator's cost guard (docs/factormer-math.md §6 item 4): see accel_guard.h.
#include "accel_guard.h"

#include <math.h>

#include "graph.h"
#include "learned.h"

// A flop of the network's against one of an ADMM iteration's, by kind
// [measured]: the dense kind's iterations are fused sweeps over X that run
// five to six times faster a flop than the network's small products and
// sampled attention; the sparse kind's gathers, about as fast as the
// network's; the incomplete kind's Grams are in fm_learned_admm_flops. On
// the real sets of issue 19 (A2, a pooled accelerator, ranks 5-40, one
// thread) a pass and its safeguard cost (actual/predicted by flops alone,
// less the safeguard's iteration) 4.4-5.6 ADMM iterations a predicted one
// on the dense sets, 0.4-1.2 on kos_bow (sparse) and, with the Grams,
// 0.1-0.5 on movielens100k (models/shipped/README.md, "accel.fmw").
static double network_flop_cost(fm_kind kind)
{
    return kind == FM_KIND_DENSE ? 6 : kind == FM_KIND_SPARSE ? 2 : 1;
}

// The cost guard (fm_solver_options.accel_budget): a step is taken if its
// pass costs at most its share of the budget, accel_budget times the plain
// run's time left over the steps left. Before the run, the pass is the
// network's work over an ADMM iteration's, in iterations, against the
// iterations left after the first step (no timing: the time per iteration
// cancels, and the decision is the same on any machine), plus one iteration
// for the safeguard's exact objective of the output.
bool fm_accel_first_pass_pays(fm_solver_result *result, const fm_solver_options *o, const fm_graph *g,
                            const fm_lfactormer_config *network, int steps)
{
    const int64_t m = g->stats.rows, n = g->stats.cols;
    const int64_t all = g->stats.kind == FM_KIND_DENSE ? m * n : g->stats.entries;
    int64_t edges = all;   // what the network reads; ADMM reads them all
    if (o->sampler != FM_SAMPLER_FULL) {   // node-wise samplers: a fanout per target and layer
        const int64_t drawn = o->fanout * (m > n ? m : n);
        edges = drawn < edges ? drawn : edges;
    }
    const fm_kind kind = g->stats.kind;
    result->accel_pass_iterations =
        1 + network_flop_cost(kind) * fm_learned_pass_flops(network, edges, m, n) /
                fm_learned_admm_flops(all, m, n, o->rank, kind == FM_KIND_INCOMPLETE);
    result->accel_allowed_iterations = o->accel_budget * (o->iters - o->accel_every) / steps;
    return result->accel_pass_iterations <= result->accel_allowed_iterations;
}

// Before a later step at iteration `it`: the same predicted work against
// the share of the iterations left, so that the decisions, like the run,
// depend on no clock.
bool fm_accel_next_pass_pays(fm_solver_result *result, const fm_solver_options *o, int it, int steps)
{
    if (!(o->accel_budget < INFINITY) || steps <= result->accel_steps) return true;
    result->accel_allowed_iterations = o->accel_budget * (o->iters - it) / (steps - result->accel_steps);
    return result->accel_pass_iterations <= result->accel_allowed_iterations;
}
