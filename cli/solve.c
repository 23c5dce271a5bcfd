// factormer solve: A x = b by preconditioned CG or GMRES, writing x, the
// trace and a summary.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "factormer.h"
#include "mtx_system.h"
#include "output.h"
#include "signals.h"
#include "solve_run.h"

static const char help[] =
    "usage: factormer solve A.mtx[.gz] --precond P [--method cg|gmres] [options]\n"
    "\n"
    "Solves A x = b (A a Matrix Market file, symmetric or general) from x = 0 by\n"
    "preconditioned conjugate gradients (A symmetric positive definite) or by\n"
    "restarted GMRES with right preconditioning (any A with its diagonal stored).\n"
    "\n"
    "  --method cg|gmres   the Krylov method (default cg)\n"
    "  --precond P         none, jacobi (diag(A)) or direct (CHOLMOD for cg, UMFPACK\n"
    "                      for gmres); for cg: ic0 (incomplete Cholesky on the\n"
    "                      pattern of A, shifted when it breaks down) or neuralif\n"
    "                      (the learned factor of --model); for gmres: ilu0\n"
    "                      (incomplete LU on the pattern of A), ilut (SuperLU's\n"
    "                      threshold ILU with pivoting) or learned-lu (the learned\n"
    "                      factors of --model)\n"
    "  --rhs b.mtx         the right-hand side, a vector of A's length (default: all\n"
    "                      ones)\n"
    "  --restart M         gmres: the Arnoldi steps between restarts (default 50)\n"
    "  --ilut-drop T       ilut: SuperLU's drop tolerance (default 1e-4)\n"
    "  --ilut-fill F       ilut: the bound nnz(L + U) <= F nnz(A) (default 10)\n"
    "  --drop-tolerance T  neuralif: drop off-diagonal |l_ij| <= T of the network's\n"
    "                      factor of the scaled matrix (NeuralIF-sp; default 0.025)\n"
    "  --normalize-diag    neuralif: rescale each row of L so that (L Lt)_ii = a_ii;\n"
    "                      --no-normalize-diag keeps the network's rows (the default)\n"
    "  --model M.fmw       the neuralif or learned-lu model (default: neuralif.fmw or\n"
    "                      learned-lu.fmw in $FACTORMER_MODELS, else in the shipped\n"
    "                      models directory)\n"
    "  --tol T             stop when |b - A x| <= T |b| (default 1e-6)\n"
    "  --max-iters N       iterations at most (default 10 n; gmres: Arnoldi steps)\n"
    "  --threads N         threads (default: all)\n"
    "  --out PREFIX        write PREFIX.x.mtx, PREFIX.trace.csv (iteration, seconds,\n"
    "                      relative residual) and PREFIX.summary.json (default: the\n"
    "                      matrix file's name), all three or none, renamed into place\n"
    "                      once all are written; PREFIX.lock keeps a second run off\n"
    "                      the prefix meanwhile\n"
    "  --quiet             no progress, no summary on the terminal\n"
    FM_ARG_PROFILE_HELP
    "\n"
    "Exit status: 0 converged; 3 stopped at --max-iters before the tolerance (the\n"
    "outputs are written, the summary says \"converged\": false); 2 a bad option;\n"
    "1 bad input (a non-square matrix, a missing diagonal entry; for cg a\n"
    "nonsymmetric matrix or a zero or negative diagonal entry; NaN or Inf, a\n"
    "right-hand side of the wrong length) or a breakdown, with no output written. SIGINT, SIGTERM or SIGHUP during the\n"
    "iterations stops the solve: its outputs are written and the exit status is\n"
    "128 + the signal.\n";

// The live line on a terminal, at most ten times a second.
typedef struct progress {
    bool show;
    double shown;
} progress;

static int show_progress(void *context, int64_t iteration, double seconds, double relative_residual)
{
    progress *p = context;
    if (fm_signals_caught()) return 1;
    if (p->show && (seconds - p->shown >= 0.1 || iteration == 1)) {
        fprintf(stderr, "\r  iteration %lld  relative residual %.3e  %.2f s   ", (long long)iteration,
                relative_residual, seconds);
        fflush(stderr);
        p->shown = seconds;
    }
    return 0;
}

int fm_cmd_solve(int argc, char **argv)
{
    const char *matrix = NULL, *rhs = NULL, *out_prefix = NULL, *precond = NULL;
    long threads = 0, value;
    bool quiet = false, have_restart = false, have_ilut = false;
    fm_solve_options opt;
    fm_solve_defaults(&opt);
    char msg[FM_MSG_LEN] = "";

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            return 0;
        }
        if (!strcmp(a, "--quiet")) { quiet = true; continue; }
        if (!strcmp(a, "--normalize-diag")) { opt.inference.normalize_diag = true; continue; }
        if (!strcmp(a, "--no-normalize-diag")) { opt.inference.normalize_diag = false; continue; }
        if (a[0] != '-') {
            if (!fm_arg_data(&matrix, a)) return 2;
            continue;
        }
        if (!(v = fm_arg_value(argc, argv, &i))) return 2;
        bool ok = true;
        if (!strcmp(a, "--precond")) {
            if (fm_solve_precond_parse(&opt.precond, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
            precond = v;
        } else if (!strcmp(a, "--method")) {
            if (fm_solve_method_parse(&opt.method, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        }
        else if (!strcmp(a, "--restart")) { ok = fm_arg_int(a, v, 1, 1L << 20, &value); opt.restart = value; have_restart = true; }
        else if (!strcmp(a, "--ilut-drop")) { ok = fm_arg_double(a, v, 0, 1, &opt.ilut.drop_tolerance); have_ilut = true; }
        else if (!strcmp(a, "--ilut-fill")) { ok = fm_arg_double(a, v, 1, 1e6, &opt.ilut.fill_factor); have_ilut = true; }
        else if (!strcmp(a, "--rhs")) rhs = v;
        else if (!strcmp(a, "--model")) opt.model = v;
        else if (!strcmp(a, "--drop-tolerance")) ok = fm_arg_double(a, v, 0, 1e300, &opt.inference.drop_tolerance);
        else if (!strcmp(a, "--tol")) {
            ok = fm_arg_double(a, v, 0, 1, &opt.tol);
            if (ok && !(opt.tol > 0 && opt.tol < 1)) {
                fprintf(stderr, "factormer: --tol expects a number between 0 and 1 (exclusive), not '%s'\n", v);
                return 2;
            }
        }
        else if (!strcmp(a, "--max-iters")) { ok = fm_arg_int(a, v, 1, 1L << 40, &value); opt.max_iters = value; }
        else if (!strcmp(a, "--threads")) ok = fm_arg_int(a, v, 1, 4096, &threads);
        else if (!strcmp(a, "--out")) out_prefix = v;
        else { fprintf(stderr, "factormer: unknown option '%s' (see 'factormer solve --help')\n", a); return 2; }
        if (!ok) return 2;
    }
    if (!matrix) {
        fprintf(stderr, "factormer: solve needs a matrix file (see 'factormer solve --help')\n");
        return 2;
    }
    if (!precond) {
        fprintf(stderr, "factormer: solve needs --precond: %s (--method %s)\n", fm_solve_method_preconds(opt.method),
                fm_solve_method_name(opt.method));
        return 2;
    }
    if (!fm_solve_method_takes(opt.method, opt.precond)) {
        fprintf(stderr, "factormer: --method %s takes --precond %s, not %s%s\n", fm_solve_method_name(opt.method),
                fm_solve_method_preconds(opt.method), precond,
                opt.method == FM_SOLVE_CG ? " (ilu0, ilut and learned-lu precondition --method gmres)"
                                          : " (ic0 and neuralif precondition --method cg)");
        return 2;
    }
    if (opt.model && opt.precond != FM_SOLVE_NEURALIF && opt.precond != FM_SOLVE_LEARNED_LU) {
        fprintf(stderr, "factormer: --model names the model of --precond neuralif or learned-lu\n");
        return 2;
    }
    if (have_restart && opt.method != FM_SOLVE_GMRES) {
        fprintf(stderr, "factormer: --restart belongs to --method gmres\n");
        return 2;
    }
    if (have_ilut && opt.precond != FM_SOLVE_ILUT) {
        fprintf(stderr, "factormer: --ilut-drop and --ilut-fill belong to --precond ilut\n");
        return 2;
    }
    if (threads > 0) fm_set_threads((int)threads);

    fm_square *A = NULL;
    double *b = NULL;
    fm_solve_result *r = NULL;
    fm_output_set *set = NULL;
    char *command = NULL, *command_json = NULL, *comment = NULL;
    int status = 1;
    char prefix[4096];

    // The outputs first: a prefix that cannot be written, or that another run
    // is writing, fails before any work.
    if (out_prefix) snprintf(prefix, sizeof prefix, "%s", out_prefix);
    else fm_arg_data_name(prefix, sizeof prefix, matrix);
    static const char *const suffix[3] = { ".x.mtx", ".trace.csv", ".summary.json" };
    const int opened = fm_output_set_open(&set, "--out", prefix, suffix, 3, msg);
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

    if (fm_solve_read(&A, &b, matrix, rhs, opt.method, msg)) goto fail;
    progress p = { !quiet && isatty(2), -1 };
    opt.progress = show_progress;
    opt.context = &p;
    // a signal during the iterations stops the solve after the current one
    fm_signals_mode_set(FM_SIGNALS_STOP);
    const int solved = fm_solve_run(&r, A, b, &opt, msg);
    fm_signals_mode_set(FM_SIGNALS_END);
    if (p.show && p.shown >= 0) fprintf(stderr, "\n");
    if (solved) goto fail;
    const int interrupted = fm_signals_caught();
    const char *stop_reason = r->converged ? "converged" : interrupted ? "interrupted" : r->stopped ? "stopped"
                                                                                                      : "max_iters";

    const size_t comment_size = strlen(matrix) + strlen(command) + 256;
    if (!(comment = malloc(comment_size))) {
        snprintf(msg, sizeof msg, "out of memory");
        goto fail;
    }
    if (fm_output_set_stage(set, msg)) goto fail;
    snprintf(comment, comment_size, "factormer: x of A x = b, A = %s, %s with %s, %lld iterations\nfactormer %s: %s",
             matrix, r->method == FM_SOLVE_GMRES ? "GMRES" : "CG", fm_solve_precond_name(r->precond),
             (long long)r->iterations, fm_version(), command);
    if (fm_mtx_write_vector(fm_output_set_staged(set, 0), r->x, r->n, comment, msg)) goto fail;
    snprintf(comment, comment_size, "factormer %s: %s", fm_version(), command);
    if (fm_solve_write_trace(fm_output_set_staged(set, 1), r, comment, msg)) goto fail;

    char v[40][4400];
    const char *keys[40];
    int n = 0, command_key;
#define KEY(name, ...) (keys[n] = name, snprintf(v[n], sizeof v[n], __VA_ARGS__), n++)
#define NUM(name, x) (keys[n] = name, fm_arg_json_number(v[n], sizeof v[n], x), n++)
#define STR(name, text) (keys[n] = name, (text) ? fm_arg_json_string(v[n], sizeof v[n], text) : (void)snprintf(v[n], sizeof v[n], "null"), n++)
    KEY("version", "\"%s\"", fm_version());
    keys[command_key = n++] = "command";
    STR("matrix", matrix);
    STR("rhs", rhs);
    KEY("n", "%lld", (long long)A->n);
    KEY("entries", "%lld", (long long)A->A->count);
    KEY("method", "\"%s\"", fm_solve_method_name(r->method));
    if (r->method == FM_SOLVE_GMRES) KEY("restart", "%lld", (long long)r->restart);
    KEY("precond", "\"%s\"", fm_solve_precond_name(r->precond));
    STR("model", r->model);
    NUM("shift", r->shift);
    KEY("shift_tries", "%d", r->shift_tries);
    KEY("factor_entries", "%lld", (long long)r->factor_entries);
    if (r->has_paths) {
        KEY("lower_solve", "\"%s\"", fm_solve_path_name(r->lower_path));
        KEY("upper_solve", "\"%s\"", fm_solve_path_name(r->upper_path));
    }
    if (r->precond == FM_SOLVE_ILU0) KEY("zero_pivots", "%lld", (long long)r->zero_pivots);
    if (r->precond == FM_SOLVE_LEARNED_LU) KEY("clamped_pivots", "%lld", (long long)r->clamped);
    if (r->precond == FM_SOLVE_ILUT) {
        NUM("ilut_drop_tolerance", r->drop_tolerance);
        NUM("ilut_fill_factor", r->fill_factor);
    }
    NUM("tol", r->tol);
    KEY("max_iters", "%lld", (long long)r->max_iters);
    KEY("iterations", "%lld", (long long)r->iterations);
    KEY("converged", "%s", r->converged ? "true" : "false");
    KEY("stop_reason", "\"%s\"", stop_reason);
    NUM("relative_residual", r->relative_residual);
    NUM("setup_seconds", r->setup_seconds);
    NUM("solve_seconds", r->solve_seconds);
    NUM("total_seconds", r->total_seconds);
    KEY("threads", "%d", fm_get_threads());
    KEY("cpu", "\"%s\"", fm_cpu_features());
    {
        const char *values[40];
        for (int i = 0; i < n; i++) values[i] = v[i];
        values[command_key] = command_json;
        if (fm_json_write(fm_output_set_staged(set, 2), keys, values, n, msg)) goto fail;
    }
#undef KEY
#undef NUM
#undef STR
    if (fm_output_set_commit(set, msg)) goto fail;

    if (!quiet) {
        printf("solved %s\n", fm_arg_shown(matrix));
        printf("  system       n = %lld, %lld stored entries, b = %s\n", (long long)A->n, (long long)A->A->count,
               rhs ? fm_arg_shown(rhs) : "ones");
        if (r->method == FM_SOLVE_GMRES) printf("  method       GMRES(%lld) with %s", (long long)r->restart,
                                                fm_solve_precond_name(r->precond));
        else printf("  method       CG with %s", fm_solve_precond_name(r->precond));
        if (r->precond == FM_SOLVE_ILU0 && r->zero_pivots > 0) printf(" (%lld zero pivots replaced)", (long long)r->zero_pivots);
        if (r->precond == FM_SOLVE_LEARNED_LU && r->clamped > 0) printf(" (%lld pivots clamped to epsilon)", (long long)r->clamped);
        if (r->precond == FM_SOLVE_ILUT) printf(" (drop %g, fill %g)", r->drop_tolerance, r->fill_factor);
        if (r->precond == FM_SOLVE_IC0 || (r->precond == FM_SOLVE_NEURALIF && r->shift > 0)) printf(" (shift %g after %d tr%s)", r->shift, r->shift_tries,
                                                r->shift_tries == 1 ? "y" : "ies");
        if (r->model) printf(" (%s)", fm_arg_shown(r->model));
        printf("\n");
        printf("  iterations   %lld (%s; tolerance %g)\n", (long long)r->iterations, stop_reason, r->tol);
        printf("  residual     %.3e (|b - A x| / |b|, recomputed)\n", r->relative_residual);
        printf("  time         %.4f s: setup %.4f s, solve %.4f s (%d threads)\n", r->total_seconds,
               r->setup_seconds, r->solve_seconds, fm_get_threads());
        printf("  wrote        %s %s %s\n", fm_arg_shown(fm_output_set_final(set, 0)),
               fm_arg_shown(fm_output_set_final(set, 1)), fm_arg_shown(fm_output_set_final(set, 2)));
    }
    status = 0;
    if (interrupted) {
        fprintf(stderr, "factormer: interrupted by %s: wrote the iterate of iteration %lld\n",
                fm_signal_name(interrupted), (long long)r->iterations);
        status = 128 + interrupted;
    } else if (!r->converged) {
        fprintf(stderr, "factormer: did not converge: relative residual %.3e after %lld iterations (--max-iters "
                        "%lld, --tol %g); wrote the last iterate\n",
                r->relative_residual, (long long)r->iterations, (long long)r->max_iters, r->tol);
        status = 3;
    }
    goto done;
fail:
    if (set) fm_output_set_name_final(set, msg);
    fprintf(stderr, "factormer: %s\n", msg);
done:
    fm_output_set_free(&set);
    free(command);
    free(command_json);
    free(comment);
    fm_square_free(&A);
    free(b);
    fm_solve_result_free(&r);
    return status;
}
