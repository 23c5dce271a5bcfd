// The kinds of learned model (model_kind.h).
#include "model_kind.h"

const char *fm_model_kind_name(fm_model_kind kind)
{
    switch (kind) {
    case FM_MODEL_INIT: return "initialization";
    case FM_MODEL_ACCEL: return "acceleration";
    case FM_MODEL_NEURALIF: return "neuralif";
    case FM_MODEL_LEARNED_LU: return "learned-lu";
    default: return "unknown";
    }
}
