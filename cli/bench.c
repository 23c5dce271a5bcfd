// factormer bench: kernel benchmarks, side by side in one run.
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "attention.h"
#include "bench_attention.h"
#include "factormer.h"
#include "output.h"

static const char help[] =
    "usage: factormer bench attention [options]\n"
    "       factormer bench solve [A.mtx ...] [options]  (see its --help)\n"
    "\n"
    "Times the edge attention (forward and backward) of the GraphBLAS path and the\n"
    "fused path, in both directions, on a complete 100 x 100 graph, a complete\n"
    "2000 x 2000 graph and a sparse graph, next to the SGEMM rate measured in the\n"
    "same run, and the memory of one Factormer layer on the sparse graph.\n"
    "\n"
    "  --width D           feature width (default 100)\n"
    "  --heads H           attention heads (default 4)\n"
    "  --repeat R          timed runs after a warm-up; the best is shown (default 3)\n"
    "  --sparse-nodes N    rows = columns of the sparse graph (default 100000)\n"
    "  --sparse-edges E    its random edges (default 2000000)\n"
    "  --graphs LIST       any of small,dense,sparse (default all three)\n"
    "  --kernels PATH      graphblas, fused or both (default both)\n"
    "  --threads N         threads (default: all)\n"
    "  --json FILE         also write the figures as JSON\n"
    FM_ARG_PROFILE_HELP;

static bool parse_graphs(bool graphs[FM_BENCH_GRAPHS], const char *list)
{
    static const char *names[FM_BENCH_GRAPHS] = {"small", "dense", "sparse"};
    for (int k = 0; k < FM_BENCH_GRAPHS; k++) graphs[k] = false;
    char copy[128];
    snprintf(copy, sizeof copy, "%s", list);
    for (char *name = strtok(copy, ","); name; name = strtok(NULL, ",")) {
        int k = 0;
        while (k < FM_BENCH_GRAPHS && strcmp(name, names[k])) k++;
        if (k == FM_BENCH_GRAPHS) {
            fprintf(stderr, "factormer: --graphs expects small, dense or sparse, not '%s'\n", name);
            return false;
        }
        graphs[k] = true;
    }
    return true;
}

static void print_report(const fm_bench_attention_report *r)
{
    printf("edge attention, d = %d, %d heads, %d threads; best of %d runs\n", r->options.width, r->options.heads,
           r->threads, r->options.repeat);
    printf("SGEMM 2000 x 2000 x 2000 (OpenBLAS, in this run): %.1f GFLOP/s\n", r->sgemm_gflops);
    const bool both = r->options.paths[0] && r->options.paths[1];
    const int per_graph = both ? 4 : 2;
    for (int k = 0; k < r->rows; k++) {
        const fm_bench_attention_row *w = &r->row[k];
        if (k % per_graph == 0)
            printf("\n%s, %lld edges\n  %-10s %-3s %12s %12s %12s %10s %10s %10s %9s\n", w->graph,
                   (long long)w->edges, "path", "dir", "forward s", "backward s", "edges/s", "fwd GF/s",
                   "bwd GF/s", "fwd/SGEMM", "peak MiB");
        printf("  %-10s %-3s %12.4f %12.4f %12.3g %10.2f %10.2f %9.1f%% %9.1f\n", w->path, w->direction,
               w->forward_seconds, w->backward_seconds, w->edges_per_second, w->forward_gflops, w->backward_gflops,
               100 * w->forward_gflops / r->sgemm_gflops, w->peak_mib);
        if (both && k % 4 == 3) {
            // rows k-3..k: graphblas H, graphblas W, fused H, fused W
            const double gb_f = r->row[k - 3].forward_seconds + r->row[k - 2].forward_seconds;
            const double gb_b = r->row[k - 3].backward_seconds + r->row[k - 2].backward_seconds;
            const double fu_f = r->row[k - 1].forward_seconds + w->forward_seconds;
            const double fu_b = r->row[k - 1].backward_seconds + w->backward_seconds;
            printf("  fused/graphblas speedup: forward %.1fx, backward %.1fx\n", gb_f / fu_f, gb_b / fu_b);
        }
    }
    if (r->layer_peak_mib > 0)
        printf("\none fused layer (forward + backward, H-direction) on the sparse graph: peak %.0f MiB, "
               "graph + node features + saved activations %.0f MiB (%.2fx)\n",
               r->layer_peak_mib, r->layer_reference_mib, r->layer_peak_mib / r->layer_reference_mib);
}

int fm_cmd_bench(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "solve")) return fm_cmd_bench_solve(argc - 1, argv + 1);
    if (strcmp(argv[1], "attention")) {
        fprintf(stderr, "factormer: unknown benchmark '%s' (there are: attention, solve)\n", argv[1]);
        return 2;
    }
    fm_bench_attention_options opt;
    fm_bench_attention_defaults(&opt);
    const char *json = NULL;
    long threads = 0, value;
    char msg[FM_MSG_LEN];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(help, stdout); return 0; }
        if (!(v = fm_arg_value(argc, argv, &i))) return 2;
        bool ok = true;
        if (!strcmp(a, "--width")) { ok = fm_arg_int(a, v, 1, 4096, &value); opt.width = (int)value; }
        else if (!strcmp(a, "--heads")) { ok = fm_arg_int(a, v, 1, 256, &value); opt.heads = (int)value; }
        else if (!strcmp(a, "--repeat")) { ok = fm_arg_int(a, v, 0, 1000, &value); opt.repeat = (int)value; }
        else if (!strcmp(a, "--sparse-nodes")) { ok = fm_arg_int(a, v, 1, 1L << 40, &value); opt.sparse_nodes = value; }
        else if (!strcmp(a, "--sparse-edges")) { ok = fm_arg_int(a, v, 1, 1L << 40, &value); opt.sparse_edges = value; }
        else if (!strcmp(a, "--graphs")) ok = parse_graphs(opt.graphs, v);
        else if (!strcmp(a, "--kernels")) {
            const bool both = !strcmp(v, "both");
            fm_kernels kernels = FM_KERNELS_FUSED;
            ok = both || fm_kernels_parse(&kernels, v, msg) == FM_OK;
            if (!ok) fprintf(stderr, "factormer: %s\n", msg);
            opt.paths[FM_KERNELS_FUSED] = both || kernels == FM_KERNELS_FUSED;
            opt.paths[FM_KERNELS_GRAPHBLAS] = both || kernels == FM_KERNELS_GRAPHBLAS;
        }
        else if (!strcmp(a, "--threads")) ok = fm_arg_int(a, v, 1, 4096, &threads);
        else if (!strcmp(a, "--json")) json = v;
        else { fprintf(stderr, "factormer: unknown option '%s'\n", a); return 2; }
        if (!ok) return 2;
    }
    if (opt.width % opt.heads) {
        fprintf(stderr, "factormer: --width %d is not a multiple of --heads %d\n", opt.width, opt.heads);
        return 2;
    }
    const int checked = json ? fm_output_check(json, "--json", msg) : FM_OK;   // before the work
    if (checked) { fprintf(stderr, "factormer: %s\n", msg); return checked == FM_ERR_INVALID ? 2 : 1; }
    if (threads > 0) fm_set_threads((int)threads);
    fm_bench_attention_report report;
    if (fm_bench_attention(&report, &opt, msg) ||
        (json && fm_bench_attention_write_json(json, &report, msg))) {
        fprintf(stderr, "factormer: %s\n", msg);
        return 1;
    }
    print_report(&report);
    return 0;
}
