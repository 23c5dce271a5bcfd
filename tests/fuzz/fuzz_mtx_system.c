// libFuzzer harness: the Matrix Market reader of linear systems
// (io/mtx_system.c: fm_mtx_read_system, fm_mtx_read_vector), then the graph
// of the square matrix (fm_square_from_triplets) and its scaled copy
// (fm_square_scaled, P2). The first byte of an input selects options (the
// rest is the file):
//   bit 0     read a right-hand side (fm_mtx_read_vector) instead of a matrix
//   bits 1-7  the vector's length n (0 checks that the reader refuses it)
//   bit 1     a matrix: build the graph with mirror_lower the opposite of
//             what the file says (a general file mirrored, a symmetric one
//             not), which the builder must take as well
// Graphs are built only for orders up to FUZZ_GRAPH_MAX_NODES.
#include "common.h"
#include "mtx_system.h"
#include "square.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    return 0;
}

// What a CSR of the graph promises: n rows, offsets from 0 to count that
// never decrease, columns in range and strictly ascending in each row
// (duplicates summed), finite values.
static void check_csr(const fm_csr *M, int64_t n, const char *what)
{
    FUZZ_ASSERT(M && M->n == n && M->count >= 0 && M->start, "%s: %lld rows, expected %lld", what,
                M ? (long long)M->n : -1LL, (long long)n);
    FUZZ_ASSERT(M->start[0] == 0 && M->start[n] == M->count, "%s: offsets %lld .. %lld for %lld entries", what,
                (long long)M->start[0], (long long)M->start[n], (long long)M->count);
    for (int64_t i = 0; i < n; i++) {
        FUZZ_ASSERT(M->start[i] <= M->start[i + 1], "%s: row %lld ends before it starts", what, (long long)i);
        for (int64_t k = M->start[i]; k < M->start[i + 1]; k++) {
            FUZZ_ASSERT(M->index[k] >= 0 && M->index[k] < n, "%s: column %lld in row %lld", what,
                        (long long)M->index[k], (long long)i);
            FUZZ_ASSERT(k == M->start[i] || M->index[k - 1] < M->index[k], "%s: row %lld not strictly ascending",
                        what, (long long)i);
            FUZZ_ASSERT(isfinite(M->value[k]), "%s: (%lld, %lld) is %g", what, (long long)i, (long long)M->index[k],
                        M->value[k]);
        }
    }
}

// The graph's promises (engine/square.h): A, its lower part by rows with the
// diagonal last, by columns with the diagonal first and the map between them;
// the scale sqrt|a_ii| (1 where a_ii = 0); a mirrored matrix is symmetric.
static void check_square(const fm_square *g, int64_t n, bool mirrored, bool scaled)
{
    FUZZ_ASSERT(g->n == n, "a graph of order %lld from %lld", (long long)g->n, (long long)n);
    check_csr(g->A, n, "A");
    check_csr(g->lower, n, "lower");
    check_csr(g->lower_by_columns, n, "lower by columns");
    FUZZ_ASSERT(g->lower->count == g->lower_by_columns->count, "lower: %lld entries by rows, %lld by columns",
                (long long)g->lower->count, (long long)g->lower_by_columns->count);
    for (int64_t i = 0; i < n; i++) {
        const int64_t last = g->lower->start[i + 1] - 1, first = g->lower_by_columns->start[i];
        FUZZ_ASSERT(last >= g->lower->start[i] && g->lower->index[last] == i, "lower row %lld: no diagonal last",
                    (long long)i);
        FUZZ_ASSERT(first < g->lower_by_columns->start[i + 1] && g->lower_by_columns->index[first] == i,
                    "lower column %lld: no diagonal first", (long long)i);
        FUZZ_ASSERT(isfinite(g->scale[i]) && g->scale[i] > 0, "scale %lld is %g", (long long)i, g->scale[i]);
        if (scaled) {
            const double d = g->lower->value[last];
            FUZZ_ASSERT(g->scale[i] == 1.0 && (d == 1.0 || d == -1.0 || d == 0.0),
                        "the scaled graph: scale %g, diagonal %g at %lld", g->scale[i], d, (long long)i);
        }
    }
    for (int64_t j = 0; j < n; j++)
        for (int64_t k = g->lower_by_columns->start[j]; k < g->lower_by_columns->start[j + 1]; k++) {
            const int64_t e = g->lower_edge[k], i = g->lower_by_columns->index[k];
            FUZZ_ASSERT(e >= 0 && e < g->lower->count && e >= g->lower->start[i] && e < g->lower->start[i + 1] &&
                            g->lower->index[e] == j && g->lower->value[e] == g->lower_by_columns->value[k],
                        "lower edge %lld of column %lld does not map to (%lld, %lld)", (long long)k, (long long)j,
                        (long long)i, (long long)j);
        }
    if (mirrored) FUZZ_ASSERT(g->symmetric, "a mirrored matrix is not symmetric");
}

static void fuzz_square(const fm_system_matrix *m, bool mirror)
{
    if (m->n > FUZZ_GRAPH_MAX_NODES) return;
    char msg[FM_MSG_LEN] = "";
    fm_square *g = NULL, *s = NULL;
    int status = fm_square_from_triplets(&g, m->n, m->count, m->row, m->col, m->val, mirror, msg);
    if (status != FM_OK) {
        fuzz_check_failure(status, msg, g == NULL);
        return;
    }
    check_square(g, m->n, mirror, false);
    status = fm_square_scaled(&s, g, msg);
    if (status != FM_OK) {
        fuzz_check_failure(status, msg, s == NULL);
    } else {
        check_square(s, m->n, mirror, true);
        FUZZ_ASSERT(s->symmetric == g->symmetric, "scaling changed symmetry");
        fm_square_free(&s);
    }
    fm_square_free(&g);
}

static void fuzz_system(const char *path, uint8_t options)
{
    char msg[FM_MSG_LEN] = "";
    fm_system_matrix *m = NULL;
    const int status = fm_mtx_read_system(&m, path, msg);
    if (status != FM_OK) {
        fuzz_check_failure(status, msg, m == NULL);
        return;
    }
    FUZZ_ASSERT(m->n >= 1 && m->n <= FM_MAX_DIMENSION && m->count >= 0, "order %lld, %lld entries", (long long)m->n,
                (long long)m->count);
    FUZZ_ASSERT(m->count == 0 || (m->row && m->col && m->val), "%lld entries without arrays", (long long)m->count);
    for (int64_t e = 0; e < m->count; e++) {
        FUZZ_ASSERT(m->row[e] >= 0 && m->row[e] < m->n && m->col[e] >= 0 && m->col[e] < m->n,
                    "entry %lld at (%lld, %lld) outside order %lld", (long long)e, (long long)m->row[e],
                    (long long)m->col[e], (long long)m->n);
        FUZZ_ASSERT(!m->symmetric || m->row[e] >= m->col[e], "a symmetric file's entry %lld above the diagonal",
                    (long long)e);
        FUZZ_ASSERT(isfinite(m->val[e]), "value %lld is %g", (long long)e, m->val[e]);
    }
    fuzz_square(m, (options & 2) ? !m->symmetric : m->symmetric);
    fm_system_matrix_free(&m);
}

static void fuzz_vector(const char *path, int64_t n)
{
    char msg[FM_MSG_LEN] = "";
    double *x = NULL;
    const int status = fm_mtx_read_vector(&x, path, n, msg);
    if (status != FM_OK) {
        fuzz_check_failure(status, msg, x == NULL);
        return;
    }
    FUZZ_ASSERT(n >= 1, "a vector of length %lld read", (long long)n);
    for (int64_t i = 0; i < n; i++) FUZZ_ASSERT(isfinite(x[i]), "x[%lld] is %g", (long long)i, x[i]);
    free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *path = fuzz_file(data + 1, size - 1);
    if (data[0] & 1) fuzz_vector(path, data[0] >> 1);
    else fuzz_system(path, data[0]);
    return 0;
}
