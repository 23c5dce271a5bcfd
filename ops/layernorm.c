// Layer normalization, float and double builds of ops/layernorm.inc.
#include "layernorm.h"

#include <math.h>
#include <stdlib.h>

#include "profile.h"
#include "row_blocks.h"
#include "status.h"

#define fm_real float
#define FM_R(name) name
#define FM_OP(name) name
#include "layernorm.inc"
#undef fm_real
#undef FM_R
#undef FM_OP

#define fm_real double
#define FM_R(name) name##_f64
#define FM_OP(name) name ".f64"
#include "layernorm.inc"
#undef fm_real
#undef FM_R
#undef FM_OP
