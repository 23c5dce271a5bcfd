// NeuralIF's checkpoints: the kind "neuralif" (FM_MODEL_NEURALIF), shape
// fields [blocks, hidden, node features, 0, 0], in io/checkpoint's format.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "model_dir.h"
#include "model_file.h"
#include "model_kind.h"
#include "neuralif.h"
#include "neuralif_file.h"
#include "status.h"

// The tensor table of a config, and the model in words.
typedef struct layout_storage {
    fm_tensor_spec specs[4 * FM_NIF_MLPS * FM_NIF_MAX_BLOCKS];
    char names[4 * FM_NIF_MLPS * FM_NIF_MAX_BLOCKS][FM_NIF_NAME];
    char words[96];
    fm_checkpoint_layout layout;
} layout_storage;

static int make_layout(layout_storage *s, const fm_nif_config *config, char *msg)
{
    int status = fm_nif_specs(s->specs, s->names, config, msg);
    if (status) return status;
    snprintf(s->words, sizeof s->words, "a neuralif model of %d blocks, hidden width %d", config->blocks,
             config->hidden);
    s->layout = (fm_checkpoint_layout){ s->specs, fm_nif_tensor_count(config), s->words };
    return FM_OK;
}

static fm_checkpoint_fields fields_of(const fm_nif_config *config)
{
    fm_checkpoint_fields f = { .kind = FM_MODEL_NEURALIF };
    f.shape[0] = config->blocks;
    f.shape[1] = config->hidden;
    f.shape[2] = FM_NIF_FEATURES;
    return f;
}

// Open, check the kind and shape, lay out and read.
static int read_file(const char *path, fm_nif_config *config, fm_params **params, fm_train_state *state,
                     bool need_state, char *msg)
{
    fm_checkpoint_reader *r = NULL;
    layout_storage *s = NULL;
#define FREE_ALL do { fm_checkpoint_close(&r); free(s); } while (0)
    fm_checkpoint_fields f;
    FM_TRY(fm_model_file_open(&r, &f, path, FM_MODEL_NEURALIF, msg));
    if (f.shape[2] != FM_NIF_FEATURES || f.shape[0] < 1 || f.shape[0] > FM_NIF_MAX_BLOCKS || f.shape[1] < 1 ||
        f.shape[1] > 4096) {
        const int code = fm_fail_path(FM_ERR_PARSE, msg, path,
                                      ": a neuralif model of %d blocks, width %d, %d node features: this "
                                      "build reads 1 to %d blocks, width 1 to 4096, %d features",
                                      f.shape[0], f.shape[1], f.shape[2], FM_NIF_MAX_BLOCKS, FM_NIF_FEATURES);
        FREE_ALL;
        return code;
    }
    const fm_nif_config c = { f.shape[0], f.shape[1] };
    FM_ALLOC(s, 1);
    FM_TRY(make_layout(s, &c, msg));
    FM_TRY(fm_model_file_read(params, state, r, &f, path, &s->layout, need_state, msg));
    *config = c;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

static int write_file(const char *path, const fm_nif_config *config, const fm_params *params,
                      const fm_train_state *state, char *msg)
{
    layout_storage *s = NULL;
#define FREE_ALL free(s)
    FM_ALLOC(s, 1);
    FM_TRY(make_layout(s, config, msg));
    const fm_checkpoint_fields f = fields_of(config);
    FM_TRY(fm_checkpoint_write_tensors(path, &f, &s->layout, params, state, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_nif_state_write(const char *path, const fm_nif_config *config, uint64_t seed, const fm_params *params,
                       const fm_nif_train_state *state, char *msg)
{
    const fm_train_state t = fm_model_file_state(state, seed);
    return write_file(path, config, params, &t, msg);
}

int fm_nif_state_read(const char *path, const fm_nif_config *config, uint64_t seed, fm_params **params,
                      fm_nif_train_state *state, char *msg)
{
    fm_params *p = NULL;
#define FREE_ALL fm_params_free(&p)
    fm_nif_config c = { 0, 0 };
    fm_train_state t = { 0 };
    FM_TRY(read_file(path, &c, &p, &t, true, msg));
    if (c.blocks != config->blocks || c.hidden != config->hidden || t.seed != seed) {
        const int code = fm_fail_path(FM_ERR_INVALID, msg, path,
                                      ": the state is of %d blocks, width %d, seed %llu; this run asks for "
                                      "%d blocks, width %d, seed %llu",
                                      c.blocks, c.hidden, (unsigned long long)t.seed, config->blocks,
                                      config->hidden, (unsigned long long)seed);
        FREE_ALL;
        return code;
    }
    *state = fm_model_file_epochs(&t);
    *params = p;
    return FM_OK;
#undef FREE_ALL
}

int fm_nif_model_write(const char *path, const fm_nif_config *config, const fm_params *params, char *msg)
{
    return write_file(path, config, params, NULL, msg);
}

int fm_nif_model_read(const char *path, fm_nif_config *config, fm_params **params, char *msg)
{
    return read_file(path, config, params, NULL, false, msg);
}

//------------------------------------------------------------------------------
// The public model handle (models/precond/neuralif.h)
//------------------------------------------------------------------------------

struct fm_neuralif {
    fm_nif_config config;
    fm_params *params;
};

int fm_neuralif_load(fm_neuralif **out, const char *path, char *msg)
{
    fm_neuralif *model = NULL;
#define FREE_ALL fm_neuralif_free(&model)
    FM_ALLOC(model, 1);
    FM_TRY(fm_nif_model_read(path, &model->config, &model->params, msg));
    *out = model;
    return FM_OK;
#undef FREE_ALL
}

void fm_neuralif_free(fm_neuralif **model)
{
    if (!model || !*model) return;
    fm_params_free(&(*model)->params);
    free(*model);
    *model = NULL;
}

int fm_neuralif_factor(fm_csr **L, const fm_neuralif *model, const fm_square *A,
                       const fm_neuralif_options *opt, fm_neuralif_info *info, char *msg)
{
    return fm_nif_factor_with(L, &model->config, model->params, A, opt, info, msg);
}

int fm_neuralif_default_path(char *path, size_t size, char *msg)
{
    return fm_learned_model_path(path, size, FM_NEURALIF_MODEL_FILE, msg);
}
