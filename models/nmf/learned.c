// The learned initialization and acceleration at inference: see learned.h.
#include "learned.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "init.h"
#include "status.h"

static const char *kind_flag(fm_model_kind kind) { return kind == FM_MODEL_ACCEL ? "accel" : "init"; }

int fm_learned_default_path(char *path, size_t size, fm_model_kind kind, int rank, char *msg)
{
    char dir[FM_LEARNED_PATH_LEN];
    const int status = fm_learned_model_dir(dir, sizeof dir, NULL, msg);
    if (status != FM_OK) return status;
    char name[32];
    if (rank > 0) snprintf(name, sizeof name, "%s-rank%d.fmw", kind_flag(kind), rank);
    else snprintf(name, sizeof name, "%s.fmw", kind_flag(kind));
    const int n = snprintf(path, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size)
        return fm_fail(FM_ERR_INVALID, msg, "the model directory '%s' makes a path longer than %zu bytes", dir,
                       size - 1);
    return FM_OK;
}

static bool exists(const char *path)
{
    struct stat st;
    return !(stat(path, &st) != 0 && errno == ENOENT);
}

void fm_learned_free(fm_learned *model)
{
    if (!model) return;
    fm_params_free(&model->params);
    fm_lfactormer_saved_free(&model->saved);
    free(model->w_in);
    free(model->ht_in);
    memset(model, 0, sizeof *model);
}

// The model file of `kind` for `rank` (see learned.h) into path[FM_LEARNED_PATH_LEN]; a missing file is
// FM_ERR_IO naming it and the command that trains one.
static int resolve_path(char *out, const char *path, fm_model_kind kind, int rank, char *msg)
{
#define FREE_ALL
    char any[FM_LEARNED_PATH_LEN] = "";
    FM_CHECK(kind == FM_MODEL_INIT || kind == FM_MODEL_ACCEL, FM_ERR_INVALID, "fm_learned_load: unknown kind %d",
             (int)kind);
    FM_CHECK(rank >= 1, FM_ERR_INVALID, "fm_learned_load: rank %d must be >= 1", rank);
    if (path) {
        const int n = snprintf(out, FM_LEARNED_PATH_LEN, "%s", path);
        FM_CHECK(n >= 0 && n < FM_LEARNED_PATH_LEN, FM_ERR_INVALID, "the model path is longer than %d bytes",
                 FM_LEARNED_PATH_LEN - 1);
    } else {   // the model of any rank, else the rank's own (issue 19: the default is rank-free)
        FM_TRY(fm_learned_default_path(out, FM_LEARNED_PATH_LEN, kind, rank, msg));
        FM_TRY(fm_learned_default_path(any, sizeof any, kind, 0, msg));
        if (exists(any)) memcpy(out, any, sizeof any);
    }
    if (!exists(out)) {
        char dir[FM_LEARNED_PATH_LEN], shown[4 * FM_LEARNED_PATH_LEN];   // shown: control bytes escaped
        const char *origin = NULL;
        if (!path) FM_TRY(fm_learned_model_dir(dir, sizeof dir, &origin, msg));
        fm_escape(shown, sizeof shown, path ? out : any);
        FM_FAIL(FM_ERR_IO,
                "%s: no learned %s model for rank %d: the file does not exist%s%s%s; train one with: factormer train "
                "--model %s --any-rank --out %s%s%s%s",
                out, fm_model_kind_name(kind), rank, path ? "" : ", nor ", path ? "" : any,
                path ? "" : " (any rank)", kind_flag(kind), shown, origin ? " (the default directory: " : "",
                origin ? origin : "", origin ? ")" : "");
    }
    return FM_OK;
#undef FREE_ALL
}

int fm_learned_peek(fm_lfactormer_config *config, char *resolved, const char *path, fm_model_kind kind, int rank,
                    char *msg)
{
    char file[FM_LEARNED_PATH_LEN];
    int status = resolve_path(file, path, kind, rank, msg);
    if (status) return status;
    fm_checkpoint_header header;
    const fm_checkpoint_expect expect = {.kind = kind, .rank = rank, .training = false};
    status = fm_checkpoint_read_header(file, &header, &expect, msg);
    if (status) return status;
    *config = header.config.components ? fm_lfactormer_at_rank(&header.config, rank) : header.config;
    if (resolved) memcpy(resolved, file, sizeof file);
    return FM_OK;
}

int fm_learned_load(fm_learned *model, const char *path, fm_model_kind kind, int rank, char *msg)
{
#define FREE_ALL fm_learned_free(model)
    if (!model) return fm_fail(FM_ERR_INVALID, msg, "fm_learned_load: no model");
    memset(model, 0, sizeof *model);
    model->kind = kind;
    FM_TRY(resolve_path(model->path, path, kind, rank, msg));
    fm_checkpoint_header header;
    const fm_checkpoint_expect expect = {.kind = kind, .rank = rank, .training = false};
    FM_TRY(fm_checkpoint_read(model->path, &header, &model->params, NULL, &expect, msg));
    // a model of any rank (§5.1) is bound at the run's
    const fm_lfactormer_config config =
        header.config.components ? fm_lfactormer_at_rank(&header.config, rank) : header.config;
    fm_lfactormer_bind(&model->weights, &config, model->params->values, model->params->offsets);
    return FM_OK;
#undef FREE_ALL
}

// The model's activations for a graph of m × n nodes (kept from the last
// pass when they fit).
static int prepare_saved(fm_learned *model, int64_t m, int64_t n, char *msg)
{
#define FREE_ALL
    if (model->saved.block &&
        (model->saved.rows != m || model->saved.cols != n || model->saved_batch != model->batch_targets))
        fm_lfactormer_saved_free(&model->saved);
    if (!model->saved.block) {
        FM_TRY(fm_lfactormer_saved_new_for(&model->saved, &model->weights.config, m, n, false, model->batch_targets,
                                           msg));
        model->saved_batch = model->batch_targets;
    }
    return FM_OK;
#undef FREE_ALL
}

// w_out, ht_out from w_in, ht_in in the network's frame, over the view. A
// non-finite output is FM_ERR_NUMERIC naming the model and the `stage`.
static int forward(float *w_out, float *ht_out, fm_learned *model, const float *w_in, const float *ht_in,
                   const fm_message_graph *mg, const char *stage, char *msg)
{
#define FREE_ALL
    FM_CHECK(model && model->params && mg && mg->graph, FM_ERR_INVALID, "the learned model or its graph is missing");
    FM_TRY(prepare_saved(model, mg->graph->stats.rows, mg->graph->stats.cols, msg));
    // (the ops inside report themselves to the profile)
    const int status = fm_lfactormer_forward(w_out, ht_out, &model->saved, w_in, ht_in, &model->weights, mg, msg);
    if (status == FM_ERR_NUMERIC) {
        char why[FM_MSG_LEN];
        memcpy(why, msg, sizeof why);
        return fm_fail(status, msg, "%s: the %s model failed in %s: %s", model->path,
                       fm_model_kind_name(model->kind), stage, why);
    }
    FM_TRY(status);
    return FM_OK;
#undef FREE_ALL
}

static void scale(fm_dense *M, double by)
{
    const int64_t count = M->rows * M->cols;
    for (int64_t e = 0; e < count; e++) M->data[e] = (float)(M->data[e] * by);
}

int fm_learned_start(fm_dense **W, fm_dense **Ht, fm_learned *model, const fm_graph *g, const fm_edges *rows,
                     const fm_edges *cols, const fm_message_graph *network, double mean, int rank, int power,
                     uint64_t seed, char *msg)
{
    fm_dense *w = NULL, *ht = NULL, *w_out = NULL, *ht_out = NULL;
#define FREE_ALL { fm_dense_free(&w); fm_dense_free(&ht); fm_dense_free(&w_out); fm_dense_free(&ht_out); }
    FM_CHECK(W && !*W && Ht && !*Ht && g && rows && cols && mean > 0 && (!model || network), FM_ERR_INVALID,
             "fm_learned_start: bad arguments");
    FM_CHECK(!model || model->kind == FM_MODEL_INIT, FM_ERR_INVALID,
             "fm_learned_start: %s holds an %s model, not an initialization model", model ? model->path : "",
             model ? fm_model_kind_name(model->kind) : "");
    // the NNDSVD of X / mean, as the training samples start: X's, (√mean·W'_0, √mean·H'_0), mapped.
    // A solver that runs a small problem on one thread (serial_below) leaves
    // the run's other threads idle: one draws the sketch while this one
    // allocates the network's activations, whose first touches of fresh
    // pages can cost as much as the sketch on a virtual machine (docs/
    // implementation.md, "Memory"). The same arithmetic either way.
    if (model && omp_get_max_threads() == 1 && fm_get_threads() > 1 && !omp_in_parallel()) {
        int sketched = FM_OK, prepared = FM_OK;
        char prepare_msg[FM_MSG_LEN] = "";
#pragma omp parallel num_threads(2)
        {
            const int thread = omp_get_thread_num(), team = omp_get_num_threads();
            if (thread == 0)
                prepared = prepare_saved(model, network->graph->stats.rows, network->graph->stats.cols, prepare_msg);
            if (thread == team - 1)   // (thread 0 too where the team is one thread: OMP_THREAD_LIMIT)
                sketched = fm_init_factors(&w, &ht, g, rows, cols, rank, FM_INIT_NNDSVD, power, seed, msg);
        }
        FM_TRY(sketched);
        if (prepared != FM_OK) {
            memcpy(msg, prepare_msg, FM_MSG_LEN);
            FREE_ALL;
            return prepared;
        }
    } else
        FM_TRY(fm_init_factors(&w, &ht, g, rows, cols, rank, FM_INIT_NNDSVD, power, seed, msg));
    scale(w, 1 / sqrt(mean));
    scale(ht, 1 / sqrt(mean));
    if (model) {
        FM_TRY(fm_dense_new(&w_out, w->rows, rank, msg));
        FM_TRY(fm_dense_new(&ht_out, ht->rows, rank, msg));
        FM_TRY(forward(w_out->data, ht_out->data, model, w->data, ht->data, network,
                       "the learned initialization", msg));
        fm_dense_free(&w);
        fm_dense_free(&ht);
        w = w_out;
        ht = ht_out;
        w_out = ht_out = NULL;
    }
    scale(w, mean);
    *W = w;
    *Ht = ht;
    w = ht = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// [a / mean | b / mean] (or without the division), rows × 2k from two rows × k.
static void concat(float *out, const fm_dense *a, const fm_dense *b, double divisor)
{
    const int64_t k = a->cols;
    for (int64_t r = 0; r < a->rows; r++)
        for (int64_t c = 0; c < k; c++) {
            out[r * 2 * k + c] = divisor == 1 ? a->data[r * k + c] : (float)(a->data[r * k + c] / divisor);
            out[r * 2 * k + k + c] = divisor == 1 ? b->data[r * k + c] : (float)(b->data[r * k + c] / divisor);
        }
}

// Whether column r of the rows × k matrix M is zero.
static bool zero_column(const float *M, int64_t rows, int64_t k, int64_t r)
{
    for (int64_t i = 0; i < rows; i++)
        if (M[i * k + r] != 0) return false;
    return true;
}

int fm_learned_accelerate(fm_dense *W, fm_dense *Ht, const fm_dense *W_prev, const fm_dense *Ht_prev,
                          fm_learned *model, const fm_message_graph *mg, double mean, bool keep_rank,
                          int *repaired, char *msg)
{
#define FREE_ALL
    FM_CHECK(W && Ht && W_prev && Ht_prev && model && mg && mg->graph && mean > 0, FM_ERR_INVALID,
             "fm_learned_accelerate: bad arguments");
    FM_CHECK(model->kind == FM_MODEL_ACCEL, FM_ERR_INVALID,
             "fm_learned_accelerate: %s holds an %s model, not an acceleration model", model->path,
             fm_model_kind_name(model->kind));
    const int64_t m = W->rows, n = Ht->rows, k = W->cols;
    FM_CHECK(k == model->weights.config.rank && Ht->cols == k && W_prev->rows == m && W_prev->cols == k &&
                 Ht_prev->rows == n && Ht_prev->cols == k,
             FM_ERR_INVALID, "fm_learned_accelerate: factors of rank %lld for a rank-%d model", (long long)k,
             model->weights.config.rank);
    if (model->in_rows != m || model->in_cols != n) {
        // the first call, or another graph than the last call's
        free(model->w_in);
        free(model->ht_in);
        model->w_in = model->ht_in = NULL;
        model->in_rows = model->in_cols = 0;
        FM_ALLOC(model->w_in, m * 2 * k);
        FM_ALLOC(model->ht_in, n * 2 * k);
        model->in_rows = m;
        model->in_cols = n;
    }
    // the network's frame: W / mean, Hᵀ as it is
    concat(model->w_in, W_prev, W, mean);
    concat(model->ht_in, Ht_prev, Ht, 1);
    FM_TRY(forward(W->data, Ht->data, model, model->w_in, model->ht_in, mg, "an accelerator step", msg));
    scale(W, mean);
    int zeroed = 0;
    for (int64_t r = 0; keep_rank && r < k; r++) {
        if (!zero_column(W->data, m, k, r) && !zero_column(Ht->data, n, k, r)) continue;
        // (Ŵ, Ĥᵀ)'s component: the right half of the inputs, W's in the network's frame
        for (int64_t i = 0; i < m; i++) W->data[i * k + r] = (float)(model->w_in[i * 2 * k + k + r] * mean);
        for (int64_t j = 0; j < n; j++) Ht->data[j * k + r] = model->ht_in[j * 2 * k + k + r];
        zeroed++;
    }
    if (repaired) *repaired = zeroed;
    return FM_OK;
#undef FREE_ALL
}

double fm_learned_pass_flops(const fm_lfactormer_config *c, int64_t edges, int64_t rows, int64_t cols)
{
    const fm_lfactormer_config inner = fm_lfactormer_inner(c);
    const double d = inner.width, nodes = (double)(rows + cols), passes = c->components && !c->pooled ? c->rank : 1;
    const double layer = 4 * d * d * (double)edges + 12 * d * d * nodes;
    // the gathered term (§5.1): a sparse product per side, p·k columns
    const double gathered = c->gathered ? 4.0 * c->inputs * (double)edges : 0;
    // pooled (§5.2): per component the pool and the decoder read its features (2 products of nf·p × d each and
    // the output's d), per node the context's d × d
    const double pooled =
        c->pooled ? nodes * (2.0 * c->rank * (2.0 * fm_lfactormer_features(c) * d + d) + 2 * d * d) : 0;
    return passes * (inner.layers * layer + 2 * nodes * d * (inner.inputs + inner.rank)) + gathered + pooled;
}

double fm_learned_admm_flops(int64_t edges, int64_t rows, int64_t cols, int rank, bool incomplete)
{
    const double grams = incomplete ? 4.0 * rank * rank * (double)edges : 0;
    return 4.0 * rank * (double)edges + 4.0 * rank * rank * (double)(rows + cols) + grams;
}
