// factormer transform: a fitted model applied to new data: the nonnegative
// coefficients of a matrix's columns against a basis W (or of its rows
// against an H), written with a summary (models/nmf/transform.c).
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "factormer.h"
#include "output.h"

static const char help[] =
    "usage: factormer transform DATA[.gz] --basis FIT.W.mtx --out PREFIX [options]\n"
    "\n"
    "Applies a fitted factorization to new data: the nonnegative coefficients H of\n"
    "the columns of X against a fixed basis W (rows x rank), X ~ W H, each column's\n"
    "nonnegative least-squares problem solved exactly (an active-set method on the\n"
    "rank x rank Gram). With --side rows, the coefficients W of the rows of X\n"
    "against a fixed H (rank x cols), X ~ W H.\n"
    "\n"
    "  --basis FILE        the fixed factor: a factorize run's PREFIX.W.mtx (rows x\n"
    "                      rank, its rows matching the data's), or with --side rows\n"
    "                      its PREFIX.H.mtx (rank x cols)\n"
    "  --side SIDE         columns (default: solve for H) or rows (solve for W)\n"
    "  --format F          DATA's format: mtx, triplets, csv or auto (default: by\n"
    "                      the extension, as factorize's --format)\n"
    "  --kind KIND         dense, sparse (unstored entries are zeros) or incomplete\n"
    "                      (unstored entries are unknown: each column is fitted on\n"
    "                      its observed rows); default: dense for array files,\n"
    "                      sparse for coordinate files\n"
    "  --l1 A              L1 (sparsity) penalty on the coefficients, as factorize's\n"
    "  --l2 A              L2 (ridge) penalty on the coefficients\n"
    "  --l2-per-entry      weigh the L2 penalty of each column by its observed entries\n"
    "  --threads N         threads (default: all); the result does not depend on it\n"
    "  --out PREFIX        write PREFIX.H.mtx (PREFIX.W.mtx with --side rows) and\n"
    "                      PREFIX.summary.json, both or none (required: the fit's\n"
    "                      own files are never overwritten by default)\n"
    "  --quiet             no summary on the terminal\n"
    FM_ARG_MEMORY_HELP
    FM_ARG_PROFILE_HELP;

int fm_cmd_transform(int argc, char **argv)
{
    const char *data = NULL, *basis_file = NULL, *out_prefix = NULL;
    fm_kind kind = FM_KIND_AUTO;
    fm_side side = FM_SIDE_COLUMNS;
    fm_format format = FM_FORMAT_AUTO;
    fm_penalty penalty = { 0 };
    double l1 = 0, l2 = 0;
    long threads = 0;
    bool quiet = false;
    char msg[FM_MSG_LEN] = "";

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            return 0;
        }
        if (!strcmp(a, "--quiet")) { quiet = true; continue; }
        if (!strcmp(a, "--l2-per-entry")) { penalty.l2_per_entry = true; continue; }
        if (a[0] != '-') {
            if (!fm_arg_data(&data, a)) return 2;
            continue;
        }
        if (!(v = fm_arg_value(argc, argv, &i))) return 2;
        bool ok = true;
        if (!strcmp(a, "--basis")) basis_file = v;
        else if (!strcmp(a, "--out")) out_prefix = v;
        else if (!strcmp(a, "--side")) {
            if (fm_side_parse(&side, v, msg)) { fprintf(stderr, "factormer: --side: %s\n", msg); return 2; }
        } else if (!strcmp(a, "--format")) {
            if (fm_format_parse(&format, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        } else if (!strcmp(a, "--kind")) {
            if (fm_kind_parse(&kind, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        }
        else if (!strcmp(a, "--l1")) ok = fm_arg_double(a, v, 0, 1e30, &l1);
        else if (!strcmp(a, "--l2")) ok = fm_arg_double(a, v, 0, 1e30, &l2);
        else if (!strcmp(a, "--threads")) ok = fm_arg_int(a, v, 1, 4096, &threads);
        else { fprintf(stderr, "factormer: unknown option '%s' (see 'factormer transform --help')\n", a); return 2; }
        if (!ok) return 2;
    }
    if (!data || !basis_file || !out_prefix) {
        fprintf(stderr, "factormer: transform needs %s (see 'factormer transform --help')\n",
                !data ? "a data file" : !basis_file ? "--basis FILE (the fixed factor)" : "--out PREFIX");
        return 2;
    }
    penalty.l1 = (float)l1;
    penalty.l2 = (float)l2;
    if (threads > 0) fm_set_threads((int)threads);
    const bool columns = side == FM_SIDE_COLUMNS;

    fm_triplets *t = NULL;
    fm_graph *g = NULL;
    fm_dense *basis = NULL, *result = NULL;
    fm_output_set *set = NULL;
    char *command = NULL, *comment = NULL;
    int status = 1;

    static const char *const suffix_h[2] = { ".H.mtx", ".summary.json" }, *const suffix_w[2] = { ".W.mtx",
                                                                                                  ".summary.json" };
    const int opened = fm_output_set_open(&set, "--out", out_prefix, columns ? suffix_h : suffix_w, 2, msg);
    if (opened != FM_OK) {
        fprintf(stderr, "factormer: %s\n", msg);
        return opened == FM_ERR_INVALID ? 2 : 1;
    }
    command = fm_arg_command_shell();
    if (!command) {
        snprintf(msg, sizeof msg, "out of memory");
        goto fail;
    }
    const double start = omp_get_wtime();
    if (fm_mtx_read_dense(&basis, basis_file, msg)) goto fail;
    const int64_t rank = columns ? basis->cols : basis->rows;
    if (rank > FM_MAX_RANK) {
        snprintf(msg, sizeof msg, "%s: the basis is %lld x %lld, of rank %lld above the maximum %d (%s)",
                 fm_arg_shown(basis_file), (long long)basis->rows, (long long)basis->cols, (long long)rank,
                 FM_MAX_RANK, columns ? "a basis W is rows x rank" : "a basis H is rank x cols");
        goto fail;
    }
    if (fm_matrix_read_for_run(&t, data, format, kind, (int)rank, msg)) goto fail;
    if (kind == FM_KIND_AUTO) kind = t->array ? FM_KIND_DENSE : FM_KIND_SPARSE;
    if (columns ? basis->rows != t->rows : basis->cols != t->cols) {
        snprintf(msg, sizeof msg, "%s: the basis is %lld x %lld and the data %s is %lld x %lld: %s",
                 fm_arg_shown(basis_file), (long long)basis->rows, (long long)basis->cols, fm_arg_shown(data),
                 (long long)t->rows, (long long)t->cols,
                 columns ? "--side columns needs a basis W with a row per data row (rows x rank, a fit's "
                           "PREFIX.W.mtx)"
                         : "--side rows needs a basis H with a column per data column (rank x cols, a fit's "
                           "PREFIX.H.mtx)");
        goto fail;
    }
    if (fm_graph_from_triplets(&g, t, kind, msg)) goto fail;
    fm_triplets_free(&t);
    if (fm_transform(&result, g, basis, side, penalty, msg)) goto fail;
    double rmse;
    if (fm_rmse(&rmse, g, columns ? basis : result, columns ? result : basis, msg)) goto fail;
    const double seconds = omp_get_wtime() - start;
    fm_graph_stats st;
    fm_graph_stats_get(g, &st);
    const double rms_x = sqrt(st.sumsq / fm_graph_omega(g));

    const size_t comment_size = strlen(data) + strlen(basis_file) + strlen(command) + 160;
    if (!(comment = malloc(comment_size))) {
        snprintf(msg, sizeof msg, "out of memory");
        goto fail;
    }
    if (fm_output_set_stage(set, msg)) goto fail;
    snprintf(comment, comment_size, "factormer: %s of %s against %s, rank %lld\nfactormer %s: %s",
             columns ? "H" : "W", data, basis_file, (long long)rank, fm_version(), command);
    if (fm_mtx_write_dense(fm_output_set_staged(set, 0), result, comment, msg)) goto fail;
    {
        char *command_json = fm_arg_command_json();
        char v[16][4400];
        const char *keys[16], *values[16];
        int n = 0, command_key;
#define KEY(name, ...) (keys[n] = name, snprintf(v[n], sizeof v[n], __VA_ARGS__), n++)
#define NUM(name, x) (keys[n] = name, fm_arg_json_number(v[n], sizeof v[n], x), n++)
        KEY("version", "\"%s\"", fm_version());
        keys[command_key = n++] = "command";
        keys[n] = "data";
        fm_arg_json_string(v[n++], sizeof v[0], data);
        keys[n] = "basis";
        fm_arg_json_string(v[n++], sizeof v[0], basis_file);
        KEY("side", "\"%s\"", fm_side_name(side));
        KEY("kind", "\"%s\"", fm_kind_name(st.kind));
        KEY("rows", "%lld", (long long)st.rows);
        KEY("cols", "%lld", (long long)st.cols);
        KEY("entries", "%lld", (long long)st.entries);
        KEY("rank", "%lld", (long long)rank);
        KEY("penalties", "{\"l1\": %g, \"l2\": %g, \"l2_per_entry\": %s}", penalty.l1, penalty.l2,
            penalty.l2_per_entry ? "true" : "false");
        NUM("rmse", rmse);
        NUM("relative_rmse", rms_x > 0 ? rmse / rms_x : NAN);
        NUM("seconds", seconds);
        KEY("threads", "%d", fm_get_threads());
#undef KEY
#undef NUM
        for (int i = 0; i < n; i++) values[i] = v[i];
        values[command_key] = command_json ? command_json : "null";
        const int written = fm_json_write(fm_output_set_staged(set, 1), keys, values, n, msg);
        free(command_json);
        if (written) goto fail;
    }
    if (fm_output_set_commit(set, msg)) goto fail;
    if (!quiet) {
        printf("transformed %s against %s\n", fm_arg_shown(data), fm_arg_shown(basis_file));
        printf("  shape        %lld x %lld, %s, %lld stored entries\n", (long long)st.rows, (long long)st.cols,
               fm_kind_name(st.kind), (long long)st.entries);
        printf("  solved for   %s (%s), rank %lld\n", columns ? "H" : "W",
               columns ? "the coefficients of each column" : "the coefficients of each row", (long long)rank);
        printf("  rmse         %.6g (relative %.3g)\n", rmse, rms_x > 0 ? rmse / rms_x : NAN);
        printf("  time         %.3f s (%d threads)\n", seconds, fm_get_threads());
        printf("  wrote        %s %s\n", fm_arg_shown(fm_output_set_final(set, 0)),
               fm_arg_shown(fm_output_set_final(set, 1)));
    }
    status = 0;
    goto done;
fail:
    if (set) fm_output_set_name_final(set, msg);
    fprintf(stderr, "factormer: %s\n", msg);
done:
    fm_output_set_free(&set);
    free(command);
    free(comment);
    fm_triplets_free(&t);
    fm_graph_free(&g);
    fm_dense_free(&basis);
    fm_dense_free(&result);
    return status;
}
