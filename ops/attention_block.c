// The attention block of a Factormer layer, instantiated for float and double.
#include <stdlib.h>
#include <string.h>

#include "attention_block.h"
#include "gemm_rows.h"
#include "linear.h"
#include "status.h"

#define FM_BODY "attention_block.inc"
#include "instantiate.h"
