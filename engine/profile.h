// Per-op counters (architecture.md, engine/profile): calls, wall time,
// floating-point operations and bytes moved, each counted by the op from its
// formula and its arrays. Off by default; when off an op pays one branch on a
// global flag.
//
// Ops record from serial code (each op's own OpenMP regions are inside the
// timed span). Only leaf ops (kernels) record, so the entries never nest and
// their times add up.
//
// Counting, next to each kernel with its formula: flops are the arithmetic
// the kernel executes (a multiply-add is 2); bytes are the arrays it reads
// and writes, each counted once (its compulsory traffic: workspace that
// stays in cache and re-reads are not counted). Names are "<module>.<kernel>".
//
// fm_profile_enable, fm_profile_reset and the reports (fm_profile_print,
// fm_profile_write_json in io/profile_report.c) are public, in factormer.h.
#ifndef FM_PROFILE_H
#define FM_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include <omp.h>

#include "factormer.h"

extern bool fm_profile_on;

typedef struct fm_profile_entry {
    const char *name;          // e.g. "attention.fused.forward"
    int64_t calls;
    double seconds, flops, bytes;
} fm_profile_entry;

// Adds one call of op `name` (a string literal; entries are keyed by name).
void fm_profile_record(const char *name, double seconds, double flops, double bytes);
// The entries recorded so far, in the order first seen; returns their count.
int fm_profile_entries(const fm_profile_entry **entries);

#define FM_PROFILE_START(clock) const double clock = fm_profile_on ? omp_get_wtime() : 0.0
#define FM_PROFILE_STOP(clock, name, flops, bytes)                               \
    do {                                                                         \
        if (fm_profile_on)                                                       \
            fm_profile_record((name), omp_get_wtime() - (clock), (double)(flops), \
                              (double)(bytes));                                  \
    } while (0)

#endif
