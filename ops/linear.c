// Linear layer, float and double builds of ops/linear.inc.
#include "linear.h"

#include <cblas.h>
#include <stdlib.h>

#include "profile.h"
#include "row_blocks.h"
#include "status.h"

#define FM_BODY "linear.inc"
#include "instantiate.h"
