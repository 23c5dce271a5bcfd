// When the solver stops, and its held-out record; see stop.h.
#include "stop.h"

#include <math.h>
#include <string.h>

#include "status.h"

int fm_stop_record_holdout(fm_solver_result *result, int it, double rmse, bool keep_best, const fm_dense *W,
                           const fm_dense *Ht, fm_dense **W_best, fm_dense **Ht_best, char *msg)
{
#define FREE_ALL
    if (!(result->best_iteration < 0 || rmse < result->best_holdout_rmse)) return FM_OK;
    result->best_iteration = it;
    result->best_holdout_rmse = rmse;
    if (keep_best && !*W_best) {
        FM_TRY(fm_dense_copy(W_best, W, msg));
        FM_TRY(fm_dense_copy(Ht_best, Ht, msg));
    } else if (keep_best) {
        memcpy((*W_best)->data, W->data, sizeof(float) * W->rows * W->cols);
        memcpy((*Ht_best)->data, Ht->data, sizeof(float) * Ht->rows * Ht->cols);
    }
    return FM_OK;
#undef FREE_ALL
}

void fm_stop_take_best(fm_dense **W, fm_dense **Ht, fm_dense **W_best, fm_dense **Ht_best)
{
    if (!*W_best) return;
    fm_dense *swap = *W;
    *W = *W_best;
    *W_best = swap;
    swap = *Ht;
    *Ht = *Ht_best;
    *Ht_best = swap;
}

const char *fm_stop_reason(const fm_solver_options *o, const fm_solver_result *result, int it, double elapsed,
                           const fm_row_objective *previous, const fm_row_objective *row, int64_t held)
{
    if (it >= o->iters) return "iterations";
    if (o->time_limit > 0 && elapsed >= o->time_limit) return "time limit";
    if (it > 0 && o->tol > 0 && row->exact && previous->exact &&
        (row->f == 0 || fabs(previous->f - row->f) <= o->tol * previous->f))
        return "tolerance";
    if (o->patience > 0 && held && it - result->best_iteration >= o->patience) return "patience";
    return NULL;
}
