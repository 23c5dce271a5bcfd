// The figures of `factormer eval` (eval_figures.h): which methods ran,
// their titles and colors, and their factors, handed to io/eval_plot.
#include "eval_figures.h"

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
    const fm_plot_labels labels = {
        .title = title,
        .value = "RMSE (median, quartiles)",
        .ratio = "RMSE relative to plain ADMM (median, quartiles)",
    };
    return fm_plot_quartile_curves(png, summary_csv, s->iters, curves, count, &labels, msg);
}

int fm_eval_plot_basis(const char *png, const fm_eval_set *set, int64_t height, int64_t width, bool column_major,
                       const char *title, char *msg)
{
#define FREE_ALL
    FM_CHECK(set && set->keep_factors && set->W[FM_EVAL_PLAIN] && height >= 1 && width >= 1, FM_ERR_INVALID,
             "fm_eval_plot_basis: no factors to draw");
    const fm_dense *W0 = set->W[FM_EVAL_PLAIN], *H0 = set->H[FM_EVAL_PLAIN];
    fm_plot_factors methods[FM_EVAL_METHODS];
    int count = 0;
    for (int m = 0; m < FM_EVAL_METHODS; m++)
        if (set->ran[m] && set->W[m])
            methods[count++] = (fm_plot_factors){
                .title = fm_eval_method_title(m), .W = set->W[m]->data, .H = set->H[m]->data};
    return fm_plot_basis_grid(png, methods, count, W0->rows, H0->cols, W0->cols, height, width, column_major, title,
                              msg);
#undef FREE_ALL
}
