// The AO-ADMM driver (§3): one outer iteration is an H-update then a
// W-update; the duals of both factors are carried across iterations.
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "admm.h"
#include "accel_guard.h"
#include "admm_mask.h"
#include "extrapolate.h"
#include "finish.h"
#include "hals.h"
#include "holdout.h"
#include "init.h"
#include "kl_solver.h"
#include "learned.h"
#include "loss.h"
#include "network_graph.h"
#include "objective.h"
#include "products.h"
#include "solver_networks.h"
#include "profile.h"
#include "status.h"
#include "stop.h"
#include "unroll.h"
#include "warm_start.h"

void fm_solver_options_default(fm_solver_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->rank = 10;
    opts->init = FM_INIT_NNDSVD;
    opts->svd_power = FM_SVD_POWER_AUTO;
    opts->iters = 100;
    opts->inner = 1;
    opts->tol = 1e-6;
    opts->seed = 42;
    opts->accel_every = FM_UNROLL_ADMM;
    opts->accel_steps = FM_UNROLL_STEPS;
    opts->accel_safeguard = true;
    opts->accel_give_up = true;
    opts->accel_budget = FM_ACCEL_BUDGET;
    opts->sampler = FM_SAMPLER_FULL;
    opts->fanout = 32;
    opts->zero_ratio = 1;
    opts->batch_targets = FM_BATCH_TARGETS;
    opts->serial_below = FM_SERIAL_WORK;
    opts->finish = FM_FINISH_HALS;   // exact block updates (§3.1): from the first iteration, but for
    opts->finish_below = FM_FINISH_BELOW_AUTO;   // the incomplete kind once ADMM slows
}

void fm_solver_result_free(fm_solver_result **r)
{
    if (!r || !*r) return;
    fm_dense_free(&(*r)->W);
    fm_dense_free(&(*r)->H);
    fm_dense_free(&(*r)->dual_W);
    fm_dense_free(&(*r)->dual_H);
    fm_dense_free(&(*r)->prev_W);
    fm_dense_free(&(*r)->prev_H);
    free((*r)->trace);
    free((*r)->init_model);
    free((*r)->accel_model);
    free(*r);
    *r = NULL;
}

static int check_penalty(fm_penalty p, const char *factor, char *msg)
{
    if (!(p.l1 >= 0 && isfinite(p.l1) && p.l2 >= 0 && isfinite(p.l2)))
        return fm_fail(FM_ERR_INVALID, msg, "penalties on %s must be finite and >= 0 (l1 %g, l2 %g)", factor,
                       p.l1, p.l2);
    return FM_OK;
}

static int check_options(const fm_graph *g, const fm_solver_options *o, char *msg)
{
    const int64_t smaller = g->stats.rows < g->stats.cols ? g->stats.rows : g->stats.cols;
    if (o->rank < 1 || o->rank > smaller)
        return fm_fail(FM_ERR_INVALID, msg, "rank %d is out of range: expected 1 <= rank <= min(%lld, %lld) = %lld",
                       o->rank, (long long)g->stats.rows, (long long)g->stats.cols, (long long)smaller);
    if (o->rank > FM_MAX_RANK)
        return fm_fail(FM_ERR_INVALID, msg,
                       "rank %d is above the supported maximum of %d (the incomplete kind solves a rank x rank system "
                       "per row and per column on each thread's stack)", o->rank, FM_MAX_RANK);
    if (o->iters < 0) return fm_fail(FM_ERR_INVALID, msg, "iterations must be >= 0, not %d", o->iters);
    if (o->inner < 1) return fm_fail(FM_ERR_INVALID, msg, "inner ADMM steps must be >= 1, not %d", o->inner);
    if (o->patience < 0) return fm_fail(FM_ERR_INVALID, msg, "patience must be >= 0 iterations, not %d", o->patience);
    if (!(o->tol >= 0)) return fm_fail(FM_ERR_INVALID, msg, "tolerance must be >= 0, not %g", o->tol);
    if (!(o->time_limit >= 0))
        return fm_fail(FM_ERR_INVALID, msg, "time limit must be >= 0 seconds, not %g", o->time_limit);
    if (o->accelerate && !(o->accel_budget >= 0))
        return fm_fail(FM_ERR_INVALID, msg, "the accelerator's budget must be >= 0 (INFINITY: none), not %g",
                       o->accel_budget);
    if ((unsigned)o->init > FM_INIT_LEARNED) return fm_fail(FM_ERR_INVALID, msg, "unknown init method %d", o->init);
    if (!fm_svd_power_valid(o->svd_power))
        return fm_fail(FM_ERR_INVALID, msg, "svd_power: expected 0 to %d power iterations (or FM_SVD_POWER_AUTO), "
                       "not %d", FM_MAX_SVD_POWER, o->svd_power);
    if (o->accelerate && o->accel_every < 1)
        return fm_fail(FM_ERR_INVALID, msg, "the accelerator runs every %d iterations; expected at least 1",
                       o->accel_every);
    if (o->accelerate && o->accel_steps < 0)
        return fm_fail(FM_ERR_INVALID, msg, "accelerator steps must be >= 0, not %d", o->accel_steps);
    if ((unsigned)o->finish > FM_FINISH_HALS) return fm_fail(FM_ERR_INVALID, msg, "unknown finish %d", o->finish);
    if (o->finish_sweeps < 0)
        return fm_fail(FM_ERR_INVALID, msg, "sweeps per exact update must be >= 0, not %d", o->finish_sweeps);
    if (o->finish_below != FM_FINISH_BELOW_AUTO && (!(o->finish_below >= 0) || !isfinite(o->finish_below)))
        return fm_fail(FM_ERR_INVALID, msg, "the exact phase's threshold must be a finite number >= 0, not %g",
                       o->finish_below);
    if (o->kernels != FM_KERNELS_FUSED && o->kernels != FM_KERNELS_GRAPHBLAS)
        return fm_fail(FM_ERR_INVALID, msg, "unknown kernels %d", (int)o->kernels);
    if (o->batch_targets < 0)
        return fm_fail(FM_ERR_INVALID, msg, "mini-batches of %lld targets; expected at least 1 (or 0: all at once)",
                       (long long)o->batch_targets);
    if (o->sampler != FM_SAMPLER_FULL) {
        if ((unsigned)o->sampler >= FM_SAMPLER_COUNT)
            return fm_fail(FM_ERR_INVALID, msg, "unknown sampler %d", (int)o->sampler);
        const int status = fm_sampler_check_node_wise(o->sampler, msg);
        if (status) return status;
        if (o->fanout < 1)
            return fm_fail(FM_ERR_INVALID, msg, "the %s sampler keeps fanout in-edges per target; fanout %lld must "
                           "be at least 1", fm_sampler_name(o->sampler), (long long)o->fanout);
        if (!(o->zero_ratio >= 0) || !isfinite(o->zero_ratio))
            return fm_fail(FM_ERR_INVALID, msg, "zero ratio %g must be a finite number >= 0", o->zero_ratio);
        if (o->sampler == FM_SAMPLER_STRATIFIED && g->stats.kind != FM_KIND_SPARSE)
            return fm_fail(FM_ERR_INVALID, msg,
                           "the stratified sampler draws unstored entries as zeros, which only the sparse kind has "
                           "(this matrix is %s): use uniform or weighted", fm_kind_name(g->stats.kind));
    }
    if (o->keep_best && o->keep_duals)
        return fm_fail(FM_ERR_INVALID, msg, "keep_duals keeps the state of the last iterate for a warm start; "
                       "keep_best returns another iterate's factors: use one of them");
    int status = check_penalty(o->penalty_w, "W", msg);
    if (!status) status = check_penalty(o->penalty_h, "H", msg);
    return status ? status : fm_warm_start_check(g->stats.rows, g->stats.cols, o, msg);
}

static void fill_objective(fm_solver_iterate *step, const fm_row_objective *row, double omega)
{
    step->rmse = sqrt(row->residual / omega);
    step->objective = row->f;
}

static int solver_run(fm_solver_result **out, fm_graph *g, const fm_triplets *holdout,
                      const fm_solver_options *o, char *msg)
{
    fm_solver_result *result = NULL;
    fm_edges rows = { 0 }, cols = { 0 };
    fm_dense *W = NULL, *Ht = NULL, *UW = NULL, *UH = NULL, *XHt = NULL, *XtW = NULL;
    fm_dense *W_prev = NULL, *Ht_prev = NULL, *W_admm = NULL, *Ht_admm = NULL;
    double *gram_w = NULL, *gram_h = NULL;
    fm_admm_full *full = NULL;
    fm_learned init_model = { 0 }, accel_model = { 0 };
    fm_learned *init_network = o ? o->init_network : NULL, *accel_network = o ? o->accel_network : NULL;
    fm_message_graph view = { 0 };
    fm_network_graph sample = { 0 };
    fm_extrapolation extra = { 0 };
    fm_speckle speckle = { 0 };                 // the dense and sparse kinds' held-out mask
    fm_dense *W_best = NULL, *Ht_best = NULL;   // keep_best: the factors of the best held-out RMSE
    // the view first: it only refers to the borrowed edges, returned after it
#define FREE_ALL { fm_message_graph_close(&view, NULL); fm_network_graph_free(&sample); \
                   fm_solver_result_free(&result); \
                   fm_edges_return(&rows, NULL); fm_edges_return(&cols, NULL); fm_dense_free(&W); \
                   fm_dense_free(&Ht); fm_dense_free(&UW); fm_dense_free(&UH); fm_dense_free(&XHt); \
                   fm_dense_free(&XtW); fm_dense_free(&W_prev); fm_dense_free(&Ht_prev); free(gram_w); \
                   fm_dense_free(&W_admm); fm_dense_free(&Ht_admm); \
                   free(gram_h); fm_learned_free(&init_model); fm_learned_free(&accel_model); \
                   fm_admm_full_free(&full); fm_extrapolation_free(&extra); fm_speckle_free(&speckle); \
                   fm_dense_free(&W_best); fm_dense_free(&Ht_best); }
    FM_CHECK(out && !*out && g && o, FM_ERR_INVALID, "fm_solver_run: bad arguments");
    FM_TRY(check_options(g, o, msg));
    // another loss than least squares: its own driver (models/nmf/kl_solver.c)
    if (o->loss != FM_LOSS_LS) return fm_kl_solver_run(out, g, holdout, o, msg);
    const double start = omp_get_wtime();
    const int k = o->rank;
    const int64_t m = g->stats.rows, n = g->stats.cols;
    const bool masked = g->stats.kind == FM_KIND_INCOMPLETE;
    const int64_t held = holdout ? holdout->count : 0;
    // the dense and sparse kinds: the held coordinates are unknown to the fit
    // (ops/admm_mask.h), and the trace's rmse is over the others
    const bool speckled = held > 0 && !masked;
    const double omega = fm_graph_omega(g) - (speckled ? (double)held : 0);
    FM_CHECK(omega > 0, FM_ERR_INVALID, "the matrix has no observed entries to fit");
    FM_CHECK(held > 0 || (!o->keep_best && o->patience == 0), FM_ERR_INVALID,
             "keep_best and patience choose by the held-out RMSE: they need held-out entries");
    FM_CHECK(!speckled || !o->accelerate, FM_ERR_INVALID,
             "the acceleration network does not know the held-out mask of the %s kind: run without it",
             fm_kind_name(g->stats.kind));
    const bool learned_init = o->init == FM_INIT_LEARNED;
    // lowered to the steps taken when the run gives the accelerator up (accel_give_up)
    int accel_steps = o->accelerate ? o->accel_steps : 0;

    FM_ALLOC(result, 1);
    FM_ALLOC(result->trace, o->iters + 1);
    result->best_iteration = -1;
    result->best_holdout_rmse = NAN;
    // the models first: a missing or wrong file fails before any work
    if (learned_init)
        FM_TRY(fm_solver_open_network(&init_network, &init_model, o->init_model, FM_MODEL_INIT, o, &result->init_model,
                                      msg));
    // the cost guard before the run, from the model's header alone: a first pass
    // that cannot pay is not made, the model is not read, and the run is plain
    // ADMM's (no view of X / mean, no ADMM kept for the accelerator before the exact phase)
    if (accel_steps > 0 && o->iters >= o->accel_every && o->accel_give_up && o->accel_safeguard &&
        o->accel_budget < INFINITY) {
        fm_lfactormer_config config;
        char resolved[FM_LEARNED_PATH_LEN];
        if (accel_network) {
            FM_TRY(fm_solver_check_network(accel_network, FM_MODEL_ACCEL, o->rank, msg));
            config = accel_network->weights.config;
            memcpy(resolved, accel_network->path, sizeof resolved);
        } else {
            FM_TRY(fm_learned_peek(&config, resolved, o->accel_model, FM_MODEL_ACCEL, o->rank, msg));
        }
        const fm_solver_options sampled = fm_solver_network_sampling(o, FM_MODEL_ACCEL, &config);
        if (!fm_accel_first_pass_pays(result, &sampled, g, &config, accel_steps)) {
            result->accel_too_costly = true;
            accel_steps = 0;
            FM_TRY(fm_solver_keep_path(&result->accel_model, resolved, msg));
        }
    }
    if (o->accelerate && !result->accel_too_costly)
        FM_TRY(fm_solver_open_network(&accel_network, &accel_model, o->accel_model, FM_MODEL_ACCEL, o,
                                      &result->accel_model, msg));
    const bool network = learned_init || (o->accelerate && !result->accel_too_costly);
    // what the networks read, for the report: the initialization's sampling, else the accelerator's
    const fm_learned *reader = learned_init ? init_network : network ? accel_network : NULL;
    const fm_solver_options reads_as =
        reader ? fm_solver_network_sampling(o, reader->kind, &reader->weights.config) : *o;
    result->sampler = reads_as.sampler;
    result->fanout = reads_as.fanout;
    result->trained_rank =
        reader && reader->weights.config.pooled ? fm_pooled_trained_rank(reader->kind, &reader->weights.config) : 0;
    const double mean = fm_graph_mean(g);
    FM_CHECK(!network || (mean > 0 && isfinite(mean)), FM_ERR_INVALID,
             "the learned models need data of positive mean; the mean over the observed entries is %g", mean);
    FM_ALLOC(gram_w, k * k);
    FM_ALLOC(gram_h, k * k);
    FM_TRY(fm_dense_new(&UW, m, k, msg));
    FM_TRY(fm_dense_new(&UH, n, k, msg));
    FM_TRY(fm_dense_new(&XHt, m, k, msg));
    FM_TRY(fm_dense_new(&XtW, n, k, msg));
    // The solver owns the graph for the run: both orientations stay borrowed.
    FM_TRY(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg));
    FM_TRY(fm_edges_borrow(&cols, g, FM_TO_COLUMNS, msg));
    if (speckled) FM_TRY(fm_speckle_new(&speckle, holdout, &rows, msg));

    result->svd_power = fm_warm_start_requested(o) ? -1 : fm_start_svd_power(o->init, o->svd_power, k, m, n);
    if (fm_warm_start_requested(o)) {
        FM_TRY(fm_warm_start_factors(&W, &Ht, UW, UH, o, msg));   // checked: no network beside it
    } else if (network) {
        // The networks read X / mean over the solver's own borrowed edges (a
        // second borrow would find the GraphBLAS matrices empty): a view that
        // shares their structure and scales a copy of their values. An
        // initialization that reads samples, in a run without the accelerator,
        // makes none: the samples scale what they draw (the copy of every value
        // costs more than the pass over a sample on small matrices), unless its
        // layers leave a direction to the view (fm_solver_network_reads_view).
        const bool accelerating = accel_steps > 0 && o->iters >= o->accel_every;
        if (accelerating || !learned_init || fm_solver_network_reads_view(init_network, o))
            FM_TRY(fm_message_graph_view(&view, g, &rows, &cols, mean, msg));
        if (learned_init || o->init == FM_INIT_NNDSVD) {
            const fm_message_graph *reads = NULL;
            if (learned_init)
                FM_TRY(fm_solver_network_graph(&reads, &sample, &view, init_network, g, &rows, &cols, mean, o, 0,
                                               msg));
            // the learned start reads a rougher sketch than plain's (§6, FM_LEARNED_SVD_POWER)
            FM_TRY(fm_learned_start(&W, &Ht, learned_init ? init_network : NULL, g, &rows, &cols, reads, mean, k,
                                    result->svd_power, o->seed, msg));
            fm_network_graph_free(&sample);
        } else {
            FM_TRY(fm_init_factors(&W, &Ht, g, &rows, &cols, k, o->init, result->svd_power, o->seed, msg));
        }
        if (accelerating) {
            FM_TRY(fm_dense_copy(&W_prev, W, msg));
            FM_TRY(fm_dense_copy(&Ht_prev, Ht, msg));
            if (o->accel_safeguard) {
                FM_TRY(fm_dense_copy(&W_admm, W, msg));
                FM_TRY(fm_dense_copy(&Ht_admm, Ht, msg));
            }
        } else {
            FM_TRY(fm_message_graph_close(&view, msg));
        }
    } else {
        FM_TRY(fm_init_factors(&W, &Ht, g, &rows, &cols, k, o->init, result->svd_power, o->seed, msg));
    }
    FM_TRY(fm_products_gram(gram_w, W, msg));
    FM_TRY(fm_products_gram(gram_h, Ht, msg));
    result->init_seconds = omp_get_wtime() - start;

    fm_row_objective row = { 0 }, previous = { 0 };
    fm_expansion_check check = { 0 };
    const fm_objective_inputs inputs = { g, &rows, &cols, W, Ht, XHt, gram_w, gram_h, o };
    // The dense kind's W-update reads X once for X·Hᵀ, the next Xᵀ·W and the
    // exact Σr² (ops/admm_full.c); XtW then holds Xᵀ·W of the current W.
    const bool fused = !masked && !speckled && fm_admm_full_fits(&rows, k);
    if (fused) FM_TRY(fm_admm_full_new(&full, &rows, k, msg));
    bool pushed = false;
    double last_change = INFINITY;   // |Δf| between the last two rows
    bool exact = false;              // the exact phase (§3.1): block updates instead of ADMM steps
    bool extrapolating = false;      // and its extrapolation (extrapolate.h)
    const int sweeps = fm_finish_sweeps(o);
    for (int it = 0;; it++) {
        bool accelerated = false, rejected = false, redone = false;
        double residual, fused_residual;
        bool have_residual = false, fused_exact = false;
        if (it > 0) {
            fm_admm_factor h = { Ht, UH }, w = { W, UW };
            if (extrapolating) {   // the updates start from Y
                fm_extrapolation_move(&extra, W, Ht, fused ? XtW : NULL);
                FM_TRY(fm_products_gram(gram_w, W, msg));
            }
        redo:   // the extrapolation refused the updates' iterate: again from the accepted one
            // a speckled holdout runs ADMM to the end: the exact phase has no masked-complement update yet
            if (speckled)
                FM_TRY(fm_admm_update_speckled(h, XtW, &cols, &speckle.cols, W, gram_w, o->penalty_h, o->inner, msg));
            else if (exact && masked) FM_TRY(fm_hals_update_masked(Ht, &cols, W, o->penalty_h, sweeps, msg));
            else if (exact) FM_TRY(fm_hals_update_shared(Ht, XtW, pushed ? NULL : &cols, W, gram_w, o->penalty_h,
                                                         cols.sources, sweeps, msg));
            else if (masked) FM_TRY(fm_admm_update_masked(h, &cols, W, o->penalty_h, o->inner, msg));
            else if (pushed) FM_TRY(fm_admm_steps_shared(h, XtW, &cols, gram_w, o->penalty_h, o->inner, msg));
            else FM_TRY(fm_admm_update_shared(h, XtW, &cols, W, gram_w, o->penalty_h, o->inner, msg));
            FM_TRY(fm_products_gram(gram_h, Ht, msg));
            if (speckled) {
                FM_TRY(fm_admm_update_speckled(w, XHt, &rows, &speckle.rows, Ht, gram_h, o->penalty_w, o->inner,
                                               msg));
            } else if (exact && masked) {
                FM_TRY(fm_hals_update_masked(W, &rows, Ht, o->penalty_w, sweeps, msg));
            } else if (masked) {
                FM_TRY(fm_admm_update_masked(w, &rows, Ht, o->penalty_w, o->inner, msg));
            } else if (fused) {   // ADMM or, in the exact phase, the block updates (fm_admm_full_exact)
                fused_exact = extrapolating || !fm_expansion_likely(&check, it, &previous, last_change, o);
                FM_TRY(fm_admm_update_full(full, w, XHt, XtW, fused_exact ? &fused_residual : NULL, &rows, Ht, gram_h,
                                           o->penalty_w, o->inner, msg));
                pushed = true;
            } else if (exact) {
                FM_TRY(fm_hals_update_shared(W, XHt, &rows, Ht, gram_h, o->penalty_w, rows.sources, sweeps, msg));
            } else {
                FM_TRY(fm_admm_update_shared(w, XHt, &rows, Ht, gram_h, o->penalty_w, o->inner, msg));
            }
            if (result->accel_steps > 0 && result->accel_steps < accel_steps && it % o->accel_every == 0 &&
                o->accel_give_up && o->accel_safeguard &&
                !fm_accel_next_pass_pays(result, o, it, accel_steps)) {
                result->accel_given_up = it;
                result->accel_too_costly = true;
                accel_steps = result->accel_steps;
                FM_TRY(fm_message_graph_close(&view, msg));
            }
            // not again when the extrapolation redoes the iteration (§3.1)
            if (result->accel_steps < accel_steps && it % o->accel_every == 0 && !redone) {
                // the fused pass's Σr² is the ADMM iterate's; the accelerator
                // replaces W and Hᵀ, and with them Xᵀ·W
                const bool admm_exact = fused_exact, admm_pushed = pushed;
                pushed = fused_exact = false;
                double admm_residual = 0, admm_objective = 0;
                if (o->accel_safeguard) {
                    // the ADMM iterate (Ŵ, Ĥᵀ) and its objective, to fall back on
                    FM_TRY(fm_products_gram(gram_w, W, msg));
                    if (admm_exact) admm_residual = fused_residual;
                    else FM_TRY(fm_loss_residual(&admm_residual, g, &rows, W, Ht, gram_w, gram_h, msg));
                    admm_objective = fm_objective_value(admm_residual, W, Ht, &rows, &cols, masked, o);
                    if (!masked)   // a measurement of the expansion's error, for free
                        fm_expansion_check_record(&check, it, fm_loss_expansion(g, W, XHt, gram_w, gram_h),
                                                  admm_residual);
                    memcpy(W_admm->data, W->data, sizeof(float) * m * k);
                    memcpy(Ht_admm->data, Ht->data, sizeof(float) * n * k);
                }
                // §6: W_t, Hᵀ_t = network([W_{t−1} | Ŵ], [Hᵀ_{t−1} | Ĥᵀ]); the duals carried
                int repaired = 0;
                const fm_message_graph *reads;
                FM_TRY(fm_solver_network_graph(&reads, &sample, &view, accel_network, g, &rows, &cols, mean, o,
                                               1 + (uint64_t)result->accel_steps, msg));
                const int step = fm_learned_accelerate(W, Ht, W_prev, Ht_prev, accel_network, reads, mean,
                                                       o->accel_safeguard, &repaired, msg);
                if (step == FM_ERR_NUMERIC) {   // which step: the message ends with it
                    char why[FM_MSG_LEN];
                    memcpy(why, msg, sizeof why);
                    fm_fail(step, msg, "%s (accelerator step %d, after iteration %d)", why, result->accel_steps + 1,
                            it);
                }
                FM_TRY(step);
                fm_network_graph_free(&sample);
                result->accel_repaired += repaired;
                FM_TRY(fm_products_gram(gram_h, Ht, msg));
                accelerated = true;
                if (o->accel_safeguard) {
                    FM_TRY(fm_products_gram(gram_w, W, msg));
                    FM_TRY(fm_loss_residual(&residual, g, &rows, W, Ht, gram_w, gram_h, msg));
                    have_residual = true;
                    const double accel_objective = fm_objective_value(residual, W, Ht, &rows, &cols, masked, o);
                    if (!(accel_objective <= admm_objective)) {
                        memcpy(W->data, W_admm->data, sizeof(float) * m * k);
                        memcpy(Ht->data, Ht_admm->data, sizeof(float) * n * k);
                        FM_TRY(fm_products_gram(gram_h, Ht, msg));
                        residual = admm_residual;
                        pushed = admm_pushed;   // Xᵀ·W is the iterate's again: the run goes on as without the step
                        accelerated = false;
                        rejected = true;
                        result->accel_rejected++;
                    }
                    // a network pass costs many iterations: once its output is refused, or
                    // gains less over the ADMM iterate than that iterate gained over the
                    // last row, it is not called again in this run
                    if (o->accel_give_up &&
                        (rejected || admm_objective - accel_objective < previous.f - admm_objective)) {
                        result->accel_given_up = it;
                        accel_steps = result->accel_steps + 1;
                    }
                }
                if (++result->accel_steps < accel_steps) {
                    memcpy(W_prev->data, W->data, sizeof(float) * m * k);
                    memcpy(Ht_prev->data, Ht->data, sizeof(float) * n * k);
                } else {
                    // the last step: the view's copies are not needed any more
                    FM_TRY(fm_message_graph_close(&view, msg));
                }
            }
            FM_TRY(fm_products_gram(gram_w, W, msg));
        }
        fm_solver_iterate *step = &result->trace[it];
        double held_error = 0, held_fitted = 0;   // Σ (x − w·h)² and Σ (w·h)² over the held entries
        if (speckled) fm_speckle_residuals(&speckle, W, Ht, &held_error, &held_fitted);
        if (have_residual) {
            row = (fm_row_objective){ .residual = residual,
                                      .f = fm_objective_value(residual, W, Ht, &rows, &cols, masked, o),
                                      .exact = true };
        } else {
            // X·Hᵀ is the W-update's, unless the accelerator replaced Hᵀ since
            // (the extrapolation's judge and the tolerance test need exact rows)
            const bool expansion = it > 0 && !accelerated && !masked && !speckled && !o->exact_objective &&
                                   !extrapolating;
            FM_TRY(fm_objective_row(&row, &check, expansion, it, &previous, &inputs,
                                       fused_exact ? &fused_residual : NULL, msg));
        }
        if (speckled) {   // Σr² over the graph counts (0 − w·h)² at the held coordinates: not fitted
            const double fitted = fmax(0.0, row.residual - held_fitted);
            row.f -= 0.5 * (row.residual - fitted);
            row.residual = fitted;
        }
        // The tolerance test runs on exact rows only; the last row, which the
        // summary reports, is made exact, before the callback sees it unless
        // the callback is what stops the run.
        if (extrapolating && accelerated) {
            // a kept accelerator output (§6) in the exact phase: the extrapolation starts again from it
            if (fused && !pushed) {
                fm_products_gather(XtW, &cols, W);
                pushed = true;
            }
            FM_TRY(fm_extrapolation_start(&extra, W, Ht, fused ? XtW : NULL, &row, msg));
        } else if (extrapolating) {
            const fm_extrapolation_verdict verdict = fm_extrapolation_judge(&extra, W, Ht, fused ? XtW : NULL, &row);
            if (verdict != FM_EXTRAPOLATION_KEPT) {
                FM_TRY(fm_products_gram(gram_w, W, msg));
                FM_TRY(fm_products_gram(gram_h, Ht, msg));
            }
            if (verdict == FM_EXTRAPOLATION_REDO) {
                result->finish_refused++;
                redone = true;
                goto redo;
            }
        }
        // the held-out error of the iteration's factors as they stand: after
        // the judge, which may refuse the updates' iterate (a speckled run
        // never extrapolates: its sums are above, the row needs them)
        if (held && !speckled) held_error = fm_loss_residual_triplets(holdout, W, Ht);
        step->holdout_rmse = held ? sqrt(held_error / held) : NAN;
        if (held)
            FM_TRY(fm_stop_record_holdout(result, it, step->holdout_rmse, o->keep_best, W, Ht, &W_best, &Ht_best,
                                          msg));
        const char *stop = fm_stop_reason(o, result, it, omp_get_wtime() - start, &previous, &row, held);
        if (stop && !row.exact)
            FM_TRY(fm_objective_row(&row, &check, false, it, &previous, &inputs, NULL, msg));
        step->iteration = it;
        step->accelerated = accelerated;
        step->rejected = rejected;
        step->seconds = omp_get_wtime() - start;
        fill_objective(step, &row, omega);
        result->trace_len = it + 1;
        FM_CHECK(isfinite(step->objective), FM_ERR_NUMERIC,
                 "the objective became non-finite at iteration %d", it);
        if (o->progress && o->progress(step, o->user)) {
            stop = "callback";
            if (!row.exact) {
                FM_TRY(fm_objective_row(&row, &check, false, it, &previous, &inputs, NULL, msg));
                fill_objective(step, &row, omega);
            }
        }
        // a warm start continues the phase it was in (warm_start.h); the
        // switch counts the earlier runs' iterations
        const bool resume = it == 0 && fm_warm_start_resumes_exact(o);
        if (!stop && !exact && !speckled &&
            (resume || fm_finish_due(o, masked, it + o->start_state.iterations, &previous, &row,
                                     result->accel_steps < accel_steps))) {
            exact = true;
            result->finish_iteration = it + 1;
            if (fused) fm_admm_full_exact(full, sweeps);
            if (!o->finish_plain) {
                if (fused && !pushed) {   // the moves extrapolate Xᵀ·W too
                    fm_products_gather(XtW, &cols, W);
                    pushed = true;
                }
                if (resume) FM_TRY(fm_warm_start_extrapolation(&extra, W, Ht, fused ? XtW : NULL, &cols, &row, o, msg));
                else FM_TRY(fm_extrapolation_start(&extra, W, Ht, fused ? XtW : NULL, &row, msg));
                extrapolating = true;
            }
        }
        if (it > 0) last_change = fabs(previous.f - row.f);
        previous = row;
        if (stop) {
            result->stop_reason = stop;
            break;
        }
    }
    FM_TRY(fm_message_graph_close(&view, msg));
    if (o->keep_best) fm_stop_take_best(&W, &Ht, &W_best, &Ht_best);

    // H = (Hᵀ)ᵀ, rank × cols as users expect it.
    FM_TRY(fm_dense_new(&result->H, k, n, msg));
    fm_dense_transpose(result->H->data, Ht);
    if (o->keep_duals) {   // for a later warm start, in the layouts of W and H
        FM_TRY(fm_dense_new(&result->dual_H, k, n, msg));
        fm_dense_transpose(result->dual_H->data, UH);
        result->dual_W = UW;
        UW = NULL;
        FM_TRY(fm_warm_start_keep(result, &extra, exact, extrapolating, W, Ht, o, msg));
    }
    result->W = W;
    W = NULL;
    *out = result;
    result = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_solver_run(fm_solver_result **out, fm_graph *g, const fm_triplets *holdout,
                  const fm_solver_options *o, char *msg)
{
    if (!g || !o) return solver_run(out, g, holdout, o, msg);   // it reports the bad arguments
    // the incomplete kind forms a k x k Gram per row and column: k² per entry
    const double per_entry = g->stats.kind == FM_KIND_INCOMPLETE ? (double)o->rank * o->rank : o->rank;
    double work = ((double)g->stats.entries + (double)(g->stats.rows + g->stats.cols) * o->rank) * per_entry;
    // a speckled mask's corrections: k² per held entry, by rows and by columns
    if (holdout && g->stats.kind != FM_KIND_INCOMPLETE) work += 2.0 * (double)holdout->count * o->rank * o->rank;
    const int threads = omp_get_max_threads(), used = work < o->serial_below ? 1 : threads;
    omp_set_num_threads(used);
    const int status = solver_run(out, g, holdout, o, msg);
    omp_set_num_threads(threads);
    if (status == FM_OK) (*out)->threads = used;
    return status;
}
