// The learned LU's trainer and checkpoints (P6, models/precond/
// learned_lu_train.h, learned_lu_file.h): a tiny model trains with either
// loss and its loss falls; a run stopped and resumed ends where an
// uninterrupted one does; checkpoints round-trip and refuse what they are
// not; inference gives factors GMRES accepts, with no diagonal nearer zero
// than ε.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "epochs_fixtures.h"
#include "general_data.h"
#include "helpers.h"
#include "krylov.h"
#include "learned_lu.h"
#include "learned_lu_file.h"
#include "learned_lu_train.h"
#include "rng.h"

TestSuite(learned_lu_train, .init = fm_test_setup);

static int record_epochs(const fm_llu_train_progress *p, void *user)
{
    double *loss = user;
    if (!isnan(p->validation) && p->epoch >= 1 && p->epoch <= 8) loss[p->epoch - 1] = p->running_loss;
    return 0;
}

static void tiny_options(fm_llu_train_options *o, const char *out, fm_llu_loss_kind loss)
{
    fm_llu_train_defaults(o);
    o->data = FM_GENERAL_CONVECTION;
    o->size = 10;
    o->train_count = 12;
    o->valid_count = 2;
    o->epochs = 5;
    o->rate = 1e-2;
    o->loss = loss;
    o->config = (fm_llu_config){ 2, 8 };
    o->checkpoint_every = 0;
    o->out = out;
}

// The scaled output (P6.3 [ext]): v = g(z) on the diagonal and â z off it;
// the loss's gradient with respect to z through both maps against central
// finite differences.
Test(learned_lu_train, the_scaled_output_map_matches_finite_differences)
{
    char msg[FM_MSG_LEN] = "";
    fm_system_matrix *m = NULL;
    cr_assert_eq(fm_general_generate(&m, NULL, FM_GENERAL_CONVECTION, 5, 3, NULL, NULL, msg), FM_OK, "%s", msg);
    fm_square *A = NULL;
    cr_assert_eq(fm_square_from_triplets(&A, m->n, m->count, m->row, m->col, m->val, false, msg), FM_OK, "%s", msg);
    fm_system_matrix_free(&m);
    fm_llu_input *input = NULL;
    cr_assert_eq(fm_llu_input_new(&input, A, msg), FM_OK, "%s", msg);
    const fm_square *S = input->scaled;
    const int64_t n = S->n, E = S->A->count;
    double *z = malloc((size_t)E * sizeof *z), *v = malloc((size_t)E * sizeof *v), *dv = calloc((size_t)E, sizeof *dv);
    double *dz = calloc((size_t)E, sizeof *dz), *p = malloc((size_t)n * sizeof *p), *t = malloc((size_t)n * sizeof *t);
    double *work = malloc(3 * (size_t)n * sizeof *work);
    const fm_rng rng = fm_rng_stream(5, FM_STREAM_TRAIN);
    for (int64_t k = 0; k < E; k++) z[k] = input->diagonal[k] ? 1 + 0.3 * fm_rng_normal(rng, (uint64_t)k)
                                                               : 0.5 * fm_rng_normal(rng, (uint64_t)k);
    for (int64_t i = 0; i < n; i++) p[i] = fm_rng_normal(rng, (uint64_t)(E + i));
    fm_spmv(S->A, p, t);
#define SCALED_LOSS(zz, grad)                                                                     \
    (fm_llu_factor_values(v, zz, input->diagonal, E, true),                                       \
     fm_llu_times_entries(v, input->edge_inputs, input->diagonal, E),                             \
     fm_llu_loss(S, v, p, t, grad, work))
    const double loss = SCALED_LOSS(z, dv);
    cr_assert(loss > 0);
    fm_llu_times_entries(dv, input->edge_inputs, input->diagonal, E);
    fm_llu_factor_values_backward(dz, dv, z, input->diagonal, E);
    for (int64_t k = 0; k < E; k++) {
        const double z0 = z[k], h = 1e-6 * (1 + fabs(z0));
        z[k] = z0 + h;
        const double up = SCALED_LOSS(z, NULL);
        z[k] = z0 - h;
        const double down = SCALED_LOSS(z, NULL);
        z[k] = z0;
        const double fd = (up - down) / (2 * h);
        cr_assert(fabs(fd - dz[k]) <= 1e-6 * (1 + fabs(fd)), "entry %lld: backward %g, finite differences %g",
                  (long long)k, dz[k], fd);
    }
#undef SCALED_LOSS
    free(z); free(v); free(dv); free(dz); free(p); free(t); free(work);
    fm_llu_input_free(&input);
    fm_square_free(&A);
}

// With either loss: the mean loss of the last epoch is below 0.9 times the
// first's, the best validation (GMRES iterations) is no worse than the
// untrained model's, and the best model is written and loads.
Test(learned_lu_train, a_tiny_model_trains_with_either_loss)
{
    for (int k = 0; k < 2; k++) {
        const char *dir = fm_test_tmpdir();
        fm_llu_train_options o;
        tiny_options(&o, fm_test_path(dir, "tiny.fmw"), (fm_llu_loss_kind)k);
        double loss[8] = { 0 };
        o.progress = record_epochs;
        o.user = loss;
        fm_llu_train_result r;
        char msg[FM_MSG_LEN] = "";
        cr_assert_eq(fm_llu_train(&r, &o, msg), FM_OK, "%s", msg);
        cr_assert_eq(r.epochs_done, 5);
        cr_assert_eq(r.steps, 5 * 12);
        cr_assert(loss[0] > 0 && loss[4] < 0.9 * loss[0], "%s: epoch losses %g ... %g",
                  fm_llu_loss_name(o.loss), loss[0], loss[4]);
        cr_assert_leq(r.best_validation, r.first_validation);
        fm_learned_lu *model = NULL;
        cr_assert_eq(fm_learned_lu_load(&model, o.out, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_learned_lu_loss(model), o.loss);
        fm_learned_lu_free(&model);
        fm_test_remove_dir(dir);
    }
}

// Stopped by the time limit inside an epoch and resumed: the same model,
// bit for bit, as the run that was never stopped (the order, the probes and
// the spectrum-aware solves depend only on the seed and the step).
Test(learned_lu_train, a_resumed_run_ends_where_an_uninterrupted_one_does)
{
    const char *dir = fm_test_tmpdir();
    char msg[FM_MSG_LEN] = "";
    fm_llu_train_options whole, part;
    tiny_options(&whole, fm_test_path(dir, "whole.fmw"), FM_LLU_LOSS_SPECTRUM);
    tiny_options(&part, fm_test_path(dir, "part.fmw"), FM_LLU_LOSS_SPECTRUM);
    whole.epochs = part.epochs = 2;
    fm_llu_train_result r;
    cr_assert_eq(fm_llu_train(&r, &whole, msg), FM_OK, "%s", msg);
    part.time_limit = 1e-9;   // stops after the first step
    cr_assert_eq(fm_llu_train(&r, &part, msg), FM_OK, "%s", msg);
    cr_assert(r.stopped && r.steps == 1, "steps %lld", (long long)r.steps);
    part.time_limit = 0;
    part.resume = true;
    cr_assert_eq(fm_llu_train(&r, &part, msg), FM_OK, "%s", msg);
    cr_assert_eq(r.steps, 2 * 12);
    char state_whole[600], state_part[600];
    snprintf(state_whole, sizeof state_whole, "%s.state", whole.out);
    snprintf(state_part, sizeof state_part, "%s.state", part.out);
    fm_params *a = NULL, *b = NULL;
    fm_llu_train_state sa, sb;
    cr_assert_eq(fm_llu_state_read(state_whole, &whole.config, whole.loss, whole.output, whole.seed, &a, &sa, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_llu_state_read(state_part, &part.config, part.loss, part.output, part.seed, &b, &sb, msg), FM_OK, "%s", msg);
    cr_assert_eq(sa.step, sb.step);
    cr_assert_eq(a->count, b->count);
    cr_assert(memcmp(a->values, b->values, a->count * sizeof *a->values) == 0, "the resumed run's values differ");
    // another loss or seed is not this run
    fm_params *c = NULL;
    cr_assert_eq(fm_llu_state_read(state_part, &part.config, FM_LLU_LOSS_SKETCHED, part.output, part.seed, &c, &sb, msg),
                 FM_ERR_INVALID);
    cr_assert(strstr(msg, "spectrum") && strstr(msg, "sketched"), "%s", msg);
    cr_assert_null(c);
    // NeuralIF's preconditioned loss is not a learned LU's
    part.resume = false;
    part.loss = FM_LLU_LOSS_PRECONDITIONED;
    cr_assert_eq(fm_llu_train(&r, &part, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "NeuralIF"), "%s", msg);
    fm_params_free(&a);
    fm_params_free(&b);
    fm_test_remove_dir(dir);
}

// A model round-trips bit for bit; a NeuralIF file is refused naming both
// kinds; a model is not a training state.
Test(learned_lu_train, checkpoints_round_trip_and_refuse_other_kinds)
{
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "m.fmw");
    const fm_llu_config config = { 2, 6 };
    fm_params *params = NULL, *back = NULL;
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_llu_params_new(&params, &config, msg), FM_OK, "%s", msg);
    for (int64_t i = 0; i < params->count; i++) params->values[i] = (float)sin(0.7 * (double)i);
    cr_assert_eq(fm_llu_model_write(path, &config, FM_LLU_LOSS_SPECTRUM, FM_LLU_OUTPUT_SCALED, params, msg), FM_OK,
                 "%s", msg);
    fm_llu_config got = { 0, 0 };
    fm_llu_loss_kind loss = FM_LLU_LOSS_SKETCHED;
    fm_llu_output output = FM_LLU_OUTPUT_DIRECT;
    cr_assert_eq(fm_llu_model_read(path, &got, &loss, &output, &back, msg), FM_OK, "%s", msg);
    cr_assert(got.layers == 2 && got.width == 6 && loss == FM_LLU_LOSS_SPECTRUM && output == FM_LLU_OUTPUT_SCALED);
    cr_assert(memcmp(back->values, params->values, params->count * sizeof *params->values) == 0);
    fm_params_free(&back);
    fm_llu_train_state state;
    cr_assert_eq(fm_llu_state_read(path, &config, loss, output, 42, &back, &state, msg), FM_ERR_PARSE);
    cr_assert(strstr(msg, "training state"), "%s", msg);
    char other[700];
    snprintf(other, sizeof other, "%s/models/shipped/neuralif.fmw", FM_SOURCE_DIR);
    cr_assert_eq(fm_llu_model_read(other, &got, &loss, &output, &back, msg), FM_ERR_PARSE);
    cr_assert(strstr(msg, "neuralif") && strstr(msg, "learned-lu"), "%s", msg);
    cr_assert_null(back);
    fm_params_free(&params);
    fm_test_remove_dir(dir);
}

// Inference with random weights (and with the untrained z = 0) on a
// convection matrix: L's diagonal is nowhere nearer zero than ε times its
// row's scale, U's diagonal is the scale, and GMRES with the factors solves
// the system.
Test(learned_lu_train, inference_keeps_the_diagonal_away_from_zero)
{
    char msg[FM_MSG_LEN] = "";
    fm_system_matrix *m = NULL;
    fm_general_options go;
    fm_general_defaults(&go);
    cr_assert_eq(fm_general_generate(&m, NULL, FM_GENERAL_CONVECTION, 12, 7, &go, NULL, msg), FM_OK, "%s", msg);
    fm_square *A = NULL;
    cr_assert_eq(fm_square_from_triplets(&A, m->n, m->count, m->row, m->col, m->val, false, msg), FM_OK, "%s", msg);
    fm_system_matrix_free(&m);
    const fm_llu_config config = { 3, 8 };
    for (int trial = 0; trial < 4; trial++) {
        fm_params *params = NULL;
        cr_assert_eq(fm_llu_params_new(&params, &config, msg), FM_OK, "%s", msg);
        fm_params_init(params, 100 + (uint64_t)trial);
        // the zero-initialized vectors too, so the output is not z = 0; trial 0 keeps z = 0
        const fm_rng rng = fm_rng_stream(trial, FM_STREAM_TRAIN);
        if (trial > 0)
            for (int64_t i = 0; i < params->count; i++)
                if (params->values[i] == 0) params->values[i] = (float)(0.3 * fm_rng_normal(rng, (uint64_t)i));
        fm_csr *L = NULL, *U = NULL;
        fm_learned_lu_info info = { 0 };
        const int output = trial % 2 ? FM_LLU_OUTPUT_SCALED : FM_LLU_OUTPUT_DIRECT;
        cr_assert_eq(fm_llu_factor_with(&L, &U, &config, params, output, A, &info, msg), FM_OK, "%s", msg);
        for (int64_t i = 0; i < A->n; i++) {
            const double d = L->value[L->start[i + 1] - 1], s = A->scale[i];
            cr_assert_eq(L->index[L->start[i + 1] - 1], i);
            cr_assert_geq(fabs(d), 0.999 * 1e-3 * s, "trial %d: l_%lld,%lld = %g", trial, (long long)i,
                          (long long)i, d);
            cr_assert_eq(U->index[U->start[i]], i);
            cr_assert_float_eq(U->value[U->start[i]], s, 1e-12 * s);
        }
        if (trial == 0) cr_assert_eq(info.clamped, A->n, "z = 0 clamps every diagonal");
        fm_precond *M = NULL;
        cr_assert_eq(fm_precond_from_lu(&M, &L, &U, msg), FM_OK, "%s", msg);
        double *b = malloc((size_t)A->n * sizeof *b), *x = malloc((size_t)A->n * sizeof *x);
        for (int64_t i = 0; i < A->n; i++) b[i] = 1;
        fm_krylov_options k;
        fm_krylov_defaults(&k, A->n);
        k.tol = 1e-8;
        fm_krylov_result r;
        cr_assert_eq(fm_gmres(&r, A->A, b, x, M, &k, msg), FM_OK, "%s", msg);
        cr_assert(r.converged && r.relative_residual <= 1e-8, "trial %d: %g", trial, r.relative_residual);
        free(b);
        free(x);
        fm_precond_free(&M);
        fm_params_free(&params);
    }
    fm_square_free(&A);
}

// A rate that wrecks the model (models/train/epochs.h): the steps whose loss
// or update is not finite are skipped and counted, not fatal; the validation
// scores a factor that is not finite as not converging; a model is written.
// At 1e30 the first step takes the weights to about 1e30, and the network's
// output overflows from then on.
Test(learned_lu_train, a_wrecking_rate_skips_steps_and_still_writes_a_model)
{
    const char *dir = fm_test_tmpdir();
    fm_llu_train_options o;
    tiny_options(&o, fm_test_path(dir, "wrecked.fmw"), FM_LLU_LOSS_SKETCHED);
    o.epochs = 2;
    o.rate = 1e30;
    fm_llu_train_result r;
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_llu_train(&r, &o, msg), FM_OK, "%s", msg);
    fm_test_expect_wreck_survived(&r, 2, 2 * 12, o.out);
    cr_expect(r.best_validation <= o.valid_max_iters, "best validation %g", r.best_validation);
    fm_test_remove_dir(dir);
}
