// ReLU, float and double builds of ops/relu.inc.
#include "relu.h"

#include "profile.h"

#define FM_BODY "relu.inc"
#include "instantiate.h"
