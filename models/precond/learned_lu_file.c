// The learned LU's checkpoints: the kind "learned-lu" (FM_MODEL_LEARNED_LU),
// shape fields [layers, width, node features, loss, output], in io/checkpoint's
// format; and the public model handle (learned_lu.h).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "learned_lu_file.h"
#include "model_dir.h"
#include "model_file.h"
#include "model_kind.h"
#include "status.h"

// The tensor table of a config, and the model in words.
typedef struct layout_storage {
    fm_tensor_spec specs[4 * FM_LLU_MLPS * FM_LLU_MAX_LAYERS];
    char names[4 * FM_LLU_MLPS * FM_LLU_MAX_LAYERS][FM_LLU_NAME];
    char words[96];
    fm_checkpoint_layout layout;
} layout_storage;

static int make_layout(layout_storage *s, const fm_llu_config *config, char *msg)
{
    int status = fm_llu_specs(s->specs, s->names, config, msg);
    if (status) return status;
    snprintf(s->words, sizeof s->words, "a learned-lu model of %d layers, width %d", config->layers,
             config->width);
    s->layout = (fm_checkpoint_layout){ s->specs, fm_llu_tensor_count(config), s->words };
    return FM_OK;
}

static fm_checkpoint_fields fields_of(const fm_llu_config *config, fm_llu_loss_kind loss, fm_llu_output output)
{
    fm_checkpoint_fields f = { .kind = FM_MODEL_LEARNED_LU };
    f.shape[0] = config->layers;
    f.shape[1] = config->width;
    f.shape[2] = FM_LLU_FEATURES;
    f.shape[3] = (int)loss;
    f.shape[4] = (int)output;
    return f;
}

// Open, check the kind and shape, lay out and read.
static int read_file(const char *path, fm_llu_config *config, fm_llu_loss_kind *loss, fm_llu_output *output,
                     fm_params **params, fm_train_state *state, bool need_state, char *msg)
{
    fm_checkpoint_reader *r = NULL;
    layout_storage *s = NULL;
#define FREE_ALL do { fm_checkpoint_close(&r); free(s); } while (0)
    fm_checkpoint_fields f;
    FM_TRY(fm_model_file_open(&r, &f, path, FM_MODEL_LEARNED_LU, msg));
    if (f.shape[2] != FM_LLU_FEATURES || f.shape[0] < 1 || f.shape[0] > FM_LLU_MAX_LAYERS || f.shape[1] < 1 ||
        f.shape[1] > 4096 || (f.shape[3] != FM_LLU_LOSS_SKETCHED && f.shape[3] != FM_LLU_LOSS_SPECTRUM) ||
        (f.shape[4] != FM_LLU_OUTPUT_DIRECT && f.shape[4] != FM_LLU_OUTPUT_SCALED)) {
        const int code = fm_fail_path(FM_ERR_PARSE, msg, path,
                                      ": a learned-lu model of %d layers, width %d, %d node features, loss %d, "
                                      "output %d: this build reads 1 to %d layers, width 1 to 4096, %d features, "
                                      "loss 0 or 1, output 0 or 1",
                                      f.shape[0], f.shape[1], f.shape[2], f.shape[3], f.shape[4], FM_LLU_MAX_LAYERS,
                                      FM_LLU_FEATURES);
        FREE_ALL;
        return code;
    }
    const fm_llu_config c = { f.shape[0], f.shape[1] };
    FM_ALLOC(s, 1);
    FM_TRY(make_layout(s, &c, msg));
    FM_TRY(fm_model_file_read(params, state, r, &f, path, &s->layout, need_state, msg));
    *config = c;
    *loss = (fm_llu_loss_kind)f.shape[3];
    *output = (fm_llu_output)f.shape[4];
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

static int write_file(const char *path, const fm_llu_config *config, fm_llu_loss_kind loss, fm_llu_output output,
                      const fm_params *params, const fm_train_state *state, char *msg)
{
    layout_storage *s = NULL;
#define FREE_ALL free(s)
    FM_ALLOC(s, 1);
    FM_TRY(make_layout(s, config, msg));
    const fm_checkpoint_fields f = fields_of(config, loss, output);
    FM_TRY(fm_checkpoint_write_tensors(path, &f, &s->layout, params, state, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_llu_state_write(const char *path, const fm_llu_config *config, fm_llu_loss_kind loss, fm_llu_output output,
                       uint64_t seed, const fm_params *params, const fm_llu_train_state *state, char *msg)
{
    const fm_train_state t = fm_model_file_state(state, seed);
    return write_file(path, config, loss, output, params, &t, msg);
}

int fm_llu_state_read(const char *path, const fm_llu_config *config, fm_llu_loss_kind loss, fm_llu_output output,
                      uint64_t seed, fm_params **params, fm_llu_train_state *state, char *msg)
{
    fm_params *p = NULL;
#define FREE_ALL fm_params_free(&p)
    fm_llu_config c = { 0, 0 };
    fm_llu_loss_kind l = FM_LLU_LOSS_SKETCHED;
    fm_llu_output o = FM_LLU_OUTPUT_DIRECT;
    fm_train_state t = { 0 };
    FM_TRY(read_file(path, &c, &l, &o, &p, &t, true, msg));
    if (c.layers != config->layers || c.width != config->width || l != loss || o != output || t.seed != seed) {
        const int code = fm_fail_path(FM_ERR_INVALID, msg, path,
                                      ": the state is of %d layers, width %d, the %s loss, the %s output, seed "
                                      "%llu; this run asks for %d layers, width %d, the %s loss, the %s output, "
                                      "seed %llu",
                                      c.layers, c.width, fm_llu_loss_name(l), fm_llu_output_name(o),
                                      (unsigned long long)t.seed, config->layers, config->width,
                                      fm_llu_loss_name(loss), fm_llu_output_name(output),
                                      (unsigned long long)seed);
        FREE_ALL;
        return code;
    }
    *state = fm_model_file_epochs(&t);
    *params = p;
    return FM_OK;
#undef FREE_ALL
}

int fm_llu_model_write(const char *path, const fm_llu_config *config, fm_llu_loss_kind loss, fm_llu_output output,
                       const fm_params *params, char *msg)
{
    return write_file(path, config, loss, output, params, NULL, msg);
}

int fm_llu_model_read(const char *path, fm_llu_config *config, fm_llu_loss_kind *loss, fm_llu_output *output,
                      fm_params **params, char *msg)
{
    return read_file(path, config, loss, output, params, NULL, false, msg);
}

//------------------------------------------------------------------------------
// The public model handle (models/precond/learned_lu.h)
//------------------------------------------------------------------------------

static const char *const loss_names[] = { "sketched", "spectrum", "preconditioned" };

const char *fm_llu_loss_name(fm_llu_loss_kind kind)
{
    return loss_names[kind == FM_LLU_LOSS_SPECTRUM ? 1 : kind == FM_LLU_LOSS_PRECONDITIONED ? 2 : 0];
}

int fm_llu_loss_parse(fm_llu_loss_kind *out, const char *text, char *msg)
{
    for (int k = 0; k < 3; k++)
        if (text && !strcmp(text, loss_names[k])) {
            *out = (fm_llu_loss_kind)k;
            return FM_OK;
        }
    return fm_fail(FM_ERR_INVALID, msg, "--loss must be sketched, spectrum or preconditioned, not '%s'", text ? text : "");
}

static const char *const output_names[] = { "direct", "scaled" };

const char *fm_llu_output_name(fm_llu_output output)
{
    return output == FM_LLU_OUTPUT_SCALED ? output_names[1] : output_names[0];
}

int fm_llu_output_parse(fm_llu_output *out, const char *text, char *msg)
{
    for (int k = 0; k < 2; k++)
        if (text && !strcmp(text, output_names[k])) {
            *out = (fm_llu_output)k;
            return FM_OK;
        }
    return fm_fail(FM_ERR_INVALID, msg, "--output must be direct or scaled, not '%s'", text ? text : "");
}

struct fm_learned_lu {
    fm_llu_config config;
    fm_llu_loss_kind loss;
    fm_llu_output output;
    fm_params *params;
};

int fm_learned_lu_load(fm_learned_lu **out, const char *path, char *msg)
{
    fm_learned_lu *model = NULL;
#define FREE_ALL fm_learned_lu_free(&model)
    FM_ALLOC(model, 1);
    FM_TRY(fm_llu_model_read(path, &model->config, &model->loss, &model->output, &model->params, msg));
    *out = model;
    return FM_OK;
#undef FREE_ALL
}

void fm_learned_lu_free(fm_learned_lu **model)
{
    if (!model || !*model) return;
    fm_params_free(&(*model)->params);
    free(*model);
    *model = NULL;
}

fm_llu_loss_kind fm_learned_lu_loss(const fm_learned_lu *model)
{
    return model->loss;
}

fm_llu_output fm_learned_lu_output(const fm_learned_lu *model)
{
    return model->output;
}

int fm_learned_lu_factor(fm_csr **L, fm_csr **U, const fm_learned_lu *model, const fm_square *A,
                         fm_learned_lu_info *info, char *msg)
{
    return fm_llu_factor_with(L, U, &model->config, model->params, model->output, A, info, msg);
}

int fm_learned_lu_default_path(char *path, size_t size, char *msg)
{
    return fm_learned_model_path(path, size, FM_LEARNED_LU_MODEL_FILE, msg);
}
