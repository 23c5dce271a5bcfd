// factormer sample: how the edge samplers of sampled message passing (§8)
// behave on a matrix (perf/lib/sampler_stats).
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "factormer.h"
#include "graph.h"
#include "sampler_stats.h"

static const char help[] =
    "usage: factormer sample DATA.mtx[.gz] --fanout F [options]\n"
    "\n"
    "Draws the edge samplers of sampled message passing (docs/factormer-math.md §8)\n"
    "repeatedly in both directions (targets = columns, the H-direction, then\n"
    "targets = rows, the W-direction) and prints per sampler:\n"
    "\n"
    "  kept          edges kept per target: min, median and max over every\n"
    "                target and draw\n"
    "  edges/draw    the mean number of sampled edges in a draw\n"
    "  coverage cv   over the stored edges, the coefficient of variation of\n"
    "                (times drawn / N) / pi, with pi the edge's inclusion\n"
    "                probability and N the draws: 0 when every edge is drawn\n"
    "                exactly as often as designed. Beside it (chance), what N\n"
    "                independent draws give by chance alone: the square root of\n"
    "                the mean of (1 - pi) / (N pi)\n"
    "  never drawn   the share of the stored edges never drawn, and its chance\n"
    "                value, the mean of (1 - pi)^N\n"
    "  attention     the mean relative error ||sampled - full|| / ||full|| of an\n"
    "                attention output on up to 256 random targets with in-edges:\n"
    "                random features of width 16, q_j (targets) and k_i (sources)\n"
    "                standard normal, v_i (sources) normal with mean 1 and sd 1;\n"
    "                score q_j.k_i / 4, value x_ij v_i.\n"
    "                The sampled output is the inclusion-corrected estimate of\n"
    "                §8 (scores minus log pi, numerator over denominator); the\n"
    "                full one is the softmax over every in-edge (over every\n"
    "                source for stratified: its unstored zeros have value 0 but\n"
    "                count in the softmax)\n"
    "  edges/s       sampled edges per second of the sampler alone (the best\n"
    "                draw), and that draw's milliseconds\n"
    "\n"
    "The coverage columns leave out stratified's unstored zeros.\n"
    "\n"
    "  --fanout F          in-edges kept per target (required)\n"
    "  --sampler NAME      full, uniform, weighted, stratified or all (default all;\n"
    "                      all leaves stratified out unless the kind is sparse)\n"
    "  --zero-ratio R      stratified: round(R x F) unstored zeros drawn per target\n"
    "                      (default 1)\n"
    "  --draws N           draws per sampler and direction (default 20)\n"
    "  --seed S            seed of the draws and of the features (default 1)\n"
    "  --kind KIND         dense, sparse or incomplete (default: by the file's format)\n"
    "  --threads N         threads (default: all)\n"
    FM_ARG_MEMORY_HELP
    FM_ARG_PROFILE_HELP;

static void print_header(void)
{
    printf("  %-10s %21s %11s %18s %17s %10s %10s %9s\n", "", "kept per target", "edges", "coverage cv",
           "never drawn", "attention", "sampled", "best");
    printf("  %-10s %6s %7s %6s %11s %9s %8s %8s %8s %10s %10s %9s\n", "sampler", "min", "median", "max",
           "per draw", "drawn", "chance", "drawn", "chance", "error", "edges/s", "ms/draw");
}

static void print_row(const char *name, const fm_sampler_stats *s)
{
    printf("  %-10s %6lld %7lld %6lld %11.5g %9.3f %8.3f %7.2f%% %7.2f%% %10.4f %10.3g %9.3f\n", name,
           (long long)s->kept_min, (long long)s->kept_median, (long long)s->kept_max, s->edges_per_draw,
           s->coverage_cv, s->coverage_cv_chance, 100 * s->never_drawn, 100 * s->never_drawn_chance,
           s->attention_error, s->edges_per_second, 1e3 * s->draw_seconds);
}

int fm_cmd_sample(int argc, char **argv)
{
    const char *data = NULL, *sampler_name = "all";
    fm_kind kind = FM_KIND_AUTO;
    long fanout = 0, draws = 20, threads = 0, seed = 1;
    double ratio = 1;
    char msg[FM_MSG_LEN];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(help, stdout); return 0; }
        if (a[0] != '-') {
            if (!fm_arg_data(&data, a)) return 2;
            continue;
        }
        if (!(v = fm_arg_value(argc, argv, &i))) return 2;
        bool ok = true;
        if (!strcmp(a, "--fanout")) ok = fm_arg_int(a, v, 1, 1L << 40, &fanout);
        else if (!strcmp(a, "--sampler")) {
            fm_sampler strategy;
            sampler_name = v;
            if (strcmp(v, "all") && fm_sampler_parse_node_wise(&strategy, v, msg)) {
                fprintf(stderr, "factormer: --sampler: %s (or all)\n", msg);
                return 2;
            }
        }
        else if (!strcmp(a, "--zero-ratio")) ok = fm_arg_double(a, v, 0, 1e6, &ratio);
        else if (!strcmp(a, "--draws")) ok = fm_arg_int(a, v, 1, 100000, &draws);
        else if (!strcmp(a, "--seed")) ok = fm_arg_int(a, v, 0, 1L << 62, &seed);
        else if (!strcmp(a, "--kind")) {
            if (fm_kind_parse(&kind, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
        }
        else if (!strcmp(a, "--threads")) ok = fm_arg_int(a, v, 1, 4096, &threads);
        else { fprintf(stderr, "factormer: unknown option '%s'\n", a); return 2; }
        if (!ok) return 2;
    }
    if (!data) { fprintf(stderr, "factormer: sample needs a data file\n%s", help); return 2; }
    if (!fanout) { fprintf(stderr, "factormer: sample needs --fanout F (the in-edges kept per target)\n"); return 2; }
    if (threads > 0) fm_set_threads((int)threads);

    fm_triplets *t = NULL;
    fm_graph *g = NULL;
    if (fm_mtx_read_for_run(&t, data, kind, 0, msg) || fm_graph_from_triplets(&g, t, kind, msg)) {
        fprintf(stderr, "factormer: %s\n", msg);
        fm_triplets_free(&t);
        return 1;
    }
    fm_triplets_free(&t);
    fm_graph_stats st;
    fm_graph_stats_get(g, &st);
    const bool all = !strcmp(sampler_name, "all");
    fm_sampler only = FM_SAMPLER_FULL;
    if (!all) fm_sampler_parse_node_wise(&only, sampler_name, msg);

    fm_sampler_stats_options options = {
        .sampler = { .fanout = fanout, .zero_ratio = ratio, .seed = (uint64_t)seed },
        .draws = (int)draws,
        .probes = FM_SAMPLER_STATS_PROBES,
    };
    printf("%s: %lld x %lld, %s, %lld stored entries\n", fm_arg_shown(data), (long long)st.rows, (long long)st.cols,
           fm_kind_name(st.kind), (long long)st.entries);
    const int threads_used = fm_get_threads();
    printf("fanout %ld, zero ratio %g, %ld draw%s, seed %ld, %d thread%s\n", fanout, ratio, draws,
           draws == 1 ? "" : "s", seed, threads_used, threads_used == 1 ? "" : "s");
    static const char *const directions[2] = { "targets = rows (W-direction)", "targets = columns (H-direction)" };
    for (int d = FM_TO_COLUMNS; d >= FM_TO_ROWS; d--) {
        const fm_direction direction = (fm_direction)d;
        printf("\n%s: %lld targets, %lld sources\n", directions[d],
               (long long)(direction == FM_TO_COLUMNS ? st.cols : st.rows),
               (long long)(direction == FM_TO_COLUMNS ? st.rows : st.cols));
        print_header();
        for (int s = 0; s < FM_SAMPLER_NODE_WISE; s++) {
            if (!all && s != (int)only) continue;
            const char *name = fm_sampler_name((fm_sampler)s);
            if (all && s == FM_SAMPLER_STRATIFIED && st.kind != FM_KIND_SPARSE) {
                printf("  %-10s left out: it draws unstored zeros, which only the sparse kind has\n", name);
                continue;
            }
            options.sampler.strategy = (fm_sampler)s;
            fm_sampler_stats stats;
            if (fm_sampler_stats_run(&stats, g, direction, &options, msg)) {
                fprintf(stderr, "factormer: %s\n", msg);
                fm_graph_free(&g);
                return 1;
            }
            print_row(name, &stats);
        }
    }
    fm_graph_free(&g);
    return 0;
}
