// The preconditioner trainers' progress and summary: cli/train_progress.h.
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "factormer.h"
#include "train_progress.h"

int fm_train_show_progress(const fm_epochs_progress *p, void *user)
{
    const fm_train_show *q = user;
    if (q->quiet) return 0;
    if (!isnan(p->validation)) {
        if (q->tty) fprintf(stderr, "\r\033[K");
        fprintf(stderr, "epoch %lld/%lld  validation %.1f %s  (best %.1f)  loss %.4g  %.0f s\n",
                (long long)p->epoch, (long long)p->epochs, p->validation, q->unit, fmin(p->best, p->validation),
                p->running_loss, p->seconds);
    } else if (q->tty) {
        const int filled = (int)(20 * p->done / (p->total ? p->total : 1));
        char bar[21];
        for (int c = 0; c < 20; c++) bar[c] = c < filled ? '#' : '-';
        bar[20] = 0;
        fprintf(stderr, "\r\033[Kepoch %lld/%lld [%s] %lld/%lld  loss %.4g  %.0f s", (long long)p->epoch,
                (long long)p->epochs, bar, (long long)p->done, (long long)p->total, p->running_loss, p->seconds);
    } else if (p->done % (p->total >= 10 ? p->total / 10 : 1) == 0) {
        fprintf(stderr, "epoch %lld/%lld  %lld/%lld  loss %.4g  %.0f s\n", (long long)p->epoch,
                (long long)p->epochs, (long long)p->done, (long long)p->total, p->running_loss, p->seconds);
    }
    fflush(stderr);
    return 0;
}

int fm_train_show_failed(const fm_train_show *q, const char *msg)
{
    if (!q->quiet && q->tty) fprintf(stderr, "\n");
    fprintf(stderr, "factormer: %s\n", msg);
    return 1;
}

void fm_train_show_done(const fm_train_show *q)
{
    if (!q->quiet && q->tty) fprintf(stderr, "\r\033[K");
}

void fm_train_show_summary(const fm_train_show *q, const fm_epochs_result *r, int64_t epochs, const char *out)
{
    printf("  epochs       %lld of %lld done, %lld steps\n", (long long)r->epochs_done, (long long)epochs,
           (long long)r->steps);
    if (!isnan(r->first_validation)) printf("  untrained    %.1f %s\n", r->first_validation, q->unit);
    if (isfinite(r->best_validation))
        printf("  best         epoch %lld, %.1f %s\n", (long long)r->best_epoch, r->best_validation, q->unit);
    printf("  time         %.1f s (%d threads)\n", r->seconds, fm_get_threads());
    if (access(out, F_OK) == 0) printf("  wrote        %s\n", out);
}
