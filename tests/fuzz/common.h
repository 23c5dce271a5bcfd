// What the libFuzzer harnesses of tests/fuzz share: the library started once
// on one thread, the input as a file the readers open by path, and the
// contract every reader keeps whatever the bytes (tests/fuzz/README.md).
#ifndef FM_FUZZ_COMMON_H
#define FM_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "factormer.h"

// fm_init and one thread (no OpenMP team to start per input); exits on failure.
void fuzz_init(void);

// The bytes as the content of one in-memory file (a memfd, reused by every
// input); returns its path (/proc/self/fd/N). Exits if the file cannot be
// written: that is the harness's failure, not the library's.
const char *fuzz_file(const uint8_t *data, size_t size);

// A reader's contract on failure: a known negative status, a message, and
// the output left NULL (`output_is_null`). Traps otherwise. With FUZZ_VERBOSE
// set in the environment, prints the message (to see why inputs fail).
void fuzz_check_failure(int status, const char *msg, int output_is_null);

// The Matrix Market target both mtx harnesses share. `options`: bit 0
// duplicates_are_errors; bits 1-2 the kind of the graph (auto, dense, sparse,
// incomplete); bit 3 read with fm_mtx_read_dense instead. The file at `path`
// is read; what was read is checked against the reader's contract and, when
// its shape is small (FUZZ_GRAPH_* below), built into a graph of that kind,
// which is checked and freed.
void fuzz_mtx(const char *path, uint8_t options);

// The graph builder's memory is that of the declared shape by design (a dense
// graph holds rows·cols values, a sparse one rows + cols row pointers in each
// orientation): graphs are built only under these caps, so that every input
// runs in milliseconds and within libFuzzer's memory limit.
#define FUZZ_GRAPH_MAX_NODES 4096      // rows + cols
#define FUZZ_GRAPH_MAX_DENSE 65536     // rows · cols, for a dense graph

// Traps (a crash libFuzzer reports with the input) when `cond` is false.
#define FUZZ_ASSERT(cond, ...)                                                     \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: contract broken: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                          \
            fputc('\n', stderr);                                                   \
            __builtin_trap();                                                      \
        }                                                                          \
    } while (0)

#endif
