#include "solver_fixtures.h"

#include <criterion/criterion.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

fm_square *fm_test_square_taking(int64_t n, int64_t count, int64_t *row, int64_t *col, double *val,
                                 bool mirror_lower)
{
    fm_square *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_square_from_triplets(&g, n, count, row, col, val, mirror_lower, msg), FM_OK, "%s", msg);
    free(row);
    free(col);
    free(val);
    return g;
}

fm_square *fm_test_square_dense(const double *dense, int64_t n)
{
    int64_t count = 0;
    for (int64_t e = 0; e < n * n; e++) count += dense[e] != 0 || e / n == e % n;
    int64_t *row = malloc(sizeof(int64_t) * count), *col = malloc(sizeof(int64_t) * count);
    double *val = malloc(sizeof(double) * count);
    cr_assert(row && col && val);
    count = 0;
    for (int64_t e = 0; e < n * n; e++)
        if (dense[e] != 0 || e / n == e % n) {
            row[count] = e / n;
            col[count] = e % n;
            val[count++] = dense[e];
        }
    return fm_test_square_taking(n, count, row, col, val, false);
}

fm_test_system fm_test_random_spd(int64_t n, int64_t entries, double alpha, uint64_t seed)
{
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    double *m = calloc(n * n, sizeof(double)), *a = calloc(n * n, sizeof(double));
    cr_assert(m && a);
    for (int64_t e = 0; e < entries; e++) {
        int64_t at = (int64_t)(fm_rng_uniform(rng, 3 * e) * (double)(n * n));
        m[at] += fm_rng_normal(rng, 3 * e + 1);
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j <= i; j++) {
            double s = 0;
            for (int64_t k = 0; k < n; k++) s += m[i * n + k] * m[j * n + k];
            a[i * n + j] = a[j * n + i] = s;
        }
    for (int64_t i = 0; i < n; i++) a[i * n + i] += alpha;
    free(m);
    return (fm_test_system){ n, a, fm_test_square_dense(a, n) };
}

fm_test_system fm_test_laplacian(int64_t side)
{
    int64_t n = side * side;
    double *a = calloc(n * n, sizeof(double));
    cr_assert_not_null(a);
    for (int64_t x = 0; x < side; x++)
        for (int64_t y = 0; y < side; y++) {
            int64_t i = x * side + y;
            a[i * n + i] = 4;
            if (x > 0) a[i * n + i - side] = -1;
            if (x + 1 < side) a[i * n + i + side] = -1;
            if (y > 0) a[i * n + i - 1] = -1;
            if (y + 1 < side) a[i * n + i + 1] = -1;
        }
    return (fm_test_system){ n, a, fm_test_square_dense(a, n) };
}

fm_square *fm_test_grid_square(int64_t side)
{
    const int64_t n = side * side;
    int64_t *row = malloc(sizeof(int64_t) * 3 * n), *col = malloc(sizeof(int64_t) * 3 * n);
    double *val = malloc(sizeof(double) * 3 * n);
    cr_assert(row && col && val);
    int64_t count = 0;
    for (int64_t r = 0; r < side; r++)
        for (int64_t c = 0; c < side; c++) {
            const int64_t i = r * side + c;
            row[count] = i, col[count] = i, val[count++] = 4;
            if (c > 0) row[count] = i, col[count] = i - 1, val[count++] = -1;
            if (r > 0) row[count] = i, col[count] = i - side, val[count++] = -1;
        }
    return fm_test_square_taking(n, count, row, col, val, true);
}

fm_test_system fm_test_kershaw(int64_t copies)
{
    static const double kershaw[4][4] = {
        { 3, -2, 0, 2 }, { -2, 3, -2, 0 }, { 0, -2, 3, -2 }, { 2, 0, -2, 3 },
    };
    int64_t n = 4 * copies;
    double *a = calloc(n * n, sizeof(double));
    cr_assert_not_null(a);
    for (int64_t c = 0; c < copies; c++) {
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) a[(4 * c + i) * n + 4 * c + j] = kershaw[i][j];
        if (c > 0) {   // 0.01 between neighbouring blocks; the diagonal absorbs it
            int64_t i = 4 * c, j = 4 * c - 1;
            a[i * n + j] = a[j * n + i] = 0.01;
            a[i * n + i] += 0.01;
            a[j * n + j] += 0.01;
        }
    }
    return (fm_test_system){ n, a, fm_test_square_dense(a, n) };
}

void fm_test_system_free(fm_test_system *s)
{
    free(s->dense);
    fm_square_free(&s->graph);
    memset(s, 0, sizeof *s);
}

void fm_test_dense_solve(const double *dense, int64_t n, const double *b, double *x)
{
    double *a = malloc(sizeof(double) * n * n);
    cr_assert_not_null(a);
    memcpy(a, dense, sizeof(double) * n * n);
    memcpy(x, b, sizeof(double) * n);
    int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, 1, a, (lapack_int)n, x, 1);
    cr_assert_eq(info, 0, "dposv: info %d", info);
    free(a);
}

double fm_test_max_relative(const double *a, const double *b, int64_t n)
{
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs(a[i] - b[i]));
        scale = fmax(scale, fabs(b[i]));
    }
    return scale > 0 ? diff / scale : diff;
}

fm_square *fm_test_dominant_spd(int64_t n, int per_row, uint64_t seed, const double *row_scale)
{
    const int64_t cap = n * (per_row + 1);
    int64_t *row = malloc(cap * sizeof *row), *col = malloc(cap * sizeof *col);
    double *val = malloc(cap * sizeof *val), *absolute = calloc(n, sizeof *absolute);
    fm_rng r = fm_rng_stream(seed, 1);
    uint64_t c = 0;
    int64_t count = 0;
    for (int64_t i = 1; i < n; i++)
        for (int q = 0; q < per_row; q++) {
            const int64_t j = (int64_t)(fm_rng_uniform(r, c++) * (double)i);
            const double v = 2 * fm_rng_uniform(r, c++) - 1;
            row[count] = i; col[count] = j; val[count] = v; count++;
            absolute[i] += fabs(v);
            absolute[j] += fabs(v);
        }
    for (int64_t i = 0; i < n; i++) {
        row[count] = i; col[count] = i; val[count] = absolute[i] + 0.5 + fm_rng_uniform(r, c++); count++;
    }
    if (row_scale)
        for (int64_t k = 0; k < count; k++) val[k] *= row_scale[row[k]] * row_scale[col[k]];
    char msg[FM_MSG_LEN] = "";
    fm_square *g = NULL;
    cr_assert_eq(fm_square_from_triplets(&g, n, count, row, col, val, true, msg), FM_OK, "%s", msg);
    free(row); free(col); free(val); free(absolute);
    return g;
}

double *fm_test_normal_vector(int64_t n, uint64_t seed)
{
    double *z = malloc(n * sizeof *z);
    fm_rng r = fm_rng_stream(seed, 2);
    for (int64_t i = 0; i < n; i++) z[i] = fm_rng_normal(r, (uint64_t)i);
    return z;
}

// A random lower factor by rows: about `per_row` earlier columns at random
// (with `band` also the `band` columns just before the diagonal), values
// N(0, 1) / (row length), a diagonal of 1 + U(0, 1) with a random sign; the
// off-diagonal row sums stay below the diagonal, so L is well conditioned.
fm_csr *fm_test_csr_of(int64_t n, int64_t count, const int64_t *start, const int64_t *index, const double *value)
{
    fm_csr *T = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_csr_new(&T, n, count, msg), FM_OK, "%s", msg);
    memcpy(T->start, start, sizeof(int64_t) * (n + 1));
    if (count) {
        memcpy(T->index, index, sizeof(int64_t) * count);
        memcpy(T->value, value, sizeof(double) * count);
    }
    return T;
}

fm_csr *fm_test_random_lower(int64_t n, int64_t per_row, int64_t band, uint64_t seed)
{
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    bool *mark = calloc(n, 1);
    int64_t capacity = n * (per_row + band + 1), count = 0;
    int64_t *start = calloc(n + 1, sizeof(int64_t)), *index = malloc(sizeof(int64_t) * capacity);
    double *value = malloc(sizeof(double) * capacity);
    for (int64_t i = 0; i < n; i++) {
        int64_t got = 0, lowest = i;
        for (int64_t t = 0; t < per_row && i > 0; t++) {
            int64_t j = (int64_t)(fm_rng_uniform(rng, (uint64_t)(i * 64 + t)) * i);
            if (!mark[j]) mark[j] = true, got++, lowest = j < lowest ? j : lowest;
        }
        for (int64_t j = i - band < 0 ? 0 : i - band; j < i; j++)
            if (!mark[j]) mark[j] = true, got++, lowest = j < lowest ? j : lowest;
        for (int64_t j = lowest; j < i; j++)
            if (mark[j]) {
                index[count] = j;
                value[count] = fm_rng_normal(rng, (uint64_t)(n * 64 + count)) / (got + 1);
                count++;
                mark[j] = false;
            }
        index[count] = i;
        value[count++] = (1 + fm_rng_uniform(rng, (uint64_t)(n * 200 + i))) * (i % 5 == 2 ? -1 : 1);
        start[i + 1] = count;
    }
    fm_csr *L = fm_test_csr_of(n, count, start, index, value);
    free(mark);
    free(start);
    free(index);
    free(value);
    return L;
}
