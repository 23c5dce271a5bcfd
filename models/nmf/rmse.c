// The error of given factors: over a graph's observed entries, or over
// triplets such as held-out entries (the split itself: models/nmf/holdout.c).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "factormer.h"
#include "loss.h"
#include "products.h"
#include "rng.h"
#include "status.h"

int fm_rmse(double *rmse, fm_graph *g, const fm_dense *W, const fm_dense *H, char *msg)
{
    fm_edges rows = { 0 };
    fm_dense *Ht = NULL;
    double *gram_w = NULL, *gram_h = NULL;
#define FREE_ALL { fm_edges_return(&rows, NULL); fm_dense_free(&Ht); free(gram_w); free(gram_h); }
    const int64_t k = W->cols, n = g->stats.cols;
    FM_CHECK(W->rows == g->stats.rows && H->rows == k && H->cols == n, FM_ERR_INVALID,
             "factors of shape %lld x %lld and %lld x %lld do not fit a %lld x %lld matrix",
             (long long)W->rows, (long long)W->cols, (long long)H->rows, (long long)H->cols,
             (long long)g->stats.rows, (long long)n);
    FM_TRY(fm_dense_new(&Ht, n, k, msg));
    fm_dense_transpose(Ht->data, H);
    FM_ALLOC(gram_w, k * k);
    FM_ALLOC(gram_h, k * k);
    FM_TRY(fm_products_gram(gram_w, W, msg));
    FM_TRY(fm_products_gram(gram_h, Ht, msg));
    FM_TRY(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg));
    double residual;
    FM_TRY(fm_loss_residual(&residual, g, &rows, W, Ht, gram_w, gram_h, msg));
    *rmse = sqrt(residual / fm_graph_omega(g));
    FM_TRY(fm_edges_return(&rows, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

double fm_rmse_triplets(const fm_triplets *t, const fm_dense *W, const fm_dense *H)
{
    const int64_t k = W->cols, n = H->cols;
    double sq = 0;
    for (int64_t e = 0; e < t->count; e++) {
        double p = 0;
        for (int64_t r = 0; r < k; r++) p += (double)W->data[t->row[e] * k + r] * H->data[r * n + t->col[e]];
        sq += (t->val[e] - p) * (t->val[e] - p);
    }
    return t->count ? sqrt(sq / t->count) : NAN;
}
