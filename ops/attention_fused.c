// The fused edge attention, instantiated for float (the engine's path) and
// double (the finite-difference tests).
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include <cblas.h>
#include <omp.h>

#include "attention_fused.h"
#include "profile.h"
#include "status.h"

#define fm_real float
#define FM_R(name) name
#define FM_EXP expf
#define FM_LOG logf
#define FM_SQRT sqrtf
#define FM_GEMM cblas_sgemm
#include "attention_fused.inc"
#undef fm_real
#undef FM_R
#undef FM_EXP
#undef FM_LOG
#undef FM_SQRT
#undef FM_GEMM
#undef FM_TILE_TARGETS
#undef FM_TILE_SOURCES

#define fm_real double
#define FM_R(name) name##_f64
#define FM_EXP exp
#define FM_LOG log
#define FM_SQRT sqrt
#define FM_GEMM cblas_dgemm
#include "attention_fused.inc"
