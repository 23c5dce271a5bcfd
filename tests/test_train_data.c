// The synthetic training and validation matrices of training (§7,
// models/nmf/train_data): reproducible from (seed, set, index) in any order
// and for any thread count, shapes inside their classes, exact class
// proportions, E[WH] = 1, the training noise, noise-free validation, X >= 0.
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "train_data.h"

TestSuite(train_data, .init = fm_test_setup);

static const int thread_counts[] = { 1, 2, 3 };

#define SEED 2024
#define RANK 5

typedef struct generated {
    int64_t rows, cols;
    float *X, *W, *H;
} generated;

static generated generate(fm_train_set set, int64_t index, int64_t set_size, int rank, uint64_t seed)
{
    generated m = { 0 };
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_train_shape(&m.rows, &m.cols, set, index, set_size, 1, seed, msg), FM_OK, "%s", msg);
    m.X = malloc(sizeof(float) * m.rows * m.cols);
    m.W = malloc(sizeof(float) * m.rows * rank);
    m.H = malloc(sizeof(float) * rank * m.cols);
    cr_assert(m.X && m.W && m.H);
    cr_assert_eq(fm_train_fill(m.X, m.W, m.H, set, index, set_size, rank, seed, msg), FM_OK, "%s", msg);
    return m;
}

static void generated_free(generated *m)
{
    free(m->X);
    free(m->W);
    free(m->H);
    *m = (generated){ 0 };
}

static bool same(const generated *a, const generated *b, int rank)
{
    return a->rows == b->rows && a->cols == b->cols &&
           memcmp(a->X, b->X, sizeof(float) * a->rows * a->cols) == 0 &&
           memcmp(a->W, b->W, sizeof(float) * a->rows * rank) == 0 &&
           memcmp(a->H, b->H, sizeof(float) * rank * a->cols) == 0;
}

// (W H)_ij in double, summed over r in order, as the generator does.
static double product(const generated *m, int rank, int64_t i, int64_t j)
{
    double x = 0;
    for (int r = 0; r < rank; r++) x += (double)m->W[i * rank + r] * m->H[r * m->cols + j];
    return x;
}

static fm_shape_class class_of(fm_train_set set, int64_t index, int64_t set_size, uint64_t seed)
{
    fm_shape_class shape = FM_SHAPE_CLASSES;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_train_class(&shape, set, index, set_size, seed, msg), FM_OK, "%s", msg);
    return shape;
}

Test(train_data, class_proportions_are_exact)
{
    // 15 000 as in §7, and sizes whose shares are not whole
    const int64_t sizes[] = { FM_TRAIN_SIZE, 1000, 29, 3, 1 };
    const int64_t expected[][FM_SHAPE_CLASSES] = {
        { 10000, 2000, 1500, 1500 }, { 666, 134, 100, 100 }, { 19, 4, 3, 3 }, { 2, 0, 0, 1 }, { 0, 0, 0, 1 },
    };
    char msg[FM_MSG_LEN];
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int64_t counted[FM_SHAPE_CLASSES] = { 0 }, formula[FM_SHAPE_CLASSES];
        for (int64_t i = 0; i < sizes[k]; i++) counted[class_of(FM_SET_TRAIN, i, sizes[k], SEED)]++;
        cr_assert_eq(fm_train_class_counts(formula, FM_SET_TRAIN, sizes[k], msg), FM_OK, "%s", msg);
        for (int c = 0; c < FM_SHAPE_CLASSES; c++) {
            cr_expect_eq(counted[c], expected[k][c], "N = %lld, class %s: %lld matrices, expected %lld",
                         (long long)sizes[k], fm_shape_class_name(c), (long long)counted[c],
                         (long long)expected[k][c]);
            cr_expect_eq(formula[c], expected[k][c], "N = %lld, class %s: counts say %lld", (long long)sizes[k],
                         fm_shape_class_name(c), (long long)formula[c]);
        }
    }
    // another seed: another order, the same counts
    int64_t counted[FM_SHAPE_CLASSES] = { 0 };
    int differ = 0;
    for (int64_t i = 0; i < FM_TRAIN_SIZE; i++) {
        const fm_shape_class c = class_of(FM_SET_TRAIN, i, FM_TRAIN_SIZE, SEED + 1);
        counted[c]++;
        differ += c != class_of(FM_SET_TRAIN, i, FM_TRAIN_SIZE, SEED);
    }
    cr_expect(counted[0] == 10000 && counted[1] == 2000 && counted[2] == 1500 && counted[3] == 1500);
    cr_expect_gt(differ, 1000, "the order hardly depends on the seed (%d of 15000 differ)", differ);
    int64_t valid[FM_SHAPE_CLASSES];
    cr_assert_eq(fm_train_class_counts(valid, FM_SET_VALID_LARGE, FM_VALID_SIZE, msg), FM_OK, "%s", msg);
    cr_expect(valid[0] == 0 && valid[1] == FM_VALID_SIZE && valid[2] == 0 && valid[3] == 0);
}

Test(train_data, classes_are_spread_over_the_indices)
{
    // every stretch of 1500 indices holds about 1000 small matrices (the
    // deviation of a random permutation is about 17), and all four classes
    for (int64_t start = 0; start < FM_TRAIN_SIZE; start += 1500) {
        int64_t counted[FM_SHAPE_CLASSES] = { 0 };
        for (int64_t i = start; i < start + 1500; i++) counted[class_of(FM_SET_TRAIN, i, FM_TRAIN_SIZE, SEED)]++;
        cr_expect(llabs(counted[FM_SHAPE_SMALL] - 1000) <= 120, "indices %lld..: %lld small", (long long)start,
                  (long long)counted[FM_SHAPE_SMALL]);
        for (int c = 1; c < FM_SHAPE_CLASSES; c++)
            cr_expect_gt(counted[c], 100, "indices %lld..: %lld %s", (long long)start, (long long)counted[c],
                         fm_shape_class_name(c));
    }
    int64_t first[FM_SHAPE_CLASSES] = { 0 };
    for (int64_t i = 0; i < 60; i++) first[class_of(FM_SET_TRAIN, i, FM_TRAIN_SIZE, SEED)]++;
    cr_expect_lt(first[FM_SHAPE_SMALL], 60, "the first 60 matrices are all small");
}

Test(train_data, shapes_fill_their_class_ranges)
{
    char msg[FM_MSG_LEN];
    fm_shape_range seen[FM_SHAPE_CLASSES];
    for (int c = 0; c < FM_SHAPE_CLASSES; c++) seen[c] = (fm_shape_range){ INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN };
    for (int64_t i = 0; i < FM_TRAIN_SIZE; i++) {
        const fm_shape_class c = class_of(FM_SET_TRAIN, i, FM_TRAIN_SIZE, SEED);
        int64_t rows, cols;
        cr_assert_eq(fm_train_shape(&rows, &cols, FM_SET_TRAIN, i, FM_TRAIN_SIZE, 1, SEED, msg), FM_OK, "%s", msg);
        fm_shape_range *s = &seen[c];
        s->min_rows = rows < s->min_rows ? rows : s->min_rows;
        s->max_rows = rows > s->max_rows ? rows : s->max_rows;
        s->min_cols = cols < s->min_cols ? cols : s->min_cols;
        s->max_cols = cols > s->max_cols ? cols : s->max_cols;
    }
    // §7's bounds, written out here rather than read from the library
    const fm_shape_range expected[FM_SHAPE_CLASSES] = {
        { 10, 30, 10, 30 }, { 30, 70, 30, 70 }, { 30, 100, 10, 35 }, { 10, 35, 30, 100 } };
    for (int c = 0; c < FM_SHAPE_CLASSES; c++) {
        const fm_shape_range r = fm_train_range(c), s = seen[c], e = expected[c];
        cr_expect(r.min_rows == e.min_rows && r.max_rows == e.max_rows && r.min_cols == e.min_cols &&
                  r.max_cols == e.max_cols, "class %s has other bounds", fm_shape_class_name(c));
        // 1500 draws or more per class: every bound is reached, none passed
        cr_expect(s.min_rows == e.min_rows && s.max_rows == e.max_rows && s.min_cols == e.min_cols &&
                  s.max_cols == e.max_cols,
                  "class %s: rows %lld..%lld, cols %lld..%lld seen; expected %lld..%lld x %lld..%lld",
                  fm_shape_class_name(c), (long long)s.min_rows, (long long)s.max_rows, (long long)s.min_cols,
                  (long long)s.max_cols, (long long)e.min_rows, (long long)e.max_rows, (long long)e.min_cols,
                  (long long)e.max_cols);
    }
    const fm_train_set sets[2] = { FM_SET_VALID_SMALL, FM_SET_VALID_LARGE };
    for (int k = 0; k < 2; k++)
        for (int64_t i = 0; i < FM_VALID_SIZE; i++) {
            const fm_shape_range e = expected[k == 0 ? FM_SHAPE_SMALL : FM_SHAPE_LARGE];
            int64_t rows, cols;
            cr_assert_eq(fm_train_shape(&rows, &cols, sets[k], i, FM_VALID_SIZE, 1, SEED, msg), FM_OK, "%s", msg);
            cr_expect(rows >= e.min_rows && rows <= e.max_rows && cols >= e.min_cols && cols <= e.max_cols,
                      "%s matrix %lld is %lld x %lld", fm_train_set_name(sets[k]), (long long)i, (long long)rows,
                      (long long)cols);
        }
}

// Up to rank 10 every class keeps its ranges (the same draws as rank 1);
// above, a class's ranges shift up so that both sides are at least the rank.
Test(train_data, ranges_shift_up_to_the_rank)
{
    char msg[FM_MSG_LEN];
    const fm_train_set sets[3] = { FM_SET_TRAIN, FM_SET_VALID_SMALL, FM_SET_VALID_LARGE };
    for (int k = 0; k < 3; k++)
        for (int64_t i = 0; i < 64; i++) {
            int64_t rows1, cols1, rows10, cols10, rows40, cols40;
            cr_assert_eq(fm_train_shape(&rows1, &cols1, sets[k], i, 64, 1, SEED, msg), FM_OK, "%s", msg);
            cr_assert_eq(fm_train_shape(&rows10, &cols10, sets[k], i, 64, 10, SEED, msg), FM_OK, "%s", msg);
            cr_assert_eq(fm_train_shape(&rows40, &cols40, sets[k], i, 64, 40, SEED, msg), FM_OK, "%s", msg);
            cr_expect(rows10 == rows1 && cols10 == cols1, "%s %lld: rank 10 changed the shape",
                      fm_train_set_name(sets[k]), (long long)i);
            fm_shape_class c;
            cr_assert_eq(fm_train_class(&c, sets[k], i, 64, SEED, msg), FM_OK, "%s", msg);
            const fm_shape_range r = fm_train_range(c);
            // the same draw within the shifted range
            const int64_t up_rows = 40 > r.min_rows ? 40 - r.min_rows : 0, up_cols = 40 > r.min_cols ? 40 - r.min_cols : 0;
            cr_expect(rows40 == rows1 + up_rows && cols40 == cols1 + up_cols,
                      "%s %lld: %lld x %lld at rank 1, %lld x %lld at rank 40", fm_train_set_name(sets[k]),
                      (long long)i, (long long)rows1, (long long)cols1, (long long)rows40, (long long)cols40);
            cr_expect(rows40 >= 40 && cols40 >= 40);
        }
}

Test(train_data, reproducible_from_seed_set_and_index)
{
    generated a = generate(FM_SET_TRAIN, 17, FM_TRAIN_SIZE, RANK, SEED);
    generated b = generate(FM_SET_TRAIN, 17, FM_TRAIN_SIZE, RANK, SEED);
    cr_expect(same(&a, &b, RANK), "the same matrix came out twice differently");
    generated other_seed = generate(FM_SET_TRAIN, 17, FM_TRAIN_SIZE, RANK, SEED + 1);
    cr_expect_not(same(&a, &other_seed, RANK), "the seed does not matter");
    generated other_index = generate(FM_SET_TRAIN, 18, FM_TRAIN_SIZE, RANK, SEED);
    cr_expect_not(same(&a, &other_index, RANK), "the index does not matter");
    // a small training matrix against the same index of the small validation set
    int64_t small = 0;
    while (class_of(FM_SET_TRAIN, small, FM_TRAIN_SIZE, SEED) != FM_SHAPE_SMALL) small++;
    generated train = generate(FM_SET_TRAIN, small, FM_TRAIN_SIZE, RANK, SEED);
    generated valid = generate(FM_SET_VALID_SMALL, small, FM_VALID_SIZE, RANK, SEED);
    cr_expect_neq(train.W[0], valid.W[0], "the set does not matter");
    generated_free(&a);
    generated_free(&b);
    generated_free(&other_seed);
    generated_free(&other_index);
    generated_free(&train);
    generated_free(&valid);
}

#define ORDER_COUNT 48

Test(train_data, independent_of_order_and_thread_count)
{
    const fm_train_set sets[3] = { FM_SET_TRAIN, FM_SET_VALID_SMALL, FM_SET_VALID_LARGE };
    const int64_t sizes[3] = { FM_TRAIN_SIZE, FM_VALID_SIZE, FM_VALID_SIZE };
    const int saved = fm_get_threads();
    for (int k = 0; k < 3; k++) {
        generated forward[ORDER_COUNT];
        for (int64_t i = 0; i < ORDER_COUNT; i++) forward[i] = generate(sets[k], i, sizes[k], RANK, SEED);
        for (int64_t i = ORDER_COUNT - 1; i >= 0; i--) {
            generated backward = generate(sets[k], i, sizes[k], RANK, SEED);
            cr_expect(same(&backward, &forward[i], RANK), "%s matrix %lld depends on the order",
                      fm_train_set_name(sets[k]), (long long)i);
            generated_free(&backward);
        }
        for (int t = 0; t < 3; t++) {
            fm_set_threads(thread_counts[t]);
            generated parallel[ORDER_COUNT];
            int failures = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : failures)
            for (int64_t i = 0; i < ORDER_COUNT; i++) {
                generated *m = &parallel[i];
                *m = (generated){ 0 };
                char own[FM_MSG_LEN];
                failures += fm_train_shape(&m->rows, &m->cols, sets[k], i, sizes[k], 1, SEED, own) != FM_OK;
                m->X = malloc(sizeof(float) * m->rows * m->cols);
                m->W = malloc(sizeof(float) * m->rows * RANK);
                m->H = malloc(sizeof(float) * RANK * m->cols);
                failures += fm_train_fill(m->X, m->W, m->H, sets[k], i, sizes[k], RANK, SEED, own) != FM_OK;
            }
            cr_expect_eq(failures, 0);
            for (int64_t i = 0; i < ORDER_COUNT; i++) {
                cr_expect(same(&parallel[i], &forward[i], RANK), "%s matrix %lld differs with %d threads",
                          fm_train_set_name(sets[k]), (long long)i, thread_counts[t]);
                generated_free(&parallel[i]);
            }
        }
        for (int64_t i = 0; i < ORDER_COUNT; i++) generated_free(&forward[i]);
    }
    fm_set_threads(saved);
}

Test(train_data, the_mean_of_w_h_is_one)
{
    // Per-matrix means of W H are independent across matrices; their average
    // must lie within 5 standard errors of 1 (a false alarm about once in
    // 10^6 seeds), and the standard error must be small enough for that to
    // mean something (a λ off by 10% moves the mean by 20%).
    const int ranks[3] = { 1, 5, 10 };
    const int64_t count = 600;
    for (int k = 0; k < 3; k++) {
        double sum = 0, sumsq = 0;
        for (int64_t i = 0; i < count; i++) {
            generated m = generate(FM_SET_TRAIN, i, FM_TRAIN_SIZE, ranks[k], SEED);
            double mean = 0;
            for (int64_t r = 0; r < m.rows; r++)
                for (int64_t c = 0; c < m.cols; c++) mean += product(&m, ranks[k], r, c);
            mean /= (double)(m.rows * m.cols);
            sum += mean;
            sumsq += mean * mean;
            generated_free(&m);
        }
        const double mean = sum / count, sd = sqrt((sumsq - count * mean * mean) / (count - 1));
        const double stderr_ = sd / sqrt((double)count);
        cr_expect_lt(stderr_, 0.02, "rank %d: standard error %g is too large for the test", ranks[k], stderr_);
        cr_expect(fabs(mean - 1) < 5 * stderr_, "rank %d: mean of W H %.4f over %lld matrices (standard error %.4f)",
                  ranks[k], mean, (long long)count, stderr_);
    }
}

Test(train_data, training_noise_has_the_chosen_deviation)
{
    // Where W H > 0.5 (10 σ) clipping never acts: X − W H is the noise itself.
    double sum = 0, sumsq = 0;
    int64_t n = 0;
    for (int64_t i = 0; i < 100; i++) {
        generated m = generate(FM_SET_TRAIN, i, FM_TRAIN_SIZE, RANK, SEED);
        for (int64_t r = 0; r < m.rows; r++)
            for (int64_t c = 0; c < m.cols; c++) {
                const double clean = product(&m, RANK, r, c);
                if (clean <= 0.5) continue;
                const double noise = m.X[r * m.cols + c] - clean;
                sum += noise;
                sumsq += noise * noise;
                n++;
            }
        generated_free(&m);
    }
    cr_assert_gt(n, 20000);
    const double mean = sum / n, sd = sqrt(sumsq / n - mean * mean);
    // standard errors: 0.05/sqrt(n) < 0.00036 for the mean, 0.05/sqrt(2n) < 0.00025 for σ
    cr_expect_lt(fabs(mean), 0.002, "the noise has mean %g", mean);
    cr_expect_lt(fabs(sd - FM_TRAIN_NOISE), 0.002, "the noise has deviation %g, expected %g", sd, FM_TRAIN_NOISE);
}

Test(train_data, validation_is_noise_free)
{
    const fm_train_set sets[2] = { FM_SET_VALID_SMALL, FM_SET_VALID_LARGE };
    for (int k = 0; k < 2; k++)
        for (int64_t i = 0; i < FM_VALID_SIZE; i++) {
            generated m = generate(sets[k], i, FM_VALID_SIZE, RANK, SEED);
            int64_t wrong = 0;
            for (int64_t r = 0; r < m.rows; r++)
                for (int64_t c = 0; c < m.cols; c++) wrong += m.X[r * m.cols + c] != (float)product(&m, RANK, r, c);
            cr_expect_eq(wrong, 0, "%s matrix %lld: %lld entries are not (W H)_ij", fm_train_set_name(sets[k]),
                         (long long)i, (long long)wrong);
            generated_free(&m);
        }
}

Test(train_data, entries_are_nonnegative_and_clipped)
{
    // rank 1: W H is often below the noise, so clipping has work to do
    int64_t zeros = 0, negative = 0;
    for (int64_t i = 0; i < 200; i++) {
        generated m = generate(FM_SET_TRAIN, i, FM_TRAIN_SIZE, 1, SEED);
        for (int64_t e = 0; e < m.rows * m.cols; e++) {
            negative += !(m.X[e] >= 0);
            zeros += m.X[e] == 0;
        }
        generated_free(&m);
    }
    cr_expect_eq(negative, 0, "%lld entries are negative or NaN", (long long)negative);
    cr_expect_gt(zeros, 0, "nothing was clipped: the test saw no negative noise to clip");
}

Test(train_data, graph_holds_the_generated_matrix)
{
    char msg[FM_MSG_LEN];
    for (int64_t i = 0; i < 4; i++) {
        generated m = generate(FM_SET_TRAIN, i, FM_TRAIN_SIZE, RANK, SEED);
        fm_graph *g = NULL;
        fm_dense *W = NULL, *H = NULL;
        cr_assert_eq(fm_train_matrix(&g, &W, &H, NULL, NULL, FM_SET_TRAIN, i, FM_TRAIN_SIZE, RANK, SEED, msg), FM_OK, "%s", msg);
        fm_graph_stats stats;
        fm_graph_stats_get(g, &stats);
        cr_expect_eq(stats.kind, FM_KIND_DENSE);
        cr_expect(stats.rows == m.rows && stats.cols == m.cols);
        double sum = 0;
        for (int64_t e = 0; e < m.rows * m.cols; e++) sum += m.X[e];
        cr_expect(fabs(stats.sum - sum) <= 1e-6 * sum, "the graph sums to %g, the matrix to %g", stats.sum, sum);
        cr_expect(W->rows == m.rows && W->cols == RANK && H->rows == RANK && H->cols == m.cols);
        cr_expect(memcmp(W->data, m.W, sizeof(float) * m.rows * RANK) == 0);
        cr_expect(memcmp(H->data, m.H, sizeof(float) * RANK * m.cols) == 0);
        fm_graph_free(&g);
        fm_dense_free(&W);
        fm_dense_free(&H);
        // the factors are optional
        cr_assert_eq(fm_train_matrix(&g, NULL, NULL, NULL, NULL, FM_SET_TRAIN, i, FM_TRAIN_SIZE, RANK, SEED, msg), FM_OK, "%s", msg);
        fm_graph_free(&g);
        generated_free(&m);
    }
}

Test(train_data, refuses_bad_arguments)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL;
    int64_t rows, cols;
    fm_shape_class shape;
    cr_expect_eq(fm_train_shape(&rows, &cols, FM_SET_TRAIN, FM_TRAIN_SIZE, FM_TRAIN_SIZE, 1, SEED, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "index 15000") != NULL, "message: %s", msg);
    cr_expect_eq(fm_train_shape(&rows, &cols, FM_SET_TRAIN, -1, FM_TRAIN_SIZE, 1, SEED, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_train_class(&shape, FM_SET_TRAIN, 0, 0, SEED, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_train_class(&shape, (fm_train_set)7, 0, 10, SEED, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_train_matrix(&g, NULL, NULL, NULL, NULL, FM_SET_TRAIN, 0, FM_TRAIN_SIZE, 0, SEED, msg), FM_ERR_INVALID);
    cr_expect_null(g);
    cr_expect_eq(fm_train_matrix(NULL, NULL, NULL, NULL, NULL, FM_SET_TRAIN, 0, FM_TRAIN_SIZE, RANK, SEED, msg), FM_ERR_INVALID);
    fm_dense *W = NULL;
    cr_assert_eq(fm_dense_new(&W, 1, 1, msg), FM_OK, "%s", msg);
    cr_expect_eq(fm_train_matrix(&g, &W, NULL, NULL, NULL, FM_SET_TRAIN, 0, FM_TRAIN_SIZE, RANK, SEED, msg), FM_ERR_INVALID);
    cr_expect_null(g);
    fm_dense_free(&W);
    float X[1], Wd[1], Hd[1];
    cr_expect_eq(fm_train_fill(X, Wd, NULL, FM_SET_TRAIN, 0, FM_TRAIN_SIZE, RANK, SEED, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_train_fill(X, NULL, Hd, FM_SET_TRAIN, 0, FM_TRAIN_SIZE, RANK, SEED, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_train_fill(X, Wd, Hd, FM_SET_TRAIN, 0, FM_TRAIN_SIZE, 0, SEED, msg), FM_ERR_INVALID);
}
