// The learned LU network's forward and backward (P6, float) on a g × g
// 5-point grid with random asymmetric values, the training's matrix size.
//
//   bench_llu_net G REPEATS [LAYERS WIDTH] [--profile]
//
// Prints n, the edges, the parameter count and the network's memory, then
// for the current OpenMP threads the forward and the backward in wall
// seconds (best and median of REPEATS, after one untimed call each); with
// --profile, the per-op counters of the timed calls.
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "factormer.h"
#include "learned_lu_model.h"
#include "rng.h"
#include "square.h"

static int compare(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static fm_square *grid(int64_t side, char *msg)
{
    const int64_t n = side * side, cap = 5 * n;
    int64_t *row = malloc(cap * sizeof *row), *col = malloc(cap * sizeof *col);
    double *val = malloc(cap * sizeof *val);
    const fm_rng r = fm_rng_stream(1, FM_STREAM_SYNTH);
    int64_t count = 0;
    for (int64_t y = 0; y < side; y++)
        for (int64_t x = 0; x < side; x++) {
            const int64_t i = y * side + x;
            const int64_t next[4] = { x > 0 ? i - 1 : -1, x + 1 < side ? i + 1 : -1,
                                      y > 0 ? i - side : -1, y + 1 < side ? i + side : -1 };
            for (int q = 0; q < 4; q++)
                if (next[q] >= 0) {
                    row[count] = i; col[count] = next[q];
                    val[count] = -1.5 + fm_rng_uniform(r, (uint64_t)count); count++;
                }
            row[count] = col[count] = i; val[count] = 4 + fm_rng_uniform(r, (uint64_t)count); count++;
        }
    fm_square *g = NULL;
    if (fm_square_from_triplets(&g, n, count, row, col, val, false, msg) != FM_OK) g = NULL;
    free(row); free(col); free(val);
    return g;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_llu_net G REPEATS [LAYERS WIDTH] [--profile]\n");
        return 2;
    }
    const int64_t side = atoll(argv[1]);
    const int repeats = atoi(argv[2]);
    fm_llu_config config = { FM_LLU_LAYERS, FM_LLU_WIDTH };
    if (argc >= 5 && argv[3][0] != '-') {
        config.layers = atoi(argv[3]);
        config.width = atoi(argv[4]);
    }
    const bool profile = strcmp(argv[argc - 1], "--profile") == 0;
    char msg[FM_MSG_LEN] = "";
    fm_square *A = grid(side, msg), *S = NULL;
    fm_edge_set *edges = NULL;
    fm_params *params = NULL;
    fm_llu_net *net = NULL;
    double *features = NULL, *inputs = NULL;
    if (fm_init(msg) || !A || fm_square_scaled(&S, A, msg) || fm_edge_set_from_matrix(&edges, S, msg) ||
        fm_llu_features(&features, S, msg) || fm_llu_params_new(&params, &config, msg) ||
        fm_llu_net_new(&net, &config, S->n, S->A->count, msg)) {
        fprintf(stderr, "bench_llu_net: %s\n", msg);
        return 1;
    }
    const int64_t n = S->n, E = S->A->count;
    inputs = malloc(2 * E * sizeof *inputs);
    fm_llu_edge_inputs(inputs, S);
    for (int64_t e = 0; e < n * FM_LLU_FEATURES; e++) net->x0[e] = (float)features[e];
    for (int64_t e = 0; e < 2 * E; e++) net->e0[e] = (float)inputs[e];
    fm_params_init(params, 2);
    const fm_rng r = fm_rng_stream(3, FM_STREAM_SYNTH);
    for (int64_t e = 0; e < params->count; e++) params->values[e] += (float)(0.2 * fm_rng_uniform(r, (uint64_t)e) - 0.1);
    int64_t parameters = 0;
    for (int t = 0; t < params->tensors; t++) parameters += fm_params_size(params, t);
    float *z = malloc(E * sizeof *z), *dz = malloc(E * sizeof *dz);
    for (int64_t k = 0; k < E; k++) dz[k] = (float)(2 * fm_rng_uniform(r, (uint64_t)(params->count + k)) - 1);
    // the saved activations (FM_LLU_SAVED): per layer [e, â, c] (layer 1 reads
    // the inputs themselves), the edge MLP's hidden layer and output, and the
    // node arrays but in the last
    double floats = (double)n * FM_LLU_FEATURES + 2.0 * (double)E;
    for (int l = 0; l < config.layers; l++) {
        int in_e, out_e, in_n, out_n;
        fm_llu_mlp_widths(&config, l, FM_LLU_EDGE, &in_e, &out_e);
        fm_llu_mlp_widths(&config, l, FM_LLU_NODE, &in_n, &out_n);
        floats += (double)E * ((l ? in_e - 2.0 * (l ? config.width : FM_LLU_FEATURES) : 0) + config.width + out_e);
        if (l < config.layers - 1) floats += (double)n * (3.0 * config.width + in_n);
    }
    printf("grid %lld x %lld: n %lld, edges %lld, %d layers of width %d, %lld parameters, "
           "saved activations %.1f MB, threads %d\n",
           (long long)side, (long long)side, (long long)n, (long long)E, config.layers, config.width,
           (long long)parameters, 4e-6 * floats, omp_get_max_threads());
    double *forward = malloc(repeats * sizeof *forward), *backward = malloc(repeats * sizeof *backward);
    fm_llu_forward(net, z, params, params->values, edges);   // untimed: first touches
    if (fm_llu_backward(net, params->grads, dz, params, params->values, edges, msg)) {
        fprintf(stderr, "bench_llu_net: %s\n", msg);
        return 1;
    }
    if (profile) {
        fm_profile_reset();
        fm_profile_enable(true);
    }
    const double start = omp_get_wtime();
    for (int q = 0; q < repeats; q++) {
        double t0 = omp_get_wtime();
        fm_llu_forward(net, z, params, params->values, edges);
        double t1 = omp_get_wtime();
        fm_llu_backward(net, params->grads, dz, params, params->values, edges, msg);
        double t2 = omp_get_wtime();
        forward[q] = t1 - t0;
        backward[q] = t2 - t1;
    }
    const double wall = omp_get_wtime() - start;
    qsort(forward, repeats, sizeof *forward, compare);
    qsort(backward, repeats, sizeof *backward, compare);
    printf("forward  best %.4f s  median %.4f s\n", forward[0], forward[repeats / 2]);
    printf("backward best %.4f s  median %.4f s\n", backward[0], backward[repeats / 2]);
    if (profile) fm_profile_print(stdout, wall);
    free(forward); free(backward); free(z); free(dz); free(inputs); free(features);
    fm_llu_net_free(&net);
    fm_params_free(&params);
    fm_edge_set_free(&edges);
    fm_square_free(&S);
    fm_square_free(&A);
    fm_finalize();
    return 0;
}
