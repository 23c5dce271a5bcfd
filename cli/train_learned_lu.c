// factormer train --model learned-lu: the learned incomplete LU factors for
// GMRES (models/precond/learned_lu_train).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "factormer.h"
#include "learned_lu_train.h"
#include "train_precond.h"

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

// --data, --loss and --output, the options of its own.
static int own_option(const char *a, const char *v, void *user)
{
    fm_llu_train_options *o = user;
    char msg[FM_MSG_LEN] = "";
    if (!strcmp(a, "--data")) {
        if (fm_general_kind_parse(&o->data, v, msg) != FM_OK) { fprintf(stderr, "factormer: --data: %s\n", msg); return -1; }
    }
    else if (!strcmp(a, "--output")) {
        if (fm_llu_output_parse(&o->output, v, msg) != FM_OK) { fprintf(stderr, "factormer: %s\n", msg); return -1; }
    }
    else if (!strcmp(a, "--loss")) {
        if (fm_llu_loss_parse(&o->loss, v, msg) != FM_OK) { fprintf(stderr, "factormer: %s\n", msg); return -1; }
    }
    else return 0;
    return 1;
}

int fm_cmd_train_learned_lu(int argc, char **argv)
{
    fm_llu_train_options o;
    fm_llu_train_defaults(&o);
    char msg[FM_MSG_LEN] = "";
    fm_train_args t = { .model = "learned-lu", .help = help, .size = &o.size, .train_count = &o.train_count,
                        .valid_count = &o.valid_count, .epochs = &o.epochs, .checkpoint_every = &o.checkpoint_every,
                        .rate = &o.rate, .time_limit = &o.time_limit, .seed = &o.seed, .resume = &o.resume,
                        .out = &o.out, .own = own_option, .user = &o };
    const int parsed = fm_train_args_parse(&t, argc, argv);
    if (parsed) return parsed == 1 ? 0 : 2;
    const bool quiet = t.quiet;
    if (!t.have_size && o.data == FM_GENERAL_RANDOM) o.size = 2000;
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
