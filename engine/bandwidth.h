// The machine's memory bandwidth as the STREAM triad measures it
// (a[i] = b[i] + s·c[i], McCalpin): what the memory-bound kernels (SpMV, the
// triangular solves) are measured against in the same run.
#ifndef FM_BANDWIDTH_H
#define FM_BANDWIDTH_H

#include <stdint.h>

// The best triad rate in GB/s (10^9 bytes, 24 bytes an element: two arrays
// read, one written, as STREAM counts) over repeats that run for about
// `seconds` (at least 3 repeats), on the current OpenMP thread count. Each of
// the three arrays holds 4 times the last-level cache, at least 64 MiB and at
// most 256 MiB (the cap holds where a processor reports a very large shared
// cache; the figure may then include some of the cache's rate).
int fm_memory_bandwidth(double *gb_per_s, double seconds, char *msg);

// The bytes of each array fm_memory_bandwidth uses on this machine.
int64_t fm_memory_bandwidth_bytes(void);

#endif
