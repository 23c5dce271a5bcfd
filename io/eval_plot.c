// The figures of an evaluation: see eval_plot.h.
#include "eval_plot.h"

#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "status.h"

int fm_plot_quartile_curves(const char *png, const char *summary_csv, int iters, const fm_plot_curve *curves,
                            int count, const fm_plot_labels *labels, char *msg)
{
    fm_plot_script sc = { 0 };
#define FREE_ALL free(sc.text)
    int reference = -1;
    for (int c = 0; c < count; c++)
        if (curves[c].reference) reference = c;
    FM_CHECK(count >= 1 && reference >= 0, FM_ERR_INVALID,
             "fm_plot_quartile_curves: %s needs curves, one of them the reference", png);
    char file[8500], quoted_title[1100];
    fm_plot_quote(file, sizeof file, summary_csv);
    fm_plot_quote(quoted_title, sizeof quoted_title, labels->title);
    // the ratio panel needs a curve besides the reference (whose ratio is 1)
    const int panels = count > 1 ? 2 : 1;
    fm_plot_add(&sc, "set datafile separator ','\nset multiplot layout 1,%d title %s\n", panels, quoted_title);
    fm_plot_add(&sc, "set grid\nset key top right\nset xlabel 'iteration'\nset xrange [0:%d]\n", iters);
    // the summary's columns: iteration, then six per curve
    for (int panel = 0; panel < panels; panel++) {
        if (panel || !labels->single) fm_plot_add(&sc, "set logscale y\n");
        else fm_plot_add(&sc, "unset logscale y\nset autoscale y\n");
        fm_plot_add(&sc, "set ylabel '%s'\n", panel ? labels->ratio : labels->value);
        fm_plot_add(&sc, "plot ");
        int at = 2;
        bool first = true;
        for (int c = 0; c < count; c++) {
            const int q1 = at + 3 * panel;
            if (!(panel && curves[c].reference)) {
                if (!labels->single)
                    fm_plot_add(&sc, "%s%s skip 1 using 1:%d:%d with filledcurves fs transparent solid 0.2 noborder "
                                "lc rgb '%s' notitle", first ? "" : ", ", file, q1, q1 + 2, curves[c].color);
                fm_plot_add(&sc, "%s%s skip 1 using 1:%d with lines lw 2 lc rgb '%s' title '%s'",
                            first && labels->single ? "" : ", ", file, q1 + 1, curves[c].color, curves[c].title);
                first = false;
            }
            at += 6;
        }
        if (panel)
            fm_plot_add(&sc, ", 1 with lines dt 2 lc rgb '%s' title '%s'", curves[reference].color,
                        curves[reference].title);
        fm_plot_add(&sc, "\n");
    }
    fm_plot_add(&sc, "unset multiplot\n");
    FM_CHECK(!sc.failed, FM_ERR_MEMORY, "out of memory writing the plot script of %s", png);
    FM_TRY(fm_plot_run(png, panels == 2 ? 1200 : 640, 480, sc.text, msg));
    free(sc.text);
    return FM_OK;
#undef FREE_ALL
}

int fm_plot_basis_grid(const char *png, const fm_plot_factors *methods, int count, int64_t m, int64_t n,
                       int64_t k, int64_t height, int64_t width, bool column_major, const char *title, char *msg)
{
    fm_plot_script sc = { 0 };
#define FREE_ALL free(sc.text)
    FM_CHECK(methods && count >= 1 && height >= 1 && width >= 1, FM_ERR_INVALID,
             "fm_plot_basis_grid: no factors to draw");
    const int64_t pixels = height * width;
    const bool from_w = m == pixels;
    FM_CHECK(from_w || n == pixels, FM_ERR_INVALID,
             "--image-shape %lldx%lld has %lld pixels, but the matrix is %lld x %lld: one side must be the pixels",
             (long long)height, (long long)width, (long long)pixels, (long long)m, (long long)n);
    const int rows = count;
    char quoted_title[1100];
    fm_plot_quote(quoted_title, sizeof quoted_title, title);
    fm_plot_add(&sc, "set multiplot layout %d,%lld title %s\n", rows, (long long)k, quoted_title);
    fm_plot_add(&sc, "unset key\nunset colorbox\nunset tics\nunset border\nset palette gray\nset size ratio -1\n");
    fm_plot_add(&sc, "set yrange [] reverse\nset lmargin 0.5\nset rmargin 0.5\nset tmargin 1.5\nset bmargin 0.5\n");
    for (int method = 0; method < count; method++) {
        const float *W = methods[method].W, *H = methods[method].H;
        for (int64_t shown = 0; shown < k; shown++) {
            // component shown + 1 (by the caller's order), the method named over the first
            const int64_t j = methods[method].order ? methods[method].order[shown] : shown;
            if (shown == 0) fm_plot_add(&sc, "set title '%s: 1'\n", methods[method].title);
            else fm_plot_add(&sc, "set title '%lld'\n", (long long)shown + 1);
            fm_plot_add(&sc, "plot '-' matrix with image\n");
            for (int64_t r = 0; r < height; r++) {
                for (int64_t c = 0; c < width; c++) {
                    const int64_t p = column_major ? r + height * c : r * width + c;
                    fm_plot_add(&sc, "%s%.5g", c ? " " : "", from_w ? W[p * k + j] : H[j * n + p]);
                }
                fm_plot_add(&sc, "\n");
            }
            fm_plot_add(&sc, "e\n");
        }
    }
    fm_plot_add(&sc, "unset multiplot\n");
    FM_CHECK(!sc.failed, FM_ERR_MEMORY, "out of memory writing the plot script of %s", png);
    const int cell = 96;
    // at least wide enough for the title
    FM_TRY(fm_plot_run(png, (int)(cell * k < 480 ? 480 : cell * k), cell * rows + 40, sc.text, msg));
    free(sc.text);
    return FM_OK;
#undef FREE_ALL
}
