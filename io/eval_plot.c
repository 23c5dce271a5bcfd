// The figures of an evaluation: see eval_plot.h.
#include "eval_plot.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "status.h"

// A growing text buffer for a gnuplot script.
typedef struct script {
    char *text;
    size_t len, cap;
    bool failed;
} script;

static void add(script *s, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void add(script *s, const char *format, ...)
{
    if (s->failed) return;
    for (;;) {
        va_list args;
        va_start(args, format);
        const int n = vsnprintf(s->text ? s->text + s->len : NULL, s->text ? s->cap - s->len : 0, format, args);
        va_end(args);
        if (n < 0) { s->failed = true; return; }
        if (s->text && s->len + (size_t)n < s->cap) { s->len += (size_t)n; return; }
        const size_t cap = 2 * (s->cap + (size_t)n) + 4096;
        char *grown = realloc(s->text, cap);
        if (!grown) { s->failed = true; return; }
        s->text = grown;
        s->cap = cap;
    }
}

int fm_plot_quartile_curves(const char *png, const char *summary_csv, int iters, const fm_plot_curve *curves,
                            int count, const fm_plot_labels *labels, char *msg)
{
    script sc = { 0 };
#define FREE_ALL free(sc.text)
    int reference = -1;
    for (int c = 0; c < count; c++)
        if (curves[c].reference) reference = c;
    FM_CHECK(count >= 1 && reference >= 0, FM_ERR_INVALID,
             "fm_plot_quartile_curves: %s needs curves, one of them the reference", png);
    char file[8500], quoted_title[1100];
    fm_plot_quote(file, sizeof file, summary_csv);
    fm_plot_quote(quoted_title, sizeof quoted_title, labels->title);
    add(&sc, "set datafile separator ','\nset multiplot layout 1,2 title %s\n", quoted_title);
    add(&sc, "set logscale y\nset grid\nset key top right\nset xlabel 'iteration'\nset xrange [0:%d]\n", iters);
    // the summary's columns: iteration, then six per curve
    for (int panel = 0; panel < 2; panel++) {
        add(&sc, "set ylabel '%s'\n", panel ? labels->ratio : labels->value);
        add(&sc, "plot ");
        int at = 2;
        bool first = true;
        for (int c = 0; c < count; c++) {
            const int q1 = at + 3 * panel;
            if (!(panel && curves[c].reference)) {
                add(&sc, "%s%s skip 1 using 1:%d:%d with filledcurves fs transparent solid 0.2 noborder lc rgb '%s' "
                         "notitle, ",
                    first ? "" : ", ", file, q1, q1 + 2, curves[c].color);
                add(&sc, "%s skip 1 using 1:%d with lines lw 2 lc rgb '%s' title '%s'", file, q1 + 1, curves[c].color,
                    curves[c].title);
                first = false;
            }
            at += 6;
        }
        if (panel)
            add(&sc, ", 1 with lines dt 2 lc rgb '%s' title '%s'", curves[reference].color, curves[reference].title);
        add(&sc, "\n");
    }
    add(&sc, "unset multiplot\n");
    FM_CHECK(!sc.failed, FM_ERR_MEMORY, "out of memory writing the plot script of %s", png);
    FM_TRY(fm_plot_run(png, 1200, 480, sc.text, msg));
    free(sc.text);
    return FM_OK;
#undef FREE_ALL
}

int fm_plot_basis_grid(const char *png, const fm_plot_factors *methods, int count, int64_t m, int64_t n,
                       int64_t k, int64_t height, int64_t width, bool column_major, const char *title, char *msg)
{
    script sc = { 0 };
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
    add(&sc, "set multiplot layout %d,%lld title %s\n", rows, (long long)k, quoted_title);
    add(&sc, "unset key\nunset colorbox\nunset tics\nunset border\nset palette gray\nset size ratio -1\n");
    add(&sc, "set yrange [] reverse\nset lmargin 0.5\nset rmargin 0.5\nset tmargin 1.5\nset bmargin 0.5\n");
    for (int method = 0; method < count; method++) {
        const float *W = methods[method].W, *H = methods[method].H;
        for (int64_t j = 0; j < k; j++) {
            if (j == 0) add(&sc, "set title '%s'\n", methods[method].title);
            else add(&sc, "set title ''\n");
            add(&sc, "plot '-' matrix with image\n");
            for (int64_t r = 0; r < height; r++) {
                for (int64_t c = 0; c < width; c++) {
                    const int64_t p = column_major ? r + height * c : r * width + c;
                    add(&sc, "%s%.5g", c ? " " : "", from_w ? W[p * k + j] : H[j * n + p]);
                }
                add(&sc, "\n");
            }
            add(&sc, "e\n");
        }
    }
    add(&sc, "unset multiplot\n");
    FM_CHECK(!sc.failed, FM_ERR_MEMORY, "out of memory writing the plot script of %s", png);
    const int cell = 96;
    FM_TRY(fm_plot_run(png, (int)(cell * k), cell * rows + 40, sc.text, msg));
    free(sc.text);
    return FM_OK;
#undef FREE_ALL
}
