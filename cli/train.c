// factormer train: train the learned initialization or the learned
// acceleration on the synthetic matrices of §7 (models/nmf/train).
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "factormer.h"
#include "train.h"
#include "train_precond.h"

static const char help[] =
    "usage: factormer train --model init|accel --rank K|--any-rank --out MODEL.fmw [options]\n"
    "       factormer train --model neuralif --out MODEL.fmw [options] (see --model neuralif --help)\n"
    "       factormer train --model learned-lu --out MODEL.fmw [options] (see --model learned-lu --help)\n"
    "\n"
    "Trains the Factormer that initializes (init) or accelerates (accel) the ADMM\n"
    "factorization, on synthetic planted matrices: the discounted unrolled loss,\n"
    "AdamW with batch size 1, cosine annealing restarted every epoch (peak x 0.9 per\n"
    "epoch) and, for accel, 1 to 5 accelerator steps (one more every two epochs).\n"
    "After every epoch the model is validated on noise-free matrices (the median\n"
    "RMSE over 128 small and over 128 large ones; the score is their mean), and the\n"
    "best epoch's model is written to MODEL.fmw. The training state goes to\n"
    "MODEL.fmw.state after every epoch and every --checkpoint-every matrices.\n"
    "\n"
    "  --model init|accel      which model (required)\n"
    "  --rank K                rank of the factors, 1 to 64 (required without --any-rank)\n"
    "  --any-rank              a model of any rank (the component-set network, docs §5.1):\n"
    "                          one network per component with shared weights; --rank\n"
    "                          is then the training data's rank (default 10). Give it\n"
    "                          a small --width (e.g. 16): it runs once per component\n"
    "  --gathered              with --any-rank: each component also reads u, the sums\n"
    "                          HALS gathers over the edges, (X H)_ic / (HᵀH)_cc (§5.1)\n"
    "  --pooled                with --any-rank: one network pass for all components\n"
    "                          over their pooled embeddings, then a decoder per\n"
    "                          component (§5.2): its cost does not grow with the rank\n"
    "  --residual              with --pooled: each decoder corrects its component's\n"
    "                          own input instead of replacing it (§5.2)\n"
    "  --unroll T              init: ADMM iterations unrolled after the network, whose\n"
    "                          RMSEs the loss sums discounted by 0.9 per iteration\n"
    "                          from the last (default 5, docs §7)\n"
    "  --svd-power N           power iterations of the training matrices' NNDSVD\n"
    "                          starts, 0 to 64, or auto (default: the rule of\n"
    "                          factorize's nndsvd start); 1 is the sketch factorize\n"
    "                          --init learned gives the network (docs §6)\n"
    "  --max-rank K            with --any-rank: each training matrix's rank drawn from\n"
    "                          --rank to K (the same per matrix in every epoch; at most\n"
    "                          64); validation matrix i at each rank of the range in turn.\n"
    "                          The model file records the top rank (K, else --rank, or a\n"
    "                          --from or resumed model's if higher): a pooled model reads\n"
    "                          more samples above it (§5.2)\n"
    "  --rank-spread S         the data's planted rank drawn per matrix as the\n"
    "                          factorization's times 2^u, u uniform in [-S, S] (0 to 4\n"
    "                          octaves; default 0: the same rank), so the network also\n"
    "                          learns factorizations at ranks above and below the\n"
    "                          data's, as users run them (docs §7.1); validation too\n"
    "  --width D               node feature width (default 100)\n"
    "  --heads H               attention heads; must divide the width (default 4)\n"
    "  --layers L              Factormer layers (default 4)\n"
    "  --epochs E              epochs of the whole run (default 15)\n"
    "  --train-size N          training matrices per epoch (default 15000)\n"
    "  --valid-size N          matrices in each validation set (default 128)\n"
    "  --valid-steps T         accel: accelerator steps before the validation RMSE is\n"
    "                          taken (default 5, the curriculum's last)\n"
    "  --valid-iters N         init: the validation RMSE N ADMM iterations after the\n"
    "                          network's output (default 0: the output itself), so that\n"
    "                          the epoch written is the one whose start leads furthest;\n"
    "                          the baseline is then N iterations from the nndsvd start\n"
    "  --limit-weight B        init: read the loss against (1 - B) X + B W*H*, W*H* the\n"
    "                          reconstruction --limit-iters ADMM iterations reach from\n"
    "                          the matrix's start (docs §7, the limit term: an error\n"
    "                          along a flat direction, which ADMM removes slowly, is\n"
    "                          counted in full); 0 to 1, default 0: X alone\n"
    "  --limit-iters N         init: ADMM iterations to W*H* (default 500)\n"
    "  --seed S                seed of the data, the order and the initial model (default 42)\n"
    "  --lr R                  initial learning rate (default 1e-3 init, 3e-4 accel)\n"
    "  --batch B               matrices per AdamW step (default 1, the paper's). B > 1\n"
    "                          accumulates their gradients and trains them in parallel\n"
    "                          (another algorithm: B times fewer steps)\n"
    "  --data KIND             the training matrices: dense (default, §7), sparse\n"
    "                          (planted low rank with exact zeros) or incomplete\n"
    "                          (observed on a fraction of the entries); validation too.\n"
    "                          Or a family like real data (docs §7.1): counts (sparse\n"
    "                          negative-binomial counts: text, single-cell), images\n"
    "                          (dense faces: skin and parts), ratings (incomplete\n"
    "                          1-5, power-law degrees), spectra (dense smooth\n"
    "                          endmembers, abundances summing to 1) or scenes (dense,\n"
    "                          twice the rank's materials, narrow features, abundances\n"
    "                          falling as a power law). Or mix: matrix i of the five\n"
    "                          (exponential dense, counts, images, ratings, spectra)\n"
    "                          in turn, each of its own kind; its validation RMSE is\n"
    "                          relative (of X / its mean); mix-scenes: the mix with\n"
    "                          scenes in spectra's place\n"
    "  --size-scale S          every training and validation shape's rows and columns\n"
    "                          times S (1 to 100; default 1: 10 to 100 rows), for\n"
    "                          matrices of the size of real data, read through a\n"
    "                          --sampler\n"
    "  --zeros Z               sparse: the fraction of exact zeros (default 0.5)\n"
    "  --observed P            incomplete: the fraction observed (default 0.3)\n"
    "  --degrees D             incomplete: uniform (default) or power-law row and\n"
    "                          column degrees, like ratings\n"
    "  --sampler NAME          what the network reads (§8): full (every edge, default);\n"
    "                          uniform, weighted or stratified (a fanout of in-edges per\n"
    "                          target and layer, fresh per epoch); edge or random-walk\n"
    "                          (GraphSAINT: train on a subgraph, with its aggregator\n"
    "                          and loss normalization; sparse or incomplete data)\n"
    "  --fanout F              node-wise samplers: in-edges per target (default 32)\n"
    "  --zero-ratio R          stratified: unstored zeros = R x fanout (default 1)\n"
    "  --budget B              edge: edges drawn; random-walk: walks (default: the\n"
    "                          matrix's edges, or its rows)\n"
    "  --walk-length H         random-walk: steps per walk (default 2)\n"
    "  --presamples N          subgraphs drawn for the normalization (default 200)\n"
    "                          (the data, sampling and --max-rank options are not in\n"
    "                          the state: give the same ones to --resume)\n"
    "  --checkpoint-every K    write the state every K matrices within an epoch\n"
    "                          (default 1000; 0: at the end of epochs only)\n"
    "  --resume                continue the run saved in MODEL.fmw.state (same options;\n"
    "                          --epochs may grow). Without it an existing state is an error\n"
    "  --from MODEL.fmw        start a new run from this model's values instead of the\n"
    "                          initial ones (fine-tuning, e.g. on another --data); its\n"
    "                          width, heads and layers must be the run's. The model is\n"
    "                          the best so far: the output keeps it unless an epoch\n"
    "                          validates better. Not with --resume\n"
    "  --stop-after N          stop after N training matrices of this call, as a kill\n"
    "                          would (nothing more written), to test --resume\n"
    "  --threads N             threads for OpenMP, OpenBLAS and GraphBLAS (default: all)\n"
    "                          (a matrix alone runs on one thread, a --batch's in\n"
    "                          parallel: the run is bit-identical at any thread count)\n"
    "  --out MODEL.fmw         the best model (required)\n"
    "  --distributed           under mpirun (a build with -DFM_MPI=ON): data-parallel,\n"
    "                          each process the gradients of its share of a --batch,\n"
    "                          added in order: the same model as one process, bit for\n"
    "                          bit; process 0 writes the files (docs §11.6)\n"
    "  --quiet                 no progress, no summary\n"
    FM_ARG_PROFILE_HELP;

typedef struct progress {
    bool quiet, tty;
    int64_t stop_after;
    double last_draw;      // when the tty bar was last drawn
    int64_t last_done;     // matrices of the epoch at the last step
    double first_seconds;  // the time and the matrices of this call at its first step:
    int64_t first_matrices;   // the ETA counts from there (validation and set-up excluded)
    bool accel, from;       // from: epoch 0 is the --from model, not an untrained one
    const char *baseline;   // what the baseline is: the nndsvd start, or plain ADMM after it
} progress;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// "1h02m", "3m05s", "12s".
static void duration(char *out, size_t size, double seconds)
{
    if (!isfinite(seconds) || seconds < 0) {
        snprintf(out, size, "?");
        return;
    }
    const long s = lround(seconds);
    if (s >= 3600) snprintf(out, size, "%ldh%02ldm", s / 3600, s % 3600 / 60);
    else if (s >= 60) snprintf(out, size, "%ldm%02lds", s / 60, s % 60);
    else snprintf(out, size, "%lds", s);
}

// The time left at the pace since the first step.
static double eta_of(const progress *q, const fm_train_progress *p)
{
    const int64_t matrices = p->matrices - q->first_matrices;
    if (matrices <= 0) return p->matrices ? p->seconds / (double)p->matrices * (double)p->remaining : NAN;
    return (p->seconds - q->first_seconds) / (double)matrices * (double)p->remaining;
}

static void print_epoch(const progress *q, const fm_train_progress *p)
{
    const fm_train_epoch *e = p->report;
    if (q->tty) fprintf(stderr, "\r\033[K");
    if (e->epoch == 0) {
        fprintf(stderr, "epoch %3d/%d  %-9s%27s  valid rmse %.5g (small %.5g, large %.5g)  %s %.5g\n", 0,
                p->epochs, q->from ? "start" : "untrained", "", e->valid, e->valid_small, e->valid_large,
                q->baseline, p->baseline);
    } else {
        char eta[32], skipped[64];
        duration(eta, sizeof eta, eta_of(q, p));
        fm_train_show_skipped(skipped, sizeof skipped, e->skipped);
        fprintf(stderr,
                "epoch %3d/%d  loss %-10.5g %s %d  lr %-8.3g  valid rmse %.5g (small %.5g, large %.5g)%s  "
                "train %.1f s (%.3g s/matrix), valid %.1f s  ETA %s%s\n",
                e->epoch, p->epochs, e->loss, q->accel ? "T" : "unroll", e->steps, e->peak_rate, e->valid,
                e->valid_small, e->valid_large, e->best ? " *best" : "      ", e->train_seconds,
                e->matrices ? e->train_seconds / (double)e->matrices : NAN, e->valid_seconds, eta, skipped);
    }
}

// The bar on a tty; on a pipe, a line at every tenth of an epoch.
static void print_step(progress *q, const fm_train_progress *p)
{
    char eta[32], valid[32] = "-";
    duration(eta, sizeof eta, eta_of(q, p));
    if (isfinite(p->valid)) snprintf(valid, sizeof valid, "%.5g", p->valid);
    if (q->tty) {
        const double t = now();
        if (t - q->last_draw < 0.1 && p->done < p->total) return;
        q->last_draw = t;
        char bar[21];
        const int filled = (int)(20 * p->done / p->total);
        for (int c = 0; c < 20; c++) bar[c] = c < filled ? '#' : '-';
        bar[20] = 0;
        fprintf(stderr, "\r\033[K  epoch %d/%d [%s] %lld/%lld  loss %.5g  valid %s  ETA %s", p->epoch + 1,
                p->epochs, bar, (long long)p->done, (long long)p->total, p->running_loss, valid, eta);
    } else if (p->total >= 100 && p->done / (p->total / 10) > q->last_done / (p->total / 10) &&
               p->done < p->total) {
        fprintf(stderr, "  epoch %d/%d: %lld/%lld matrices  loss %.5g  valid %s  ETA %s\n", p->epoch + 1, p->epochs,
                (long long)p->done, (long long)p->total, p->running_loss, valid, eta);
    }
}

// A whole number of magnitude at most `limit`; the library checks the range
// and says why (fm_train_check).
static bool whole_number(const char *option, const char *text, long limit, long *value)
{
    char *end;
    errno = 0;
    const long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < -limit || v > limit) {
        fprintf(stderr, "factormer: %s expects an integer, not '%s'\n", option, text);
        return false;
    }
    *value = v;
    return true;
}

static int show_progress(const fm_train_progress *p, void *user)
{
    progress *q = user;
    if (!q->quiet) {
        if (p->event == FM_TRAIN_EVENT_EPOCH) {
            print_epoch(q, p);
            q->last_done = 0;
        } else {
            if (q->first_matrices < 0) {
                q->first_seconds = p->seconds;
                q->first_matrices = p->matrices;
            }
            print_step(q, p);
            q->last_done = p->done;
        }
        fflush(stderr);
    }
    return p->event == FM_TRAIN_EVENT_STEP && q->stop_after > 0 && p->matrices >= q->stop_after;
}

static int train_and_report(fm_train_options *options, bool quiet, long stop_after);

int fm_cmd_train(int argc, char **argv)
{
    bool distributed = false;
    for (int i = 1; i < argc; i++) distributed |= !strcmp(argv[i], "--distributed");
    if (!distributed && fm_arg_launched_alone("train the same model")) return 2;
    for (int i = 1; i + 1 < argc; i++)
        if (distributed && !strcmp(argv[i], "--model") &&
            (!strcmp(argv[i + 1], "neuralif") || !strcmp(argv[i + 1], "learned-lu"))) {
            fprintf(stderr, "factormer: data-parallel training (--distributed) is built for --model init and "
                            "accel; --model %s trains in one process\n", argv[i + 1]);
            return 2;
        }
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--model") && !strcmp(argv[i + 1], "neuralif")) return fm_cmd_train_neuralif(argc, argv);
        else if (!strcmp(argv[i], "--model") && !strcmp(argv[i + 1], "learned-lu"))
            return fm_cmd_train_learned_lu(argc, argv);
    fm_train_options o;
    fm_train_options_default(&o, FM_MODEL_INIT);
    const char *model = NULL;
    long value, threads = 0, stop_after = 0;
    double rate = 0;
    bool quiet = false, have_rank = false, have_degrees = false;
    char msg[FM_MSG_LEN] = "";
    o.out = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            return 0;
        }
        if (!strcmp(a, "--quiet")) { quiet = true; continue; }
        if (!strcmp(a, "--resume")) { o.resume = true; continue; }
        if (!strcmp(a, "--any-rank")) { o.any_rank = true; continue; }
        if (!strcmp(a, "--gathered")) { o.gathered = true; continue; }
        if (!strcmp(a, "--pooled")) { o.pooled = true; continue; }
        if (!strcmp(a, "--residual")) { o.residual = true; continue; }
        if (!strcmp(a, "--distributed")) continue;   // (found above)
        if (a[0] != '-') {
            if (!fm_arg_positional(a)) return 2;
            fprintf(stderr, "factormer: train takes no file argument ('%s'); the model goes to --out\n", a);
            return 2;
        }
        if (!(v = fm_arg_value(argc, argv, &i))) return 2;
        bool ok = true;
        if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--unroll")) { ok = whole_number(a, v, 1000, &value); o.unroll = (int)value; }
        else if (!strcmp(a, "--svd-power")) ok = fm_arg_svd_power(a, v, &o.svd_power);
        else if (!strcmp(a, "--max-rank")) { ok = whole_number(a, v, INT_MAX, &value); o.max_rank = (int)value; }
        else if (!strcmp(a, "--rank")) { ok = whole_number(a, v, INT_MAX, &value); o.rank = (int)value; have_rank = true; }
        else if (!strcmp(a, "--width")) { ok = whole_number(a, v, INT_MAX, &value); o.width = (int)value; }
        else if (!strcmp(a, "--heads")) { ok = whole_number(a, v, INT_MAX, &value); o.heads = (int)value; }
        else if (!strcmp(a, "--layers")) { ok = whole_number(a, v, INT_MAX, &value); o.layers = (int)value; }
        else if (!strcmp(a, "--epochs")) { ok = whole_number(a, v, INT_MAX, &value); o.epochs = (int)value; }
        else if (!strcmp(a, "--train-size")) { ok = whole_number(a, v, LONG_MAX, &value); o.train_size = value; }
        else if (!strcmp(a, "--valid-size")) { ok = whole_number(a, v, LONG_MAX, &value); o.valid_size = value; }
        else if (!strcmp(a, "--seed")) { ok = fm_arg_int(a, v, 0, LONG_MAX, &value); o.seed = (uint64_t)value; }
        else if (!strcmp(a, "--valid-steps")) { ok = whole_number(a, v, INT_MAX, &value); o.valid_steps = (int)value; }
        else if (!strcmp(a, "--valid-iters")) { ok = whole_number(a, v, INT_MAX, &value); o.valid_iters = (int)value; }
        else if (!strcmp(a, "--limit-weight")) ok = fm_arg_double(a, v, 0, 1, &o.limit_weight);
        else if (!strcmp(a, "--limit-iters")) { ok = whole_number(a, v, INT_MAX, &value); o.limit_iters = (int)value; }
        else if (!strcmp(a, "--lr")) ok = fm_arg_double(a, v, 1e-12, 1e3, &rate);
        else if (!strcmp(a, "--batch")) { ok = whole_number(a, v, INT_MAX, &value); o.batch = (int)value; }
        else if (!strcmp(a, "--checkpoint-every")) { ok = fm_arg_int(a, v, 0, LONG_MAX, &value); o.checkpoint_every = value; }
        else if (!strcmp(a, "--stop-after")) ok = fm_arg_int(a, v, 1, LONG_MAX, &stop_after);
        else if (!strcmp(a, "--threads")) ok = fm_arg_int(a, v, 1, 4096, &threads);
        else if (!strcmp(a, "--out")) o.out = v;
        else if (!strcmp(a, "--from")) o.from = v;
        else if (!strcmp(a, "--data")) {
            // a kind of §7's exponential family, or a family like real data (of its own kind)
            if (fm_train_family_parse(&o.data.family, v, msg) == FM_OK && o.data.family != FM_FAMILY_EXPONENTIAL) {
                o.data.kind = fm_train_family_kind(o.data.family, o.data.kind);
                if (o.data.family == FM_FAMILY_RATINGS && !have_degrees) o.data.degrees = FM_DEGREES_POWER_LAW;
            } else if (fm_kind_parse(&o.data.kind, v, msg) || o.data.kind == FM_KIND_AUTO) {
                fprintf(stderr, "factormer: --data expects dense, sparse, incomplete, counts, images, ratings, "
                                "spectra, scenes, mix or mix-scenes, not '%s'\n", v);
                return 2;
            } else {
                o.data.family = FM_FAMILY_EXPONENTIAL;
            }
        }
        else if (!strcmp(a, "--zeros")) ok = fm_arg_double(a, v, 0, 0.999999, &o.data.zeros);
        else if (!strcmp(a, "--size-scale")) {
            long scale = 1;
            ok = fm_arg_int(a, v, 1, FM_TRAIN_MAX_SCALE, &scale);
            o.data.scale = (int)scale;
        }
        else if (!strcmp(a, "--rank-spread")) ok = fm_arg_double(a, v, 0, FM_TRAIN_MAX_RANK_SPREAD, &o.data.rank_spread);
        else if (!strcmp(a, "--observed")) ok = fm_arg_double(a, v, 1e-6, 1, &o.data.observed);
        else if (!strcmp(a, "--degrees")) {
            if (fm_degrees_parse(&o.data.degrees, v, msg)) { fprintf(stderr, "factormer: --degrees: %s\n", msg); return 2; }
            have_degrees = true;
        }
        else if (!strcmp(a, "--sampler")) {
            if (fm_sampler_parse(&o.sampling.sampler, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        }
        else if (!strcmp(a, "--fanout")) { ok = fm_arg_int(a, v, 1, 1L << 40, &value); o.sampling.fanout = value; }
        else if (!strcmp(a, "--zero-ratio")) ok = fm_arg_double(a, v, 0, 1e6, &o.sampling.zero_ratio);
        else if (!strcmp(a, "--budget")) { ok = fm_arg_int(a, v, 1, 1L << 40, &value); o.sampling.budget = value; }
        else if (!strcmp(a, "--walk-length")) { ok = fm_arg_int(a, v, 1, 1000, &value); o.sampling.walk_length = (int)value; }
        else if (!strcmp(a, "--presamples")) { ok = fm_arg_int(a, v, 1, 1000000, &value); o.sampling.presamples = value; }
        else { fprintf(stderr, "factormer: unknown option '%s' (see 'factormer train --help')\n", a); return 2; }
        if (!ok) return 2;
    }
    if (!model) { fprintf(stderr, "factormer: train needs --model init or --model accel\n"); return 2; }
    if (!strcmp(model, "init")) o.kind = FM_MODEL_INIT;
    else if (!strcmp(model, "accel")) o.kind = FM_MODEL_ACCEL;
    else { fprintf(stderr, "factormer: --model expects init or accel, not '%s'\n", model); return 2; }
    if (!have_rank && !o.any_rank) { fprintf(stderr, "factormer: train needs --rank K (1 to %d)\n", FM_TRAIN_MAX_RANK); return 2; }
    if (!o.out || !*o.out) { fprintf(stderr, "factormer: train needs --out MODEL.fmw\n"); return 2; }
    o.rate = rate > 0 ? rate : o.kind == FM_MODEL_ACCEL ? FM_TRAIN_RATE_ACCEL : FM_TRAIN_RATE_INIT;
    if (fm_train_check(&o, msg) != FM_OK) {
        // "train: ..." names the option
        fprintf(stderr, "factormer: %s\n", msg);
        return 2;
    }
    if (threads > 0) fm_set_threads((int)threads);
    fm_comm comm = { .size = 1 };
    if (distributed) {
        if (fm_comm_start(&comm, NULL, NULL, msg)) {
            fprintf(stderr, "factormer: %s\n", msg);
            return 2;
        }
        o.comm = &comm;
        quiet |= comm.rank > 0;   // process 0 reports; every process decides alike when to stop
    }
    const int status = train_and_report(&o, quiet, stop_after);
    fm_comm_stop(&comm);
    return status;
}

// The run and its report (the second half of fm_cmd_train).
static int train_and_report(fm_train_options *options, bool quiet, long stop_after)
{
    fm_train_options o = *options;
    char msg[FM_MSG_LEN] = "";
    progress q = {.quiet = quiet, .tty = isatty(2), .stop_after = stop_after, .accel = o.kind == FM_MODEL_ACCEL,
                  .from = o.from != NULL, .baseline = fm_train_valid_chain_steps(&o) > 0 ? "plain ADMM" : "nndsvd",
                  .first_matrices = -1};
    o.progress = show_progress;
    o.user = &q;
    fm_train_result *r = NULL;
    if (fm_train_run(&r, &o, msg) != FM_OK) {
        if (!quiet && q.tty) fprintf(stderr, "\n");
        if (!o.comm || o.comm->rank == 0) fprintf(stderr, "factormer: %s\n", msg);   // (agreed: the same in all)
        return 1;
    }
    if (!quiet && q.tty) fprintf(stderr, "\r\033[K");
    if (!quiet) {
        const char *name = fm_model_kind_name(o.kind);
        char ranks[128];
        char term[64] = "";   // e.g. " (pooled and residual, with the gathered term)"
        if (o.pooled || o.gathered)
            snprintf(term, sizeof term, " (%s%s%s)", o.pooled ? (o.residual ? "pooled and residual" : "pooled") : "",
                     o.pooled && o.gathered ? ", " : "", o.gathered ? "with the gathered term" : "");
        if (o.any_rank && o.max_rank > o.rank) snprintf(ranks, sizeof ranks, "any rank%s, trained at ranks %d-%d", term, o.rank, o.max_rank);
        else if (o.any_rank) snprintf(ranks, sizeof ranks, "any rank%s, trained at rank %d", term, o.rank);
        else snprintf(ranks, sizeof ranks, "rank %d", o.rank);
        printf("%s %s model: %s, width %d, %d heads, %d layers; %lld matrices per epoch, seed %llu\n",
               r->stopped ? "stopped training the" : r->resumed ? "resumed and trained the" : "trained the", name,
               ranks, o.width, o.heads, o.layers, (long long)o.train_size, (unsigned long long)o.seed);
        printf("  data         %s", fm_kind_name(o.data.kind));
        if (o.data.family != FM_FAMILY_EXPONENTIAL) printf(" (%s)", fm_train_family_name(o.data.family));
        if (o.data.scale > 1) printf(", shapes x %d", o.data.scale);
        if (o.data.rank_spread > 0) printf(", planted ranks 2^±%g of the rank", o.data.rank_spread);
        if (o.data.kind == FM_KIND_SPARSE) printf(", %g zeros", o.data.zeros);
        if (o.data.kind == FM_KIND_INCOMPLETE)
            printf(", %g observed, %s degrees", o.data.observed, fm_degrees_name(o.data.degrees));
        printf("; sampler %s", fm_sampler_name(o.sampling.sampler));
        if (o.sampling.sampler != FM_SAMPLER_FULL && o.sampling.sampler < FM_SAMPLER_NODE_WISE)
            printf(", fanout %lld", (long long)o.sampling.fanout);
        if (o.sampling.sampler >= FM_SAMPLER_NODE_WISE)
            printf(", budget %s, %lld presamples", o.sampling.budget ? "given" : "default",
                   (long long)o.sampling.presamples);
        printf("\n");
        printf("  epochs       %llu of %d done", (unsigned long long)r->state.epoch, o.epochs);
        if (r->state.rng_counter) printf(" (and %llu matrices of the next)", (unsigned long long)r->state.rng_counter);
        printf("\n");
        if (r->stopped)
            printf("  stopped      after %lld matrices (--stop-after): continue with --resume\n",
                   (long long)r->matrices);
        if (isfinite(r->state.best_validation_rmse)) {
            if (r->state.best_epoch)
                printf("  best         epoch %llu, validation rmse %.6g", (unsigned long long)r->state.best_epoch,
                       r->state.best_validation_rmse);
            else   // no epoch beat the model fine-tuning started from
                printf("  best         the --from model, validation rmse %.6g", r->state.best_validation_rmse);
            if (isfinite(r->baseline))
                printf(" (%s baseline %.6g)", q.baseline, r->baseline);
            printf("\n");
        }
        if (r->count && r->epochs[0].epoch == 0)
            printf("  %-12s validation rmse %.6g\n", o.from ? "start" : "untrained", r->epochs[0].valid);
        printf("  time         %.2f s, %lld matrices at %.4g s each (%d threads", r->seconds,
               (long long)r->matrices, r->matrices ? r->train_seconds / (double)r->matrices : NAN, fm_get_threads());
        if (o.comm) printf(" in each of %d processes", o.comm->size);
        printf(")\n");
        const bool model_there = access(o.out, F_OK) == 0, state_there = access(r->state_path, F_OK) == 0;
        if (model_there || state_there)
            printf("  wrote        %s%s%s\n", model_there ? o.out : "", model_there && state_there ? " " : "",
                   state_there ? r->state_path : "");
    }
    fm_train_result_free(&r);
    return 0;
}
