// Extrapolation of the exact phase; see extrapolate.h.
#include "extrapolate.h"

#include <string.h>

#include "status.h"

// β₀ = 0.5 under β̄₀ = 1, cut by η = 1.5 on a refusal, grown by γ = 1.02
// (β̄ by γ̄ = 1.005) on each accepted iterate: on a noise-free planted
// 1000 x 500 rank-10 matrix, γ = 1.05 / γ̄ = 1.01 (closer to Ang & Gillis's)
// refused 119 of 1000 iterates and ended at RMSE 2.8e-5, γ = 1.02 / 1.005
// refused 48 and ended at 1.2e-5, γ = 1.01 / 1.002 24 and 1.5e-5.
#define FM_EXTRAPOLATION_BETA 0.5
#define FM_EXTRAPOLATION_CUT 1.5
#define FM_EXTRAPOLATION_GROW 1.02
#define FM_EXTRAPOLATION_GROW_CEILING 1.005

void fm_extrapolation_free(fm_extrapolation *e)
{
    fm_dense_free(&e->W);
    fm_dense_free(&e->Ht);
    fm_dense_free(&e->XtW);
}

int fm_extrapolation_start(fm_extrapolation *e, const fm_dense *W, const fm_dense *Ht, const fm_dense *XtW,
                           const fm_row_objective *row, char *msg)
{
#define FREE_ALL fm_extrapolation_free(e)
    fm_extrapolation_free(e);
    memset(e, 0, sizeof *e);
    FM_TRY(fm_dense_copy(&e->W, W, msg));
    FM_TRY(fm_dense_copy(&e->Ht, Ht, msg));
    if (XtW) FM_TRY(fm_dense_copy(&e->XtW, XtW, msg));
    e->beta = FM_EXTRAPOLATION_BETA;
    e->ceiling = 1;
    e->accepted = *row;
    return FM_OK;
#undef FREE_ALL
}

// y = x + β (x − p), p = x: the move of one array from its accepted
// predecessor p.
static void move(float *restrict x, float *restrict p, int64_t count, float beta)
{
#pragma omp parallel for simd schedule(static) if (count > 100000)
    for (int64_t e = 0; e < count; e++) {
        const float now = x[e];
        x[e] = now + beta * (now - p[e]);
        p[e] = now;
    }
}

static void copy(fm_dense *to, const fm_dense *from)
{
    memcpy(to->data, from->data, sizeof(float) * from->rows * from->cols);
}

void fm_extrapolation_move(fm_extrapolation *e, fm_dense *W, fm_dense *Ht, fm_dense *XtW)
{
    if (!e->moved) return;
    const float beta = (float)e->beta;
    move(W->data, e->W->data, W->rows * W->cols, beta);
    move(Ht->data, e->Ht->data, Ht->rows * Ht->cols, beta);
    if (XtW && e->XtW) move(XtW->data, e->XtW->data, XtW->rows * XtW->cols, beta);
}

fm_extrapolation_verdict fm_extrapolation_judge(fm_extrapolation *e, fm_dense *W, fm_dense *Ht, fm_dense *XtW,
                                                fm_row_objective *row)
{
    if (row->f <= e->accepted.f) {
        e->accepted = *row;
        e->moved = true;
        e->beta *= FM_EXTRAPOLATION_GROW;
        if (e->beta > e->ceiling) e->beta = e->ceiling;
        e->ceiling *= FM_EXTRAPOLATION_GROW_CEILING;
        if (e->ceiling > 1) e->ceiling = 1;
        return FM_EXTRAPOLATION_KEPT;
    }
    // refused: back to the accepted iterate, which the last move kept (or
    // the start copied) in e->W, e->Ht, e->XtW
    copy(W, e->W);
    copy(Ht, e->Ht);
    if (XtW && e->XtW) copy(XtW, e->XtW);
    if (!e->moved) {   // a step from the accepted iterate itself: rounding
        *row = e->accepted;
        return FM_EXTRAPOLATION_STILL;
    }
    e->moved = false;
    e->ceiling = e->beta;
    e->beta /= FM_EXTRAPOLATION_CUT;
    e->refused++;
    return FM_EXTRAPOLATION_REDO;
}
