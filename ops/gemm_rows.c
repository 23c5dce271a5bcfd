// GEMMs over row blocks, instantiated for float and double.
#include <stdlib.h>

#include <cblas.h>

#include "gemm_rows.h"
#include "profile.h"
#include "row_blocks.h"
#include "status.h"

#define FM_BODY "gemm_rows.inc"
#include "instantiate.h"
