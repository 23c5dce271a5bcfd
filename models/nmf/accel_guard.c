// The accelerator's cost guard (docs/factormer-math.md §6 item 4): see accel_guard.h.
#include "accel_guard.h"

#include <math.h>

#include "graph.h"
#include "learned.h"

// The cost guard (fm_solver_options.accel_budget): a step is taken if its
// pass costs at most its share of the budget, accel_budget times the plain
// run's time left over the steps left. Before the run, the pass is the
// network's work over an ADMM iteration's, in iterations, against the
// iterations left after the first step (no timing: the time per iteration
// cancels, and the decision is the same on any machine).
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
    result->accel_pass_iterations =
        fm_learned_pass_flops(network, edges, m, n) / fm_learned_admm_flops(all, m, n, o->rank);
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
