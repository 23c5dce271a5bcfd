// ReLU, float and double builds of ops/relu.inc.
#include "relu.h"

#include "profile.h"

#define fm_real float
#define FM_R(name) name
#define FM_OP(name) name
#include "relu.inc"
#undef fm_real
#undef FM_R
#undef FM_OP

#define fm_real double
#define FM_R(name) name##_f64
#define FM_OP(name) name ".f64"
#include "relu.inc"
#undef fm_real
#undef FM_R
#undef FM_OP
