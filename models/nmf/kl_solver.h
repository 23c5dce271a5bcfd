// The KL loss's driver (issue 18, "A second loss"): multiplicative updates
// of the generalized Kullback-Leibler divergence (ops/kl.h), called by
// fm_solver_run when opts->loss is FM_LOSS_KL.
#ifndef FM_KL_SOLVER_H
#define FM_KL_SOLVER_H

#include "factormer.h"

// fm_solver_run for FM_LOSS_KL, once the common options are checked (the
// caller's check_options) and the thread count chosen.
int fm_kl_solver_run(fm_solver_result **out, fm_graph *g, const fm_triplets *holdout, const fm_solver_options *o,
                     char *msg);

#endif
