// What a run needs against what the machine has (the public part is in
// factormer.h: fm_memory_estimate_run, fm_set_memory_limit,
// fm_memory_limit): the checks and the words of their messages.
#ifndef FM_MEMORY_H
#define FM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>

#include "factormer.h"

// Whether `bytes` fit in fm_memory_limit().
bool fm_memory_fits(double bytes);

// "23.4 GiB": bytes in the largest binary unit that keeps a number >= 1.
void fm_bytes_text(char *out, size_t size, double bytes);

// "the memory limit of 23.4 GiB (this machine's physical memory; --max-memory
// SIZE or fm_set_memory_limit sets another)": the limit and where it comes from.
void fm_memory_limit_text(char *out, size_t size);

// "about 380 GiB (graph 22.4 GiB, rank-10 factors 358 GiB, reading and
// building 40 B)": what the estimate's `need` is made of.
void fm_memory_need_text(char *out, size_t size, const fm_memory_estimate *e, double need, int rank);

#endif
