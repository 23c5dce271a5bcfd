// A warm start (`factorize --init-from`): the solver's state taken from an
// earlier run's factors and, when saved, its duals (§3: AO-ADMM carries the
// scaled duals U of both factors across iterations, so a run continued
// without them restarts each ADMM from U = 0 and takes a different path).
//
// What a continued run (a iterations, then b from their factors and duals)
// shares with the run of a + b iterations, and what it does not:
// - the factors and both duals: the same values (the files hold floats
//   exactly: %.9g), and ρ is recomputed from the Grams at every update, so
//   the sparse and incomplete kinds repeat the longer run bit for bit;
// - the dense kind's fused W-update hands the next H-update Xᵀ·W
//   (ops/admm_full.c); the continuation's first H-update forms it anew by
//   fm_products_gather, the same product summed in another order: float
//   rounding, 3e-7 relative on the factors after 50 more iterations
//   (tests/test_warm_start.c);
// - what depends on the run's history starts over: the trace (iteration 0
//   is the starting factors' row, the seconds and --time-limit count from
//   the continuation's start), the objective's expansion check (which rows
//   are exact, and so on which row a --tol stop can fall; the factors do not
//   depend on it), and any schedule keyed to the iteration count or to the
//   progress so far (a final phase of exact updates: it sees the
//   continuation's own progress).
// Without the duals each factor's ADMM restarts from U = 0: 50 + 50
// iterations then land 6e-4 to 9e-4 (relative) from the 100-iteration
// factors on the test's matrices.
#include "warm_start.h"

#include <math.h>
#include <string.h>

#include "status.h"

bool fm_warm_start_requested(const fm_solver_options *o)
{
    return o->start_W || o->start_H || o->start_dual_W || o->start_dual_H;
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
    const int64_t k = o->rank;
    int status = check_matrix(o->start_W, "W", m, k, false, msg);
    if (!status) status = check_matrix(o->start_H, "H", k, n, false, msg);
    if (!status) status = check_matrix(o->start_dual_W, "dual of W", m, k, true, msg);
    if (!status) status = check_matrix(o->start_dual_H, "dual of H", k, n, true, msg);
    return status;
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
