// One Factormer layer, instantiated for float and double.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "factormer_layer.h"
#include "ffn.h"
#include "layernorm.h"
#include "linear.h"
#include "status.h"

// Order matters: fm_layer_bind reads the tensors in this order.
void fm_layer_specs(fm_tensor_spec specs[FM_LAYER_TENSORS], char names[FM_LAYER_TENSORS][FM_LAYER_NAME],
                    const char *prefix, int width)
{
    const int d = width;
    const fm_tensor_spec own[FM_LAYER_TENSORS] = {
        {"query.weight", d, d},      {"query.bias", d, 1},        {"key.weight", d, d},
        {"key.bias", d, 1},          {"value.weight", d, d},      {"value.bias", d, 1},
        {"edge_key.scale", d, 1},    {"edge_key.weight", d, d},   {"edge_value.scale", d, 1},
        {"edge_value.weight", d, d}, {"edge_value.bias", d, 1},   {"output.weight", d, d},
        {"output.bias", d, 1},       {"norm1.gamma", d, 1},       {"norm1.beta", d, 1},
        {"ffn.weight1", 2 * d, d},   {"ffn.bias1", 2 * d, 1},     {"ffn.weight2", d, 2 * d},
        {"ffn.bias2", d, 1},         {"norm2.gamma", d, 1},       {"norm2.beta", d, 1},
    };
    for (int k = 0; k < FM_LAYER_TENSORS; k++) {
        snprintf(names[k], FM_LAYER_NAME, "%s%s", prefix, own[k].name);
        specs[k] = (fm_tensor_spec){names[k], own[k].rows, own[k].cols};
    }
}

// The layer's own saved reals per target: messages, residual1, normed1,
// hidden (2d) and residual2 (6d), and mean1, rstd1, mean2, rstd2.
static int64_t layer_own_count(fm_attention_shape shape)
{
    return 6 * shape.targets * shape.width + 4 * shape.targets;
}

int64_t fm_layer_saved_count(fm_attention_shape shape)
{
    return fm_attention_saved_count(shape) + layer_own_count(shape);
}

#define FM_BODY "factormer_layer.inc"
#include "instantiate.h"
