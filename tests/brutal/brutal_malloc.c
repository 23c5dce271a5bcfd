// An LD_PRELOAD shim that fails one allocation on purpose: the N-th counted
// call of malloc, calloc, realloc, reallocarray, posix_memalign,
// aligned_alloc, memalign, valloc, strdup or strndup returns NULL (or
// ENOMEM), every other call succeeds. tests/test_brutal_malloc.c runs a
// command once with no failure to learn the number of counted calls T, then
// once for each N = 1..T.
//
//   FM_BRUTAL_FAIL=N        fail the N-th counted call (unset or 0: none)
//   FM_BRUTAL_REPORT=FILE   at exit, write the counts (see report_at_exit)
//
// Which calls count: those whose caller (the return address) lies in the
// executable's code, in libgraphblas, libz, liblapacke or
// libsuitesparseconfig: factormer's own code (the library is linked
// statically into the program) and the libraries whose documented behaviour
// on a failed allocation is an error code that factormer must handle
// (GrB_OUT_OF_MEMORY, Z_MEM_ERROR or a NULL gzFile, LAPACK_WORK_MEMORY_ERROR,
// CHOLMOD_OUT_OF_MEMORY: CHOLMOD, AMD and COLAMD allocate through
// SuiteSparse_malloc, which calls malloc from libsuitesparseconfig). Not counted: libc's own calls (stdio
// buffers, fopen's FILE, the loader), libgomp (gomp_malloc ends the process
// with "out of memory" by design) and OpenBLAS (its buffer pool aborts by
// design): a failure there is no factormer defect. Of the libc functions
// that allocate inside libc, those factormer calls count when a counted
// caller calls them: fopen and fdopen (the FILE), wrapped here, and strdup
// and strndup, implemented here. Not counted: the stdio buffer that the
// first read or write allocates (on failure glibc goes on unbuffered).
//
// Leaks: every allocation from a counted caller is kept in a table until it
// is freed (by anyone) or moved by realloc; at exit the table's size is the
// number of counted allocations still live. factormer frees everything and
// finalizes GraphBLAS before it exits, on success and on failure alike, so
// any live entry is a leak.
//
// The real allocator is glibc's __libc_malloc family, called directly: no
// dlsym, so no allocation while the shim resolves symbols and no recursion
// (only the fopen and fdopen wrappers look up the real ones with dlsym).
// The shim cannot wrap AddressSanitizer's allocator (ASan replaces malloc
// itself), so the test is built only without FM_SANITIZE.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_memalign(size_t alignment, size_t size);

// The code ranges of the counted objects, found once all are loaded.
#define MAX_RANGES 32
static struct { uintptr_t lo, hi; } ranges[MAX_RANGES];
static int range_count;
static volatile int ready;           // ranges known: counting on
static unsigned long fail_at;        // FM_BRUTAL_FAIL
static unsigned long counted;        // counted calls so far
static unsigned long failed;         // calls failed on purpose (0 or 1)
static uintptr_t failed_caller;      // where the failed call came from
// Inside fopen or fdopen called from counted code: libc's allocations count.
// Read only once `ready` (the thread's TLS exists by then).
static __thread int counted_libc_call;

// Live counted allocations: open addressing with linear probing, deletion
// by backward shift. Its memory is mapped, never allocated.
#define TABLE_BITS 20
#define TABLE_SIZE (1u << TABLE_BITS)
typedef struct { uintptr_t ptr, caller; size_t size; } entry;
static entry *table;
static size_t live, live_bytes;
static int table_lock;

static void lock(void)
{
    while (__atomic_exchange_n(&table_lock, 1, __ATOMIC_ACQUIRE)) {
    }
}
static void unlock(void) { __atomic_store_n(&table_lock, 0, __ATOMIC_RELEASE); }

static size_t slot_of(uintptr_t p) { return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ull >> (64 - TABLE_BITS)); }

static void track(void *p, size_t size, uintptr_t caller)
{
    if (!p || !table) return;
    lock();
    if (live < TABLE_SIZE / 2) {   // else stop tracking: a test never gets there
        size_t s = slot_of((uintptr_t)p);
        while (table[s].ptr) s = (s + 1) & (TABLE_SIZE - 1);
        table[s] = (entry){ (uintptr_t)p, caller, size };
        live++;
        live_bytes += size;
    }
    unlock();
}

// Forget p if tracked; returns whether it was.
static bool untrack(void *p)
{
    if (!p || !table) return false;
    bool found = false;
    lock();
    size_t s = slot_of((uintptr_t)p);
    while (table[s].ptr && table[s].ptr != (uintptr_t)p) s = (s + 1) & (TABLE_SIZE - 1);
    if (table[s].ptr) {
        found = true;
        live--;
        live_bytes -= table[s].size;
        table[s].ptr = 0;
        // shift back the entries of the cluster that probed past the hole
        for (size_t hole = s, next = (s + 1) & (TABLE_SIZE - 1); table[next].ptr;
             next = (next + 1) & (TABLE_SIZE - 1)) {
            size_t home = slot_of(table[next].ptr);
            bool movable = hole <= next ? (home <= hole || home > next) : (home <= hole && home > next);
            if (movable) {
                table[hole] = table[next];
                table[next].ptr = 0;
                hole = next;
            }
        }
    }
    unlock();
    return found;
}

static bool in_counted_code(uintptr_t address)
{
    for (int r = 0; r < range_count; r++)
        if (address >= ranges[r].lo && address < ranges[r].hi) return true;
    return false;
}

// Whether this call counts, and whether it is the one to fail.
static bool should_fail(uintptr_t caller, bool *is_counted)
{
    *is_counted = ready && (counted_libc_call || in_counted_code(caller));
    if (!*is_counted) return false;
    const unsigned long n = __atomic_add_fetch(&counted, 1, __ATOMIC_RELAXED);
    if (n != fail_at) return false;
    failed++;
    failed_caller = caller;
    return true;
}

static int add_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    const char *name = info->dlpi_name;
    const bool executable = !name || !name[0];
    if (!executable && !strstr(name, "libgraphblas") && !strstr(name, "libz.so") && !strstr(name, "liblapacke") &&
        !strstr(name, "libsuitesparseconfig") && !strstr(name, "libcholmod"))
        return 0;
    for (int h = 0; h < info->dlpi_phnum && range_count < MAX_RANGES; h++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[h];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        ranges[range_count].lo = info->dlpi_addr + ph->p_vaddr;
        ranges[range_count].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        range_count++;
    }
    return 0;
}

__attribute__((constructor)) static void brutal_start(void)
{
    const char *n = getenv("FM_BRUTAL_FAIL");
    fail_at = n ? strtoul(n, NULL, 10) : 0;
    void *map = mmap(NULL, sizeof(entry) * TABLE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    table = map == MAP_FAILED ? NULL : map;
    dl_iterate_phdr(add_object, NULL);
    ready = 1;
}

// "module+0xoffset" of a code address, for the report.
static void describe(char *out, size_t size, uintptr_t address)
{
    Dl_info info;
    if (address && dladdr((void *)address, &info) && info.dli_fname) {
        const char *base = strrchr(info.dli_fname, '/');
        snprintf(out, size, "%s+0x%lx", base ? base + 1 : info.dli_fname,
                 (unsigned long)(address - (uintptr_t)info.dli_fbase));
    } else {
        snprintf(out, size, "0x%lx", (unsigned long)address);
    }
}

// The report, one "key value" a line:
//   counted N      counted calls made
//   failed F       calls failed on purpose (0 or 1)
//   failed_at W    the caller of the failed call, module+offset
//   live L         counted allocations not freed at exit
//   live_bytes B
//   leak W SIZE    the caller and size of each (the first 20)
__attribute__((destructor)) static void report_at_exit(void)
{
    ready = 0;
    const char *path = getenv("FM_BRUTAL_REPORT");
    if (!path) return;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    char line[512], where[256];
    describe(where, sizeof where, failed_caller);
    int len = snprintf(line, sizeof line, "counted %lu\nfailed %lu\nfailed_at %s\nlive %zu\nlive_bytes %zu\n",
                       counted, failed, failed ? where : "-", live, live_bytes);
    if (write(fd, line, (size_t)len) != len) {
        close(fd);
        return;
    }
    int shown = 0;
    for (size_t s = 0; table && live && s < TABLE_SIZE && shown < 20; s++)
        if (table[s].ptr) {
            describe(where, sizeof where, table[s].caller);
            len = snprintf(line, sizeof line, "leak %s %zu\n", where, table[s].size);
            if (write(fd, line, (size_t)len) != len) break;
            shown++;
        }
    close(fd);
}

#define CALLER ((uintptr_t)__builtin_return_address(0))

void *malloc(size_t size)
{
    const uintptr_t caller = CALLER;
    bool is_counted;
    if (should_fail(caller, &is_counted)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __libc_malloc(size);
    if (is_counted) track(p, size, caller);
    return p;
}

void *calloc(size_t count, size_t size)
{
    const uintptr_t caller = CALLER;
    bool is_counted;
    if (should_fail(caller, &is_counted)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __libc_calloc(count, size);
    if (is_counted) track(p, count * size, caller);
    return p;
}

static void *realloc_from(void *ptr, size_t size, uintptr_t caller)
{
    bool is_counted;
    if (should_fail(caller, &is_counted)) {
        errno = ENOMEM;
        return NULL;   // ptr stays valid, as after a real failure
    }
    void *p = __libc_realloc(ptr, size);
    if (!p && size) return NULL;   // a real failure: ptr is still live
    // moved or freed (size 0); a block from a counted caller stays tracked
    // whoever moves it
    const bool was_tracked = untrack(ptr);
    if (p && (is_counted || was_tracked)) track(p, size, caller);
    return p;
}

void *realloc(void *ptr, size_t size) { return realloc_from(ptr, size, CALLER); }

void *reallocarray(void *ptr, size_t count, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc_from(ptr, bytes, CALLER);
}

void free(void *ptr)
{
    untrack(ptr);
    __libc_free(ptr);
}

static void *aligned_from(size_t alignment, size_t size, uintptr_t caller)
{
    bool is_counted;
    if (should_fail(caller, &is_counted)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __libc_memalign(alignment, size);
    if (is_counted) track(p, size, caller);
    return p;
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (alignment < sizeof(void *) || (alignment & (alignment - 1))) return EINVAL;
    void *p = aligned_from(alignment, size, CALLER);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size) { return aligned_from(alignment, size, CALLER); }
void *memalign(size_t alignment, size_t size) { return aligned_from(alignment, size, CALLER); }
void *valloc(size_t size) { return aligned_from((size_t)sysconf(_SC_PAGESIZE), size, CALLER); }

static char *copy_from(const char *s, size_t n, uintptr_t caller)
{
    bool is_counted;
    if (should_fail(caller, &is_counted)) {
        errno = ENOMEM;
        return NULL;
    }
    char *p = __libc_malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    if (is_counted) track(p, n + 1, caller);
    return p;
}

char *strdup(const char *s) { return copy_from(s, strlen(s), CALLER); }
char *strndup(const char *s, size_t n) { return copy_from(s, strnlen(s, n), CALLER); }

// fopen and fdopen: the real ones, with libc's allocations inside counted
// when the caller is.
#define COUNTED_LIBC_CALL(type, name, params, args)                              \
    type name params                                                             \
    {                                                                            \
        static type(*real) params;                                               \
        if (!real) *(void **)&real = dlsym(RTLD_NEXT, #name);                    \
        const bool counted_caller = ready && in_counted_code(CALLER);            \
        if (counted_caller) counted_libc_call++;                                 \
        type result = real args;                                                 \
        if (counted_caller) counted_libc_call--;                                 \
        return result;                                                           \
    }
COUNTED_LIBC_CALL(FILE *, fopen, (const char *path, const char *mode), (path, mode))
COUNTED_LIBC_CALL(FILE *, fdopen, (int fd, const char *mode), (fd, mode))
