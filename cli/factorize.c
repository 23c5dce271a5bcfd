// factormer factorize: read (or plant) a matrix, run AO-ADMM, write the
// factors, the trace and a summary.
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "factorize.h"
#include "factorize_top.h"
#include "factormer.h"
#include "output.h"
#include "signals.h"

static const char help[] =
    "usage: factormer factorize [DATA[.gz]] [options]\n"
    "\n"
    "Factorizes a nonnegative matrix X ~ W H (W: rows x rank, H: rank x cols) by\n"
    "alternating ADMM. Without DATA, factorizes a planted 1000 x 500 matrix of rank 10.\n"
    "\n"
    "  --rank K            rank of the factorization (default 10; at most 256)\n"
    "  --format F          DATA's format: mtx (Matrix Market), triplets (lines of\n"
    "                      \"row col value [timestamp]\", 1-based ids, as MovieLens's\n"
    "                      u.data), csv (dense rows of comma- or tab-separated\n"
    "                      values) or auto (default: .csv and .tsv are csv; .data,\n"
    "                      .txt and .dat are triplets unless they start with a\n"
    "                      Matrix Market header; anything else is mtx)\n"
    "  --kind KIND         dense, sparse (unstored entries are zeros) or incomplete\n"
    "                      (unstored entries are unknown); default: dense for array\n"
    "                      files, sparse for coordinate files\n"
    "  --init METHOD       random, nndsvd (default), nndsvda, nndsvdar, or learned:\n"
    "                      the initialization network on the nndsvd start\n"
    "  --svd-power N       power iterations of the randomized SVD behind the nndsvd\n"
    "                      starts, 0 to 64: fewer make a cheaper, rougher start.\n"
    "                      auto (default): 7, or 4 when the rank is a tenth of the\n"
    "                      smaller side or more (scikit-learn's rule); 1 for\n"
    "                      --init learned, whose network refines the start\n"
    "  --accelerate        run the acceleration network after every --accel-every\n"
    "                      iterations, --accel-steps times, then the solver\n"
    "                      alone (ADMM, then the exact phase of --finish)\n"
    "  --accel-every C     ADMM iterations per accelerator step (default 5)\n"
    "  --accel-steps T     accelerator steps at most (default 5)\n"
    "  --no-safeguard      keep every accelerator output as it is (the paper's\n"
    "                      Algorithm 2). By default a component the network put to\n"
    "                      zero is taken from the ADMM iterate, and an output whose\n"
    "                      objective is above the ADMM iterate's is refused\n"
    "  --keep-accelerating take all --accel-steps steps. By default, with the\n"
    "                      safeguard, the accelerator is given up for the run once\n"
    "                      an output is refused or gains less than the ADMM\n"
    "                      iteration before it did, or before a step predicted to\n"
    "                      cost more than its share of --accel-budget\n"
    "  --accel-budget F    the share of plain ADMM's remaining time the accelerator\n"
    "                      may spend (default 0.1: a run at most 1.1x as long);\n"
    "                      a pass is predicted from the network's work over an\n"
    "                      ADMM iteration's (no clock). 'none': no limit\n"
    "  --sampler NAME      the networks read a sample of the graph (§8): full (every\n"
    "                      edge, default), uniform, weighted (by |x|) or stratified\n"
    "                      (sparse kind: stored entries and unstored zeros). A\n"
    "                      pooled model (§5.2) reads uniform samples of fanout 8\n"
    "                      unless --sampler is given, as it was trained (above\n"
    "                      the ranks it was trained at, R, which its file\n"
    "                      records, of 8 (rank/R)^2; the shipped ones: R = 32\n"
    "                      for the initialization and 20 for the accelerator,\n"
    "                      at rank 40 13 and 32)\n"
    "  --fanout F          in-edges kept per target by the sampler (default 32)\n"
    "  --zero-ratio R      stratified: unstored zeros per target = R x fanout (default 1)\n"
    "  --resample WHEN     per-layer (default: each layer its own sample) or once\n"
    "                      (one sample per network call, shared by its layers)\n"
    "  --kernels PATH      the networks' attention: fused (default) or graphblas (the\n"
    "                      reference semirings, on a copy or sample of the edges)\n"
    "  --batch-targets N   run each network layer on N of its targets at a time, so\n"
    "                      its working memory is one batch's (default 8192; 0: all\n"
    "                      its targets at once)\n"
    "  --model PATH        the model file of --init learned or of --accelerate\n"
    "                      (default: init.fmw or accel.fmw, the models of any rank,\n"
    "                      in $FACTORMER_MODELS, else in the shipped models\n"
    "                      directory, and where there is none, the rank's own\n"
    "                      init-rankK.fmw or accel-rankK.fmw there)\n"
    "  --init-model PATH   the initialization model, when both are used\n"
    "  --accel-model PATH  the acceleration model, when both are used\n"
    "  --init-from PREFIX  continue an earlier run: start from PREFIX.W.mtx and\n"
    "                      PREFIX.H.mtx (their rank is the run's; --init, --init\n"
    "                      learned and --accelerate do not combine with it) and, when\n"
    "                      that run saved it (--save-state), the solver's state, so\n"
    "                      that --iters more iterations continue it as one longer run\n"
    "                      would (with the same options), in either phase\n"
    "  --save-state        also write the solver's state for a later --init-from,\n"
    "                      PREFIX.state.W.mtx and PREFIX.state.H.mtx: in the exact\n"
    "                      phase (--finish hals) the extrapolation's previous iterate,\n"
    "                      with its beta, its ceiling and the last accepted objective\n"
    "                      on a comment line; in the ADMM phase (--finish none) the\n"
    "                      scaled duals; and the phase and the iteration count.\n"
    "                      Not with --keep best (whose factors are not the last)\n"
    "  --loss LOSS         ls (least squares, default) or kl (generalized Kullback-\n"
    "                      Leibler divergence, for counts; multiplicative updates;\n"
    "                      the incomplete kind over its observed entries; init\n"
    "                      nndsvda by default)\n"
    "  --iters N           outer iterations (default 100)\n"
    "  --inner N           ADMM steps per factor update (default 1)\n"
    "  --finish PHASE      hals: once an iteration lowers the objective by less than\n"
    "                      --finish-below, exact block updates (coordinate descent\n"
    "                      on the same products) replace the ADMM steps, so the run\n"
    "                      converges to the answer; none: ADMM to the end\n"
    "  --finish-below R    the relative decrease that starts the exact phase\n"
    "                      (0: exact updates from the first iteration; default 0,\n"
    "                      1e-3 for the incomplete kind, 0.3 after --init learned,\n"
    "                      whose start was trained to lead ADMM)\n"
    "  --finish-sweeps N   coordinate sweeps per exact factor update (default 1)\n"
    "  --no-extrapolation  plain exact updates (by default each starts from the last\n"
    "                      iterate moved on along its last step, the move cut back\n"
    "                      when the objective rises)\n"
    "  --tol T             stop when the objective changes by less than T relative\n"
    "                      (default 1e-6; 0 disables)\n"
    "  --exact-objective   compute every trace row's objective by a pass over X (by\n"
    "                      default a row may come from the W-update's products,\n"
    "                      within 0.1%; the last row is always exact)\n"
    "  --time-limit S      stop after S seconds (default: none)\n"
    "  --distributed       under mpirun (a build with -DFM_MPI=ON): each process\n"
    "                      reads and fits a block of rows, process 0 writes the\n"
    "                      outputs (docs §11); every kind, the random and nndsvd\n"
    "                      starts, --finish, penalties, --holdout, --test, --keep\n"
    "                      best, --patience\n"
    "  --grid PRxPC        with --distributed: the processes on a PR x PC grid of\n"
    "                      blocks of X (docs §11.4; default P x 1, rows only)\n"
    "                      e.g. mpirun -np 4 factormer factorize X.mtx --distributed\n"
    "  --l1 A[,B]          L1 (sparsity) penalty on W and H (A on W, B on H if given)\n"
    "  --l2 A[,B]          L2 (ridge) penalty on W and H\n"
    "  --l2-per-entry      weigh the L2 penalty of each row of W and column of H by\n"
    "                      its observed entries (weighted-lambda, as ALS for ratings)\n"
    "  --holdout F         keep a seeded fraction F of the entries out of the fit and\n"
    "                      report their RMSE: of the observed entries for the\n"
    "                      incomplete kind; of all rows x cols entries, zeros and\n"
    "                      stored values alike, for the dense and sparse kinds (a\n"
    "                      speckled mask: each row and column is fitted on its\n"
    "                      known entries)\n"
    "  --test FILE         incomplete kind: report the RMSE on the entries of FILE\n"
    "                      (a held-out test set) at every iteration\n"
    "  --keep WHICH        last (default): write the last iteration's factors; best:\n"
    "                      those of the iteration with the lowest held-out RMSE\n"
    "                      (needs --holdout or --test)\n"
    "  --patience N        stop when the held-out RMSE has not improved for N\n"
    "                      iterations (needs --holdout or --test)\n"
    "  --threads N         threads for OpenMP, OpenBLAS and GraphBLAS (default: all)\n"
    "  --seed S            seed of the initialization and the holdout (default 42)\n"
    "  --out PREFIX        write PREFIX.W.mtx, PREFIX.H.mtx, PREFIX.trace.csv and\n"
    "                      PREFIX.summary.json (default: the data file's name), all\n"
    "                      four or none, renamed into place once all are written;\n"
    "                      PREFIX.lock keeps a second run off the prefix meanwhile\n"
    "  --top N             print the N heaviest rows of each component of W\n"
    "                      (components by weight ||W[:,r]|| ||H[r,:]||) and write\n"
    "                      them to PREFIX.top.tsv, with the other four files\n"
    "  --row-names FILE    the rows' names, one per line, for --top (default 10)\n"
    "  --quiet             no progress, no summary on the terminal (and no note on\n"
    "                      the kind a coordinate file defaults to)\n"
    FM_ARG_MEMORY_HELP
    FM_ARG_PROFILE_HELP
    "\n"
    "SIGINT (Ctrl-C), SIGTERM or SIGHUP during the iterations stops the run at the\n"
    "end of the current one: the factors of that iteration are written, the summary\n"
    "says \"stop_reason\": \"interrupted\", and the exit code is 128 + the signal\n"
    "(130, 143, 129). A signal before the iterations, or a second one, ends the run\n"
    "at once and leaves the previous run's files as they were.\n";

// "A" or "A,B": the penalties on W and on H.
static bool parse_penalty(const char *option, const char *text, float *on_w, float *on_h)
{
    char first[64];
    const char *comma = strchr(text, ',');
    size_t len = comma ? (size_t)(comma - text) : strlen(text);
    if (len >= sizeof first) len = sizeof first - 1;
    memcpy(first, text, len);
    first[len] = 0;
    double a, b;
    if (!fm_arg_double(option, first, 0, 1e30, &a)) return false;
    b = a;
    if (comma && !fm_arg_double(option, comma + 1, 0, 1e30, &b)) return false;
    *on_w = (float)a;
    *on_h = (float)b;
    return true;
}

int fm_cmd_factorize(int argc, char **argv)
{
    const char *data = NULL, *out_prefix = NULL, *test_file = NULL, *model = NULL, *init_from = NULL;
    bool rank_given = false, init_given = false, save_state = false, distributed = false;
    int grid[2] = { 0, 0 };   // --grid PRxPC
    fm_kind kind = FM_KIND_AUTO;
    fm_format format = FM_FORMAT_AUTO;
    fm_factorize_top top = { 0 };
    double holdout_fraction = 0;
    long threads = 0, value;
    bool quiet = false, batch_given = false;
    fm_solver_options opts;
    fm_solver_options_default(&opts);
    char msg[FM_MSG_LEN] = "";

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            return 0;
        }
        if (!strcmp(a, "--quiet")) { quiet = true; continue; }
        if (!strcmp(a, "--accelerate")) { opts.accelerate = true; continue; }
        if (!strcmp(a, "--no-safeguard")) { opts.accel_safeguard = false; continue; }
        if (!strcmp(a, "--keep-accelerating")) { opts.accel_give_up = false; continue; }
        if (!strcmp(a, "--accel-budget") && i + 1 < argc && !strcmp(argv[i + 1], "none")) {
            opts.accel_budget = INFINITY;
            i++;
            continue;
        }
        if (!strcmp(a, "--exact-objective")) { opts.exact_objective = true; continue; }
        if (!strcmp(a, "--distributed")) { distributed = true; continue; }
        if (!strcmp(a, "--save-state")) { save_state = opts.keep_duals = true; continue; }
        if (!strcmp(a, "--no-extrapolation")) { opts.finish_plain = true; continue; }
        if (!strcmp(a, "--l2-per-entry")) {
            opts.penalty_w.l2_per_entry = opts.penalty_h.l2_per_entry = true;
            continue;
        }
        if (a[0] != '-') {
            if (!fm_arg_data(&data, a)) return 2;
            continue;
        }
        if (!(v = fm_arg_value(argc, argv, &i))) return 2;
        bool ok = true;
        if (!strcmp(a, "--rank")) { ok = fm_arg_rank(a, v, &value); opts.rank = (int)value; rank_given = true; }
        else if (!strcmp(a, "--kind")) {
            if (fm_kind_parse(&kind, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        } else if (!strcmp(a, "--init")) {
            init_given = true;
            if (fm_init_parse(&opts.init, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        } else if (!strcmp(a, "--svd-power")) ok = fm_arg_svd_power(a, v, &opts.svd_power);
        else if (!strcmp(a, "--loss")) {
            if (fm_loss_parse(&opts.loss, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        }
        else if (!strcmp(a, "--iters")) { ok = fm_arg_int(a, v, 0, 100000000, &value); opts.iters = (int)value; }
        else if (!strcmp(a, "--inner")) { ok = fm_arg_int(a, v, 1, 100000, &value); opts.inner = (int)value; }
        else if (!strcmp(a, "--grid")) {
            char end = 0;
            if (sscanf(v, "%dx%d%c", &grid[0], &grid[1], &end) != 2 || grid[0] < 1 || grid[1] < 1) {
                fprintf(stderr, "factormer: --grid expects PRxPC (processes in grid rows x columns), not '%s'\n",
                        fm_arg_shown(v));
                return 2;
            }
        }
        else if (!strcmp(a, "--finish")) {
            if (fm_finish_parse(&opts.finish, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        }
        else if (!strcmp(a, "--finish-sweeps")) {
            ok = fm_arg_int(a, v, 1, 100000, &value);
            opts.finish_sweeps = (int)value;
        }
        else if (!strcmp(a, "--finish-below")) ok = fm_arg_double(a, v, 0, 1, &opts.finish_below);
        else if (!strcmp(a, "--tol")) ok = fm_arg_double(a, v, 0, 1, &opts.tol);
        else if (!strcmp(a, "--time-limit")) ok = fm_arg_double(a, v, 0, 1e12, &opts.time_limit);
        else if (!strcmp(a, "--l1")) ok = parse_penalty(a, v, &opts.penalty_w.l1, &opts.penalty_h.l1);
        else if (!strcmp(a, "--l2")) ok = parse_penalty(a, v, &opts.penalty_w.l2, &opts.penalty_h.l2);
        else if (!strcmp(a, "--holdout")) ok = fm_arg_double(a, v, 0, 0.99, &holdout_fraction);
        else if (!strcmp(a, "--keep")) {
            if (strcmp(v, "best") && strcmp(v, "last")) {
                fprintf(stderr, "factormer: --keep must be best or last, not '%s'\n", v);
                return 2;
            }
            opts.keep_best = !strcmp(v, "best");
        } else if (!strcmp(a, "--patience")) {
            ok = fm_arg_int(a, v, 1, 100000000, &value);
            opts.patience = (int)value;
        }
        else if (!strcmp(a, "--threads")) ok = fm_arg_int(a, v, 1, 4096, &threads);
        else if (!strcmp(a, "--seed")) { ok = fm_arg_int(a, v, 0, LONG_MAX, &value); opts.seed = (uint64_t)value; }
        else if (!strcmp(a, "--accel-every")) {
            ok = fm_arg_int(a, v, 1, 100000000, &value);
            opts.accel_every = (int)value;
        } else if (!strcmp(a, "--accel-steps")) {
            ok = fm_arg_int(a, v, 0, 100000000, &value);
            opts.accel_steps = (int)value;
        }
        else if (!strcmp(a, "--accel-budget")) ok = fm_arg_double(a, v, 0, 1e9, &opts.accel_budget);
        else if (!strcmp(a, "--sampler")) {
            if (fm_sampler_parse_node_wise(&opts.sampler, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
            opts.sampler_given = true;
        } else if (!strcmp(a, "--fanout")) {
            ok = fm_arg_int(a, v, 1, 1L << 40, &value);
            opts.fanout = value;
            opts.fanout_given = true;
        } else if (!strcmp(a, "--zero-ratio")) ok = fm_arg_double(a, v, 0, 1e6, &opts.zero_ratio);
        else if (!strcmp(a, "--resample")) {
            if (strcmp(v, "per-layer") && strcmp(v, "once")) {
                fprintf(stderr, "factormer: --resample must be per-layer or once, not '%s'\n", v);
                return 2;
            }
            opts.resample_once = !strcmp(v, "once");
        } else if (!strcmp(a, "--kernels")) {
            if (fm_kernels_parse(&opts.kernels, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        } else if (!strcmp(a, "--batch-targets")) {
            ok = fm_arg_int(a, v, 0, 1L << 40, &value);
            opts.batch_targets = value;
            batch_given = true;
        }
        else if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--init-model")) opts.init_model = v;
        else if (!strcmp(a, "--accel-model")) opts.accel_model = v;
        else if (!strcmp(a, "--out")) out_prefix = v;
        else if (!strcmp(a, "--format")) {
            if (fm_format_parse(&format, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        } else if (!strcmp(a, "--top")) { ok = fm_arg_int(a, v, 1, 1000000, &value); top.n = (int)value; }
        else if (!strcmp(a, "--row-names")) top.names_path = v;
        else if (!strcmp(a, "--test")) test_file = v;
        else if (!strcmp(a, "--init-from")) init_from = v;
        else { fprintf(stderr, "factormer: unknown option '%s' (see 'factormer factorize --help')\n", a); return 2; }
        if (!ok) return 2;
    }
    // the KL loss's multiplicative updates keep a zero of W or H at zero:
    // nndsvda fills nndsvd's zeros with the data's mean
    if (opts.loss == FM_LOSS_KL && !init_given) opts.init = FM_INIT_NNDSVDA;
    const bool learned = opts.init == FM_INIT_LEARNED;
    if (model && learned && opts.accelerate) {
        fprintf(stderr, "factormer: --model names one model, and --init learned --accelerate use two: give "
                        "--init-model and --accel-model\n");
        return 2;
    }
    if (model && !learned && !opts.accelerate) {
        fprintf(stderr, "factormer: --model needs --init learned or --accelerate\n");
        return 2;
    }
    if ((opts.init_model && !learned) || (opts.accel_model && !opts.accelerate)) {
        fprintf(stderr, "factormer: %s\n", opts.init_model && !learned ? "--init-model needs --init learned"
                                                                       : "--accel-model needs --accelerate");
        return 2;
    }
    if (opts.sampler != FM_SAMPLER_FULL && !learned && !opts.accelerate) {
        fprintf(stderr, "factormer: --sampler %s samples what the networks read: it needs --init learned or "
                        "--accelerate\n", fm_sampler_name(opts.sampler));
        return 2;
    }
    if (opts.kernels == FM_KERNELS_GRAPHBLAS && batch_given && opts.batch_targets > 0) {
        fprintf(stderr, "factormer: --batch-targets runs on the fused kernels; --kernels graphblas runs every layer "
                        "whole\n");
        return 2;
    }
    if (opts.kernels == FM_KERNELS_GRAPHBLAS) opts.batch_targets = 0;   // what the run does (and its summary says)
    if (opts.kernels == FM_KERNELS_GRAPHBLAS && !learned && !opts.accelerate) {
        fprintf(stderr, "factormer: --kernels graphblas runs the networks' attention: it needs --init learned or "
                        "--accelerate\n");
        return 2;
    }
    if (init_from && (init_given || opts.accelerate)) {
        fprintf(stderr, "factormer: --init-from continues from the factors of an earlier run: %s\n",
                opts.accelerate ? "it cannot be combined with --accelerate"
                                : "--init chooses another start; give one of them");
        return 2;
    }
    if (save_state && opts.keep_best) {
        fprintf(stderr, "factormer: --save-state saves the state of the last iteration, --keep best writes the "
                        "factors of another: give one of them\n");
        return 2;
    }
    if ((opts.keep_best || opts.patience > 0) && !(holdout_fraction > 0) && !test_file) {
        fprintf(stderr, "factormer: %s chooses by the held-out RMSE: it needs --holdout F or --test FILE\n",
                opts.keep_best ? "--keep best" : "--patience");
        return 2;
    }
    if (grid[0] && !distributed) {
        fprintf(stderr, "factormer: --grid lays out the processes of a distributed run: it needs --distributed\n");
        return 2;
    }
    if (distributed) {
        const char *alone = save_state ? "--save-state" : init_from ? "--init-from"
                            : top.n || top.names_path ? "--top and --row-names" : model ? "--model" : NULL;
        if (threads > 0) fm_set_threads((int)threads);
        // process 0's progress (the run calls it there only; a signal is mpirun's to handle)
        fm_factorize_progress p = { .quiet = quiet, .tty = isatty(2), .holdout = holdout_fraction > 0 || test_file,
                       .iters = opts.iters };
        opts.progress = fm_factorize_show_progress;
        opts.user = &p;
        const fm_factorize_where where = { data, format, out_prefix, holdout_fraction, test_file, alone,
                                           grid[0], grid[1], fm_factorize_progress_done };
        return fm_factorize_distributed(&opts, kind, &where, quiet);
    }
    if (fm_arg_launched_alone("fit the whole matrix")) return 2;
    if (model && learned) opts.init_model = model;
    if (model && opts.accelerate) opts.accel_model = model;
    if (threads > 0) fm_set_threads((int)threads);
    if (top.names_path && !top.n) top.n = 10;
    if (top.names_path && !data) {
        fprintf(stderr, "factormer: --row-names names the rows of a data file: give one\n");
        return 2;
    }

    fm_triplets *t = NULL, *kept = NULL, *held = NULL;
    fm_graph *g = NULL;
    fm_solver_result *r = NULL;
    fm_output_set *set = NULL;
    fm_factorize_state state = { 0 };
    char *command = NULL, *command_json = NULL, *comment = NULL;
    int status = 1;
    char prefix[4096], source[4200];

    // The outputs first: a prefix that cannot be written, or that another run
    // is writing, fails before any work.
    if (out_prefix) snprintf(prefix, sizeof prefix, "%s", out_prefix);
    else if (data) fm_arg_data_name(prefix, sizeof prefix, data);
    else snprintf(prefix, sizeof prefix, "planted");
    // every run's four, then PREFIX.top.tsv with --top and the solver's state with --save-state
    const char *suffix[7] = { ".W.mtx", ".H.mtx", ".trace.csv", ".summary.json" };
    int outputs = 4, top_slot = -1, state_slot = -1;
    if (top.n) suffix[top_slot = outputs++] = ".top.tsv";
    if (save_state) {
        suffix[state_slot = outputs++] = ".state.W.mtx";
        suffix[outputs++] = ".state.H.mtx";
    }
    const int opened = fm_output_set_open(&set, "--out", prefix, suffix, outputs, msg);
    if (opened != FM_OK) {
        fprintf(stderr, "factormer: %s\n", msg);
        return opened == FM_ERR_INVALID ? 2 : 1;
    }
    command = fm_arg_command_shell();
    command_json = fm_arg_command_json();
    if (!command || !command_json) {
        snprintf(msg, sizeof msg, "out of memory");
        goto fail;
    }

    if (init_from) {   // the rank is the factors' (checked against --rank when given)
        int rank = rank_given ? opts.rank : 0;
        if (fm_factorize_state_read(&state, init_from, &rank, msg)) goto fail;
        opts.rank = rank;
        if (state.carried && state.state.exact && opts.finish == FM_FINISH_NONE)
            snprintf(state.note, sizeof state.note, "%s was saved in the exact phase; --finish none continues "
                     "with ADMM from zero duals", init_from);
        else if (state.carried && !state.state.exact && opts.finish != FM_FINISH_NONE &&
                 fm_finish_below(&opts, kind == FM_KIND_INCOMPLETE) <= 0)
            snprintf(state.note, sizeof state.note, "%s was saved in the ADMM phase (its duals); the exact phase "
                     "(--finish hals) does not use them", init_from);
        if (state.note[0]) fprintf(stderr, "factormer: note: %s\n", state.note);
    }
    if (data) {
        if (fm_matrix_read_for_run(&t, data, format, kind, opts.rank, msg)) goto fail;
        snprintf(source, sizeof source, "%s", data);
    } else {
        if (fm_synthetic_planted(&t, 1000, 500, 10, 0.0, 1.0, opts.seed, msg)) goto fail;
        snprintf(source, sizeof source, "planted 1000 x 500 rank 10 (seed %llu)", (unsigned long long)opts.seed);
    }
    if (kind == FM_KIND_AUTO && data && !t->array && !quiet)
        fprintf(stderr, "factormer: kind sparse (unstored entries are zeros; use --kind incomplete for ratings)\n");
    if (kind == FM_KIND_AUTO) kind = t->array ? FM_KIND_DENSE : FM_KIND_SPARSE;
    if (fm_factorize_top_load(&top, t->rows, msg)) goto fail;
    if (holdout_fraction > 0 && test_file) {
        snprintf(msg, sizeof msg, "--holdout and --test both name held-out entries: give one");
        goto fail;
    }
    if (test_file && kind != FM_KIND_INCOMPLETE) {
        snprintf(msg, sizeof msg, "--test needs --kind incomplete: in the %s kind every entry is known (--holdout F "
                 "holds out a speckled share of them)", fm_kind_name(kind));
        goto fail;
    }
    if (test_file) {
        if (fm_mtx_read(&held, test_file, true, msg)) goto fail;
        if (held->array || held->rows != t->rows || held->cols != t->cols) {
            snprintf(msg, sizeof msg, "%s: expected a coordinate file of shape %lld x %lld like the data",
                     fm_arg_shown(test_file),
                     (long long)t->rows, (long long)t->cols);
            goto fail;
        }
    }
    if (holdout_fraction > 0 && kind != FM_KIND_INCOMPLETE) {
        if (fm_holdout_speckle(&kept, &held, t, holdout_fraction, opts.seed, msg)) goto fail;
        fm_triplets_free(&t);
        t = kept;
        kept = NULL;
    } else if (holdout_fraction > 0) {
        if (t->array) {
            snprintf(msg, sizeof msg, "--holdout needs a coordinate file (the observed entries)");
            goto fail;
        }
        if (fm_holdout_split(&kept, &held, t, holdout_fraction, opts.seed, msg)) goto fail;
        fm_triplets_free(&t);
        t = kept;
        kept = NULL;
    }
    if (init_from) {
        if (fm_factorize_state_check(&state, init_from, t->rows, t->cols, msg)) goto fail;
        opts.start_W = state.W;
        opts.start_H = state.H;
        opts.start_dual_W = state.dual_W;
        opts.start_dual_H = state.dual_H;
        opts.start_state = state.state;
        opts.start_prev_W = state.prev_W;
        opts.start_prev_H = state.prev_H;
    }
    if (fm_graph_from_triplets(&g, t, kind, msg)) goto fail;
    fm_triplets_free(&t);

    fm_factorize_progress p = { .quiet = quiet, .tty = isatty(2), .holdout = held != NULL, .learned = learned, .iters = opts.iters };
    opts.progress = fm_factorize_show_progress;
    opts.user = &p;
    // a signal during the iterations stops the run after the current one
    fm_signals_mode_set(FM_SIGNALS_STOP);
    const int solved = fm_solver_run(&r, g, held, &opts, msg);
    fm_signals_mode_set(FM_SIGNALS_END);
    fm_factorize_progress_finish(&p);
    if (solved) goto fail;
    if (!quiet && p.tty) fprintf(stderr, "\n");
    const int interrupted = fm_signals_caught();
    const char *stop_reason = interrupted && !strcmp(r->stop_reason, "callback") ? "interrupted" : r->stop_reason;

    fm_graph_stats st;
    fm_graph_stats_get(g, &st);
    const int iterations = r->trace_len - 1;
    // Every file names the version and the command that made it.
    const size_t comment_size = strlen(source) + strlen(command) + 128;
    if (!(comment = malloc(comment_size))) {
        snprintf(msg, sizeof msg, "out of memory");
        goto fail;
    }
    if (fm_output_set_stage(set, msg)) goto fail;
    for (int f = 0; f < 2; f++) {
        snprintf(comment, comment_size, "factormer: %s of %s, rank %d\nfactormer %s: %s", f ? "H" : "W", source,
                 opts.rank, fm_version(), command);
        if (fm_mtx_write_dense(fm_output_set_staged(set, f), f ? r->H : r->W, comment, msg)) goto fail;
    }
    snprintf(comment, comment_size, "factormer %s: %s", fm_version(), command);
    if (fm_trace_write_csv(fm_output_set_staged(set, 2), r, comment, msg)) goto fail;
    if (top_slot >= 0 && fm_factorize_top_write(&top, r->W, r->H, fm_output_set_staged(set, top_slot), comment, msg))
        goto fail;

    if (save_state) {   // `comment` is still the trace's line
        if (fm_factorize_state_write(fm_output_set_staged(set, state_slot),
                                     fm_output_set_staged(set, state_slot + 1), r, comment, msg))
            goto fail;
    }
    const fm_factorize_report report = { &opts, r, &st, fm_graph_omega(g), held, source, command_json,
                                          stop_reason, interrupted, learned, set, init_from,
                                          &state, state_slot, NULL };
    if (fm_factorize_summary_write(&report, fm_output_set_staged(set, 3), msg)) goto fail;
    if (fm_output_set_commit(set, msg)) goto fail;

    if (!quiet) fm_factorize_summary_print(&report);
    if (!quiet && top_slot >= 0) fm_factorize_top_print(&top, fm_output_set_final(set, top_slot));
    status = 0;
    if (interrupted) {
        fprintf(stderr, "factormer: interrupted by %s: wrote the factors of iteration %d\n",
                fm_signal_name(interrupted), opts.keep_best ? r->best_iteration : iterations);
        status = 128 + interrupted;
    }
    goto done;
fail:
    if (set) fm_output_set_name_final(set, msg);
    fprintf(stderr, "factormer: %s\n", msg);
done:
    fm_output_set_free(&set);
    fm_factorize_state_free(&state);
    free(command);
    free(command_json);
    free(comment);
    fm_triplets_free(&t);
    fm_triplets_free(&kept);
    fm_triplets_free(&held);
    fm_graph_free(&g);
    fm_solver_result_free(&r);
    fm_factorize_top_free(&top);
    return status;
}
