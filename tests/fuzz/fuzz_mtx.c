// libFuzzer harness: the Matrix Market reader (io/mtx) on plain text, then
// the graph builder. The first byte of an input is the options of fuzz_mtx
// (common.h); the rest is the file.
#include "common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    fuzz_mtx(fuzz_file(data + 1, size - 1), data[0]);
    return 0;
}
