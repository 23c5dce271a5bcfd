// What `factormer rank` writes (io/rank_report.c): the table of a rank
// selection (fm_rank_select) as CSV, and its figure.
#ifndef FM_RANK_REPORT_H
#define FM_RANK_REPORT_H

#include "factormer.h"

// One line per rank: rank,holdout_rmse_mean,holdout_rmse_sd,holdout_rmse_min,
// holdout_rmse_max,rmse_mean,best_iteration_mean,iterations_mean,seconds,best
// (best: 1 on the named rank), after the lines of `comment` (may be NULL)
// as "# " lines. Written to `path` (an output set's staged name).
int fm_rank_write_csv(const char *path, const fm_rank_result *r, const char *comment, char *msg);

// The held-out RMSE (mean, with the folds' standard deviation as error
// bars) and the training RMSE against the rank (a log2 axis), the named
// rank marked; drawn by gnuplot (io/plot.h).
int fm_rank_plot(const char *png, const fm_rank_result *r, const char *title, char *msg);

#endif
