// The learned LU network's fused inference forward (fm_llu_infer, P6)
// against the training forward (fm_llu_forward, float), its reference, on
// random nonsymmetric matrices (rows with only their diagonal among them)
// and random parameters: the shipped width and others, one to four layers;
// the same bits for 1, 2 and 3 threads and with the caller's work arrays;
// the fused factor assembly (fm_llu_factors_of) bit for bit against
// fm_llu_factor_values + fm_llu_factors; fm_llu_factor_with (which runs
// both) against the training path's factors; bad arguments and bad values.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "llu_fixtures.h"
#include "learned_lu.h"
#include "learned_lu_model.h"
#include "neuralif_model.h"
#include "rng.h"
#include "square.h"

TestSuite(learned_lu_infer, .init = fm_test_setup);

//------------------------------------------------------------------------------
// Fixtures
//------------------------------------------------------------------------------

// z by the training forward on fm_llu_input_new's inputs rounded to float
// (the reference, as fm_llu_factor_with ran it before the fused forward).
static float *reference_forward(const fm_llu_input *input, const fm_llu_config *config, const fm_params *params)
{
    char msg[FM_MSG_LEN] = "";
    const int64_t n = input->scaled->n, E = input->scaled->A->count;
    fm_llu_net *net = NULL;
    cr_assert_eq(fm_llu_net_new(&net, config, n, E, msg), FM_OK, "%s", msg);
    for (int64_t e = 0; e < n * FM_LLU_FEATURES; e++) net->x0[e] = (float)input->features[e];
    for (int64_t e = 0; e < E * FM_LLU_EDGE_INPUTS; e++) net->e0[e] = (float)input->edge_inputs[e];
    float *z = malloc(E * sizeof *z);
    fm_llu_forward(net, z, params, params->values, input->edges);
    fm_llu_net_free(&net);
    return z;
}

// z by the fused forward; with `with_work`, in the caller's work arrays,
// filled with NaN first (the forward must write before it reads).
static float *fused_forward_in(const fm_square *A, const fm_llu_config *config, const fm_params *params,
                               bool with_work)
{
    char msg[FM_MSG_LEN] = "";
    const int64_t E = A->A->count;
    float *z = malloc(E * sizeof *z), *work = NULL;
    if (with_work) {
        const int64_t size = fm_llu_infer_work(config, A->n, E);
        cr_assert_eq(size, A->n * (FM_LLU_FEATURES + 3 * config->width) + (config->layers > 1 ? E * config->width : 0));
        work = malloc(size * sizeof *work);
        for (int64_t e = 0; e < size; e++) work[e] = NAN;
    }
    cr_assert_eq(fm_llu_infer(z, config, params, params->values, A, work, msg), FM_OK, "%s", msg);
    free(work);
    return z;
}

static float *fused_forward(const fm_square *A, const fm_llu_config *config, const fm_params *params)
{
    return fused_forward_in(A, config, params, false);
}

// max_k |a_k − b_k| within 1e-4 of max_k |b_k| (float rounding through the
// layers' MLPs summed in another order), and the outputs not all alike.
static void assert_close(const float *a, const float *b, int64_t E, const char *what)
{
    double scale = 0, diff = 0, lo = INFINITY, hi = -INFINITY;
    for (int64_t k = 0; k < E; k++) {
        cr_assert(isfinite(a[k]) && isfinite(b[k]), "%s: entry %lld is not finite", what, (long long)k);
        scale = fmax(scale, fabs(b[k]));
        diff = fmax(diff, fabs((double)a[k] - b[k]));
        lo = fmin(lo, b[k]);
        hi = fmax(hi, b[k]);
    }
    cr_assert_gt(hi - lo, 1e-3 * scale, "%s: the outputs are all alike", what);
    cr_assert(diff <= 1e-4 * scale, "%s: fused and reference differ by %g (outputs up to %g)", what, diff, scale);
}

static void compare_on(const fm_square *A, const fm_llu_config *configs, int count, uint64_t seed, const char *name)
{
    char msg[FM_MSG_LEN] = "";
    fm_llu_input *input = NULL;
    cr_assert_eq(fm_llu_input_new(&input, A, msg), FM_OK, "%s", msg);
    for (int q = 0; q < count; q++) {
        fm_params *params = fm_test_llu_params(&configs[q], seed + q, 0.3);
        float *ref = reference_forward(input, &configs[q], params);
        float *fused = fused_forward(A, &configs[q], params);
        char what[128];
        snprintf(what, sizeof what, "%s, %d layers of width %d", name, configs[q].layers, configs[q].width);
        assert_close(fused, ref, A->A->count, what);
        free(ref);
        free(fused);
        fm_params_free(&params);
    }
    fm_llu_input_free(&input);
}

//------------------------------------------------------------------------------
// The fused forward
//------------------------------------------------------------------------------

// Its premise: the features inference computes from A are the trainer's
// features of Â rounded to float, bit for bit.
Test(learned_lu_infer, features_from_A_are_those_of_the_scaled_matrix)
{
    fm_square *A = fm_test_llu_general(90, 4, true, 3);
    char msg[FM_MSG_LEN] = "";
    fm_llu_input *input = NULL;
    cr_assert_eq(fm_llu_input_new(&input, A, msg), FM_OK, "%s", msg);
    float *x0 = malloc(A->n * FM_LLU_FEATURES * sizeof *x0);
    cr_assert_eq(fm_nif_features_of(x0, A, msg), FM_OK, "%s", msg);
    for (int64_t e = 0; e < A->n * FM_LLU_FEATURES; e++)
        cr_assert_eq(x0[e], (float)input->features[e], "feature %lld: %g, not %g", (long long)e, x0[e],
                     input->features[e]);
    free(x0);
    fm_llu_input_free(&input);
    fm_square_free(&A);
}

Test(learned_lu_infer, matches_the_training_forward)
{
    const fm_llu_config configs[] = { { 3, FM_LLU_WIDTH }, { 1, FM_LLU_WIDTH }, { 2, 5 }, { 4, 12 }, { 1, 3 } };
    const int count = sizeof configs / sizeof *configs;
    const int per_row[] = { 1, 4, 9 };
    for (int g = 0; g < 3; g++) {
        fm_square *A = fm_test_llu_general(120 + 40 * g, per_row[g], g == 1, 20 + g);
        char name[64];
        snprintf(name, sizeof name, "random matrix %d", g);
        compare_on(A, configs, count, 100 + 10 * g, name);
        fm_square_free(&A);
    }
    fm_square *grid = fm_test_llu_grid(12, 7);
    compare_on(grid, configs, count, 200, "grid");
    fm_square_free(&grid);
}

// A diagonal matrix (every row a mean over one entry) and a single node.
Test(learned_lu_infer, only_diagonals_and_a_single_node)
{
    const fm_llu_config configs[] = { { 3, FM_LLU_WIDTH }, { 2, 6 } };
    fm_square *diagonal = fm_test_llu_general(40, 0, false, 5);
    cr_assert_eq(diagonal->A->count, 40);
    compare_on(diagonal, configs, 2, 300, "diagonal");
    fm_square *single = fm_test_llu_general(1, 0, false, 6);
    cr_assert_eq(single->A->count, 1);
    const fm_llu_config config = { 3, FM_LLU_WIDTH };
    fm_llu_input *input = NULL;
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_llu_input_new(&input, single, msg), FM_OK, "%s", msg);
    fm_params *params = fm_test_llu_params(&config, 310, 0.3);
    float *ref = reference_forward(input, &config, params), *fused = fused_forward(single, &config, params);
    cr_assert(fabs((double)fused[0] - ref[0]) <= 1e-5 * (1 + fabs(ref[0])), "%g, not %g", fused[0], ref[0]);
    free(ref);
    free(fused);
    fm_params_free(&params);
    fm_llu_input_free(&input);
    fm_square_free(&single);
    fm_square_free(&diagonal);
}

// A grid above the parallel threshold: z the same bits with 1, 2 and 3
// threads, and with the caller's work arrays (NaN-filled) as with its own.
Test(learned_lu_infer, the_same_bits_for_any_thread_count)
{
    fm_square *A = fm_test_llu_grid(48, 9);
    const int64_t E = A->A->count;
    cr_assert_gt(E, 8192);
    const fm_llu_config configs[] = { { 3, FM_LLU_WIDTH }, { 2, 7 } };
    const int saved = omp_get_max_threads();
    for (int q = 0; q < 2; q++) {
        fm_params *params = fm_test_llu_params(&configs[q], 400 + q, 0.3);
        omp_set_num_threads(1);
        float *one = fused_forward(A, &configs[q], params);
        for (int threads = 2; threads <= 3; threads++) {
            omp_set_num_threads(threads);
            float *many = fused_forward_in(A, &configs[q], params, threads == 3);
            cr_assert_eq(memcmp(one, many, E * sizeof *one), 0, "%d threads differ (width %d)", threads,
                         configs[q].width);
            free(many);
        }
        free(one);
        fm_params_free(&params);
    }
    omp_set_num_threads(saved);
    fm_square_free(&A);
}

Test(learned_lu_infer, bad_arguments_and_values_are_refused)
{
    char msg[FM_MSG_LEN] = "";
    fm_square *A = fm_test_llu_general(30, 3, false, 11);
    const fm_llu_config config = { 2, 6 }, other = { 3, 6 }, bad = { 0, 6 }, wide = { 2, 5000 };
    fm_params *params = fm_test_llu_params(&config, 12, 0.3);
    float *z = malloc(A->A->count * sizeof *z);
    cr_assert_eq(fm_llu_infer(NULL, &config, params, params->values, A, NULL, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_llu_infer(z, &config, params, params->values, NULL, NULL, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_llu_infer(z, &bad, params, params->values, A, NULL, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "layers"), "%s", msg);
    cr_assert_eq(fm_llu_infer(z, &wide, params, params->values, A, NULL, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_llu_infer_work(&bad, 10, 10), 0);
    cr_assert_eq(fm_llu_infer(z, &other, params, params->values, A, NULL, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "tensors"), "%s", msg);
    // |a_12| far beyond sqrt|a_11 a_22|: â_12 overflows
    const int64_t row[] = { 0, 0, 1 }, col[] = { 0, 1, 1 };
    const double val[] = { 1e-300, 1e300, 1e-300 };
    fm_square *huge = NULL;
    cr_assert_eq(fm_square_from_triplets(&huge, 2, 3, row, col, val, false, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_llu_infer(z, &config, params, params->values, huge, NULL, msg), FM_ERR_NUMERIC);
    cr_assert(strstr(msg, "(1, 2)"), "%s", msg);
    fm_csr *L = NULL, *U = NULL;
    cr_assert_eq(fm_llu_factor_with(&L, &U, &config, params, FM_LLU_OUTPUT_DIRECT, huge, NULL, msg), FM_ERR_NUMERIC);
    cr_assert(!L && !U);
    fm_square_free(&huge);
    free(z);
    fm_params_free(&params);
    fm_square_free(&A);
}

//------------------------------------------------------------------------------
// The factors
//------------------------------------------------------------------------------

static void assert_same_csr(const fm_csr *a, const fm_csr *b, const char *what)
{
    cr_assert_eq(a->n, b->n, "%s", what);
    cr_assert_eq(a->count, b->count, "%s", what);
    cr_assert_eq(memcmp(a->start, b->start, (a->n + 1) * sizeof *a->start), 0, "%s: starts", what);
    cr_assert_eq(memcmp(a->index, b->index, a->count * sizeof *a->index), 0, "%s: indices", what);
    cr_assert_eq(memcmp(a->value, b->value, a->count * sizeof *a->value), 0, "%s: values", what);
}

// z at random in (−1, 1) with diagonals near and at zero (both signs, ±ε
// itself): the fused assembly equals the reference bit for bit, clamps the
// diagonals with |z| < ε, with 1 and 2 threads.
Test(learned_lu_infer, factors_of_z_equal_the_reference)
{
    fm_square *matrices[2] = { fm_test_llu_general(200, 5, true, 13), fm_test_llu_grid(48, 14) };
    cr_assert_gt(matrices[1]->A->count, 8192);
    const float near[] = { 0.0f, -0.0f, 1e-4f, -5e-4f, 2e-3f, -3e-3f, (float)FM_LLU_EPSILON, 1e-7f };
    const int saved = omp_get_max_threads();
    for (int m = 0; m < 2; m++) {
        const fm_square *A = matrices[m];
        const fm_csr *M = A->A;
        const int64_t E = M->count;
        double *u = fm_test_uniform_range(E, 15 + m, -1, 1);
        float *z = malloc(E * sizeof *z);
        double *zd = malloc(E * sizeof *zd), *v = malloc(E * sizeof *v);
        uint8_t *diagonal = calloc(E, 1);
        int64_t expected = 0;
        for (int64_t i = 0; i < M->n; i++)
            for (int64_t k = M->start[i]; k < M->start[i + 1]; k++) {
                z[k] = (float)u[k];
                diagonal[k] = M->index[k] == i;
                if (diagonal[k] && i % 3 == 0) z[k] = near[(i / 3) % 8];
                expected += diagonal[k] && fabs((double)z[k]) < FM_LLU_EPSILON;
                zd[k] = z[k];
            }
        cr_assert_gt(expected, 0);
        char msg[FM_MSG_LEN] = "";
        fm_csr *L_ref = NULL, *U_ref = NULL;
        for (int output = FM_LLU_OUTPUT_DIRECT; output <= FM_LLU_OUTPUT_SCALED; output++) {
            fm_llu_factor_values(v, zd, diagonal, E, false);
            if (output == FM_LLU_OUTPUT_SCALED) {   // the reference's â: fm_llu_edge_inputs of Â
                fm_square *S = NULL;
                cr_assert_eq(fm_square_scaled(&S, A, msg), FM_OK, "%s", msg);
                double *inputs = malloc(2 * E * sizeof *inputs);
                fm_llu_edge_inputs(inputs, S);
                fm_llu_times_entries(v, inputs, diagonal, E);
                free(inputs);
                fm_square_free(&S);
            }
            fm_csr_free(&L_ref);
            fm_csr_free(&U_ref);
            cr_assert_eq(fm_llu_factors(&L_ref, &U_ref, A, A->scale, v, msg), FM_OK, "%s", msg);
            for (int threads = 1; threads <= 2; threads++) {
                omp_set_num_threads(threads);
                fm_csr *L = NULL, *U = NULL;
                int64_t clamped = -1;
                cr_assert_eq(fm_llu_factors_of(&L, &U, A, z, output, &clamped, msg), FM_OK, "%s", msg);
                cr_assert_eq(clamped, expected);
                assert_same_csr(L, L_ref, "L");
                assert_same_csr(U, U_ref, "U");
                fm_csr_free(&L);
                fm_csr_free(&U);
            }
        }
        omp_set_num_threads(saved);
        // a NaN in row 5 (off the diagonal if it has one) and an infinity later: the first named
        const int64_t at = M->start[5], later = M->start[M->n - 1];
        z[at] = NAN;
        z[later] = INFINITY;
        fm_csr *L = NULL, *U = NULL;
        cr_assert_eq(fm_llu_factors_of(&L, &U, A, z, FM_LLU_OUTPUT_DIRECT, NULL, msg), FM_ERR_NUMERIC);
        cr_assert(!L && !U);
        char expected_text[64];
        snprintf(expected_text, sizeof expected_text, "entry %lld:", (long long)at);
        cr_assert(strstr(msg, expected_text), "%s", msg);
        cr_assert_eq(fm_llu_factors_of(&L, NULL, A, z, FM_LLU_OUTPUT_DIRECT, NULL, msg), FM_ERR_INVALID);
        fm_csr_free(&L_ref);
        fm_csr_free(&U_ref);
        free(u); free(z); free(zd); free(v); free(diagonal);
    }
    fm_square_free(&matrices[0]);
    fm_square_free(&matrices[1]);
}

// fm_llu_factor_with against the path it replaced: the training forward on
// fm_llu_input's inputs, fm_llu_factor_values, fm_llu_factors. The same
// patterns; the values (divided by the scales, i.e. v) within float rounding;
// the same clamped count.
Test(learned_lu_infer, factor_with_matches_the_training_path)
{
    fm_square *A = fm_test_llu_general(150, 4, true, 16);
    const fm_csr *M = A->A;
    const int64_t E = M->count;
    char msg[FM_MSG_LEN] = "";
    const fm_llu_config configs[] = { { 3, FM_LLU_WIDTH }, { 2, 9 } };
    for (int q = 0; q < 2; q++) {
        fm_params *params = fm_test_llu_params(&configs[q], 500 + q, 0.3);
        fm_llu_input *input = NULL;
        cr_assert_eq(fm_llu_input_new(&input, A, msg), FM_OK, "%s", msg);
        float *z = reference_forward(input, &configs[q], params);
        double *zd = malloc(E * sizeof *zd), *v = malloc(E * sizeof *v);
        int64_t expected = 0;
        for (int64_t k = 0; k < E; k++) {
            zd[k] = z[k];
            expected += input->diagonal[k] && fabs(zd[k]) < FM_LLU_EPSILON;
        }
        fm_llu_factor_values(v, zd, input->diagonal, E, false);
        fm_csr *L_ref = NULL, *U_ref = NULL, *L = NULL, *U = NULL;
        cr_assert_eq(fm_llu_factors(&L_ref, &U_ref, A, A->scale, v, msg), FM_OK, "%s", msg);
        fm_learned_lu_info info = { -1 };
        cr_assert_eq(fm_llu_factor_with(&L, &U, &configs[q], params, FM_LLU_OUTPUT_DIRECT, A, &info, msg), FM_OK,
                     "%s", msg);
        cr_assert_eq(info.clamped, expected);
        const fm_csr *pairs[2][2] = { { L, L_ref }, { U, U_ref } };
        for (int f = 0; f < 2; f++) {
            const fm_csr *a = pairs[f][0], *b = pairs[f][1];
            cr_assert_eq(a->count, b->count);
            cr_assert_eq(memcmp(a->start, b->start, (a->n + 1) * sizeof *a->start), 0);
            cr_assert_eq(memcmp(a->index, b->index, a->count * sizeof *a->index), 0);
            double diff = 0, scale = 0;
            for (int64_t i = 0; i < a->n; i++)
                for (int64_t k = a->start[i]; k < a->start[i + 1]; k++) {
                    // L = S L̂ by rows, U = Û S by columns: back to v
                    const double s = f == 0 ? A->scale[i] : A->scale[a->index[k]];
                    diff = fmax(diff, fabs(a->value[k] - b->value[k]) / s);
                    scale = fmax(scale, fabs(b->value[k]) / s);
                }
            cr_assert(diff <= 1e-4 * scale, "%s: differ by %g (values up to %g)", f ? "U" : "L", diff, scale);
        }
        fm_csr_free(&L); fm_csr_free(&U); fm_csr_free(&L_ref); fm_csr_free(&U_ref);
        free(z); free(zd); free(v);
        fm_llu_input_free(&input);
        fm_params_free(&params);
    }
    fm_square_free(&A);
}
