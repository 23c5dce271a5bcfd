// One Factormer layer (models/factormer): its backward against central finite
// differences in double, for every parameter tensor and both node inputs.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "attention_reference.h"
#include "factormer_layer.h"
#include "helpers.h"
#include "rng.h"

TestSuite(factormer_layer, .init = fm_test_setup);

typedef struct layer_problem {
    fm_params *layout;                   // offsets of the layer's tensors
    double *values, *grads;              // the parameter block, in double
    double *targets, *sources, *weights; // node features; weights of the loss Σ w ⊙ out
    fm_attention_shape shape;
} layer_problem;

static double normal(uint64_t seed, uint64_t counter) { return fm_rng_normal(fm_rng_stream(seed, 9), counter); }

static layer_problem layer_problem_new(int64_t targets, int64_t sources, int heads, int width, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    layer_problem p = {.shape = {targets, sources, heads, width}};
    fm_tensor_spec specs[FM_LAYER_TENSORS];
    char names[FM_LAYER_TENSORS][FM_LAYER_NAME];
    fm_layer_specs(specs, names, "", width);
    cr_assert_eq(fm_params_new(&p.layout, specs, FM_LAYER_TENSORS, msg), FM_OK, "%s", msg);
    p.values = calloc(p.layout->count, sizeof(double));
    p.grads = calloc(p.layout->count, sizeof(double));
    for (int k = 0; k < FM_LAYER_TENSORS; k++) {
        const int64_t n = fm_params_size(p.layout, k);
        const bool gamma = strstr(names[k], "gamma") != NULL;
        for (int64_t e = 0; e < n; e++)
            p.values[p.layout->offsets[k] + e] = (gamma ? 1 : 0) + 0.4 * normal(seed, (uint64_t)(k << 20) + e);
    }
    p.targets = calloc(targets * width + 1, sizeof(double));
    p.sources = calloc(sources * width + 1, sizeof(double));
    p.weights = calloc(targets * width + 1, sizeof(double));
    for (int64_t e = 0; e < targets * width; e++) {
        p.targets[e] = normal(seed + 1, e);
        p.weights[e] = normal(seed + 2, e);
    }
    for (int64_t e = 0; e < sources * width; e++) p.sources[e] = normal(seed + 3, e);
    return p;
}

static void layer_problem_free(layer_problem *p)
{
    fm_params_free(&p->layout);
    free(p->values);
    free(p->grads);
    free(p->targets);
    free(p->sources);
    free(p->weights);
}

static double layer_loss(layer_problem *p, const fm_message_graph *mg, fm_direction dir)
{
    char msg[FM_MSG_LEN];
    fm_layer_weights_f64 w;
    fm_layer_bind_f64(&w, p->values, p->layout->offsets);
    fm_layer_saved_f64 saved;
    cr_assert_eq(fm_layer_saved_new_f64(&saved, p->shape, msg), FM_OK, "%s", msg);
    double *out = calloc(p->shape.targets * p->shape.width + 1, sizeof(double));
    cr_assert_eq(fm_layer_forward_f64(out, &saved, p->targets, p->sources, &w, mg, dir, msg), FM_OK, "%s", msg);
    double loss = 0;
    for (int64_t e = 0; e < p->shape.targets * p->shape.width; e++) loss += p->weights[e] * out[e];
    free(out);
    fm_layer_saved_free_f64(&saved);
    return loss;
}

// ‖a − b‖ / ‖b‖, with ‖b‖ floored at 1e-3: the gradient of the key bias is
// zero (q_j·b_K is the same for every edge of target j and cancels in the
// softmax), and there the test is that both sides are ~0.
static double norm_error(const double *a, const double *b, int n)
{
    double diff = 0, ref = 0;
    for (int e = 0; e < n; e++) {
        diff += (a[e] - b[e]) * (a[e] - b[e]);
        ref += b[e] * b[e];
    }
    return sqrt(diff) / fmax(sqrt(ref), 1e-3);
}

// Central differences on up to `probes` entries of `array` against `analytic`.
static double probe_array(layer_problem *p, double *array, const double *analytic, int64_t size,
                          const fm_message_graph *mg, fm_direction dir)
{
    enum { probes = 12 };
    const double step = 1e-5;
    double numeric[probes], exact[probes];
    const int n = size < probes ? (int)size : probes;
    for (int k = 0; k < n; k++) {
        const int64_t e = n == size ? k : (k * 7919) % size;
        const double keep = array[e];
        array[e] = keep + step;
        const double up = layer_loss(p, mg, dir);
        array[e] = keep - step;
        const double down = layer_loss(p, mg, dir);
        array[e] = keep;
        numeric[k] = (up - down) / (2 * step);
        exact[k] = analytic[e];
    }
    return norm_error(exact, numeric, n);
}

static void check_layer_gradients(fm_graph *g, fm_direction dir, int heads, int width, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    fm_message_graph mg;
    cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    const fm_edges *edges = dir == FM_TO_ROWS ? &mg.rows : &mg.columns;
    layer_problem p = layer_problem_new(edges->targets, edges->sources, heads, width, seed);

    fm_layer_weights_f64 w;
    fm_layer_grads_f64 grads;
    fm_layer_bind_f64(&w, p.values, p.layout->offsets);
    fm_layer_bind_grads_f64(&grads, p.grads, p.layout->offsets);
    fm_layer_saved_f64 saved;
    cr_assert_eq(fm_layer_saved_new_f64(&saved, p.shape, msg), FM_OK, "%s", msg);
    const int64_t nt = p.shape.targets * width, ns = p.shape.sources * width;
    double *out = calloc(nt + 1, sizeof(double)), *d_targets = calloc(nt + 1, sizeof(double));
    double *d_sources = calloc(ns + 1, sizeof(double));
    cr_assert_eq(fm_layer_forward_f64(out, &saved, p.targets, p.sources, &w, &mg, dir, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_layer_backward_f64(d_targets, d_sources, &grads, p.weights, &saved, p.targets, p.sources, &w,
                                       &mg, dir, msg), FM_OK, "%s", msg);
    fm_layer_saved_free_f64(&saved);

    for (int k = 0; k < FM_LAYER_TENSORS; k++) {
        const int64_t at = p.layout->offsets[k];
        const double err = probe_array(&p, p.values + at, p.grads + at, fm_params_size(p.layout, k), &mg, dir);
        cr_expect_lt(err, 1e-6, "%s: relative error %.3g (direction %d)", p.layout->specs[k].name, err, (int)dir);
    }
    const double et = probe_array(&p, p.targets, d_targets, nt, &mg, dir);
    const double es = probe_array(&p, p.sources, d_sources, ns, &mg, dir);
    cr_expect_lt(et, 1e-6, "targets: relative error %.3g (direction %d)", et, (int)dir);
    cr_expect_lt(es, 1e-6, "sources: relative error %.3g (direction %d)", es, (int)dir);
    free(out);
    free(d_targets);
    free(d_sources);
    layer_problem_free(&p);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
}

Test(factormer_layer, backward_matches_finite_differences_sparse)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL;
    cr_assert_eq(ref_random_graph(&g, 9, 7, 0.4, 5, msg), FM_OK, "%s", msg);
    check_layer_gradients(g, FM_TO_COLUMNS, 2, 8, 10);
    check_layer_gradients(g, FM_TO_ROWS, 2, 8, 20);
    fm_graph_free(&g);
}

Test(factormer_layer, backward_matches_finite_differences_full)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL;
    float *x = fm_test_uniform(6 * 5, 8);
    cr_assert_eq(fm_graph_from_dense(&g, 6, 5, x, FM_KIND_DENSE, msg), FM_OK, "%s", msg);
    check_layer_gradients(g, FM_TO_COLUMNS, 2, 4, 30);
    check_layer_gradients(g, FM_TO_ROWS, 1, 4, 40);
    fm_graph_free(&g);
    free(x);
}
