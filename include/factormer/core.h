// factormer/core.h: status codes, the matrix kinds, the library's version,
// lifetime and threads, and the memory estimate and limit.
// A part of the public API: a user includes factormer.h, which includes
// every part and states the conventions they follow.
#ifndef FACTORMER_CORE_H
#define FACTORMER_CORE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// The release this header belongs to; fm_version() gives the library's, which
// matches it unless a program was built against another release's header.
#define FACTORMER_VERSION_MAJOR 0
#define FACTORMER_VERSION_MINOR 2
#define FACTORMER_VERSION_PATCH 0

#define FM_MSG_LEN 512

enum {
    FM_OK = 0,
    FM_ERR_INVALID = -1,   // a bad argument
    FM_ERR_IO = -2,        // a file that cannot be opened, read or written
    FM_ERR_PARSE = -3,     // a file whose content is not what was expected
    FM_ERR_MEMORY = -4,
    FM_ERR_GRAPHBLAS = -5,
    FM_ERR_NUMERIC = -6,   // NaN, Inf or a failed factorization
};

// §1: what the unstored entries of X mean.
typedef enum {
    FM_KIND_AUTO = 0,      // dense for `array` files, sparse for `coordinate`
    FM_KIND_DENSE,         // every entry stored, Ω is everything
    FM_KIND_SPARSE,        // unstored entries are true zeros, Ω is everything
    FM_KIND_INCOMPLETE,    // unstored entries are unknown, Ω is the stored set
} fm_kind;

const char *fm_kind_name(fm_kind kind);
int fm_kind_parse(fm_kind *kind, const char *name, char *msg);

// "MAJOR.MINOR.PATCH" of the library linked in.
const char *fm_version(void);
// The CPU features the kernels ran with, for the record of a run: the build
// (portable, dispatched at run time; or native), the x86-64 level of the
// kernel variants that run, and this CPU's features, e.g. "portable build
// (x86-64-v2, dispatched); kernels x86-64-v4; cpu: sse4.2 avx avx2 fma
// avx512f avx512bw avx512vl" (engine/cpu.h).
const char *fm_cpu_features(void);

// Library lifetime: GraphBLAS is started once, in non-blocking mode.
int fm_init(char *msg);
void fm_finalize(void);

// Threads for OpenMP, OpenBLAS and GraphBLAS alike; n <= 0 means all cores.
void fm_set_threads(int n);
int fm_get_threads(void);

// The largest number of rows or columns of a matrix: GraphBLAS's (2^60).
#define FM_MAX_DIMENSION (INT64_C(1) << 60)
// The largest rank of a factorization: the incomplete kind solves a k × k
// system per row and per column on each thread's stack (12·k² bytes, 768 KiB
// at 256, within the smallest thread stack the engine can count on).
#define FM_MAX_RANK 256

//------------------------------------------------------------------------------
// Memory (engine/memory)
//------------------------------------------------------------------------------

// What a run on a matrix holds, estimated in bytes from its shape alone:
// rows × cols, the stored entries (a coordinate file's declared entries, twice
// for a symmetric one; rows·cols for an array file), `array` (the file's
// format), the kind it is built as (FM_KIND_AUTO: dense for an array, else
// sparse) and the rank of the factorization (0: the graph alone). A sparse
// graph holds a row pointer per row and per column even when it has one
// entry; a dense one holds rows·cols values twice.
typedef struct fm_memory_estimate {
    double reading;    // the entries as read: triplets, or an array's values
    double building;   // scratch while the file is read and the graph built
    double graph;      // the König digraph, both orientations
    double factors;    // W, Hᵀ, their duals and right-hand sides, the result's H
    double peak;       // max(reading + building + graph, graph + factors)
} fm_memory_estimate;

void fm_memory_estimate_run(fm_memory_estimate *out, int64_t rows, int64_t cols, int64_t entries, bool array,
                            fm_kind kind, int rank);

// Reading a matrix file refuses, before it allocates anything large, one
// whose estimate exceeds this limit (FM_ERR_MEMORY, naming the file, its
// declared shape, the estimate and the limit). By default the limit is the
// machine's memory: its physical memory, or its cgroup's limit when that is
// lower; fm_set_memory_limit sets another (bytes; 0 restores the default).
void fm_set_memory_limit(uint64_t bytes);
uint64_t fm_memory_limit(void);

#ifdef __cplusplus
}
#endif
#endif
