// Extrapolation of the exact phase (§3.1), after Ang & Gillis 2019
// ("Accelerating nonnegative matrix factorization algorithms using
// extrapolation"): each update starts from
//
//   Y = X_k + β (X_k − X_{k−1})      for W and Hᵀ (not projected: the
//                                      coordinate sweeps make the result ≥ 0)
//
// where X_k, X_{k−1} are the last two accepted iterates. An iterate whose
// objective is above the last accepted one is refused: the run goes back to
// the accepted iterate and redoes the iteration's updates from it, without
// a move (in exact arithmetic the sweeps cannot raise the objective, so the
// trace does not rise); β is cut by η and its ceiling β̄ set to the β that
// failed. Each accepted iterate grows β by γ up to β̄, and β̄ by γ̄ up to 1.
// Should a step from the accepted iterate itself raise the objective (float
// rounding: no progress is left), the accepted iterate and its row stand.
// The judge compares exact objectives: in this phase every row is exact (an
// iterate's row from the expansion of §1, good to 0.1%, could not decide
// it, nor the tolerance test after a sharp fall).
//
// The dense kind's fused W-update pushes Xᵀ·W for the next H-update; since Y
// is not projected, Xᵀ·Y = Xᵀ·X_k + β (Xᵀ·X_k − Xᵀ·X_{k−1}) is formed from the
// pushed products without a pass over X.
#ifndef FM_EXTRAPOLATE_H
#define FM_EXTRAPOLATE_H

#include <stdbool.h>

#include "factormer.h"
#include "objective.h"

typedef struct fm_extrapolation {
    double beta, ceiling;
    fm_dense *W, *Ht, *XtW;     // the last accepted iterate; XtW: Xᵀ·W of it (the fused path), else NULL
    fm_row_objective accepted;  // its row
    bool moved;                 // the last iterate was accepted: the next update starts from Y
    int refused;                // iterates refused so far
} fm_extrapolation;

// The phase's start: the current iterate (its row `row`; `XtW` when the
// products are pushed, else NULL) is the first accepted one.
int fm_extrapolation_start(fm_extrapolation *e, const fm_dense *W, const fm_dense *Ht, const fm_dense *XtW,
                           const fm_row_objective *row, char *msg);

// Before an iteration's updates: W, Hᵀ (and XtW when given) become Y.
void fm_extrapolation_move(fm_extrapolation *e, fm_dense *W, fm_dense *Ht, fm_dense *XtW);

// After an iteration's row: keep the iterate; or refuse it and restore W,
// Hᵀ and XtW to the accepted iterate, for the caller to redo the updates
// from (REDO), or, when no move preceded, with *row the accepted row too
// (STILL).
typedef enum { FM_EXTRAPOLATION_KEPT, FM_EXTRAPOLATION_REDO, FM_EXTRAPOLATION_STILL } fm_extrapolation_verdict;
fm_extrapolation_verdict fm_extrapolation_judge(fm_extrapolation *e, fm_dense *W, fm_dense *Ht, fm_dense *XtW,
                                                fm_row_objective *row);

void fm_extrapolation_free(fm_extrapolation *e);

#endif
