// factormer eval: the paper's evaluation (§9, Figures 6 to 9) of the learned
// models against plain ADMM, on the validation sets of §7 or on a data file.
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "eval_figures.h"
#include "evaluate.h"
#include "factormer.h"
#include "plot.h"
#include "status.h"
#include "train_data.h"

static const char help[] =
    "usage: factormer eval [DATA.mtx[.gz]] [options]\n"
    "\n"
    "Runs plain ADMM from nndsvd, the learned initialization followed by ADMM and\n"
    "learned acceleration side by side, and reports per iteration the median and\n"
    "quartiles of each method's RMSE and of its ratio to plain ADMM's, and the wall\n"
    "time (network inference included) each takes to reach the RMSE plain ADMM\n"
    "reaches after 20 iterations. Without DATA: the two validation sets of the\n"
    "training (small and large noise-free planted matrices, fixed by the seed), as\n"
    "the paper's Figures 6 and 7. With DATA: that matrix divided by its mean over\n"
    "the observed entries, as Figures 8 and 9.\n"
    "\n"
    "  --rank K            rank (default 10; at most 256)\n"
    "  --iters N           iterations per run (default 100)\n"
    "  --methods LIST      comma-separated: plain, init, accel (default all three;\n"
    "                      plain ADMM always runs: the others are measured against it)\n"
    "  --init-model PATH   the initialization model (default: init.fmw, of any rank,\n"
    "                      in $FACTORMER_MODELS, else in the shipped models\n"
    "                      directory; where there is none, init-rankK.fmw there)\n"
    "  --accel-model PATH  the acceleration model (default: accel.fmw, else\n"
    "                      accel-rankK.fmw there)\n"
    "  --accel-every C     ADMM iterations per accelerator step (default 5)\n"
    "  --accel-steps T     accelerator steps at most (default 5)\n"
    "  --no-safeguard      keep every accelerator output (the paper's Algorithm 2;\n"
    "                      see factorize --help)\n"
    "  --sampler NAME      the networks read a sample of the graph (§8), as factorize's\n"
    "                      --sampler: full (default; a pooled model's own uniform\n"
    "                      samples of fanout 8, above the ranks R it was trained\n"
    "                      at 8 (rank/R)^2; the shipped R = 32 for the\n"
    "                      initialization, 20 for the accelerator),\n"
    "                      uniform, weighted or stratified\n"
    "  --fanout F          in-edges kept per target by the sampler (default 32)\n"
    "  --svd-power N       every method's start: power iterations of its randomized\n"
    "                      SVD (as factorize; default auto: plain's and the\n"
    "                      accelerator's 7 or 4, the learned initialization's 1)\n"
    "  --finish PHASE      every method's solver after its start: none (default:\n"
    "                      AO-ADMM to the end, which §9 compares) or hals (as\n"
    "                      factorize's default: exact updates once ADMM slows,\n"
    "                      from the first iteration but on incomplete data and\n"
    "                      after the learned initialization); the accelerator\n"
    "                      steps within ADMM, so not with accel\n"
    "  --valid-size N      matrices per validation set (default 128)\n"
    "  --seed S            the validation sets' seed and the runs' (default 42, the\n"
    "                      training's)\n"
    "  --kind KIND         DATA's kind: dense, sparse or incomplete (as factorize)\n"
    "  --holdout F         with --kind incomplete: keep a seeded fraction F of the\n"
    "                      observed entries out (as factorize --holdout): every\n"
    "                      method fits the rest, and the RMSE is theirs\n"
    "  --image-shape HxW   DATA holds images of H x W pixels (as rows or as\n"
    "                      columns): draw each method's basis as a grid of images\n"
    "  --image-order O     column (default: pixel p at row p mod H, column p / H,\n"
    "                      the MATLAB order of the shared files) or row\n"
    "  --out DIR           directory of the CSV and PNG files (default eval; made if\n"
    "                      missing)\n"
    "  --no-plots          CSV files only\n"
    "  --threads N         threads for OpenMP, OpenBLAS and GraphBLAS (default: all)\n"
    "  --quiet             no progress on the terminal\n"
    "  --charge-load       count reading each model (once, after DATA, where\n"
    "                      factorize reads it) in its method's times, as factorize\n"
    "                      counts it in its start; on a validation set each\n"
    "                      matrix carries 1/N of the read. Without it the times\n"
    "                      are of the runs alone\n"
    "\n"
    "Writes, per set (valid-small, valid-large) or for DATA (its file name):\n"
    "NAME.csv (per iteration and method: RMSE and ratio quartiles), NAME.traces.csv\n"
    "(every run's RMSE and seconds per iteration), NAME.png (the curves, if gnuplot\n"
    "is installed) and with --image-shape NAME.basis.png (components numbered by\n"
    "their weight ||W[:,r]|| ||H[r,:]||, heaviest first) and each method's W, its\n"
    "columns in that order, as NAME.METHOD.W.mtx (plain, learned_init, accelerated).\n"
    "For one matrix (DATA) the figures show its curves without quartile bands.\n"
    FM_ARG_MEMORY_HELP
    FM_ARG_PROFILE_HELP;

typedef struct eval_args {
    const char *data, *out_dir, *init_model, *accel_model;
    bool ran[FM_EVAL_METHODS], plots, quiet, column_major, charge_load;
    int iters, valid_size;
    double holdout;   // the fraction of DATA's observed entries kept out of every fit
    long image_height, image_width;
    fm_kind kind;
    fm_solver_options base;
} eval_args;

static bool parse_methods(const char *text, bool ran[FM_EVAL_METHODS])
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", text);
    memset(ran, 0, FM_EVAL_METHODS * sizeof *ran);
    ran[FM_EVAL_PLAIN] = true;
    for (char *save = NULL, *word = strtok_r(copy, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
        if (!strcmp(word, "plain")) continue;
        if (!strcmp(word, "init")) ran[FM_EVAL_INIT] = true;
        else if (!strcmp(word, "accel")) ran[FM_EVAL_ACCEL] = true;
        else {
            fprintf(stderr, "factormer: --methods expects plain, init and accel separated by commas, not '%s'\n", word);
            return false;
        }
    }
    return true;
}

static bool parse_shape(const char *text, long *height, long *width)
{
    char *end;
    errno = 0;
    const long h = strtol(text, &end, 10);
    if (errno || end == text || (*end != 'x' && *end != 'X')) goto bad;
    const char *second = end + 1;
    const long w = strtol(second, &end, 10);
    if (errno || end == second || *end || h < 1 || w < 1 || h > (1L << 20) || w > (1L << 20)) goto bad;
    *height = h;
    *width = w;
    return true;
bad:
    fprintf(stderr, "factormer: --image-shape expects HEIGHTxWIDTH in pixels, as 32x32, not '%s'\n", text);
    return false;
}

// 0 to go on, else the exit code (help: 0 after printing it).
static int parse(eval_args *a, int argc, char **argv, bool *stop)
{
    long value, threads = 0;
    char msg[FM_MSG_LEN];
    *stop = false;
    memset(a, 0, sizeof *a);
    a->out_dir = "eval";
    a->plots = true;
    a->column_major = true;
    a->iters = 100;
    a->valid_size = FM_VALID_SIZE;
    a->kind = FM_KIND_AUTO;
    for (int m = 0; m < FM_EVAL_METHODS; m++) a->ran[m] = true;
    fm_solver_options_default(&a->base);
    a->base.finish = FM_FINISH_NONE;   // §9 compares the learned methods with AO-ADMM itself
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = NULL;
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            fputs(help, stdout);
            *stop = true;
            return 0;
        }
        if (!strcmp(o, "--no-plots")) { a->plots = false; continue; }
        if (!strcmp(o, "--no-safeguard")) { a->base.accel_safeguard = false; continue; }
        if (!strcmp(o, "--quiet")) { a->quiet = true; continue; }
        if (!strcmp(o, "--charge-load")) { a->charge_load = true; continue; }
        if (o[0] != '-') {
            if (!fm_arg_data(&a->data, o)) return 2;
            continue;
        }
        if (!(v = fm_arg_value(argc, argv, &i))) return 2;
        bool ok = true;
        if (!strcmp(o, "--rank")) { ok = fm_arg_rank(o, v, &value); a->base.rank = (int)value; }
        else if (!strcmp(o, "--iters")) { ok = fm_arg_int(o, v, 0, 1000000, &value); a->iters = (int)value; }
        else if (!strcmp(o, "--methods")) ok = parse_methods(v, a->ran);
        else if (!strcmp(o, "--init-model")) a->init_model = v;
        else if (!strcmp(o, "--accel-model")) a->accel_model = v;
        else if (!strcmp(o, "--accel-every")) { ok = fm_arg_int(o, v, 1, 1000000, &value); a->base.accel_every = (int)value; }
        else if (!strcmp(o, "--accel-steps")) { ok = fm_arg_int(o, v, 0, 1000000, &value); a->base.accel_steps = (int)value; }
        else if (!strcmp(o, "--valid-size")) { ok = fm_arg_int(o, v, 1, 1L << 30, &value); a->valid_size = (int)value; }
        else if (!strcmp(o, "--seed")) { ok = fm_arg_int(o, v, 0, LONG_MAX, &value); a->base.seed = (uint64_t)value; }
        else if (!strcmp(o, "--svd-power")) ok = fm_arg_svd_power(o, v, &a->base.svd_power);
        else if (!strcmp(o, "--finish")) {
            if (fm_finish_parse(&a->base.finish, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        }
        else if (!strcmp(o, "--sampler")) {
            if (fm_sampler_parse_node_wise(&a->base.sampler, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
            a->base.sampler_given = true;
        }
        else if (!strcmp(o, "--fanout")) {
            ok = fm_arg_int(o, v, 1, 1L << 40, &value);
            a->base.fanout = value;
            a->base.fanout_given = true;
        }
        else if (!strcmp(o, "--kind")) {
            if (fm_kind_parse(&a->kind, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        }
        else if (!strcmp(o, "--holdout")) ok = fm_arg_double(o, v, 0, 0.99, &a->holdout);
        else if (!strcmp(o, "--image-shape")) ok = parse_shape(v, &a->image_height, &a->image_width);
        else if (!strcmp(o, "--image-order")) {
            ok = !strcmp(v, "column") || !strcmp(v, "row");
            a->column_major = !strcmp(v, "column");
            if (!ok) fprintf(stderr, "factormer: --image-order expects column or row, not '%s'\n", v);
        }
        else if (!strcmp(o, "--out")) a->out_dir = v;
        else if (!strcmp(o, "--threads")) ok = fm_arg_int(o, v, 1, 4096, &threads);
        else { fprintf(stderr, "factormer: unknown option '%s' (see 'factormer eval --help')\n", o); return 2; }
        if (!ok) return 2;
    }
    if (!a->data && (a->kind != FM_KIND_AUTO || a->image_height || a->holdout > 0)) {
        fprintf(stderr, "factormer: %s describes a data file: give one\n",
                a->image_height ? "--image-shape" : a->holdout > 0 ? "--holdout" : "--kind");
        return 2;
    }
    if (a->holdout > 0 && a->kind != FM_KIND_INCOMPLETE) {
        fprintf(stderr, "factormer: eval --holdout keeps observed entries out: it needs --kind incomplete\n");
        return 2;
    }
    if (a->base.finish != FM_FINISH_NONE && a->ran[FM_EVAL_ACCEL]) {
        fprintf(stderr, "factormer: --finish %s leaves ADMM, within which the accelerator steps: use --methods "
                "plain,init\n", fm_finish_name(a->base.finish));
        return 2;
    }
    if ((a->init_model && !a->ran[FM_EVAL_INIT]) || (a->accel_model && !a->ran[FM_EVAL_ACCEL])) {
        fprintf(stderr, "factormer: %s is not among --methods\n", a->init_model && !a->ran[FM_EVAL_INIT] ? "init" : "accel");
        return 2;
    }
    if (threads > 0) fm_set_threads((int)threads);
    return 0;
}

// DIR, made if missing (its parent must exist).
static int make_out_dir(const char *dir, char *msg)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            snprintf(msg, FM_MSG_LEN, "--out %s is not a directory", dir);
            return FM_ERR_IO;
        }
        if (access(dir, W_OK | X_OK) != 0) {
            snprintf(msg, FM_MSG_LEN, "--out %s: the directory is not writable: %s", dir, strerror(errno));
            return FM_ERR_IO;
        }
        return FM_OK;
    }
    if (mkdir(dir, 0755) != 0) {
        snprintf(msg, FM_MSG_LEN, "cannot make the output directory %s: %s", dir, strerror(errno));
        return FM_ERR_IO;
    }
    return FM_OK;
}

static void progress(const eval_args *a, const char *name, int done, int count)
{
    if (a->quiet) return;
    if (isatty(2)) fprintf(stderr, "\r  %s: %d/%d matrices   %s", name, done, count, done == count ? "\n" : "");
    else if (done == count) fprintf(stderr, "  %s: %d matrices\n", name, count);
}

static void print_time(double seconds)
{
    if (isinf(seconds)) printf("%9s", "never");
    else printf("%6.3f ms", 1e3 * seconds);
}

// "<method> at iteration T (median) <= plain ADMM (median): yes|no"
static void print_final_check(const fm_eval_summary *s, fm_eval_method m)
{
    const double mine = s->rmse[m][s->iters * 3 + 1], plain = s->rmse[FM_EVAL_PLAIN][s->iters * 3 + 1];
    printf("    %s at iteration %d (%.6g) <= plain ADMM (%.6g): %s\n", m == FM_EVAL_INIT ? "learned init" : "accelerated",
           s->iters, mine, plain, mine <= plain ? "yes" : "no");
}

// The table, the race, the checks.
static void print_summary(const fm_eval_summary *s, const char *name, const char *what, int rank)
{
    printf("\n%s: %s, rank %d, %d iterations\n", fm_arg_shown(name), what, rank, s->iters);
    printf("  median RMSE [median ratio to plain ADMM]%s\n", s->count > 1 ? " over the matrices" : "");
    printf("  %9s", "iteration");
    for (int m = 0; m < FM_EVAL_METHODS; m++)
        if (s->ran[m]) printf("  %-22s", fm_eval_method_title(m));
    printf("\n");
    static const int shown[] = {0, 1, 2, 3, 5, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 300, 500, 1000};
    const int n_shown = (int)(sizeof shown / sizeof *shown);
    for (int i = 0; i <= n_shown; i++) {
        // the listed iterations before the last, then the last
        const int t = i < n_shown && shown[i] < s->iters ? shown[i] : s->iters;
        if (i < n_shown && t == s->iters) i = n_shown;
        printf("  %9d", t);
        for (int m = 0; m < FM_EVAL_METHODS; m++) {
            if (!s->ran[m]) continue;
            char cell[64];
            if (m == FM_EVAL_PLAIN) snprintf(cell, sizeof cell, "%.6g", s->rmse[m][t * 3 + 1]);
            else snprintf(cell, sizeof cell, "%.6g [%.3f]", s->rmse[m][t * 3 + 1], s->ratio[m][t * 3 + 1]);
            printf("  %-22s", cell);
        }
        printf("\n");
    }
    // one matrix has no quartiles to show
    const bool spread = s->count > 1;
    printf("  wall time to plain ADMM's RMSE at iteration %d, network included (%s):\n", s->target_iteration,
           spread ? "median [q1, q3], reached" : "reached");
    for (int m = 0; m < FM_EVAL_METHODS; m++) {
        if (!s->ran[m]) continue;
        printf("    %-14s", fm_eval_method_title(m));
        print_time(s->reach_seconds[m][1]);
        if (spread) {
            printf(" [");
            print_time(s->reach_seconds[m][0]);
            printf(", ");
            print_time(s->reach_seconds[m][2]);
            printf("]");
        }
        printf("  %d/%d\n", s->reached[m], s->count);
    }
    printf("  checks (§9):\n");
    if (s->ran[FM_EVAL_INIT]) {
        printf("    learned init at iteration 0 (%.6g) <= plain ADMM at iteration %d (%.6g): %s\n",
               s->rmse[FM_EVAL_INIT][1], s->target_iteration, s->rmse[FM_EVAL_PLAIN][s->target_iteration * 3 + 1],
               fm_eval_init_headline(s) ? "yes" : "no");
        print_final_check(s, FM_EVAL_INIT);
    }
    if (s->ran[FM_EVAL_ACCEL]) {
        int first;
        const int to = s->iters < 50 ? s->iters : 50;
        if (to >= 5) {
            const bool below = fm_eval_accel_below(s, 5, to, &first);
            printf("    accelerated below plain ADMM at every iteration 5..%d: %s", to, below ? "yes\n" : "no");
            if (!below) printf(" (iteration %d: %.6g against %.6g)\n", first, s->rmse[FM_EVAL_ACCEL][first * 3 + 1],
                               s->rmse[FM_EVAL_PLAIN][first * 3 + 1]);
        }
        print_final_check(s, FM_EVAL_ACCEL);
    }
}

// The outputs of one set: NAME.csv, NAME.traces.csv, NAME.png (+ the basis).
static int write_outputs(const eval_args *a, const fm_eval_set *set, const char *name, const char *title,
                         int rank, char *msg)
{
    fm_eval_summary *s = NULL;
    char summary[4200], traces[4200], png[4200], basis[4200], factors[4200];
#define FREE_ALL fm_eval_summary_free(&s)
    snprintf(summary, sizeof summary, "%s/%s.csv", a->out_dir, name);
    snprintf(traces, sizeof traces, "%s/%s.traces.csv", a->out_dir, name);
    snprintf(png, sizeof png, "%s/%s.png", a->out_dir, name);
    snprintf(basis, sizeof basis, "%s/%s.basis.png", a->out_dir, name);
    snprintf(factors, sizeof factors, "%s/%s", a->out_dir, name);
    FM_TRY(fm_eval_summarize(&s, set, msg));
    print_summary(s, name, title, rank);
    for (int m = 0; m < FM_EVAL_METHODS; m++)
        if (set->charged[m] > 0)
            printf("    (%s's times include reading its model: %.3g ms per matrix)\n", fm_eval_method_title(m),
                   1e3 * set->charged[m]);
    FM_TRY(fm_eval_write_summary(summary, s, msg));
    FM_TRY(fm_eval_write_traces(traces, set, msg));
    if (a->plots) {
        char full_title[1200];
        snprintf(full_title, sizeof full_title, "%s: %s, rank %d", name, title, rank);
        FM_TRY(fm_eval_plot_curves(png, summary, s, full_title, msg));
        if (a->image_height) {
            snprintf(full_title, sizeof full_title, "%s: the basis of each method, rank %d", name, rank);
            FM_TRY(fm_eval_plot_basis(basis, set, a->image_height, a->image_width, a->column_major, full_title, msg));
        }
    }
    // each method's W beside its basis image, columns in the image's order
    if (a->image_height) FM_TRY(fm_eval_write_bases(factors, set, title, msg));
    printf("  wrote %s %s", fm_arg_shown(summary), fm_arg_shown(traces));
    if (a->plots) printf(" %s", fm_arg_shown(png));
    if (a->plots && a->image_height) printf(" %s", fm_arg_shown(basis));
    if (a->image_height)
        for (int m = 0; m < FM_EVAL_METHODS; m++)
            if (set->ran[m]) printf(" %s.%s.W.mtx", fm_arg_shown(factors), fm_eval_method_name(m));
    printf("\n");
    fflush(stdout);
    fm_eval_summary_free(&s);
    return FM_OK;
#undef FREE_ALL
}

// Reads the models of the methods that run, each timed into seconds[method].
static int load_models(const eval_args *a, fm_learned *init, fm_learned *accel, double seconds[FM_EVAL_METHODS],
                       char *msg)
{
    fm_learned *models[FM_EVAL_METHODS] = {NULL, init, accel};
    const char *paths[FM_EVAL_METHODS] = {NULL, a->init_model, a->accel_model};
    const fm_model_kind kinds[FM_EVAL_METHODS] = {FM_MODEL_INIT, FM_MODEL_INIT, FM_MODEL_ACCEL};
    for (int m = 0; m < FM_EVAL_METHODS; m++) {
        seconds[m] = 0;
        if (!a->ran[m] || !models[m]) continue;
        const double start = omp_get_wtime();
        const int status = fm_learned_load(models[m], paths[m], kinds[m], a->base.rank, msg);
        if (status) return status;
        seconds[m] = omp_get_wtime() - start;
    }
    return FM_OK;
}

static void report_read(const eval_args *a, const double seconds[FM_EVAL_METHODS])
{
    if (a->quiet || !(a->ran[FM_EVAL_INIT] || a->ran[FM_EVAL_ACCEL])) return;
    fprintf(stderr, "  (models read in %.2f ms, %s)\n", 1e3 * (seconds[FM_EVAL_INIT] + seconds[FM_EVAL_ACCEL]),
            a->charge_load ? "counted in their methods' times" : "not counted in the times below");
}

// --charge-load: each matrix's runs carry their share of reading their model.
static void charge(fm_eval_set *set, const eval_args *a, const double seconds[FM_EVAL_METHODS])
{
    if (!a->charge_load) return;
    for (int m = 0; m < FM_EVAL_METHODS; m++) set->charged[m] = seconds[m] / set->count;
}

static int eval_data(const eval_args *a, fm_learned *init, fm_learned *accel, char *msg)
{
    fm_triplets *t = NULL;
    fm_graph *g = NULL;
    fm_eval_set *set = NULL;
#define FREE_ALL { fm_triplets_free(&t); fm_graph_free(&g); fm_eval_set_free(&set); }
    FM_TRY(fm_mtx_read_for_run(&t, a->data, a->kind, a->base.rank, msg));
    if (a->holdout > 0) {   // the methods fit the kept entries; the held-out ones are not used
        fm_triplets *kept = NULL, *held = NULL;
        const int status = fm_holdout_split(&kept, &held, t, a->holdout, a->base.seed, msg);
        fm_triplets_free(&held);
        FM_TRY(status);
        fm_triplets_free(&t);
        t = kept;
    }
    const fm_kind kind = a->kind == FM_KIND_AUTO ? (t->array ? FM_KIND_DENSE : FM_KIND_SPARSE) : a->kind;
    // X / its mean over Ω (§5), as the paper's Figures 8 and 9
    FM_TRY(fm_graph_from_triplets(&g, t, kind, msg));
    const double mean = fm_graph_mean(g);
    fm_graph_free(&g);
    FM_CHECK(mean > 0 && isfinite(mean), FM_ERR_INVALID, "%s: the mean over the observed entries is %g, not positive",
             a->data, mean);
    const int64_t values = t->array ? t->rows * t->cols : t->count;
    for (int64_t e = 0; e < values; e++) t->val[e] = (float)(t->val[e] / mean);
    FM_TRY(fm_graph_from_triplets(&g, t, kind, msg));
    const int64_t rows = t->rows, cols = t->cols, pixels = (int64_t)a->image_height * a->image_width;
    fm_triplets_free(&t);
    // before the runs, so that a wrong shape leaves no output behind
    FM_CHECK(!pixels || rows == pixels || cols == pixels, FM_ERR_INVALID,
             "--image-shape %ldx%ld has %lld pixels, but %s is %lld x %lld: its rows or its columns must be the pixels",
             a->image_height, a->image_width, (long long)pixels, a->data, (long long)rows, (long long)cols);
    FM_TRY(fm_eval_set_new(&set, 1, a->iters, a->ran, msg));
    // --charge-load: the models after the data, where factorize reads them
    // (the first read in a process also pays its first allocations)
    if (a->charge_load) {
        double seconds[FM_EVAL_METHODS];
        FM_TRY(load_models(a, init, accel, seconds, msg));
        report_read(a, seconds);
        charge(set, a, seconds);
    }
    set->keep_factors = a->image_height > 0;
    FM_TRY(fm_eval_matrix(set, 0, g, &a->base, init, accel, msg));
    char name[4096], title[4400];
    fm_arg_data_name(name, sizeof name, a->data);
    // the file's name, not its path
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", a->data);
    char kept[64] = "";
    if (a->holdout > 0) snprintf(kept, sizeof kept, " (%.3g%% held out)", 100 * a->holdout);
    snprintf(title, sizeof title, "%s, %lld x %lld %s%s, divided by its mean %.6g", basename(copy), (long long)rows,
             (long long)cols, fm_kind_name(kind), kept, mean);
    FM_TRY(write_outputs(a, set, name, title, a->base.rank, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

static int eval_validation(const eval_args *a, fm_learned *init, fm_learned *accel,
                           const double seconds[FM_EVAL_METHODS], char *msg)
{
    fm_graph *g = NULL;
    fm_eval_set *set = NULL;
#define FREE_ALL { fm_graph_free(&g); fm_eval_set_free(&set); }
    const fm_train_set sets[2] = {FM_SET_VALID_SMALL, FM_SET_VALID_LARGE};
    const fm_shape_class shapes[2] = {FM_SHAPE_SMALL, FM_SHAPE_LARGE};
    for (int v = 0; v < 2; v++) {
        FM_TRY(fm_eval_set_new(&set, a->valid_size, a->iters, a->ran, msg));
        charge(set, a, seconds);
        const char *name = fm_train_set_name(sets[v]);
        for (int i = 0; i < a->valid_size; i++) {
            FM_TRY(fm_train_matrix(&g, NULL, NULL, NULL, NULL, sets[v], i, a->valid_size, a->base.rank, a->base.seed, msg));
            FM_TRY(fm_eval_matrix(set, i, g, &a->base, init, accel, msg));
            fm_graph_free(&g);
            progress(a, name, i + 1, a->valid_size);
        }
        const fm_shape_range r = fm_train_range_at_rank(shapes[v], a->base.rank);
        char title[256];
        snprintf(title, sizeof title, "%d noise-free planted matrices of %lld-%lld x %lld-%lld (seed %llu)",
                 a->valid_size, (long long)r.min_rows, (long long)r.max_rows, (long long)r.min_cols,
                 (long long)r.max_cols, (unsigned long long)a->base.seed);
        FM_TRY(write_outputs(a, set, name, title, a->base.rank, msg));
        fm_eval_set_free(&set);
    }
    return FM_OK;
#undef FREE_ALL
}

int fm_cmd_eval(int argc, char **argv)
{
    eval_args a;
    bool stop;
    const int parsed = parse(&a, argc, argv, &stop);
    if (parsed || stop) return parsed;
    char msg[FM_MSG_LEN] = "";
    fm_learned init = { 0 }, accel = { 0 };
    int status = 1;
    // the models before any work, so that a bad file fails first; with
    // --charge-load a data file's are read after it (eval_data), only their
    // headers checked here
    const bool after_data = a.data && a.charge_load;
    fm_lfactormer_config config;
    char init_path[FM_LEARNED_PATH_LEN] = "", accel_path[FM_LEARNED_PATH_LEN] = "";
    double seconds[FM_EVAL_METHODS] = { 0 };
    if (after_data) {
        if (a.ran[FM_EVAL_INIT] && fm_learned_peek(&config, init_path, a.init_model, FM_MODEL_INIT, a.base.rank, msg))
            goto done;
        if (a.ran[FM_EVAL_ACCEL] &&
            fm_learned_peek(&config, accel_path, a.accel_model, FM_MODEL_ACCEL, a.base.rank, msg))
            goto done;
    } else if (load_models(&a, &init, &accel, seconds, msg)) {
        goto done;
    }
    if (make_out_dir(a.out_dir, msg)) goto done;
    if (a.plots && !fm_plot_available()) {
        fprintf(stderr, "factormer: gnuplot is not installed (apt-get install gnuplot-nox): no plots, CSV files only\n");
        a.plots = false;
    }
    if (!a.quiet) {
        fprintf(stderr, "factormer eval: rank %d, %d iterations, %d threads", a.base.rank, a.iters, fm_get_threads());
        if (a.ran[FM_EVAL_ACCEL])
            fprintf(stderr, ", an accelerator step every %d iterations, %d at most, %s", a.base.accel_every,
                    a.base.accel_steps, a.base.accel_safeguard ? "safeguarded" : "no safeguard");
        fprintf(stderr, "\n");
        if (a.ran[FM_EVAL_INIT])
            fprintf(stderr, "  initialization model %s\n", fm_arg_shown(after_data ? init_path : init.path));
        if (a.ran[FM_EVAL_ACCEL])
            fprintf(stderr, "  acceleration model   %s\n", fm_arg_shown(after_data ? accel_path : accel.path));
    }
    if (!after_data) report_read(&a, seconds);
    if (a.data ? eval_data(&a, &init, &accel, msg) : eval_validation(&a, &init, &accel, seconds, msg)) goto done;
    status = 0;
done:
    if (status) fprintf(stderr, "factormer: %s\n", msg);
    fm_learned_free(&init);
    fm_learned_free(&accel);
    return status;
}
