// NeuralIF's parameters and network (P5): the tensors of the MLPs, and the
// float and double builds of neuralif_net.inc.
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "neuralif_model.h"
#include "status.h"

void fm_nif_mlp_widths(int mlp, int hidden, int *in, int *out)
{
    (void)hidden;
    const int F = FM_NIF_FEATURES;
    switch (mlp) {
    case FM_NIF_E1: *in = 2 * F + 2; *out = 1; break;   // [x_i, x_j, e_ij, â_ij]
    case FM_NIF_N1: *in = F + 1; *out = F; break;       // [x_i, mean_j e'_ij]
    case FM_NIF_E2: *in = 2 * F + 1; *out = 1; break;   // [x'_j, x'_i, e'_ij]
    default: *in = F + 1; *out = F; break;              // [x'_j, Σ_i e''_ij]
    }
}

int fm_nif_tensor_count(const fm_nif_config *config)
{
    return 4 * (FM_NIF_MLPS * config->blocks - 1);
}

int fm_nif_specs(fm_tensor_spec *specs, char (*names)[FM_NIF_NAME], const fm_nif_config *config,
                 char *msg)
{
#define FREE_ALL do { } while (0)
    FM_CHECK(config->blocks >= 1 && config->blocks <= FM_NIF_MAX_BLOCKS && config->hidden >= 1 &&
                 config->hidden <= 4096,
             FM_ERR_INVALID, "NeuralIF: %d blocks of hidden width %d (1 to %d blocks, width 1 to 4096)",
             config->blocks, config->hidden, FM_NIF_MAX_BLOCKS);
    static const char *const mlp_name[FM_NIF_MLPS] = { "edge1", "node1", "edge2", "node2" };
    int t = 0;
    for (int b = 0; b < config->blocks; b++)
        for (int mlp = 0; mlp < FM_NIF_MLPS; mlp++) {
            if (b == config->blocks - 1 && mlp == FM_NIF_N2) break;
            int in, out;
            fm_nif_mlp_widths(mlp, config->hidden, &in, &out);
            const int rows[4] = { config->hidden, config->hidden, out, out };
            const int cols[4] = { in, 1, config->hidden, 1 };
            static const char *const part[4] = { "w1", "b1", "w2", "b2" };
            for (int q = 0; q < 4; q++, t++) {
                snprintf(names[t], FM_NIF_NAME, "block%d.%s.%s", b + 1, mlp_name[mlp], part[q]);
                specs[t] = (fm_tensor_spec){ names[t], rows[q], cols[q] };
            }
        }
    return FM_OK;
#undef FREE_ALL
}

int fm_nif_params_new(fm_params **out, const fm_nif_config *config, char *msg)
{
    fm_tensor_spec *specs = NULL;
    char (*names)[FM_NIF_NAME] = NULL;
#define FREE_ALL do { free(specs); free(names); } while (0)
    FM_CHECK(config->blocks >= 1 && config->blocks <= FM_NIF_MAX_BLOCKS, FM_ERR_INVALID,
             "NeuralIF: %d blocks (1 to %d)", config->blocks, FM_NIF_MAX_BLOCKS);
    const int count = fm_nif_tensor_count(config);
    FM_ALLOC(specs, count);
    FM_ALLOC(names, count);
    FM_TRY(fm_nif_specs(specs, names, config, msg));
    FM_TRY(fm_params_new(out, specs, count, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

#define FM_BODY "neuralif_net.inc"
#include "instantiate.h"
