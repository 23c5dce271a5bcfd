// factormer bench solve: every preconditioner side by side on one set of
// systems.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "bench_solve.h"
#include "factormer.h"
#include "output.h"
#include "plot.h"

static const char help[] =
    "usage: factormer bench solve [A.mtx ...] [options]\n"
    "\n"
    "Solves the same systems with every preconditioner, by CG (none, jacobi, ic0,\n"
    "neuralif, direct) or by GMRES(m) (none, jacobi, ilu0, ilut, ilut2 (ILUT at a\n"
    "second drop tolerance), learned-lu, direct), and prints per method: systems\n"
    "converged, iterations,\n"
    "setup, solve and total seconds (median [quartiles] over the systems), and the\n"
    "rates of the SpMV and of the two triangular solves in GB/s beside the memory\n"
    "bandwidth measured in the same run. With files, b is all ones; without, a\n"
    "generated set with its own right-hand sides, from the test seeds (never the\n"
    "training ones).\n"
    "\n"
    "  --set S             for CG: random-spd (default; n = --size, about 100\n"
    "                      entries a row) or diffusion (a --size x --size grid);\n"
    "                      for GMRES: convection (convection-diffusion on a --size x\n"
    "                      --size grid) or random-general (M M'^T + 1e-3 I)\n"
    "  --count N           systems of the set (default 10)\n"
    "  --size N            random-spd: n (default 10000); diffusion, convection: the\n"
    "                      grid's side (default 100); random-general: n (default 2000)\n"
    "  --method cg|gmres   the files' Krylov method (default cg)\n"
    "  --restart M         GMRES(m): the Arnoldi steps between restarts (default 50)\n"
    "  --tol T             relative residual to reach (default 1e-6)\n"
    "  --max-iters N       iterations at most per solve (default 10 n)\n"
    "  --methods LIST      some of those the method takes (default all of them;\n"
    "                      neuralif and learned-lu are skipped, with a note, when no\n"
    "                      model is found)\n"
    "  --ilut-drop T       ilut: SuperLU's drop tolerance (default 1e-4)\n"
    "  --ilut2-drop T      ilut2: the second drop tolerance (default 1e-2)\n"
    "  --ilut-fill F       ilut and ilut2: nnz(L + U) <= F nnz(A) (default 10)\n"
    "  --lu-model M.fmw    the learned LU model (default: learned-lu.fmw in\n"
    "                      $FACTORMER_MODELS, else in the shipped models directory)\n"
    "  --drop-tolerance T  neuralif: drop off-diagonal |l_ij| <= T of the network's\n"
    "                      factor of the scaled matrix (NeuralIF-sp; default 0.025)\n"
    "  --normalize-diag    neuralif: rescale each row of L so that (L Lt)_ii = a_ii;\n"
    "                      --no-normalize-diag keeps the network's rows (the default)\n"
    "  --model M.fmw       the NeuralIF model (default: neuralif.fmw in\n"
    "                      $FACTORMER_MODELS, else in the shipped models directory)\n"
    "  --out PREFIX        write PREFIX.csv (a row per system and method) and\n"
    "                      PREFIX.png (median residual against iteration and\n"
    "                      seconds; needs gnuplot) (default bench-solve), both or none\n"
    "  --threads N         threads (default: all)\n"
    "  --bandwidth-seconds S  time of the memory bandwidth measurement (STREAM\n"
    "                      triad; default 0.3; 0 skips it)\n"
    FM_ARG_PROFILE_HELP;

// One line per solve on a terminal, rewritten in place.
static void show_progress(void *context, const fm_bench_solve_row *row, int64_t index, int64_t total)
{
    if (!*(bool *)context) return;
    fprintf(stderr, "\r  %lld/%lld  %s  %-8s %6lld iterations  %.3f s%s   ", (long long)index + 1, (long long)total,
            fm_arg_shown(row->matrix), fm_bench_solve_method_name(row->method), (long long)row->iterations,
            row->total_seconds, row->converged ? "" : " (not converged)");
    fflush(stderr);
}

static void print_quartiles(const fm_quartiles *q, const char *format)
{
    char text[128], a[32], b[32], c[32];
    snprintf(a, sizeof a, format, q->median);
    snprintf(b, sizeof b, format, q->q1);
    snprintf(c, sizeof c, format, q->q3);
    snprintf(text, sizeof text, "%s [%s, %s]", a, b, c);
    printf(" %26s", text);
}

static void print_report(const fm_bench_solve_report *r)
{
    const fm_bench_solve_options *o = &r->options;
    int64_t systems = 0;
    for (int m = 0; m < FM_BENCH_METHODS; m++)
        if (r->methods[m].ran) systems = r->methods[m].systems;
    char krylov[32];
    if (r->method == FM_SOLVE_GMRES) snprintf(krylov, sizeof krylov, "GMRES(%lld)", (long long)o->restart);
    else snprintf(krylov, sizeof krylov, "CG");
    if (o->set == FM_BENCH_SOLVE_FILES) printf("%s on %lld file%s", krylov, (long long)systems, systems == 1 ? "" : "s");
    else printf("%s on %lld %s system%s", krylov, (long long)systems, fm_bench_solve_set_name(o->set),
                systems == 1 ? "" : "s");
    printf(", tolerance %g, %d threads; median [quartiles] over the systems\n", o->tol, r->threads);
    if (r->methods[FM_SOLVE_ILUT].ran || r->methods[FM_BENCH_ILUT_SECOND].ran)
        printf("ilut: drop tolerance %g; ilut2: %g; fill factor %g\n", o->ilut.drop_tolerance, o->ilut_second_drop,
               o->ilut.fill_factor);
    if (isnan(r->bandwidth_gbs)) printf("memory bandwidth not measured (--bandwidth-seconds 0)\n");
    else printf("memory bandwidth measured in this run: %.1f GB/s (STREAM triad)\n", r->bandwidth_gbs);
    if (r->note[0]) printf("%s\n", r->note);
    printf("\n  %-10s %9s %26s %26s %26s %26s %22s\n", "method", "converged", "iterations", "setup s", "solve s",
           "total s", "M^-1 r GB/s (% bw)");
    for (int m = 0; m < FM_BENCH_METHODS; m++) {
        const fm_bench_solve_method *s = &r->methods[m];
        if (!s->ran) continue;
        char converged[32];
        if (s->failed) snprintf(converged, sizeof converged, "%lld/%lld %lldF", (long long)s->converged,
                                (long long)s->systems, (long long)s->failed);
        else snprintf(converged, sizeof converged, "%lld/%lld", (long long)s->converged, (long long)s->systems);
        printf("  %-10s %9s", fm_bench_solve_method_name(m), converged);
        print_quartiles(&s->iterations, "%.0f");
        print_quartiles(&s->setup_seconds, "%.4f");
        print_quartiles(&s->solve_seconds, "%.4f");
        print_quartiles(&s->total_seconds, "%.4f");
        if (isnan(s->apply_gbs.median)) printf(" %22s\n", "-");
        else if (isnan(r->bandwidth_gbs)) printf(" %22.1f\n", s->apply_gbs.median);
        else {
            char rate[48];
            snprintf(rate, sizeof rate, "%.1f (%.0f%%)", s->apply_gbs.median,
                     100 * s->apply_gbs.median / r->bandwidth_gbs);
            printf(" %22s\n", rate);
        }
    }
    for (int m = 0; m < FM_BENCH_METHODS; m++) {
        const fm_bench_solve_method *s = &r->methods[m];
        if (!s->ran) continue;
        printf("\nSpMV y = A x: %.1f GB/s median [%.1f, %.1f]", s->spmv_gbs.median, s->spmv_gbs.q1, s->spmv_gbs.q3);
        if (!isnan(r->bandwidth_gbs)) printf(", %.0f%% of the measured bandwidth", 100 * s->spmv_gbs.median / r->bandwidth_gbs);
        printf("\n");
        break;
    }
    printf("(bytes counted: SpMV 16 nnz(A) + 24 n; M^-1 r, two triangular solves, 16 (nnz(L) + nnz(U)) + 48 n;\n"
           " kF: failed on k systems, see the note; their figures are left out of the quartiles)\n");
}

int fm_cmd_bench_solve(int argc, char **argv)
{
    fm_bench_solve_options opt;
    fm_bench_solve_defaults(&opt);
    const char *out_prefix = "bench-solve";
    const char **files = NULL;
    int file_count = 0;
    long threads = 0, value;
    bool set_given = false, method_given = false;
    char msg[FM_MSG_LEN] = "";
    int status = 2;
    fm_output_set *set = NULL;
    fm_bench_solve_report *report = NULL;
    char *command = NULL, *comment = NULL;

    if (!(files = calloc((size_t)argc + 1, sizeof *files))) {
        fprintf(stderr, "factormer: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            status = 0;
            goto done;
        }
        if (a[0] != '-') {
            if (!fm_arg_positional(a)) return 2;
            files[file_count++] = a;
            continue;
        }
        if (!strcmp(a, "--normalize-diag")) { opt.inference.normalize_diag = true; continue; }
        if (!strcmp(a, "--no-normalize-diag")) { opt.inference.normalize_diag = false; continue; }
        if (!(v = fm_arg_value(argc, argv, &i))) goto done;
        bool ok = true;
        if (!strcmp(a, "--set")) {
            if (fm_bench_solve_set_parse(&opt.set, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); goto done; }
            set_given = true;
        }
        else if (!strcmp(a, "--count")) { ok = fm_arg_int(a, v, 1, 1000000, &value); opt.count = (int)value; }
        else if (!strcmp(a, "--size")) { ok = fm_arg_int(a, v, 2, 1L << 32, &value); opt.size = value; }
        else if (!strcmp(a, "--tol")) {
            ok = fm_arg_double(a, v, 0, 1, &opt.tol);
            if (ok && !(opt.tol > 0 && opt.tol < 1)) {
                fprintf(stderr, "factormer: --tol expects a number between 0 and 1 (exclusive), not '%s'\n", v);
                goto done;
            }
        }
        else if (!strcmp(a, "--max-iters")) { ok = fm_arg_int(a, v, 1, 1L << 40, &value); opt.max_iters = value; }
        else if (!strcmp(a, "--methods")) {
            if (fm_bench_solve_methods_parse(opt.methods, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); goto done; }
            opt.methods_given = true;
        }
        else if (!strcmp(a, "--method")) {
            if (fm_solve_method_parse(&opt.method, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); goto done; }
            method_given = true;
        }
        else if (!strcmp(a, "--restart")) { ok = fm_arg_int(a, v, 1, 1L << 20, &value); opt.restart = value; }
        else if (!strcmp(a, "--ilut-drop")) ok = fm_arg_double(a, v, 0, 1, &opt.ilut.drop_tolerance);
        else if (!strcmp(a, "--ilut2-drop")) ok = fm_arg_double(a, v, 0, 1, &opt.ilut_second_drop);
        else if (!strcmp(a, "--ilut-fill")) ok = fm_arg_double(a, v, 1, 1e6, &opt.ilut.fill_factor);
        else if (!strcmp(a, "--lu-model")) opt.lu_model = v;
        else if (!strcmp(a, "--model")) opt.model = v;
        else if (!strcmp(a, "--drop-tolerance")) ok = fm_arg_double(a, v, 0, 1e300, &opt.inference.drop_tolerance);
        else if (!strcmp(a, "--out")) out_prefix = v;
        else if (!strcmp(a, "--threads")) ok = fm_arg_int(a, v, 1, 4096, &threads);
        else if (!strcmp(a, "--bandwidth-seconds")) ok = fm_arg_double(a, v, 0, 3600, &opt.bandwidth_seconds);
        else { fprintf(stderr, "factormer: unknown option '%s' (see 'factormer bench solve --help')\n", a); goto done; }
        if (!ok) goto done;
    }
    if (file_count > 0 && set_given) {
        fprintf(stderr, "factormer: give matrix files or --set, not both\n");
        goto done;
    }
    if (method_given && file_count == 0) {
        fprintf(stderr, "factormer: --method is for matrix files; a --set has its own (cg: random-spd, diffusion; "
                        "gmres: convection, random-general)\n");
        goto done;
    }
    if (file_count > 0) {
        opt.set = FM_BENCH_SOLVE_FILES;
        opt.files = files;
        opt.file_count = file_count;
    }
    const bool plot = fm_plot_available();
    static const char *const suffix[2] = { ".csv", ".png" };
    const int opened = fm_output_set_open(&set, "--out", out_prefix, suffix, plot ? 2 : 1, msg);
    if (opened != FM_OK) {
        fprintf(stderr, "factormer: %s\n", msg);
        status = opened == FM_ERR_INVALID ? 2 : 1;
        goto done;
    }
    status = 1;
    if (threads > 0) fm_set_threads((int)threads);
    bool tty = isatty(2);
    opt.progress = show_progress;
    opt.context = &tty;
    const int ran = fm_bench_solve(&report, &opt, msg);
    if (tty) fprintf(stderr, "\r\033[K");
    if (ran) goto fail;
    if (!(command = fm_arg_command_shell())) {
        snprintf(msg, sizeof msg, "out of memory");
        goto fail;
    }
    const size_t comment_size = strlen(command) + 128;
    if (!(comment = malloc(comment_size))) {
        snprintf(msg, sizeof msg, "out of memory");
        goto fail;
    }
    snprintf(comment, comment_size, "factormer %s: %s", fm_version(), command);
    if (fm_output_set_stage(set, msg)) goto fail;
    if (fm_bench_solve_write_csv(fm_output_set_staged(set, 0), report, comment, msg)) goto fail;
    if (plot) {
        char title[600];
        snprintf(title, sizeof title, "%s, tolerance %g: %s", report->method == FM_SOLVE_GMRES ? "GMRES" : "CG", opt.tol,
                 opt.set == FM_BENCH_SOLVE_FILES ? "the files given" : fm_bench_solve_set_name(opt.set));
        if (fm_bench_solve_plot(fm_output_set_staged(set, 1), report, title, msg)) goto fail;
    }
    if (fm_output_set_commit(set, msg)) goto fail;
    print_report(report);
    printf("\nwrote %s%s%s\n", fm_arg_shown(fm_output_set_final(set, 0)), plot ? " " : "",
           plot ? fm_arg_shown(fm_output_set_final(set, 1)) : "");
    if (!plot) printf("(no gnuplot on PATH: no figure)\n");
    status = 0;
    goto done;
fail:
    if (set) fm_output_set_name_final(set, msg);
    fprintf(stderr, "factormer: %s\n", msg);
done:
    fm_output_set_free(&set);
    fm_bench_solve_report_free(&report);
    free(command);
    free(comment);
    free(files);
    return status;
}
