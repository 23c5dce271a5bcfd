// Seconds per training matrix (models/nmf/train: data, unrolled forward and
// backward, AdamW), and the projected wall time of a whole training run:
//   OMP_NUM_THREADS=2 ./build/bench_train init|accel [matrices] [batch] [width heads layers rank]
// The matrices are the first positions of an epoch of the 15 000-matrix
// training set (its shape classes in their proportions). For accel every
// curriculum T (1..5) is timed; the projection sums the 15 epochs'
// T (1,1,2,2,3,3,4,4,5,5,5,5,5,5,5) over 15 000 matrices each.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "factormer.h"
#include "schedule.h"
#include "train.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    char msg[FM_MSG_LEN];
    if (argc < 2 || (strcmp(argv[1], "init") && strcmp(argv[1], "accel"))) {
        fprintf(stderr, "usage: %s init|accel [matrices] [batch] [width heads layers rank]\n", argv[0]);
        return 2;
    }
    const bool accel = !strcmp(argv[1], "accel");
    const int count = argc > 2 ? atoi(argv[2]) : 40;
    fm_train_options o;
    fm_train_options_default(&o, accel ? FM_MODEL_ACCEL : FM_MODEL_INIT);
    if (argc > 3) o.batch = atoi(argv[3]);
    if (argc > 7) {
        o.width = atoi(argv[4]);
        o.heads = atoi(argv[5]);
        o.layers = atoi(argv[6]);
        o.rank = atoi(argv[7]);
    }
    if (fm_init(msg) || fm_train_check(&o, msg)) {
        fprintf(stderr, "bench_train: %s\n", msg);
        return 1;
    }
    fm_params *params = NULL;
    if (fm_train_params_new(&params, &o, msg)) {
        fprintf(stderr, "bench_train: %s\n", msg);
        return 1;
    }
    printf("%s model: width %d, %d heads, %d layers, rank %d; %lld parameters; %d threads; %d matrices in "
           "batches of %d\n",
           accel ? "acceleration" : "initialization", o.width, o.heads, o.layers, o.rank, (long long)params->count,
           fm_get_threads(), count, o.batch);
    // the data alone: the same matrices, prepared and dropped
    double start = now();
    for (int p = 0; p < count; p++) {
        fm_train_sample s;
        if (fm_train_sample_new(&s, NULL, FM_SET_TRAIN, fm_train_order(o.seed, 0, p, o.train_size), o.train_size, o.rank,
                                o.svd_power, o.seed, msg)) {
            fprintf(stderr, "bench_train: %s\n", msg);
            return 1;
        }
        fm_train_sample_free(&s);
    }
    const double data = (now() - start) / count;
    printf("  data (generate, scale, graph, NNDSVD): %.4f s per matrix\n", data);
    double per_t[FM_SCHEDULE_MAX_ACCEL + 1] = {0};
    const int last = accel ? FM_SCHEDULE_MAX_ACCEL : 1;
    for (int t = 1; t <= last; t++) {
        const int epoch = accel ? 2 * (t - 1) : 0;   // fm_schedule_accel_steps(2(T-1)) = T
        double loss_sum = 0;
        start = now();
        const int steps = (count + o.batch - 1) / o.batch;
        for (int step = 0; step < steps; step++) {
            double loss;
            if (fm_train_step(&loss, params, &o, epoch, step, msg)) {
                fprintf(stderr, "bench_train: %s\n", msg);
                return 1;
            }
            loss_sum += loss;
        }
        loss_sum *= (double)count / steps;
        per_t[t] = (now() - start) / (steps * o.batch);
        if (accel) printf("  T = %d: %.4f s per matrix (mean loss %.4g)\n", t, per_t[t], loss_sum / count);
        else printf("  n_unroll %d: %.4f s per matrix (mean loss %.4g)\n", o.unroll, per_t[t], loss_sum / count);
    }
    double total = 0;
    for (int e = 0; e < FM_TRAIN_EPOCHS; e++) total += per_t[accel ? fm_schedule_accel_steps(e) : 1];
    total *= FM_TRAIN_SIZE;
    printf("  projected: %d epochs x %d matrices = %.0f s = %.1f h = %.1f days (validation not included)\n",
           FM_TRAIN_EPOCHS, FM_TRAIN_SIZE, total, total / 3600, total / 86400);
    fm_params_free(&params);
    fm_finalize();
    return 0;
}
