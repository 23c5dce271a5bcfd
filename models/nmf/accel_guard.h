// The accelerator's cost guard (docs/factormer-math.md §6 item 4,
// fm_solver_options.accel_budget): whether the next accelerator step's pass
// costs at most its share of the budget, accel_budget times the plain run's
// time left over the steps left, in units of ADMM iterations of work. Each
// sets the result's figures (accel_pass_iterations, accel_allowed_iterations).
#ifndef FM_ACCEL_GUARD_H
#define FM_ACCEL_GUARD_H

#include <stdbool.h>

#include "factormer.h"
#include "lfactormer.h"

// Before the run: the network's work over an ADMM iteration's
// (fm_learned_pass_flops, fm_learned_admm_flops) against accel_budget ·
// (iters − accel_every) / steps iterations; independent of the machine.
bool fm_accel_first_pass_pays(fm_solver_result *result, const fm_solver_options *o, const fm_graph *g,
                              const fm_lfactormer_config *network, int steps);
// Before a later step at iteration `it`: the first pass's predicted work
// against accel_budget · (iters − it) / (steps left) iterations. No clock:
// a run's decisions are the same on any machine and at any thread count.
bool fm_accel_next_pass_pays(fm_solver_result *result, const fm_solver_options *o, int it, int steps);

#endif
