// A run that starts from given factors and the solver's state instead of
// initializing: fm_solver_options' start_W, start_H, the ADMM duals
// start_dual_W, start_dual_H and the phase's start_state, start_prev_W,
// start_prev_H.
#ifndef FM_WARM_START_H
#define FM_WARM_START_H

#include "extrapolate.h"
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

// Whether the run continues in the exact phase (§3.1) from its first
// iteration: the state given was in it, and the run has one.
bool fm_warm_start_resumes_exact(const fm_solver_options *o);
// The exact phase's extrapolation continued from the state given: started
// at the current iterate (W, Hᵀ, XtW when the products are pushed; its row
// `row`), then β, β̄, the move and the accepted row taken from start_state
// and the previous iterate from start_prev_W / start_prev_H (its Xᵀ·W formed
// anew over `cols`). A state without extrapolation starts it anew.
int fm_warm_start_extrapolation(fm_extrapolation *e, const fm_dense *W, const fm_dense *Ht, const fm_dense *XtW,
                                const fm_edges *cols, const fm_row_objective *row, const fm_solver_options *o,
                                char *msg);
// The result's state (keep_duals) at the run's end: its phase (`exact`,
// `extrapolating`, e the extrapolation) and the previous iterate (W and Hᵀ
// themselves when the phase does not extrapolate). A run of no iterations
// keeps the state it was given.
int fm_warm_start_keep(fm_solver_result *r, const fm_extrapolation *e, bool exact, bool extrapolating,
                       const fm_dense *W, const fm_dense *Ht, const fm_solver_options *o, char *msg);

#endif
