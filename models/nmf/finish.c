// The solver's final phase; see finish.h.
#include "finish.h"

#include <string.h>

#include "status.h"

static const char *const finish_names[] = { "none", "hals" };
enum { FINISH_KINDS = sizeof finish_names / sizeof finish_names[0] };

const char *fm_finish_name(fm_finish finish)
{
    return (unsigned)finish < FINISH_KINDS ? finish_names[finish] : "unknown";
}

int fm_finish_parse(fm_finish *finish, const char *name, char *msg)
{
    for (int f = 0; f < FINISH_KINDS; f++)
        if (strcmp(name, finish_names[f]) == 0) { *finish = (fm_finish)f; return FM_OK; }
    return fm_fail(FM_ERR_INVALID, msg, "unknown finish '%s': expected hals or none", name);
}

int fm_finish_sweeps(const fm_solver_options *o)
{
    return o->finish_sweeps > 0 ? o->finish_sweeps : 1;
}

double fm_finish_below(const fm_solver_options *o, bool incomplete)
{
    if (o->finish_below != FM_FINISH_BELOW_AUTO) return o->finish_below;
    if (incomplete) return FM_FINISH_BELOW_INCOMPLETE;
    return o->init == FM_INIT_LEARNED ? FM_FINISH_BELOW_LEARNED : 0;
}

bool fm_finish_due(const fm_solver_options *o, bool incomplete, int it, const fm_row_objective *previous,
                   const fm_row_objective *row, bool accelerator_left)
{
    if (o->finish == FM_FINISH_NONE) return false;
    const double below = fm_finish_below(o, incomplete);
    if (below <= 0) return true;
    if (accelerator_left) return false;
    if (it < 2 || !(previous->f > 0)) return false;
    return previous->f - row->f < below * previous->f;
}
