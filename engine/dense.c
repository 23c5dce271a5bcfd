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

// Tiles of TRANSPOSE_TILE × TRANSPOSE_TILE entries: the entry-by-entry
// double loop writes every entry of a row of M to another row of Mᵀ, a page
// apart when M has thousands of rows (Hᵀ of a 4096-column matrix at rank
// 40: 8.8 ms a transpose), where a tile's rows stay in cache.
#define TRANSPOSE_TILE 32

void fm_dense_transpose(float *out, const fm_dense *M)
{
    const int64_t rows = M->rows, cols = M->cols;
    for (int64_t i0 = 0; i0 < rows; i0 += TRANSPOSE_TILE)
        for (int64_t j0 = 0; j0 < cols; j0 += TRANSPOSE_TILE) {
            const int64_t i1 = i0 + TRANSPOSE_TILE < rows ? i0 + TRANSPOSE_TILE : rows;
            const int64_t j1 = j0 + TRANSPOSE_TILE < cols ? j0 + TRANSPOSE_TILE : cols;
            for (int64_t j = j0; j < j1; j++)
                for (int64_t i = i0; i < i1; i++) out[j * rows + i] = M->data[i * cols + j];
        }
}

void fm_dense_free(fm_dense **m)
{
    if (!m || !*m) return;
    free((*m)->data);
    free(*m);
    *m = NULL;
}
