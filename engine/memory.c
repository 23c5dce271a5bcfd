// The memory a run needs, estimated from the matrix's shape before anything
// large is allocated, and the limit it is checked against.
#include "memory.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
