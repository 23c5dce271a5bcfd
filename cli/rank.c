// factormer rank: the held-out error of each rank, fold by fold, to choose
// the rank of a factorization (the loop is the library's fm_rank_select).
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "factormer.h"
#include "output.h"
#include "plot.h"
#include "rank_report.h"

static const char help[] =
    "usage: factormer rank DATA.mtx[.gz] [--ranks 2,4,8,16,32] [options]\n"
    "\n"
    "Fits each rank on each fold of held-out entries and prints, per rank, the\n"
    "held-out RMSE (mean and spread over the folds) and the training RMSE, each\n"
    "fit judged at its iteration of lowest held-out RMSE; names the rank of the\n"
    "lowest mean, and writes the table (PREFIX.csv) and both curves against the\n"
    "rank (PREFIX.png).\n"
    "\n"
    "  --ranks LIST        the ranks to compare, comma-separated (default\n"
    "                      2,4,8,16,32)\n"
    "  --folds K           folds per rank (default 3)\n"
    "  --holdout F         the share of entries each fold holds out (default 0.1;\n"
    "                      K x F <= 1). Fold f holds the entries whose seeded draw\n"
    "                      falls in [f F, (f+1) F): the folds are disjoint. The\n"
    "                      observed entries for the incomplete kind; all rows x\n"
    "                      cols entries, zeros included, for the dense and sparse\n"
    "                      kinds (speckled)\n"
    "  --kind KIND         dense, sparse or incomplete (default: dense for array\n"
    "                      files, sparse for coordinate files)\n"
    "  --iters N           iterations per fit at most (default 200)\n"
    "  --patience N        stop a fit when its held-out RMSE has not improved for N\n"
    "                      iterations (default 10; 0: run --iters)\n"
    "  --tol T             stop a fit when its objective changes by less than T\n"
    "                      relative (default 1e-6; 0 disables)\n"
    "  --init METHOD       random, nndsvd (default), nndsvda or nndsvdar\n"
    "  --svd-power N       power iterations of the nndsvd starts' randomized SVD,\n"
    "                      0 to 64, or auto (default; as factorize)\n"
    "  --seed S            seed of the folds and the initialization (default 42)\n"
    "  --threads N         threads (default: all)\n"
    "  --out PREFIX        write PREFIX.csv and PREFIX.png (default: the data file's\n"
    "                      name + .rank), both or none\n"
    "  --quiet             no progress, no table on the terminal\n"
    FM_ARG_MEMORY_HELP
    FM_ARG_PROFILE_HELP;

#define MAX_RANKS 64

// "2,4,8": distinct ranks; false after a message.
static bool parse_ranks(const char *text, int *ranks, int *count)
{
    *count = 0;
    const char *at = text;
    while (true) {
        const char *comma = strchr(at, ',');
        const size_t len = comma ? (size_t)(comma - at) : strlen(at);
        char item[32];
        if (len == 0 || len >= sizeof item || *count == MAX_RANKS) {
            fprintf(stderr, "factormer: --ranks expects up to %d comma-separated ranks like 2,4,8,16, not '%s'\n",
                    MAX_RANKS, fm_arg_shown(text));
            return false;
        }
        memcpy(item, at, len);
        item[len] = 0;
        long value;
        if (!fm_arg_rank("--ranks", item, &value)) return false;
        for (int q = 0; q < *count; q++)
            if (ranks[q] == value) {
                fprintf(stderr, "factormer: --ranks lists rank %ld twice\n", value);
                return false;
            }
        ranks[(*count)++] = (int)value;
        if (!comma) return true;
        at = comma + 1;
    }
}

typedef struct progress {
    bool quiet;
    int folds;
} progress;

static void show_fit(const fm_rank_fit *fit, void *user)
{
    const progress *p = user;
    if (p->quiet) return;
    fprintf(stderr, "  rank %3d fold %d/%d: held-out rmse %.6g at iteration %d of %d (%s), rmse %.6g, %.2f s\n",
            fit->rank, fit->fold + 1, p->folds, fit->holdout_rmse, fit->best_iteration, fit->iterations,
            fit->stop_reason, fit->rmse, fit->seconds);
    fflush(stderr);
}

static void print_table(const fm_rank_result *r, const char *source, fm_kind kind, const fm_triplets *t,
                        double holdout)
{
    printf("rank selection on %s (%lld x %lld, %s), %d fold%s of %g held out (%s)\n", fm_arg_shown(source),
           (long long)t->rows, (long long)t->cols, fm_kind_name(kind), r->folds, r->folds == 1 ? "" : "s", holdout,
           kind == FM_KIND_INCOMPLETE ? "observed entries" : "speckled: zeros and stored entries alike");
    printf("  %4s  %-26s  %-23s  %10s  %9s  %10s  %8s\n", "rank", "held-out rmse (mean +- sd)", "[min, max]",
           "train rmse", "best iter", "iterations", "seconds");
    for (int q = 0; q < r->rank_count; q++) {
        const fm_rank_row *row = &r->rows[q];
        char mean[64], range[64];
        snprintf(mean, sizeof mean, "%.6g +- %.2g", row->holdout_mean, row->holdout_sd);
        snprintf(range, sizeof range, "[%.6g, %.6g]", row->holdout_min, row->holdout_max);
        printf("  %4d  %-26s  %-23s  %10.6g  %9.1f  %10.1f  %8.2f%s\n", row->rank, mean, range, row->rmse_mean,
               row->best_iteration_mean, row->iterations_mean, row->seconds, q == r->best ? "  <- lowest" : "");
    }
    printf("best rank: %d (lowest mean held-out RMSE, %.6g); %lld entries held out per fold, %.2f s in all\n",
           r->rows[r->best].rank, r->rows[r->best].holdout_mean, (long long)r->held, r->seconds);
}

int fm_cmd_rank(int argc, char **argv)
{
    const char *data = NULL, *out_prefix = NULL;
    int ranks[MAX_RANKS] = { 2, 4, 8, 16, 32 };
    long threads = 0, value;
    bool quiet = false;
    fm_rank_options o;
    fm_rank_options_default(&o);
    o.solver.iters = 200;
    o.ranks = ranks;
    o.rank_count = 5;
    fm_kind kind = FM_KIND_AUTO;
    char msg[FM_MSG_LEN] = "";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            return 0;
        }
        if (!strcmp(a, "--quiet")) { quiet = true; continue; }
        if (a[0] != '-') {
            if (!fm_arg_data(&data, a)) return 2;
            continue;
        }
        if (!(v = fm_arg_value(argc, argv, &i))) return 2;
        bool ok = true;
        if (!strcmp(a, "--ranks")) ok = parse_ranks(v, ranks, &o.rank_count);
        else if (!strcmp(a, "--folds")) { ok = fm_arg_int(a, v, 1, 1000, &value); o.folds = (int)value; }
        else if (!strcmp(a, "--holdout")) ok = fm_arg_double(a, v, 1e-9, 0.99, &o.holdout);
        else if (!strcmp(a, "--kind")) {
            if (fm_kind_parse(&kind, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        } else if (!strcmp(a, "--iters")) { ok = fm_arg_int(a, v, 1, 100000000, &value); o.solver.iters = (int)value; }
        else if (!strcmp(a, "--patience")) {
            ok = fm_arg_int(a, v, 0, 100000000, &value);
            o.solver.patience = (int)value;
        } else if (!strcmp(a, "--tol")) ok = fm_arg_double(a, v, 0, 1, &o.solver.tol);
        else if (!strcmp(a, "--init")) {
            if (fm_init_parse(&o.solver.init, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
            if (o.solver.init == FM_INIT_LEARNED) {
                fprintf(stderr, "factormer: rank fits each rank with nndsvd, nndsvda, nndsvdar or random starts; "
                                "--init learned needs a model per rank\n");
                return 2;
            }
        } else if (!strcmp(a, "--svd-power")) ok = fm_arg_svd_power(a, v, &o.solver.svd_power);
        else if (!strcmp(a, "--seed")) { ok = fm_arg_int(a, v, 0, LONG_MAX, &value); o.solver.seed = (uint64_t)value; }
        else if (!strcmp(a, "--threads")) ok = fm_arg_int(a, v, 1, 4096, &threads);
        else if (!strcmp(a, "--out")) out_prefix = v;
        else { fprintf(stderr, "factormer: unknown option '%s' (see 'factormer rank --help')\n", a); return 2; }
        if (!ok) return 2;
    }
    if (!data) {
        fprintf(stderr, "factormer: rank needs a data file (see 'factormer rank --help')\n");
        return 2;
    }
    if (o.folds * o.holdout > 1 + 1e-12) {
        fprintf(stderr, "factormer: %d folds of --holdout %g do not fit: the folds are disjoint, so folds x holdout "
                        "must be at most 1\n", o.folds, o.holdout);
        return 2;
    }
    if (threads > 0) fm_set_threads((int)threads);

    fm_triplets *t = NULL;
    fm_rank_result *r = NULL;
    fm_output_set *set = NULL;
    char *command = NULL;
    int status = 1, max_rank = 0;
    char prefix[4200], name[4096], title[4400];
    fm_arg_data_name(name, sizeof name, data);
    if (out_prefix) snprintf(prefix, sizeof prefix, "%s", out_prefix);
    else snprintf(prefix, sizeof prefix, "%s.rank", name);
    const bool plot = fm_plot_available();
    static const char *const suffix[2] = { ".csv", ".png" };
    const int opened = fm_output_set_open(&set, "--out", prefix, suffix, plot ? 2 : 1, msg);
    if (opened != FM_OK) {
        fprintf(stderr, "factormer: %s\n", msg);
        return opened == FM_ERR_INVALID ? 2 : 1;
    }
    if (!plot)
        fprintf(stderr, "factormer: gnuplot is not installed (apt-get install gnuplot-nox): no PNG, the CSV only\n");
    if (!(command = fm_arg_command_shell())) {
        snprintf(msg, sizeof msg, "out of memory");
        goto fail;
    }
    for (int q = 0; q < o.rank_count; q++) max_rank = ranks[q] > max_rank ? ranks[q] : max_rank;
    if (fm_mtx_read_for_run(&t, data, kind, max_rank, msg)) goto fail;
    if (kind == FM_KIND_AUTO) kind = t->array ? FM_KIND_DENSE : FM_KIND_SPARSE;
    o.kind = kind;
    progress p = { quiet, o.folds };
    o.on_fit = show_fit;
    o.user = &p;
    if (fm_rank_select(&r, t, &o, msg)) goto fail;

    if (fm_output_set_stage(set, msg)) goto fail;
    char comment[4400 + 64];
    snprintf(comment, sizeof comment, "factormer %s: %s", fm_version(), command);
    if (fm_rank_write_csv(fm_output_set_staged(set, 0), r, comment, msg)) goto fail;
    snprintf(title, sizeof title, "%s (%s, %lld x %lld): %d fold%s of %g held out", name, fm_kind_name(kind),
             (long long)t->rows, (long long)t->cols, o.folds, o.folds == 1 ? "" : "s", o.holdout);
    if (plot && fm_rank_plot(fm_output_set_staged(set, 1), r, title, msg)) goto fail;
    if (fm_output_set_commit(set, msg)) goto fail;
    if (!quiet) {
        print_table(r, data, kind, t, o.holdout);
        printf("wrote %s%s%s\n", fm_arg_shown(fm_output_set_final(set, 0)), plot ? " " : "",
               plot ? fm_arg_shown(fm_output_set_final(set, 1)) : "");
    }
    status = 0;
    goto done;
fail:
    if (set) fm_output_set_name_final(set, msg);
    fprintf(stderr, "factormer: %s\n", msg);
done:
    fm_output_set_free(&set);
    free(command);
    fm_triplets_free(&t);
    fm_rank_result_free(&r);
    return status;
}
