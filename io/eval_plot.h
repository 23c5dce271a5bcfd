// The figures of an evaluation (`factormer eval`, the paper's Figures 6 to
// 9), drawn by gnuplot (io/plot.h) from plain arrays: io knows no model;
// the model says what the curves and the images are
// (models/nmf/eval_figures.h).
#ifndef FM_EVAL_PLOT_H
#define FM_EVAL_PLOT_H

#include <stdbool.h>
#include <stdint.h>

// One method's curves: its title in the key, its color, and whether it is
// the reference the ratios are to.
typedef struct fm_plot_curve {
    const char *title;
    const char *color;    // "#rrggbb"
    bool reference;       // drawn in the left panel only; the right panel
                          // shows its ratio, 1, as a dashed line
} fm_plot_curve;

// The figure's title (quoted for gnuplot here) and the two panels' axis
// labels (plain text without a single quote).
typedef struct fm_plot_labels {
    const char *title, *value, *ratio;
    // One matrix: no quartile bands (its quartiles are its curve), and the
    // value panel's axis fitted to the data (linear, autoscaled) rather than
    // a log axis extended to whole decades.
    bool single;
} fm_plot_labels;

// Two panels over iterations 0..iters: per curve the median with its
// quartiles shaded, on the left of the value and on the right of its ratio
// to the reference curve's; both on a log scale (see `single`). When the
// reference is the only curve, the ratio panel (all ones) is left out. `summary_csv` has a header
// line, then per iteration the iteration and six columns per curve, in the
// order of `curves`: the value's q1, median, q3, the ratio's q1, median, q3.
int fm_plot_quartile_curves(const char *png, const char *summary_csv, int iters, const fm_plot_curve *curves,
                            int count, const fm_plot_labels *labels, char *msg);

// One method's factors: W (rows × k) and H (k × cols), row-major.
typedef struct fm_plot_factors {
    const char *title;
    const float *W, *H;
    const int *order;     // k: the component drawn c-th (numbered c + 1); NULL: the factor's order
} fm_plot_factors;

// The basis each method learned as a grid of images, a row per method and
// an image per component: the columns of W when the matrix's rows are the
// pixels (rows = height · width), else the rows of H when its columns are.
// `column_major`: pixel p of an image is (p mod height, p / height), as in
// MATLAB (the layout of the shared Yale and Jasper Ridge files); else
// (p / width, p mod width). FM_ERR_INVALID if neither side has that size.
int fm_plot_basis_grid(const char *png, const fm_plot_factors *methods, int count, int64_t rows, int64_t cols,
                       int64_t k, int64_t height, int64_t width, bool column_major, const char *title, char *msg);

#endif
