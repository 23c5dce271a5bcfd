// NeuralIF's fused inference forward (fm_nif_infer) against the training
// forward (fm_nif_forward, float), its reference: random sparse SPD graphs
// and random parameters, the shipped width and a generic one, one to three
// blocks; nodes whose lower row or column holds only the diagonal; the same
// bits for any thread count and with the caller's work arrays; bad arguments;
// the features inference computes from A; and fm_nif_factor_with (which runs
// the fused forward) against the training path's factor.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "neuralif.h"
#include "neuralif_model.h"
#include "rng.h"
#include "square.h"

TestSuite(neuralif_infer, .init = fm_test_setup);

// A random sparse symmetric matrix, diagonally dominant (so SPD): per_row
// entries (i, j < i) in each row i ≥ 1 with values in (−1, 1), mirrored, and
// rows scaled over three orders of magnitude (what P2 undoes). Rows listed in
// `lonely` get no off-diagonal entries of their own (j < i), and those in
// `isolated` none at all.
static fm_square *random_spd(int64_t n, int per_row, uint64_t seed, const int64_t *lonely, int lonely_count,
                             const int64_t *isolated, int isolated_count)
{
    const int64_t cap = n * (per_row + 1);
    int64_t *row = malloc(cap * sizeof *row), *col = malloc(cap * sizeof *col);
    double *val = malloc(cap * sizeof *val), *absolute = calloc(n, sizeof *absolute);
    double *scale = malloc(n * sizeof *scale);
    cr_assert(row && col && val && absolute && scale);
    fm_rng r = fm_rng_stream(seed, 1);
    uint64_t c = 0;
    for (int64_t i = 0; i < n; i++) scale[i] = pow(10, 3 * fm_rng_uniform(r, c++) - 1.5);
    int64_t count = 0;
    for (int64_t i = 1; i < n; i++) {
        bool skip = false;
        for (int q = 0; q < lonely_count; q++) skip |= lonely[q] == i;
        for (int q = 0; q < isolated_count; q++) skip |= isolated[q] == i;
        for (int q = 0; q < per_row && !skip; q++) {
            const int64_t j = (int64_t)(fm_rng_uniform(r, c++) * (double)i);
            bool away = false;
            for (int t = 0; t < isolated_count; t++) away |= isolated[t] == j;
            if (away) continue;
            const double v = 2 * fm_rng_uniform(r, c++) - 1;
            row[count] = i; col[count] = j; val[count] = v; count++;
            absolute[i] += fabs(v);
            absolute[j] += fabs(v);
        }
    }
    for (int64_t i = 0; i < n; i++) {
        row[count] = i; col[count] = i; val[count] = absolute[i] + 0.5 + fm_rng_uniform(r, c++); count++;
    }
    for (int64_t k = 0; k < count; k++) val[k] *= scale[row[k]] * scale[col[k]];
    char msg[FM_MSG_LEN] = "";
    fm_square *g = NULL;
    cr_assert_eq(fm_square_from_triplets(&g, n, count, row, col, val, true, msg), FM_OK, "%s", msg);
    free(row); free(col); free(val); free(absolute); free(scale);
    return g;
}

// Random parameters: the initializer's, plus uniform noise so that the biases
// are nonzero and the ReLUs both active and not.
static fm_params *random_params(const fm_nif_config *config, uint64_t seed, double noise)
{
    fm_params *params = NULL;
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_nif_params_new(&params, config, msg), FM_OK, "%s", msg);
    fm_params_init(params, seed);
    double *u = fm_test_uniform_range(params->count, seed + 1000, -noise, noise);
    for (int64_t e = 0; e < params->count; e++) params->values[e] += (float)u[e];
    free(u);
    return params;
}

// The network's inputs in float, as inference feeds it: the features of Â and â.
typedef struct inputs {
    fm_nif_input *input;
    float *x0, *e0;
    int64_t n, E;
} inputs;

static inputs inputs_of(const fm_square *A)
{
    inputs in = { 0 };
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_nif_input_new(&in.input, A, msg), FM_OK, "%s", msg);
    in.n = A->n;
    in.E = in.input->scaled->lower->count;
    in.x0 = fm_test_to_float(in.input->features, in.n * FM_NIF_FEATURES);
    in.e0 = fm_test_to_float(in.input->scaled->lower->value, in.E);
    return in;
}

static void inputs_free(inputs *in)
{
    fm_nif_input_free(&in->input);
    free(in->x0);
    free(in->e0);
}

// z by the training forward (the reference).
static float *reference_forward(const inputs *in, const fm_nif_config *config, const fm_params *params)
{
    char msg[FM_MSG_LEN] = "";
    fm_nif_net *net = NULL;
    cr_assert_eq(fm_nif_net_new(&net, config, in->n, in->E, msg), FM_OK, "%s", msg);
    memcpy(net->x0, in->x0, in->n * FM_NIF_FEATURES * sizeof *in->x0);
    memcpy(net->e0, in->e0, in->E * sizeof *in->e0);
    float *z = malloc(in->E * sizeof *z);
    fm_nif_forward(net, z, params, params->values, in->input->by_rows, in->input->by_columns);
    fm_nif_net_free(&net);
    return z;
}

// With `with_work`, the caller's node arrays, filled with NaN first (the
// network must write before it reads).
static float *fused_forward_in(const inputs *in, const fm_nif_config *config, const fm_params *params,
                               bool with_work)
{
    char msg[FM_MSG_LEN] = "";
    float *z = malloc(in->E * sizeof *z), *work = NULL;
    if (with_work) {
        const int64_t size = fm_nif_infer_work(config, in->n);
        cr_assert_eq(size, in->n * (FM_NIF_FEATURES + 4 * config->hidden));
        work = malloc(size * sizeof *work);
        for (int64_t e = 0; e < size; e++) work[e] = NAN;
    }
    cr_assert_eq(fm_nif_infer(z, config, params, params->values, in->input->scaled, in->x0, in->e0, work, msg),
                 FM_OK, "%s", msg);
    free(work);
    return z;
}

static float *fused_forward(const inputs *in, const fm_nif_config *config, const fm_params *params)
{
    return fused_forward_in(in, config, params, false);
}

// max_k |a_k − b_k| within 1e-4 of max_k |b_k| (float rounding through three
// blocks of MLPs summed in another order), and the outputs not all alike
// (the comparison says something).
static void assert_close(const float *a, const float *b, int64_t E, const char *what)
{
    double scale = 0, diff = 0, lo = INFINITY, hi = -INFINITY;
    for (int64_t k = 0; k < E; k++) {
        cr_assert(isfinite(a[k]) && isfinite(b[k]), "%s: edge %lld is not finite", what, (long long)k);
        scale = fmax(scale, fabs(b[k]));
        diff = fmax(diff, fabs((double)a[k] - b[k]));
        lo = fmin(lo, b[k]);
        hi = fmax(hi, b[k]);
    }
    cr_assert_gt(hi - lo, 1e-3 * scale, "%s: the outputs are all alike", what);
    cr_assert(diff <= 1e-4 * scale, "%s: fused and reference differ by %g (outputs up to %g)", what, diff, scale);
}

Test(neuralif_infer, matches_the_training_forward)
{
    const fm_nif_config configs[] = { { 3, 8 }, { 1, 8 }, { 2, 5 }, { 3, 13 }, { 2, 3 } };
    const int per_row[] = { 1, 3, 8 };
    uint64_t seed = 1;
    for (size_t g = 0; g < sizeof per_row / sizeof *per_row; g++) {
        fm_square *A = random_spd(150 + 40 * (int64_t)g, per_row[g], 10 + g, NULL, 0, NULL, 0);
        inputs in = inputs_of(A);
        for (size_t q = 0; q < sizeof configs / sizeof *configs; q++) {
            fm_params *params = random_params(&configs[q], seed++, 0.3);
            float *ref = reference_forward(&in, &configs[q], params);
            float *fused = fused_forward(&in, &configs[q], params);
            char what[96];
            snprintf(what, sizeof what, "graph %zu, %d blocks of width %d", g, configs[q].blocks, configs[q].hidden);
            assert_close(fused, ref, in.E, what);
            free(ref);
            free(fused);
            fm_params_free(&params);
        }
        inputs_free(&in);
        fm_square_free(&A);
    }
}

// Row 0 and the rows in `lonely` hold only their diagonal in the lower part
// (a mean over one edge), the last column and the isolated nodes' columns only
// theirs (a sum over one edge); isolated nodes have no neighbour at all.
Test(neuralif_infer, rows_and_columns_with_only_the_diagonal)
{
    const int64_t lonely[] = { 5, 17, 18, 63 }, isolated[] = { 9, 40, 79 };
    fm_square *A = random_spd(80, 4, 3, lonely, 4, isolated, 3);
    const fm_csr *lower = A->lower, *columns = A->lower_by_columns;
    for (int q = 0; q < 4; q++) cr_assert_eq(lower->start[lonely[q] + 1] - lower->start[lonely[q]], 1);
    for (int q = 0; q < 3; q++) {
        cr_assert_eq(lower->start[isolated[q] + 1] - lower->start[isolated[q]], 1);
        cr_assert_eq(columns->start[isolated[q] + 1] - columns->start[isolated[q]], 1);
    }
    inputs in = inputs_of(A);
    const fm_nif_config configs[] = { { 3, 8 }, { 2, 6 } };
    for (int q = 0; q < 2; q++) {
        fm_params *params = random_params(&configs[q], 40 + q, 0.3);
        float *ref = reference_forward(&in, &configs[q], params);
        float *fused = fused_forward(&in, &configs[q], params);
        assert_close(fused, ref, in.E, "lonely diagonals");
        free(ref);
        free(fused);
        fm_params_free(&params);
    }
    inputs_free(&in);
    fm_square_free(&A);
}

// A graph of a single node: one edge, its diagonal.
Test(neuralif_infer, a_single_node)
{
    fm_square *A = random_spd(1, 0, 4, NULL, 0, NULL, 0);
    inputs in = inputs_of(A);
    cr_assert_eq(in.E, 1);
    const fm_nif_config config = { 3, 8 };
    fm_params *params = random_params(&config, 5, 0.3);
    float *ref = reference_forward(&in, &config, params), *fused = fused_forward(&in, &config, params);
    cr_assert(fabs((double)fused[0] - ref[0]) <= 1e-5 * (1 + fabs(ref[0])), "%g vs %g", fused[0], ref[0]);
    free(ref); free(fused);
    fm_params_free(&params);
    inputs_free(&in);
    fm_square_free(&A);
}

Test(neuralif_infer, same_bits_for_any_thread_count)
{
    fm_square *A = random_spd(3000, 6, 7, NULL, 0, NULL, 0);
    inputs in = inputs_of(A);
    const fm_nif_config configs[] = { { 3, 8 }, { 2, 5 } };
    const int threads = omp_get_max_threads();
    for (int q = 0; q < 2; q++) {
        fm_params *params = random_params(&configs[q], 60 + q, 0.3);
        omp_set_num_threads(1);
        float *one = fused_forward(&in, &configs[q], params);
        omp_set_num_threads(2);
        float *two = fused_forward_in(&in, &configs[q], params, true);
        omp_set_num_threads(3);
        float *three = fused_forward(&in, &configs[q], params);
        omp_set_num_threads(threads);
        cr_assert(memcmp(one, two, in.E * sizeof *one) == 0, "1 and 2 threads differ");
        cr_assert(memcmp(one, three, in.E * sizeof *one) == 0, "1 and 3 threads differ");
        free(one); free(two); free(three);
        fm_params_free(&params);
    }
    inputs_free(&in);
    fm_square_free(&A);
}

Test(neuralif_infer, bad_arguments_are_errors)
{
    fm_square *A = random_spd(20, 2, 8, NULL, 0, NULL, 0);
    inputs in = inputs_of(A);
    const fm_nif_config config = { 3, 8 }, two = { 2, 8 }, wide = { 3, 5000 };
    fm_params *params = random_params(&config, 9, 0.1);
    float *z = malloc(in.E * sizeof *z);
    char msg[FM_MSG_LEN] = "";
    // parameters of another shape
    cr_assert_eq(fm_nif_infer(z, &two, params, params->values, in.input->scaled, in.x0, in.e0, NULL, msg),
                 FM_ERR_INVALID);
    cr_assert(strstr(msg, "tensors"), "%s", msg);
    cr_assert_eq(fm_nif_infer(z, &wide, params, params->values, in.input->scaled, in.x0, in.e0, NULL, msg),
                 FM_ERR_INVALID);
    cr_assert_eq(fm_nif_infer(z, &config, params, params->values, in.input->scaled, NULL, in.e0, NULL, msg),
                 FM_ERR_INVALID);
    free(z);
    fm_params_free(&params);
    inputs_free(&in);
    fm_square_free(&A);
}

// The features inference computes from A and its scale are those of the
// copy Â (fm_square_scaled) rounded to float, bit for bit; and so are â's.
Test(neuralif_infer, features_of_A_are_those_of_the_scaled_copy)
{
    const int64_t lonely[] = { 3 }, isolated[] = { 7 };
    fm_square *A = random_spd(200, 4, 13, lonely, 1, isolated, 1);
    inputs in = inputs_of(A);
    float *x = malloc(in.n * FM_NIF_FEATURES * sizeof *x);
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_nif_features_of(x, A, msg), FM_OK, "%s", msg);
    cr_assert(memcmp(x, in.x0, in.n * FM_NIF_FEATURES * sizeof *x) == 0);
    const fm_csr *lower = A->lower;
    for (int64_t i = 0; i < in.n; i++)
        for (int64_t k = lower->start[i]; k < lower->start[i + 1]; k++)
            cr_assert_eq(fm_nif_scaled_entry(lower->value[k], A->scale, i, lower->index[k]),
                         in.input->scaled->lower->value[k]);
    free(x);
    inputs_free(&in);
    fm_square_free(&A);
}

// fm_nif_factor_with (the fused forward on features and â computed straight
// from A) against the training path: the double features, fm_nif_forward,
// P5's map and L = D^{1/2} L̂, with the options off and on.
Test(neuralif_infer, factor_matches_the_training_path)
{
    fm_square *A = random_spd(300, 5, 11, NULL, 0, NULL, 0);
    inputs in = inputs_of(A);
    const fm_nif_config config = { 3, 8 };
    fm_params *params = random_params(&config, 12, 0.3);
    float *z = reference_forward(&in, &config, params);
    const fm_csr *lower = in.input->scaled->lower;
    double *l = malloc(in.E * sizeof *l), *zd = malloc(in.E * sizeof *zd);
    for (int64_t k = 0; k < in.E; k++) zd[k] = z[k];
    fm_nif_factor_values(l, zd, in.input->diagonal, in.E);
    fm_neuralif_options opt;
    fm_neuralif_defaults(&opt);
    opt.drop_tolerance = 0;   // every entry: the training path keeps them all
    opt.normalize_diag = false;
    char msg[FM_MSG_LEN] = "";
    for (int normalize = 0; normalize < 2; normalize++) {
        opt.normalize_diag = normalize;
        fm_csr *L = NULL;
        cr_assert_eq(fm_nif_factor_with(&L, &config, params, A, &opt, NULL, msg), FM_OK, "%s", msg);
        cr_assert_eq(L->count, in.E);
        for (int64_t i = 0; i < in.n; i++) {
            cr_assert_eq(L->start[i + 1], lower->start[i + 1]);
            double norm2 = 0;
            for (int64_t k = lower->start[i]; k < lower->start[i + 1]; k++) norm2 += l[k] * l[k];
            const double row_scale = A->scale[i] / (normalize ? sqrt(norm2) : 1);
            double row_max = 0;
            for (int64_t k = lower->start[i]; k < lower->start[i + 1]; k++)
                row_max = fmax(row_max, fabs(row_scale * l[k]));
            for (int64_t k = lower->start[i]; k < lower->start[i + 1]; k++) {
                cr_assert_eq(L->index[k], lower->index[k]);
                cr_assert(fabs(L->value[k] - row_scale * l[k]) <= 1e-4 * row_max, "row %lld: %g vs %g",
                          (long long)i, L->value[k], row_scale * l[k]);
            }
        }
        fm_csr_free(&L);
    }
    free(l); free(zd); free(z);
    fm_params_free(&params);
    inputs_free(&in);
    fm_square_free(&A);
}
