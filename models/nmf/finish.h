// The solver's final phase (§3.1): when the AO-ADMM iteration hands over to
// exact block updates (ops/hals.h).
#ifndef FM_FINISH_H
#define FM_FINISH_H

#include <stdbool.h>

#include "factormer.h"
#include "objective.h"

// Coordinate sweeps per factor update of the exact phase.
int fm_finish_sweeps(const fm_solver_options *o);

// Whether the iterations after `it` run the exact phase, given the rows of
// iterations it − 1 (`previous`) and it (`row`): with finish_below 0 from
// the start, else once iteration `it` lowered the objective by less than
// finish_below · f. Once ADMM slows (finish_below > 0), an accelerator still
// to run keeps ADMM (its network was trained on ADMM iterates, §6); a phase
// from the start does not wait for it: the accelerator then reads the exact
// phase's iterates, and a refused step leaves the run as it was (§6).
bool fm_finish_due(const fm_solver_options *o, bool incomplete, int it, const fm_row_objective *previous,
                   const fm_row_objective *row, bool accelerator_left);

#endif
