// The masked Frobenius loss and RMSE (§1).
#include "loss.h"

#include <math.h>

#include "factormer.h"
#include "ordered_sum.h"
#include "products.h"
#include "profile.h"
#include "status.h"

// ‖WH‖² = Σ (WᵀW ⊙ HHᵀ)
static double product_norm(const double *gram_w, const double *gram_h, int k)
{
    double sum = 0;
    for (int e = 0; e < k * k; e++) sum += gram_w[e] * gram_h[e];
    return sum;
}

double fm_loss_expansion(const fm_graph *g, const fm_dense *W, const fm_dense *XHt, const double *gram_w,
                         const double *gram_h)
{
    FM_PROFILE_START(profile_clock);
    const int k = (int)W->cols;
    const int64_t size = W->rows * k;
    double slabs[FM_SUM_SLABS];
#pragma omp parallel for schedule(static)
    for (int s = 0; s < FM_SUM_SLABS; s++) {
        double dot = 0;
        for (int64_t e = fm_slab_begin(size, s); e < fm_slab_begin(size, s + 1); e++)
            dot += (double)W->data[e] * XHt->data[e];
        slabs[s] = dot;
    }
    const double estimate = g->stats.sumsq - 2 * fm_slab_total(slabs) + product_norm(gram_w, gram_h, k);
    // flops 2·k² (‖WH‖²) + 2·m·k (⟨X,WH⟩ = ⟨W, X·Hᵀ⟩); bytes: the two Grams
    // (16·k²), W and X·Hᵀ (8·m·k)
    const double kk = (double)k * k;
    FM_PROFILE_STOP(profile_clock, "loss.expansion", 2 * kk + 2.0 * size, 16 * kk + 8.0 * size);
    return estimate;
}

int fm_loss_residual(double *residual, const fm_graph *g, const fm_edges *row_edges, const fm_dense *W,
                     const fm_dense *Ht, const double *gram_w, const double *gram_h, char *msg)
{
    double dot = 0, sq = 0;
    switch (g->stats.kind) {
    case FM_KIND_DENSE: return fm_products_dense_residual(residual, row_edges, W, Ht, msg);
    case FM_KIND_INCOMPLETE:
        fm_products_edge_sums(&dot, &sq, row_edges, W, Ht);
        *residual = sq;
        return FM_OK;
    default: {
        fm_products_edge_sums(&dot, &sq, row_edges, W, Ht);
        const double exact = g->stats.sumsq - 2 * dot + product_norm(gram_w, gram_h, (int)W->cols);
        *residual = exact > 0 ? exact : 0;
        return FM_OK;
    }
    }
}

double fm_loss_residual_triplets(const fm_triplets *t, const fm_dense *W, const fm_dense *Ht)
{
    FM_PROFILE_START(profile_clock);
    const int k = (int)W->cols;
    double slabs[FM_SUM_SLABS];
#pragma omp parallel for schedule(static)
    for (int s = 0; s < FM_SUM_SLABS; s++) {
        double sq = 0;
        for (int64_t e = fm_slab_begin(t->count, s); e < fm_slab_begin(t->count, s + 1); e++) {
            const float *w = W->data + t->row[e] * k, *h = Ht->data + t->col[e] * k;
            double p = 0;
            for (int r = 0; r < k; r++) p += (double)w[r] * h[r];
            double r = t->val[e] - p;
            sq += r * r;
        }
        slabs[s] = sq;
    }
    const double sq = fm_slab_total(slabs);
    // flops N·(2k + 3); bytes: the entries (20·N), a row of W and of Hᵀ per
    // entry (8·N·k)
    const double N = (double)t->count;
    FM_PROFILE_STOP(profile_clock, "loss.holdout", N * (2.0 * k + 3), 20 * N + 8 * N * k);
    return sq;
}
