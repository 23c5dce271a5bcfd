// factormer train --model learned-lu: the learned incomplete LU factors for
// GMRES (models/precond/learned_lu_train).
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "factormer.h"
#include "learned_lu_train.h"
#include "train_progress.h"

static const char help[] =
    "usage: factormer train --model learned-lu --out MODEL.fmw [options]\n"
    "\n"
    "Trains the learned LU, the graph network that outputs sparse factors L and U\n"
    "on the pattern of a general matrix A (L U preconditions GMRES), on matrices\n"
    "generated on the fly, with one of two losses: sketched ‖L U z − A z‖ with a\n"
    "Gaussian probe per step, or spectrum-aware ‖L U x − b‖ with x = A⁻¹ b solved\n"
    "once per training matrix by UMFPACK (both on the unit-diagonal scaling of A).\n"
    "AdamW with gradient-norm clipping, batch 1. Before the first epoch and after\n"
    "every epoch the model is validated by the mean GMRES(50) iterations on\n"
    "held-out matrices, and the best epoch's model is written to MODEL.fmw. The\n"
    "training state goes to MODEL.fmw.state after every epoch and every\n"
    "--checkpoint-every steps.\n"
    "\n"
    "  --model learned-lu      (required)\n"
    "  --data convection|random\n"
    "                          convection-diffusion on grids with random velocity\n"
    "                          fields (default), or A = M M'^T + 1e-3 I\n"
    "  --loss sketched|spectrum  (default sketched)\n"
    "  --output scaled|direct  the factors' off-diagonal values: the network's output\n"
    "                          times the matrix entry (default scaled), or the output\n"
    "                          itself (the paper's)\n"
    "  --size N                convection: the largest grid side (default 64);\n"
    "                          random: n (default 2000)\n"
    "  --train-size N          training matrices per epoch (default 200)\n"
    "  --valid-size N          validation matrices (default 10)\n"
    "  --epochs E              (default 1)\n"
    "  --lr R                  AdamW's rate (default 1e-3)\n"
    "  --seed S                seed of the order, the probes and the initial model (default 42)\n"
    "  --checkpoint-every K    write the state every K steps (default 100; 0: after epochs only)\n"
    "  --time-limit S          stop after the step that passes S seconds (state written)\n"
    "  --resume                continue the run saved in MODEL.fmw.state (same options)\n"
    "  --threads N             threads (default: all)\n"
    "  --out MODEL.fmw         the best model (required)\n"
    "  --quiet                 no progress, no summary\n"
    FM_ARG_PROFILE_HELP;

int fm_cmd_train_learned_lu(int argc, char **argv)
{
    fm_llu_train_options o;
    fm_llu_train_defaults(&o);
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
            if (strcmp(v, "learned-lu")) { fprintf(stderr, "factormer: --model learned-lu was given twice\n"); return 2; }
        }
        else if (!strcmp(a, "--data")) {
            if (fm_general_kind_parse(&o.data, v, msg) != FM_OK) { fprintf(stderr, "factormer: --data: %s\n", msg); return 2; }
        }
        else if (!strcmp(a, "--output")) {
            if (fm_llu_output_parse(&o.output, v, msg) != FM_OK) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        }
        else if (!strcmp(a, "--loss")) {
            if (fm_llu_loss_parse(&o.loss, v, msg) != FM_OK) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        }
        else if (!strcmp(a, "--size")) { ok = fm_arg_int(a, v, 2, 1L << 31, &value); o.size = value; have_size = true; }
        else if (!strcmp(a, "--train-size")) { ok = fm_arg_int(a, v, 1, 1L << 40, &value); o.train_count = value; }
        else if (!strcmp(a, "--valid-size")) { ok = fm_arg_int(a, v, 1, 1L << 20, &value); o.valid_count = value; }
        else if (!strcmp(a, "--epochs")) { ok = fm_arg_int(a, v, 0, 1L << 30, &value); o.epochs = value; }
        else if (!strcmp(a, "--lr")) ok = fm_arg_double(a, v, 1e-12, 1e3, &o.rate);
        else if (!strcmp(a, "--seed")) { ok = fm_arg_int(a, v, 0, LONG_MAX, &value); o.seed = (uint64_t)value; }
        else if (!strcmp(a, "--checkpoint-every")) { ok = fm_arg_int(a, v, 0, LONG_MAX, &value); o.checkpoint_every = value; }
        else if (!strcmp(a, "--time-limit")) ok = fm_arg_double(a, v, 0, 1e9, &o.time_limit);
        else if (!strcmp(a, "--threads")) ok = fm_arg_int(a, v, 1, 4096, &threads);
        else if (!strcmp(a, "--out")) o.out = v;
        else { fprintf(stderr, "factormer: unknown option '%s' (see 'factormer train --model learned-lu --help')\n", a); return 2; }
        if (!ok) return 2;
    }
    if (!have_size && o.data == FM_GENERAL_RANDOM) o.size = 2000;
    if (!o.out || !*o.out) { fprintf(stderr, "factormer: train needs --out MODEL.fmw\n"); return 2; }
    if (threads > 0) fm_set_threads((int)threads);
    fm_train_show q = { quiet, isatty(2), "GMRES iterations" };
    o.progress = fm_train_show_progress;
    o.user = &q;
    fm_llu_train_result r;
    if (fm_llu_train(&r, &o, msg) != FM_OK) return fm_train_show_failed(&q, msg);
    fm_train_show_done(&q);
    if (!quiet) {
        printf("%s the learned-lu model: %d layers, width %d, the %s loss, the %s output; %s data of size %lld, "
               "%lld matrices per epoch, seed %llu\n",
               r.stopped ? "stopped training" : "trained", o.config.layers, o.config.width,
               fm_llu_loss_name(o.loss), fm_llu_output_name(o.output), fm_general_kind_name(o.data), (long long)o.size,
               (long long)o.train_count, (unsigned long long)o.seed);
        fm_train_show_summary(&q, &r, o.epochs, o.out);
    }
    return 0;
}
