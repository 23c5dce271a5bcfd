// libFuzzer harness: the Matrix Market reader (io/mtx) on gzip input. The
// first byte of an input is the options of fuzz_mtx (common.h) and, in bit 7,
// whether the rest is taken as the file's bytes as they are (a gzip stream to
// corrupt: the corpus holds valid ones) or as text the harness compresses
// first (so that the parser behind the decompressor is fuzzed too).
#include <stdlib.h>
#include <zlib.h>

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

// `text` as one gzip member, into *out (malloc'd); 0 on success.
static int gzip(uint8_t **out, size_t *out_size, const uint8_t *text, size_t size)
{
    z_stream z = {0};
    if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    const size_t bound = deflateBound(&z, (uLong)size);
    uint8_t *buffer = malloc(bound);
    if (!buffer) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)text;
    z.avail_in = (uInt)size;
    z.next_out = buffer;
    z.avail_out = (uInt)bound;
    const int status = deflate(&z, Z_FINISH);
    *out_size = bound - z.avail_out;
    deflateEnd(&z);
    if (status != Z_STREAM_END) {
        free(buffer);
        return -1;
    }
    *out = buffer;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t options = data[0];
    if (options & 0x80) {
        fuzz_mtx(fuzz_file(data + 1, size - 1), options);
        return 0;
    }
    uint8_t *compressed = NULL;
    size_t compressed_size = 0;
    FUZZ_ASSERT(gzip(&compressed, &compressed_size, data + 1, size - 1) == 0, "zlib could not compress %zu bytes",
                size - 1);
    fuzz_mtx(fuzz_file(compressed, compressed_size), options);
    free(compressed);
    return 0;
}
