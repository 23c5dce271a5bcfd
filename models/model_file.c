// The preconditioner models' checkpoint sequence: models/model_file.h.
#include <stdlib.h>

#include "model_file.h"
#include "status.h"

int fm_model_file_open(fm_checkpoint_reader **r, fm_checkpoint_fields *fields, const char *path,
                       fm_model_kind kind, char *msg)
{
    fm_checkpoint_reader *reader = NULL;
#define FREE_ALL fm_checkpoint_close(&reader)
    FM_TRY(fm_checkpoint_open(&reader, path, fields, msg));
    if (fields->kind != (uint32_t)kind) {
        const char *name = fm_model_kind_name(kind);
        const int code = fm_fail_path(FM_ERR_PARSE, msg, path, ": holds a model of kind '%s', not a %s model "
                                      "(train one with factormer train --model %s)",
                                      fm_model_kind_name(fields->kind), name, name);
        FREE_ALL;
        return code;
    }
    *r = reader;
    return FM_OK;
#undef FREE_ALL
}

int fm_model_file_read(fm_params **params, fm_train_state *state, fm_checkpoint_reader *r,
                       const fm_checkpoint_fields *fields, const char *path, const fm_checkpoint_layout *layout,
                       bool need_state, char *msg)
{
    fm_params *p = NULL;
#define FREE_ALL fm_params_free(&p)
    if (need_state && !(fields->flags & FM_CHECKPOINT_TRAINING))
        return fm_fail_path(FM_ERR_PARSE, msg, path, ": holds a model without a training state");
    FM_TRY(fm_checkpoint_check_layout(r, layout, msg));
    FM_TRY(fm_params_new(&p, layout->specs, layout->tensors, msg));
    FM_TRY(fm_checkpoint_read_tensors(r, p, state, msg));
    *params = p;
    return FM_OK;
#undef FREE_ALL
}

fm_train_state fm_model_file_state(const fm_epochs_state *state, uint64_t seed)
{
    return (fm_train_state){ .epoch = state->epoch, .step = state->step, .seed = seed,
                             .best_epoch = state->best_epoch, .best_validation_rmse = state->best_validation };
}

fm_epochs_state fm_model_file_epochs(const fm_train_state *state)
{
    return (fm_epochs_state){ state->epoch, state->step, state->best_epoch, state->best_validation_rmse };
}
