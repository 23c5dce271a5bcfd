// The data of P7 for GMRES: kinds, options and the (A, b) pairs the trainer
// and the CLI draw (models/precond/general_data.h; the matrices:
// general_convection.c, general_random.c).
#include "general_data.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *fm_general_kind_name(fm_general_kind kind)
{
    switch (kind) {
    case FM_GENERAL_CONVECTION: return "convection";
    case FM_GENERAL_RANDOM: return "random";
    }
    return "unknown";
}

int fm_general_kind_parse(fm_general_kind *out, const char *text, char *msg)
{
#define FREE_ALL ((void)0)
    FM_CHECK(out, FM_ERR_INVALID, "fm_general_kind_parse: the output must be non-NULL");
    FM_CHECK(text, FM_ERR_INVALID, "fm_general_kind_parse: no text: expected convection or random");
    if (!strcmp(text, "convection")) *out = FM_GENERAL_CONVECTION;
    else if (!strcmp(text, "random")) *out = FM_GENERAL_RANDOM;
    else {
        char shown[96];
        fm_escape(shown, sizeof shown, text);
        FM_FAIL(FM_ERR_INVALID, "unknown kind of general matrix '%s': expected convection or random", shown);
    }
    return FM_OK;
#undef FREE_ALL
}

void fm_general_defaults(fm_general_options *options)
{
    *options = (fm_general_options){
        .modes = 8,
        .peclet_min = 0.1,
        .peclet_max = 100,
        .density = 1e-3,
        .alpha = 1e-3,
        .rhs_ones = false,
    };
}

void fm_general_random_defaults(fm_general_options *options, int64_t n)
{
    fm_general_defaults(options);
    options->density = n > 10 ? 10.0 / (double)n : 1.0;
}

int fm_general_generate(fm_system_matrix **A, double **b, fm_general_kind kind, int64_t size, uint64_t seed,
                        const fm_general_options *options, double *peclet, char *msg)
{
    fm_system_matrix *a = NULL;
#define FREE_ALL fm_system_matrix_free(&a)
    FM_CHECK(A && !*A && (!b || !*b), FM_ERR_INVALID, "fm_general_generate: output handles must be non-NULL and "
             "empty");
    double pe = NAN;
    if (kind == FM_GENERAL_CONVECTION) FM_TRY(fm_general_convection(&a, size, seed, options, &pe, msg));
    else if (kind == FM_GENERAL_RANDOM) FM_TRY(fm_general_random(&a, size, seed, options, msg));
    else FM_FAIL(FM_ERR_INVALID, "fm_general_generate: unknown kind %d", (int)kind);
    if (b) {
        // b ~ U(0, 1) (or ones) from the seed, as the SPD data's
        fm_spd_options rhs;
        fm_spd_defaults(&rhs);
        rhs.rhs_ones = options && options->rhs_ones;
        FM_TRY(fm_spd_rhs(b, a->n, seed, &rhs, msg));
    }
    if (peclet) *peclet = pe;
    *A = a;
    return FM_OK;
#undef FREE_ALL
}
