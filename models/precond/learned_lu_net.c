// The learned LU network's parameters, node features and edge inputs (P6),
// and the float and double builds of learned_lu_net.inc.
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learned_lu_model.h"
#include "linear.h"
#include "neuralif_model.h"
#include "profile.h"
#include "status.h"

#define FM_LLU_MAX_WIDTH 4096

static bool config_ok(const fm_llu_config *config)
{
    return config && config->layers >= 1 && config->layers <= FM_LLU_MAX_LAYERS &&
           config->width >= 1 && config->width <= FM_LLU_MAX_WIDTH;
}

static int check_config(const fm_llu_config *config, char *msg)
{
#define FREE_ALL do { } while (0)
    FM_CHECK(config, FM_ERR_INVALID, "learned LU: no configuration");
    FM_CHECK(config_ok(config), FM_ERR_INVALID,
             "learned LU: %d layers of width %d (1 to %d layers, width 1 to %d)", config->layers,
             config->width, FM_LLU_MAX_LAYERS, FM_LLU_MAX_WIDTH);
    return FM_OK;
#undef FREE_ALL
}

void fm_llu_mlp_widths(const fm_llu_config *config, int layer, int mlp, int *in, int *out)
{
    const int w = config->width;
    const int dx = layer == 0 ? FM_LLU_FEATURES : w;   // x^{l-1}: the features, then width w
    const int de = layer == 0 ? 0 : w;                 // e^{l-1}: empty in layer 1
    if (mlp == FM_LLU_EDGE) {   // [x_i, x_j, e_k, â_k, c_k]
        *in = 2 * dx + de + FM_LLU_EDGE_INPUTS;
        *out = layer == config->layers - 1 ? 1 : w;
    } else {                    // [x_i, mean_{k ∈ row i} e_k]
        *in = dx + w;
        *out = w;
    }
}

int fm_llu_tensor_count(const fm_llu_config *config)
{
    return config_ok(config) ? 4 * (FM_LLU_MLPS * config->layers - 1) : 0;
}

int fm_llu_specs(fm_tensor_spec *specs, char (*names)[FM_LLU_NAME], const fm_llu_config *config,
                 char *msg)
{
#define FREE_ALL do { } while (0)
    FM_TRY(check_config(config, msg));
    static const char *const mlp_name[FM_LLU_MLPS] = { "edge", "node" };
    static const char *const part[4] = { "w1", "b1", "w2", "b2" };
    const int w = config->width;
    int t = 0;
    for (int l = 0; l < config->layers; l++)
        for (int mlp = 0; mlp < FM_LLU_MLPS; mlp++) {
            if (l == config->layers - 1 && mlp == FM_LLU_NODE) break;   // x^L is never read
            int in, out;
            fm_llu_mlp_widths(config, l, mlp, &in, &out);
            const int rows[4] = { w, w, out, out }, cols[4] = { in, 1, w, 1 };
            for (int q = 0; q < 4; q++, t++) {
                snprintf(names[t], FM_LLU_NAME, "layer%d.%s.%s", l + 1, mlp_name[mlp], part[q]);
                specs[t] = (fm_tensor_spec){ names[t], rows[q], cols[q] };
            }
        }
    return FM_OK;
#undef FREE_ALL
}

int fm_llu_params_new(fm_params **out, const fm_llu_config *config, char *msg)
{
    fm_tensor_spec *specs = NULL;
    char (*names)[FM_LLU_NAME] = NULL;
#define FREE_ALL do { free(specs); free(names); } while (0)
    FM_TRY(check_config(config, msg));
    const int count = fm_llu_tensor_count(config);
    FM_ALLOC(specs, count);
    FM_ALLOC(names, count);
    FM_TRY(fm_llu_specs(specs, names, config, msg));
    FM_TRY(fm_params_new(out, specs, count, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// Node features and edge inputs (P6)
//------------------------------------------------------------------------------

// The features of P6 are NeuralIF's (P5), which already read every entry of
// each row of Â (scaled->A), not only its lower part: one definition, one code.
_Static_assert(FM_LLU_FEATURES == FM_NIF_FEATURES, "P6's node features are P5's");

int fm_llu_features(double **out, const fm_square *scaled, char *msg)
{
#define FREE_ALL do { } while (0)
    FM_CHECK(out && *out == NULL, FM_ERR_INVALID, "fm_llu_features: *out must be NULL");
    FM_CHECK(scaled && scaled->A && scaled->A->n == scaled->n, FM_ERR_INVALID,
             "fm_llu_features: no matrix");
    return fm_nif_features(out, scaled, msg);
#undef FREE_ALL
}

void fm_llu_edge_inputs(double *out, const fm_square *scaled)
{
    const fm_csr *A = scaled->A;
    #pragma omp parallel for schedule(static) if (A->count > 65536)
    for (int64_t i = 0; i < A->n; i++)
        for (int64_t k = A->start[i]; k < A->start[i + 1]; k++) {
            const int64_t j = A->index[k];
            out[2 * k] = A->value[k];
            out[2 * k + 1] = i > j ? -1.0 : i == j ? 0.0 : 1.0;   // the position code c_k
        }
}

#define FM_BODY "learned_lu_net.inc"
#include "instantiate.h"
