// The attention block of a Factormer layer, instantiated for float and double.
#include <stdlib.h>
#include <string.h>

#include "attention_block.h"
#include "gemm_rows.h"
#include "linear.h"
#include "status.h"

#define fm_real float
#define FM_R(name) name
#include "attention_block.inc"
#undef fm_real
#undef FM_R

#define fm_real double
#define FM_R(name) name##_f64
#include "attention_block.inc"
