// Sampled message passing at scale (docs/factormer-math.md §8, issue 5): an
// incomplete matrix with power-law degrees generated in memory, AO-ADMM on
// it, and for each sampler the cost of one accelerator step, split into its
// sampling and its forward pass, against an ADMM iteration; then a whole
// accelerated run. Peak memory (the process's maximum resident set) after
// every phase.
//
//   OMP_NUM_THREADS=2 ./build/bench_scale [--rows 1000000] [--cols 100000]
//       [--entries 50000000] [--rank 10] [--degrees power-law] [--iters 20]
//       [--fanout 32] [--samplers uniform,weighted] [--accel-steps 2]
//       [--accel-every 5] [--batch-targets 8192] [--model PATH] [--threads T]
//       [--seed 42] [--profile]
//
// The acceleration model is the shipped one for the rank
// (models/shipped/accel-rank<K>.fmw, or $FACTORMER_MODELS), or --model's.
// Its layers run in mini-batches of --batch-targets targets (0: all at once).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "factormer.h"
#include "learned.h"
#include "network_graph.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double peak_gib(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_maxrss / (1024.0 * 1024.0);   // ru_maxrss is in KiB on Linux
}

static int fail(const char *msg)
{
    fprintf(stderr, "bench_scale: %s\n", msg);
    return 1;
}

typedef struct options {
    long rows, cols, entries, rank, iters, fanout, steps, every, threads, seed, batch_targets;
    const char *model;
    fm_degrees degrees;
    char samplers[256];
    bool profile;
} options;

static int parse(options *o, int argc, char **argv)
{
    *o = (options){ 1000000, 100000, 50000000, 10, 20, 32, 2, 5, 0, 42, FM_BATCH_TARGETS, NULL, FM_DEGREES_POWER_LAW,
                    "uniform,weighted", false };
    char msg[FM_MSG_LEN];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--profile")) { o->profile = true; continue; }
        if (!v) { fprintf(stderr, "bench_scale: %s needs a value\n", a); return 2; }
        i++;
        if (!strcmp(a, "--rows")) o->rows = atol(v);
        else if (!strcmp(a, "--cols")) o->cols = atol(v);
        else if (!strcmp(a, "--entries")) o->entries = atol(v);
        else if (!strcmp(a, "--rank")) o->rank = atol(v);
        else if (!strcmp(a, "--iters")) o->iters = atol(v);
        else if (!strcmp(a, "--fanout")) o->fanout = atol(v);
        else if (!strcmp(a, "--accel-steps")) o->steps = atol(v);
        else if (!strcmp(a, "--accel-every")) o->every = atol(v);
        else if (!strcmp(a, "--threads")) o->threads = atol(v);
        else if (!strcmp(a, "--seed")) o->seed = atol(v);
        else if (!strcmp(a, "--batch-targets")) o->batch_targets = atol(v);
        else if (!strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "--samplers")) snprintf(o->samplers, sizeof o->samplers, "%s", v);
        else if (!strcmp(a, "--degrees")) {
            if (fm_degrees_parse(&o->degrees, v, msg)) return fail(msg) + 1;
        } else {
            fprintf(stderr, "bench_scale: unknown option '%s'\n", a);
            return 2;
        }
    }
    if (o->rows < 1 || o->cols < 2 || o->entries < 1 || o->rank < 1 || o->iters < 1 || o->fanout < 1 ||
        o->steps < 0 || o->every < 1 || o->batch_targets < 0) {
        fprintf(stderr, "bench_scale: every size, count and the fanout must be positive\n");
        return 2;
    }
    return 0;
}

// One draw and one accelerator forward pass on it, timed apart.
static int time_step(double *draw, double *forward, int64_t *edges, fm_graph *g, const fm_edges *rows,
                     const fm_edges *cols, fm_learned *model, const fm_solver_result *plain, fm_sampler sampler,
                     const options *o, char *msg)
{
    fm_network_graph sample = { 0 };
    fm_dense *W = NULL, *Ht = NULL;
    const int64_t m = g->stats.rows, n = g->stats.cols, k = o->rank;
    int status = fm_dense_new(&W, m, k, msg);
    if (!status) status = fm_dense_new(&Ht, n, k, msg);
    if (status) goto done;
    memcpy(W->data, plain->W->data, sizeof(float) * m * k);
    for (int64_t j = 0; j < n; j++)
        for (int64_t r = 0; r < k; r++) Ht->data[j * k + r] = plain->H->data[r * n + j];
    const fm_sampler_options options = { .strategy = sampler, .fanout = o->fanout, .zero_ratio = 1,
                                         .seed = (uint64_t)o->seed };
    double start = now();
    status = fm_network_graph_draw(&sample, g, rows, cols, fm_graph_mean(g), &options, false,
                                   model->weights.config.layers, 1, false, msg);
    *draw = now() - start;
    if (status) goto done;
    *edges = sample.edges;
    start = now();
    // the previous iterate and the ADMM iterate are both the plain run's end
    status = fm_learned_accelerate(W, Ht, plain->W, Ht, model, &sample.graph, fm_graph_mean(g), true, NULL, msg);
    *forward = now() - start;
done:
    fm_network_graph_free(&sample);
    fm_dense_free(&W);
    fm_dense_free(&Ht);
    return status;
}

int main(int argc, char **argv)
{
    options o;
    int status = parse(&o, argc, argv);
    if (status) return status;
    char msg[FM_MSG_LEN];
    if (fm_init(msg)) return fail(msg);
    if (o.threads > 0) fm_set_threads((int)o.threads);
    if (o.profile) fm_profile_enable(true);
    printf("bench_scale: %ld x %ld incomplete, about %ld entries, %s degrees, planted rank %ld; %d threads\n", o.rows,
           o.cols, o.entries, fm_degrees_name(o.degrees), o.rank, fm_get_threads());

    double start = now();
    fm_triplets *t = NULL;
    if (fm_synthetic_observed(&t, o.rows, o.cols, (int)o.rank, 0, o.entries, o.degrees, (uint64_t)o.seed, msg))
        return fail(msg);
    const double generated = now() - start;
    start = now();
    fm_graph *g = NULL;
    if (fm_graph_from_triplets(&g, t, FM_KIND_INCOMPLETE, msg)) return fail(msg);
    const int64_t entries = t->count;
    fm_triplets_free(&t);
    printf("  generate      %.1f s, %lld entries; graph (A and Aᵀ) %.1f s; peak %.2f GiB\n", generated,
           (long long)entries, now() - start, peak_gib());
    fflush(stdout);

    fm_solver_options so;
    fm_solver_options_default(&so);
    so.rank = (int)o.rank;
    so.iters = (int)o.iters;
    so.tol = 0;
    so.seed = (uint64_t)o.seed;
    fm_solver_result *plain = NULL;
    if (fm_solver_run(&plain, g, NULL, &so, msg)) return fail(msg);
    const double total = plain->trace[plain->trace_len - 1].seconds;
    const double per_iteration = (total - plain->init_seconds) / o.iters;
    printf("  ADMM          %ld iterations in %.1f s: init (NNDSVD) %.1f s, %.2f s per iteration; RMSE %.4g -> %.4g; "
           "peak %.2f GiB\n", o.iters, total, plain->init_seconds, per_iteration, plain->trace[0].rmse,
           plain->trace[plain->trace_len - 1].rmse, peak_gib());
    fflush(stdout);

    fm_learned model = { 0 };
    if (fm_learned_load(&model, o.model, FM_MODEL_ACCEL, (int)o.rank, msg)) return fail(msg);
    model.batch_targets = o.batch_targets;
    const fm_lfactormer_config *c = &model.weights.config;
    printf("  model         %s: width %d, %d heads, %d layers; batches of %ld targets%s\n", model.path, c->width,
           c->heads, c->layers, o.batch_targets, o.batch_targets ? "" : " (all at once)");
    fm_edges rows, cols;
    if (fm_edges_borrow(&rows, g, FM_TO_ROWS, msg) || fm_edges_borrow(&cols, g, FM_TO_COLUMNS, msg)) return fail(msg);
    fm_sampler first = FM_SAMPLER_COUNT;
    for (char *name = strtok(o.samplers, ","); name; name = strtok(NULL, ",")) {
        fm_sampler sampler;
        if (fm_sampler_parse(&sampler, name, msg)) return fail(msg);
        if (sampler == FM_SAMPLER_FULL) { fprintf(stderr, "bench_scale: full is not a sample; skipped\n"); continue; }
        if (first == FM_SAMPLER_COUNT) first = sampler;
        double draw, forward;
        int64_t edges;
        if (time_step(&draw, &forward, &edges, g, &rows, &cols, &model, plain, sampler, &o, msg)) return fail(msg);
        printf("  %-10s    fanout %ld, per layer: %lld edges over %d layers; sampling %.2f s, forward %.2f s "
               "(sampling %.1f%% of the sampled pass); step %.2f s = %.2f ADMM iterations; peak %.2f GiB\n",
               name, o.fanout, (long long)edges, model.weights.config.layers, draw, forward,
               100 * draw / (draw + forward), draw + forward, (draw + forward) / per_iteration, peak_gib());
        fflush(stdout);
    }
    fm_edges_return(&rows, NULL);
    fm_edges_return(&cols, NULL);

    if (first != FM_SAMPLER_COUNT && o.steps > 0) {
        so.iters = (int)(o.every * o.steps);
        so.accelerate = true;
        so.accel_every = (int)o.every;
        so.accel_steps = (int)o.steps;
        so.accel_network = &model;
        so.sampler = first;
        so.fanout = o.fanout;
        so.batch_targets = o.batch_targets;
        fm_solver_result *accelerated = NULL;
        if (fm_solver_run(&accelerated, g, NULL, &so, msg)) return fail(msg);
        const fm_solver_iterate *last = &accelerated->trace[accelerated->trace_len - 1];
        printf("  accelerated   %d iterations, %d steps (%s, fanout %ld; %d refused) in %.1f s; RMSE %.4g "
               "(plain ADMM at iteration %d: %.4g); peak %.2f GiB\n", last->iteration, accelerated->accel_steps,
               fm_sampler_name(first), o.fanout, accelerated->accel_rejected, last->seconds, last->rmse,
               last->iteration, plain->trace[last->iteration < plain->trace_len ? last->iteration : 0].rmse,
               peak_gib());
        fm_solver_result_free(&accelerated);
    }
    if (o.profile) fm_profile_print(stdout, 0);
    fm_learned_free(&model);
    fm_solver_result_free(&plain);
    fm_graph_free(&g);
    fm_finalize();
    return 0;
}
