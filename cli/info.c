// factormer info: what a matrix file holds and what a run on it needs.
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "factormer.h"

static const char help[] =
    "usage: factormer info DATA.mtx[.gz] [--kind KIND] [--rank K]\n"
    "\n"
    "Prints the shape, stored entries, kind, value range and the memory that a\n"
    "factorization at rank K (default 10) will need. A file whose rank-K run needs\n"
    "more than the memory limit is refused with the estimate, as factorize refuses it.\n"
    "\n"
    "  --kind KIND         dense, sparse or incomplete (default: by the file's format)\n"
    "  --rank K            rank of the planned factorization (default 10; at most 256)\n"
    FM_ARG_MEMORY_HELP
    FM_ARG_PROFILE_HELP;

static double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

int fm_cmd_info(int argc, char **argv)
{
    const char *data = NULL;
    fm_kind kind = FM_KIND_AUTO;
    long rank = 10;
    char msg[FM_MSG_LEN];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(help, stdout); return 0; }
        if (a[0] != '-') {
            if (!fm_arg_data(&data, a)) return 2;
            continue;
        }
        if (!(v = fm_arg_value(argc, argv, &i))) return 2;
        if (!strcmp(a, "--kind")) {
            if (fm_kind_parse(&kind, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        } else if (!strcmp(a, "--rank")) {
            if (!fm_arg_rank(a, v, &rank)) return 2;
        } else { fprintf(stderr, "factormer: unknown option '%s'\n", a); return 2; }
    }
    if (!data) { fprintf(stderr, "factormer: info needs a data file\n%s", help); return 2; }

    fm_triplets *t = NULL;
    fm_graph *g = NULL;
    // refused, as factorize would refuse it, when a rank-K run exceeds the memory limit
    if (fm_mtx_read_for_run(&t, data, kind, (int)rank, msg) ||
        fm_graph_from_triplets(&g, t, kind, msg)) {
        fprintf(stderr, "factormer: %s\n", msg);
        fm_triplets_free(&t);
        return 1;
    }
    const bool array = t->array;
    const int64_t read_count = t->count;
    fm_triplets_free(&t);
    fm_graph_stats st;
    fm_graph_stats_get(g, &st);
    const double omega = fm_graph_omega(g);
    // what a run needs, as the reader estimates it (for the entries held)
    fm_memory_estimate m;
    fm_memory_estimate_run(&m, st.rows, st.cols, array ? read_count : st.entries, array, st.kind, (int)rank);
    printf("%s\n", fm_arg_shown(data));
    printf("  format    %s\n", array ? "array (dense)" : "coordinate");
    printf("  shape     %lld x %lld\n", (long long)st.rows, (long long)st.cols);
    printf("  kind      %s\n", fm_kind_name(st.kind));
    printf("  entries   %lld stored (%.4g%% of all), |Omega| = %.0f\n", (long long)st.entries,
           100.0 * st.entries / ((double)st.rows * st.cols), omega);
    printf("  values    min %g, max %g, mean over Omega %.6g, rms %.6g\n", st.min, st.max,
           fm_graph_mean(g), omega > 0 ? __builtin_sqrt(st.sumsq / omega) : 0.0);
    printf("  memory    %.1f MiB for a rank-%ld run (graph %.1f, factors %.1f), %.1f MiB more while reading\n",
           mib(m.graph + m.factors), rank, mib(m.graph), mib(m.factors), mib(m.reading + m.building));
    fm_graph_free(&g);
    return 0;
}
