// A warm start (`factorize --init-from`): the solver's state taken from an
// earlier run instead of an initialization. What the solver carries across
// iterations depends on the phase it is in, and so does what a continued
// run needs to repeat the longer one:
// - the ADMM phase (§3; `--finish none`, or before the exact phase starts):
//   the scaled duals U of both factors (start_dual_W, start_dual_H);
//   without them each factor's ADMM restarts from U = 0 and takes another
//   path;
// - the exact phase (§3.1, the default from iteration 1): the block updates
//   are memoryless, but the extrapolation is not: β, its ceiling β̄, whether
//   the next update starts from a move, the accepted iterate's objective
//   (the judge's reference) and the accepted iterate before the current one
//   (X_prev of the move), all in start_state and start_prev_W/H. The
//   continued run enters the exact phase at its first iteration (as the
//   longer one had, fm_warm_start_resumes_exact) with that extrapolation;
//   without it the extrapolation starts anew (β₀, no move at first);
// - the iteration count (start_state.iterations): the switch to the exact
//   phase (fm_finish_due, `--finish-below` > 0) counts the earlier runs'.
//
// What a continued run (a iterations, then b from their state) shares with
// the run of a + b iterations, and what it does not:
// - the factors, duals and previous iterate: the same values (the files
//   hold floats exactly: %.9g; the judge's objective is written %.17g), and
//   ρ is recomputed from the Grams at every update, so the sparse and
//   incomplete kinds repeat the longer run bit for bit in either phase;
// - the dense kind's fused W-update hands the next H-update Xᵀ·W
//   (ops/admm_full.c), and the extrapolation moves it with the factors; the
//   continuation forms Xᵀ·W of the current and of the previous iterate anew
//   by fm_products_gather, the same products summed in another order: float
//   rounding, 3e-7 (ADMM) and 9e-7 (exact phase) relative on the factors
//   after 50 more iterations (tests/test_warm_start.c);
// - what depends on the run's history only for reporting starts over: the
//   trace (iteration 0 is the starting factors' row, exact; the seconds and
//   --time-limit count from the continuation's start), the objective's
//   expansion check (which rows are exact, and so on which row a --tol stop
//   can fall; the factors do not depend on it) and the count of refused
//   extrapolations;
// - with `--finish-below` > 0, the switch compares an iteration's row with
//   the one before: a continuation does not have the row before its start,
//   so a switch due at the very first continued iteration comes one later
//   (from the second on it falls where the longer run's did: tested), and
//   its row 0 is exact where the longer run's may have been the expansion
//   (good to 0.1%), so a switch on the boundary of the threshold can come
//   one iteration apart.
// A run that keeps the best held-out iterate (keep_best) has no state to
// keep: it returns another iterate than the last, and keep_duals is refused
// beside it.
#include "warm_start.h"

#include <math.h>
#include <string.h>

#include "products.h"
#include "status.h"

bool fm_warm_start_requested(const fm_solver_options *o)
{
    return o->start_W || o->start_H || o->start_dual_W || o->start_dual_H || o->start_prev_W || o->start_prev_H;
}

// `what` (a matrix of the options) is rows × cols with finite entries,
// nonnegative unless it is a dual.
static int check_matrix(const fm_dense *d, const char *what, int64_t rows, int64_t cols, bool signed_values,
                        char *msg)
{
    if (!d) return FM_OK;
    if (d->rows != rows || d->cols != cols || !d->data)
        return fm_fail(FM_ERR_INVALID, msg, "the warm start's %s is %lld x %lld; this run needs %lld x %lld", what,
                       (long long)d->rows, (long long)d->cols, (long long)rows, (long long)cols);
    for (int64_t e = 0; e < rows * cols; e++)
        if (!isfinite(d->data[e]) || (!signed_values && d->data[e] < 0))
            return fm_fail(FM_ERR_INVALID, msg, "the warm start's %s has the entry %g at (%lld, %lld): expected %s",
                           what, d->data[e], (long long)(e / cols + 1), (long long)(e % cols + 1),
                           signed_values ? "a finite number" : "a finite number >= 0");
    return FM_OK;
}

int fm_warm_start_check(int64_t m, int64_t n, const fm_solver_options *o, char *msg)
{
    if (!fm_warm_start_requested(o)) return FM_OK;
    if (!o->start_W || !o->start_H)
        return fm_fail(FM_ERR_INVALID, msg, "a warm start needs both factors, W and H%s",
                       o->start_W || o->start_H ? "" : " (duals alone were given)");
    if (!o->start_dual_W != !o->start_dual_H)
        return fm_fail(FM_ERR_INVALID, msg, "a warm start carries the duals of both factors or of neither");
    if (o->init == FM_INIT_LEARNED || o->accelerate)
        return fm_fail(FM_ERR_INVALID, msg, "a warm start continues from given factors: it cannot be combined "
                       "with %s", o->accelerate ? "the acceleration network" : "the learned initialization");
    const fm_solver_state *s = &o->start_state;
    if (!o->start_prev_W != !o->start_prev_H)
        return fm_fail(FM_ERR_INVALID, msg, "a warm start carries the previous iterate of both factors or of neither");
    if (o->start_prev_W && !(s->exact && s->extrapolating))
        return fm_fail(FM_ERR_INVALID, msg, "the warm start's previous iterate belongs to the exact phase's "
                       "extrapolation, which its state does not say it was in");
    if (s->iterations < 0)
        return fm_fail(FM_ERR_INVALID, msg, "the warm start's state counts %d iterations; expected >= 0",
                       s->iterations);
    if (s->extrapolating && !s->exact)
        return fm_fail(FM_ERR_INVALID, msg, "the warm start's state extrapolates outside the exact phase");
    if (s->extrapolating && !(s->beta >= 0 && s->beta <= s->ceiling && s->ceiling <= 1))
        return fm_fail(FM_ERR_INVALID, msg, "the warm start's extrapolation has beta %g and ceiling %g: expected "
                       "0 <= beta <= ceiling <= 1", s->beta, s->ceiling);
    if (s->extrapolating && !(s->objective >= 0 && isfinite(s->objective) && s->residual >= 0 &&
                              isfinite(s->residual)))
        return fm_fail(FM_ERR_INVALID, msg, "the warm start's extrapolation has the objective %g and residual %g: "
                       "expected finite numbers >= 0", s->objective, s->residual);
    const int64_t k = o->rank;
    int status = check_matrix(o->start_W, "W", m, k, false, msg);
    if (!status) status = check_matrix(o->start_H, "H", k, n, false, msg);
    if (!status) status = check_matrix(o->start_dual_W, "dual of W", m, k, true, msg);
    if (!status) status = check_matrix(o->start_dual_H, "dual of H", k, n, true, msg);
    if (!status) status = check_matrix(o->start_prev_W, "previous W", m, k, false, msg);
    if (!status) status = check_matrix(o->start_prev_H, "previous H", k, n, false, msg);
    return status;
}

bool fm_warm_start_resumes_exact(const fm_solver_options *o)
{
    return fm_warm_start_requested(o) && o->start_state.exact && o->finish != FM_FINISH_NONE;
}

int fm_warm_start_extrapolation(fm_extrapolation *e, const fm_dense *W, const fm_dense *Ht, const fm_dense *XtW,
                                const fm_edges *cols, const fm_row_objective *row, const fm_solver_options *o,
                                char *msg)
{
#define FREE_ALL
    FM_TRY(fm_extrapolation_start(e, W, Ht, XtW, row, msg));
    const fm_solver_state *s = &o->start_state;
    if (!s->extrapolating) return FM_OK;   // the earlier run's phase had none: it starts anew
    e->beta = s->beta;
    e->ceiling = s->ceiling;
    e->moved = s->moved;
    e->accepted.f = s->objective;
    e->accepted.residual = s->residual;
    if (o->start_prev_W) {
        memcpy(e->W->data, o->start_prev_W->data, sizeof(float) * W->rows * W->cols);
        fm_dense_transpose(e->Ht->data, o->start_prev_H);
        if (e->XtW) fm_products_gather(e->XtW, cols, e->W);   // the fused pass's product, summed in another order
    }
    return FM_OK;
#undef FREE_ALL
}

int fm_warm_start_keep(fm_solver_result *r, const fm_extrapolation *e, bool exact, bool extrapolating,
                       const fm_dense *W, const fm_dense *Ht, const fm_solver_options *o, char *msg)
{
#define FREE_ALL { fm_dense_free(&r->prev_W); fm_dense_free(&r->prev_H); }
    const int iterations = r->trace_len - 1;
    const bool carried = fm_warm_start_requested(o);
    if (iterations == 0 && carried) {   // no iteration: the state given is the state kept
        r->state = o->start_state;
        if (o->start_prev_W) {
            FM_TRY(fm_dense_copy(&r->prev_W, o->start_prev_W, msg));
            FM_TRY(fm_dense_copy(&r->prev_H, o->start_prev_H, msg));
        }
        return FM_OK;
    }
    r->state = (fm_solver_state){ .iterations = (carried ? o->start_state.iterations : 0) + iterations,
                                  .exact = exact };
    if (!exact) return FM_OK;
    const fm_dense *prev_W = W, *prev_Ht = Ht;
    if (extrapolating) {
        r->state.extrapolating = true;
        r->state.moved = e->moved;
        r->state.beta = e->beta;
        r->state.ceiling = e->ceiling;
        r->state.objective = e->accepted.f;
        r->state.residual = e->accepted.residual;
        prev_W = e->W;
        prev_Ht = e->Ht;
    }
    FM_TRY(fm_dense_copy(&r->prev_W, prev_W, msg));
    FM_TRY(fm_dense_new(&r->prev_H, prev_Ht->cols, prev_Ht->rows, msg));
    fm_dense_transpose(r->prev_H->data, prev_Ht);
    return FM_OK;
#undef FREE_ALL
}

int fm_warm_start_factors(fm_dense **W, fm_dense **Ht, fm_dense *UW, fm_dense *UH, const fm_solver_options *o,
                          char *msg)
{
#define FREE_ALL { fm_dense_free(W); fm_dense_free(Ht); }
    const fm_dense *w = o->start_W, *h = o->start_H;
    FM_TRY(fm_dense_copy(W, w, msg));
    FM_TRY(fm_dense_new(Ht, h->cols, h->rows, msg));
    fm_dense_transpose((*Ht)->data, h);
    if (o->start_dual_W) {
        memcpy(UW->data, o->start_dual_W->data, sizeof(float) * UW->rows * UW->cols);
        fm_dense_transpose(UH->data, o->start_dual_H);
    }
    return FM_OK;
#undef FREE_ALL
}
