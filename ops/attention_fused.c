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

#define FM_BODY "attention_fused.inc"
#include "instantiate.h"
