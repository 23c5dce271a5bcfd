// factormer: nonnegative matrix factorization on the König digraph of a matrix.
//
// The public API, the only header a user includes. Every function returns an
// int status (FM_OK, or a negative FM_ERR_*) and takes `char *msg` last: a
// buffer of FM_MSG_LEN bytes that receives a sentence on failure. Output
// handles are NULL on entry and set only on success.
//
// Equations cite docs/factormer-math.md by section (§).
//
// The declarations live in the parts under include/factormer/, included
// here in dependency order; each part also compiles on its own.
#ifndef FACTORMER_H
#define FACTORMER_H

#include "factormer/core.h"
#include "factormer/data.h"
#include "factormer/nmf.h"
#include "factormer/analysis.h"
#include "factormer/generate.h"
#include "factormer/reporting.h"

#endif
