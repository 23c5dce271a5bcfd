// SpMV and the triangular solves (engine/products_solve.c) against their
// serial references and dense arithmetic, on random matrices and on the
// 5-point grid Laplacian, with 1, 2 and 3 threads; and the level schedules.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "rng.h"
#include "square.h"

TestSuite(solve_products, .init = fm_test_setup);

// A random n × n CSR: row i holds about `per_row` distinct columns (some rows
// empty, some dense), values N(0, 1).
static fm_csr *random_csr(int64_t n, int64_t per_row, uint64_t seed)
{
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    bool *mark = calloc(n, 1);
    int64_t *cols = malloc(sizeof(int64_t) * n);
    int64_t capacity = n * (2 * per_row + 1) + n, count = 0;
    int64_t *start = calloc(n + 1, sizeof(int64_t)), *index = malloc(sizeof(int64_t) * capacity);
    double *value = malloc(sizeof(double) * capacity);
    for (int64_t i = 0; i < n; i++) {
        int64_t want = i % 13 == 0 ? 0 : i % 17 == 1 ? (n < 200 ? n : 200)
                                                     : (int64_t)(fm_rng_uniform(rng, i) * 2 * per_row);
        int64_t got = 0;
        for (int64_t t = 0; t < 4 * want && got < want; t++) {
            int64_t j = (int64_t)(fm_rng_uniform(rng, (uint64_t)(n + i * 1000 + t)) * n);
            if (!mark[j]) mark[j] = true, cols[got++] = j;
        }
        // ascending: sweep the marks
        int64_t written = 0;
        for (int64_t j = 0; j < n && written < got; j++)
            if (mark[j]) {
                index[count] = j;
                value[count] = fm_rng_normal(rng, (uint64_t)(7 * n * n + count));
                count++;
                mark[j] = false;
                written++;
            }
        start[i + 1] = count;
    }
    fm_csr *A = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_csr_new(&A, n, count, msg), FM_OK, "%s", msg);
    memcpy(A->start, start, sizeof(int64_t) * (n + 1));
    memcpy(A->index, index, sizeof(int64_t) * count);
    memcpy(A->value, value, sizeof(double) * count);
    free(mark);
    free(cols);
    free(start);
    free(index);
    free(value);
    return A;
}

static void expect_close(const double *got, const double *expected, int64_t n, double tolerance, const char *what)
{
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < n; i++) {
        cr_assert(isfinite(got[i]), "%s: entry %lld is %g", what, (long long)i, got[i]);
        worst = fmax(worst, fabs(got[i] - expected[i]));
        scale = fmax(scale, fabs(expected[i]));
    }
    cr_assert_leq(worst, tolerance * fmax(scale, 1e-300), "%s: off by %g (scale %g)", what, worst, scale);
}

Test(solve_products, spmv_against_reference)
{
    const int64_t sizes[] = { 1, 5, 97, 4000 }, per_row[] = { 1, 3, 10, 12 };
    for (int s = 0; s < 4; s++) {
        const int64_t n = sizes[s];
        fm_csr *A = random_csr(n, per_row[s], 31 + s);
        double *x = fm_test_uniform_range(n, 41 + s, -1, 1);
        double *y = calloc(n, sizeof(double)), *expected = calloc(n, sizeof(double));
        double *one = calloc(n, sizeof(double)), *three = calloc(n, sizeof(double));
        fm_spmv_reference(A, x, expected);
        // dense: the plain sum again, from the entries
        for (int64_t i = 0; i < n; i++) {
            double sum = 0;
            for (int64_t k = A->start[i]; k < A->start[i + 1]; k++) sum += A->value[k] * x[A->index[k]];
            cr_assert_eq(sum, expected[i]);
        }
        omp_set_num_threads(2);
        fm_spmv(A, x, y);
        omp_set_num_threads(1);
        fm_spmv(A, x, one);
        omp_set_num_threads(3);
        fm_spmv(A, x, three);
        omp_set_num_threads(2);
        expect_close(y, expected, n, 1e-14 * 200, "spmv");
        cr_assert(!memcmp(y, one, sizeof(double) * n), "1 and 2 threads differ (n %lld)", (long long)n);
        cr_assert(!memcmp(y, three, sizeof(double) * n), "2 and 3 threads differ (n %lld)", (long long)n);
        free(x);
        free(y);
        free(expected);
        free(one);
        free(three);
        fm_csr_free(&A);
    }
}

// A random lower factor by rows: about `per_row` earlier columns at random
// (with `band` also the `band` columns just before the diagonal), values
// N(0, 1) / (row length), a diagonal of 1 + U(0, 1) with a random sign; the
// off-diagonal row sums stay below the diagonal, so L is well conditioned.
static fm_csr *random_lower(int64_t n, int64_t per_row, int64_t band, uint64_t seed)
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
    fm_csr *L = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_csr_new(&L, n, count, msg), FM_OK, "%s", msg);
    memcpy(L->start, start, sizeof(int64_t) * (n + 1));
    memcpy(L->index, index, sizeof(int64_t) * count);
    memcpy(L->value, value, sizeof(double) * count);
    free(mark);
    free(start);
    free(index);
    free(value);
    return L;
}

// Every row once; rows ascending within a level; each row's dependencies (its
// off-diagonal columns) in earlier levels; and each row at the lowest level
// that allows (one of its dependencies sits in the level just before).
static void expect_schedule(const fm_csr *T, const fm_levels *levels, bool lower)
{
    const int64_t n = T->n;
    int64_t *level = malloc(sizeof(int64_t) * (n + 1));
    for (int64_t i = 0; i < n; i++) level[i] = -1;
    cr_assert_eq(levels->start[0], 0);
    cr_assert_eq(levels->start[levels->count], n);
    for (int64_t l = 0; l < levels->count; l++) {
        cr_assert_lt(levels->start[l], levels->start[l + 1], "level %lld is empty", (long long)l);
        for (int64_t k = levels->start[l]; k < levels->start[l + 1]; k++) {
            const int64_t i = levels->rows[k];
            cr_assert(i >= 0 && i < n && level[i] < 0, "row %lld listed twice or out of range", (long long)i);
            if (k > levels->start[l]) cr_assert_lt(levels->rows[k - 1], i);
            level[i] = l;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t highest = -1;
        for (int64_t k = T->start[i] + !lower; k < T->start[i + 1] - lower; k++) {
            const int64_t j = T->index[k];
            cr_assert_lt(level[j], level[i], "row %lld reads row %lld of a later level", (long long)i, (long long)j);
            highest = level[j] > highest ? level[j] : highest;
        }
        cr_assert_eq(level[i], highest + 1, "row %lld could run earlier", (long long)i);
    }
    free(level);
}

// x = T⁻¹ b by dense substitution (T expanded to n × n).
static void dense_solve(const fm_csr *T, bool lower, const double *b, double *x)
{
    const int64_t n = T->n;
    double *dense = calloc(n * n, sizeof(double));
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = T->start[i]; k < T->start[i + 1]; k++) dense[i * n + T->index[k]] = T->value[k];
    for (int64_t step = 0; step < n; step++) {
        const int64_t i = lower ? step : n - 1 - step;
        double sum = b[i];
        for (int64_t j = 0; j < n; j++)
            if (j != i) sum -= dense[i * n + j] * x[j] * (lower ? j < i : j > i);
        x[i] = sum / dense[i * n + i];
    }
    free(dense);
}

// Both solves of one T (lower by rows, or upper: L by columns): parallel with
// 1, 2, 3 threads against the serial reference and, for small n, the dense
// substitution.
static void check_solves(const fm_csr *T, bool lower, uint64_t seed)
{
    const int64_t n = T->n;
    char msg[FM_MSG_LEN];
    fm_levels *levels = NULL;
    cr_assert_eq(fm_levels_new(&levels, T, lower, msg), FM_OK, "%s", msg);
    expect_schedule(T, levels, lower);
    double *b = fm_test_uniform_range(n, seed, -1, 1);
    double *expected = calloc(n, sizeof(double)), *x = calloc(n, sizeof(double));
    double *one = calloc(n, sizeof(double)), *three = calloc(n, sizeof(double));
    (lower ? fm_solve_lower_reference : fm_solve_upper_reference)(T, b, expected);
    if (n <= 400) {
        double *dense = calloc(n, sizeof(double));
        dense_solve(T, lower, b, dense);
        expect_close(expected, dense, n, 1e-12, "reference against dense");
        free(dense);
    }
    void (*solve)(const fm_csr *, const fm_levels *, const double *, double *) =
        lower ? fm_solve_lower : fm_solve_upper;
    omp_set_num_threads(2);
    solve(T, levels, b, x);
    omp_set_num_threads(1);
    solve(T, levels, b, one);
    omp_set_num_threads(3);
    solve(T, levels, b, three);
    omp_set_num_threads(2);
    expect_close(x, expected, n, 1e-12, lower ? "lower solve" : "upper solve");
    cr_assert(!memcmp(x, one, sizeof(double) * n), "1 and 2 threads differ");
    cr_assert(!memcmp(x, three, sizeof(double) * n), "2 and 3 threads differ");
    // the residual T x - b
    double *Tx = calloc(n, sizeof(double));
    fm_spmv_reference(T, x, Tx);
    expect_close(Tx, b, n, 1e-12, "residual");
    free(Tx);
    free(b);
    free(expected);
    free(x);
    free(one);
    free(three);
    fm_levels_free(&levels);
    cr_assert_null(levels);
}

Test(solve_products, random_factors_both_orientations)
{
    const int64_t sizes[] = { 1, 2, 50, 300, 20000 }, per_row[] = { 0, 1, 6, 4, 3 }, band[] = { 0, 1, 0, 3, 0 };
    for (int s = 0; s < 5; s++) {
        fm_csr *L = random_lower(sizes[s], per_row[s], band[s], 51 + s), *Lt = NULL;
        char msg[FM_MSG_LEN];
        cr_assert_eq(fm_csr_transpose(&Lt, L, msg), FM_OK, "%s", msg);
        check_solves(L, true, 61 + s);
        check_solves(Lt, false, 71 + s);
        fm_csr_free(&L);
        fm_csr_free(&Lt);
    }
}

// The 5-point Laplacian on a side × side grid in natural order, as a graph.
static fm_square *grid_laplacian(int64_t side)
{
    const int64_t n = side * side;
    int64_t *row = malloc(sizeof(int64_t) * 3 * n), *col = malloc(sizeof(int64_t) * 3 * n);
    double *val = malloc(sizeof(double) * 3 * n);
    int64_t count = 0;
    for (int64_t r = 0; r < side; r++)
        for (int64_t c = 0; c < side; c++) {
            const int64_t i = r * side + c;
            row[count] = i, col[count] = i, val[count++] = 4;
            if (c > 0) row[count] = i, col[count] = i - 1, val[count++] = -1;
            if (r > 0) row[count] = i, col[count] = i - side, val[count++] = -1;
        }
    fm_square *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_square_from_triplets(&g, n, count, row, col, val, true, msg), FM_OK, "%s", msg);
    free(row);
    free(col);
    free(val);
    return g;
}

// The levels of a grid in natural order are its anti-diagonals: 2g − 1 of
// them, by rows and by columns; the solves hold on a grid wide enough for the
// parallel levels (g = 300).
Test(solve_products, grid_levels)
{
    const int64_t sides[] = { 1, 2, 17, 300 };
    for (int s = 0; s < 4; s++) {
        fm_square *g = grid_laplacian(sides[s]);
        char msg[FM_MSG_LEN];
        fm_levels *lower = NULL, *upper = NULL;
        cr_assert_eq(fm_levels_new(&lower, g->lower, true, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_levels_new(&upper, g->lower_by_columns, false, msg), FM_OK, "%s", msg);
        cr_assert_eq(lower->count, 2 * sides[s] - 1);
        cr_assert_eq(upper->count, 2 * sides[s] - 1);
        for (int64_t l = 0; l < lower->count; l++) {
            const int64_t width = l < sides[s] ? l + 1 : 2 * sides[s] - 1 - l;
            cr_assert_eq(lower->start[l + 1] - lower->start[l], width);
        }
        check_solves(g->lower, true, 81 + s);
        check_solves(g->lower_by_columns, false, 91 + s);
        fm_levels_free(&lower);
        fm_levels_free(&upper);
        fm_square_free(&g);
    }
}

Test(solve_products, levels_reject_a_matrix_that_is_not_triangular)
{
    fm_csr *L = random_lower(30, 3, 1, 5), *Lt = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_csr_transpose(&Lt, L, msg), FM_OK, "%s", msg);
    fm_levels *levels = NULL;
    cr_assert_eq(fm_levels_new(&levels, Lt, true, msg), FM_ERR_INVALID, "Lᵀ is not lower");
    cr_assert(strstr(msg, "diagonal"), "%s", msg);
    cr_assert_eq(fm_levels_new(&levels, L, false, msg), FM_ERR_INVALID, "L is not upper");
    cr_assert_null(levels);
    // a diagonal missing from row 7
    const int64_t last = L->start[8] - 1;
    L->index[last] = 6;
    cr_assert_eq(fm_levels_new(&levels, L, true, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "row 8"), "%s", msg);
    L->index[last] = 7;
    // an entry above the diagonal, not last
    L->index[L->start[10]] = 12;
    cr_assert_eq(fm_levels_new(&levels, L, true, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "above"), "%s", msg);
    cr_assert_null(levels);
    fm_csr_free(&L);
    fm_csr_free(&Lt);
}
