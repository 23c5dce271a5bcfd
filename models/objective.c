// When the solver trusts the expansion of Σ_Ω r² (§1; see objective.h).
#include "objective.h"

#include <math.h>

bool fm_expansion_check_due(const fm_expansion_check *c, int it)
{
    return c->checks == 0 || it >= c->next;
}

double fm_expansion_bound(const fm_expansion_check *c)
{
    return c->checks > 0 ? FM_EXPANSION_MARGIN * c->error : INFINITY;
}

void fm_expansion_check_record(fm_expansion_check *c, int it, double expansion, double exact)
{
    const double error = fabs(expansion - exact);
    if (c->checks == 0 || error > c->error) c->error = error;
    c->checks++;
    c->next = 2 * it;
}
