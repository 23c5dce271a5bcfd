// A run that starts from given factors (and duals) instead of initializing:
// fm_solver_options' start_W, start_H, start_dual_W, start_dual_H.
#ifndef FM_WARM_START_H
#define FM_WARM_START_H

#include "factormer.h"

// Whether the options ask for a warm start.
bool fm_warm_start_requested(const fm_solver_options *o);
// The warm start's options against an m × n matrix: both factors or none,
// duals only with them, shapes of the run's rank, finite values (the factors
// nonnegative), and no learned initialization or accelerator beside them.
int fm_warm_start_check(int64_t m, int64_t n, const fm_solver_options *o, char *msg);
// The solver's starting state from the options: *W (rows × k) and *Ht
// (cols × k, Hᵀ) made from start_W and start_H; the duals UW (rows × k) and
// UH (cols × k, zero on entry) filled from start_dual_W and start_dual_H
// when given.
int fm_warm_start_factors(fm_dense **W, fm_dense **Ht, fm_dense *UW, fm_dense *UH, const fm_solver_options *o,
                          char *msg);

#endif
