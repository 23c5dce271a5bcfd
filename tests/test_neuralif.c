// NeuralIF (P5): the features, the map to the factor, the network's backward
// against finite differences (double), the factor's positivity and scaling
// (P2), thread-count independence, checkpoints and training (the losses:
// test_neuralif_loss.c).
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "epochs_fixtures.h"
#include "helpers.h"
#include "neuralif.h"
#include "checkpoint.h"
#include "neuralif_file.h"
#include "neuralif_model.h"
#include "neuralif_train.h"
#include "rng.h"
#include "run_state.h"
#include "solver_fixtures.h"
#include "square.h"

TestSuite(neuralif, .init = fm_test_setup);

// Random parameters: fm_params_init leaves every vector and every 1 × h
// output layer zero (the untrained model is Jacobi's factor exactly), so
// add uniform noise of `spread` to every element.
static fm_params *random_params(const fm_nif_config *config, uint64_t seed, double spread)
{
    char msg[FM_MSG_LEN] = "";
    fm_params *params = NULL;
    cr_assert_eq(fm_nif_params_new(&params, config, msg), FM_OK, "%s", msg);
    fm_params_init(params, seed);
    double *noise = fm_test_uniform_range(params->count, seed + 1000, -spread, spread);
    for (int64_t e = 0; e < params->count; e++) params->values[e] += (float)noise[e];
    free(noise);
    return params;
}

Test(neuralif, features_are_in_range)
{
    // the features of A itself: Â's rows need not stay diagonally dominant
    fm_square *A = fm_test_dominant_spd(60, 3, 1, NULL);
    char msg[FM_MSG_LEN] = "";
    double *f = NULL;
    cr_assert_eq(fm_nif_features(&f, A, msg), FM_OK, "%s", msg);
    for (int64_t i = 0; i < 60; i++) {
        const double *x = f + i * FM_NIF_FEATURES;
        cr_assert(x[0] >= 0 && x[1] <= x[3] + 1e-12 && x[3] <= x[2] + 1e-12 && x[4] >= 0);
        // dominance |â_ii|/(|â_ii| + Σ) ≤ decay |â_ii|/(|â_ii| + max), both in (0, 1]
        cr_assert(x[5] > 0 && x[5] <= x[6] + 1e-12 && x[6] <= 1);
        // diagonally dominant by construction: Σ_j |a_ij| < a_ii, so dominance > 1/2
        cr_assert_gt(x[5], 0.5);
    }
    free(f);
    fm_square_free(&A);
}

// The whole model in double: θ → z (network) → l̂ (P5 map) → loss.
typedef struct {
    fm_nif_net_f64 *net;
    fm_params *layout;
    double *values;
    const fm_nif_input *input;
    const double *probe;
    double *z, *l, *work;
} model_context;

static double model_loss(void *context)
{
    model_context *c = context;
    fm_nif_forward_f64(c->net, c->z, c->layout, c->values, c->input->by_rows, c->input->by_columns);
    fm_nif_factor_values(c->l, c->z, c->input->diagonal, c->input->scaled->lower->count);
    return fm_nif_sketch_loss(c->input->scaled, c->l, c->probe, NULL, c->work);
}

Test(neuralif, model_gradient_matches_finite_differences)
{
    const double scale[24] = { 1, 10, 0.1, 3, 100, 0.01, 1, 2, 5, 1, 1, 1, 7, 1, 0.5, 1, 1, 1, 1, 4, 1, 1, 1, 1 };
    fm_square *A = fm_test_dominant_spd(24, 2, 7, scale);
    fm_nif_input *input = NULL;
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_nif_input_new(&input, A, msg), FM_OK, "%s", msg);
    const fm_nif_config config = { FM_NIF_BLOCKS, FM_NIF_HIDDEN };
    fm_params *layout = NULL;
    cr_assert_eq(fm_nif_params_new(&layout, &config, msg), FM_OK, "%s", msg);
    fm_params_init(layout, 11);
    const int64_t n = A->n, E = input->scaled->lower->count, P = layout->count;
    double *values = malloc(P * sizeof *values), *grads = calloc(P, sizeof *grads);
    // Glorot values and nonzero biases, so that ReLUs are both active and not
    double *noise = fm_test_uniform_range(P, 12, -0.2, 0.2);
    for (int64_t e = 0; e < P; e++) values[e] = layout->values[e] + noise[e];
    fm_nif_net_f64 *net = NULL;
    cr_assert_eq(fm_nif_net_new_f64(&net, &config, n, E, msg), FM_OK, "%s", msg);
    memcpy(net->x0, input->features, n * FM_NIF_FEATURES * sizeof *net->x0);
    memcpy(net->e0, input->scaled->lower->value, E * sizeof *net->e0);
    double *probe = fm_test_normal_vector(n, 13), *z = malloc(E * sizeof *z), *l = malloc(E * sizeof *l);
    double *dl = calloc(E, sizeof *dl), *dz = calloc(E, sizeof *dz), *work = malloc(4 * n * sizeof *work);
    model_context c = { net, layout, values, input, probe, z, l, work };
    const double loss = model_loss(&c);
    fm_nif_sketch_loss(input->scaled, l, probe, dl, work);
    fm_nif_factor_values_backward(dz, dl, l, input->diagonal, E);
    cr_assert_eq(fm_nif_backward_f64(net, grads, dz, layout, values, input->by_rows, input->by_columns,
                                     msg), FM_OK, "%s", msg);
    cr_assert(loss > 0 && isfinite(loss));
    // every tensor: the largest-gradient element and two others
    int checked = 0, nonzero = 0;
    for (int t = 0; t < layout->tensors; t++) {
        const int64_t at = layout->offsets[t], size = fm_params_size(layout, t);
        for (int64_t q = 0; q < size; q += size > 3 ? size / 3 : 1) {
            const int64_t e = at + q;
            const double fd = fm_test_central_difference(values, e, 1e-6, model_loss, &c);
            cr_assert(fabs(fd - grads[e]) <= 1e-5 * (1 + fabs(fd)), "%s[%lld]: %g vs %g",
                      layout->specs[t].name, (long long)q, grads[e], fd);
            checked++;
            nonzero += fabs(grads[e]) > 1e-9;
        }
    }
    cr_assert_gt(nonzero, checked / 2, "%d of %d gradients are zero: the check says little", checked - nonzero,
                 checked);
    free(values); free(grads); free(noise); free(probe); free(z); free(l); free(dl); free(dz); free(work);
    fm_nif_net_free_f64(&net);
    fm_params_free(&layout);
    fm_nif_input_free(&input);
    fm_square_free(&A);
}

// l̂_ii = exp(z_ii/2) > 0 whatever the weights: L̂ is nonsingular and L̂L̂ᵀ SPD.
// And L = D^{1/2} L̂ (P2): the factor of S A S is S times the factor of A.
Test(neuralif, factor_has_a_positive_diagonal_and_scales_back)
{
    double scale[50];
    for (int i = 0; i < 50; i++) scale[i] = pow(10, (i % 7) - 3);
    fm_square *A = fm_test_dominant_spd(50, 4, 8, NULL), *B = fm_test_dominant_spd(50, 4, 8, scale);
    const fm_nif_config config = { FM_NIF_BLOCKS, FM_NIF_HIDDEN };
    char msg[FM_MSG_LEN] = "";
    fm_neuralif_options opt;
    fm_neuralif_defaults(&opt);
    for (uint64_t seed = 1; seed <= 10; seed++) {
        fm_params *params = random_params(&config, seed, 0.5);   // far from any trained model
        fm_csr *L = NULL, *M = NULL;
        cr_assert_eq(fm_nif_factor_with(&L, &config, params, A, &opt, NULL, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_nif_factor_with(&M, &config, params, B, &opt, NULL, msg), FM_OK, "%s", msg);
        cr_assert_eq(L->count, M->count);
        for (int64_t i = 0; i < 50; i++) {
            const int64_t last = L->start[i + 1] - 1;
            cr_assert_eq(L->index[last], i, "the diagonal is last in row %lld", (long long)i);
            cr_assert(L->value[last] > 0 && isfinite(L->value[last]));
            for (int64_t k = L->start[i]; k <= last; k++)
                cr_assert(fabs(M->value[k] - scale[i] * L->value[k]) <= 1e-5 * fabs(scale[i] * L->value[k]) + 1e-30,
                          "row %lld: %g vs %g", (long long)i, M->value[k], scale[i] * L->value[k]);
        }
        fm_csr_free(&L);
        fm_csr_free(&M);
        fm_params_free(&params);
    }
    fm_square_free(&A);
    fm_square_free(&B);
}

// normalize_diag makes (L̂L̂ᵀ)_ii = â_ii = 1; the drop tolerance keeps the
// diagonal and removes exactly the small off-diagonal entries.
Test(neuralif, inference_options)
{
    fm_square *A = fm_test_dominant_spd(40, 5, 9, NULL);
    const fm_nif_config config = { FM_NIF_BLOCKS, FM_NIF_HIDDEN };
    char msg[FM_MSG_LEN] = "";
    fm_params *params = random_params(&config, 3, 0.3);
    fm_neuralif_options opt;
    fm_neuralif_defaults(&opt);
    opt.drop_tolerance = 0;   // the full factor first
    opt.normalize_diag = false;
    fm_csr *full = NULL, *normal = NULL, *sparse = NULL;
    cr_assert_eq(fm_nif_factor_with(&full, &config, params, A, &opt, NULL, msg), FM_OK, "%s", msg);
    opt.normalize_diag = true;
    cr_assert_eq(fm_nif_factor_with(&normal, &config, params, A, &opt, NULL, msg), FM_OK, "%s", msg);
    for (int64_t i = 0; i < 40; i++) {
        double norm2 = 0;
        for (int64_t k = normal->start[i]; k < normal->start[i + 1]; k++) norm2 += normal->value[k] * normal->value[k];
        double diagonal = 0;
        for (int64_t p = A->A->start[i]; p < A->A->start[i + 1]; p++)
            if (A->A->index[p] == i) diagonal = A->A->value[p];
        // (L Lᵀ)_ii = a_ii after scaling back: L = D^{1/2} L̂, D_ii = a_ii
        cr_assert(fabs(norm2 - diagonal) <= 1e-9 * diagonal, "row %lld: %g vs a_ii %g", (long long)i, norm2, diagonal);
    }
    // a tolerance at the mean off-diagonal |l̂_ij| drops exactly those at or below it
    double *magnitudes = malloc(full->count * sizeof *magnitudes);
    int64_t off = 0;
    for (int64_t i = 0; i < 40; i++)
        for (int64_t k = full->start[i]; k < full->start[i + 1] - 1; k++)
            magnitudes[off++] = fabs(full->value[k]) / A->scale[i];
    double tau = 0;
    for (int64_t q = 0; q < off; q++) tau += magnitudes[q] / (double)off;
    opt.normalize_diag = false;
    opt.drop_tolerance = tau;
    cr_assert_eq(fm_nif_factor_with(&sparse, &config, params, A, &opt, NULL, msg), FM_OK, "%s", msg);
    int64_t expected = 40;
    for (int64_t q = 0; q < off; q++) expected += magnitudes[q] > tau;
    cr_assert(expected > 40 && expected < full->count, "the tolerance drops some entries and keeps some");
    cr_assert_eq(sparse->count, expected);
    for (int64_t i = 0; i < 40; i++) cr_assert_eq(sparse->index[sparse->start[i + 1] - 1], i);
    free(magnitudes);
    fm_csr_free(&full); fm_csr_free(&normal); fm_csr_free(&sparse);
    fm_params_free(&params);
    fm_square_free(&A);
}

Test(neuralif, factor_is_the_same_for_any_thread_count)
{
    fm_square *A = fm_test_dominant_spd(3000, 6, 10, NULL);
    const fm_nif_config config = { FM_NIF_BLOCKS, FM_NIF_HIDDEN };
    char msg[FM_MSG_LEN] = "";
    fm_params *params = random_params(&config, 4, 0.3);
    fm_neuralif_options opt;
    fm_neuralif_defaults(&opt);
    fm_csr *one = NULL, *many = NULL;
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    cr_assert_eq(fm_nif_factor_with(&one, &config, params, A, &opt, NULL, msg), FM_OK, "%s", msg);
    omp_set_num_threads(4);
    cr_assert_eq(fm_nif_factor_with(&many, &config, params, A, &opt, NULL, msg), FM_OK, "%s", msg);
    omp_set_num_threads(threads);
    cr_assert_eq(one->count, many->count);
    int64_t off_diagonal = 0;
    for (int64_t i = 0; i < one->n; i++)
        for (int64_t k = one->start[i]; k < one->start[i + 1] - 1; k++) off_diagonal += one->value[k] != 0;
    cr_assert_gt(off_diagonal, one->count / 2, "the network's factor is not just a diagonal");
    cr_assert(memcmp(one->value, many->value, one->count * sizeof *one->value) == 0);
    fm_csr_free(&one); fm_csr_free(&many);
    fm_params_free(&params);
    fm_square_free(&A);
}

// fm_params_init leaves the edge MLPs' 1 × h output layers zero: the
// untrained network outputs z = 0 on every edge, so its factor is Jacobi's,
// D^{1/2} (the documented starting point of training).
Test(neuralif, the_untrained_model_is_jacobi)
{
    fm_square *A = fm_test_dominant_spd(30, 3, 11, NULL);
    const fm_nif_config config = { FM_NIF_BLOCKS, FM_NIF_HIDDEN };
    char msg[FM_MSG_LEN] = "";
    fm_params *params = NULL;
    cr_assert_eq(fm_nif_params_new(&params, &config, msg), FM_OK, "%s", msg);
    fm_params_init(params, 5);
    fm_neuralif_options opt;
    fm_neuralif_defaults(&opt);
    fm_csr *L = NULL;
    cr_assert_eq(fm_nif_factor_with(&L, &config, params, A, &opt, NULL, msg), FM_OK, "%s", msg);
    for (int64_t i = 0; i < 30; i++)
        for (int64_t k = L->start[i]; k < L->start[i + 1]; k++)
            cr_assert_float_eq(L->value[k], L->index[k] == i ? A->scale[i] : 0.0, 1e-12 * A->scale[i]);
    fm_csr_free(&L);
    fm_params_free(&params);
    fm_square_free(&A);
}

// L̂ = bidiagonal with −4 below a unit diagonal: (L̂⁻¹ 1)_i grows like 5^i and
// passes 1e8 at row 12. The safeguard raises the diagonal until the solve
// stays below FM_NIF_GROWTH_LIMIT, and reports the factor it used; a factor
// that does not grow is left alone (shift 0).
Test(neuralif, growth_safeguard_bounds_the_inverse)
{
    const int64_t n = 600;
    char msg[FM_MSG_LEN] = "";
    fm_csr *L = NULL;
    cr_assert_eq(fm_csr_new(&L, n, 2 * n - 1, msg), FM_OK, "%s", msg);
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        if (i) { L->index[at] = i - 1; L->value[at++] = -4; }
        L->index[at] = i;
        L->value[at++] = 1;
        L->start[i + 1] = at;
    }
    fm_neuralif_info info;
    cr_assert_eq(fm_nif_bound_growth(L, &info, msg), FM_OK, "%s", msg);
    cr_assert(info.shift > 0 && info.tries > 1);
    double *ones = malloc(n * sizeof *ones), *y = malloc(n * sizeof *y);
    for (int64_t i = 0; i < n; i++) ones[i] = 1;
    fm_solve_lower_reference(L, ones, y);
    for (int64_t i = 0; i < n; i++) cr_assert(isfinite(y[i]) && fabs(y[i]) <= FM_NIF_GROWTH_LIMIT);
    for (int64_t i = 0; i < n; i++) cr_assert_float_eq(L->value[L->start[i + 1] - 1], 1 + info.shift, 1e-15);
    // the previous α (half, or none) still overflowed: the smallest of the doubling sequence is used
    const double before = info.tries > 2 ? 1 + info.shift / 2 : 1;
    for (int64_t i = 0; i < n; i++) L->value[L->start[i + 1] - 1] = before;
    fm_solve_lower_reference(L, ones, y);
    bool over = false;
    for (int64_t i = 0; i < n; i++) over |= !(fabs(y[i]) <= FM_NIF_GROWTH_LIMIT);
    cr_assert(over);
    // a tame factor: untouched
    for (int64_t i = 0; i < n; i++) {
        L->value[L->start[i + 1] - 1] = 1;
        if (i) L->value[L->start[i]] = -0.5;
    }
    cr_assert_eq(fm_nif_bound_growth(L, &info, msg), FM_OK, "%s", msg);
    cr_assert(info.shift == 0 && info.tries == 1);
    free(ones); free(y);
    fm_csr_free(&L);
}

// The checkpoint round trip: a model's values come back bit for bit, with
// its config; a training state keeps its counters; a file of another kind
// or a state of another seed is refused, naming the file.
Test(neuralif, checkpoint_round_trip)
{
    const char *dir = fm_test_tmpdir();
    const char *model_path = fm_test_path(dir, "m.fmw"), *state_path = fm_test_path(dir, "m.fmw.state");
    const fm_nif_config config = { 2, 5 };
    fm_params *params = random_params(&config, 21, 0.3), *back = NULL;
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_nif_model_write(model_path, &config, params, msg), FM_OK, "%s", msg);
    fm_nif_config read_config = { 0, 0 };
    cr_assert_eq(fm_nif_model_read(model_path, &read_config, &back, msg), FM_OK, "%s", msg);
    cr_assert(read_config.blocks == 2 && read_config.hidden == 5);
    cr_assert_eq(back->count, params->count);
    cr_assert(memcmp(back->values, params->values, params->count * sizeof *params->values) == 0);
    fm_params_free(&back);
    fm_neuralif *model = NULL;
    cr_assert_eq(fm_neuralif_load(&model, model_path, msg), FM_OK, "%s", msg);
    fm_neuralif_free(&model);

    const fm_nif_train_state state = { .epoch = 3, .step = 77, .best_epoch = 2, .best_validation = 41.5 };
    cr_assert_eq(fm_nif_state_write(state_path, &config, 9, params, &state, msg), FM_OK, "%s", msg);
    fm_nif_train_state got;
    cr_assert_eq(fm_nif_state_read(state_path, &config, 9, &back, &got, msg), FM_OK, "%s", msg);
    cr_assert(got.epoch == 3 && got.step == 77 && got.best_epoch == 2 && got.best_validation == 41.5);
    cr_assert(memcmp(back->values, params->values, params->count * sizeof *params->values) == 0);
    fm_params_free(&back);
    cr_assert_eq(fm_nif_state_read(state_path, &config, 10, &back, &got, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "seed 9") && strstr(msg, "seed 10"), "%s", msg);
    cr_assert_null(back);
    // a model file is not a training state; a state is not another kind
    cr_assert_eq(fm_nif_state_read(model_path, &config, 9, &back, &got, msg), FM_ERR_PARSE);
    cr_assert(strstr(msg, "m.fmw") && strstr(msg, "training state"), "%s", msg);
    cr_assert_eq(fm_run_state_absent(state_path, msg), FM_ERR_INVALID);
    fm_params_free(&params);
    fm_test_remove_dir(dir);
}

// Another model kind is refused with both kinds named: an NMF checkpoint
// (the L-Factormer's writer) read as NeuralIF.
Test(neuralif, another_kind_is_refused)
{
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "other.fmw");
    // a NeuralIF file with its kind field changed to 1 (initialization), checksum fixed up by
    // writing through io/checkpoint with that kind
    const fm_nif_config config = { 1, 3 };
    fm_params *params = random_params(&config, 5, 0.1), *back = NULL;
    fm_tensor_spec specs[4 * FM_NIF_MLPS];
    char names[4 * FM_NIF_MLPS][FM_NIF_NAME];
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_nif_specs(specs, names, &config, msg), FM_OK, "%s", msg);
    const fm_checkpoint_layout layout = { specs, fm_nif_tensor_count(&config), "test" };
    const fm_checkpoint_fields fields = { .kind = 1, .shape = { 1, 3, FM_NIF_FEATURES } };
    cr_assert_eq(fm_checkpoint_write_tensors(path, &fields, &layout, params, NULL, msg), FM_OK, "%s", msg);
    fm_nif_config got;
    cr_assert_eq(fm_nif_model_read(path, &got, &back, msg), FM_ERR_PARSE);
    cr_assert(strstr(msg, "initialization") && strstr(msg, "neuralif"), "%s", msg);
    cr_assert_null(back);
    fm_params_free(&params);
    fm_test_remove_dir(dir);
}

static int record_epochs(const fm_nif_train_progress *p, void *user)
{
    double *loss = user;
    if (!isnan(p->validation) && p->epoch >= 1 && p->epoch <= 8) loss[p->epoch - 1] = p->running_loss;
    return 0;
}

// A tiny NeuralIF's training on small diffusion grids (16 matrices, 2 for
// validation) into dir/name at `rate`.
static fm_nif_train_options tiny_training(const char *dir, const char *name, int64_t epochs, double rate)
{
    fm_nif_train_options o;
    fm_nif_train_defaults(&o);
    o.data = FM_SPD_DIFFUSION;
    o.size = 12;
    o.train_count = 16;
    o.valid_count = 2;
    o.epochs = epochs;
    o.rate = rate;
    o.checkpoint_every = 0;
    o.out = fm_test_path(dir, name);
    return o;
}

// A tiny NeuralIF trains: on small diffusion grids its mean loss over an
// epoch falls from the first epoch to the last, the best validation (CG
// iterations) is no worse than the untrained model's, and the best model
// is written.
Test(neuralif, a_tiny_model_trains_and_its_loss_falls)
{
    const char *dir = fm_test_tmpdir();
    fm_nif_train_options o = tiny_training(dir, "tiny.fmw", 6, 1e-2);
    double loss[8] = { 0 };
    o.progress = record_epochs;
    o.user = loss;
    fm_nif_train_result r;
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_nif_train(&r, &o, msg), FM_OK, "%s", msg);
    const double trained = r.best_validation;
    cr_assert_eq(r.epochs_done, 6);
    cr_assert_eq(r.steps, 6 * 16);
    cr_assert(loss[0] > 0 && loss[5] < 0.9 * loss[0], "epoch losses %g ... %g", loss[0], loss[5]);
    cr_assert_leq(r.best_validation, r.first_validation);
    cr_assert(fm_test_exists(o.out));
    // the spectrum-aware loss [ext] trains too, and its best model is no worse than the untrained one
    fm_nif_train_options q = o;
    q.loss = FM_LLU_LOSS_SPECTRUM;
    q.out = fm_test_path(dir, "tiny-spectrum.fmw");
    memset(loss, 0, sizeof loss);
    cr_assert_eq(fm_nif_train(&r, &q, msg), FM_OK, "%s", msg);
    cr_assert(loss[0] > 0 && loss[5] < 0.9 * loss[0], "spectrum: epoch losses %g ... %g", loss[0], loss[5]);
    cr_assert_leq(r.best_validation, r.first_validation);
    cr_assert(fm_test_exists(q.out));
    // fine-tuning with the preconditioned loss [ext]: --init starts from the model's values
    // (the first validation is the model's own), and the loss stays finite
    fm_nif_train_options f = o;
    f.loss = FM_LLU_LOSS_PRECONDITIONED;
    f.init_from = o.out;
    f.epochs = 3;
    f.out = fm_test_path(dir, "tiny-preconditioned.fmw");
    memset(loss, 0, sizeof loss);
    cr_assert_eq(fm_nif_train(&r, &f, msg), FM_OK, "%s", msg);
    cr_assert_eq(r.first_validation, trained);
    cr_assert(loss[0] > 0 && isfinite(loss[2]), "preconditioned: epoch losses %g ... %g", loss[0], loss[2]);
    cr_assert_leq(r.best_validation, r.first_validation);
    // --init and --resume together, and a model of another shape, are refused
    f.resume = true;
    cr_assert_eq(fm_nif_train(&r, &f, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "not both"), "%s", msg);
    f.resume = false;
    f.config.hidden = o.config.hidden + 1;
    f.out = fm_test_path(dir, "tiny-wider.fmw");
    cr_assert_eq(fm_nif_train(&r, &f, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "hidden width"), "%s", msg);
    fm_test_remove_dir(dir);
}

// A rate that wrecks the model (models/train/epochs.h): the steps whose loss
// or update is not finite are skipped and counted, not fatal; the validation
// scores a factor that is not finite as not converging; a model is written.
Test(neuralif, a_wrecking_rate_skips_steps_and_still_writes_a_model)
{
    const char *dir = fm_test_tmpdir();
    const fm_nif_train_options o = tiny_training(dir, "wrecked.fmw", 2, 1e30);
    fm_nif_train_result r;
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_nif_train(&r, &o, msg), FM_OK, "%s", msg);
    fm_test_expect_wreck_survived(&r, 2, 2 * 16, o.out);
    cr_expect(isfinite(r.best_validation), "best validation %g", r.best_validation);
    fm_test_remove_dir(dir);
}
