// The paper's headline on the §7 validation sets (factormer-math.md §9), until
// `factormer eval` draws the full curves: per matrix, plain ADMM from nndsvd,
// the learned initialization followed by ADMM, and (with --accel) learned
// acceleration from nndsvd, 100 iterations each; printed per set: the median
// and quartiles of the RMSE at iterations 0, 20 and 100, and of the wall time
// (network inference included) to reach plain ADMM's 20-iteration RMSE.
//
//   ./build/learned_headline [--init PATH] [--accel PATH] [--rank 10]
//                            [--valid-size 128] [--seed 42]
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "factormer.h"
#include "train_data.h"

enum { PLAIN, LEARNED_INIT, ACCELERATED, METHODS };
static const char *method_names[METHODS] = {"plain ADMM (nndsvd)", "learned init + ADMM", "learned acceleration"};

static int compare(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// quartiles of n values (sorted in place)
static void quartiles(double *v, int n, double q[3])
{
    qsort(v, n, sizeof *v, compare);
    for (int k = 0; k < 3; k++) {
        const double at = (n - 1) * (k + 1) / 4.0;
        const int lo = (int)floor(at), hi = (int)ceil(at);
        q[k] = v[lo] + (v[hi] - v[lo]) * (at - lo);
    }
}

// seconds until the trace first reaches `target` (inf if never)
static double time_to(const fm_solver_result *r, double target)
{
    for (int t = 0; t < r->trace_len; t++)
        if (r->trace[t].rmse <= target) return r->trace[t].seconds;
    return INFINITY;
}

int main(int argc, char **argv)
{
    const char *init = NULL, *accel = NULL;
    int rank = 10, size = 128;
    uint64_t seed = 42;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--init")) init = argv[i + 1];
        else if (!strcmp(argv[i], "--accel")) accel = argv[i + 1];
        else if (!strcmp(argv[i], "--rank")) rank = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--valid-size")) size = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed")) seed = strtoull(argv[i + 1], NULL, 10);
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    char msg[FM_MSG_LEN];
    if (fm_init(msg)) { fprintf(stderr, "%s\n", msg); return 1; }
    const fm_train_set sets[2] = {FM_SET_VALID_SMALL, FM_SET_VALID_LARGE};
    const char *set_names[2] = {"small", "large"};
    double *rmse[METHODS][3], *reach[METHODS];
    for (int m = 0; m < METHODS; m++) {
        for (int k = 0; k < 3; k++) rmse[m][k] = calloc(size, sizeof(double));
        reach[m] = calloc(size, sizeof(double));
    }
    const int checkpoints[3] = {0, 20, 100};
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < size; i++) {
            fm_graph *g = NULL;
            if (fm_train_matrix(&g, NULL, NULL, sets[s], i, size, rank, seed, msg)) {
                fprintf(stderr, "%s\n", msg);
                return 1;
            }
            double target = 0;
            for (int m = 0; m < METHODS; m++) {
                if ((m == LEARNED_INIT && !init) || (m == ACCELERATED && !accel)) continue;
                fm_solver_options o;
                fm_solver_options_default(&o);
                o.rank = rank;
                o.iters = 100;
                o.tol = 0;
                o.init = m == LEARNED_INIT ? FM_INIT_LEARNED : FM_INIT_NNDSVD;
                o.init_model = init;
                o.accelerate = m == ACCELERATED;
                o.accel_model = accel;
                fm_solver_result *r = NULL;
                if (fm_solver_run(&r, g, NULL, &o, msg)) {
                    fprintf(stderr, "%s\n", msg);
                    return 1;
                }
                for (int k = 0; k < 3; k++) rmse[m][k][i] = r->trace[checkpoints[k]].rmse;
                if (m == PLAIN) target = r->trace[20].rmse;
                reach[m][i] = time_to(r, target);
                fm_solver_result_free(&r);
            }
            fm_graph_free(&g);
        }
        printf("\nvalidation set %s (%d noise-free matrices, rank %d, seed %llu)\n", set_names[s], size, rank,
               (unsigned long long)seed);
        printf("  %-22s %-30s %-30s %-30s %s\n", "method", "rmse at 0 (q1 median q3)", "at 20", "at 100",
               "ms to plain's 20-iteration rmse (median)");
        for (int m = 0; m < METHODS; m++) {
            if ((m == LEARNED_INIT && !init) || (m == ACCELERATED && !accel)) continue;
            printf("  %-22s", method_names[m]);
            for (int k = 0; k < 3; k++) {
                double q[3];
                quartiles(rmse[m][k], size, q);
                printf(" %.4f %.4f %.4f        ", q[0], q[1], q[2]);
            }
            double q[3];
            quartiles(reach[m], size, q);
            printf(" %.2f\n", 1e3 * q[1]);
        }
    }
    fm_finalize();
    return 0;
}
