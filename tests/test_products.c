// Each engine kernel against its GraphBLAS reference, on random graphs with
// empty rows, one-entry rows and dense rows, with 1 and 2 threads.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "helpers.h"
#include "products.h"
#include "rng.h"

TestSuite(products, .init = fm_test_setup);

// A rows × cols graph whose rows cycle through: empty, one edge, dense
// (every column), and random with density 0.3.
static fm_graph *skewed_graph(int64_t rows, int64_t cols, fm_kind kind, uint64_t seed)
{
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    float *values = calloc(rows * cols, sizeof(float));
    cr_assert_not_null(values);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            double u = fm_rng_uniform(rng, i * cols + j);
            bool keep = i % 4 == 2 || (i % 4 == 1 && j == (i * 7) % cols) || (i % 4 == 3 && u < 0.3);
            if (keep) values[i * cols + j] = (float)(0.1 + fm_rng_uniform(rng, rows * cols + i * cols + j));
        }
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    if (kind == FM_KIND_INCOMPLETE) {
        // observed = the nonzeros: build by coordinates so the pattern matches
        fm_triplets t = { .rows = rows, .cols = cols };
        t.row = malloc(sizeof(int64_t) * rows * cols);
        t.col = malloc(sizeof(int64_t) * rows * cols);
        t.val = malloc(sizeof(float) * rows * cols);
        for (int64_t e = 0; e < rows * cols; e++)
            if (values[e] != 0) {
                t.row[t.count] = e / cols;
                t.col[t.count] = e % cols;
                t.val[t.count++] = values[e];
            }
        cr_assert_eq(fm_graph_from_triplets(&g, &t, kind, msg), FM_OK, "%s", msg);
        free(t.row);
        free(t.col);
        free(t.val);
    } else {
        cr_assert_eq(fm_graph_from_dense(&g, rows, cols, values, kind, msg), FM_OK, "%s", msg);
    }
    free(values);
    return g;
}

static fm_dense *random_dense(int64_t rows, int64_t cols, uint64_t seed)
{
    fm_dense *d = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_dense_new(&d, rows, cols, msg), FM_OK);
    float *v = fm_test_uniform(rows * cols, seed);
    for (int64_t e = 0; e < rows * cols; e++) d->data[e] = v[e];
    free(v);
    return d;
}

static void assert_close(const float *a, const float *b, int64_t n, double tol, const char *what)
{
    for (int64_t e = 0; e < n; e++)
        cr_assert(fabs(a[e] - b[e]) <= tol * (1 + fabs(b[e])), "%s: entry %lld: %g vs %g", what,
                  (long long)e, a[e], b[e]);
}

static const fm_kind kinds[] = { FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE };

Test(products, gather_matches_graphblas)
{
    char msg[FM_MSG_LEN];
    for (int threads = 1; threads <= 2; threads++) {
        fm_set_threads(threads);
        // ranks 3, 7, 10: one partial, one full and a partial, two full groups
        // of the dense kernel's five; 37, 23, 301 and 263 targets: not
        // multiples of 4. The dense 301 x 263 graph's rows are long enough
        // for that kernel (FM_GATHER_SHORT), the 37 x 23 ones go to SGEMM.
        for (int kk = 0; kk < 12; kk++)
            for (int d = 0; d < 2; d++) {
                const int k = (int[]){ 3, 7, 10 }[kk % 3];
                const bool long_rows = kk >= 9;
                const int64_t rows = long_rows ? 301 : 37, cols = long_rows ? 263 : 23;
                fm_graph *g = skewed_graph(rows, cols, long_rows ? FM_KIND_DENSE : kinds[kk / 3], 10 + kk);
                fm_direction dir = (fm_direction)d;
                int64_t sources = dir == FM_TO_ROWS ? cols : rows, targets = dir == FM_TO_ROWS ? rows : cols;
                fm_dense *S = random_dense(sources, k, 99), *out = NULL, *ref = NULL;
                cr_assert_eq(fm_dense_new(&out, targets, k, msg), FM_OK);
                fm_edges edges;
                cr_assert_eq(fm_edges_borrow(&edges, g, dir, msg), FM_OK, "%s", msg);
                fm_products_gather(out, &edges, S);
                cr_assert_eq(fm_edges_return(&edges, msg), FM_OK, "%s", msg);
                cr_assert_eq(fm_products_gather_graphblas(&ref, g, dir, S, msg), FM_OK, "%s", msg);
                assert_close(out->data, ref->data, targets * k, 1e-5, "gather");
                fm_dense_free(&S);
                fm_dense_free(&out);
                fm_dense_free(&ref);
                fm_graph_free(&g);
            }
    }
    fm_set_threads(0);
}

Test(products, masked_gram_matches_graphblas)
{
    char msg[FM_MSG_LEN];
    for (int threads = 1; threads <= 2; threads++) {
        fm_set_threads(threads);
        for (int d = 0; d < 2; d++) {
            fm_graph *g = skewed_graph(29, 41, FM_KIND_INCOMPLETE, 5);
            fm_direction dir = (fm_direction)d;
            int64_t sources = dir == FM_TO_ROWS ? 41 : 29, targets = dir == FM_TO_ROWS ? 29 : 41;
            const int k = 5;
            fm_dense *S = random_dense(sources, k, 7);
            float *grams = malloc(sizeof(float) * targets * k * k), *ref = NULL;
            fm_edges edges;
            cr_assert_eq(fm_edges_borrow(&edges, g, dir, msg), FM_OK, "%s", msg);
            fm_products_masked_gram(grams, &edges, S);
            cr_assert_eq(fm_edges_return(&edges, msg), FM_OK, "%s", msg);
            cr_assert_eq(fm_products_masked_gram_graphblas(&ref, g, dir, S, msg), FM_OK, "%s", msg);
            assert_close(grams, ref, targets * k * k, 1e-5, "masked gram");
            free(grams);
            free(ref);
            fm_dense_free(&S);
            fm_graph_free(&g);
        }
    }
    fm_set_threads(0);
}

Test(products, edge_sums_match_graphblas)
{
    char msg[FM_MSG_LEN];
    for (int threads = 1; threads <= 2; threads++) {
        fm_set_threads(threads);
        for (int kk = 0; kk < 3; kk++)
            for (int d = 0; d < 2; d++) {
                fm_graph *g = skewed_graph(31, 17, kinds[kk], 20 + kk);
                fm_direction dir = (fm_direction)d;
                int64_t sources = dir == FM_TO_ROWS ? 17 : 31, targets = dir == FM_TO_ROWS ? 31 : 17;
                fm_dense *T = random_dense(targets, 4, 3), *S = random_dense(sources, 4, 4);
                fm_edges edges;
                double dot, sq, ref_dot, ref_sq;
                cr_assert_eq(fm_edges_borrow(&edges, g, dir, msg), FM_OK, "%s", msg);
                fm_products_edge_sums(&dot, &sq, &edges, T, S);
                cr_assert_eq(fm_edges_return(&edges, msg), FM_OK, "%s", msg);
                cr_assert_eq(fm_products_edge_sums_graphblas(&ref_dot, &ref_sq, g, dir, T, S, msg), FM_OK,
                             "%s", msg);
                cr_assert(fabs(dot - ref_dot) <= 1e-5 * fabs(ref_dot), "dot %g vs %g", dot, ref_dot);
                cr_assert(fabs(sq - ref_sq) <= 1e-5 * fabs(ref_sq), "sq %g vs %g", sq, ref_sq);
                fm_dense_free(&T);
                fm_dense_free(&S);
                fm_graph_free(&g);
            }
    }
    fm_set_threads(0);
}

// One block (1000 rows), several (9000), several batches of 16 blocks (40000).
Test(products, gram_matches_naive_and_threads)
{
    char msg[FM_MSG_LEN];
    for (int c = 0; c < 3; c++) {
        const int64_t rows = (int64_t[]){ 1000, 9000, 40000 }[c];
        fm_dense *S = random_dense(rows, 6, 11 + c);
        double G1[36], G2[36];
        fm_set_threads(1);
        cr_assert_eq(fm_products_gram(G1, S, msg), FM_OK);
        fm_set_threads(2);
        cr_assert_eq(fm_products_gram(G2, S, msg), FM_OK);
        fm_set_threads(0);
        for (int a = 0; a < 6; a++)
            for (int b = 0; b < 6; b++) {
                long double naive = 0;
                for (int64_t i = 0; i < S->rows; i++)
                    naive += (long double)S->data[i * 6 + a] * S->data[i * 6 + b];
                cr_assert(fabsl(G1[a * 6 + b] - naive) <= 1e-12 * fabsl(naive), "%lld rows, entry (%d, %d)",
                          (long long)rows, a, b);
                cr_assert_eq(G1[a * 6 + b], G2[a * 6 + b], "the Gram must not depend on the thread count");
            }
        fm_dense_free(&S);
    }
}

Test(products, borrow_and_return_keep_the_graph)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = skewed_graph(12, 9, FM_KIND_SPARSE, 1);
    fm_edges edges;
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(fm_edges_borrow(&edges, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
        cr_assert_eq(edges.targets, 9);
        cr_assert_eq(edges.sources, 12);
        for (int64_t t = 0; t < edges.targets; t++)
            for (GrB_Index e = edges.ptr[t]; e + 1 < edges.ptr[t + 1]; e++)
                cr_assert_lt(edges.idx[e], edges.idx[e + 1], "sorted, no duplicates");
        cr_assert_eq(fm_edges_return(&edges, msg), FM_OK, "%s", msg);
    }
    GrB_Index nvals;
    cr_assert_eq(GrB_Matrix_nvals(&nvals, g->AT), GrB_SUCCESS);
    cr_assert_eq((int64_t)nvals, g->stats.entries);
    fm_graph_free(&g);
}

Test(products, pattern_graph_is_expanded_from_iso)
{
    // every value equal: GraphBLAS may store a single iso value
    char msg[FM_MSG_LEN];
    int64_t row[] = { 0, 1, 2, 2 }, col[] = { 1, 0, 0, 2 };
    float val[] = { 1, 1, 1, 1 };
    fm_triplets t = { .rows = 3, .cols = 3, .count = 4, .row = row, .col = col, .val = val };
    fm_graph *g = NULL;
    cr_assert_eq(fm_graph_from_triplets(&g, &t, FM_KIND_SPARSE, msg), FM_OK, "%s", msg);
    fm_edges edges;
    cr_assert_eq(fm_edges_borrow(&edges, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(edges.count, 4);
    for (int e = 0; e < 4; e++) cr_assert_eq(edges.val[e], 1.0f);
    cr_assert_eq(fm_edges_return(&edges, msg), FM_OK, "%s", msg);
    fm_graph_free(&g);
}

// Shapes: odd target counts (the kernel's row pairs), more than 4096 sources
// (its float spans), ranks with and without a compiled copy (engine/rank.h).
Test(products, dense_residual_matches_edge_sums)
{
    char msg[FM_MSG_LEN];
    const struct { int64_t rows, cols; int rank; } shapes[] = { { 53, 29, 6 }, { 7, 5000, 10 }, { 31, 40, 4 } };
    for (int threads = 1; threads <= 2; threads++) {
        fm_set_threads(threads);
        for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++)
            for (int d = 0; d < 2; d++) {
                const int64_t rows = shapes[c].rows, cols = shapes[c].cols;
                const int k = shapes[c].rank;
                fm_graph *g = skewed_graph(rows, cols, FM_KIND_DENSE, 40 + d);
                fm_direction dir = (fm_direction)d;
                int64_t sources = dir == FM_TO_ROWS ? cols : rows, targets = dir == FM_TO_ROWS ? rows : cols;
                fm_dense *T = random_dense(targets, k, 5), *S = random_dense(sources, k, 6);
                fm_edges edges;
                double fast, dot, ref;
                cr_assert_eq(fm_edges_borrow(&edges, g, dir, msg), FM_OK, "%s", msg);
                cr_assert_eq(fm_products_dense_residual(&fast, &edges, T, S, msg), FM_OK, "%s", msg);
                fm_products_edge_sums(&dot, &ref, &edges, T, S);
                cr_assert_eq(fm_edges_return(&edges, msg), FM_OK, "%s", msg);
                cr_assert(fabs(fast - ref) <= 1e-5 * ref, "%lld x %lld, rank %d, %d threads: residual %.9g vs %.9g",
                          (long long)targets, (long long)sources, k, threads, fast, ref);
                fm_dense_free(&T);
                fm_dense_free(&S);
                fm_graph_free(&g);
            }
    }
    fm_set_threads(0);
}

// The loss's edge sums are the same bits on any number of threads and on
// every run (a dynamic schedule must not decide the order of the sums).
Test(products, edge_sums_do_not_depend_on_the_threads)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = skewed_graph(3001, 700, FM_KIND_SPARSE, 71);
    fm_dense *T = random_dense(3001, 7, 8), *S = random_dense(700, 7, 9);
    fm_edges edges;
    cr_assert_eq(fm_edges_borrow(&edges, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    double dot1, sq1;
    fm_set_threads(1);
    fm_products_edge_sums(&dot1, &sq1, &edges, T, S);
    for (int threads = 1; threads <= 4; threads++)
        for (int run = 0; run < 3; run++) {
            fm_set_threads(threads);
            double dot, sq;
            fm_products_edge_sums(&dot, &sq, &edges, T, S);
            cr_assert(dot == dot1 && sq == sq1, "%d threads, run %d: %.17g %.17g against %.17g %.17g", threads, run,
                      dot, sq, dot1, sq1);
        }
    fm_set_threads(0);
    cr_assert_eq(fm_edges_return(&edges, msg), FM_OK, "%s", msg);
    fm_dense_free(&T);
    fm_dense_free(&S);
    fm_graph_free(&g);
}

// Every variant of the full-storage gather this CPU runs (engine/cpu.h)
// against sums in double, on shapes that leave partial groups of targets
// (4 and 2), of ranks (5) and of vector lanes (16 and 8).
Test(products, gather_full_variants_match_a_double_reference)
{
    const int64_t shapes[][2] = { { 37, 263 }, { 6, 16 }, { 9, 1031 }, { 3, 5 } };
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++)
        for (int k = 1; k <= 12; k += (k < 5 ? 1 : 3)) {
            const int64_t m = shapes[c][0], n = shapes[c][1];
            const int padded = fm_gather_full_padding(k);
            float *X = fm_test_uniform(m * n, 40 + c), *S = fm_test_uniform(n * k, 50 + k);
            float *St = calloc((size_t)padded * n, sizeof(float)), *out = malloc(sizeof(float) * m * k);
            cr_assert(St && out);
            for (int64_t s = 0; s < n; s++)
                for (int r = 0; r < k; r++) St[r * n + s] = S[s * k + r];
            for (int level = FM_CPU_V1; level <= fm_cpu_level(); level++) {
                for (int64_t e = 0; e < m * k; e++) out[e] = NAN;
                fm_gather_full_rows(out, X, St, n, k, 1, m, level);   // row 0 is not asked for
                for (int r = 0; r < k; r++) cr_assert(isnan(out[r]), "level %d wrote a target outside its range", level);
                for (int64_t t = 1; t < m; t++)
                    for (int r = 0; r < k; r++) {
                        double sum = 0, magnitude = 0;
                        for (int64_t s = 0; s < n; s++) {
                            sum += (double)X[t * n + s] * S[s * k + r];
                            magnitude += fabs((double)X[t * n + s] * S[s * k + r]);
                        }
                        // the bound of any float summation order, γ_n = n·u
                        cr_assert(fabs(out[t * k + r] - sum) <= (n + 1) * 0x1p-24 * magnitude,
                                  "level %d, %lld x %lld, rank %d: target %lld rank %d: %.9g, reference %.9g", level,
                                  (long long)m, (long long)n, k, (long long)t, r, out[t * k + r], sum);
                    }
            }
            free(X);
            free(S);
            free(St);
            free(out);
        }
}

// The scatter and the residual over full storage, every variant this CPU
// runs, against double sums; partial strips of sources (64, 32, 16 and 8
// lanes), odd row counts and two groups of five ranks.
Test(products, scatter_and_residual_full_variants_match_a_double_reference)
{
    const int64_t shapes[][2] = { { 7, 263 }, { 1, 16 }, { 12, 1031 }, { 3, 5 }, { 5, 64 } };
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++)
        for (int kpad = 5; kpad <= 10; kpad += 5) {
            const int64_t m = shapes[c][0], n = shapes[c][1];
            float *X = fm_test_uniform(m * n, 60 + c), *T = fm_test_uniform(m * kpad, 70 + kpad);
            float *St = fm_test_uniform(kpad * n, 80 + c), *start = fm_test_uniform(kpad * n, 90 + c);
            float *acc = malloc(sizeof(float) * kpad * n);
            cr_assert(acc);
            double residual = 0, residual_magnitude = 0;
            for (int64_t t = 0; t < m; t++)
                for (int64_t s = 0; s < n; s++) {
                    double p = 0;
                    for (int r = 0; r < kpad; r++) p += (double)T[t * kpad + r] * St[r * n + s];
                    residual += (X[t * n + s] - p) * (X[t * n + s] - p);
                    residual_magnitude += (X[t * n + s] + p) * (X[t * n + s] + p);
                }
            for (int level = FM_CPU_V1; level <= fm_cpu_level(); level++) {
                memcpy(acc, start, sizeof(float) * kpad * n);
                fm_scatter_full_rows(acc, X, T, n, kpad, m, level);
                for (int r = 0; r < kpad; r++)
                    for (int64_t s = 0; s < n; s++) {
                        double sum = start[r * n + s], magnitude = sum;
                        for (int64_t t = 0; t < m; t++) {
                            sum += (double)T[t * kpad + r] * X[t * n + s];
                            magnitude += fabs((double)T[t * kpad + r] * X[t * n + s]);
                        }
                        cr_assert(fabs(acc[r * n + s] - sum) <= (m + 2) * 0x1p-24 * magnitude,
                                  "level %d, %lld x %lld, %d ranks: rank %d source %lld: %.9g, reference %.9g",
                                  level, (long long)m, (long long)n, kpad, r, (long long)s, acc[r * n + s], sum);
                    }
                const double got = fm_residual_full_rows(X, T, St, n, kpad, m, level);
                // predictions of kpad products, differences and squares in
                // float, each row's squares summed in float lanes
                const double bound = (kpad + n + 4) * 0x1p-24 * residual_magnitude;
                cr_assert(fabs(got - residual) <= bound, "level %d, %lld x %lld, %d ranks: residual %.12g, reference %.12g",
                          level, (long long)m, (long long)n, kpad, got, residual);
            }
            free(X);
            free(T);
            free(St);
            free(start);
            free(acc);
        }
}

// The gather over stored edges, every variant this CPU runs, against double
// sums: ranks on both sides of 8, 16 and 32 lanes, and rows with 0, 1, and
// 2 to 5 edges (partial groups of the four chains).
Test(products, gather_sparse_variants_match_a_double_reference)
{
    char msg[FM_MSG_LEN];
    const int ranks[] = { 1, 3, 8, 9, 16, 17, 24, 31, 32, 33, 40 };
    for (size_t c = 0; c < sizeof ranks / sizeof *ranks; c++) {
        const int k = ranks[c];
        fm_graph *g = skewed_graph(57, 41, FM_KIND_SPARSE, 200 + c);
        fm_edges edges;
        cr_assert_eq(fm_edges_borrow(&edges, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
        float *S = fm_test_uniform(edges.sources * k, 300 + c), *out = malloc(sizeof(float) * edges.targets * k);
        cr_assert_not_null(out);
        for (int level = FM_CPU_V1; level <= fm_cpu_level(); level++) {
            for (int64_t e = 0; e < edges.targets * k; e++) out[e] = NAN;
            fm_gather_sparse_rows(out, &edges, S, k, 1, edges.targets, level);   // target 0 is not asked for
            for (int r = 0; r < k; r++) cr_assert(isnan(out[r]), "level %d wrote a target outside its range", level);
            for (int64_t t = 1; t < edges.targets; t++)
                for (int r = 0; r < k; r++) {
                    double sum = 0, magnitude = 0;
                    for (GrB_Index e = edges.ptr[t]; e < edges.ptr[t + 1]; e++) {
                        sum += (double)edges.val[e] * S[edges.idx[e] * k + r];
                        magnitude += fabs((double)edges.val[e] * S[edges.idx[e] * k + r]);
                    }
                    const double degree = (double)(edges.ptr[t + 1] - edges.ptr[t]);
                    cr_assert(fabs(out[t * k + r] - sum) <= (degree + 1) * 0x1p-24 * magnitude,
                              "level %d, rank %d: target %lld rank %d: %.9g, reference %.9g", level, k, (long long)t,
                              r, out[t * k + r], sum);
                }
        }
        cr_assert_eq(fm_edges_return(&edges, msg), FM_OK, "%s", msg);
        free(S);
        free(out);
        fm_graph_free(&g);
    }
}
