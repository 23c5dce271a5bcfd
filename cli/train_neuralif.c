// factormer train --model neuralif: the learned incomplete Cholesky factor
// (models/precond/neuralif_train).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "factormer.h"
#include "neuralif_train.h"
#include "train_precond.h"

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
    "  --loss sketched|spectrum|preconditioned\n"
    "                          the sketched loss (default); the spectrum-aware\n"
    "                          ‖L Lᵀ x − A x‖ with x ≈ A⁻¹ b solved once per training\n"
    "                          matrix (PCG with IC(0)); or the preconditioned\n"
    "                          ‖L⁻¹ A L⁻ᵀ z − z‖, the operator CG iterates with\n"
    "  --sparsity W            add W · Σ|l_ij| over the off-diagonal entries to the\n"
    "                          loss, so the drop tolerance removes more (default 0)\n"
    "  --init M.fmw            start from this NeuralIF model's values (fine-tuning;\n"
    "                          the optimizer's moments start at zero)\n"
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

// --data, the one option of its own.
static int own_option(const char *a, const char *v, void *user)
{
    fm_nif_train_options *o = user;
    if (!strcmp(a, "--loss")) {
        char msg[FM_MSG_LEN];
        if (fm_llu_loss_parse(&o->loss, v, msg) != FM_OK) { fprintf(stderr, "factormer: %s\n", msg); return -1; }
        return 1;
    }
    if (!strcmp(a, "--sparsity")) return fm_arg_double(a, v, 0, 1e6, &o->sparsity) ? 1 : -1;
    if (!strcmp(a, "--init")) {
        o->init_from = v;
        return 1;
    }
    if (strcmp(a, "--data")) return 0;
    if (!strcmp(v, "random-spd")) o->data = FM_SPD_RANDOM;
    else if (!strcmp(v, "diffusion")) o->data = FM_SPD_DIFFUSION;
    else { fprintf(stderr, "factormer: --data expects random-spd or diffusion, not '%s'\n", fm_arg_shown(v)); return -1; }
    return 1;
}

int fm_cmd_train_neuralif(int argc, char **argv)
{
    fm_nif_train_options o;
    fm_nif_train_defaults(&o);
    char msg[FM_MSG_LEN] = "";
    fm_train_args t = { .model = "neuralif", .help = help, .size = &o.size, .train_count = &o.train_count,
                        .valid_count = &o.valid_count, .epochs = &o.epochs, .checkpoint_every = &o.checkpoint_every,
                        .rate = &o.rate, .time_limit = &o.time_limit, .seed = &o.seed, .resume = &o.resume,
                        .out = &o.out, .own = own_option, .user = &o };
    const int parsed = fm_train_args_parse(&t, argc, argv);
    if (parsed) return parsed == 1 ? 0 : 2;
    const bool quiet = t.quiet;
    if (!t.have_size && o.data == FM_SPD_DIFFUSION) o.size = 128;
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
