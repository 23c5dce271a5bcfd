// Row-major float matrices: factors and node features.
#include "status.h"

#include <stdlib.h>
#include <string.h>

int fm_dense_new(fm_dense **out, int64_t rows, int64_t cols, char *msg)
{
    fm_dense *m = NULL;
#define FREE_ALL fm_dense_free(&m)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_dense_new: output handle must be non-NULL and empty");
    FM_CHECK(rows >= 0 && cols >= 0, FM_ERR_INVALID, "fm_dense_new: negative shape %lld x %lld",
             (long long)rows, (long long)cols);
    FM_CHECK(cols == 0 || rows <= INT64_MAX / cols / (int64_t)sizeof(float), FM_ERR_INVALID,
             "fm_dense_new: %lld x %lld floats overflow", (long long)rows, (long long)cols);
    FM_ALLOC(m, 1);
    m->rows = rows;
    m->cols = cols;
    FM_ALLOC(m->data, rows * cols);
    *out = m;
    return FM_OK;
#undef FREE_ALL
}

int fm_dense_copy(fm_dense **out, const fm_dense *src, char *msg)
{
    int status = fm_dense_new(out, src->rows, src->cols, msg);
    if (status == FM_OK && src->rows * src->cols > 0)
        memcpy((*out)->data, src->data, sizeof(float) * src->rows * src->cols);
    return status;
}

void fm_dense_transpose(float *out, const fm_dense *M)
{
    for (int64_t i = 0; i < M->rows; i++)
        for (int64_t j = 0; j < M->cols; j++) out[j * M->rows + i] = M->data[i * M->cols + j];
}

void fm_dense_free(fm_dense **m)
{
    if (!m || !*m) return;
    free((*m)->data);
    free(*m);
    *m = NULL;
}
