// The ADMM steps of one target (§3), shared by the update routines of
// ops/admm.c and ops/admm_full.c.
#ifndef FM_ADMM_TARGET_H
#define FM_ADMM_TARGET_H

// The three ADMM lines for one target, given T̃ already solved.
static inline void admm_project(float *restrict t, float *restrict u, const float *restrict tt,
                                float shrink, int k)
{
    for (int r = 0; r < k; r++) {
        float v = tt[r] - u[r] - shrink;
        float tn = v > 0 ? v : 0;
        u[r] += tn - tt[r];
        t[r] = tn;
    }
}

// `inner` steps for one target with the shared inverse (symmetric, so its
// columns are its rows): T̃ = Σ_c b_c · inverse[c], an axpy per c.
static inline void admm_target_shared(float *restrict t, float *restrict u, const float *restrict f,
                                      const float *restrict inverse, float rho, float shrink, int inner,
                                      int k)
{
    float b[k], tt[k];
    for (int step = 0; step < inner; step++) {
        for (int r = 0; r < k; r++) {
            b[r] = f[r] + rho * (t[r] + u[r]);
            tt[r] = 0;
        }
        for (int c = 0; c < k; c++)
            for (int r = 0; r < k; r++) tt[r] += b[c] * inverse[c * k + r];
        admm_project(t, u, tt, shrink, k);
    }
}

#endif
