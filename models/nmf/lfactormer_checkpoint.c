// L-Factormer model files (lfactormer_checkpoint.h): the kind, the shape
// fields and the tensor layout checked here, the bytes by io/checkpoint.
#include "lfactormer_checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

// (a model of any rank serves every --rank)
#define TRAIN_MODEL_HINT "train one with: factormer train --model %s --any-rank --out MODEL.fmw"

_Static_assert(FM_LFACTORMER_NAME == FM_CHECKPOINT_NAME, "the model's names are the format's");
_Static_assert(FM_CHECKPOINT_SHAPE_FIELDS == 5, "the five fields of fm_lfactormer_config");

int fm_model_kind_inputs(fm_model_kind kind, int rank)
{
    switch (kind) {
    case FM_MODEL_INIT: return rank;
    case FM_MODEL_ACCEL: return 2 * rank;
    default: return 0;
    }
}

// The name the CLI's --model takes.
static const char *kind_flag(fm_model_kind kind) { return kind == FM_MODEL_ACCEL ? "accel" : "init"; }

// The range checks of fm_lfactormer_check, the caps that keep every size
// below overflow, and the input width of the kind; `code` on failure.
static int check_model(fm_model_kind kind, const fm_lfactormer_config *c, const char *path, int code, char *msg)
{
    if (kind != FM_MODEL_INIT && kind != FM_MODEL_ACCEL)
        return fm_fail(code, msg, "%s: model kind %u; expected 1 (initialization) or 2 (acceleration)", path,
                       (unsigned)kind);
    char why[FM_MSG_LEN];
    if (fm_lfactormer_check(c, why) != FM_OK)
        return fm_fail(code, msg, "%s: the hyperparameters are out of range: %s", path, why);
    if (c->inputs > FM_CHECKPOINT_MAX_DIM || c->rank > FM_CHECKPOINT_MAX_DIM ||
        c->width > FM_CHECKPOINT_MAX_DIM || c->heads > FM_CHECKPOINT_MAX_DIM)
        return fm_fail(code, msg,
                       "%s: the hyperparameters are out of range: input width %d, rank %d, width %d, heads %d; "
                       "each must be at most %d",
                       path, c->inputs, c->rank, c->width, c->heads, FM_CHECKPOINT_MAX_DIM);
    // a model of any rank (rank 0, the component-set template) reads its channels per component
    const int inputs = fm_model_kind_inputs(kind, c->rank > 0 ? c->rank : 1);
    if (c->inputs != inputs)
        return fm_fail(code, msg,
                       "%s: the hyperparameters do not match: an %s model of %s%.0d reads %d inputs%s, but the input "
                       "width is %d",
                       path, fm_model_kind_name(kind), c->rank > 0 ? "rank " : "any rank", c->rank, inputs,
                       c->rank > 0 ? "" : " per component", c->inputs);
    return FM_OK;
}

// The tensors of a checked config, and the model in words.
typedef struct layout {
    fm_checkpoint_layout file;
    fm_tensor_spec *specs;
    char (*names)[FM_LFACTORMER_NAME];
    char model[FM_MSG_LEN / 2];
} layout;

static void layout_free(layout *l)
{
    free(l->specs);
    free(l->names);
    memset(l, 0, sizeof *l);
}

static int layout_of(layout *l, fm_model_kind kind, const fm_lfactormer_config *c, char *msg)
{
#define FREE_ALL layout_free(l)
    memset(l, 0, sizeof *l);
    const int tensors = fm_lfactormer_tensors(c);
    FM_ALLOC(l->specs, tensors);
    FM_ALLOC(l->names, tensors);
    FM_TRY(fm_lfactormer_specs(l->specs, l->names, c, msg));
    char rank[80] = "any rank";
    snprintf(rank, sizeof rank, "any rank%s%s%s", c->pooled ? ", pooled" : "", c->residual ? " and residual" : "",
             c->gathered ? " with the gathered term" : "");
    if (!c->components) snprintf(rank, sizeof rank, "rank %d", c->rank);
    snprintf(l->model, sizeof l->model, "an %s model of %s, width %d, %d heads, %d layers", fm_model_kind_name(kind),
             rank, c->width, c->heads, c->layers);
    l->file = (fm_checkpoint_layout){.specs = l->specs, .tensors = tensors, .model = l->model};
    return FM_OK;
#undef FREE_ALL
}

// A model of any rank is written as its template: rank 0, minus 1 with the
// gathered term of §5.1, minus 2 pooled (§5.2), minus 4 residual (§5.2),
// minus 8 times the rank it was trained to (files from before that was
// recorded hold 0: read back as not recorded); its channels per component as
// the input width.
#define FORMS 8   // the form's three bits: the trained rank counts in steps of 8
static fm_checkpoint_fields fields_of(const fm_checkpoint_header *h)
{
    const fm_lfactormer_config *c = &h->config;
    const int inputs = c->components ? fm_lfactormer_channels(c) : c->inputs;
    const int rank = c->components ? -(int)c->gathered - 2 * (int)c->pooled - 4 * (int)c->residual -
                                         FORMS * c->trained_rank
                                   : c->rank;
    return (fm_checkpoint_fields){
        .kind = (uint32_t)h->kind,
        .shape = {inputs, rank, c->width, c->heads, c->layers},
    };
}

static fm_checkpoint_header header_of(const fm_checkpoint_fields *f)
{
    const bool components = f->shape[1] <= 0 && f->shape[1] > -FORMS * (FM_MAX_RANK + 1);
    const int field = components ? -f->shape[1] : 0;   // form + 8·trained rank
    const int form = field % FORMS;                     // bit 0 gathered, bit 1 pooled, bit 2 residual
    return (fm_checkpoint_header){
        .version = f->version,
        .flags = f->flags,
        .kind = (fm_model_kind)f->kind,
        .config = {.inputs = f->shape[0], .rank = components ? 0 : f->shape[1], .width = f->shape[2],
                   .heads = f->shape[3], .layers = f->shape[4], .components = components,
                   .gathered = form & 1, .pooled = form & 2, .residual = form & 4,
                   .trained_rank = field / FORMS},
    };
}

int fm_checkpoint_write(const char *path, const fm_checkpoint_header *header, const fm_params *params,
                        const fm_train_state *state, char *msg)
{
    layout l = {0};
#define FREE_ALL layout_free(&l)
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_checkpoint_write: the path must be a non-empty string");
    FM_CHECK(header && params, FM_ERR_INVALID, "%s: fm_checkpoint_write needs a header and parameters", path);
    FM_TRY(check_model(header->kind, &header->config, path, FM_ERR_INVALID, msg));   // before the fields drop any
    const fm_checkpoint_fields fields = fields_of(header);
    const fm_checkpoint_header written = header_of(&fields);
    FM_TRY(check_model(written.kind, &written.config, path, FM_ERR_INVALID, msg));
    FM_TRY(layout_of(&l, written.kind, &written.config, msg));
    FM_TRY(fm_checkpoint_write_tensors(path, &fields, &l.file, params, state, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// The model is the one the caller needs.
static int check_expect(const char *path, const fm_checkpoint_header *h, const fm_checkpoint_expect *expect,
                        char *msg)
{
    if (!expect) return FM_OK;
    if (expect->kind && expect->kind != h->kind)
        return fm_fail(FM_ERR_INVALID, msg, "%s: an %s model, but an %s model is needed; " TRAIN_MODEL_HINT, path,
                       fm_model_kind_name(h->kind), fm_model_kind_name(expect->kind), kind_flag(expect->kind));
    if (expect->rank > 0 && !h->config.components && expect->rank != h->config.rank)
        return fm_fail(FM_ERR_INVALID, msg, "%s: a rank-%d %s model, but --rank %d needs a rank-%d model or one of "
                       "any rank; " TRAIN_MODEL_HINT,
                       path, h->config.rank, fm_model_kind_name(h->kind), expect->rank, expect->rank,
                       kind_flag(h->kind));
    if (expect->training && !(h->flags & FM_CHECKPOINT_TRAINING))
        return fm_fail(FM_ERR_INVALID, msg,
                       "%s: a model without training state (values only); resuming a run needs a training "
                       "checkpoint, which also holds the optimizer moments and the counters",
                       path);
    return FM_OK;
}

int fm_checkpoint_read(const char *path, fm_checkpoint_header *header, fm_params **params, fm_train_state *state,
                       const fm_checkpoint_expect *expect, char *msg)
{
    fm_checkpoint_reader *r = NULL;
    layout l = {0};
    fm_params *p = NULL;
#define FREE_ALL { fm_checkpoint_close(&r); layout_free(&l); fm_params_free(&p); }
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_checkpoint_read: the path must be a non-empty string");
    FM_CHECK(header && params && !*params, FM_ERR_INVALID,
             "%s: fm_checkpoint_read needs a header and an empty parameter handle", path);
    fm_checkpoint_fields fields;
    FM_TRY(fm_checkpoint_open(&r, path, &fields, msg));
    const fm_checkpoint_header h = header_of(&fields);
    FM_TRY(check_model(h.kind, &h.config, path, FM_ERR_PARSE, msg));
    FM_TRY(check_expect(path, &h, expect, msg));
    FM_TRY(layout_of(&l, h.kind, &h.config, msg));
    FM_TRY(fm_checkpoint_check_layout(r, &l.file, msg));
    FM_TRY(fm_lfactormer_params_new(&p, &h.config, msg));
    fm_train_state s;
    FM_TRY(fm_checkpoint_read_tensors(r, p, &s, msg));

    *header = h;
    if (state) *state = s;
    *params = p;
    p = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_checkpoint_read_header(const char *path, fm_checkpoint_header *header, const fm_checkpoint_expect *expect,
                              char *msg)
{
    fm_checkpoint_reader *r = NULL;
#define FREE_ALL fm_checkpoint_close(&r)
    FM_CHECK(path && *path && header, FM_ERR_INVALID, "fm_checkpoint_read_header: a path and a header are needed");
    fm_checkpoint_fields fields;
    FM_TRY(fm_checkpoint_open(&r, path, &fields, msg));
    const fm_checkpoint_header h = header_of(&fields);
    FM_TRY(check_model(h.kind, &h.config, path, FM_ERR_PARSE, msg));
    FM_TRY(check_expect(path, &h, expect, msg));
    *header = h;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
