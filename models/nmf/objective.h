// Which Σ_Ω r² an iteration of the solver reports (§1): the expansion
// ‖X‖² − 2⟨W, X·Hᵀ⟩ + ‖WH‖² (ops/loss.h), free after the W-update, when it is
// precise enough for what the objective decides; the exact sum otherwise.
//
// The expansion's error is the float rounding of X·Hᵀ, a near-constant
// share of ‖X‖² (about 1e-9 on a 2000 x 2000 dense fit at rank 10, 2e-8 on a
// 40 x 30 one), so it grows against Σr² as the fit converges: 5e-4 of Σr²
// once the 2000² fit's RMSE is 1e-3 of the data's. No formula predicts it
// well, so each run measures it. On iterations 1, 2, 4, 8, … (each at twice
// the last: a long run spends next to nothing on it), and whenever the
// solver needs the exact sum anyway, both are computed; the bound is
// FM_EXPANSION_MARGIN times the largest difference seen. The expansion then
// stands when that bound is within FM_TRACE_PRECISION of it and the
// tolerance test can be decided on it (the solver's part).
#ifndef FM_OBJECTIVE_H
#define FM_OBJECTIVE_H

#include <stdbool.h>

#include "factormer.h"
#include "graph.h"

// A trace row's Σr² is within this share of the exact one: its RMSE within
// 0.05%, while the 2000 x 2000 dense fit's RMSE goes from 0.28 to 0.0014 in
// 300 iterations. The last row of a run is always exact.
#define FM_TRACE_PRECISION 1e-3
#define FM_EXPANSION_MARGIN 2.0

typedef struct fm_expansion_check {
    double error;   // the largest |expansion − exact| seen, in Σr² units
    int checks;     // comparisons made
    int next;       // the iteration of the next scheduled comparison
} fm_expansion_check;

// Whether iteration `it` (≥ 1) computes the exact sum beside the expansion:
// the first iteration that has an expansion, then at twice the iteration of
// the last comparison (1, 2, 4, 8, … unless an exact sum came between).
bool fm_expansion_check_due(const fm_expansion_check *c, int it);

// The bound on the expansion's error (Σr² units) once a comparison was
// made; INFINITY before.
double fm_expansion_bound(const fm_expansion_check *c);

// A comparison at iteration `it` (≥ 1).
void fm_expansion_check_record(fm_expansion_check *c, int it, double expansion, double exact);

// The rows of the solver's trace (models/nmf/solver.c): f(W,H) = ½ Σ_Ω r² plus
// the penalties of §1, and which Σ_Ω r² a row takes.

// The penalties' part of f; `masked`: the incomplete kind (per-entry ridge
// weights are then the rows' observed counts, else every source).
double fm_objective_penalties(const fm_dense *W, const fm_dense *Ht, const fm_edges *rows, const fm_edges *cols,
                              bool masked, const fm_solver_options *o);
// f(W,H) for a given Σ_Ω r².
double fm_objective_value(double residual, const fm_dense *W, const fm_dense *Ht, const fm_edges *rows,
                          const fm_edges *cols, bool masked, const fm_solver_options *o);

// A trace row's Σ_Ω r², its objective, and whether they are exact (else
// from the expansion, within `error` of the objective).
typedef struct fm_row_objective {
    double residual, f, error;
    bool exact;
} fm_row_objective;

// What a row's objective reads: the run's graph, factors, X·Hᵀ and Grams
// (the same arrays for the whole run) and its options.
typedef struct fm_objective_inputs {
    const fm_graph *g;
    const fm_edges *rows, *cols;
    const fm_dense *W, *Ht, *XHt;
    const double *gram_w, *gram_h;
    const fm_solver_options *o;
} fm_objective_inputs;

// The row of an outer iteration: the expansion when `expansion` (X·Hᵀ is
// the W-update's) and it stands, else the exact Σr² (`exact` when the
// caller has it, else a pass over X); see objective.c.
int fm_objective_row(fm_row_objective *row, fm_expansion_check *check, bool expansion, int it,
                     const fm_row_objective *previous, const fm_objective_inputs *in, const double *exact, char *msg);

// Whether iteration `it`'s row will take the expansion, predicted from the
// previous row: the fused dense W-update then skips Σr².
bool fm_expansion_likely(const fm_expansion_check *check, int it, const fm_row_objective *previous,
                         double last_change, const fm_solver_options *o);

#endif
