// factormer factorize's progress on the terminal: a line rewritten in place
// on a terminal, a line at most every second when piped; see factorize.h.
#include <stdio.h>
#include <unistd.h>

#include "factorize.h"
#include "signals.h"

// The held-out RMSE's words, when there is a holdout, and the network's.
static const char *describe(char *holdout, size_t size, const fm_factorize_progress *p, const fm_solver_iterate *it)
{
    holdout[0] = 0;
    if (p->holdout) snprintf(holdout, size, "  holdout rmse %.6g", it->holdout_rmse);
    return it->accelerated                      ? "  (accelerated)"
           : it->rejected                       ? "  (accelerator output refused)"
           : it->iteration == 0 && p->learned ? "  (learned)"
                                                : "";
}

static void progress_line(const fm_factorize_progress *p, const fm_solver_iterate *it)
{
    char holdout[48];
    const char *network = describe(holdout, sizeof holdout, p, it);
    fprintf(stderr, "  iteration %4d  rmse %.6g%s  %.3f s%s\n", it->iteration, it->rmse, holdout, it->seconds,
            network);
}

// Piped progress: the last iterate, when the one-second rate held it back.
void fm_factorize_progress_finish(fm_factorize_progress *p)
{
    if (p->quiet || p->tty || !p->pending) return;
    progress_line(p, &p->last);
    p->pending = false;
    fflush(stderr);
}

// Nonzero (stop) once a signal asked the run to stop.
int fm_factorize_show_progress(const fm_solver_iterate *it, void *user)
{
    fm_factorize_progress *p = user;
    if (fm_signals_caught()) return 1;
    if (p->quiet) return 0;
    char holdout[48];
    const char *network = describe(holdout, sizeof holdout, p, it);
    if (p->tty) {
        fprintf(stderr, "\r  iteration %4d/%d  rmse %.6g%s  %.2f s%s   ", it->iteration, p->iters, it->rmse,
                holdout, it->seconds, network);
        p->started = true;
    } else if (!p->started || it->seconds - p->printed_at >= 1.0 || it->accelerated || it->rejected) {
        // the accelerator's steps (a handful per run) are each said as they come
        progress_line(p, it);
        p->printed_at = it->seconds;
        p->started = true;
        p->pending = false;
    } else {
        p->last = *it;
        p->pending = true;
    }
    fflush(stderr);
    return 0;
}

// The progress's end before the summary: the last line held back, or the
// terminal's line ended.
void fm_factorize_progress_done(void *user)
{
    fm_factorize_progress *p = user;
    fm_factorize_progress_finish(p);
    if (p->tty && p->started) fprintf(stderr, "\n");
}

