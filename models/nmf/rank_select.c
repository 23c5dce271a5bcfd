// Choosing the rank (fm_rank_select): every rank fitted on every fold of
// held-out entries, judged by its lowest held-out RMSE over the iterations
// (patience ends a fit once it overfits). The rank whose mean over the folds
// is lowest is named; the table says how far apart the folds are.
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "factormer.h"
#include "status.h"

void fm_rank_options_default(fm_rank_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->folds = 3;
    opts->holdout = 0.1;
    opts->kind = FM_KIND_SPARSE;
    fm_solver_options_default(&opts->solver);
    opts->solver.patience = 10;
}

void fm_rank_result_free(fm_rank_result **r)
{
    if (!r || !*r) return;
    free((*r)->rows);
    free((*r)->fits);
    free(*r);
    *r = NULL;
}

static int by_value(const void *a, const void *b)
{
    const int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int check_options(const fm_rank_options *o, const fm_triplets *t, char *msg)
{
#define FREE_ALL
    FM_CHECK(o->ranks && o->rank_count >= 1, FM_ERR_INVALID, "rank selection needs at least one rank");
    const int64_t smaller = t->rows < t->cols ? t->rows : t->cols;
    for (int r = 0; r < o->rank_count; r++)
        FM_CHECK(o->ranks[r] >= 1 && o->ranks[r] <= smaller && o->ranks[r] <= FM_MAX_RANK, FM_ERR_INVALID,
                 "rank %d is out of range: expected 1 <= rank <= min(%lld, %lld, %d)", o->ranks[r],
                 (long long)t->rows, (long long)t->cols, FM_MAX_RANK);
    FM_CHECK(o->folds >= 1, FM_ERR_INVALID, "rank selection needs at least one fold, not %d", o->folds);
    FM_CHECK(o->holdout > 0 && o->holdout < 1, FM_ERR_INVALID,
             "holdout fraction %g is out of range: expected 0 < fraction < 1", o->holdout);
    FM_CHECK(o->folds * o->holdout <= 1 + 1e-12, FM_ERR_INVALID,
             "%d folds of %g do not fit: the folds hold disjoint shares of the entries, so folds x holdout must be "
             "at most 1", o->folds, o->holdout);
    FM_CHECK(o->kind == FM_KIND_DENSE || o->kind == FM_KIND_SPARSE || o->kind == FM_KIND_INCOMPLETE, FM_ERR_INVALID,
             "rank selection needs a kind: dense, sparse or incomplete");
    return FM_OK;
#undef FREE_ALL
}

// The rows from the fits.
static void summarize(fm_rank_result *r)
{
    const int K = r->folds;
    for (int q = 0; q < r->rank_count; q++) {
        fm_rank_row *row = &r->rows[q];
        const fm_rank_fit *fits = r->fits + (size_t)q * K;
        double sum = 0, rmse = 0, best = 0, iterations = 0, seconds = 0;
        row->holdout_min = INFINITY;
        row->holdout_max = -INFINITY;
        for (int f = 0; f < K; f++) {
            sum += fits[f].holdout_rmse;
            rmse += fits[f].rmse;
            best += fits[f].best_iteration;
            iterations += fits[f].iterations;
            seconds += fits[f].seconds;
            row->holdout_min = fmin(row->holdout_min, fits[f].holdout_rmse);
            row->holdout_max = fmax(row->holdout_max, fits[f].holdout_rmse);
        }
        row->holdout_mean = sum / K;
        double sq = 0;
        for (int f = 0; f < K; f++) sq += (fits[f].holdout_rmse - row->holdout_mean) * (fits[f].holdout_rmse - row->holdout_mean);
        row->holdout_sd = K > 1 ? sqrt(sq / (K - 1)) : 0;
        row->rmse_mean = rmse / K;
        row->best_iteration_mean = best / K;
        row->iterations_mean = iterations / K;
        row->seconds = seconds;
    }
    r->best = 0;
    for (int q = 1; q < r->rank_count; q++)
        if (r->rows[q].holdout_mean < r->rows[r->best].holdout_mean) r->best = q;
}

int fm_rank_select(fm_rank_result **out, const fm_triplets *t, const fm_rank_options *o, char *msg)
{
    fm_rank_result *result = NULL;
    fm_triplets *kept = NULL, *held = NULL;
    fm_graph *g = NULL;
    fm_solver_result *fit = NULL;
    int *ranks = NULL;
#define FREE_ALL { fm_rank_result_free(&result); fm_triplets_free(&kept); fm_triplets_free(&held); \
                   fm_graph_free(&g); fm_solver_result_free(&fit); free(ranks); }
    FM_CHECK(out && !*out && t && o, FM_ERR_INVALID, "fm_rank_select: bad arguments");
    FM_TRY(check_options(o, t, msg));
    const double start = omp_get_wtime();
    const int R = o->rank_count, K = o->folds;
    FM_ALLOC(ranks, R);
    memcpy(ranks, o->ranks, sizeof(int) * R);
    qsort(ranks, (size_t)R, sizeof(int), by_value);
    for (int q = 1; q < R; q++)
        FM_CHECK(ranks[q] != ranks[q - 1], FM_ERR_INVALID, "rank %d is listed twice", ranks[q]);
    FM_ALLOC(result, 1);
    result->rank_count = R;
    result->folds = K;
    FM_ALLOC(result->rows, R);
    FM_ALLOC(result->fits, (size_t)R * K);
    for (int f = 0; f < K; f++) {
        const double split_start = omp_get_wtime();
        FM_TRY(fm_holdout_fold(&kept, &held, t, o->kind, o->holdout, f, o->solver.seed, msg));
        FM_CHECK(held->count > 0, FM_ERR_INVALID, "fold %d holds out no entry: the matrix is too small for a "
                 "holdout of %g", f, o->holdout);
        if (f == 0) result->held = held->count;
        FM_TRY(fm_graph_from_triplets(&g, kept, o->kind, msg));
        fm_triplets_free(&kept);
        const double split_seconds = omp_get_wtime() - split_start;
        for (int q = 0; q < R; q++) {
            fm_solver_options so = o->solver;
            so.rank = ranks[q];
            so.keep_best = false;   // judged by the best iteration's figures; the factors are not kept
            const double fit_start = omp_get_wtime();
            FM_TRY(fm_solver_run(&fit, g, held, &so, msg));
            fm_rank_fit *row = &result->fits[(size_t)q * K + f];
            const int best = fit->best_iteration;
            *row = (fm_rank_fit){ .rank = ranks[q], .fold = f, .holdout_rmse = fit->best_holdout_rmse,
                                  .rmse = fit->trace[best].rmse, .best_iteration = best,
                                  .iterations = fit->trace_len - 1,
                                  .seconds = omp_get_wtime() - fit_start + split_seconds / R,
                                  .stop_reason = fit->stop_reason };
            fm_solver_result_free(&fit);
            if (o->on_fit) o->on_fit(row, o->user);
        }
        fm_graph_free(&g);
        fm_triplets_free(&held);
    }
    for (int q = 0; q < R; q++) result->rows[q].rank = ranks[q];
    summarize(result);
    result->seconds = omp_get_wtime() - start;
    *out = result;
    result = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
