// What the preconditioner trainers' commands share: cli/train_precond.h.
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "factormer.h"
#include "train_precond.h"

int fm_train_args_parse(fm_train_args *t, int argc, char **argv)
{
    long value, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(t->help, stdout); return 1; }
        if (!strcmp(a, "--quiet")) { t->quiet = true; continue; }
        if (!strcmp(a, "--resume")) { *t->resume = true; continue; }
        if (a[0] != '-') {
            if (!fm_arg_positional(a)) return 2;
            fprintf(stderr, "factormer: train takes no file argument ('%s'); the model goes to --out\n", a);
            return 2;
        }
        if (!(v = fm_arg_value(argc, argv, &i))) return 2;
        bool ok = true;
        const int own = t->own(a, v, t->user);
        if (own < 0) return 2;
        if (own > 0) continue;
        if (!strcmp(a, "--model")) {
            if (strcmp(v, t->model)) { fprintf(stderr, "factormer: --model %s was given twice\n", t->model); return 2; }
        }
        else if (!strcmp(a, "--size")) { ok = fm_arg_int(a, v, 2, 1L << 31, &value); *t->size = value; t->have_size = true; }
        else if (!strcmp(a, "--train-size")) { ok = fm_arg_int(a, v, 1, 1L << 40, &value); *t->train_count = value; }
        else if (!strcmp(a, "--valid-size")) { ok = fm_arg_int(a, v, 1, 1L << 20, &value); *t->valid_count = value; }
        else if (!strcmp(a, "--epochs")) { ok = fm_arg_int(a, v, 0, 1L << 30, &value); *t->epochs = value; }
        else if (!strcmp(a, "--lr")) ok = fm_arg_double(a, v, 1e-12, 1e3, t->rate);
        else if (!strcmp(a, "--seed")) { ok = fm_arg_int(a, v, 0, LONG_MAX, &value); *t->seed = (uint64_t)value; }
        else if (!strcmp(a, "--checkpoint-every")) { ok = fm_arg_int(a, v, 0, LONG_MAX, &value); *t->checkpoint_every = value; }
        else if (!strcmp(a, "--time-limit")) ok = fm_arg_double(a, v, 0, 1e9, t->time_limit);
        else if (!strcmp(a, "--threads")) ok = fm_arg_int(a, v, 1, 4096, &threads);
        else if (!strcmp(a, "--out")) *t->out = v;
        else { fprintf(stderr, "factormer: unknown option '%s' (see 'factormer train --model %s --help')\n", a, t->model); return 2; }
        if (!ok) return 2;
    }
    if (!*t->out || !**t->out) { fprintf(stderr, "factormer: train needs --out MODEL.fmw\n"); return 2; }
    if (threads > 0) fm_set_threads((int)threads);
    return 0;
}

void fm_train_show_skipped(char *text, size_t size, int64_t skipped)
{
    if (!skipped) text[0] = 0;
    else snprintf(text, size, "  %lld step%s skipped (not finite: lower the rate)", (long long)skipped,
                  skipped > 1 ? "s" : "");
}

int fm_train_show_progress(const fm_epochs_progress *p, void *user)
{
    const fm_train_show *q = user;
    if (q->quiet) return 0;
    if (!isnan(p->validation)) {
        if (q->tty) fprintf(stderr, "\r\033[K");
        char skipped[64];
        fm_train_show_skipped(skipped, sizeof skipped, p->skipped);
        fprintf(stderr, "epoch %lld/%lld  validation %.1f %s  (best %.1f)  loss %.4g  %.0f s%s\n",
                (long long)p->epoch, (long long)p->epochs, p->validation, q->unit, fmin(p->best, p->validation),
                p->running_loss, p->seconds, skipped);
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
