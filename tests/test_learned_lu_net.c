// The learned LU network (P6, models/precond/learned_lu_net.c): its tensors
// and parameter count from the widths, bad configurations refused, the node
// features and edge inputs of a hand-made matrix, the double forward against
// the network composed of the GraphNet ops as the header draws it, the double
// backward against central finite differences for a sample of every tensor's
// entries (several configurations), the float forward and backward against the double ones,
// and the float forward and backward bitwise the same with 1 and 2 threads.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "llu_fixtures.h"
#include "learned_lu_model.h"
#include "rng.h"
#include "square.h"

TestSuite(learned_lu_net, .init = fm_test_setup);

//------------------------------------------------------------------------------
// Fixtures
//------------------------------------------------------------------------------

// Â of A, its edge set, its features and edge inputs (double).
typedef struct input {
    fm_square *scaled;
    fm_edge_set *edges;
    double *features, *edge_inputs;
    int64_t n, E;
} input;

static input input_new(const fm_square *A)
{
    char msg[FM_MSG_LEN] = "";
    input in = { 0 };
    cr_assert_eq(fm_square_scaled(&in.scaled, A, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edge_set_from_matrix(&in.edges, in.scaled, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_llu_features(&in.features, in.scaled, msg), FM_OK, "%s", msg);
    in.n = in.scaled->n;
    in.E = in.scaled->A->count;
    in.edge_inputs = malloc(2 * in.E * sizeof *in.edge_inputs);
    fm_llu_edge_inputs(in.edge_inputs, in.scaled);
    return in;
}

static void input_free(input *in)
{
    fm_edge_set_free(&in->edges);
    fm_square_free(&in->scaled);
    free(in->features);
    free(in->edge_inputs);
}

static fm_llu_net_f64 *double_net(const fm_llu_config *config, const input *in)
{
    char msg[FM_MSG_LEN] = "";
    fm_llu_net_f64 *net = NULL;
    cr_assert_eq(fm_llu_net_new_f64(&net, config, in->n, in->E, msg), FM_OK, "%s", msg);
    memcpy(net->x0, in->features, in->n * FM_LLU_FEATURES * sizeof *net->x0);
    memcpy(net->e0, in->edge_inputs, in->E * FM_LLU_EDGE_INPUTS * sizeof *net->e0);
    return net;
}

static fm_llu_net *float_net(const fm_llu_config *config, const input *in)
{
    char msg[FM_MSG_LEN] = "";
    fm_llu_net *net = NULL;
    cr_assert_eq(fm_llu_net_new(&net, config, in->n, in->E, msg), FM_OK, "%s", msg);
    for (int64_t e = 0; e < in->n * FM_LLU_FEATURES; e++) net->x0[e] = (float)in->features[e];
    for (int64_t e = 0; e < in->E * FM_LLU_EDGE_INPUTS; e++) net->e0[e] = (float)in->edge_inputs[e];
    return net;
}

//------------------------------------------------------------------------------
// Tensors and configurations
//------------------------------------------------------------------------------

// Σ over the MLPs of w·in + w + out·w + out, the widths of the header's
// drawing: layer 1's edge MLP reads [x_i, x_j, â, c] (2F + 2), the others'
// [x_i, x_j, e, â, c] (3w + 2); the node MLPs [x_i, mean e] (F + w, then 2w);
// the last edge MLP outputs 1, the others w; the last layer has no node MLP.
static int64_t expected_parameters(int layers, int64_t w)
{
    const int64_t F = FM_LLU_FEATURES;
    int64_t total = 0;
    for (int l = 0; l < layers; l++) {
        const int64_t in_e = l == 0 ? 2 * F + 2 : 3 * w + 2, out_e = l == layers - 1 ? 1 : w;
        total += w * in_e + w + out_e * w + out_e;
        if (l < layers - 1) {
            const int64_t in_n = l == 0 ? F + w : 2 * w;
            total += w * in_n + w + w * w + w;
        }
    }
    return total;
}

Test(learned_lu_net, tensors_and_parameter_count_follow_the_widths)
{
    char msg[FM_MSG_LEN] = "";
    const fm_llu_config configs[4] = { { FM_LLU_LAYERS, FM_LLU_WIDTH }, { 1, 4 }, { 2, 5 }, { FM_LLU_MAX_LAYERS, 3 } };
    for (int c = 0; c < 4; c++) {
        const fm_llu_config *config = &configs[c];
        const int tensors = fm_llu_tensor_count(config);
        cr_assert_eq(tensors, 4 * (2 * config->layers - 1));
        fm_params *p = NULL;
        cr_assert_eq(fm_llu_params_new(&p, config, msg), FM_OK, "%s", msg);
        cr_assert_eq(p->tensors, tensors);
        int64_t total = 0;
        for (int t = 0; t < tensors; t++) total += fm_params_size(p, t);
        cr_assert_eq(total, expected_parameters(config->layers, config->width), "config %d: %lld parameters", c,
                     (long long)total);
        // names and shapes: layer l's edge MLP, then its node MLP; w1 is w × in
        cr_assert_str_eq(p->specs[0].name, "layer1.edge.w1");
        cr_assert_eq(p->specs[0].rows, config->width);
        cr_assert_eq(p->specs[0].cols, 2 * FM_LLU_FEATURES + 2);
        char last[FM_LLU_NAME];
        snprintf(last, sizeof last, "layer%d.edge.b2", config->layers);
        cr_assert_str_eq(p->specs[tensors - 1].name, last);
        cr_assert_eq(p->specs[tensors - 1].rows, 1);
        if (config->layers > 1) {
            cr_assert_str_eq(p->specs[4].name, "layer1.node.w1");
            cr_assert_eq(p->specs[4].cols, FM_LLU_FEATURES + config->width);
            cr_assert_eq(p->specs[8].cols, 3 * config->width + 2, "layer 2's edge MLP reads e¹");
        }
        fm_params_free(&p);
    }
    // the default model: 3 layers of width 32
    cr_assert_eq(expected_parameters(3, 32), 14497);
}

Test(learned_lu_net, bad_configurations_are_refused)
{
    char msg[FM_MSG_LEN] = "";
    const fm_llu_config bad[5] = { { 0, 32 }, { 3, 0 }, { FM_LLU_MAX_LAYERS + 1, 32 }, { -1, 8 }, { 3, -4 } };
    fm_tensor_spec specs[4 * 2 * (FM_LLU_MAX_LAYERS + 1)];
    char names[4 * 2 * (FM_LLU_MAX_LAYERS + 1)][FM_LLU_NAME];
    for (int c = 0; c < 5; c++) {
        cr_assert_eq(fm_llu_tensor_count(&bad[c]), 0);
        cr_assert_eq(fm_llu_specs(specs, names, &bad[c], msg), FM_ERR_INVALID);
        cr_assert(strstr(msg, "layers") != NULL, "the message names the layers and width: %s", msg);
        fm_params *p = NULL;
        cr_assert_eq(fm_llu_params_new(&p, &bad[c], msg), FM_ERR_INVALID);
        cr_assert_null(p);
        fm_llu_net *net = NULL;
        fm_llu_net_f64 *net64 = NULL;
        cr_assert_eq(fm_llu_net_new(&net, &bad[c], 10, 30, msg), FM_ERR_INVALID);
        cr_assert_eq(fm_llu_net_new_f64(&net64, &bad[c], 10, 30, msg), FM_ERR_INVALID);
        cr_assert(net == NULL && net64 == NULL);
    }
    const fm_llu_config good = { FM_LLU_LAYERS, FM_LLU_WIDTH };
    fm_llu_net *net = NULL;
    cr_assert_eq(fm_llu_net_new(&net, &good, -1, 30, msg), FM_ERR_INVALID);
    cr_assert_null(net);
}

//------------------------------------------------------------------------------
// Features and edge inputs
//------------------------------------------------------------------------------

// A 4 × 4 matrix whose Â is known by hand: a_11 = −4 (s_1 = 2), the other
// diagonals ±1 (s = 1), so â_1j = a_1j / 2 and â_j1 = a_j1 / 2 off the
// diagonal; row 2 has no off-diagonal entry.
Test(learned_lu_net, features_and_edge_inputs_of_a_hand_made_matrix)
{
    const int64_t row[11] = { 0, 0, 0, 1, 1, 1, 2, 3, 3, 3, 3 }, col[11] = { 0, 1, 3, 0, 1, 2, 2, 0, 1, 2, 3 };
    const double val[11] = { 1, 0.5, -0.25, -2, -4, 0.5, 1, 0.1, -0.2, 0.3, 1 };
    char msg[FM_MSG_LEN] = "";
    fm_square *A = NULL;
    cr_assert_eq(fm_square_from_triplets(&A, 4, 11, row, col, val, false, msg), FM_OK, "%s", msg);
    input in = input_new(A);
    // Â by rows: entry k, with its value and position code
    const double ahat[11] = { 1, 0.25, -0.25, -1, -1, 0.25, 1, 0.1, -0.1, 0.3, 1 };
    const double code[11] = { 0, 1, 1, -1, 0, 1, 0, -1, -1, -1, 0 };
    cr_assert_eq(in.E, 11);
    for (int k = 0; k < 11; k++) {
        cr_assert(fabs(in.edge_inputs[2 * k] - ahat[k]) < 1e-15, "â_%d: %g vs %g", k, in.edge_inputs[2 * k], ahat[k]);
        cr_assert_eq(in.edge_inputs[2 * k + 1], code[k], "c_%d", k);
    }
    // degrees 2, 2, 0, 3: log(1 + degree) = log 3, log 3, 0, log 4
    const double l3 = log(3), l4 = log(4);
    const double expected[4][FM_LLU_FEATURES] = {
        // row 0: neighbours 1, 3; |â| off the diagonal 0.25 + 0.25
        { l3, l3, l4, (l3 + l4) / 2, (l4 - l3) / 2, 1 / 1.5, 1 / 1.25 },
        // row 1: neighbours 0, 2; 1 + 0.25, max 1
        { l3, 0, l3, l3 / 2, l3 / 2, 1 / 2.25, 1 / 2.0 },
        // row 2: no neighbour
        { 0, 0, 0, 0, 0, 1, 1 },
        // row 3: neighbours 0, 1, 2; 0.1 + 0.1 + 0.3, max 0.3
        { l4, 0, l3, 2 * l3 / 3, l3 * sqrt(2.0) / 3, 1 / 1.5, 1 / 1.3 },
    };
    for (int i = 0; i < 4; i++)
        for (int f = 0; f < FM_LLU_FEATURES; f++)
            cr_assert(fabs(in.features[i * FM_LLU_FEATURES + f] - expected[i][f]) < 1e-12,
                      "row %d feature %d: %.15g vs %.15g", i, f, in.features[i * FM_LLU_FEATURES + f],
                      expected[i][f]);
    double *again = in.features;
    cr_assert_eq(fm_llu_features(&again, in.scaled, msg), FM_ERR_INVALID, "*out must be NULL");
    input_free(&in);
    fm_square_free(&A);
}

//------------------------------------------------------------------------------
// The reference: the network as the header draws it, of the GraphNet ops alone
//------------------------------------------------------------------------------

// z of the network composed of the ops as written (gather of [x_i, x_j,
// e_k, â_k, c_k], mlp, aggregate MEAN, concat, mlp), double, its own arrays:
// what the split first layer of the fused edge MLPs must equal.
static void reference_forward(double *z, const fm_llu_config *config, const fm_params *layout,
                              const double *values, const input *in)
{
    const int w = config->width;
    const int64_t n = in->n, E = in->E;
    double *x = fm_test_copy(in->features, n * FM_LLU_FEATURES), *e = NULL;
    int dx = FM_LLU_FEATURES, de = 0;
    for (int l = 0; l < config->layers; l++) {
        int in_e, out_e, in_n, out_n;
        fm_llu_mlp_widths(config, l, FM_LLU_EDGE, &in_e, &out_e);
        fm_llu_mlp_widths(config, l, FM_LLU_NODE, &in_n, &out_n);
        cr_assert_eq(in_e, 2 * dx + de + 2);
        const double *t = values + layout->offsets[4 * (2 * l)];   // w1 b1 w2 b2, packed or not
        const double *w1 = t, *b1 = values + layout->offsets[4 * (2 * l) + 1];
        const double *w2 = values + layout->offsets[4 * (2 * l) + 2], *b2 = values + layout->offsets[4 * (2 * l) + 3];
        double *G = malloc(E * in_e * sizeof *G), *hidden = malloc(E * w * sizeof *hidden);
        double *e_next = malloc(E * out_e * sizeof *e_next);
        fm_gather_forward_f64(G, in->edges, x, dx, e, de, in->edge_inputs, 2);
        fm_mlp_forward_f64(e_next, hidden, G, w1, b1, w2, b2, E, in_e, w, out_e);
        free(G); free(hidden); free(e);
        e = e_next;
        de = out_e;
        if (l == config->layers - 1) break;
        const double *n1 = values + layout->offsets[4 * (2 * l + 1)], *nb1 = values + layout->offsets[4 * (2 * l + 1) + 1];
        const double *n2 = values + layout->offsets[4 * (2 * l + 1) + 2], *nb2 = values + layout->offsets[4 * (2 * l + 1) + 3];
        double *agg = malloc(n * w * sizeof *agg), *N = malloc(n * in_n * sizeof *N);
        double *hn = malloc(n * w * sizeof *hn), *x_next = malloc(n * w * sizeof *x_next);
        fm_aggregate_forward_f64(agg, e, in->edges, w, FM_AGGREGATE_MEAN);
        fm_concat_forward_f64(N, x, dx, agg, w, n);
        fm_mlp_forward_f64(x_next, hn, N, n1, nb1, n2, nb2, n, in_n, w, out_n);
        free(agg); free(N); free(hn); free(x);
        x = x_next;
        dx = out_n;
    }
    memcpy(z, e, E * sizeof *z);
    free(e); free(x);
}

Test(learned_lu_net, forward_equals_the_network_of_the_ops)
{
    fm_square *A = fm_test_llu_general(200, 4, false, 12);
    input in = input_new(A);
    const fm_llu_config configs[4] = { { FM_LLU_LAYERS, FM_LLU_WIDTH }, { 1, 4 }, { 2, 5 }, { 4, 9 } };
    for (int c = 0; c < 4; c++) {
        fm_params *layout = fm_test_llu_params(&configs[c], 20 + (uint64_t)c, 0.3);
        double *values = malloc(layout->count * sizeof *values);
        for (int64_t e = 0; e < layout->count; e++) values[e] = layout->values[e];
        double *z = malloc(in.E * sizeof *z), *z_ref = malloc(in.E * sizeof *z_ref);
        fm_llu_net_f64 *net = double_net(&configs[c], &in);
        fm_llu_forward_f64(net, z, layout, values, in.edges);
        reference_forward(z_ref, &configs[c], layout, values, &in);
        double largest = 0, error = 0;
        for (int64_t k = 0; k < in.E; k++) {
            largest = fmax(largest, fabs(z_ref[k]));
            error = fmax(error, fabs(z[k] - z_ref[k]));
        }
        cr_assert_gt(largest, 1e-3);
        cr_assert(error <= 1e-12 * largest, "%d layers, width %d: z off by %.3g (max |z| %.3g)",
                  configs[c].layers, configs[c].width, error, largest);
        free(values); free(z); free(z_ref);
        fm_llu_net_free_f64(&net);
        fm_params_free(&layout);
    }
    input_free(&in);
    fm_square_free(&A);
}

//------------------------------------------------------------------------------
// The backward against finite differences (double)
//------------------------------------------------------------------------------

// loss = Σ_k c_k z_k of the double network
typedef struct {
    fm_llu_net_f64 *net;
    const fm_params *layout;
    double *values;
    const input *in;
    const double *c;
    double *z;
} loss_context;

static double weighted_output(void *context)
{
    loss_context *x = context;
    fm_llu_forward_f64(x->net, x->z, x->layout, x->values, x->in->edges);
    double loss = 0;
    for (int64_t k = 0; k < x->in->E; k++) loss += x->c[k] * x->z[k];
    return loss;
}

static void check_gradient(const fm_llu_config *config, const input *in, uint64_t seed, int samples)
{
    char msg[FM_MSG_LEN] = "";
    fm_params *layout = fm_test_llu_params(config, seed, 0.3);
    const int64_t P = layout->count, E = in->E;
    double *values = malloc(P * sizeof *values), *grads = calloc(P, sizeof *grads);
    for (int64_t e = 0; e < P; e++) values[e] = layout->values[e];
    double *c = fm_test_uniform_range(E, seed + 1, -1, 1), *z = malloc(E * sizeof *z);
    fm_llu_net_f64 *net = double_net(config, in);
    loss_context x = { net, layout, values, in, c, z };
    weighted_output(&x);
    double spread = 0;
    for (int64_t k = 0; k < E; k++) spread += fabs(z[k] - z[0]);
    cr_assert_gt(spread, 1e-3, "the network's output varies over the edges");
    cr_assert_eq(fm_llu_backward_f64(net, grads, c, layout, values, in->edges, msg), FM_OK, "%s", msg);
    int checked = 0, nonzero = 0;
    for (int t = 0; t < layout->tensors; t++) {
        const int64_t at = layout->offsets[t], size = fm_params_size(layout, t);
        const int64_t stride = size > samples ? size / samples : 1;
        for (int64_t q = 0; q < size; q += stride) {
            const int64_t e = at + q;
            const double fd = fm_test_central_difference(values, e, 1e-6, weighted_output, &x);
            cr_assert(fabs(fd - grads[e]) <= 1e-6 * (1 + fabs(fd)), "%d layers, width %d: %s[%lld]: %.10g vs %.10g",
                      config->layers, config->width, layout->specs[t].name, (long long)q, grads[e], fd);
            checked++;
            nonzero += fabs(grads[e]) > 1e-8;
        }
    }
    cr_assert_gt(nonzero, checked / 2, "%d of %d gradients are zero: the check says little",
                 checked - nonzero, checked);
    // the backward adds: a second call doubles every gradient
    double *first = fm_test_copy(grads, P);
    weighted_output(&x);
    cr_assert_eq(fm_llu_backward_f64(net, grads, c, layout, values, in->edges, msg), FM_OK, "%s", msg);
    for (int64_t e = 0; e < P; e++)
        cr_assert(fabs(grads[e] - 2 * first[e]) <= 1e-12 * (1 + fabs(first[e])), "element %lld", (long long)e);
    free(first); free(values); free(grads); free(c); free(z);
    fm_llu_net_free_f64(&net);
    fm_params_free(&layout);
}

Test(learned_lu_net, backward_matches_finite_differences)
{
    fm_square *A = fm_test_llu_general(30, 3, false, 1);
    input in = input_new(A);
    const fm_llu_config configs[4] = { { FM_LLU_LAYERS, FM_LLU_WIDTH }, { 3, 6 }, { 1, 4 }, { 2, 5 } };
    const int samples[4] = { 5, 12, 20, 20 };
    for (int k = 0; k < 4; k++) check_gradient(&configs[k], &in, 10 + (uint64_t)k, samples[k]);
    input_free(&in);
    fm_square_free(&A);
}

//------------------------------------------------------------------------------
// Float against double, and the thread count
//------------------------------------------------------------------------------

Test(learned_lu_net, float_matches_double)
{
    char msg[FM_MSG_LEN] = "";
    fm_square *A = fm_test_llu_general(300, 4, false, 2);
    input in = input_new(A);
    const fm_llu_config config = { FM_LLU_LAYERS, FM_LLU_WIDTH };
    fm_params *layout = fm_test_llu_params(&config, 3, 0.2);
    const int64_t P = layout->count, E = in.E;
    double *values = malloc(P * sizeof *values), *grads = calloc(P, sizeof *grads);
    for (int64_t e = 0; e < P; e++) values[e] = layout->values[e];   // the same (float) values
    double *c = fm_test_uniform_range(E, 4, -1, 1), *z = malloc(E * sizeof *z);
    float *cf = fm_test_to_float(c, E), *zf = malloc(E * sizeof *zf);
    for (int64_t k = 0; k < E; k++) c[k] = cf[k];
    fm_llu_net_f64 *net = double_net(&config, &in);
    fm_llu_net *netf = float_net(&config, &in);
    fm_llu_forward_f64(net, z, layout, values, in.edges);
    fm_llu_forward(netf, zf, layout, layout->values, in.edges);
    double largest = 0, error = 0;
    for (int64_t k = 0; k < E; k++) {
        largest = fmax(largest, fabs(z[k]));
        error = fmax(error, fabs(zf[k] - z[k]));
    }
    cr_assert_gt(largest, 0.1);
    cr_assert(error <= 1e-5 * largest, "float z off by %.3g (max |z| %.3g)", error, largest);
    cr_assert_eq(fm_llu_backward_f64(net, grads, c, layout, values, in.edges, msg), FM_OK, "%s", msg);
    fm_params_zero_grads(layout);
    cr_assert_eq(fm_llu_backward(netf, layout->grads, cf, layout, layout->values, in.edges, msg), FM_OK, "%s", msg);
    double diff = 0, norm = 0;
    for (int64_t e = 0; e < P; e++) {
        diff += (layout->grads[e] - grads[e]) * (layout->grads[e] - grads[e]);
        norm += grads[e] * grads[e];
    }
    cr_assert(norm > 0 && sqrt(diff / norm) < 1e-5, "float gradients off by %.3g (relative)", sqrt(diff / norm));
    free(values); free(grads); free(c); free(z); free(cf); free(zf);
    fm_llu_net_free_f64(&net);
    fm_llu_net_free(&netf);
    fm_params_free(&layout);
    input_free(&in);
    fm_square_free(&A);
}

Test(learned_lu_net, float_results_do_not_depend_on_the_thread_count)
{
    char msg[FM_MSG_LEN] = "";
    fm_square *A = fm_test_llu_grid(64, 5);   // every op above its OpenMP threshold
    input in = input_new(A);
    const fm_llu_config config = { FM_LLU_LAYERS, FM_LLU_WIDTH };
    fm_params *layout = fm_test_llu_params(&config, 6, 0.2);
    const int64_t P = layout->count, E = in.E;
    double *c = fm_test_uniform_range(E, 7, -1, 1);
    float *dz = fm_test_to_float(c, E);
    float *z[2] = { malloc(E * sizeof(float)), malloc(E * sizeof(float)) };
    float *grads[2] = { calloc(P, sizeof(float)), calloc(P, sizeof(float)) };
    fm_llu_net *net = float_net(&config, &in);
    const int threads = omp_get_max_threads(), counts[2] = { 1, 2 };
    for (int r = 0; r < 2; r++) {
        omp_set_num_threads(counts[r]);
        fm_llu_forward(net, z[r], layout, layout->values, in.edges);
        cr_assert_eq(fm_llu_backward(net, grads[r], dz, layout, layout->values, in.edges, msg), FM_OK, "%s", msg);
    }
    omp_set_num_threads(threads);
    cr_assert(memcmp(z[0], z[1], E * sizeof(float)) == 0, "z differs between 1 and 2 threads");
    for (int64_t e = 0; e < P; e++)
        cr_assert(grads[0][e] == grads[1][e], "gradient %lld: %.9g with 1 thread, %.9g with 2", (long long)e,
                  grads[0][e], grads[1][e]);
    int64_t moving = 0;
    for (int64_t k = 1; k < E; k++) moving += z[0][k] != z[0][0];
    cr_assert_gt(moving, E / 2, "the output varies over the edges");
    free(c); free(dz); free(z[0]); free(z[1]); free(grads[0]); free(grads[1]);
    fm_llu_net_free(&net);
    fm_params_free(&layout);
    input_free(&in);
    fm_square_free(&A);
}

Test(learned_lu_net, backward_refuses_another_edge_set)
{
    char msg[FM_MSG_LEN] = "";
    fm_square *A = fm_test_llu_general(10, 2, false, 8), *B = fm_test_llu_general(11, 2, false, 9);
    input a = input_new(A), b = input_new(B);
    const fm_llu_config config = { 2, 4 };
    fm_params *layout = fm_test_llu_params(&config, 1, 0.1);
    fm_llu_net_f64 *net = double_net(&config, &a);
    double *values = calloc(layout->count, sizeof *values), *grads = calloc(layout->count, sizeof *grads);
    double *z = malloc(a.E * sizeof *z);
    for (int64_t e = 0; e < layout->count; e++) values[e] = layout->values[e];
    fm_llu_forward_f64(net, z, layout, values, a.edges);
    cr_assert_eq(fm_llu_backward_f64(net, grads, z, layout, values, b.edges, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "edge set") != NULL, "%s", msg);
    free(values); free(grads); free(z);
    fm_llu_net_free_f64(&net);
    fm_params_free(&layout);
    input_free(&a); input_free(&b);
    fm_square_free(&A); fm_square_free(&B);
}
