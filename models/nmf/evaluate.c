// The paper's evaluation (§9, Figures 6 to 9): see evaluate.h.
#include "evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "status.h"

static const char *const names[FM_EVAL_METHODS] = {"plain", "learned_init", "accelerated"};
static const char *const titles[FM_EVAL_METHODS] = {"plain ADMM", "learned init", "accelerated"};

const char *fm_eval_method_name(fm_eval_method method)
{
    return method >= 0 && method < FM_EVAL_METHODS ? names[method] : "unknown";
}

const char *fm_eval_method_title(fm_eval_method method)
{
    return method >= 0 && method < FM_EVAL_METHODS ? titles[method] : "unknown";
}

void fm_eval_set_free(fm_eval_set **set)
{
    if (!set || !*set) return;
    for (int m = 0; m < FM_EVAL_METHODS; m++) {
        free((*set)->rmse[m]);
        free((*set)->seconds[m]);
        fm_dense_free(&(*set)->W[m]);
        fm_dense_free(&(*set)->H[m]);
    }
    free(*set);
    *set = NULL;
}

int fm_eval_set_new(fm_eval_set **out, int count, int iters, const bool ran[FM_EVAL_METHODS], char *msg)
{
    fm_eval_set *set = NULL;
#define FREE_ALL fm_eval_set_free(&set)
    FM_CHECK(out && !*out && ran, FM_ERR_INVALID, "fm_eval_set_new: bad arguments");
    FM_CHECK(count >= 1 && iters >= 0, FM_ERR_INVALID,
             "an evaluation needs at least one matrix and iters >= 0 (count %d, iters %d)", count, iters);
    FM_ALLOC(set, 1);
    set->count = count;
    set->iters = iters;
    for (int m = 0; m < FM_EVAL_METHODS; m++) {
        set->ran[m] = m == FM_EVAL_PLAIN || ran[m];
        if (!set->ran[m]) continue;
        FM_ALLOC(set->rmse[m], (size_t)count * (iters + 1));
        FM_ALLOC(set->seconds[m], (size_t)count * (iters + 1));
    }
    *out = set;
    return FM_OK;
#undef FREE_ALL
}

int fm_eval_matrix(fm_eval_set *set, int index, fm_graph *g, const fm_solver_options *base, fm_learned *init,
                   fm_learned *accel, char *msg)
{
    fm_solver_result *r = NULL;
#define FREE_ALL fm_solver_result_free(&r)
    FM_CHECK(set && g && base && index >= 0 && index < set->count, FM_ERR_INVALID, "fm_eval_matrix: bad arguments");
    FM_CHECK((!set->ran[FM_EVAL_INIT] || init) && (!set->ran[FM_EVAL_ACCEL] || accel), FM_ERR_INVALID,
             "fm_eval_matrix: a learned method without its network");
    const int points = set->iters + 1;
    for (int m = 0; m < FM_EVAL_METHODS; m++) {
        if (!set->ran[m]) continue;
        fm_solver_options o = *base;
        o.iters = set->iters;
        o.tol = 0;
        o.time_limit = 0;
        o.init = m == FM_EVAL_INIT ? FM_INIT_LEARNED : FM_INIT_NNDSVD;
        o.accelerate = m == FM_EVAL_ACCEL;
        o.accel_give_up = false;   // §9 compares the T steps the network takes
        o.init_network = init;
        o.accel_network = accel;
        FM_TRY(fm_solver_run(&r, g, NULL, &o, msg));
        FM_CHECK(r->trace_len == points, FM_ERR_INVALID, "the %s run stopped after %d of %d iterations (%s)",
                 titles[m], r->trace_len - 1, set->iters, r->stop_reason);
        for (int t = 0; t < points; t++) {
            set->rmse[m][(size_t)index * points + t] = r->trace[t].rmse;
            set->seconds[m][(size_t)index * points + t] = r->trace[t].seconds + set->charged[m];
        }
        if (set->keep_factors) {
            fm_dense_free(&set->W[m]);
            fm_dense_free(&set->H[m]);
            set->W[m] = r->W;
            set->H[m] = r->H;
            r->W = r->H = NULL;
        }
        fm_solver_result_free(&r);
    }
    return FM_OK;
#undef FREE_ALL
}

static int compare(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void fm_quartiles(double *v, int n, double q[3])
{
    qsort(v, n, sizeof *v, compare);
    for (int k = 0; k < 3; k++) {
        const double at = (n - 1) * (k + 1) / 4.0;
        const int lo = (int)floor(at), hi = (int)ceil(at);
        // inf - inf would be NaN: an order statistic that is inf is the answer
        q[k] = lo == hi || v[hi] == v[lo] ? v[lo] : v[lo] + (v[hi] - v[lo]) * (at - lo);
    }
}

void fm_eval_summary_free(fm_eval_summary **summary)
{
    if (!summary || !*summary) return;
    for (int m = 0; m < FM_EVAL_METHODS; m++) {
        free((*summary)->rmse[m]);
        free((*summary)->ratio[m]);
    }
    free(*summary);
    *summary = NULL;
}

// rmse / plain's rmse, where both are zero: 1 (the same fit)
static double ratio_of(double rmse, double plain)
{
    if (rmse == plain) return 1;
    return plain > 0 ? rmse / plain : INFINITY;
}

int fm_eval_summarize(fm_eval_summary **out, const fm_eval_set *set, char *msg)
{
    fm_eval_summary *s = NULL;
    double *column = NULL;
#define FREE_ALL { fm_eval_summary_free(&s); free(column); }
    FM_CHECK(out && !*out && set, FM_ERR_INVALID, "fm_eval_summarize: bad arguments");
    const int n = set->count, points = set->iters + 1;
    FM_ALLOC(s, 1);
    FM_ALLOC(column, n);
    s->count = n;
    s->iters = set->iters;
    s->target_iteration = set->iters < FM_EVAL_TARGET_ITERATION ? set->iters : FM_EVAL_TARGET_ITERATION;
    const double *plain = set->rmse[FM_EVAL_PLAIN];
    for (int m = 0; m < FM_EVAL_METHODS; m++) {
        s->ran[m] = set->ran[m];
        if (!s->ran[m]) continue;
        FM_ALLOC(s->rmse[m], (size_t)points * 3);
        FM_ALLOC(s->ratio[m], (size_t)points * 3);
        const double *rmse = set->rmse[m], *seconds = set->seconds[m];
        for (int t = 0; t < points; t++) {
            for (int i = 0; i < n; i++) column[i] = rmse[(size_t)i * points + t];
            fm_quartiles(column, n, &s->rmse[m][t * 3]);
            for (int i = 0; i < n; i++)
                column[i] = ratio_of(rmse[(size_t)i * points + t], plain[(size_t)i * points + t]);
            fm_quartiles(column, n, &s->ratio[m][t * 3]);
        }
        // the race to plain ADMM's RMSE at the target iteration, matrix by matrix
        for (int i = 0; i < n; i++) {
            const double target = plain[(size_t)i * points + s->target_iteration];
            column[i] = INFINITY;
            for (int t = 0; t < points; t++)
                if (rmse[(size_t)i * points + t] <= target) {
                    column[i] = seconds[(size_t)i * points + t];
                    s->reached[m]++;
                    break;
                }
        }
        fm_quartiles(column, n, s->reach_seconds[m]);
    }
    free(column);
    *out = s;
    return FM_OK;
#undef FREE_ALL
}

bool fm_eval_init_headline(const fm_eval_summary *s)
{
    return s->ran[FM_EVAL_INIT] &&
           s->rmse[FM_EVAL_INIT][0 * 3 + 1] <= s->rmse[FM_EVAL_PLAIN][s->target_iteration * 3 + 1];
}

bool fm_eval_accel_below(const fm_eval_summary *s, int from, int to, int *first_failure)
{
    *first_failure = -1;
    if (!s->ran[FM_EVAL_ACCEL]) return false;
    if (to > s->iters) to = s->iters;
    for (int t = from; t <= to; t++)
        if (!(s->rmse[FM_EVAL_ACCEL][t * 3 + 1] < s->rmse[FM_EVAL_PLAIN][t * 3 + 1])) {
            *first_failure = t;
            return false;
        }
    return from <= to;
}

int fm_eval_write_summary(const char *path, const fm_eval_summary *s, char *msg)
{
    fm_atomic_file file = { 0 };
#define FREE_ALL fm_atomic_abort(&file)
    static const char *const stats[3] = {"q1", "median", "q3"};
    FM_TRY(fm_atomic_open(&file, path, msg));
    fprintf(file.f, "iteration");
    for (int m = 0; m < FM_EVAL_METHODS; m++) {
        if (!s->ran[m]) continue;
        for (int q = 0; q < 3; q++) fprintf(file.f, ",%s_rmse_%s", names[m], stats[q]);
        for (int q = 0; q < 3; q++) fprintf(file.f, ",%s_ratio_%s", names[m], stats[q]);
    }
    fputc('\n', file.f);
    for (int t = 0; t <= s->iters; t++) {
        fprintf(file.f, "%d", t);
        for (int m = 0; m < FM_EVAL_METHODS; m++) {
            if (!s->ran[m]) continue;
            for (int q = 0; q < 3; q++) fprintf(file.f, ",%.9g", s->rmse[m][t * 3 + q]);
            for (int q = 0; q < 3; q++) fprintf(file.f, ",%.9g", s->ratio[m][t * 3 + q]);
        }
        fputc('\n', file.f);
    }
    FM_TRY(fm_atomic_commit(&file, msg));
    return FM_OK;
#undef FREE_ALL
}

int fm_eval_write_traces(const char *path, const fm_eval_set *set, char *msg)
{
    fm_atomic_file file = { 0 };
#define FREE_ALL fm_atomic_abort(&file)
    FM_TRY(fm_atomic_open(&file, path, msg));
    fprintf(file.f, "matrix,method,iteration,seconds,rmse\n");
    const int points = set->iters + 1;
    for (int i = 0; i < set->count; i++)
        for (int m = 0; m < FM_EVAL_METHODS; m++) {
            if (!set->ran[m]) continue;
            for (int t = 0; t < points; t++)
                fprintf(file.f, "%d,%s,%d,%.6f,%.9g\n", i, names[m], t, set->seconds[m][(size_t)i * points + t],
                        set->rmse[m][(size_t)i * points + t]);
        }
    FM_TRY(fm_atomic_commit(&file, msg));
    return FM_OK;
#undef FREE_ALL
}
