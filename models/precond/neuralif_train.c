// Training NeuralIF (P5, P7): models/precond/neuralif_train.h says what a run
// does; this file is its data, its step, its validation and its files, run
// by the epoch loop of models/train/epochs.c.
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epochs.h"
#include "krylov.h"
#include "neuralif.h"
#include "neuralif_file.h"
#include "neuralif_train.h"
#include "optim.h"
#include "rng.h"
#include "run_state.h"
#include "status.h"

void fm_nif_train_defaults(fm_nif_train_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->data = FM_SPD_RANDOM;
    opt->size = 10000;
    opt->train_count = 1000;
    opt->valid_count = 10;
    opt->epochs = 1;
    opt->rate = 1e-3;
    opt->weight_decay = 0.01;
    opt->max_grad_norm = 1;
    opt->valid_tol = 1e-6;
    opt->seed = 42;
    opt->checkpoint_every = 100;
    opt->config = (fm_nif_config){ FM_NIF_BLOCKS, FM_NIF_HIDDEN };
}

// The graph of matrix `index` of a set of the run's kind (P7; spd_data's seeds).
static int generate(fm_square **out, const fm_nif_train_options *opt, fm_spd_set set, int64_t index,
                    char *msg)
{
    fm_system_matrix *m = NULL;
#define FREE_ALL fm_system_matrix_free(&m)
    uint64_t seed;
    FM_TRY(fm_spd_seed(&seed, set, index, msg));
    // diffusion: grid sides from size/2 to size, by seed, so the model sees several scales
    const int64_t size = opt->data == FM_SPD_DIFFUSION
                             ? opt->size / 2 + (int64_t)(fm_mix64(seed) % (uint64_t)(opt->size - opt->size / 2 + 1))
                             : opt->size;
    FM_TRY(fm_spd_generate(&m, NULL, opt->data, size, seed, NULL, msg));
    FM_TRY(fm_square_from_triplets(out, m->n, m->count, m->row, m->col, m->val, m->symmetric, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// The mean PCG iterations to valid_tol over the validation matrices with the
// network's factor (a run that does not converge counts its max_iters, and
// so does a factor or a solve that is not finite: a wrecked model).
static int validate(double *score, const fm_nif_train_options *opt, fm_params *params,
                    fm_square *const *valid, char *msg)
{
    fm_csr *L = NULL;
    fm_precond *M = NULL;
    double *b = NULL, *x = NULL;
#define FREE_ALL do { fm_csr_free(&L); fm_precond_free(&M); free(b); free(x); } while (0)
    // the network's own factor, whatever the inference defaults (a fixed yardstick
    // across epochs, and the one the shipped models were selected by)
    const fm_neuralif_options inference = { .drop_tolerance = 0, .normalize_diag = false };
    double total = 0;
    for (int64_t v = 0; v < opt->valid_count; v++) {
        const int64_t n = valid[v]->n;
        FM_ALLOC(b, n);
        FM_ALLOC(x, n);
        for (int64_t i = 0; i < n; i++) b[i] = 1;
        fm_krylov_options krylov;
        fm_krylov_defaults(&krylov, n);
        krylov.tol = opt->valid_tol;
        fm_krylov_result r = {0};
        char why[FM_MSG_LEN];
        int solved = fm_nif_factor_with(&L, &opt->config, params, valid[v], &inference, NULL, why);
        if (solved == FM_OK) solved = fm_precond_from_lower(&M, &L, why);
        if (solved == FM_OK) solved = fm_pcg(&r, valid[v]->A, b, x, M, &krylov, why);
        if (solved != FM_OK && solved != FM_ERR_NUMERIC) {
            snprintf(msg, FM_MSG_LEN, "%s", why);
            FREE_ALL;
            return solved;
        }
        total += solved == FM_OK && r.converged ? (double)r.iterations : (double)krylov.max_iters;
        fm_csr_free(&L);
        fm_precond_free(&M);
        free(b); b = NULL;
        free(x); x = NULL;
    }
    *score = total / (double)opt->valid_count;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// What a step needs beyond the matrix, kept from step to step: on this kind
// of machine first touching a fresh 300 MB arena costs more than the step's
// arithmetic. Grown (by a quarter more than asked) when a matrix needs more.
typedef struct step_workspace {
    int64_t nodes, edges;          // capacity
    fm_nif_net *net;
    float *z, *dzf;
    double *zd, *l, *dl, *dz, *probe, *target, *work;
} step_workspace;

static void workspace_free(step_workspace *w)
{
    fm_nif_net_free(&w->net);
    free(w->z); free(w->dzf); free(w->zd); free(w->l); free(w->dl); free(w->dz); free(w->probe); free(w->target); free(w->work);
    memset(w, 0, sizeof *w);
}

static int workspace_fit(step_workspace *w, const fm_nif_config *config, int64_t n, int64_t E, char *msg)
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
    FM_TRY(fm_nif_net_new(&w->net, config, w->nodes, w->edges, msg));
    FM_ALLOC(w->z, w->edges);
    FM_ALLOC(w->dzf, w->edges);
    FM_ALLOC(w->zd, w->edges);
    FM_ALLOC(w->l, w->edges);
    FM_ALLOC(w->dl, w->edges);
    FM_ALLOC(w->dz, w->edges);
    FM_ALLOC(w->probe, w->nodes);
    FM_ALLOC(w->target, w->nodes);
    FM_ALLOC(w->work, 7 * w->nodes + w->edges);   // the preconditioned loss's (the others take 4 n)
    w->net->nodes = n;
    w->net->edges = E;
    return FM_OK;
#undef FREE_ALL
}

// The spectrum-aware loss's probe of training matrix `index` [ext]: x ≈ Â⁻¹ b
// for b ~ N(0, I) from the run's seed (keyed past every step's probe), by
// PCG with IC(0) to 1e-10, solved once and kept; the loss's target is then
// Â x, so the loss is exactly ‖(L̂L̂ᵀ − Â) x‖ whatever PCG's last digits.

static int spectrum_probe(double **x_out, const fm_nif_train_options *opt, int64_t index, const fm_square *scaled,
                          char *msg)
{
    fm_precond *M = NULL;
    double *b = NULL, *x = NULL;
#define FREE_ALL do { fm_precond_free(&M); free(b); free(x); } while (0)
    const int64_t n = scaled->n;
    FM_ALLOC(b, n);
    FM_ALLOC(x, n);
    fm_epochs_matrix_rhs(b, n, opt->seed, index);
    FM_TRY(fm_precond_ic0(&M, scaled, msg));
    fm_krylov_options k;
    fm_krylov_defaults(&k, n);
    k.tol = 1e-10;
    fm_krylov_result r;
    FM_TRY(fm_pcg(&r, scaled->A, b, x, M, &k, msg));
    *x_out = x;
    x = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// One step on one matrix: forward, the loss with the step's probe (or the
// matrix's x), backward into zeroed gradients, AdamW.
static int train_step(double *loss, const fm_nif_train_options *opt, fm_params *params, uint64_t step,
                      const fm_square *A, int64_t index, double **solutions, step_workspace *w, char *msg)
{
    fm_nif_input *input = NULL;
#define FREE_ALL fm_nif_input_free(&input)
    FM_TRY(fm_nif_input_new(&input, A, msg));
    double **solution = solutions ? &solutions[index] : NULL;
    if (solution && !*solution) FM_TRY(spectrum_probe(solution, opt, index, input->scaled, msg));
    const int64_t n = A->n, E = input->scaled->lower->count;
    FM_TRY(workspace_fit(w, &opt->config, n, E, msg));
    fm_nif_net *net = w->net;
    for (int64_t c = 0; c < n * FM_NIF_FEATURES; c++) net->x0[c] = (float)input->features[c];
    for (int64_t k = 0; k < E; k++) net->e0[k] = (float)input->scaled->lower->value[k];
    fm_nif_forward(net, w->z, params, params->values, input->by_rows, input->by_columns);
    for (int64_t k = 0; k < E; k++) w->zd[k] = w->z[k];
    fm_nif_factor_values(w->l, w->zd, input->diagonal, E);
    memset(w->dl, 0, (size_t)E * sizeof *w->dl);
    memset(w->dz, 0, (size_t)E * sizeof *w->dz);
    if (solution) {   // spectrum-aware: p = x ≈ Â⁻¹ b, t = Â x
        fm_spmv(input->scaled->A, *solution, w->target);
        *loss = fm_nif_probe_loss(input->scaled, w->l, *solution, w->target, w->dl, w->work);
    } else {          // sketched or preconditioned: the step's probe, drawn only here
        fm_epochs_step_probe(w->probe, n, opt->seed, step);
        *loss = opt->loss == FM_LLU_LOSS_PRECONDITIONED
                    ? fm_nif_preconditioned_loss(input->scaled, w->l, w->probe, w->dl, w->work)
                    : fm_nif_sketch_loss(input->scaled, w->l, w->probe, w->dl, w->work);
    }
    if (opt->sparsity > 0) *loss += fm_nif_sparsity_penalty(w->l, input->diagonal, E, opt->sparsity, w->dl);
    if (!isfinite(*loss)) {   // a rate that wrecked the model: the step is skipped (models/train/epochs.h)
        *loss = NAN;
        FREE_ALL;
        return FM_OK;
    }
    fm_nif_factor_values_backward(w->dz, w->dl, w->l, input->diagonal, E);
    for (int64_t k = 0; k < E; k++) w->dzf[k] = (float)w->dz[k];
    fm_params_zero_grads(params);
    FM_TRY(fm_nif_backward(net, params->grads, w->dzf, params, params->values, input->by_rows,
                           input->by_columns, msg));
    fm_adamw adamw;
    fm_adamw_default(&adamw);
    adamw.weight_decay = opt->weight_decay;
    adamw.max_grad_norm = opt->max_grad_norm;
    bool taken;   // a gradient or an update not finite: skipped, nothing changed
    FM_TRY(fm_adamw_try_step(params, &adamw, (int64_t)step, opt->rate, &taken, msg));
    if (!taken) *loss = NAN;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// What the epoch loop's callbacks share (models/train/epochs.h).
typedef struct trainer {
    const fm_nif_train_options *opt;
    fm_params *params;
    fm_square *const *valid;
    const char *state_path;
    step_workspace workspace;
    double **solutions;        // the spectrum-aware loss's x by training matrix (NULL: sketched)
} trainer;

static int step(double *loss, void *self, int64_t index, uint64_t t, char *msg)
{
    trainer *tr = self;
    fm_square *A = NULL;
#define FREE_ALL fm_square_free(&A)
    FM_TRY(generate(&A, tr->opt, FM_SPD_TRAIN, index, msg));
    FM_TRY(train_step(loss, tr->opt, tr->params, t, A, index, tr->solutions, &tr->workspace, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

static int validate_now(double *score, void *self, char *msg)
{
    trainer *tr = self;
    return validate(score, tr->opt, tr->params, tr->valid, msg);
}

static int write_state(void *self, const fm_epochs_state *state, char *msg)
{
    trainer *tr = self;
    return fm_nif_state_write(tr->state_path, &tr->opt->config, tr->opt->seed, tr->params, state, msg);
}

static int write_model(void *self, char *msg)
{
    trainer *tr = self;
    return fm_nif_model_write(tr->opt->out, &tr->opt->config, tr->params, msg);
}

int fm_nif_train(fm_nif_train_result *result, const fm_nif_train_options *opt, char *msg)
{
    fm_params *params = NULL;
    fm_square **valid = NULL;
    char *state_path = NULL;
    int64_t valid_made = 0;
    trainer tr = { .opt = opt };
#define FREE_ALL do { fm_params_free(&params); free(state_path); workspace_free(&tr.workspace); \
                      for (int64_t v = 0; v < valid_made; v++) { fm_square_free(&valid[v]); } free(valid); \
                      if (tr.solutions) for (int64_t s = 0; s < opt->train_count; s++) { free(tr.solutions[s]); } \
                      free(tr.solutions); } while (0)
    FM_CHECK(opt->train_count >= 1 && opt->valid_count >= 1 && opt->epochs >= 0 && opt->size >= 2 &&
                 opt->rate > 0 && opt->out && *opt->out,
             FM_ERR_INVALID, "NeuralIF training: needs train and validation sets of at least one matrix, "
             "a size of at least 2, a positive rate and an output path");
    FM_CHECK(opt->sparsity >= 0 && isfinite(opt->sparsity), FM_ERR_INVALID,
             "NeuralIF training: the sparsity weight must be finite and >= 0");
    FM_CHECK(!(opt->resume && opt->init_from), FM_ERR_INVALID,
             "NeuralIF training: --resume continues a run, --init starts one: not both");
    FM_TRY(fm_run_state_path(&state_path, opt->out, msg));
    const double start = omp_get_wtime();
    fm_nif_train_state state = { 0 };
    state.best_validation = INFINITY;
    if (opt->resume) {
        FM_TRY(fm_nif_state_read(state_path, &opt->config, opt->seed, &params, &state, msg));
    } else if (opt->init_from) {   // fine-tuning: the model's values, fresh moments and counters
        fm_nif_config config;
        FM_TRY(fm_run_state_absent(state_path, msg));
        FM_TRY(fm_nif_model_read(opt->init_from, &config, &params, msg));
        FM_CHECK(config.blocks == opt->config.blocks && config.hidden == opt->config.hidden, FM_ERR_INVALID,
                 "%s: a NeuralIF model of %d blocks and hidden width %d, not the %d and %d trained",
                 opt->init_from, config.blocks, config.hidden, opt->config.blocks, opt->config.hidden);
    } else {
        FM_TRY(fm_run_state_absent(state_path, msg));
        FM_TRY(fm_nif_params_new(&params, &opt->config, msg));
        fm_params_init(params, opt->seed);
    }
    if (opt->loss == FM_LLU_LOSS_SPECTRUM) FM_ALLOC(tr.solutions, opt->train_count);
    FM_ALLOC(valid, opt->valid_count);
    for (; valid_made < opt->valid_count; valid_made++)
        FM_TRY(generate(&valid[valid_made], opt, FM_SPD_VALIDATION, valid_made, msg));
    tr.params = params;
    tr.valid = valid;
    tr.state_path = state_path;
    const fm_epochs loop = { .train_count = opt->train_count, .epochs = opt->epochs, .seed = opt->seed,
                             .checkpoint_every = opt->checkpoint_every, .time_limit = opt->time_limit,
                             .start = start, .self = &tr, .step = step, .validate = validate_now,
                             .write_state = write_state, .write_model = write_model,
                             .progress = opt->progress, .user = opt->user };
    FM_TRY(fm_epochs_run(result, &loop, &state, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
