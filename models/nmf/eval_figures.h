// The figures of `factormer eval` (§9, the paper's Figures 6 to 9): the
// evaluation's methods as the curves and images io/eval_plot draws.
#ifndef FM_EVAL_FIGURES_H
#define FM_EVAL_FIGURES_H

#include <stdbool.h>
#include <stdint.h>

#include "evaluate.h"

// Two panels over the iterations: the median RMSE of every method with its
// quartiles shaded, and its ratio to plain ADMM's likewise; both on a log
// scale. `summary_csv` is the file fm_eval_write_summary wrote for `s`.
int fm_eval_plot_curves(const char *png, const char *summary_csv, const fm_eval_summary *s, const char *title,
                        char *msg);

// The basis each method learned as a grid of images, a row per method and an
// image per component: the columns of W when the matrix's rows are the
// pixels (rows = height · width), else the rows of H when its columns are.
// `column_major`: pixel p of an image is (p mod height, p / height), as in
// MATLAB (the layout of the shared Yale and Jasper Ridge files); else
// (p / width, p mod width). FM_ERR_INVALID if neither side has that size.
// Components are numbered (1, 2, ...) and drawn in the order of their
// weight ||W[:,r]|| ||H[r,:]|| (fm_top_rows_get), heaviest first.
int fm_eval_plot_basis(const char *png, const fm_eval_set *set, int64_t height, int64_t width, bool column_major,
                       const char *title, char *msg);

// Each method's W as PREFIX.METHOD.W.mtx (METHOD: fm_eval_method_name), its
// columns in the order of the basis image (by weight); the file's comment
// names the method and `source` (the data).
int fm_eval_write_bases(const char *prefix, const fm_eval_set *set, const char *source, char *msg);

#endif
