// The figure of `factormer bench solve`: the median relative residual over
// the systems, per method, against the iteration and against the seconds
// (bench_solve.h).
#include "bench_solve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "status.h"

static const char *const colors[FM_BENCH_METHODS] = {"#555555", "#1f77b4", "#2ca02c", "#d62728", "#9467bd",
                                                     "#8c564b", "#e377c2", "#ff7f0e", "#17becf"};

// The residual of a trace at iteration k: its last row at or before k (a
// finished solve keeps its final residual).
static double at_iteration(const fm_bench_solve_row *w, int64_t k)
{
    int64_t lo = 0, hi = w->trace_len - 1;
    while (lo < hi) {   // the last row with iteration ≤ k
        const int64_t mid = lo + (hi - lo + 1) / 2;
        if (w->trace[mid].iteration <= k) lo = mid;
        else hi = mid - 1;
    }
    return w->trace[lo].relative_residual;
}

// The residual at `t` seconds after the start: 1 while M is being built,
// then the last row whose time (setup + solve so far) is ≤ t.
static double at_seconds(const fm_bench_solve_row *w, double t)
{
    if (t < w->setup_seconds) return w->trace[0].relative_residual;
    const double s = t - w->setup_seconds;
    int64_t lo = 0, hi = w->trace_len - 1;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo + 1) / 2;
        if (w->trace[mid].seconds <= s) lo = mid;
        else hi = mid - 1;
    }
    return w->trace[lo].relative_residual;
}

// Points per curve at most.
#define CURVE_POINTS 400

int fm_bench_solve_plot(const char *png, const fm_bench_solve_report *r, const char *title, char *msg)
{
    fm_plot_script sc = { 0 };
    double *values = NULL;
#define FREE_ALL free(sc.text), free(values)
    FM_CHECK(r && r->row_count > 0, FM_ERR_INVALID, "fm_bench_solve_plot: nothing to draw");
    FM_ALLOC(values, r->row_count);
    int64_t last_iteration = 1;
    double last_second = 0;
    for (int64_t i = 0; i < r->row_count; i++) {
        const fm_bench_solve_row *w = &r->rows[i];
        FM_CHECK(w->trace_len > 0, FM_ERR_INVALID, "fm_bench_solve_plot: a run without a trace");
        if (w->trace[w->trace_len - 1].iteration > last_iteration) last_iteration = w->trace[w->trace_len - 1].iteration;
        const double end = w->setup_seconds + w->trace[w->trace_len - 1].seconds;
        if (end > last_second) last_second = end;
    }
    if (!(last_second > 0)) last_second = 1e-6;
    char quoted_title[1100];
    fm_plot_quote(quoted_title, sizeof quoted_title, title);
    fm_plot_add(&sc, "set multiplot layout 1,2 title %s\n", quoted_title);
    fm_plot_add(&sc, "set logscale y\nset grid\nset key top right\nset format y '%%.0e'\n");
    fm_plot_add(&sc, "set ylabel 'relative residual |r|/|b| (median over %lld systems)'\n",
        (long long)(r->row_count > 0 ? r->methods[r->rows[0].method].systems : 0));
    for (int panel = 0; panel < 2; panel++) {
        fm_plot_add(&sc, "set xlabel '%s'\n", panel ? (r->method == FM_SOLVE_GMRES ? "seconds (setup, then GMRES)"
                                                                                 : "seconds (setup, then CG)")
                                                     : "iteration");
        fm_plot_add(&sc, "set xrange [0:%.9g]\n", panel ? last_second : (double)last_iteration);
        fm_plot_add(&sc, "plot ");
        bool first = true;
        for (int m = 0; m < FM_BENCH_METHODS; m++) {
            if (!r->methods[m].ran) continue;
            fm_plot_add(&sc, "%s'-' using 1:2 with lines lw 2 lc rgb '%s' title '%s'", first ? "" : ", ", colors[m],
                fm_bench_solve_method_name(m));
            first = false;
        }
        fm_plot_add(&sc, "\n");
        for (int m = 0; m < FM_BENCH_METHODS; m++) {
            if (!r->methods[m].ran) continue;
            for (int p = 0; p <= CURVE_POINTS; p++) {
                const double x = panel ? last_second * p / CURVE_POINTS : round((double)last_iteration * p / CURVE_POINTS);
                if (!panel && p > 0 && x == round((double)last_iteration * (p - 1) / CURVE_POINTS)) continue;
                int64_t n = 0;
                for (int64_t i = 0; i < r->row_count; i++) {
                    const fm_bench_solve_row *w = &r->rows[i];
                    if (w->method != m) continue;
                    values[n++] = panel ? at_seconds(w, x) : at_iteration(w, (int64_t)x);
                }
                const fm_quartiles q = fm_quartiles_of(values, n);
                // a residual of 0 (b = 0) has no place on a log scale
                if (q.median > 0) fm_plot_add(&sc, "%.9g %.6g\n", x, q.median);
            }
            fm_plot_add(&sc, "e\n");
        }
    }
    fm_plot_add(&sc, "unset multiplot\n");
    FM_CHECK(!sc.failed, FM_ERR_MEMORY, "out of memory writing the plot script of %s", png);
    FM_TRY(fm_plot_run(png, 1200, 480, sc.text, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
