// The KL loss's driver (kl_solver.h): one outer iteration is a
// multiplicative update of H, then one of W (Lee & Seung 2001; ops/kl.h),
// each of which never raises the divergence plus the penalties.
//
// Why multiplicative updates and not AO-ADMM with the KL proximal step
// (Huang, Sidiropoulos & Liavas 2016): that method splits Y = WH and
// updates Y entrywise over all m·n entries, since an unstored zero of the
// sparse kind has a prox of its own (y = max(0, v − 1/ρ)); every iteration
// then forms the m × n product, O(m·n·k), where the updates here cost
// O(nnz·k). On kos_bow (6906 x 3430, 353160 stored entries, 1.5% of m·n)
// that is a factor of about 67 in work per iteration (each method's
// iteration takes about four passes of 2k flops over its entries), which
// AO-ADMM would have to win back in fewer iterations; perf/nmf_kl.py
// measures the updates against scikit-learn's (perf/README.md).
//
// The kinds: dense and sparse over every entry; incomplete over Ω only (the
// weighted divergence Σ_Ω [x log(x/p) − x + p], whose updates divide by
// sums over each target's edges instead of the factor's column sums).
//
// The trace: objective = D(X‖WH) plus the penalties, computed exactly on
// every row (its log term fused into the W-update's pass, ops/kl.c); rmse =
// the usual RMSE over Ω from ‖X‖² − 2⟨X, WH⟩ + ‖WH‖² (⟨X, WH⟩ from the same
// pass, ‖WH‖² from the k × k Grams, or over Ω the same pass's Σ p²),
// clamped at 0: within about 1e-5 of the exact one (float predictions).
#include "kl_solver.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "init.h"
#include "kl.h"
#include "loss.h"
#include "objective.h"
#include "products.h"
#include "status.h"
#include "stop.h"
#include "warm_start.h"

static const char *const loss_names[] = { "ls", "kl" };

const char *fm_loss_name(fm_loss loss)
{
    return (unsigned)loss <= FM_LOSS_KL ? loss_names[loss] : "unknown";
}

int fm_loss_parse(fm_loss *loss, const char *name, char *msg)
{
    for (int l = 0; l <= FM_LOSS_KL; l++)
        if (strcmp(name, loss_names[l]) == 0) { *loss = (fm_loss)l; return FM_OK; }
    return fm_fail(FM_ERR_INVALID, msg, "unknown loss '%s': expected ls (least squares) or kl (generalized "
                   "Kullback-Leibler)", name);
}

static int check_kl_options(const fm_solver_options *o, char *msg)
{
    if (o->loss != FM_LOSS_KL) return fm_fail(FM_ERR_INVALID, msg, "unknown loss %d", (int)o->loss);
    if (o->init == FM_INIT_LEARNED || o->accelerate)
        return fm_fail(FM_ERR_INVALID, msg, "the learned %s models were trained on least-squares fits; the KL loss "
                       "runs without them", o->accelerate ? "acceleration" : "initialization");
    // A warm start is W and H alone: the updates carry no other state, so
    // b iterations from a iterations' factors are the a + b iterations'.
    if (o->keep_duals || o->start_dual_W || o->start_dual_H)
        return fm_fail(FM_ERR_INVALID, msg, "the KL loss's multiplicative updates keep no duals (W and H are their "
                       "whole state): saved duals are the least-squares ADMM's; continue a KL run from its factors "
                       "alone (--init-from without --save-state)");
    return FM_OK;
}

// The RMSE over Ω from ‖X‖² − 2⟨X, WH⟩ + ‖WH‖², the last over Ω: the
// edges' Σ p² for the incomplete kind, else from the Grams.
static int kl_rmse(double *rmse, const fm_graph *g, const fm_dense *W, const fm_dense *Ht,
                   const fm_kl_edge_sums *total, double *gram_w, double *gram_h, char *msg)
{
    const int k = (int)W->cols;
    double norm = total->square;
    if (g->stats.kind != FM_KIND_INCOMPLETE) {
        int status = fm_products_gram(gram_w, W, msg);
        if (status == FM_OK) status = fm_products_gram(gram_h, Ht, msg);
        if (status != FM_OK) return status;
        norm = 0;
        for (int e = 0; e < k * k; e++) norm += gram_w[e] * gram_h[e];
    }
    const double residual = g->stats.sumsq - 2 * total->cross + norm;
    *rmse = sqrt((residual > 0 ? residual : 0) / fm_graph_omega(g));
    return FM_OK;
}

int fm_kl_solver_run(fm_solver_result **out, fm_graph *g, const fm_triplets *holdout, const fm_solver_options *o,
                     char *msg)
{
    fm_solver_result *result = NULL;
    fm_edges rows = { 0 }, cols = { 0 };
    fm_dense *W = NULL, *Ht = NULL;
    fm_dense *W_best = NULL, *Ht_best = NULL;   // keep_best: the factors of the best held-out RMSE
    fm_kl_edge_sums *sums = NULL;
    double *totals_w = NULL, *totals_h = NULL, *gram_w = NULL, *gram_h = NULL;
#define FREE_ALL { fm_solver_result_free(&result); fm_edges_return(&rows, NULL); fm_edges_return(&cols, NULL); \
                   fm_dense_free(&W); fm_dense_free(&Ht); free(sums); free(totals_w); free(totals_h); \
                   free(gram_w); free(gram_h); fm_dense_free(&W_best); fm_dense_free(&Ht_best); }
    FM_CHECK(out && !*out && g && o, FM_ERR_INVALID, "fm_kl_solver_run: bad arguments");
    FM_TRY(check_kl_options(o, msg));
    FM_CHECK(!(holdout && g->stats.kind != FM_KIND_INCOMPLETE), FM_ERR_INVALID,
             "a speckled holdout of the %s kind is not supported with the KL loss yet (the incomplete kind's is)",
             fm_kind_name(g->stats.kind));
    const double start = omp_get_wtime();
    const int k = o->rank;
    const int64_t m = g->stats.rows, n = g->stats.cols;
    const int64_t held = holdout ? holdout->count : 0;
    const bool masked = g->stats.kind == FM_KIND_INCOMPLETE;
    FM_CHECK(held > 0 || (!o->keep_best && o->patience == 0), FM_ERR_INVALID,
             "keep_best and patience choose by the held-out RMSE: they need held-out entries");

    FM_ALLOC(result, 1);
    result->best_iteration = -1;
    result->best_holdout_rmse = NAN;
    FM_ALLOC(result->trace, o->iters + 1);
    FM_ALLOC(sums, m);
    FM_ALLOC(totals_w, k);
    FM_ALLOC(totals_h, k);
    FM_ALLOC(gram_w, k * k);
    FM_ALLOC(gram_h, k * k);
    FM_TRY(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg));
    FM_TRY(fm_edges_borrow(&cols, g, FM_TO_COLUMNS, msg));
    if (fm_warm_start_requested(o)) FM_TRY(fm_warm_start_factors(&W, &Ht, NULL, NULL, o, msg));   // checked
    else FM_TRY(fm_init_factors(&W, &Ht, g, &rows, &cols, k, o->init, o->svd_power, o->seed, msg));
    result->init_seconds = omp_get_wtime() - start;
    result->svd_power = fm_warm_start_requested(o) ? -1 : fm_start_svd_power(o->init, o->svd_power, k, m, n);

    // Predictions below float's epsilon times the mean stored entry count as
    // that much in a ratio or a logarithm: a zero prediction at a stored
    // entry would make both infinite.
    const double mean = g->stats.entries > 0 ? g->stats.sum / (double)g->stats.entries : 0;
    const double floor = mean > 0 && isfinite(mean) ? FLT_EPSILON * mean : FLT_EPSILON;
    const float prediction_floor = floor > FLT_MIN ? (float)floor : FLT_MIN;
    // an updated entry that would be a subnormal float becomes zero (ops/kl.h)
    const float tiny = FLT_MIN;
    double xlogx, sum_x;
    fm_kl_data_terms(&xlogx, &sum_x, &rows);
    // The ridge weighs each row by its entries with --l2-per-entry
    // (fm_penalty): its edges for the incomplete kind, else every source.
    // The incomplete kind's denominators are sums over the edges (no totals).
    const fm_penalty pw = o->penalty_w, ph = o->penalty_h;
    const double per_h = ph.l2_per_entry && !masked ? (double)m : 1.0;
    const double per_w = pw.l2_per_entry && !masked ? (double)n : 1.0;
    const fm_kl_step step_h = { masked ? NULL : totals_w, ph.l1, ph.l2 * per_h, ph.l2_per_entry && masked,
                                prediction_floor, tiny };
    const fm_kl_step step_w = { masked ? NULL : totals_h, pw.l1, pw.l2 * per_w, pw.l2_per_entry && masked,
                                prediction_floor, tiny };
    fm_kl_column_sums(totals_w, W);
    fm_kl_column_sums(totals_h, Ht);
    fm_kl_terms(&rows, W, Ht, prediction_floor, masked, sums);

    fm_row_objective previous = { .f = NAN };
    for (int it = 0;; it++) {
        if (it > 0) {
            fm_kl_update(Ht, &cols, W, &step_h, NULL);
            fm_kl_column_sums(totals_h, Ht);
            fm_kl_update(W, &rows, Ht, &step_w, sums);
            fm_kl_column_sums(totals_w, W);
        }
        const fm_kl_edge_sums total = fm_kl_total(sums, m);
        const double divergence =
            fm_kl_assemble(xlogx, sum_x, &total, masked ? NULL : totals_w, masked ? NULL : totals_h, k);
        fm_solver_iterate *step = &result->trace[it];
        step->iteration = it;
        step->objective = divergence + fm_objective_penalties(W, Ht, &rows, &cols, masked, o);
        FM_TRY(kl_rmse(&step->rmse, g, W, Ht, &total, gram_w, gram_h, msg));
        step->holdout_rmse = held ? sqrt(fm_loss_residual_triplets(holdout, W, Ht) / held) : NAN;
        if (held)
            FM_TRY(fm_stop_record_holdout(result, it, step->holdout_rmse, o->keep_best, W, Ht, &W_best, &Ht_best,
                                          msg));
        step->seconds = omp_get_wtime() - start;
        result->trace_len = it + 1;
        FM_CHECK(isfinite(step->objective), FM_ERR_NUMERIC, "the KL divergence became non-finite at iteration %d",
                 it);
        const fm_row_objective row = { .f = step->objective, .exact = true };   // every row is exact
        const char *stop = fm_stop_reason(o, result, it, omp_get_wtime() - start, &previous, &row, held);
        if (o->progress && o->progress(step, o->user)) stop = "callback";
        previous = row;
        if (stop) {
            result->stop_reason = stop;
            break;
        }
    }

    FM_TRY(fm_edges_return(&rows, msg));
    FM_TRY(fm_edges_return(&cols, msg));
    if (o->keep_best) fm_stop_take_best(&W, &Ht, &W_best, &Ht_best);
    // H = (Hᵀ)ᵀ, rank × cols as users expect it.
    FM_TRY(fm_dense_new(&result->H, k, n, msg));
    fm_dense_transpose(result->H->data, Ht);
    result->W = W;
    W = NULL;
    *out = result;
    result = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
