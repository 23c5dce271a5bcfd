// Feed-forward network, float and double builds of ops/ffn.inc.
#include "ffn.h"

#include <stdbool.h>

#include "linear.h"
#include "relu.h"
#include "status.h"

#define FM_BODY "ffn.inc"
#include "instantiate.h"
