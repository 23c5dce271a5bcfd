// GEMMs over row blocks, instantiated for float and double.
#include <stdlib.h>

#include <cblas.h>

#include "gemm_rows.h"
#include "row_blocks.h"
#include "status.h"

#define fm_real float
#define FM_R(name) name
#define FM_GEMM cblas_sgemm
#include "gemm_rows.inc"
#undef fm_real
#undef FM_R
#undef FM_GEMM

#define fm_real double
#define FM_R(name) name##_f64
#define FM_GEMM cblas_dgemm
#include "gemm_rows.inc"
