// The triangular solves' two-thread schedules. The sets
// (engine/products_split.c): the leading set closed, each set ordered so that
// every row comes after the rows of its set it reads, the trailing rows'
// waits, the copy of T in the walk's order. The stages
// (engine/products_stages.c): each row cut where its entries come within
// reach. Which structures have which; the solves through them bitwise the
// serial reference's on 1, 2, 3 and 5 threads.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "rng.h"
#include "solver_fixtures.h"
#include "square.h"

TestSuite(solve_teams, .init = fm_test_setup);

// A lower factor on a g × g grid in natural order: each cell reads a random
// subset of its west, north-west, north and north-east neighbours (the
// 9-point stencil's lower half; with `full`, all four), values N(0, 1) / 5,
// a diagonal of 1 + U(0, 1) with a random sign.
static fm_csr *grid_lower(int64_t side, bool full, uint64_t seed)
{
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    const int64_t n = side * side;
    fm_csr *L = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_csr_new(&L, n, 5 * n, msg), FM_OK, "%s", msg);
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
        const int64_t r = i / side, c = i % side;
        // ascending columns: north-west, north, north-east, west
        const int64_t near[4] = { r > 0 && c > 0 ? i - side - 1 : -1, r > 0 ? i - side : -1,
                                  r > 0 && c + 1 < side ? i - side + 1 : -1, c > 0 ? i - 1 : -1 };
        for (int k = 0; k < 4; k++) {
            if (near[k] < 0 || (!full && fm_rng_uniform(rng, (uint64_t)(8 * i + k)) < 0.3)) continue;
            L->index[count] = near[k];
            L->value[count++] = fm_rng_normal(rng, (uint64_t)(8 * n + 8 * i + k)) / 5;
        }
        L->index[count] = i;
        L->value[count++] = (1 + fm_rng_uniform(rng, (uint64_t)(80 * n + i))) * (i % 7 == 3 ? -1 : 1);
        L->start[i + 1] = count;
    }
    L->count = count;
    return L;
}

// The sets of T's schedule, checked against their definition.
static void expect_sets(const fm_csr *T, const fm_levels *levels, bool lower)
{
    const int64_t n = T->n, count = levels->split_count;
    cr_assert(count > 0 && count < n, "leading rows %lld of %lld", (long long)count, (long long)n);
    int64_t *place = malloc(sizeof(int64_t) * n), leading_entries = 0;
    for (int64_t i = 0; i < n; i++) place[i] = -1;
    for (int64_t q = 0; q < n; q++) {
        const int64_t i = levels->split_order[q];
        cr_assert(i >= 0 && i < n && place[i] < 0, "row %lld listed twice or out of range", (long long)i);
        place[i] = q;
    }
    const fm_csr *rows = levels->split_rows;
    cr_assert_eq(rows->n, n);
    cr_assert_eq(rows->count, T->count);
    for (int64_t q = 0; q < n; q++) {
        const int64_t i = levels->split_order[q], length = T->start[i + 1] - T->start[i];
        const bool leading = q < count;
        if (leading) leading_entries += length;
        // the copy holds T's row
        cr_assert_eq(rows->start[q + 1] - rows->start[q], length);
        cr_assert(!memcmp(rows->index + rows->start[q], T->index + T->start[i], sizeof(int64_t) * length));
        cr_assert(!memcmp(rows->value + rows->start[q], T->value + T->start[i], sizeof(double) * length));
        int64_t last = -1;
        for (int64_t e = T->start[i] + !lower; e < T->start[i + 1] - lower; e++) {
            const int64_t j = T->index[e];
            if (leading) cr_assert_lt(place[j], count, "leading row %lld reads trailing row %lld", (long long)i,
                                      (long long)j);
            // after the rows of its own set it reads
            if ((place[j] < count) == leading)
                cr_assert_lt(place[j], q, "row %lld before row %lld it reads", (long long)i, (long long)j);
            else if (place[j] > last)
                last = place[j];
        }
        if (!leading)
            cr_assert_eq(levels->split_need[q - count], last, "trailing row %lld waits for %lld, not %lld",
                         (long long)i, (long long)levels->split_need[q - count], (long long)last);
    }
    const double share = (double)leading_entries / (double)T->count;
    cr_assert_float_eq(levels->split_entries, share, 1e-12);
    cr_assert(share >= 0.3 && share <= 0.7, "share %g", share);
    cr_assert(levels->split_speedup > 0 && levels->split_speedup <= 2 + 1e-12, "%g", levels->split_speedup);
    free(place);
}

// x by `path`, forced, on 1, 2, 3 and 5 threads: the reference's bits.
static void expect_reference(const fm_csr *T, fm_levels *levels, bool lower, fm_solve_path path, uint64_t seed)
{
    const int64_t n = T->n;
    double *b = fm_test_uniform_range(n, seed, -1, 1);
    double *expected = calloc(n, sizeof(double)), *x = calloc(n, sizeof(double));
    (lower ? fm_solve_lower_reference : fm_solve_upper_reference)(T, b, expected);
    levels->path = path;
    const int threads[] = { 1, 2, 3, 5 };
    for (int t = 0; t < 4; t++) {
        omp_set_num_threads(threads[t]);
        for (int64_t i = 0; i < n; i++) x[i] = NAN;
        (lower ? fm_solve_lower : fm_solve_upper)(T, levels, b, x);
        cr_assert(!memcmp(x, expected, sizeof(double) * n), "%s solve by the %s differs from the reference "
                  "(n %lld, %d threads)", lower ? "lower" : "upper", fm_solve_path_name(path), (long long)n,
                  threads[t]);
    }
    omp_set_num_threads(2);
    levels->path = FM_SOLVE_AUTO;
    free(b);
    free(expected);
    free(x);
}

// Both orientations of the 5-point grid (the halves) and of random 9-point
// factors (whose closed sets lean, a column a grid row): sets that hold
// their definition, solves bitwise the reference's.
Test(solve_teams, grids_both_orientations)
{
    const int64_t sides[] = { 300, 230, 260 };
    for (int s = 0; s < 3; s++) {
        fm_csr *L = NULL, *U = NULL;
        fm_square *g = NULL;
        if (s == 0) {
            g = fm_test_grid_square(sides[s]);
        } else {
            L = grid_lower(sides[s], s == 1, 11 + s);
        }
        const fm_csr *lower = g ? g->lower : L;
        char msg[FM_MSG_LEN];
        cr_assert_eq(fm_csr_transpose(&U, lower, msg), FM_OK, "%s", msg);
        for (int u = 0; u < 2; u++) {
            const fm_csr *T = u ? U : lower;
            fm_levels *levels = NULL;
            cr_assert_eq(fm_levels_new(&levels, T, !u, msg), FM_OK, "%s", msg);
            expect_sets(T, levels, !u);
            expect_reference(T, levels, !u, FM_SOLVE_SPLIT, 21 + s);
            if (levels->stages_reach > 0) expect_reference(T, levels, !u, FM_SOLVE_STAGES, 25 + s);
            // the 5-point grid's far half is one entry a row: no stages
            if (s == 0) cr_assert_eq(levels->stages_reach, 0);
            fm_levels_free(&levels);
        }
        fm_csr_free(&L);
        fm_csr_free(&U);
        fm_square_free(&g);
    }
}

// The 5-point grid's leading set is the first columns of every grid row
// (its west and north neighbours: a closed set is a union of such
// prefixes), about half of each, and the trailing thread waits only at the
// first cell after each prefix. The model gives the sets close to 2x.
Test(solve_teams, grid_halves)
{
    const int64_t side = 300;
    fm_square *g = fm_test_grid_square(side);
    char msg[FM_MSG_LEN];
    fm_levels *levels = NULL;
    cr_assert_eq(fm_levels_new(&levels, g->lower, true, msg), FM_OK, "%s", msg);
    bool *leading = calloc(side * side, 1);
    for (int64_t q = 0; q < levels->split_count; q++) leading[levels->split_order[q]] = true;
    for (int64_t r = 0; r < side; r++) {
        int64_t width = 0;
        while (width < side && leading[r * side + width]) width++;
        for (int64_t c = width; c < side; c++) cr_assert(!leading[r * side + c], "grid row %lld", (long long)r);
        cr_assert(width >= side / 2 - 2 && width <= side / 2 + 2, "grid row %lld leads %lld cells", (long long)r,
                  (long long)width);
    }
    int64_t waits = 0;
    for (int64_t q = levels->split_count; q < side * side; q++) waits += levels->split_need[q - levels->split_count] >= 0;
    cr_assert_eq(waits, side);
    cr_assert_gt(levels->split_speedup, 1.8, "%g", levels->split_speedup);
    free(leading);
    fm_levels_free(&levels);
    fm_square_free(&g);
}

// No sets: rows that read back across the whole matrix (a grid factor
// with a few rows reading row 0), a band read in full (every row reads the β
// before it: any closed set holds almost all earlier rows), and a schedule
// too small for a team. Forced, FM_SOLVE_SPLIT then runs the strips.
Test(solve_teams, none_where_the_structure_has_none)
{
    char msg[FM_MSG_LEN];
    const int64_t n = 40000;
    fm_csr *band = NULL;
    cr_assert_eq(fm_csr_new(&band, n, 5 * n, msg), FM_OK, "%s", msg);
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = i - 4 < 0 ? 0 : i - 4; j < i; j++) band->index[count] = j, band->value[count++] = -0.1;
        band->index[count] = i, band->value[count++] = 1;
        band->start[i + 1] = count;
    }
    band->count = count;
    fm_square *small = fm_test_grid_square(100);
    fm_csr *scattered = grid_lower(200, true, 5);
    // a few rows that read far back: β over n / 4
    for (int64_t i = 3 * 40000 / 4; i < 40000; i += 997) scattered->index[scattered->start[i]] = 0;
    const fm_csr *cases[] = { band, small->lower, scattered };
    for (int k = 0; k < 3; k++) {
        fm_levels *levels = NULL;
        cr_assert_eq(fm_levels_new(&levels, cases[k], true, msg), FM_OK, "%s", msg);
        cr_assert_eq(levels->split_count, 0, "case %d", k);
        cr_assert_null(levels->split_order);
        cr_assert_null(levels->split_rows);
        cr_assert_neq(fm_solve_choose(levels, 2), FM_SOLVE_SPLIT);
        fm_solve_path candidates[FM_SOLVE_MAX_CANDIDATES];
        const int m = fm_solve_candidates(levels, 2, candidates);
        for (int c = 0; c < m; c++) cr_assert_neq(candidates[c], FM_SOLVE_SPLIT);
        const int64_t rows = cases[k]->n;
        double *b = fm_test_uniform_range(rows, 3 + k, -1, 1);
        double *expected = calloc(rows, sizeof(double)), *x = calloc(rows, sizeof(double));
        fm_solve_lower_reference(cases[k], b, expected);
        levels->path = FM_SOLVE_SPLIT;
        fm_solve_lower(cases[k], levels, b, x);
        cr_assert(!memcmp(x, expected, sizeof(double) * rows), "case %d", k);
        free(b);
        free(expected);
        free(x);
        fm_levels_free(&levels);
    }
    fm_csr_free(&band);
    fm_csr_free(&scattered);
    fm_square_free(&small);
}

// The stages of a factor that reads at random: each row cut where its
// entries come within reach, the reach at least 256 rows, the model at least
// 1.4x; the solves bitwise the reference's. (The 5-point grid has none: its
// far half is one entry a row; grids_both_orientations.) An odd n too: the
// far thread takes two rows a step, and the last alone.
Test(solve_teams, stages)
{
    for (int64_t n = 12000; n <= 12001; n++) {
        char msg[FM_MSG_LEN];
        fm_csr *L = fm_test_random_lower(n, 16, 0, 3 + n), *U = NULL;
        cr_assert_eq(fm_csr_transpose(&U, L, msg), FM_OK, "%s", msg);
        for (int u = 0; u < 2; u++) {
            const fm_csr *T = u ? U : L;
            const bool lower = !u;
            fm_levels *levels = NULL;
            cr_assert_eq(fm_levels_new(&levels, T, lower, msg), FM_OK, "%s", msg);
            const int64_t reach = levels->stages_reach;
            cr_assert_geq(reach, 256);
            cr_assert_geq(levels->stages_speedup, 1.4, "%g", levels->stages_speedup);
            cr_assert_eq(levels->split_count, 0);
            // T's rows cut in two, in their order: far, the entries beyond reach;
            // near, the rest with the diagonal
            const fm_csr *far = levels->stages_far, *near = levels->stages_near;
            cr_assert_eq(far->count + near->count, T->count);
            for (int64_t i = 0; i < T->n; i++) {
                int64_t f = far->start[i], k = near->start[i];
                for (int64_t e = T->start[i]; e < T->start[i + 1]; e++) {
                    const int64_t back = lower ? i - T->index[e] : T->index[e] - i;
                    const fm_csr *part = back > reach ? far : near;
                    const int64_t at = back > reach ? f++ : k++;
                    cr_assert_eq(part->index[at], T->index[e], "row %lld", (long long)i);
                    cr_assert_eq(part->value[at], T->value[e], "row %lld", (long long)i);
                }
                cr_assert_eq(f, far->start[i + 1], "row %lld", (long long)i);
                cr_assert_eq(k, near->start[i + 1], "row %lld", (long long)i);
            }
            fm_solve_path candidates[FM_SOLVE_MAX_CANDIDATES];
            const int count = fm_solve_candidates(levels, 2, candidates);
            cr_assert_eq(candidates[count - 1], FM_SOLVE_STAGES);
            expect_reference(T, levels, lower, FM_SOLVE_STAGES, 31 + u);
            fm_levels_free(&levels);
        }
        fm_csr_free(&L);
        fm_csr_free(&U);
    }
}
