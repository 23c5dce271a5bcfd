// The data of P7: options, seeds, right-hand sides and the (A, b) pairs the
// trainer and the CLI draw (models/precond/spd_data.h; the matrices:
// spd_random.c, spd_diffusion.c).
#include "spd_data.h"
#include "status.h"

#include <inttypes.h>
#include <stdlib.h>

void fm_spd_defaults(fm_spd_options *options)
{
    *options = (fm_spd_options){
        .density = 1e-3,
        .density_factor = 1.0,
        .ood = false,
        .alpha = 1e-3,
        .modes = 12,
        .contrast = 1e3,
        .rhs_ones = false,
    };
}

fm_rng fm_spd_key(uint64_t seed, uint64_t purpose)
{
    const fm_rng base = fm_rng_stream(seed, FM_STREAM_SPD);
    return (fm_rng){ fm_rng_bits(base, purpose) };
}

int fm_spd_seed(uint64_t *seed, fm_spd_set set, int64_t index, char *msg)
{
#define FREE_ALL ((void)0)
    FM_CHECK(seed, FM_ERR_INVALID, "fm_spd_seed: the output must be non-NULL");
    FM_CHECK(set == FM_SPD_TRAIN || set == FM_SPD_TEST || set == FM_SPD_VALIDATION, FM_ERR_INVALID,
             "fm_spd_seed: unknown set %d", (int)set);
    FM_CHECK(index >= 0 && index < FM_SPD_SEEDS_PER_SET, FM_ERR_INVALID, "fm_spd_seed: matrix %" PRId64
             " of a set, expected 0..%" PRId64 " (each set has seeds of its own)", index, FM_SPD_SEEDS_PER_SET - 1);
    *seed = (uint64_t)set * (uint64_t)FM_SPD_SEEDS_PER_SET + (uint64_t)index;
    return FM_OK;
#undef FREE_ALL
}

int fm_spd_rhs(double **b, int64_t n, uint64_t seed, const fm_spd_options *options, char *msg)
{
    double *x = NULL;
#define FREE_ALL free(x)
    FM_CHECK(b && !*b, FM_ERR_INVALID, "fm_spd_rhs: output handle must be non-NULL and empty");
    FM_CHECK(n >= 1 && n <= FM_MAX_DIMENSION, FM_ERR_INVALID, "fm_spd_rhs: n = %" PRId64 " must be positive", n);
    const bool ones = options && options->rhs_ones;
    const fm_rng key = fm_spd_key(seed, FM_SPD_DRAW_RHS);
    FM_ALLOC(x, n);
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) x[i] = ones ? 1.0 : fm_rng_uniform(key, (uint64_t)i);
    *b = x;
    return FM_OK;
#undef FREE_ALL
}

int fm_spd_generate(fm_system_matrix **A, double **b, fm_spd_kind kind, int64_t size, uint64_t seed,
                    const fm_spd_options *options, char *msg)
{
    fm_system_matrix *a = NULL;
#define FREE_ALL fm_system_matrix_free(&a)
    FM_CHECK(A && !*A && (!b || !*b), FM_ERR_INVALID, "fm_spd_generate: output handles must be non-NULL and empty");
    if (kind == FM_SPD_RANDOM) FM_TRY(fm_spd_random(&a, size, seed, options, msg));
    else if (kind == FM_SPD_DIFFUSION) FM_TRY(fm_spd_diffusion(&a, size, seed, options, msg));
    else FM_FAIL(FM_ERR_INVALID, "fm_spd_generate: unknown kind %d", (int)kind);
    if (b) FM_TRY(fm_spd_rhs(b, a->n, seed, options, msg));
    *A = a;
    return FM_OK;
#undef FREE_ALL
}
