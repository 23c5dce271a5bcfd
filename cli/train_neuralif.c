// factormer train --model neuralif: the learned incomplete Cholesky factor
// (models/precond/neuralif_train).
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "factormer.h"
#include "neuralif_train.h"
#include "train_progress.h"

static const char help[] =
    "usage: factormer train --model neuralif --out MODEL.fmw [options]\n"
    "\n"
    "Trains NeuralIF, the graph network that outputs an incomplete Cholesky factor\n"
    "L of an SPD matrix (L Lᵀ preconditions CG), on matrices generated on the fly:\n"
    "the unsupervised sketched loss ‖L Lᵀ z − A z‖ with one Gaussian probe per\n"
    "matrix, AdamW with gradient-norm clipping, batch 1. Before the first epoch and\n"
    "after every epoch the model is validated by the mean CG iterations on held-out\n"
    "matrices, and the best epoch's model is written to MODEL.fmw. The training\n"
    "state goes to MODEL.fmw.state after every epoch and every --checkpoint-every steps.\n"
    "\n"
    "  --model neuralif        (required)\n"
    "  --data random-spd|diffusion\n"
    "                          random SPD matrices M Mᵀ + 1e-3 I (default), or\n"
    "                          diffusion on grids with random coefficients\n"
    "  --size N                random-spd: n (default 10000); diffusion: the largest\n"
    "                          grid side (default 128)\n"
    "  --train-size N          training matrices per epoch (default 1000)\n"
    "  --valid-size N          validation matrices (default 10)\n"
    "  --epochs E              (default 1)\n"
    "  --loss sketched|spectrum  the sketched loss (default), or the spectrum-aware\n"
    "                          ‖L Lᵀ x − A x‖ with x ≈ A⁻¹ b solved once per training\n"
    "                          matrix (PCG with IC(0))\n"
    "  --lr R                  AdamW's rate (default 1e-3)\n"
    "  --seed S                seed of the order, the probes and the initial model (default 42)\n"
    "  --checkpoint-every K    write the state every K steps (default 100; 0: after epochs only)\n"
    "  --time-limit S          stop after the step that passes S seconds (state written)\n"
    "  --resume                continue the run saved in MODEL.fmw.state (same options)\n"
    "  --threads N             threads (default: all)\n"
    "  --out MODEL.fmw         the best model (required)\n"
    "  --quiet                 no progress, no summary\n"
    FM_ARG_PROFILE_HELP;

static const char *data_name(fm_spd_kind kind) { return kind == FM_SPD_DIFFUSION ? "diffusion" : "random-spd"; }

int fm_cmd_train_neuralif(int argc, char **argv)
{
    fm_nif_train_options o;
    fm_nif_train_defaults(&o);
    long value, threads = 0;
    bool quiet = false, have_size = false;
    char msg[FM_MSG_LEN] = "";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(help, stdout); return 0; }
        if (!strcmp(a, "--quiet")) { quiet = true; continue; }
        if (!strcmp(a, "--resume")) { o.resume = true; continue; }
        if (a[0] != '-') {
            fprintf(stderr, "factormer: train takes no file argument ('%s'); the model goes to --out\n", a);
            return 2;
        }
        if (!(v = fm_arg_value(argc, argv, &i))) return 2;
        bool ok = true;
        if (!strcmp(a, "--model")) {
            if (strcmp(v, "neuralif")) { fprintf(stderr, "factormer: --model neuralif was given twice\n"); return 2; }
        }
        else if (!strcmp(a, "--data")) {
            if (!strcmp(v, "random-spd")) o.data = FM_SPD_RANDOM;
            else if (!strcmp(v, "diffusion")) o.data = FM_SPD_DIFFUSION;
            else { fprintf(stderr, "factormer: --data expects random-spd or diffusion, not '%s'\n", fm_arg_shown(v)); return 2; }
        }
        else if (!strcmp(a, "--size")) { ok = fm_arg_int(a, v, 2, 1L << 31, &value); o.size = value; have_size = true; }
        else if (!strcmp(a, "--train-size")) { ok = fm_arg_int(a, v, 1, 1L << 40, &value); o.train_count = value; }
        else if (!strcmp(a, "--valid-size")) { ok = fm_arg_int(a, v, 1, 1L << 20, &value); o.valid_count = value; }
        else if (!strcmp(a, "--epochs")) { ok = fm_arg_int(a, v, 0, 1L << 30, &value); o.epochs = value; }
        else if (!strcmp(a, "--loss")) {
            if (fm_llu_loss_parse(&o.loss, v, msg) != FM_OK) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        }
        else if (!strcmp(a, "--lr")) ok = fm_arg_double(a, v, 1e-12, 1e3, &o.rate);
        else if (!strcmp(a, "--seed")) { ok = fm_arg_int(a, v, 0, LONG_MAX, &value); o.seed = (uint64_t)value; }
        else if (!strcmp(a, "--checkpoint-every")) { ok = fm_arg_int(a, v, 0, LONG_MAX, &value); o.checkpoint_every = value; }
        else if (!strcmp(a, "--time-limit")) ok = fm_arg_double(a, v, 0, 1e9, &o.time_limit);
        else if (!strcmp(a, "--threads")) ok = fm_arg_int(a, v, 1, 4096, &threads);
        else if (!strcmp(a, "--out")) o.out = v;
        else { fprintf(stderr, "factormer: unknown option '%s' (see 'factormer train --model neuralif --help')\n", a); return 2; }
        if (!ok) return 2;
    }
    if (!have_size && o.data == FM_SPD_DIFFUSION) o.size = 128;
    if (!o.out || !*o.out) { fprintf(stderr, "factormer: train needs --out MODEL.fmw\n"); return 2; }
    if (threads > 0) fm_set_threads((int)threads);
    fm_train_show q = { quiet, isatty(2), "CG iterations" };
    o.progress = fm_train_show_progress;
    o.user = &q;
    fm_nif_train_result r;
    if (fm_nif_train(&r, &o, msg) != FM_OK) return fm_train_show_failed(&q, msg);
    fm_train_show_done(&q);
    if (!quiet) {
        printf("%s the neuralif model: %d blocks, hidden width %d; %s data of size %lld, %lld matrices per epoch, seed %llu\n",
               r.stopped ? "stopped training" : "trained", o.config.blocks, o.config.hidden, data_name(o.data),
               (long long)o.size, (long long)o.train_count, (unsigned long long)o.seed);
        fm_train_show_summary(&q, &r, o.epochs, o.out);
    }
    return 0;
}
