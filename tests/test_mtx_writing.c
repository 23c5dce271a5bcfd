// Matrix Market writing (io/mtx): dense and triplet round trips, the
// writer's exact format and file mode, and writers that leave nothing
// behind on failure.
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "mtx_fixtures.h"

TestSuite(mtx_writing, .init = fm_test_setup);

//------------------------------------------------------------------------------
// Fixtures
//------------------------------------------------------------------------------

// Random values spread over many binades, zero, subnormals and extremes.
static fm_dense *random_dense(int64_t rows, int64_t cols, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    fm_dense *m = NULL;
    cr_assert_eq(fm_dense_new(&m, rows, cols, msg), FM_OK, "%s", msg);
    float *u = fm_test_uniform(rows * cols, seed);
    for (int64_t k = 0; k < rows * cols; k++)
        m->data[k] = ldexpf(u[k], (int)(k % 61) - 30);
    free(u);
    m->data[0] = 0.0f;
    if (rows * cols > 4) {
        m->data[1] = FLT_MAX;
        m->data[2] = FLT_MIN;
        m->data[3] = 1.4e-45f;   // the smallest subnormal
        m->data[4] = 16777217.0f;
    }
    return m;
}

//------------------------------------------------------------------------------
// Round trips
//------------------------------------------------------------------------------

Test(mtx_writing, dense_round_trip_is_exact)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "W.mtx");
    fm_dense *m = random_dense(37, 23, 7), *back = NULL;
    cr_assert_eq(fm_mtx_write_dense(path, m, "factormer test\nsecond line", msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_test_count_files(dir), 1, "the directory must hold only the output file");
    cr_assert_eq(fm_mtx_read_dense(&back, path, msg), FM_OK, "%s", msg);
    cr_assert_eq(back->rows, 37);
    cr_assert_eq(back->cols, 23);
    for (int64_t k = 0; k < 37 * 23; k++)
        cr_assert(back->data[k] == m->data[k], "value %lld: wrote %.9g, read %.9g", (long long)k,
                  (double)m->data[k], (double)back->data[k]);
    fm_dense_free(&m);
    fm_dense_free(&back);
    fm_test_remove_dir(dir);
}

Test(mtx_writing, dense_writer_format)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "H.mtx");
    fm_dense *m = NULL;
    cr_assert_eq(fm_dense_new(&m, 2, 3, msg), FM_OK, "%s", msg);
    for (int k = 0; k < 6; k++) m->data[k] = (float)(k + 1);   // rows 1 2 3 / 4 5 6
    m->data[5] = 0.1f;
    cr_assert_eq(fm_mtx_write_dense(path, m, "rank 2\n\n factors\n", msg), FM_OK, "%s", msg);
    char *text = fm_test_read_text(path);
    cr_assert_str_eq(text,
                     "%%MatrixMarket matrix array real general\n"
                     "%rank 2\n"
                     "%\n"
                     "% factors\n"
                     "2 3\n"
                     "1\n4\n2\n5\n3\n0.100000001\n");
    free(text);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    mode_t mask = umask(0);
    umask(mask);
    cr_assert_eq(st.st_mode & 0777, 0666 & ~mask, "the file mode must follow the umask, got %o",
                 st.st_mode & 0777);
    fm_dense_free(&m);
    fm_test_remove_dir(dir);
}

static fm_triplets *random_triplets(int64_t rows, int64_t cols, int64_t count, uint64_t seed)
{
    fm_triplets *t = calloc(1, sizeof *t);
    cr_assert_not_null(t);
    t->rows = rows;
    t->cols = cols;
    t->count = count;
    t->row = malloc(sizeof(int64_t) * (size_t)count);
    t->col = malloc(sizeof(int64_t) * (size_t)count);
    t->val = malloc(sizeof(float) * (size_t)count);
    cr_assert(t->row && t->col && t->val);
    float *u = fm_test_uniform(3 * count, seed);
    for (int64_t k = 0; k < count; k++) {
        t->row[k] = (int64_t)(u[3 * k] * (float)rows) % rows;
        t->col[k] = (int64_t)(u[3 * k + 1] * (float)cols) % cols;
        t->val[k] = ldexpf(u[3 * k + 2], (int)(k % 21) - 10);
    }
    free(u);
    return t;
}

Test(mtx_writing, triplets_round_trip)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "X.mtx");
    fm_triplets *t = random_triplets(50, 70, 1000, 3), *back = NULL;
    t->row[0] = 49;   // the corners, 1-based in the file
    t->col[0] = 69;
    t->row[1] = 0;
    t->col[1] = 0;
    cr_assert_eq(fm_mtx_write_triplets(path, t, "sample", msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_test_count_files(dir), 1);
    cr_assert_eq(fm_mtx_read(&back, path, false, msg), FM_OK, "%s", msg);
    cr_assert_eq(back->rows, 50);
    cr_assert_eq(back->cols, 70);
    cr_assert_eq(back->count, 1000);
    cr_assert_not(back->array);
    for (int64_t k = 0; k < 1000; k++) mtx_expect_entry(back, k, t->row[k], t->col[k], t->val[k]);
    char *text = fm_test_read_text(path);
    const char *start = "%%MatrixMarket matrix coordinate real general\n%sample\n50 70 1000\n50 70 ";
    cr_assert(strncmp(text, start, strlen(start)) == 0, "unexpected start: %.80s", text);
    free(text);
    fm_triplets_free(&t);
    fm_triplets_free(&back);
    cr_assert_null(t);
    fm_test_remove_dir(dir);
}

Test(mtx_writing, array_triplets_write_as_coordinate)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "A.mtx");
    float values[6] = { 1, 2, 3, 4, 5, 6.5f };
    fm_triplets t = { .rows = 2, .cols = 3, .count = 6, .val = values, .array = true };
    fm_triplets *back = NULL;
    cr_assert_eq(fm_mtx_write_triplets(path, &t, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_mtx_read(&back, path, true, msg), FM_OK, "%s", msg);
    cr_assert_eq(back->count, 6);
    for (int64_t k = 0; k < 6; k++) mtx_expect_entry(back, k, k / 3, k % 3, values[k]);
    fm_triplets_free(&back);
    fm_test_remove_dir(dir);
}

//------------------------------------------------------------------------------
// Writers leave nothing behind
//------------------------------------------------------------------------------

Test(mtx_writing, writer_into_missing_directory)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    char missing[512];
    snprintf(missing, sizeof missing, "%s/no/such/dir/W.mtx", dir);
    fm_dense *m = random_dense(3, 2, 1);
    cr_assert_eq(fm_mtx_write_dense(missing, m, NULL, msg), FM_ERR_IO);
    cr_assert_not_null(strstr(msg, missing), "%s", msg);
    cr_assert_eq(fm_test_count_files(dir), 0);
    fm_triplets *t = random_triplets(4, 4, 5, 2);
    cr_assert_eq(fm_mtx_write_triplets(missing, t, "c", msg), FM_ERR_IO);
    cr_assert_eq(fm_test_count_files(dir), 0);
    fm_triplets_free(&t);
    fm_dense_free(&m);
    fm_test_remove_dir(dir);
}

Test(mtx_writing, writer_replaces_and_leaves_one_file)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "out.mtx");
    fm_test_write(path, "old content\n");
    fm_dense *m = random_dense(4, 5, 3), *back = NULL;
    cr_assert_eq(fm_mtx_write_dense(path, m, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_test_count_files(dir), 1);
    cr_assert_eq(fm_mtx_read_dense(&back, path, msg), FM_OK, "%s", msg);
    cr_assert_eq(memcmp(back->data, m->data, sizeof(float) * 20), 0);
    fm_dense_free(&back);
    fm_dense_free(&m);
    fm_test_remove_dir(dir);
}

Test(mtx_writing, writer_onto_a_directory)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *sub = fm_test_path(dir, "sub");
    cr_assert_eq(mkdir(sub, 0755), 0);
    fm_dense *m = random_dense(2, 2, 4);
    cr_assert_eq(fm_mtx_write_dense(sub, m, NULL, msg), FM_ERR_IO);
    cr_assert_not_null(strstr(msg, "rename"), "%s", msg);
    cr_assert_eq(fm_test_count_files(dir), 1, "only the directory remains");
    fm_dense_free(&m);
    rmdir(sub);
    fm_test_remove_dir(dir);
}

Test(mtx_writing, writer_rejects_bad_triplets)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "t.mtx");
    fm_triplets *t = random_triplets(4, 4, 5, 5);
    t->col[3] = 4;
    cr_assert_eq(fm_mtx_write_triplets(path, t, NULL, msg), FM_ERR_INVALID);
    cr_assert_not_null(strstr(msg, "entry 3"), "%s", msg);
    cr_assert_eq(fm_test_count_files(dir), 0);
    fm_triplets_free(&t);
    fm_test_remove_dir(dir);
}

// A write that fails midway (here the file size limit, as a full disk would)
// is reported, and neither the temporary file nor a partial output remains;
// an existing file at the path is left as it was.
Test(mtx_writing, writer_failure_midway)
{
    char msg[FM_MSG_LEN];
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, "W.mtx");
    fm_test_write(path, "previous\n");
    fm_dense *m = random_dense(1000, 100, 6);
    fm_triplets *t = random_triplets(1000, 1000, 100000, 6);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, small = { .rlim_cur = 64 * 1024 };
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    small.rlim_max = old.rlim_max;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    int dense_status = fm_mtx_write_dense(path, m, NULL, msg);
    char dense_msg[FM_MSG_LEN];
    strcpy(dense_msg, msg);
    int triplets_status = fm_mtx_write_triplets(path, t, NULL, msg);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert_eq(dense_status, FM_ERR_IO, "%s", dense_msg);
    cr_assert_not_null(strstr(dense_msg, "W.mtx: write failed"), "%s", dense_msg);
    cr_assert_eq(triplets_status, FM_ERR_IO, "%s", msg);
    cr_assert_eq(fm_test_count_files(dir), 1);
    char *text = fm_test_read_text(path);
    cr_assert_str_eq(text, "previous\n");
    free(text);
    fm_triplets_free(&t);
    fm_dense_free(&m);
    fm_test_remove_dir(dir);
}
