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
#include "solver_fixtures.h"
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
    fm_csr *A = fm_test_csr_of(n, count, start, index, value);
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
    const int64_t sizes[] = { 1, 5, 97, 12000 }, per_row[] = { 1, 3, 10, 12 };
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
        // exactly its definition (engine/products_solve.c, row_dot): two
        // running sums by entry mod 2, s0 + s1, whatever the target (long
        // rows: the vector path)
        if (A->count >= 8 * n)
            for (int64_t i = 0; i < n; i++) {
                double part[2] = { 0, 0 };
                for (int64_t k = A->start[i]; k < A->start[i + 1]; k++)
                    part[(k - A->start[i]) % 2] += A->value[k] * x[A->index[k]];
                const double sum = part[0] + part[1];
                cr_assert(!memcmp(&sum, &y[i], sizeof sum), "spmv row %lld: %.17g, its definition %.17g",
                          (long long)i, y[i], sum);
            }
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
            cr_assert_eq(levels->level[i], l, "row %lld: level %lld recorded as %lld", (long long)i, (long long)l,
                         (long long)levels->level[i]);
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

// The strips: contiguous in the direction of the solve, each listing exactly
// its rows, `position` the inverse of `order`, and every row after the rows
// of its own strip it reads.
static void expect_strips(const fm_csr *T, const fm_levels *levels, bool lower)
{
    const int64_t n = T->n;
    cr_assert_eq(levels->lower, lower);
    cr_assert_geq(levels->strips, 1);
    cr_assert_eq(levels->strip_start[0], 0);
    cr_assert_eq(levels->strip_start[levels->strips], n);
    cr_assert(levels->modeled_speedup > 0 && levels->modeled_speedup <= 2 + 1e-12, "modeled speedup %g",
              levels->modeled_speedup);
    for (int64_t k = 0; k < levels->strips; k++) {
        const int64_t lo = levels->strip_start[k], hi = levels->strip_start[k + 1];
        cr_assert_lt(lo, hi, "strip %lld is empty", (long long)k);
        int64_t held = 0;
        for (int64_t q = lo; q < hi; q++) {
            const int64_t i = levels->order[q], step = lower ? i : n - 1 - i;
            cr_assert(step >= lo && step < hi, "row %lld listed in strip %lld", (long long)i, (long long)k);
            cr_assert_eq(levels->position[i], q);
            held += T->start[i + 1] - T->start[i];
            for (int64_t e = T->start[i]; e < T->start[i + 1]; e++) {
                const int64_t j = T->index[e], other = lower ? j : n - 1 - j;
                if (j != i && other >= lo)
                    cr_assert_lt(levels->position[j], q, "row %lld before row %lld it reads", (long long)i,
                                 (long long)j);
            }
        }
        // a strip closes once it holds strip_entries
        if (k + 1 < levels->strips) {
            const int64_t last = lower ? hi - 1 : n - hi;
            cr_assert_geq(held, levels->strip_entries);
            cr_assert_lt(held - (T->start[last + 1] - T->start[last]), levels->strip_entries);
        }
    }
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
    (lower ? fm_solve_lower_reference : fm_solve_upper_reference)(T, b, expected);
    if (n <= 400) {
        double *dense = calloc(n, sizeof(double));
        dense_solve(T, lower, b, dense);
        expect_close(expected, dense, n, 1e-12, "reference against dense");
        free(dense);
    }
    void (*solve)(const fm_csr *, const fm_levels *, const double *, double *) =
        lower ? fm_solve_lower : fm_solve_upper;
    // each path (the structural rule, serial, the strips forced even on one
    // thread, the sets and the stages where T has them: the strips
    // otherwise), each strip size (the default, one strip, and a row or a
    // few rows at a time, or for a large T a few hundred rows: a wait a row
    // oversubscribed by 5 threads takes long), 1, 2, 3 and 5 threads: every
    // row with the reference's arithmetic once the rows it reads are final
    const fm_solve_path paths[] = { FM_SOLVE_AUTO,     FM_SOLVE_SERIAL, FM_SOLVE_STRIPS,
                                    FM_SOLVE_PARALLEL, FM_SOLVE_SPLIT,  FM_SOLVE_STAGES };
    const int64_t sizes[] = { levels->strip_entries, T->count, n <= 2000 ? 1 : 1000, n <= 2000 ? 7 : 4000 };
    const int threads[] = { 1, 2, 3, 5 };
    for (int p = 0; p < 6; p++)
        for (int s = 0; s < 4; s++) {
            if (s > 0 && (paths[p] == FM_SOLVE_SERIAL || paths[p] == FM_SOLVE_SPLIT || paths[p] == FM_SOLVE_STAGES))
                continue;
            cr_assert_eq(fm_levels_restrip(levels, T, sizes[s], msg), FM_OK, "%s", msg);
            expect_strips(T, levels, lower);
            levels->path = paths[p];
            for (int t = 0; t < 4; t++) {
                omp_set_num_threads(threads[t]);
                for (int64_t i = 0; i < n; i++) x[i] = NAN;
                solve(T, levels, b, x);
                cr_assert(!memcmp(x, expected, sizeof(double) * n),
                          "%s solve differs from the reference (n %lld, path %d, strips of %lld, %d threads)",
                          lower ? "lower" : "upper", (long long)n, (int)paths[p], (long long)sizes[s], threads[t]);
            }
        }
    omp_set_num_threads(2);
    // the residual T x - b
    double *Tx = calloc(n, sizeof(double));
    fm_spmv_reference(T, x, Tx);
    expect_close(Tx, b, n, 1e-12, "residual");
    free(Tx);
    free(b);
    free(expected);
    free(x);
    fm_levels_free(&levels);
    cr_assert_null(levels);
}

Test(solve_products, random_factors_both_orientations)
{
    const int64_t sizes[] = { 1, 2, 50, 300, 20000 }, per_row[] = { 0, 1, 6, 4, 7 }, band[] = { 0, 1, 0, 3, 0 };
    for (int s = 0; s < 5; s++) {
        fm_csr *L = fm_test_random_lower(sizes[s], per_row[s], band[s], 51 + s), *Lt = NULL;
        char msg[FM_MSG_LEN];
        cr_assert_eq(fm_csr_transpose(&Lt, L, msg), FM_OK, "%s", msg);
        check_solves(L, true, 61 + s);
        check_solves(Lt, false, 71 + s);
        fm_csr_free(&L);
        fm_csr_free(&Lt);
    }
}


// The serial loop as the solves run it (products formed in pairs, two rows
// at once where the second does not read the first) is the reference bit
// for bit: rows of odd and even lengths, both orientations.
Test(solve_products, serial_loop_is_the_reference)
{
    const int64_t sizes[] = { 1, 9, 400, 3000 }, per_row[] = { 0, 3, 5, 13 };
    for (int s = 0; s < 4; s++) {
        const int64_t n = sizes[s];
        fm_csr *L = fm_test_random_lower(n, per_row[s], 0, 91 + s), *Lt = NULL;
        char msg[FM_MSG_LEN];
        cr_assert_eq(fm_csr_transpose(&Lt, L, msg), FM_OK, "%s", msg);
        double *b = fm_test_uniform_range(n, 93 + s, -1, 1);
        double *x = malloc(sizeof(double) * n), *expected = malloc(sizeof(double) * n);
        fm_solve_lower_reference(L, b, expected);
        fm_solve_serial(L, true, b, x);
        cr_assert(!memcmp(x, expected, sizeof(double) * n), "lower, n %lld", (long long)n);
        fm_solve_upper_reference(Lt, b, expected);
        fm_solve_serial(Lt, false, b, x);
        cr_assert(!memcmp(x, expected, sizeof(double) * n), "upper, n %lld", (long long)n);
        free(b);
        free(x);
        free(expected);
        fm_csr_free(&L);
        fm_csr_free(&Lt);
    }
}

// The levels of a grid in natural order are its anti-diagonals: 2g − 1 of
// them, by rows and by columns; the solves hold on a grid wide enough for the
// parallel levels (g = 300).
Test(solve_products, grid_levels)
{
    const int64_t sides[] = { 1, 2, 17, 300 };
    for (int s = 0; s < 4; s++) {
        fm_square *g = fm_test_grid_square(sides[s]);
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

// The structural choice: the grid's sets (2 threads: their model beats the
// strips' pipeline; 1: the strips, its rows are short and its local levels
// wide); a factor whose rows read at random across all earlier rows has
// neither the sets nor the strips' pipeline, but the stages (1 thread:
// serial); a small one is serial. AUTO's trial: the candidates
// in turn, then the fastest, for that thread count.
Test(solve_products, choose_by_structure)
{
    char msg[FM_MSG_LEN];
    fm_square *g = fm_test_grid_square(300);
    fm_levels *grid = NULL, *random = NULL, *small = NULL;
    cr_assert_eq(fm_levels_new(&grid, g->lower, true, msg), FM_OK, "%s", msg);
    cr_assert_gt(grid->modeled_speedup, 1.4, "%g", grid->modeled_speedup);
    cr_assert_gt(grid->split_speedup, grid->modeled_speedup);
    cr_assert_eq(fm_solve_choose(grid, 2), FM_SOLVE_SPLIT);
    cr_assert_eq(fm_solve_choose(grid, 1), FM_SOLVE_STRIPS);
    fm_solve_path candidates[FM_SOLVE_MAX_CANDIDATES];
    cr_assert_eq(fm_solve_candidates(grid, 2, candidates), 4);
    cr_assert_eq(candidates[0], FM_SOLVE_SERIAL);
    cr_assert_eq(candidates[1], FM_SOLVE_STRIPS);
    cr_assert_eq(candidates[2], FM_SOLVE_SPLIT);
    cr_assert_eq(candidates[3], FM_SOLVE_PARALLEL);
    cr_assert_eq(fm_solve_candidates(grid, 1, candidates), 2);
    // 4 candidates, 3 rounds: the choice after the twelfth call, x the
    // reference's at every call; 1 thread: 2 candidates, a new trial
    const int64_t n = g->n;
    double *b = fm_test_uniform_range(n, 9, -1, 1), *x = calloc(n, sizeof(double)), *expected = calloc(n, 8);
    fm_solve_lower_reference(g->lower, b, expected);
    const int threads[] = { 2, 1 }, calls[] = { 12, 6 };
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(threads[t]);
        const int count = fm_solve_candidates(grid, threads[t], candidates);
        for (int call = 0; call < calls[t] + 2; call++) {
            int chosen_threads = -1;
            const fm_solve_path chosen = fm_levels_chosen(grid, &chosen_threads);
            if (call < calls[t]) cr_assert(chosen == FM_SOLVE_AUTO || chosen_threads != threads[t], "call %d", call);
            for (int64_t i = 0; i < n; i++) x[i] = NAN;
            fm_solve_lower(g->lower, grid, b, x);
            cr_assert(!memcmp(x, expected, sizeof(double) * n), "%d threads, call %d", threads[t], call);
        }
        int chosen_threads = 0;
        const fm_solve_path chosen = fm_levels_chosen(grid, &chosen_threads);
        cr_assert_eq(chosen_threads, threads[t]);
        bool listed = false;
        for (int c = 0; c < count; c++) listed |= chosen == candidates[c];
        cr_assert(listed, "chose %s", fm_solve_path_name(chosen));
    }
    omp_set_num_threads(2);
    cr_assert_eq(grid->path, FM_SOLVE_AUTO);
    cr_assert_eq(fm_levels_restrip(grid, g->lower, 2 * grid->strip_entries, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_levels_chosen(grid, NULL), FM_SOLVE_AUTO);
    free(b);
    free(x);
    free(expected);
    fm_csr *L = fm_test_random_lower(6000, 30, 0, 17);
    cr_assert_eq(fm_levels_new(&random, L, true, msg), FM_OK, "%s", msg);
    cr_assert_geq(L->count, 131072);
    cr_assert_lt(random->modeled_speedup, 1.4, "%g", random->modeled_speedup);
    cr_assert_eq(fm_solve_choose(random, 2), FM_SOLVE_STAGES);
    cr_assert_eq(fm_solve_choose(random, 1), FM_SOLVE_SERIAL);
    cr_assert_eq(fm_solve_candidates(random, 2, candidates), 3);
    cr_assert_eq(candidates[2], FM_SOLVE_STAGES);
    fm_square *h = fm_test_grid_square(50);
    cr_assert_eq(fm_levels_new(&small, h->lower, true, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_solve_choose(small, 2), FM_SOLVE_SERIAL);
    cr_assert_eq(fm_solve_candidates(small, 2, candidates), 0);
    cr_assert_eq(fm_levels_chosen(small, NULL), FM_SOLVE_SERIAL);
    fm_levels_free(&grid);
    fm_levels_free(&random);
    fm_levels_free(&small);
    fm_csr_free(&L);
    fm_square_free(&g);
    fm_square_free(&h);
}

// The tuned choice: one of the candidates for the current threads (one
// thread: the serial loop or the strips), the serial loop untimed for a small
// T; the solve through it still the reference's x.
Test(solve_products, tune_picks_a_path)
{
    fm_square *g = fm_test_grid_square(250);
    char msg[FM_MSG_LEN];
    fm_levels *lower = NULL;
    cr_assert_eq(fm_levels_new(&lower, g->lower, true, msg), FM_OK, "%s", msg);
    cr_assert_eq(lower->path, FM_SOLVE_AUTO);
    cr_assert_eq(lower->entries, g->lower->count);
    omp_set_num_threads(1);
    cr_assert_eq(fm_levels_tune(lower, g->lower, 2, msg), FM_OK, "%s", msg);
    cr_assert(lower->path == FM_SOLVE_STRIPS || lower->path == FM_SOLVE_SERIAL, "path %d", (int)lower->path);
    omp_set_num_threads(2);
    lower->path = FM_SOLVE_AUTO;
    cr_assert_eq(fm_levels_tune(lower, g->lower, 3, msg), FM_OK, "%s", msg);
    fm_solve_path candidates[FM_SOLVE_MAX_CANDIDATES];
    const int count = fm_solve_candidates(lower, 2, candidates);
    cr_assert_eq(count, 4);
    bool listed = false;
    for (int c = 0; c < count; c++) listed |= lower->path == candidates[c];
    cr_assert(listed, "path %d", (int)lower->path);
    const int64_t n = g->n;
    double *b = fm_test_uniform_range(n, 5, -1, 1), *x = calloc(n, sizeof(double)), *expected = calloc(n, 8);
    fm_solve_lower_reference(g->lower, b, expected);
    fm_solve_lower(g->lower, lower, b, x);
    cr_assert(!memcmp(x, expected, sizeof(double) * n));
    // a schedule of another matrix, or no repeats
    fm_levels *small = NULL;
    fm_square *h = fm_test_grid_square(5);
    cr_assert_eq(fm_levels_new(&small, h->lower, true, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_levels_tune(small, g->lower, 1, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_levels_tune(lower, g->lower, 0, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_levels_restrip(lower, g->lower, 0, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_levels_restrip(small, g->lower, 10, msg), FM_ERR_INVALID);
    // below FM_SOLVE_PARALLEL_ENTRIES: serial, untimed
    cr_assert_eq(fm_levels_tune(small, h->lower, 1, msg), FM_OK, "%s", msg);
    cr_assert_eq(small->path, FM_SOLVE_SERIAL);
    free(b);
    free(x);
    free(expected);
    fm_levels_free(&small);
    fm_levels_free(&lower);
    fm_square_free(&g);
    fm_square_free(&h);
}

// SpMV on short rows (the grid's 5 a row: summed entry by entry) large
// enough for the threads, against the reference, with 1, 2 and 3 threads.
Test(solve_products, spmv_short_rows)
{
    fm_square *g = fm_test_grid_square(200);
    const int64_t n = g->n;
    cr_assert_geq(g->A->count, 131072);
    double *x = fm_test_uniform_range(n, 3, -1, 1), *expected = calloc(n, sizeof(double));
    double *y = calloc(n, sizeof(double)), *other = calloc(n, sizeof(double));
    fm_spmv_reference(g->A, x, expected);
    omp_set_num_threads(2);
    fm_spmv(g->A, x, y);
    expect_close(y, expected, n, 1e-14 * 10, "spmv, short rows");
    const int threads[] = { 1, 3 };
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(threads[t]);
        fm_spmv(g->A, x, other);
        cr_assert(!memcmp(y, other, sizeof(double) * n), "2 and %d threads differ", threads[t]);
    }
    omp_set_num_threads(2);
    free(x);
    free(expected);
    free(y);
    free(other);
    fm_square_free(&g);
}

Test(solve_products, levels_reject_a_matrix_that_is_not_triangular)
{
    fm_csr *L = fm_test_random_lower(30, 3, 1, 5), *Lt = NULL;
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
