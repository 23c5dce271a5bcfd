// When the solver stops (§3), and the held-out record it keeps for
// keep_best and patience (fm_solver_options).
#ifndef FM_STOP_H
#define FM_STOP_H

#include <stdbool.h>

#include "factormer.h"
#include "objective.h"

// Iteration `it`'s held-out RMSE `rmse`: when it is the best so far, the
// result's best_iteration and best_holdout_rmse become it, and with
// `keep_best` *W_best and *Ht_best (made on the first call) copies of W, Hᵀ.
int fm_stop_record_holdout(fm_solver_result *result, int it, double rmse, bool keep_best, const fm_dense *W,
                           const fm_dense *Ht, fm_dense **W_best, fm_dense **Ht_best, char *msg);

// With a best iteration recorded (*W_best set), W and Hᵀ become its
// factors (swapped, so the last iterate's are freed with the copies).
void fm_stop_take_best(fm_dense **W, fm_dense **Ht, fm_dense **W_best, fm_dense **Ht_best);

// Why the run stops after iteration `it` (its row `row`, the one before
// `previous`, `elapsed` seconds since the start, `held` held-out entries),
// or NULL to go on: "iterations", "time limit", "tolerance" (exact rows
// only), "patience" (no better held-out RMSE for that many iterations).
const char *fm_stop_reason(const fm_solver_options *o, const fm_solver_result *result, int it, double elapsed,
                           const fm_row_objective *previous, const fm_row_objective *row, int64_t held);

#endif
