// When the solver trusts the expansion of Σ_Ω r² (§1; see objective.h).
#include "objective.h"

#include <math.h>

#include "loss.h"
#include "ordered_sum.h"
#include "profile.h"
#include "status.h"

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

// Σ_i c_i ‖f_i‖², c_i = 1 or, per entry, |Ω_i|: the number of edges of row
// i for the incomplete kind, every source for the others (the weights the
// ADMM's ridge uses, ops/admm.c).
static double ridge_sum(const fm_dense *F, const fm_edges *edges, bool per_entry, bool masked)
{
    const int64_t k = F->cols;
    double slabs[FM_SUM_SLABS];
#pragma omp parallel for schedule(static)
    for (int s = 0; s < FM_SUM_SLABS; s++) {
        double sum = 0;
        for (int64_t i = fm_slab_begin(F->rows, s); i < fm_slab_begin(F->rows, s + 1); i++) {
            double sq = 0;
            for (int64_t r = 0; r < k; r++) sq += (double)F->data[i * k + r] * F->data[i * k + r];
            const double weight = !per_entry ? 1.0 : masked ? (double)(edges->ptr[i + 1] - edges->ptr[i])
                                                            : (double)edges->sources;
            sum += weight * sq;
        }
        slabs[s] = sum;
    }
    return fm_slab_total(slabs);
}

static double l1_sum(const fm_dense *F)
{
    double sum = 0;
    for (int64_t e = 0; e < F->rows * F->cols; e++) sum += F->data[e];
    return sum;
}

// The penalties' part of the objective.
double fm_objective_penalties(const fm_dense *W, const fm_dense *Ht, const fm_edges *rows, const fm_edges *cols,
                        bool masked, const fm_solver_options *o)
{
    const fm_penalty pw = o->penalty_w, ph = o->penalty_h;
    double f = 0;
    if (!(pw.l1 > 0 || ph.l1 > 0 || pw.l2 > 0 || ph.l2 > 0)) return f;
    FM_PROFILE_START(profile_clock);
    if (pw.l1 > 0) f += pw.l1 * l1_sum(W);
    if (ph.l1 > 0) f += ph.l1 * l1_sum(Ht);
    if (pw.l2 > 0) f += 0.5 * pw.l2 * ridge_sum(W, rows, pw.l2_per_entry, masked);
    if (ph.l2 > 0) f += 0.5 * ph.l2 * ridge_sum(Ht, cols, ph.l2_per_entry, masked);
    // flops: per entry of a penalized factor, 1 for the L1 sum and 2 for the
    // ridge; bytes: each penalized factor read once per penalty (4 per entry)
    const double w = (double)(W->rows * W->cols), h = (double)(Ht->rows * Ht->cols);
    const double flops = (pw.l1 > 0) * w + (ph.l1 > 0) * h + 2 * ((pw.l2 > 0) * w + (ph.l2 > 0) * h);
    const double reads = (pw.l1 > 0) * w + (ph.l1 > 0) * h + (pw.l2 > 0) * w + (ph.l2 > 0) * h;
    FM_PROFILE_STOP(profile_clock, "solver.penalties", flops, 4 * reads);
    return f;
}

// f(W,H) = ½ Σ_Ω r² plus the penalties; Σ_Ω r² is given.
double fm_objective_value(double residual, const fm_dense *W, const fm_dense *Ht, const fm_edges *rows,
                        const fm_edges *cols, bool masked, const fm_solver_options *o)
{
    return 0.5 * residual + fm_objective_penalties(W, Ht, rows, cols, masked, o);
}

// The row of an outer iteration. With `expansion` (X·Hᵀ is the W-update's),
// the expansion stands when its bound is within FM_TRACE_PRECISION of it and
// the tolerance test can be decided on it: the change from the previous row
// is more than tol·f_prev plus both rows' errors, so the run cannot stop
// here. Otherwise, and on the iterations that measure the expansion's error,
// the exact sum (models/nmf/objective.h): `exact` when the caller has it (the
// fused W-update's), else a pass over X.
int fm_objective_row(fm_row_objective *row, fm_expansion_check *check, bool expansion, int it,
                     const fm_row_objective *previous, const fm_objective_inputs *in, const double *exact, char *msg)
{
#define FREE_ALL
    const fm_solver_options *o = in->o;
    const double penalty =
        fm_objective_penalties(in->W, in->Ht, in->rows, in->cols, in->g->stats.kind == FM_KIND_INCOMPLETE, o);
    double estimate = NAN;
    if (expansion) {
        estimate = fm_loss_expansion(in->g, in->W, in->XHt, in->gram_w, in->gram_h);
        const double bound = 0.5 * fm_expansion_bound(check);   // in objective units, f = ½Σr² + …
        const double f = 0.5 * estimate + penalty;
        bool stands = !exact && !fm_expansion_check_due(check, it) && 2 * bound <= FM_TRACE_PRECISION * estimate;
        if (stands && o->tol > 0) stands = fabs(previous->f - f) > o->tol * previous->f + previous->error + bound;
        if (stands) {
            *row = (fm_row_objective){ .residual = estimate, .f = f, .error = bound, .exact = false };
            return FM_OK;
        }
    }
    if (exact) row->residual = *exact;
    else FM_TRY(fm_loss_residual(&row->residual, in->g, in->rows, in->W, in->Ht, in->gram_w, in->gram_h, msg));
    if (expansion) fm_expansion_check_record(check, it, estimate, row->residual);
    row->f = 0.5 * row->residual + penalty;
    row->error = 0;
    row->exact = true;
    return FM_OK;
#undef FREE_ALL
}

// Whether iteration `it`'s row will take the expansion, by the rule above
// on the previous row's figures (Σr² falls slowly once the bound matters):
// the fused W-update then skips Σr², which costs it as much as the push.
bool fm_expansion_likely(const fm_expansion_check *check, int it, const fm_row_objective *previous,
                         double last_change, const fm_solver_options *o)
{
    if (o->exact_objective || it <= 1 || it >= o->iters || fm_expansion_check_due(check, it)) return false;
    const double bound = fm_expansion_bound(check);   // Σr² units
    if (!(bound <= 0.8 * FM_TRACE_PRECISION * previous->residual)) return false;
    return o->tol <= 0 || last_change > 2 * (o->tol * previous->f + previous->error + 0.5 * bound);
}
