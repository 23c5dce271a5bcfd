#include <stdint.h>
#include "factormer.h"
int ref_random_graph(fm_graph **out, int64_t rows, int64_t cols, double density, uint64_t seed, char *msg);
