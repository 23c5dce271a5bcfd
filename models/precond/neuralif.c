// NeuralIF inference (P5): the network's factor for a matrix, with the
// inference options, scaled back to A (P2).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "neuralif.h"
#include "neuralif_model.h"
#include "status.h"

void fm_neuralif_defaults(fm_neuralif_options *opt)
{
    opt->drop_tolerance = 0;
    opt->normalize_diag = false;
}

int fm_nif_input_new(fm_nif_input **out, const fm_square *A, char *msg)
{
    fm_nif_input *input = NULL;
#define FREE_ALL fm_nif_input_free(&input)
    FM_ALLOC(input, 1);
    FM_TRY(fm_square_scaled(&input->scaled, A, msg));
    FM_TRY(fm_edge_set_from_lower(&input->by_rows, input->scaled, FM_LOWER_BY_ROWS, msg));
    FM_TRY(fm_edge_set_from_lower(&input->by_columns, input->scaled, FM_LOWER_BY_COLUMNS, msg));
    const fm_csr *lower = input->scaled->lower;
    FM_ALLOC(input->diagonal, lower->count);
    for (int64_t i = 0; i < lower->n; i++)
        for (int64_t k = lower->start[i]; k < lower->start[i + 1]; k++)
            input->diagonal[k] = lower->index[k] == i;
    FM_TRY(fm_nif_features(&input->features, input->scaled, msg));
    *out = input;
    return FM_OK;
#undef FREE_ALL
}

void fm_nif_input_free(fm_nif_input **input)
{
    if (!input || !*input) return;
    fm_edge_set_free(&(*input)->by_rows);
    fm_edge_set_free(&(*input)->by_columns);
    fm_square_free(&(*input)->scaled);
    free((*input)->diagonal);
    free((*input)->features);
    free(*input);
    *input = NULL;
}

// l̂ (E doubles) for the prepared input: the float network, then P5's map.
static int network_factor(double *l, const fm_nif_config *config, fm_params *params,
                          const fm_nif_input *input, char *msg)
{
    fm_nif_net *net = NULL;
    float *z = NULL;
    double *zd = NULL;
#define FREE_ALL do { fm_nif_net_free(&net); free(z); free(zd); } while (0)
    const fm_csr *lower = input->scaled->lower;
    const int64_t n = lower->n, E = lower->count;
    FM_TRY(fm_nif_net_new(&net, config, n, E, msg));
    FM_ALLOC(z, E);
    FM_ALLOC(zd, E);
    for (int64_t c = 0; c < n * FM_NIF_FEATURES; c++) net->x0[c] = (float)input->features[c];
    for (int64_t k = 0; k < E; k++) net->e0[k] = (float)lower->value[k];
    fm_nif_forward(net, z, params, params->values, input->by_rows, input->by_columns);
    for (int64_t k = 0; k < E; k++) zd[k] = z[k];
    fm_nif_factor_values(l, zd, input->diagonal, E);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// The growth safeguard [ext]: L̂ L̂ᵀ is SPD for any network output, but on a
// matrix far from the training data L̂⁻¹ can grow exponentially along its
// dependency chains (seen: 1e112 on bcsstk16 with the diffusion model), and
// the triangular solves then overflow into a NaN that PCG reports as a
// breakdown. While y = L̂⁻¹ 1 has an entry that is not finite or above
// FM_NIF_GROWTH_LIMIT, the diagonal is multiplied by 1 + α, α = 1e-3 then
// doubling (IC(0)'s shifted retry, P4, on the factor instead of on A); the
// α used is reported.

static bool grows(const fm_csr *L, double *y, double *ones)
{
    fm_solve_lower_reference(L, ones, y);
    for (int64_t i = 0; i < L->n; i++)
        if (!(fabs(y[i]) <= FM_NIF_GROWTH_LIMIT)) return true;
    return false;
}

int fm_nif_bound_growth(fm_csr *L, fm_neuralif_info *info, char *msg)
{
    double *y = NULL, *ones = NULL, *diagonal = NULL;
#define FREE_ALL do { free(y); free(ones); free(diagonal); } while (0)
    const int64_t n = L->n;
    FM_ALLOC(y, n);
    FM_ALLOC(ones, n);
    FM_ALLOC(diagonal, n);
    for (int64_t i = 0; i < n; i++) {
        ones[i] = 1;
        diagonal[i] = L->value[L->start[i + 1] - 1];
    }
    double alpha = 0;
    int tries = 1;
    while (grows(L, y, ones)) {
        FM_CHECK(tries < FM_NIF_SHIFT_TRIES, FM_ERR_NUMERIC,
                 "NeuralIF: the factor's inverse overflows even with its diagonal times %g", 1 + alpha);
        alpha = alpha == 0 ? 1e-3 : 2 * alpha;
        for (int64_t i = 0; i < n; i++) L->value[L->start[i + 1] - 1] = (1 + alpha) * diagonal[i];
        tries++;
    }
    info->shift = alpha;
    info->tries = tries;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_nif_factor_with(fm_csr **L, const fm_nif_config *config, fm_params *params, const fm_square *A,
                       const fm_neuralif_options *opt, fm_neuralif_info *info, char *msg)
{
    fm_nif_input *input = NULL;
    double *l = NULL;
    fm_csr *factor = NULL;
#define FREE_ALL do { fm_nif_input_free(&input); free(l); fm_csr_free(&factor); } while (0)
    FM_TRY(fm_nif_input_new(&input, A, msg));
    const fm_csr *lower = input->scaled->lower;
    const int64_t n = lower->n, E = lower->count;
    FM_ALLOC(l, E);
    FM_TRY(network_factor(l, config, params, input, msg));
    for (int64_t k = 0; k < E; k++)
        FM_CHECK(isfinite(l[k]), FM_ERR_NUMERIC,
                 "NeuralIF: the network's factor has a non-finite entry (edge %lld)", (long long)k);
    int64_t kept = 0;
    for (int64_t k = 0; k < E; k++)
        kept += input->diagonal[k] || fabs(l[k]) > opt->drop_tolerance;
    FM_TRY(fm_csr_new(&factor, n, kept, msg));
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        // normalize_diag (P5): scale row i so that (L̂ L̂ᵀ)_ii = Σ_k l̂_ik² equals â_ii (= 1)
        double row_scale = 1;
        if (opt->normalize_diag) {
            double norm2 = 0;
            for (int64_t k = lower->start[i]; k < lower->start[i + 1]; k++) norm2 += l[k] * l[k];
            row_scale = norm2 > 0 ? 1 / sqrt(norm2) : 1;
        }
        for (int64_t k = lower->start[i]; k < lower->start[i + 1]; k++) {
            if (!input->diagonal[k] && fabs(l[k]) <= opt->drop_tolerance) continue;
            factor->index[at] = lower->index[k];
            factor->value[at] = row_scale * l[k];
            at++;
        }
        factor->start[i + 1] = at;
    }
    fm_neuralif_info growth;
    FM_TRY(fm_nif_bound_growth(factor, &growth, msg));
    if (info) *info = growth;
    // L = D^{1/2} L̂ (P2): row i times sqrt|a_ii|
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = factor->start[i]; k < factor->start[i + 1]; k++) factor->value[k] *= A->scale[i];
    *L = factor;
    factor = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
