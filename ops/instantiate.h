// Builds a body written once for the scalar type fm_real twice: float (the
// engine's path, names as written) and double (suffix _f64, for the
// finite-difference tests). The includer defines FM_BODY as the body's file
// name ("linear.inc") and includes this header once.
//
// In the body: fm_real, FM_R(name) for every external name, FM_OP(name) for
// a profile entry, FM_GEMM, FM_EXP, FM_LOG, FM_SQRT, and FM_EXP_SIMD for
// exp x, x <= 0, in loops that should vectorize (engine/fast_math.h; the
// double build keeps libm's exp).
#include <math.h>

#include <cblas.h>

#include "cpu.h"
#include "fast_math.h"

#define fm_real float
#define FM_R(name) name
#define FM_OP(name) name
#define FM_GEMM cblas_sgemm
#define FM_EXP expf
#define FM_EXP_SIMD fm_fast_expf
#define FM_LOG logf
#define FM_SQRT sqrtf
#include FM_BODY
#include "instantiate_end.h"

#define fm_real double
#define FM_R(name) name##_f64
#define FM_OP(name) name ".f64"
#define FM_GEMM cblas_dgemm
#define FM_EXP exp
#define FM_EXP_SIMD exp
#define FM_LOG log
#define FM_SQRT sqrt
#include FM_BODY
#include "instantiate_end.h"
