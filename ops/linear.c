// Linear layer, float and double builds of ops/linear.inc.
#include "linear.h"

#include <cblas.h>
#include <stdlib.h>

#include "profile.h"
#include "row_blocks.h"
#include "status.h"

#define fm_real float
#define FM_R(name) name
#define FM_GEMM cblas_sgemm
#define FM_OP(name) name
#include "linear.inc"
#undef fm_real
#undef FM_R
#undef FM_GEMM
#undef FM_OP

#define fm_real double
#define FM_R(name) name##_f64
#define FM_GEMM cblas_dgemm
#define FM_OP(name) name ".f64"
#include "linear.inc"
#undef fm_real
#undef FM_R
#undef FM_GEMM
#undef FM_OP
