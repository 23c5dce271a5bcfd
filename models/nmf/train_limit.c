// §7's limit term: see train_limit.h.
#include "train_limit.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "train.h"

void fm_train_limit_free(fm_train_limit *limit)
{
    if (!limit) return;
    free(limit->values);
    memset(limit, 0, sizeof *limit);
}

static double product(const float *w, const float *h, int k)
{
    double p = 0;
    for (int c = 0; c < k; c++) p += (double)w[c] * h[c];
    return p;
}

int fm_train_limit_new(fm_train_limit *out, fm_message_graph *reads, const fm_train_sample *s, int k, double weight,
                       int iters, int inner, char *msg)
{
    fm_train_limit z = {0};
    float *factors = NULL;
#define FREE_ALL { fm_train_limit_free(&z); free(factors); }
    FM_CHECK(out && reads && s && s->graph && s->w_start && k >= 1 && weight > 0 && weight <= 1 && iters >= 1,
             FM_ERR_INVALID, "fm_train_limit_new: bad arguments");
    const int64_t m = s->rows, n = s->cols;
    const fm_edges *x = &s->mg.rows;
    FM_ALLOC(factors, (m + n) * k);
    float *w = factors, *ht = factors + m * k;
    FM_TRY(fm_train_sample_admm(w, ht, s, k, iters, inner, msg));
    if (s->graph->stats.kind == FM_KIND_INCOMPLETE) {   // Ω: the stored entries, X's own structure
        FM_CHECK(x->ptr, FM_ERR_INVALID, "fm_train_limit_new: incomplete data without stored edges");
        FM_ALLOC(z.values, x->count);
        for (int64_t i = 0; i < m; i++)
            for (int64_t e = (int64_t)x->ptr[i]; e < (int64_t)x->ptr[i + 1]; e++)
                z.values[e] = (float)((1 - weight) * x->val[e] + weight * product(w + i * k, ht + x->idx[e] * k, k));
        z.edges = *x;
        z.edges.log_pi = NULL;
        z.edges.owner = NULL;
    } else {   // Ω: every entry (unstored ones are zeros of X), in full storage
        FM_ALLOC(z.values, m * n);
        for (int64_t i = 0; i < m; i++) {
            float *row = z.values + i * n;
            for (int64_t j = 0; j < n; j++) row[j] = (float)(weight * product(w + i * k, ht + j * k, k));
            const int64_t begin = x->ptr ? (int64_t)x->ptr[i] : i * n, end = x->ptr ? (int64_t)x->ptr[i + 1] : (i + 1) * n;
            for (int64_t e = begin; e < end; e++) {
                const int64_t j = x->ptr ? (int64_t)x->idx[e] : e - begin;
                row[j] += (float)((1 - weight) * x->val[e]);
            }
        }
        z.edges = (fm_edges){ .targets = m, .sources = n, .count = m * n };
    }
    z.edges.val = z.values;
    *out = z;
    reads->loss_rows = &out->edges;
    reads->loss_kind = out->edges.ptr ? FM_KIND_INCOMPLETE : FM_KIND_DENSE;
    z.values = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
