// Layer normalization, float and double builds of ops/layernorm.inc.
#include "layernorm.h"

#include <math.h>
#include <stdlib.h>

#include "profile.h"
#include "row_blocks.h"
#include "status.h"

#define FM_BODY "layernorm.inc"
#include "instantiate.h"
