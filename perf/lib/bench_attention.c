// `factormer bench attention` (perf/lib/bench_attention.h): both paths of the
// edge attention timed in one run next to the machine's SGEMM rate.
#include "bench_attention.h"

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "atomic_file.h"
#include "attention.h"
#include "factormer_layer.h"
#include "gemm_rows.h"
#include "rng.h"
#include "status.h"

void fm_bench_attention_defaults(fm_bench_attention_options *opt)
{
    *opt = (fm_bench_attention_options){.width = 100, .heads = 4, .repeat = 3, .sparse_nodes = 100000,
                                        .sparse_edges = 2000000, .graphs = {true, true, true}, .paths = {true, true},
                                        .seed = 42};
}

//------------------------------------------------------------------------------
// Resident memory, from /proc/self/status; writing 5 to clear_refs resets the
// peak (VmHWM) to the current resident size.
//------------------------------------------------------------------------------

static double status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    double kib = -1;
    const size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':') kib = atof(line + n + 1);
    fclose(f);
    return kib;
}

// Returns freed memory to the system first, so that the peak after a reset
// counts the pages a run touches, not pages it reuses.
static void reset_peak(void)
{
    malloc_trim(0);
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return;
    fputs("5", f);
    fclose(f);
}

//------------------------------------------------------------------------------
// Inputs
//------------------------------------------------------------------------------

static int random_array(float **out, int64_t count, double spread, uint64_t seed, uint64_t stream, char *msg)
{
    float *a = NULL;
#define FREE_ALL free(a)
    FM_ALLOC(a, count + 1);
    const fm_rng rng = fm_rng_stream(seed, stream);
#pragma omp parallel for schedule(static)
    for (int64_t e = 0; e < count; e++) a[e] = (float)(spread * fm_rng_normal(rng, (uint64_t)e));
    *out = a;
    return FM_OK;
#undef FREE_ALL
}

// A complete graph (the dense kind) or `edges` uniform random edges.
static int bench_graph(fm_graph **g, int64_t nodes, int64_t edges, bool complete, uint64_t seed, char *msg)
{
    float *values = NULL;
    fm_triplets t = {0};
#define FREE_ALL { free(values); free(t.row); free(t.col); free(t.val); }
    const fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    if (complete) {
        FM_ALLOC(values, nodes * nodes);
        for (int64_t e = 0; e < nodes * nodes; e++) values[e] = (float)fm_rng_uniform(rng, (uint64_t)e);
        FM_TRY(fm_graph_from_dense(g, nodes, nodes, values, FM_KIND_DENSE, msg));
    } else {
        t = (fm_triplets){.rows = nodes, .cols = nodes, .count = edges};
        FM_ALLOC(t.row, edges);
        FM_ALLOC(t.col, edges);
        FM_ALLOC(t.val, edges);
        for (int64_t e = 0; e < edges; e++) {
            t.row[e] = (int64_t)(fm_rng_uniform(rng, 3 * (uint64_t)e) * nodes);
            t.col[e] = (int64_t)(fm_rng_uniform(rng, 3 * (uint64_t)e + 1) * nodes);
            t.val[e] = (float)fm_rng_uniform(rng, 3 * (uint64_t)e + 2);
        }
        // duplicates are summed: the edge count is a little below `edges`
        FM_TRY(fm_graph_from_triplets(g, &t, FM_KIND_SPARSE, msg));
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// Timing
//------------------------------------------------------------------------------

typedef struct bench_arrays {
    float *in[6], *out[4], *d_out[3], *grads[6];
} bench_arrays;

static void bench_arrays_free(bench_arrays *a)
{
    for (int k = 0; k < 6; k++) { free(a->in[k]); free(a->grads[k]); }
    for (int k = 0; k < 4; k++) free(a->out[k]);
    for (int k = 0; k < 3; k++) free(a->d_out[k]);
}

static int bench_arrays_new(bench_arrays *a, fm_attention_shape s, uint64_t seed, char *msg)
{
#define FREE_ALL bench_arrays_free(a)
    memset(a, 0, sizeof *a);
    const int64_t nt = s.targets, ns = s.sources, d = s.width, hd = (int64_t)s.heads * s.width;
    const int64_t in[6] = {nt * d, ns * d, ns * d, ns * d, nt * hd, nt * s.heads};
    const int64_t out[4] = {nt * d, nt * hd, nt * s.heads, nt * s.heads};
    for (int k = 0; k < 6; k++) {
        FM_TRY(random_array(&a->in[k], in[k], 0.1, seed, 100 + k, msg));
        FM_ALLOC(a->grads[k], in[k] + 1);
    }
    for (int k = 0; k < 4; k++) FM_ALLOC(a->out[k], out[k] + 1);
    for (int k = 0; k < 3; k++) FM_TRY(random_array(&a->d_out[k], out[k], 1.0, seed, 200 + k, msg));
    return FM_OK;
#undef FREE_ALL
}

static int time_path(fm_bench_attention_row *row, fm_graph *g, fm_kernels kernels, fm_direction direction,
                     int repeat, uint64_t seed, int width, int heads, char *msg)
{
    bench_arrays a = {0};
    fm_message_graph mg = {0};
#define FREE_ALL { bench_arrays_free(&a); fm_message_graph_close(&mg, NULL); }
    reset_peak();
    const double base_kib = status_kib("VmRSS");
    FM_TRY(fm_message_graph_open(&mg, g, kernels, msg));
    GrB_Index targets, sources, edges;
    const GrB_Matrix by_target = direction == FM_TO_ROWS ? g->A : g->AT;
    if (kernels == FM_KERNELS_FUSED) {
        const fm_edges *e = direction == FM_TO_ROWS ? &mg.rows : &mg.columns;
        targets = (GrB_Index)e->targets;
        sources = (GrB_Index)e->sources;
        edges = (GrB_Index)e->count;
    } else {
        FM_GRB(GrB_Matrix_nrows(&targets, by_target));
        FM_GRB(GrB_Matrix_ncols(&sources, by_target));
        FM_GRB(GrB_Matrix_nvals(&edges, by_target));
    }
    const fm_attention_shape shape = {(int64_t)targets, (int64_t)sources, heads, width};
    FM_TRY(bench_arrays_new(&a, shape, seed, msg));
    const fm_attention_inputs in = {a.in[0], a.in[1], a.in[2], a.in[3], a.in[4], a.in[5]};
    const fm_attention_outputs out = {a.out[0], a.out[1], a.out[2], a.out[3]};
    const fm_attention_outputs d_out = {a.d_out[0], a.d_out[1], a.d_out[2], NULL};
    const fm_attention_grads grads = {a.grads[0], a.grads[1], a.grads[2], a.grads[3], a.grads[4], a.grads[5]};
    double best_forward = INFINITY, best_backward = INFINITY;
    for (int r = 0; r <= repeat; r++) {           // run 0 warms up
        const double t0 = omp_get_wtime();
        FM_TRY(fm_attention_forward((fm_attention_outputs *)&out, &in, &mg, direction, shape, msg));
        const double t1 = omp_get_wtime();
        FM_TRY(fm_attention_backward((fm_attention_grads *)&grads, &d_out, &in, &out, &mg, direction, shape, msg));
        const double t2 = omp_get_wtime();
        if (r > 0 || repeat == 0) {
            best_forward = fmin(best_forward, t1 - t0);
            best_backward = fmin(best_backward, t2 - t1);
        }
    }
    const double peak_kib = status_kib("VmHWM");
    FM_TRY(fm_message_graph_close(&mg, msg));
    row->path = kernels == FM_KERNELS_FUSED ? "fused" : "graphblas";
    row->direction = direction == FM_TO_COLUMNS ? "H" : "W";
    row->edges = (int64_t)edges;
    row->forward_seconds = best_forward;
    row->backward_seconds = best_backward;
    row->forward_gflops = fm_attention_flops(row->edges, shape, false) / best_forward / 1e9;
    row->backward_gflops = fm_attention_flops(row->edges, shape, true) / best_backward / 1e9;
    row->edges_per_second = (double)edges / best_forward;
    row->peak_mib = base_kib >= 0 && peak_kib >= 0 ? (peak_kib - base_kib) / 1024 : -1;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

static int sgemm_rate(double *gflops, char *msg)
{
    float *a = NULL, *b = NULL, *c = NULL;
#define FREE_ALL { free(a); free(b); free(c); }
    const int n = 2000;
    FM_TRY(random_array(&a, (int64_t)n * n, 1.0, 1, 1, msg));
    FM_TRY(random_array(&b, (int64_t)n * n, 1.0, 1, 2, msg));
    FM_ALLOC(c, (int64_t)n * n);
    double best = INFINITY;
    for (int r = 0; r < 4; r++) {
        const double t0 = omp_get_wtime();
        fm_gemm_rows(false, n, n, n, a, n, b, n, 0, c, n);
        if (r > 0) best = fmin(best, omp_get_wtime() - t0);
    }
    *gflops = 2.0 * n * n * n / best / 1e9;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// One layer's memory on the sparse graph
//------------------------------------------------------------------------------

static int layer_memory(fm_bench_attention_report *report, const fm_bench_attention_options *opt, char *msg)
{
    fm_graph *g = NULL;
    fm_params *params = NULL;
    fm_message_graph mg = {0};
    fm_layer_saved saved = {0};
    float *targets = NULL, *sources = NULL, *out = NULL, *d_out = NULL, *d_targets = NULL, *d_sources = NULL;
#define FREE_ALL { fm_layer_saved_free(&saved); fm_message_graph_close(&mg, NULL); fm_graph_free(&g); \
                   fm_params_free(&params); free(targets); free(sources); free(out); free(d_out);      \
                   free(d_targets); free(d_sources); }
    reset_peak();
    const double base_kib = status_kib("VmRSS");
    const int64_t n = opt->sparse_nodes;
    const int d = opt->width;
    FM_TRY(bench_graph(&g, n, opt->sparse_edges, false, opt->seed, msg));
    GrB_Index edges;
    FM_GRB(GrB_Matrix_nvals(&edges, g->A));
    fm_tensor_spec specs[FM_LAYER_TENSORS];
    char names[FM_LAYER_TENSORS][FM_LAYER_NAME];
    fm_layer_specs(specs, names, "", d);
    FM_TRY(fm_params_new(&params, specs, FM_LAYER_TENSORS, msg));
    fm_params_init(params, opt->seed);
    fm_layer_weights w;
    fm_layer_grads grads;
    fm_layer_bind(&w, params->values, params->offsets);
    fm_layer_bind_grads(&grads, params->grads, params->offsets);
    FM_TRY(random_array(&targets, n * d, 1.0, opt->seed, 300, msg));
    FM_TRY(random_array(&sources, n * d, 1.0, opt->seed, 301, msg));
    FM_TRY(random_array(&d_out, n * d, 1.0, opt->seed, 302, msg));
    FM_ALLOC(out, n * d);
    FM_ALLOC(d_targets, n * d);
    FM_ALLOC(d_sources, n * d);
    const fm_attention_shape shape = {n, n, opt->heads, d};
    FM_TRY(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg));
    FM_TRY(fm_layer_saved_new(&saved, shape, msg));
    FM_TRY(fm_layer_forward(out, &saved, targets, sources, &w, &mg, FM_TO_COLUMNS, msg));
    FM_TRY(fm_layer_backward(d_targets, d_sources, &grads, d_out, &saved, targets, sources, &w, &mg,
                             FM_TO_COLUMNS, msg));
    const double peak_kib = status_kib("VmHWM");
    // graph: both orientations in CSR (8-byte pointers and indices, float
    // values) and the position maps; node features: targets, sources, out,
    // d_out and the two input gradients; activations: what fm_layer_saved
    // holds (attention block and layer)
    const double graph = 2.0 * (8.0 * (n + 1) + 12.0 * edges) + 16.0 * edges;
    const double features = 6.0 * 4 * n * d;
    const double activations = sizeof(float) * (double)fm_layer_saved_count(shape);
    report->layer_reference_mib = (graph + features + activations) / 1048576;
    report->layer_peak_mib = base_kib >= 0 && peak_kib >= 0 ? (peak_kib - base_kib) / 1024 : -1;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_bench_attention(fm_bench_attention_report *report, const fm_bench_attention_options *opt, char *msg)
{
    fm_graph *g = NULL;
#define FREE_ALL fm_graph_free(&g)
    FM_CHECK(opt->width >= 1 && opt->heads >= 1 && opt->width % opt->heads == 0, FM_ERR_INVALID,
             "bench attention: width %d is not a positive multiple of heads %d", opt->width, opt->heads);
    FM_CHECK(opt->repeat >= 0 && opt->sparse_nodes >= 1 && opt->sparse_edges >= 1, FM_ERR_INVALID,
             "bench attention: repeat, sparse nodes and sparse edges must be positive");
    memset(report, 0, sizeof *report);
    report->options = *opt;
    // every large block from mmap, so freeing it lowers the resident set and
    // the peaks below are what each run touches
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    report->threads = omp_get_max_threads();
    FM_TRY(sgemm_rate(&report->sgemm_gflops, msg));
    const int64_t nodes[FM_BENCH_GRAPHS] = {100, 2000, opt->sparse_nodes};
    for (int k = 0; k < FM_BENCH_GRAPHS; k++) {
        if (!opt->graphs[k]) continue;
        const bool complete = k < 2;
        FM_TRY(bench_graph(&g, nodes[k], opt->sparse_edges, complete, opt->seed, msg));
        for (int path = 0; path < 2; path++)
            for (int dir = 0; dir < 2; dir++) {
                const fm_kernels kernels = path == 0 ? FM_KERNELS_GRAPHBLAS : FM_KERNELS_FUSED;
                if (!opt->paths[kernels]) continue;
                fm_bench_attention_row *row = &report->row[report->rows++];
                snprintf(row->graph, sizeof row->graph, complete ? "complete %lld x %lld" : "sparse %lld x %lld",
                         (long long)nodes[k], (long long)nodes[k]);
                const fm_direction direction = dir == 0 ? FM_TO_COLUMNS : FM_TO_ROWS;
                FM_TRY(time_path(row, g, kernels, direction, opt->repeat, opt->seed, opt->width, opt->heads, msg));
            }
        fm_graph_free(&g);
    }
    report->layer_peak_mib = report->layer_reference_mib = -1;
    if (opt->graphs[2]) FM_TRY(layer_memory(report, opt, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_bench_attention_write_json(const char *path, const fm_bench_attention_report *r, char *msg)
{
    fm_atomic_file file = {0};
#define FREE_ALL fm_atomic_abort(&file)
    FM_TRY(fm_atomic_open(&file, path, msg));
    FILE *f = file.f;
    fprintf(f, "{\n  \"width\": %d,\n  \"heads\": %d,\n  \"threads\": %d,\n  \"repeat\": %d,\n", r->options.width,
            r->options.heads, r->threads, r->options.repeat);
    fprintf(f, "  \"sgemm_gflops\": %.3f,\n  \"rows\": [\n", r->sgemm_gflops);
    for (int k = 0; k < r->rows; k++) {
        const fm_bench_attention_row *w = &r->row[k];
        fprintf(f,
                "    {\"graph\": \"%s\", \"path\": \"%s\", \"direction\": \"%s\", \"edges\": %lld, "
                "\"forward_seconds\": %.6g, \"backward_seconds\": %.6g, \"forward_gflops\": %.4g, "
                "\"backward_gflops\": %.4g, \"edges_per_second\": %.6g, \"peak_mib\": %.1f}%s\n",
                w->graph, w->path, w->direction, (long long)w->edges, w->forward_seconds, w->backward_seconds,
                w->forward_gflops, w->backward_gflops, w->edges_per_second, w->peak_mib,
                k + 1 < r->rows ? "," : "");
    }
    fprintf(f, "  ],\n  \"layer_peak_mib\": %.1f,\n  \"layer_reference_mib\": %.1f\n}\n", r->layer_peak_mib,
            r->layer_reference_mib);
    FM_TRY(fm_atomic_commit(&file, msg));
    return FM_OK;
#undef FREE_ALL
}
