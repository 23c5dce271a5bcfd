// The memory a run needs, estimated from the matrix's shape before anything
// large is allocated, and the limit it is checked against.
#include "memory.h"

#include <inttypes.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

void fm_memory_estimate_run(fm_memory_estimate *e, int64_t rows, int64_t cols, int64_t entries, bool array,
                            fm_kind kind, int rank)
{
    // In double: a hostile header's products do not overflow, they just get large.
    const double m = (double)rows, n = (double)cols, cells = m * n, stored = (double)(entries > 0 ? entries : 0);
    if (kind == FM_KIND_AUTO) kind = array ? FM_KIND_DENSE : FM_KIND_SPARSE;
    memset(e, 0, sizeof *e);
    // triplets: row and column (8 each) and value (4); an array's values (4)
    e->reading = array ? 4 * cells : 20 * stored;
    if (kind == FM_KIND_DENSE) {
        // A and Aᵀ full (4 per value); from coordinates, the values are first
        // laid out in a rows × cols array that the graph then copies
        e->graph = 8 * cells;
        e->building = array ? 0 : 4 * cells;
    } else {
        // A and Aᵀ by row: a row pointer (8) per row, plus one, even for an
        // empty row, and an index (8) and a value (4) per entry
        e->graph = 24 * stored + 8 * (m + n + 2);
        // GraphBLAS's copy of the tuples it builds from (20 per entry), and
        // before it an array's entries as coordinates (20 more); the
        // incomplete kind's duplicate check holds a line (8) and two sorted
        // records (16 each) per entry while the file is read
        e->building = 20 * stored + (array ? 20 * stored : 0);
        if (!array && kind == FM_KIND_INCOMPLETE && 40 * stored > e->building) e->building = 40 * stored;
    }
    // W, Hᵀ, their duals and right-hand sides (rank floats per row or
    // column each), and the result's H
    if (rank > 0) e->factors = 4.0 * rank * (m + n) * 3 + 4.0 * rank * n;
    const double reading = e->reading + e->building + e->graph, running = e->graph + e->factors;
    e->peak = reading > running ? reading : running;
}

//------------------------------------------------------------------------------
// The limit
//------------------------------------------------------------------------------

static uint64_t limit_set = 0;   // 0: the machine's

void fm_set_memory_limit(uint64_t bytes) { limit_set = bytes; }

// The first number in a file (cgroup limits), or 0 when there is none ("max").
static uint64_t number_in(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    unsigned long long value = 0;
    if (fscanf(f, "%llu", &value) != 1) value = 0;
    fclose(f);
    return (uint64_t)value;
}

// The memory limit of this process's cgroup (v2, then v1), or 0 for none.
static uint64_t cgroup_limit(void)
{
    char own[512] = "", line[512];
    FILE *f = fopen("/proc/self/cgroup", "r");
    bool v2 = false;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *path = strchr(line, ':');
        path = path ? strchr(path + 1, ':') : NULL;
        if (!path) continue;
        if (!strncmp(line, "0::", 3)) { snprintf(own, sizeof own, "%s", path + 1); v2 = true; }
        else if (strstr(line, ":memory:") || strstr(line, ",memory:") || strstr(line, ":memory,")) {
            snprintf(own, sizeof own, "%s", path + 1);
            v2 = false;
            break;
        }
    }
    if (f) fclose(f);
    char path[700];
    uint64_t limit = 0;
    if (v2) {
        snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", own);
        limit = number_in(path);
        if (!limit) limit = number_in("/sys/fs/cgroup/memory.max");
    } else {
        snprintf(path, sizeof path, "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", own);
        limit = number_in(path);
        if (!limit) limit = number_in("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    }
    return limit;
}

// The machine's memory: physical memory, or the cgroup's limit when lower.
static uint64_t machine_limit(bool *from_cgroup)
{
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t physical = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : UINT64_MAX;
    const uint64_t cgroup = cgroup_limit();
    *from_cgroup = cgroup > 0 && cgroup < physical;
    return *from_cgroup ? cgroup : physical;
}

uint64_t fm_memory_limit(void)
{
    bool from_cgroup;
    return limit_set ? limit_set : machine_limit(&from_cgroup);
}

bool fm_memory_fits(double bytes) { return bytes <= (double)fm_memory_limit(); }

void fm_bytes_text(char *out, size_t size, double bytes)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB" };
    int u = 0;
    while (bytes >= 1024 && u < 8) { bytes /= 1024; u++; }
    if (u == 0) snprintf(out, size, "%.0f B", bytes);
    else snprintf(out, size, bytes < 100 ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

void fm_memory_limit_text(char *out, size_t size)
{
    bool from_cgroup = false;
    const uint64_t limit = limit_set ? limit_set : machine_limit(&from_cgroup);
    char amount[32];
    fm_bytes_text(amount, sizeof amount, (double)limit);
    if (limit_set)
        snprintf(out, size, "the memory limit of %s (set by --max-memory or fm_set_memory_limit)", amount);
    else
        snprintf(out, size, "the memory limit of %s (%s; --max-memory SIZE sets another)", amount,
                 from_cgroup ? "this process's cgroup limit" : "this machine's physical memory");
}

void fm_memory_need_text(char *out, size_t size, const fm_memory_estimate *e, double need, int rank)
{
    char total[32], graph[32], factors[32], reading[32];
    fm_bytes_text(total, sizeof total, need);
    fm_bytes_text(graph, sizeof graph, e->graph);
    fm_bytes_text(factors, sizeof factors, e->factors);
    fm_bytes_text(reading, sizeof reading, e->reading + e->building);
    if (rank > 0)
        snprintf(out, size, "about %s (graph %s, rank-%d factors %s, reading and building %s)", total, graph, rank,
                 factors, reading);
    else
        snprintf(out, size, "about %s (graph %s, reading and building %s)", total, graph, reading);
}

//------------------------------------------------------------------------------
// Large arrays
//------------------------------------------------------------------------------

// Every block starts with a header just before the caller's pointer: a
// mapping of its own (its header in the 4 KiB page before the 2 MiB-aligned
// array) or a malloc block.
typedef struct large_header {
    uint64_t magic;
    size_t length;         // the mapping's bytes (header page included), or the array's
    void *base;            // what munmap or free releases
    uint64_t reserved;     // 32 bytes: the array stays 16-byte aligned
} large_header;

#define LARGE_MAPPED 0x4c4152474d4150ULL   // "LARGMAP"
#define LARGE_KEPT_MAGIC 0x4c4152474b4550ULL // "LARGKEP": freed, kept for reuse
#define LARGE_MALLOC 0x4c4152474d414cULL   // "LARGMAL"

// Fresh mappings, not the heap: a range of the heap that held 4 KiB pages
// keeps its page tables when freed, and a fault there never gets a huge page.
// Under AddressSanitizer every block is a malloc block, so that its bounds
// are checked.
#if defined(__linux__) && defined(MADV_HUGEPAGE) && !defined(__SANITIZE_ADDRESS__)
#define LARGE_CAN_MAP 1
#else
#define LARGE_CAN_MAP 0
#endif

#if LARGE_CAN_MAP
static inline uintptr_t round_up(uintptr_t x, size_t to) { return (x + to - 1) / to * to; }

static size_t page_bytes(void)
{
    const long page = sysconf(_SC_PAGESIZE);
    return page > 0 && (size_t)page <= FM_LARGE_BYTES / 2 ? (size_t)page : 4096;
}
#endif

#if LARGE_CAN_MAP
// Freed mappings kept for the next blocks of about their size: a fresh
// mapping faults its pages in again on first touch, and on a virtual machine
// such a fault can cost far more than zeroing the page (in `bench solve`,
// NeuralIF's factor and its transpose took 5-6 ms against 1.6 when their
// pages had to be faulted in). At most LARGE_KEPT mappings and
// LARGE_KEPT_BYTES in all, the oldest evicted first; a block takes the
// smallest kept mapping that holds it with at most half of it to spare.
#define LARGE_KEPT 16
#define LARGE_KEPT_BYTES ((size_t)256 << 20)
static large_header *kept[LARGE_KEPT];   // oldest first
static size_t kept_count, kept_bytes;
static atomic_flag kept_lock = ATOMIC_FLAG_INIT;

static void lock_kept(void)
{
    // held for a few loads and stores: yield at once, the holder may be
    // preempted on a machine with more threads than cores
    while (atomic_flag_test_and_set_explicit(&kept_lock, memory_order_acquire)) sched_yield();
}

static void unlock_kept(void) { atomic_flag_clear_explicit(&kept_lock, memory_order_release); }

// The array's bytes in its mapping, from the array to the mapping's end.
static size_t usable_bytes(const large_header *h) { return (size_t)((char *)h->base + h->length - (char *)(h + 1)); }

// Takes kept mapping k out of the list (under the lock), the order kept.
static large_header *forget(size_t k)
{
    large_header *h = kept[k];
    kept_bytes -= h->length;
    memmove(kept + k, kept + k + 1, sizeof *kept * (--kept_count - k));
    return h;
}

static void *take_kept(size_t rounded)
{
    lock_kept();
    size_t best = kept_count;
    for (size_t k = 0; k < kept_count; k++) {
        const size_t usable = usable_bytes(kept[k]);
        if (usable >= rounded && usable - rounded <= rounded / 2 &&
            (best == kept_count || usable < usable_bytes(kept[best])))
            best = k;
    }
    large_header *h = best < kept_count ? forget(best) : NULL;
    if (h) h->magic = LARGE_MAPPED;
    unlock_kept();
    return h ? (void *)(h + 1) : NULL;
}

// Keeps h, evicting the oldest kept mappings while the count or the bytes
// would exceed the bounds; false (h is not kept) where h alone exceeds them.
static bool keep(large_header *h)
{
    if (h->length > LARGE_KEPT_BYTES) return false;
    large_header *evicted[LARGE_KEPT];
    size_t evictions = 0;
    lock_kept();
    while (kept_count == LARGE_KEPT || kept_bytes + h->length > LARGE_KEPT_BYTES) evicted[evictions++] = forget(0);
    h->magic = LARGE_KEPT_MAGIC;
    kept[kept_count++] = h;
    kept_bytes += h->length;
    unlock_kept();
    for (size_t e = 0; e < evictions; e++) munmap(evicted[e]->base, evicted[e]->length);
    return true;
}
#endif

void *fm_alloc_large(size_t bytes)
{
    if (bytes == 0 || bytes > SIZE_MAX / 2 - 4 * FM_LARGE_BYTES) return NULL;
#if LARGE_CAN_MAP
    if (bytes >= FM_LARGE_BYTES) {
        // the array rounded up to whole huge pages (a huge page must lie
        // inside the mapping: otherwise the tail's 4 KiB faults stay), after
        // a header page and the alignment
        const size_t page = page_bytes(), rounded = round_up(bytes, FM_LARGE_BYTES);
        void *reused = take_kept(rounded);
        if (reused) return reused;
        const size_t length = rounded + 2 * FM_LARGE_BYTES;
        char *base = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base != MAP_FAILED) {
            char *array = (char *)round_up((uintptr_t)base + page, FM_LARGE_BYTES);
            char *start = array - page, *end = array + rounded;
            if (start > base) munmap(base, (size_t)(start - base));
            if (base + length > end) munmap(end, (size_t)(base + length - end));
            madvise(array, (size_t)(end - array), MADV_HUGEPAGE);   // advice: a refusal leaves 4 KiB pages
            large_header *h = (large_header *)array - 1;
            *h = (large_header){ LARGE_MAPPED, (size_t)(end - start), start, 0 };
            return array;
        }
        // no mapping: the heap may still have room
    }
#endif
    char *block = malloc(sizeof(large_header) + bytes);
    if (!block) return NULL;
    *(large_header *)block = (large_header){ LARGE_MALLOC, bytes, block, 0 };
    return block + sizeof(large_header);
}

void *fm_shrink_large(void *array, size_t bytes)
{
    if (!array || bytes == 0) return array;
    large_header *h = (large_header *)array - 1;
    if (h->magic == LARGE_MAPPED) {
#if LARGE_CAN_MAP
        char *end = (char *)h->base + h->length, *kept = (char *)array + round_up(bytes, FM_LARGE_BYTES);
        if (kept < end && munmap(kept, (size_t)(end - kept)) == 0) h->length = (size_t)(kept - (char *)h->base);
#endif
        return array;
    }
    if (bytes >= h->length) return array;
    char *block = realloc(h->base, sizeof(large_header) + bytes);
    if (!block) return array;
    *(large_header *)block = (large_header){ LARGE_MALLOC, bytes, block, 0 };
    return block + sizeof(large_header);
}

void fm_free_large(void *array)
{
    if (!array) return;
    large_header *h = (large_header *)array - 1;
#if LARGE_CAN_MAP
    if (h->magic == LARGE_MAPPED) {
        if (!keep(h)) munmap(h->base, h->length);
        return;
    }
    if (h->magic == LARGE_KEPT_MAGIC) {   // kept already: handing it out twice would corrupt both users
        fprintf(stderr, "factormer: fm_free_large: the block at %p was freed twice\n", array);
        abort();
    }
#endif
    free(h->base);
}
