// The observed-entries generator (fm_synthetic_observed): well-formed
// coordinates, the planted low-rank matrix behind them, power-law degrees,
// seeded and thread-independent draws, refusals.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

TestSuite(synthetic, .init = fm_test_setup);

static fm_triplets *observed(int64_t rows, int64_t cols, int rank, int64_t entries, fm_degrees degrees,
                             uint64_t seed)
{
    fm_triplets *t = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_synthetic_observed(&t, rows, cols, rank, 0, entries, degrees, seed, msg), FM_OK, "%s", msg);
    return t;
}

// Every coordinate in range and distinct, every value finite and >= 0;
// returns the largest degree over the mean degree, of rows and of columns.
static void check_well_formed(const fm_triplets *t, double *row_skew, double *col_skew)
{
    int64_t *row_degree = calloc(t->rows, sizeof(int64_t)), *col_degree = calloc(t->cols, sizeof(int64_t));
    unsigned char *seen = calloc((size_t)(t->rows * t->cols), 1);
    for (int64_t e = 0; e < t->count; e++) {
        cr_assert(t->row[e] >= 0 && t->row[e] < t->rows && t->col[e] >= 0 && t->col[e] < t->cols,
                  "entry %lld at (%lld, %lld)", (long long)e, (long long)t->row[e], (long long)t->col[e]);
        cr_assert(!seen[t->row[e] * t->cols + t->col[e]]++, "(%lld, %lld) twice", (long long)t->row[e],
                  (long long)t->col[e]);
        cr_assert(isfinite(t->val[e]) && t->val[e] >= 0, "value %g", t->val[e]);
        row_degree[t->row[e]]++;
        col_degree[t->col[e]]++;
    }
    int64_t row_max = 0, col_max = 0;
    for (int64_t i = 0; i < t->rows; i++) row_max = row_degree[i] > row_max ? row_degree[i] : row_max;
    for (int64_t j = 0; j < t->cols; j++) col_max = col_degree[j] > col_max ? col_degree[j] : col_max;
    *row_skew = row_max / ((double)t->count / t->rows);
    *col_skew = col_max / ((double)t->count / t->cols);
    free(row_degree);
    free(col_degree);
    free(seen);
}

Test(synthetic, entries_are_distinct_and_skewed_as_asked)
{
    double skew[2][2];
    for (int d = 0; d < 2; d++) {
        fm_triplets *t = observed(20000, 2000, 5, 400000, (fm_degrees)d, 3);
        cr_expect(fabs((double)t->count - 400000) < 0.01 * 400000, "%s: %lld entries for 400000",
                  fm_degrees_name((fm_degrees)d), (long long)t->count);
        check_well_formed(t, &skew[d][0], &skew[d][1]);
        double mean = 0;
        for (int64_t e = 0; e < t->count; e++) mean += t->val[e];
        mean /= (double)t->count;
        if (d == FM_DEGREES_UNIFORM)   // entries of W H have mean 1; heavy nodes tilt the power-law mean
            cr_expect(fabs(mean - 1) < 0.05, "uniform: mean value %g, expected about 1", mean);
        cr_log_info("%s: largest degree / mean, rows %.3g, columns %.3g; mean value %.3g",
                    fm_degrees_name((fm_degrees)d), skew[d][0], skew[d][1], mean);
        fm_triplets_free(&t);
    }
    cr_expect_lt(skew[FM_DEGREES_UNIFORM][0], 3);
    cr_expect_lt(skew[FM_DEGREES_UNIFORM][1], 1.5);
    cr_expect_gt(skew[FM_DEGREES_POWER_LAW][0], 20);
    cr_expect_gt(skew[FM_DEGREES_POWER_LAW][1], 10);
}

// The entries are of one rank-3 matrix: the solver fits them to rounding.
Test(synthetic, the_entries_have_the_planted_rank)
{
    fm_triplets *t = observed(120, 80, 3, 3840, FM_DEGREES_UNIFORM, 5);
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_graph_from_triplets(&g, t, FM_KIND_INCOMPLETE, msg), FM_OK, "%s", msg);
    fm_solver_options o;
    fm_solver_options_default(&o);
    o.rank = 3;
    o.iters = 400;
    o.inner = 3;
    o.tol = 0;
    fm_solver_result *r = NULL;
    cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_OK, "%s", msg);
    const double rmse = r->trace[r->trace_len - 1].rmse;
    cr_expect_lt(rmse, 1e-2, "rank 3 fits the planted entries to RMSE %g", rmse);
    o.rank = 1;
    fm_solver_result *one = NULL;
    cr_assert_eq(fm_solver_run(&one, g, NULL, &o, msg), FM_OK, "%s", msg);
    cr_expect_gt(one->trace[one->trace_len - 1].rmse, 10 * rmse, "rank 1 should not fit a rank-3 matrix");
    fm_solver_result_free(&r);
    fm_solver_result_free(&one);
    fm_graph_free(&g);
    fm_triplets_free(&t);
}

static bool same_triplets(const fm_triplets *a, const fm_triplets *b)
{
    return a->count == b->count && !memcmp(a->row, b->row, sizeof(int64_t) * a->count) &&
           !memcmp(a->col, b->col, sizeof(int64_t) * a->count) && !memcmp(a->val, b->val, sizeof(float) * a->count);
}

Test(synthetic, seeded_and_the_same_for_any_thread_count)
{
    const int threads = fm_get_threads();
    fm_set_threads(1);
    fm_triplets *one = observed(3000, 700, 4, 60000, FM_DEGREES_POWER_LAW, 9);
    fm_set_threads(2);
    fm_triplets *two = observed(3000, 700, 4, 60000, FM_DEGREES_POWER_LAW, 9);
    fm_triplets *other = observed(3000, 700, 4, 60000, FM_DEGREES_POWER_LAW, 10);
    fm_set_threads(threads);
    cr_expect(same_triplets(one, two), "1 and 2 threads drew different entries");
    cr_expect(!same_triplets(one, other), "another seed drew the same entries");
    fm_triplets_free(&one);
    fm_triplets_free(&two);
    fm_triplets_free(&other);
}

Test(synthetic, bad_arguments_are_refused)
{
    fm_triplets *t = NULL;
    char msg[FM_MSG_LEN];
    cr_expect_eq(fm_synthetic_observed(&t, 10, 10, 2, 0, 51, FM_DEGREES_UNIFORM, 1, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "half of every row"), "%s", msg);
    cr_expect_eq(fm_synthetic_observed(&t, 10, 10, 0, 0, 5, FM_DEGREES_UNIFORM, 1, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_synthetic_observed(&t, 10, 10, 2, -1, 5, FM_DEGREES_UNIFORM, 1, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_synthetic_observed(&t, 0, 10, 2, 0, 5, FM_DEGREES_UNIFORM, 1, msg), FM_ERR_INVALID);
    cr_expect_null(t);
    fm_degrees d;
    cr_expect_eq(fm_degrees_parse(&d, "zipf", msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "uniform or power-law"), "%s", msg);
    cr_expect_eq(fm_degrees_parse(&d, "power-law", msg), FM_OK);
    cr_expect_eq(d, FM_DEGREES_POWER_LAW);
}
