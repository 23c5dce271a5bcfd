// Training the learned LU (P6, P7): models/precond/learned_lu_train.h says
// what a run does; this file is its data, its step, its validation and its
// files, run by the epoch loop of models/train/epochs.c.
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epochs.h"
#include "krylov.h"
#include "learned_lu_file.h"
#include "learned_lu_train.h"
#include "optim.h"
#include "rng.h"
#include "run_state.h"
#include "status.h"


void fm_llu_train_defaults(fm_llu_train_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->data = FM_GENERAL_CONVECTION;
    opt->size = 64;
    opt->train_count = 200;
    opt->valid_count = 10;
    opt->epochs = 1;
    opt->loss = FM_LLU_LOSS_SKETCHED;
    opt->output = FM_LLU_OUTPUT_SCALED;
    opt->rate = 1e-3;
    opt->weight_decay = 0.01;
    opt->max_grad_norm = 1;
    opt->valid_tol = 1e-6;
    opt->valid_restart = 50;
    opt->valid_max_iters = 1000;
    opt->seed = 42;
    opt->checkpoint_every = 100;
    opt->config = (fm_llu_config){ FM_LLU_LAYERS, FM_LLU_WIDTH };
}

// The graph of matrix `index` of a set of the run's kind (P7; spd_data's seeds).
static int generate(fm_square **out, const fm_llu_train_options *opt, fm_spd_set set, int64_t index, char *msg)
{
    fm_system_matrix *m = NULL;
#define FREE_ALL fm_system_matrix_free(&m)
    uint64_t seed;
    FM_TRY(fm_spd_seed(&seed, set, index, msg));
    // grids: sides from size/2 to size, by seed, so the model sees several scales
    const int64_t size = opt->data == FM_GENERAL_CONVECTION
                             ? opt->size / 2 + (int64_t)(fm_mix64(seed) % (uint64_t)(opt->size - opt->size / 2 + 1))
                             : opt->size;
    fm_general_options o;
    fm_general_random_defaults(&o, size);   // the random class: ten entries a row of M (convection: the defaults)
    FM_TRY(fm_general_generate(&m, NULL, opt->data, size, seed, &o, NULL, msg));
    FM_TRY(fm_square_from_triplets(out, m->n, m->count, m->row, m->col, m->val, m->symmetric, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_llu_validate(double *score, const fm_llu_config *config, fm_params *params, fm_llu_output output,
                    fm_square *const *systems, int64_t count, double tol, int64_t restart, int64_t max_iters,
                    char *msg)
{
    fm_csr *L = NULL, *U = NULL;
    fm_precond *M = NULL;
    double *b = NULL, *x = NULL;
#define FREE_ALL do { fm_csr_free(&L); fm_csr_free(&U); fm_precond_free(&M); free(b); free(x); } while (0)
    double total = 0;
    for (int64_t v = 0; v < count; v++) {
        const int64_t n = systems[v]->n;
        FM_ALLOC(b, n);
        FM_ALLOC(x, n);
        for (int64_t i = 0; i < n; i++) b[i] = 1;
        fm_krylov_options krylov;
        fm_krylov_defaults(&krylov, n);
        krylov.tol = tol;
        krylov.restart = restart;
        krylov.max_iters = max_iters;
        fm_krylov_result r = {0};
        // a factor that is not finite (a wrecked model), or so poor that the
        // solve overflows, scores as not converging
        char why[FM_MSG_LEN];
        int solved = fm_llu_factor_with(&L, &U, config, params, output, systems[v], NULL, why);
        if (solved == FM_OK) solved = fm_precond_from_lu(&M, &L, &U, why);
        if (solved == FM_OK) solved = fm_gmres(&r, systems[v]->A, b, x, M, &krylov, why);
        if (solved != FM_OK && solved != FM_ERR_NUMERIC) {
            snprintf(msg, FM_MSG_LEN, "%s", why);
            FREE_ALL;
            return solved;
        }
        total += solved == FM_OK && r.converged ? (double)r.iterations : (double)max_iters;
        fm_csr_free(&L);
        fm_csr_free(&U);
        fm_precond_free(&M);
        free(b); b = NULL;
        free(x); x = NULL;
    }
    *score = total / (double)count;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// What a step needs beyond the matrix, kept from step to step (first touching
// fresh memory costs more than a step's arithmetic); grown by a quarter more
// than asked when a matrix needs more.
typedef struct step_workspace {
    int64_t nodes, edges;          // capacity
    fm_llu_net *net;
    float *z, *dzf;
    double *zd, *v, *dv, *dz, *probe, *target, *work;
} step_workspace;

static void workspace_free(step_workspace *w)
{
    fm_llu_net_free(&w->net);
    free(w->z); free(w->dzf); free(w->zd); free(w->v); free(w->dv); free(w->dz);
    free(w->probe); free(w->target); free(w->work);
    memset(w, 0, sizeof *w);
}

static int workspace_fit(step_workspace *w, const fm_llu_config *config, int64_t n, int64_t E, char *msg)
{
#define FREE_ALL workspace_free(w)
    if (n <= w->nodes && E <= w->edges) {
        w->net->nodes = n;
        w->net->edges = E;
        return FM_OK;
    }
    workspace_free(w);
    w->nodes = n + n / 4;
    w->edges = E + E / 4;
    FM_TRY(fm_llu_net_new(&w->net, config, w->nodes, w->edges, msg));
    FM_ALLOC(w->z, w->edges);
    FM_ALLOC(w->dzf, w->edges);
    FM_ALLOC(w->zd, w->edges);
    FM_ALLOC(w->v, w->edges);
    FM_ALLOC(w->dv, w->edges);
    FM_ALLOC(w->dz, w->edges);
    FM_ALLOC(w->probe, w->nodes);
    FM_ALLOC(w->target, w->nodes);
    FM_ALLOC(w->work, 3 * w->nodes);
    w->net->nodes = n;
    w->net->edges = E;
    return FM_OK;
#undef FREE_ALL
}

// x = Â⁻¹ b for the spectrum-aware loss of training matrix `index` (P6):
// b ~ N(0, I) from the run's seed, solved by UMFPACK once.
static int spectrum_probe(double **x_out, const fm_llu_train_options *opt, int64_t index, const fm_square *scaled,
                          char *msg)
{
    fm_precond *direct = NULL;
    double *b = NULL, *x = NULL;
#define FREE_ALL do { fm_precond_free(&direct); free(b); free(x); } while (0)
    const int64_t n = scaled->n;
    FM_ALLOC(b, n);
    FM_ALLOC(x, n);
    fm_epochs_matrix_rhs(b, n, opt->seed, index);
    FM_TRY(fm_precond_direct_lu(&direct, scaled, msg));
    fm_precond_apply(direct, b, x);
    for (int64_t i = 0; i < n; i++)
        FM_CHECK(isfinite(x[i]), FM_ERR_NUMERIC, "learned LU training: the solve of training matrix %lld is not "
                 "finite", (long long)index);
    *x_out = x;
    x = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// One step on one matrix: forward, the loss with the step's probe, backward
// into zeroed gradients, AdamW. `solution` is the spectrum-aware loss's x of
// this matrix (NULL for the sketched loss).
static int train_step(double *loss, const fm_llu_train_options *opt, fm_params *params, uint64_t step,
                      const fm_llu_input *input, const double *solution, step_workspace *w, char *msg)
{
#define FREE_ALL
    const fm_square *scaled = input->scaled;
    const int64_t n = scaled->n, E = scaled->A->count;
    FM_TRY(workspace_fit(w, &opt->config, n, E, msg));
    fm_llu_net *net = w->net;
    for (int64_t c = 0; c < n * FM_LLU_FEATURES; c++) net->x0[c] = (float)input->features[c];
    for (int64_t c = 0; c < E * FM_LLU_EDGE_INPUTS; c++) net->e0[c] = (float)input->edge_inputs[c];
    fm_llu_forward(net, w->z, params, params->values, input->edges);
    for (int64_t k = 0; k < E; k++) w->zd[k] = w->z[k];
    fm_llu_factor_values(w->v, w->zd, input->diagonal, E, true);
    if (opt->output == FM_LLU_OUTPUT_SCALED) fm_llu_times_entries(w->v, input->edge_inputs, input->diagonal, E);
    const double *p = solution, *t = w->target;
    if (solution) {   // spectrum-aware: ‖L̂Û x − b‖ with b = Â x
        fm_spmv(scaled->A, solution, w->target);
    } else {          // sketched: ‖L̂Û z − Â z‖
        fm_epochs_step_probe(w->probe, n, opt->seed, step);
        fm_spmv(scaled->A, w->probe, w->target);
        p = w->probe;
    }
    memset(w->dv, 0, (size_t)E * sizeof *w->dv);
    memset(w->dz, 0, (size_t)E * sizeof *w->dz);
    *loss = fm_llu_loss(scaled, w->v, p, t, w->dv, w->work);
    if (!isfinite(*loss)) {   // a rate that wrecked the model: the step is skipped (models/train/epochs.h)
        *loss = NAN;
        return FM_OK;
    }
    if (opt->output == FM_LLU_OUTPUT_SCALED) fm_llu_times_entries(w->dv, input->edge_inputs, input->diagonal, E);
    fm_llu_factor_values_backward(w->dz, w->dv, w->zd, input->diagonal, E);
    for (int64_t k = 0; k < E; k++) w->dzf[k] = (float)w->dz[k];
    fm_params_zero_grads(params);
    FM_TRY(fm_llu_backward(net, params->grads, w->dzf, params, params->values, input->edges, msg));
    fm_adamw adamw;
    fm_adamw_default(&adamw);
    adamw.weight_decay = opt->weight_decay;
    adamw.max_grad_norm = opt->max_grad_norm;
    bool taken;   // a gradient or an update not finite: skipped, nothing changed
    FM_TRY(fm_adamw_try_step(params, &adamw, (int64_t)step, opt->rate, &taken, msg));
    if (!taken) *loss = NAN;
    return FM_OK;
#undef FREE_ALL
}

// What the epoch loop's callbacks share (models/train/epochs.h).
typedef struct trainer {
    const fm_llu_train_options *opt;
    fm_params *params;
    fm_square *const *valid;
    double **solutions;           // the spectrum-aware loss's x per training matrix (NULL: sketched)
    const char *state_path;
    step_workspace workspace;
} trainer;

static int step(double *loss, void *self, int64_t index, uint64_t t, char *msg)
{
    trainer *tr = self;
    fm_square *A = NULL;
    fm_llu_input *input = NULL;
#define FREE_ALL do { fm_llu_input_free(&input); fm_square_free(&A); } while (0)
    FM_TRY(generate(&A, tr->opt, FM_SPD_TRAIN, index, msg));
    FM_TRY(fm_llu_input_new(&input, A, msg));
    if (tr->solutions && !tr->solutions[index])
        FM_TRY(spectrum_probe(&tr->solutions[index], tr->opt, index, input->scaled, msg));
    FM_TRY(train_step(loss, tr->opt, tr->params, t, input, tr->solutions ? tr->solutions[index] : NULL,
                      &tr->workspace, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

static int validate(double *score, void *self, char *msg)
{
    trainer *tr = self;
    const fm_llu_train_options *opt = tr->opt;
    return fm_llu_validate(score, &opt->config, tr->params, opt->output, tr->valid, opt->valid_count,
                           opt->valid_tol, opt->valid_restart, opt->valid_max_iters, msg);
}

static int write_state(void *self, const fm_epochs_state *state, char *msg)
{
    trainer *tr = self;
    const fm_llu_train_options *opt = tr->opt;
    return fm_llu_state_write(tr->state_path, &opt->config, opt->loss, opt->output, opt->seed, tr->params, state,
                              msg);
}

static int write_model(void *self, char *msg)
{
    trainer *tr = self;
    const fm_llu_train_options *opt = tr->opt;
    return fm_llu_model_write(opt->out, &opt->config, opt->loss, opt->output, tr->params, msg);
}

int fm_llu_train(fm_llu_train_result *result, const fm_llu_train_options *opt, char *msg)
{
    fm_params *params = NULL;
    fm_square **valid = NULL;
    double **solutions = NULL;
    char *state_path = NULL;
    int64_t valid_made = 0;
    trainer tr = { .opt = opt };
#define FREE_ALL do { fm_params_free(&params); free(state_path); workspace_free(&tr.workspace);              \
                      for (int64_t v = 0; v < valid_made; v++) { fm_square_free(&valid[v]); } free(valid);    \
                      if (solutions) for (int64_t s = 0; s < opt->train_count; s++) { free(solutions[s]); } \
                      free(solutions); } while (0)
    FM_CHECK(opt->train_count >= 1 && opt->valid_count >= 1 && opt->epochs >= 0 && opt->size >= 2 &&
                 opt->rate > 0 && opt->valid_restart >= 1 && opt->valid_max_iters >= 1 && opt->out && *opt->out,
             FM_ERR_INVALID, "learned LU training: needs train and validation sets of at least one matrix, "
             "a size of at least 2, a positive rate, a restart and an iteration limit of at least 1 and an "
             "output path");
    FM_CHECK(opt->loss != FM_LLU_LOSS_PRECONDITIONED, FM_ERR_INVALID,
             "learned LU training: --loss preconditioned is NeuralIF's (a learned LU takes sketched or spectrum)");
    FM_TRY(fm_run_state_path(&state_path, opt->out, msg));
    const double start = omp_get_wtime();
    fm_llu_train_state state = { 0 };
    state.best_validation = INFINITY;
    if (opt->resume) {
        FM_TRY(fm_llu_state_read(state_path, &opt->config, opt->loss, opt->output, opt->seed, &params, &state, msg));
    } else {
        FM_TRY(fm_run_state_absent(state_path, msg));
        FM_TRY(fm_llu_params_new(&params, &opt->config, msg));
        fm_params_init(params, opt->seed);
    }
    if (opt->loss == FM_LLU_LOSS_SPECTRUM) FM_ALLOC(solutions, opt->train_count);
    FM_ALLOC(valid, opt->valid_count);
    for (; valid_made < opt->valid_count; valid_made++)
        FM_TRY(generate(&valid[valid_made], opt, FM_SPD_VALIDATION, valid_made, msg));
    tr.params = params;
    tr.valid = valid;
    tr.solutions = solutions;
    tr.state_path = state_path;
    const fm_epochs loop = { .train_count = opt->train_count, .epochs = opt->epochs, .seed = opt->seed,
                             .checkpoint_every = opt->checkpoint_every, .time_limit = opt->time_limit,
                             .start = start, .self = &tr, .step = step, .validate = validate,
                             .write_state = write_state, .write_model = write_model,
                             .progress = opt->progress, .user = opt->user };
    FM_TRY(fm_epochs_run(result, &loop, &state, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
