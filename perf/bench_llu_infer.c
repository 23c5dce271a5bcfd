// The learned LU's setup (P6) on a matrix file: the fused inference
// (fm_llu_factor_with: fm_llu_infer and fm_llu_factors_of) against the path
// it replaced (a copy Â, its edge set and double inputs, the training
// network's forward, fm_llu_factor_values and fm_llu_factors) and ILU(0)'s
// setup beside them.
//
//   bench_llu_infer MATRIX.mtx MODEL.fmw REPEATS [fused|reference|ilu0]
//
// Prints n, the entries and the threads, then for each path (or only the one
// named) the wall seconds and the process's CPU seconds (all threads), best
// and median of REPEATS after one untimed call,
// and the largest difference of the fused factors from the reference's
// (relative to the largest entry); then the peak resident memory, and that
// of reading the matrix alone (run one path at a time to read a path's own).
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "factormer.h"
#include "learned_lu.h"
#include "learned_lu_file.h"
#include "learned_lu_model.h"
#include "mtx_system.h"
#include "precond.h"
#include "square.h"

static int compare(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// The process's CPU seconds (all threads): steadier than wall time on a busy machine.
static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double peak_mib(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_maxrss / 1024.0;
}

// The path fm_llu_factor_with took before the fused forward.
static int reference_factor(fm_csr **L, fm_csr **U, const fm_llu_config *config, const fm_params *params,
                            int output, const fm_square *A, char *msg)
{
    fm_llu_input *input = NULL;
    fm_llu_net *net = NULL;
    int status = fm_llu_input_new(&input, A, msg);
    const int64_t n = A->n, E = A->A->count;
    if (!status) status = fm_llu_net_new(&net, config, n, E, msg);
    float *z = malloc(E * sizeof *z);
    double *zd = malloc(E * sizeof *zd), *v = malloc(E * sizeof *v);
    if (!status) {
        for (int64_t c = 0; c < n * FM_LLU_FEATURES; c++) net->x0[c] = (float)input->features[c];
        for (int64_t c = 0; c < E * FM_LLU_EDGE_INPUTS; c++) net->e0[c] = (float)input->edge_inputs[c];
        fm_llu_forward(net, z, params, params->values, input->edges);
        for (int64_t k = 0; k < E; k++) zd[k] = z[k];
        fm_llu_factor_values(v, zd, input->diagonal, E, false);
        if (output == FM_LLU_OUTPUT_SCALED) fm_llu_times_entries(v, input->edge_inputs, input->diagonal, E);
        status = fm_llu_factors(L, U, A, A->scale, v, msg);
    }
    free(z); free(zd); free(v);
    fm_llu_net_free(&net);
    fm_llu_input_free(&input);
    return status;
}

static double max_difference(const fm_csr *a, const fm_csr *b)
{
    double diff = 0, scale = 0;
    if (a->count != b->count) return INFINITY;
    for (int64_t k = 0; k < a->count; k++) {
        if (a->index[k] != b->index[k]) return INFINITY;
        diff = fmax(diff, fabs(a->value[k] - b->value[k]));
        scale = fmax(scale, fabs(b->value[k]));
    }
    return diff / scale;
}

enum { FUSED, REFERENCE, ILU0, PATHS };

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_llu_infer MATRIX.mtx MODEL.fmw REPEATS [fused|reference|ilu0]\n");
        return 2;
    }
    const int repeats = atoi(argv[3]) > 0 ? atoi(argv[3]) : 1;
    static const char *const names[PATHS] = { "fused", "reference", "ilu0" };
    int only = -1;
    for (int p = 0; argc > 4 && p < PATHS; p++)
        if (strcmp(argv[4], names[p]) == 0) only = p;
    char msg[FM_MSG_LEN] = "";
    fm_system_matrix *sys = NULL;
    fm_square *A = NULL;
    fm_params *params = NULL;
    fm_llu_config config;
    fm_llu_loss_kind loss;
    fm_llu_output output;
    if (fm_init(msg) || fm_mtx_read_system(&sys, argv[1], msg) ||
        fm_square_from_triplets(&A, sys->n, sys->count, sys->row, sys->col, sys->val, sys->symmetric, msg) ||
        fm_llu_model_read(argv[2], &config, &loss, &output, &params, msg)) {
        fprintf(stderr, "bench_llu_infer: %s\n", msg);
        return 1;
    }
    fm_system_matrix_free(&sys);
    const double read_mib = peak_mib();
    printf("%s: n %lld, entries %lld, %d layers of width %d, threads %d\n", argv[1], (long long)A->n,
           (long long)A->A->count, config.layers, config.width, omp_get_max_threads());
    double *seconds = malloc(repeats * sizeof *seconds), *cpu = malloc(repeats * sizeof *cpu);
    fm_csr *L[2] = { NULL }, *U[2] = { NULL };
    for (int p = 0; p < PATHS; p++) {
        if (only >= 0 && p != only) continue;
        for (int q = -1; q < repeats; q++) {
            for (int f = 0; f < 2 && p < ILU0; f++) {
                fm_csr_free(&L[p]);
                fm_csr_free(&U[p]);
            }
            fm_precond *M = NULL;
            const double c0 = cpu_seconds(), t0 = omp_get_wtime();
            const int status = p == FUSED ? fm_llu_factor_with(&L[p], &U[p], &config, params, output, A, NULL, msg)
                               : p == REFERENCE ? reference_factor(&L[p], &U[p], &config, params, output, A, msg)
                                                : fm_precond_ilu0(&M, A, msg);
            const double t1 = omp_get_wtime(), c1 = cpu_seconds();
            fm_precond_free(&M);
            if (status) {
                fprintf(stderr, "bench_llu_infer: %s\n", msg);
                return 1;
            }
            if (q >= 0) {
                seconds[q] = t1 - t0;
                cpu[q] = c1 - c0;
            }
        }
        qsort(seconds, repeats, sizeof *seconds, compare);
        qsort(cpu, repeats, sizeof *cpu, compare);
        printf("%-9s setup best %.5f s  median %.5f s  (CPU seconds: best %.5f, median %.5f)\n", names[p],
               seconds[0], seconds[repeats / 2], cpu[0], cpu[repeats / 2]);
    }
    if (L[FUSED] && L[REFERENCE])
        printf("fused vs reference: L %.3g, U %.3g (largest difference / largest entry)\n",
               max_difference(L[FUSED], L[REFERENCE]), max_difference(U[FUSED], U[REFERENCE]));
    printf("peak resident %.1f MiB (after reading the matrix and the model: %.1f MiB)\n", peak_mib(), read_mib);
    for (int p = 0; p < 2; p++) {
        fm_csr_free(&L[p]);
        fm_csr_free(&U[p]);
    }
    free(seconds);
    free(cpu);
    fm_params_free(&params);
    fm_square_free(&A);
    fm_finalize();
    return 0;
}
