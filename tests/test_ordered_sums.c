// The sums behind the loss, the objective and the graph's statistics
// (engine/ordered_sum.h) give the same bits on any number of threads and in
// every run: each is taken at 1 thread and compared bit for bit at 1 to 4
// threads, three runs each. Summed through `reduction(+)` clauses, as they
// were, every one of the seven differed from its one-thread sum in the last
// bits at 2 to 4 threads, and the threads' partial sums were added in the
// order the threads finished.
#include <stdlib.h>

#include <criterion/criterion.h>

#include "factormer.h"
#include "helpers.h"
#include "loss.h"
#include "objective.h"
#include "ordered_sum.h"

TestSuite(ordered_sums, .init = fm_test_setup);

enum { ROWS = 3001, COLS = 700, RANK = 7, SUMS = 7 };

static fm_dense *uniform_dense(int64_t rows, int64_t cols, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    fm_dense *d = NULL;
    cr_assert_eq(fm_dense_new(&d, rows, cols, msg), FM_OK, "%s", msg);
    float *v = fm_test_uniform(rows * cols, seed);
    for (int64_t e = 0; e < rows * cols; e++) d->data[e] = v[e];
    free(v);
    return d;
}

// Every sum at the threads of the moment, into out[0..SUMS).
static void all_sums(double *out, const float *values, const fm_dense *W, const fm_dense *Ht,
                     const fm_triplets *t, const double *gram_w, const double *gram_h)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = fm_test_graph_dense(values, ROWS, COLS, FM_KIND_DENSE);
    out[0] = g->stats.sum;
    out[1] = g->stats.sumsq;
    fm_edges rows, cols;
    cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&cols, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_loss_residual(&out[2], g, &rows, W, Ht, gram_w, gram_h, msg), FM_OK, "%s", msg);
    out[3] = fm_loss_expansion(g, W, W, gram_w, gram_h);   // any m × k array stands for X·Hᵀ
    out[4] = fm_loss_residual_triplets(t, W, Ht);
    fm_solver_options o;
    fm_solver_options_default(&o);
    o.penalty_w.l2 = 0.5;
    o.penalty_h.l2 = 0.25;
    out[5] = fm_objective_penalties(W, Ht, &rows, &cols, false, &o);
    o.penalty_w.l2_per_entry = o.penalty_h.l2_per_entry = true;
    out[6] = fm_objective_penalties(W, Ht, &rows, &cols, false, &o);
    cr_assert_eq(fm_edges_return(&rows, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_return(&cols, msg), FM_OK, "%s", msg);
    fm_graph_free(&g);
}

Test(ordered_sums, the_sums_do_not_depend_on_the_threads)
{
    const char *names[SUMS] = {"graph sum", "graph sum of squares", "dense residual", "loss expansion",
                               "triplets' residual", "ridge", "ridge per entry"};
    float *values = fm_test_uniform(ROWS * COLS, 3);
    fm_dense *W = uniform_dense(ROWS, RANK, 4), *Ht = uniform_dense(COLS, RANK, 5);
    double gram_w[RANK * RANK], gram_h[RANK * RANK];
    for (int e = 0; e < RANK * RANK; e++) gram_w[e] = 1 + e, gram_h[e] = 2 + e;
    fm_triplets t = {.rows = ROWS, .cols = COLS, .count = ROWS * COLS / 3};
    t.row = malloc(sizeof(int64_t) * t.count);
    t.col = malloc(sizeof(int64_t) * t.count);
    t.val = malloc(sizeof(float) * t.count);
    cr_assert(t.row && t.col && t.val);
    for (int64_t e = 0; e < t.count; e++) t.row[e] = 3 * e / COLS, t.col[e] = 3 * e % COLS, t.val[e] = values[3 * e];
    double first[SUMS], again[SUMS];
    fm_set_threads(1);
    all_sums(first, values, W, Ht, &t, gram_w, gram_h);
    for (int s = 0; s < SUMS; s++) cr_assert(first[s] > 0, "%s: %g", names[s], first[s]);
    for (int threads = 1; threads <= 4; threads++)
        for (int run = 0; run < 3; run++) {
            fm_set_threads(threads);
            all_sums(again, values, W, Ht, &t, gram_w, gram_h);
            for (int s = 0; s < SUMS; s++)
                cr_expect(again[s] == first[s], "%s at %d threads, run %d: %.17g against %.17g", names[s], threads,
                          run, again[s], first[s]);
        }
    fm_set_threads(0);
    free(t.row), free(t.col), free(t.val), free(values);
    fm_dense_free(&W);
    fm_dense_free(&Ht);
}

// The slabs cover [0, n) in order, without gaps or overlaps, for any n.
Test(ordered_sums, the_slabs_cover_every_index_once)
{
    const int64_t sizes[] = {0, 1, 5, FM_SUM_SLABS - 1, FM_SUM_SLABS, FM_SUM_SLABS + 1, 100003, INT64_C(1) << 40};
    for (size_t c = 0; c < sizeof sizes / sizeof *sizes; c++) {
        const int64_t n = sizes[c];
        cr_expect_eq(fm_slab_begin(n, 0), 0);
        cr_expect_eq(fm_slab_begin(n, FM_SUM_SLABS), n, "n = %lld", (long long)n);
        for (int s = 0; s < FM_SUM_SLABS; s++) {
            const int64_t length = fm_slab_begin(n, s + 1) - fm_slab_begin(n, s);
            cr_expect(length == n / FM_SUM_SLABS || length == n / FM_SUM_SLABS + 1, "n = %lld, slab %d: %lld",
                      (long long)n, s, (long long)length);
        }
    }
}
