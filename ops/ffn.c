// Feed-forward network, float and double builds of ops/ffn.inc.
#include "ffn.h"

#include <stdbool.h>

#include "linear.h"
#include "relu.h"
#include "status.h"

#define fm_real float
#define FM_R(name) name
#include "ffn.inc"
#undef fm_real
#undef FM_R

#define fm_real double
#define FM_R(name) name##_f64
#include "ffn.inc"
#undef fm_real
#undef FM_R
