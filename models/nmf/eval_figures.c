// The figures of `factormer eval` (eval_figures.h): which methods ran,
// their titles and colors, and their factors, handed to io/eval_plot.
#include "eval_figures.h"

#include <stdio.h>
#include <stdlib.h>

#include "eval_plot.h"
#include "status.h"

static const char *const colors[FM_EVAL_METHODS] = {"#555555", "#1f77b4", "#d62728"};

int fm_eval_plot_curves(const char *png, const char *summary_csv, const fm_eval_summary *s, const char *title,
                        char *msg)
{
    // the summary's columns: iteration, then six per method that ran, in method order
    fm_plot_curve curves[FM_EVAL_METHODS];
    int count = 0;
    for (int m = 0; m < FM_EVAL_METHODS; m++)
        if (s->ran[m])
            curves[count++] = (fm_plot_curve){
                .title = fm_eval_method_title(m), .color = colors[m], .reference = m == FM_EVAL_PLAIN};
    const bool single = s->count == 1;
    const fm_plot_labels labels = {
        .title = title,
        .value = single ? "RMSE" : "RMSE (median, quartiles)",
        .ratio = single ? "RMSE relative to plain ADMM" : "RMSE relative to plain ADMM (median, quartiles)",
        .single = single,
    };
    return fm_plot_quartile_curves(png, summary_csv, s->iters, curves, count, &labels, msg);
}

// The components of each method that ran by weight (fm_top_rows_get), in
// order[m] (k each).
static int components_by_weight(int *order[FM_EVAL_METHODS], const fm_eval_set *set, char *msg)
{
    fm_top_rows *t = NULL;
#define FREE_ALL fm_top_rows_free(&t)
    for (int m = 0; m < FM_EVAL_METHODS; m++) {
        if (!set->ran[m] || !set->W[m]) continue;
        FM_TRY(fm_top_rows_get(&t, set->W[m], set->H[m], 1, msg));
        order[m] = t->component;
        t->component = NULL;
        fm_top_rows_free(&t);
    }
    return FM_OK;
#undef FREE_ALL
}

int fm_eval_plot_basis(const char *png, const fm_eval_set *set, int64_t height, int64_t width, bool column_major,
                       const char *title, char *msg)
{
    int *order[FM_EVAL_METHODS] = { NULL };
#define FREE_ALL do { for (int m_ = 0; m_ < FM_EVAL_METHODS; m_++) free(order[m_]); } while (0)
    FM_CHECK(set && set->keep_factors && set->W[FM_EVAL_PLAIN] && height >= 1 && width >= 1, FM_ERR_INVALID,
             "fm_eval_plot_basis: no factors to draw");
    const fm_dense *W0 = set->W[FM_EVAL_PLAIN], *H0 = set->H[FM_EVAL_PLAIN];
    FM_TRY(components_by_weight(order, set, msg));
    fm_plot_factors methods[FM_EVAL_METHODS];
    int count = 0;
    for (int m = 0; m < FM_EVAL_METHODS; m++)
        if (set->ran[m] && set->W[m])
            methods[count++] = (fm_plot_factors){
                .title = fm_eval_method_title(m), .W = set->W[m]->data, .H = set->H[m]->data, .order = order[m]};
    FM_TRY(fm_plot_basis_grid(png, methods, count, W0->rows, H0->cols, W0->cols, height, width, column_major, title,
                              msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_eval_write_bases(const char *prefix, const fm_eval_set *set, const char *source, char *msg)
{
    int *order[FM_EVAL_METHODS] = { NULL };
    fm_dense *W = NULL;
#define FREE_ALL do { for (int m_ = 0; m_ < FM_EVAL_METHODS; m_++) free(order[m_]); fm_dense_free(&W); } while (0)
    FM_CHECK(set && set->keep_factors && set->W[FM_EVAL_PLAIN], FM_ERR_INVALID, "fm_eval_write_bases: no factors");
    FM_TRY(components_by_weight(order, set, msg));
    for (int m = 0; m < FM_EVAL_METHODS; m++) {
        if (!set->ran[m] || !set->W[m]) continue;
        const fm_dense *from = set->W[m];
        const int64_t rows = from->rows, k = from->cols;
        FM_TRY(fm_dense_new(&W, rows, k, msg));
        for (int64_t i = 0; i < rows; i++)
            for (int64_t c = 0; c < k; c++) W->data[i * k + c] = from->data[i * k + order[m][c]];
        char path[4400], text[2400];
        snprintf(path, sizeof path, "%s.%s.W.mtx", prefix, fm_eval_method_name(m));
        snprintf(text, sizeof text, "%s: W of %s, its columns ordered by weight ||W[:,r]|| ||H[r,:]||, as numbered "
                 "in the basis image", fm_eval_method_title(m), source ? source : "the data");
        FM_TRY(fm_mtx_write_dense(path, W, text, msg));
        fm_dense_free(&W);
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
