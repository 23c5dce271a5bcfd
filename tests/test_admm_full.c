// The dense kind's fused W-update (ops/admm_full.c) against the unfused
// path it replaces: the shared ADMM update (gather X·Hᵀ, steps), then Xᵀ·W
// gathered over Xᵀ and Σ (x − w·h)² summed over X; on shapes that leave
// partial blocks, parts and vector strips, with and without penalties, and
// the same bits on 1, 2 and 3 threads.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "admm.h"
#include "helpers.h"
#include "products.h"

TestSuite(admm_full, .init = fm_test_setup);

static fm_dense *dense_of(const float *values, int64_t rows, int64_t cols)
{
    fm_dense *d = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_dense_new(&d, rows, cols, msg), FM_OK, "%s", msg);
    memcpy(d->data, values, sizeof(float) * rows * cols);
    return d;
}

typedef struct fused_run {
    fm_dense *W, *UW, *XHt, *XtW;
    double residual;
} fused_run;

static fused_run run_fused(fm_edges *rows, const float *w0, const fm_dense *Ht, const double *gram,
                           fm_penalty penalty, int k, int threads)
{
    char msg[FM_MSG_LEN];
    fused_run f = { dense_of(w0, rows->targets, k), NULL, NULL, NULL, NAN };
    float *u0 = calloc(rows->targets * k, sizeof(float));
    f.UW = dense_of(u0, rows->targets, k);
    free(u0);
    cr_assert_eq(fm_dense_new(&f.XHt, rows->targets, k, msg), FM_OK);
    cr_assert_eq(fm_dense_new(&f.XtW, rows->sources, k, msg), FM_OK);
    fm_admm_full *work = NULL;
    cr_assert_eq(fm_admm_full_new(&work, rows, k, msg), FM_OK, "%s", msg);
    fm_set_threads(threads);
    // twice from the same start: a workspace reused gives the same result
    for (int call = 0; call < 2; call++) {
        memcpy(f.W->data, w0, sizeof(float) * rows->targets * k);
        memset(f.UW->data, 0, sizeof(float) * rows->targets * k);
        cr_assert_eq(fm_admm_update_full(work, (fm_admm_factor){ f.W, f.UW }, f.XHt, f.XtW, &f.residual, rows, Ht,
                                         gram, penalty, 2, msg),
                     FM_OK, "%s", msg);
    }
    fm_set_threads(0);
    fm_admm_full_free(&work);
    return f;
}

static void fused_free(fused_run *f)
{
    fm_dense_free(&f->W);
    fm_dense_free(&f->UW);
    fm_dense_free(&f->XHt);
    fm_dense_free(&f->XtW);
}

static void expect_close(const float *a, const float *b, int64_t count, double tol, const char *what)
{
    for (int64_t e = 0; e < count; e++)
        cr_expect(fabs(a[e] - b[e]) <= tol * (1 + fabs(b[e])), "%s: entry %lld: %.9g, unfused %.9g", what,
                  (long long)e, a[e], b[e]);
}

Test(admm_full, matches_the_unfused_update_and_is_thread_independent)
{
    char msg[FM_MSG_LEN];
    // 700 rows: 16 parts of 43-44 rows, each a full and a partial block of 32
    const int64_t shapes[][2] = { { 700, 263 }, { 45, 1000 }, { 33, 17 } };
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++)
        for (int k = 3; k <= 12; k += 9)
            for (int p = 0; p < 2; p++) {
                const int64_t m = shapes[c][0], n = shapes[c][1];
                const fm_penalty penalty = p ? (fm_penalty){ .l1 = 0.05, .l2 = 0.01, .l2_per_entry = true }
                                             : (fm_penalty){ 0 };
                float *X = fm_test_uniform(m * n, 100 + c), *w0 = fm_test_uniform(m * k, 200 + k);
                float *h = fm_test_uniform(n * k, 300 + k);
                fm_graph *g = fm_test_graph_dense(X, m, n, FM_KIND_DENSE);
                fm_edges rows = { 0 }, cols = { 0 };
                cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
                cr_assert_eq(fm_edges_borrow(&cols, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
                cr_assert(fm_admm_full_fits(&rows, k));
                cr_assert(!fm_admm_full_fits(&cols, k) || cols.ptr == NULL);
                fm_dense *Ht = dense_of(h, n, k);
                double gram[k * k];
                cr_assert_eq(fm_products_gram(gram, Ht, msg), FM_OK, "%s", msg);

                // unfused: the shared update, then Xᵀ·W and Σr² of the new W
                fm_dense *W = dense_of(w0, m, k), *UW = NULL, *XHt = NULL, *XtW = NULL;
                cr_assert_eq(fm_dense_new(&UW, m, k, msg), FM_OK);
                cr_assert_eq(fm_dense_new(&XHt, m, k, msg), FM_OK);
                cr_assert_eq(fm_dense_new(&XtW, n, k, msg), FM_OK);
                cr_assert_eq(fm_admm_update_shared((fm_admm_factor){ W, UW }, XHt, &rows, Ht, gram, penalty, 2, msg),
                             FM_OK, "%s", msg);
                fm_products_gather(XtW, &cols, W);
                double residual = 0;
                for (int64_t i = 0; i < m; i++)
                    for (int64_t j = 0; j < n; j++) {
                        double pred = 0;
                        for (int r = 0; r < k; r++) pred += (double)W->data[i * k + r] * h[j * k + r];
                        residual += (X[i * n + j] - pred) * (X[i * n + j] - pred);
                    }

                fused_run one = run_fused(&rows, w0, Ht, gram, penalty, k, 1);
                expect_close(one.XHt->data, XHt->data, m * k, 1e-5, "X·Hᵀ");
                expect_close(one.W->data, W->data, m * k, 1e-4, "W");
                expect_close(one.UW->data, UW->data, m * k, 1e-4, "the duals");
                expect_close(one.XtW->data, XtW->data, n * k, 1e-4, "Xᵀ·W");
                cr_expect(fabs(one.residual - residual) <= 1e-5 * residual, "%lld x %lld, rank %d: Σr² %.12g, %.12g",
                          (long long)m, (long long)n, k, one.residual, residual);
                for (int threads = 2; threads <= 3; threads++) {
                    fused_run more = run_fused(&rows, w0, Ht, gram, penalty, k, threads);
                    cr_expect(!memcmp(more.W->data, one.W->data, sizeof(float) * m * k), "W on %d threads", threads);
                    cr_expect(!memcmp(more.XtW->data, one.XtW->data, sizeof(float) * n * k), "Xᵀ·W on %d threads",
                              threads);
                    cr_expect_eq(more.residual, one.residual, "Σr² on %d threads", threads);
                    fused_free(&more);
                }
                fused_free(&one);
                cr_assert_eq(fm_edges_return(&rows, msg), FM_OK, "%s", msg);
                cr_assert_eq(fm_edges_return(&cols, msg), FM_OK, "%s", msg);
                fm_dense_free(&W);
                fm_dense_free(&UW);
                fm_dense_free(&XHt);
                fm_dense_free(&XtW);
                fm_dense_free(&Ht);
                fm_graph_free(&g);
                free(X);
                free(w0);
                free(h);
            }
}

// The sparse kind and the columns of a dense graph are not full storage of
// rows; neither is a graph too wide for the per-part copies.
Test(admm_full, serves_full_rows_only)
{
    char msg[FM_MSG_LEN];
    float *X = fm_test_uniform(40 * 30, 1);
    fm_graph *g = fm_test_graph_dense(X, 40, 30, FM_KIND_SPARSE);
    fm_edges rows = { 0 };
    cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_expect(!fm_admm_full_fits(&rows, 4));
    cr_assert_eq(fm_edges_return(&rows, msg), FM_OK, "%s", msg);
    fm_graph_free(&g);
    free(X);
    const fm_edges wide = { .targets = 1000, .sources = 1 << 22 };
    cr_expect(!fm_admm_full_fits(&wide, 10), "16 copies of a 10 x 4M product fit the budget");
}
