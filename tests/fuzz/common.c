// What the harnesses share: see common.h.
#define _GNU_SOURCE   // memfd_create
#include "common.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void fuzz_init(void)
{
    char msg[FM_MSG_LEN] = "";
    if (fm_init(msg) != FM_OK) {
        fprintf(stderr, "fuzz: fm_init failed: %s\n", msg);
        exit(2);
    }
    fm_set_threads(1);
}

const char *fuzz_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz-input", MFD_CLOEXEC);
        if (fd < 0) {
            perror("fuzz: memfd_create");
            exit(2);
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0) {
        perror("fuzz: ftruncate");
        exit(2);
    }
    for (size_t done = 0; done < size;) {
        const ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
        if (n <= 0) {
            perror("fuzz: pwrite");
            exit(2);
        }
        done += (size_t)n;
    }
    return path;
}

void fuzz_check_failure(int status, const char *msg, int output_is_null)
{
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (verbose) fprintf(stderr, "fuzz: status %d: %s\n", status, msg);
    FUZZ_ASSERT(status >= FM_ERR_NUMERIC && status < 0, "status %d is not an FM_ERR_* code", status);
    FUZZ_ASSERT(msg[0] != '\0', "status %d with an empty message", status);
    FUZZ_ASSERT(memchr(msg, '\0', FM_MSG_LEN) != NULL, "the message is not terminated");
    FUZZ_ASSERT(output_is_null, "status %d (%s) but the output was set", status, msg);
}

//------------------------------------------------------------------------------
// The Matrix Market target
//------------------------------------------------------------------------------

static int compare_keys(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

// What fm_mtx_read promises of a matrix it returns.
static void check_triplets(const fm_triplets *t, bool duplicates_are_errors)
{
    FUZZ_ASSERT(t->rows >= 1 && t->cols >= 1 && t->rows <= INT64_MAX / t->cols, "shape %lld x %lld",
                (long long)t->rows, (long long)t->cols);
    FUZZ_ASSERT(t->count >= 0, "count %lld", (long long)t->count);
    if (t->array) {
        FUZZ_ASSERT(!t->row && !t->col && t->val && t->count == t->rows * t->cols,
                    "an array of %lld x %lld holds %lld values", (long long)t->rows, (long long)t->cols,
                    (long long)t->count);
    } else {
        FUZZ_ASSERT(t->count == 0 || (t->row && t->col && t->val), "%lld entries without arrays",
                    (long long)t->count);
        for (int64_t e = 0; e < t->count; e++)
            FUZZ_ASSERT(t->row[e] >= 0 && t->row[e] < t->rows && t->col[e] >= 0 && t->col[e] < t->cols,
                        "entry %lld at (%lld, %lld) outside %lld x %lld", (long long)e, (long long)t->row[e],
                        (long long)t->col[e], (long long)t->rows, (long long)t->cols);
    }
    for (int64_t e = 0; e < t->count; e++)
        FUZZ_ASSERT(isfinite(t->val[e]) && t->val[e] >= 0, "value %lld is %g", (long long)e, (double)t->val[e]);
    if (duplicates_are_errors && !t->array && t->count > 1) {
        int64_t *keys = malloc((size_t)t->count * sizeof *keys);
        if (!keys) return;
        for (int64_t e = 0; e < t->count; e++) keys[e] = t->row[e] * t->cols + t->col[e];
        qsort(keys, (size_t)t->count, sizeof *keys, compare_keys);
        for (int64_t e = 1; e < t->count; e++)
            FUZZ_ASSERT(keys[e] != keys[e - 1], "duplicate coordinate (%lld, %lld) accepted",
                        (long long)(keys[e] / t->cols + 1), (long long)(keys[e] % t->cols + 1));
        free(keys);
    }
}

static void build_graph(const fm_triplets *t, fm_kind kind)
{
    const bool dense = kind == FM_KIND_DENSE || (kind == FM_KIND_AUTO && t->array);
    if (t->rows + t->cols > FUZZ_GRAPH_MAX_NODES) return;
    if (dense && t->rows * t->cols > FUZZ_GRAPH_MAX_DENSE) return;
    char msg[FM_MSG_LEN] = "";
    fm_graph *g = NULL;
    const int status = fm_graph_from_triplets(&g, t, kind, msg);
    if (status != FM_OK) {
        fuzz_check_failure(status, msg, g == NULL);
        return;
    }
    fm_graph_stats st;
    fm_graph_stats_get(g, &st);
    FUZZ_ASSERT(st.rows == t->rows && st.cols == t->cols, "graph %lld x %lld from %lld x %lld", (long long)st.rows,
                (long long)st.cols, (long long)t->rows, (long long)t->cols);
    FUZZ_ASSERT(st.entries >= 0 && st.entries <= st.rows * st.cols, "%lld edges", (long long)st.entries);
    FUZZ_ASSERT(st.sum >= 0 && st.min >= 0 && st.min <= st.max, "sum %g, min %g, max %g", st.sum, (double)st.min,
                (double)st.max);
    fm_graph_free(&g);
}

void fuzz_mtx(const char *path, uint8_t options)
{
    const bool duplicates_are_errors = options & 1, dense_reader = options & 8;
    const fm_kind kind = (fm_kind)((options >> 1) & 3);
    char msg[FM_MSG_LEN] = "";
    if (dense_reader) {
        fm_dense *m = NULL;
        const int status = fm_mtx_read_dense(&m, path, msg);
        if (status != FM_OK) {
            fuzz_check_failure(status, msg, m == NULL);
            return;
        }
        FUZZ_ASSERT(m->rows >= 1 && m->cols >= 1 && m->data, "a dense %lld x %lld", (long long)m->rows,
                    (long long)m->cols);
        for (int64_t e = 0; e < m->rows * m->cols; e++)
            FUZZ_ASSERT(isfinite(m->data[e]) && m->data[e] >= 0, "value %lld is %g", (long long)e,
                        (double)m->data[e]);
        fm_dense_free(&m);
        return;
    }
    fm_triplets *t = NULL;
    const int status = fm_mtx_read(&t, path, duplicates_are_errors, msg);
    if (status != FM_OK) {
        fuzz_check_failure(status, msg, t == NULL);
        return;
    }
    check_triplets(t, duplicates_are_errors);
    build_graph(t, kind);
    fm_triplets_free(&t);
}
