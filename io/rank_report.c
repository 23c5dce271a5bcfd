// The CSV and the figure of a rank selection: see rank_report.h.
#include "rank_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "status.h"

int fm_rank_write_csv(const char *path, const fm_rank_result *r, const char *comment, char *msg)
{
    FILE *f = NULL;
#define FREE_ALL { if (f) fclose(f); }
    f = fopen(path, "w");
    if (!f) return fm_fail_path(FM_ERR_IO, msg, path, ": cannot write: %s", strerror(errno));
    for (const char *line = comment; line && *line;) {
        const char *end = strchr(line, '\n');
        const int len = end ? (int)(end - line) : (int)strlen(line);
        fprintf(f, "# %.*s\n", len, line);
        line = end ? end + 1 : line + len;
    }
    fprintf(f, "rank,holdout_rmse_mean,holdout_rmse_sd,holdout_rmse_min,holdout_rmse_max,rmse_mean,"
               "best_iteration_mean,iterations_mean,seconds,best\n");
    for (int q = 0; q < r->rank_count; q++) {
        const fm_rank_row *row = &r->rows[q];
        fprintf(f, "%d,%.9g,%.9g,%.9g,%.9g,%.9g,%.6g,%.6g,%.6f,%d\n", row->rank, row->holdout_mean, row->holdout_sd,
                row->holdout_min, row->holdout_max, row->rmse_mean, row->best_iteration_mean, row->iterations_mean,
                row->seconds, q == r->best);
    }
    const bool failed = ferror(f) != 0;
    const int closed = fclose(f);
    f = NULL;
    FM_CHECK(!failed && closed == 0, FM_ERR_IO, "%s: write failed", path);
    return FM_OK;
#undef FREE_ALL
}

int fm_rank_plot(const char *png, const fm_rank_result *r, const char *title, char *msg)
{
    fm_plot_script sc = { 0 };
#define FREE_ALL free(sc.text)
    char quoted_title[1100];
    fm_plot_quote(quoted_title, sizeof quoted_title, title);
    const int low = r->rows[0].rank, high = r->rows[r->rank_count - 1].rank, best = r->rows[r->best].rank;
    fm_plot_add(&sc, "set title %s\nset grid\nset key top right\n", quoted_title);
    fm_plot_add(&sc, "set xlabel 'rank'\nset ylabel 'RMSE'\nset logscale x 2\nset xrange [%g:%g]\n", low / 1.25,
                high * 1.25);
    fm_plot_add(&sc, "set xtics (");
    for (int q = 0; q < r->rank_count; q++) fm_plot_add(&sc, "%s'%d' %d", q ? ", " : "", r->rows[q].rank, r->rows[q].rank);
    fm_plot_add(&sc, ")\n");
    fm_plot_add(&sc, "set arrow from %d, graph 0 to %d, graph 1 nohead dt 2 lc rgb 'gray40'\n", best, best);
    fm_plot_add(&sc, "set label 'lowest held-out RMSE: rank %d' at %d, graph 0.05 offset 1,0 tc rgb 'gray20'\n", best,
                best);
    fm_plot_add(&sc, "$ranks << EOD\n");
    for (int q = 0; q < r->rank_count; q++)
        fm_plot_add(&sc, "%d %.9g %.9g %.9g\n", r->rows[q].rank, r->rows[q].holdout_mean, r->rows[q].holdout_sd,
                    r->rows[q].rmse_mean);
    fm_plot_add(&sc, "EOD\n");
    fm_plot_add(&sc, "set datafile separator whitespace\n");
    fm_plot_add(&sc, "plot $ranks using 1:2:3 with yerrorlines lw 2 pt 7 lc rgb '#c0392b' "
                "title 'held-out RMSE (mean, sd over %d fold%s)', ", r->folds, r->folds == 1 ? "" : "s");
    fm_plot_add(&sc, "$ranks using 1:4 with linespoints lw 2 pt 5 lc rgb '#2c7fb8' "
                "title 'training RMSE (at the best iteration)'\n");
    FM_CHECK(!sc.failed, FM_ERR_MEMORY, "out of memory writing the plot script of %s", png);
    FM_TRY(fm_plot_run(png, 900, 560, sc.text, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
