// The words of error messages: a path too long for the buffer gives way to
// the reason; file names, tensor names and tokens echoed from a file show
// their control bytes escaped; gzip's checksum failure says the file is
// corrupt; LAPACK's out-of-memory codes are reported as out of memory.
#include <criterion/criterion.h>
#include <errno.h>
#include <lapacke.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "lfactormer_checkpoint.h"
#include "helpers.h"
#include "status.h"

TestSuite(messages, .init = fm_test_setup);

#define COO "%%MatrixMarket matrix coordinate real general\n"

// dir/d.../d/name with directories of 100 characters until the path has at
// least `length` characters (made on disk). Returns malloc'ed storage.
static char *deep_path(const char *dir, const char *name, size_t length)
{
    char *path = malloc(length + 256);
    cr_assert_not_null(path);
    snprintf(path, length + 256, "%s", dir);
    char part[101];
    memset(part, 'd', 100);
    part[100] = 0;
    while (strlen(path) + strlen(name) + 1 < length) {
        strcat(path, "/");
        strcat(path, part);
        cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir: %s", strerror(errno));
    }
    strcat(path, "/");
    strcat(path, name);
    return path;
}

// Remove the directories deep_path made under dir (and `name` in the last).
static void remove_deep(const char *dir, const char *path)
{
    char *copy = strdup(path);
    remove(copy);
    for (char *slash; (slash = strrchr(copy, '/')) && strlen(copy) > strlen(dir);) {
        *slash = 0;
        if (strlen(copy) > strlen(dir)) rmdir(copy);
    }
    free(copy);
    fm_test_remove_dir(dir);
}

// The message fits the buffer, ends with `reason`, and keeps the tail of the
// path after "...".
static void expect_shortened(const char *msg, const char *path, const char *reason)
{
    const size_t length = strlen(msg);
    cr_assert_lt(length, FM_MSG_LEN);
    cr_assert_geq(length, strlen(reason));
    cr_assert_str_eq(msg + length - strlen(reason), reason, "the reason is cut: %s", msg);
    cr_assert_eq(strncmp(msg, "...", 3), 0, "the path does not start with ...: %s", msg);
    const char *tail = path + strlen(path) - 40;
    cr_assert_not_null(strstr(msg, tail), "the end of the path is missing: %s", msg);
}

Test(messages, fail_shortens_a_long_path)
{
    char path[1001], msg[FM_MSG_LEN];
    for (int i = 0; i < 1000; i++) path[i] = i % 50 == 49 ? '/' : 'a' + i % 26;
    path[1000] = 0;
    cr_assert_eq(fm_fail(FM_ERR_IO, msg, "%s: cannot open the file: %s", path, "No such file or directory"),
                 FM_ERR_IO);
    expect_shortened(msg, path, ": cannot open the file: No such file or directory");
    // a short one is left whole
    cr_assert_eq(fm_fail(FM_ERR_IO, msg, "%s: cannot open the file: %d", "x.mtx", 7), FM_ERR_IO);
    cr_assert_str_eq(msg, "x.mtx: cannot open the file: 7");
    // a message without a leading path is written as it is
    fm_fail(FM_ERR_INVALID, msg, "rank %d is out of range", 0);
    cr_assert_str_eq(msg, "rank 0 is out of range");
}

// The reader's "file:line: reason", the opener's and the model loader's.
Test(messages, readers_keep_the_reason)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    char *path = deep_path(dir, "bad.mtx", 1000);
    cr_assert_gt(strlen(path), 990);
    fm_test_write(path, COO "3 3 1\n1 1\n");
    fm_triplets *t = NULL;
    cr_assert_eq(fm_mtx_read(&t, path, false, msg), FM_ERR_PARSE);
    expect_shortened(msg, path, "/bad.mtx:3: expected 3 fields \"row col value\", found 2");
    remove(path);
    cr_assert_eq(fm_mtx_read(&t, path, false, msg), FM_ERR_IO);
    expect_shortened(msg, path, "/bad.mtx: cannot open the file: No such file or directory");
    fm_checkpoint_header header;
    fm_params *params = NULL;
    cr_assert_eq(fm_checkpoint_read(path, &header, &params, NULL, NULL, msg), FM_ERR_IO);
    expect_shortened(msg, path, "/bad.mtx: cannot open the model file: No such file or directory");
    remove_deep(dir, path);
    free(path);
}

Test(messages, control_bytes_are_escaped)
{
    char msg[FM_MSG_LEN];
    fm_fail(FM_ERR_IO, msg, "%s: cannot open the file", "a\nb\x1b[31mc\x7f\td");
    cr_assert_str_eq(msg, "a\\x0ab\\x1b[31mc\\x7f\\x09d: cannot open the file");
    // UTF-8 is not a control byte
    fm_fail(FM_ERR_IO, msg, "%s: x", "caf\xc3\xa9.mtx");
    cr_assert_str_eq(msg, "caf\xc3\xa9.mtx: x");
    // a header token from the file
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "bad.mtx");
    fm_test_write(path, "%%MatrixMarket matrix coordinate re\x01\x1b]0;x\x07 general\n1 1 0\n");
    fm_triplets *t = NULL;
    cr_assert_eq(fm_mtx_read(&t, path, false, msg), FM_ERR_PARSE);
    cr_assert_not_null(strstr(msg, "unknown field \"re\\x01\\x1b]0;x\\x07\""), "%s", msg);
    for (const char *c = msg; *c; c++) cr_assert((unsigned char)*c >= 0x20 && *c != 0x7f, "a control byte: %s", msg);
    fm_test_write(path, "%%MatrixMarket matrix\x1b coordinate real general\n1 1 0\n");
    cr_assert_eq(fm_mtx_read(&t, path, false, msg), FM_ERR_PARSE);
    cr_assert_not_null(strstr(msg, "matrix\\x1b"), "%s", msg);
    fm_test_remove_dir(dir);
}

static void gzip_text(const char *path, const char *text)
{
    gzFile gz = gzopen(path, "wb");
    cr_assert_not_null(gz);
    cr_assert_geq(gzputs(gz, text), 0);
    cr_assert_eq(gzclose(gz), Z_OK);
}

// Flip bits of the byte `from_end` bytes before the end of the file.
static void flip(const char *path, long from_end)
{
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    cr_assert_eq(fseek(f, -from_end, SEEK_END), 0);
    const int c = fgetc(f);
    cr_assert_eq(fseek(f, -from_end, SEEK_END), 0);
    fputc(c ^ 0x5a, f);
    fclose(f);
}

// The gzip trailer holds the CRC-32 of the data (8 bytes from the end) and
// its length (4 bytes from the end).
Test(messages, gzip_checksums)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "x.mtx.gz");
    fm_triplets *t = NULL;
    gzip_text(path, COO "3 3 2\n1 1 1\n2 2 2\n");
    cr_assert_eq(fm_mtx_read(&t, path, false, msg), FM_OK, "%s", msg);
    fm_triplets_free(&t);
    flip(path, 8);
    cr_assert_eq(fm_mtx_read(&t, path, false, msg), FM_ERR_PARSE, "%s", msg);
    cr_assert_null(t);
    cr_assert_not_null(strstr(msg, "x.mtx.gz: corrupt gzip data (CRC error)"), "%s", msg);
    cr_assert_not_null(strstr(msg, "the file is damaged"), "%s", msg);
    gzip_text(path, COO "3 3 2\n1 1 1\n2 2 2\n");
    flip(path, 2);
    cr_assert_eq(fm_mtx_read(&t, path, false, msg), FM_ERR_PARSE, "%s", msg);
    cr_assert_not_null(strstr(msg, "x.mtx.gz: corrupt gzip data (length check)"), "%s", msg);
    fm_test_remove_dir(dir);
}

// LAPACKE's codes for a workspace or a transposed copy it could not
// allocate are out of memory, not a numerical failure. (Forcing LAPACKE to
// fail its allocation is not practical in a test; this is the helper every
// LAPACKE call in the library goes through.)
Test(messages, lapack_status)
{
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_lapack_status(0, "LAPACKE_sgeqrf", "QR factorization failed", msg), FM_OK);
    cr_assert_eq(fm_lapack_status(LAPACK_WORK_MEMORY_ERROR, "LAPACKE_sgeqrf", "QR factorization failed", msg),
                 FM_ERR_MEMORY);
    cr_assert_not_null(strstr(msg, "LAPACKE_sgeqrf: out of memory"), "%s", msg);
    cr_assert_null(strstr(msg, "QR factorization failed"), "%s", msg);
    cr_assert_eq(fm_lapack_status(LAPACK_TRANSPOSE_MEMORY_ERROR, "LAPACKE_dgesvd", "did not converge", msg),
                 FM_ERR_MEMORY);
    cr_assert_not_null(strstr(msg, "LAPACKE_dgesvd: out of memory"), "%s", msg);
    cr_assert_eq(fm_lapack_status(3, "LAPACKE_dgesvd", "the small SVD did not converge", msg), FM_ERR_NUMERIC);
    cr_assert_not_null(strstr(msg, "the small SVD did not converge (LAPACK info 3)"), "%s", msg);
    cr_assert_eq(fm_lapack_status(-4, "LAPACKE_dgesvd", "the small SVD did not converge", msg), FM_ERR_INVALID);
    cr_assert_not_null(strstr(msg, "argument 4"), "%s", msg);
}
