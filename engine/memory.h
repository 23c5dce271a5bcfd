// What a run needs against what the machine has (the public part is in
// factormer.h: fm_memory_estimate_run, fm_set_memory_limit,
// fm_memory_limit): the checks and the words of their messages.
#ifndef FM_MEMORY_H
#define FM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

//------------------------------------------------------------------------------
// Large arrays (engine/memory.c)
//------------------------------------------------------------------------------

// Fresh memory costs a page fault per 4 KiB page on first touch, which for
// arrays of megabytes filled once (a factor, a network's outputs) can cost
// more than the work that fills them. Arrays of FM_LARGE_BYTES or more get a
// mapping of their own, aligned to 2 MiB, rounded up to whole 2 MiB and
// advised for transparent huge pages (MADV_HUGEPAGE: Linux in `madvise`
// mode), a fault per 2 MiB; advice only, nothing changes where it is not
// taken. (Not the heap: a range of the heap that held 4 KiB pages keeps its
// page tables, and a fault there never gets a huge page.) A freed mapping is
// kept, its pages resident, for a later block it holds with at most half to
// spare (16 mappings and 256 MiB at most in a process, the oldest released
// first: engine/memory.c), so a block may hold up to 1.5x its rounded size
// and a process's resident memory may stay up to 256 MiB above what it
// uses. A block freed twice is a programming error, reported on stderr
// before the process aborts (as the C library's free does). Under
// AddressSanitizer every block comes from malloc, so that its bounds are
// checked.
#define FM_LARGE_BYTES ((size_t)2 << 20)

// Like malloc (uninitialized, 16-byte aligned; NULL for 0 bytes or when out
// of memory). A block is released by fm_free_large and by nothing else (not
// free, not realloc); fm_shrink_large keeps its first `bytes` and may return
// another pointer (the old one is then invalid; on failure the old one).
void *fm_alloc_large(size_t bytes);
void *fm_shrink_large(void *array, size_t bytes);
void fm_free_large(void *array);

// FM_ALLOC for large arrays (status.h's FM_FAIL on failure): `count`
// elements of *ptr, uninitialized.
#define FM_ALLOC_LARGE(ptr, count)                                                     \
    do {                                                                               \
        size_t fm_alloc_n_ = (size_t)(count);                                          \
        (ptr) = fm_alloc_n_ <= SIZE_MAX / sizeof(*(ptr))                               \
                    ? fm_alloc_large(fm_alloc_n_ * sizeof(*(ptr))) : NULL;             \
        if (fm_alloc_n_ && !(ptr))                                                     \
            FM_FAIL(FM_ERR_MEMORY, "out of memory allocating %zu x %zu bytes at %s:%d", \
                    fm_alloc_n_, sizeof(*(ptr)), __FILE__, __LINE__);                  \
    } while (0)

#endif
