// The parameter block: one allocation holding values, gradients and both
// optimizer moments, carved into named tensors.
#include "params.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "status.h"

int fm_params_new(fm_params **out, const fm_tensor_spec *specs, int tensors, char *msg)
{
    fm_params *p = NULL;
#define FREE_ALL fm_params_free(&p)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_params_new: output handle must be non-NULL and empty");
    FM_CHECK(tensors >= 0 && (tensors == 0 || specs), FM_ERR_INVALID,
             "fm_params_new: %d tensors and %s specs", tensors, specs ? "some" : "no");
    FM_ALLOC(p, 1);
    FM_ALLOC(p->specs, tensors);
    FM_ALLOC(p->offsets, tensors);
    int64_t count = 0;
    for (int t = 0; t < tensors; t++) {
        const fm_tensor_spec *s = &specs[t];
        FM_CHECK(s->name && s->name[0], FM_ERR_INVALID, "fm_params_new: tensor %d has no name", t);
        FM_CHECK(s->rows >= 1 && s->cols >= 1, FM_ERR_INVALID,
                 "fm_params_new: tensor '%s' has shape %d x %d; expected at least 1 x 1", s->name,
                 s->rows, s->cols);
        for (int u = 0; u < t; u++)
            FM_CHECK(strcmp(p->specs[u].name, s->name), FM_ERR_INVALID,
                     "fm_params_new: tensors %d and %d are both named '%s'", u, t, s->name);
        char *name = strdup(s->name);
        FM_CHECK(name, FM_ERR_MEMORY, "fm_params_new: out of memory copying the name '%s'", s->name);
        p->specs[t] = (fm_tensor_spec){ name, s->rows, s->cols };
        p->tensors = t + 1;   // names [0, t] are owned from here on
        p->offsets[t] = count;
        count += ((int64_t)s->rows * s->cols + FM_PARAMS_ALIGN - 1) / FM_PARAMS_ALIGN * FM_PARAMS_ALIGN;
    }
    p->count = count;
    if (count > 0) {
        const size_t bytes = sizeof(float) * 4 * (size_t)count;   // a multiple of 256
        p->values = aligned_alloc(sizeof(float) * FM_PARAMS_ALIGN, bytes);
        FM_CHECK(p->values, FM_ERR_MEMORY, "fm_params_new: out of memory for 4 x %lld parameters",
                 (long long)count);
        memset(p->values, 0, bytes);
        p->grads = p->values + count;
        p->m = p->grads + count;
        p->v = p->m + count;
    }
    *out = p;
    return FM_OK;
#undef FREE_ALL
}

void fm_params_free(fm_params **p)
{
    if (!p || !*p) return;
    if ((*p)->specs)
        for (int t = 0; t < (*p)->tensors; t++) free((char *)(*p)->specs[t].name);
    free((*p)->specs);
    free((*p)->offsets);
    free((*p)->values);
    free(*p);
    *p = NULL;
}

int fm_params_find(const fm_params *p, const char *name)
{
    for (int t = 0; t < p->tensors; t++)
        if (strcmp(p->specs[t].name, name) == 0) return t;
    return -1;
}

int64_t fm_params_size(const fm_params *p, int tensor)
{
    return (int64_t)p->specs[tensor].rows * p->specs[tensor].cols;
}

float *fm_params_values(fm_params *p, int tensor) { return p->values + p->offsets[tensor]; }

float *fm_params_grads(fm_params *p, int tensor) { return p->grads + p->offsets[tensor]; }

void fm_params_zero_grads(fm_params *p)
{
    if (p->count > 0) memset(p->grads, 0, sizeof(float) * p->count);
}

static bool ends_with(const char *name, const char *suffix)
{
    const size_t n = strlen(name), s = strlen(suffix);
    return n >= s && strcmp(name + n - s, suffix) == 0;
}

void fm_params_init(fm_params *p, uint64_t seed)
{
    if (p->count == 0) return;
    memset(p->values, 0, sizeof(float) * 4 * p->count);   // padding, gradients and moments too
    const fm_rng rng = fm_rng_stream(seed, FM_STREAM_PARAMS);
    for (int t = 0; t < p->tensors; t++) {
        const fm_tensor_spec *s = &p->specs[t];
        float *values = p->values + p->offsets[t];
        const int64_t size = fm_params_size(p, t);
        if (s->rows > 1 && s->cols > 1) {
            const double limit = sqrt(6.0 / ((double)s->rows + s->cols));
            const int64_t start = p->offsets[t];
#pragma omp parallel for schedule(static) if (size > 65536)
            for (int64_t e = 0; e < size; e++)
                values[e] = (float)((2 * fm_rng_uniform(rng, (uint64_t)(start + e)) - 1) * limit);
        } else if (ends_with(s->name, "gamma")) {
            for (int64_t e = 0; e < size; e++) values[e] = 1;
        }
    }
}
