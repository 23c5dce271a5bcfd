// Learned LU inference (P6): the network's factors for a matrix, scaled back
// to A (P2).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learned_lu.h"
#include "learned_lu_model.h"
#include "status.h"

int fm_llu_input_new(fm_llu_input **out, const fm_square *A, char *msg)
{
    fm_llu_input *input = NULL;
#define FREE_ALL fm_llu_input_free(&input)
    FM_ALLOC(input, 1);
    FM_TRY(fm_square_scaled(&input->scaled, A, msg));
    FM_TRY(fm_edge_set_from_matrix(&input->edges, input->scaled, msg));
    const fm_csr *a = input->scaled->A;
    FM_ALLOC(input->diagonal, a->count);
    for (int64_t i = 0; i < a->n; i++)
        for (int64_t k = a->start[i]; k < a->start[i + 1]; k++) input->diagonal[k] = a->index[k] == i;
    FM_TRY(fm_llu_features(&input->features, input->scaled, msg));
    FM_ALLOC(input->edge_inputs, FM_LLU_EDGE_INPUTS * a->count);
    fm_llu_edge_inputs(input->edge_inputs, input->scaled);
    *out = input;
    return FM_OK;
#undef FREE_ALL
}

void fm_llu_input_free(fm_llu_input **input)
{
    if (!input || !*input) return;
    fm_edge_set_free(&(*input)->edges);
    fm_square_free(&(*input)->scaled);
    free((*input)->diagonal);
    free((*input)->features);
    free((*input)->edge_inputs);
    free(*input);
    *input = NULL;
}

int fm_llu_factor_with(fm_csr **L, fm_csr **U, const fm_llu_config *config, fm_params *params, int output,
                       const fm_square *A, fm_learned_lu_info *info, char *msg)
{
    fm_llu_input *input = NULL;
    fm_llu_net *net = NULL;
    float *z = NULL;
    double *zd = NULL, *v = NULL;
#define FREE_ALL do { fm_llu_input_free(&input); fm_llu_net_free(&net); free(z); free(zd); free(v); } while (0)
    FM_CHECK(L && !*L && U && !*U && config && params && A, FM_ERR_INVALID, "fm_llu_factor_with: bad arguments");
    FM_TRY(fm_llu_input_new(&input, A, msg));
    const int64_t n = A->n, E = input->scaled->A->count;
    FM_TRY(fm_llu_net_new(&net, config, n, E, msg));
    for (int64_t c = 0; c < n * FM_LLU_FEATURES; c++) net->x0[c] = (float)input->features[c];
    for (int64_t c = 0; c < E * FM_LLU_EDGE_INPUTS; c++) net->e0[c] = (float)input->edge_inputs[c];
    FM_ALLOC(z, E);
    FM_ALLOC(zd, E);
    FM_ALLOC(v, E);
    fm_llu_forward(net, z, params, params->values, input->edges);
    int64_t clamped = 0;
    for (int64_t k = 0; k < E; k++) {
        zd[k] = z[k];
        FM_CHECK(isfinite(zd[k]), FM_ERR_NUMERIC, "learned LU: the network's output is not finite (entry %lld)",
                 (long long)k);
        clamped += input->diagonal[k] && fabs(zd[k]) < FM_LLU_EPSILON;
    }
    // the step of inference (P6): no diagonal of L̂ nearer zero than ε
    fm_llu_factor_values(v, zd, input->diagonal, E, false);
    if (output == FM_LLU_OUTPUT_SCALED) fm_llu_times_entries(v, input->edge_inputs, input->diagonal, E);
    FM_TRY(fm_llu_factors(L, U, A, A->scale, v, msg));
    if (info) info->clamped = clamped;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
