// The exact block updates (ops/hals.c) against a slow reference that forms
// every Gram and right-hand side entry by entry from X and the sources and
// recomputes each coordinate's gradient from scratch: the shared update
// (sparse and dense kinds, F formed or given), the incomplete kind's
// per-target Grams, the dense kind's fused pass in its exact mode; with and
// without penalties, the same bits on 1 and 2 threads, and the properties
// that make them exact: no coordinate step raises the subproblem's
// objective, and many sweeps reach its KKT point.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "admm.h"
#include "hals.h"
#include "helpers.h"
#include "products.h"

TestSuite(hals, .init = fm_test_setup);

// A random matrix with about `density` of its entries stored (the rest
// unstored: zeros for the sparse kind, unknown for the incomplete kind).
typedef struct problem {
    int64_t m, n;
    float *X;            // m × n, the stored values (0 where unstored)
    unsigned char *on;   // m × n, 1 where stored
    fm_graph *g;
} problem;

static problem make_problem(int64_t m, int64_t n, double density, fm_kind kind, uint64_t seed)
{
    problem p = { m, n, fm_test_uniform(m * n, seed), calloc(m * n, 1), NULL };
    float *coin = fm_test_uniform(m * n, seed + 1);
    int64_t *ptr = calloc(m + 1, sizeof(int64_t)), *idx = malloc(sizeof(int64_t) * m * n);
    float *val = malloc(sizeof(float) * m * n);
    int64_t e = 0;
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            const bool stored = kind == FM_KIND_DENSE || coin[i * n + j] < density;
            if (!stored) p.X[i * n + j] = 0;
            p.on[i * n + j] = stored;
            if (stored) {
                idx[e] = j;
                val[e++] = p.X[i * n + j];
            }
        }
        ptr[i + 1] = e;
    }
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_graph_from_csr(&p.g, m, n, ptr, idx, val, kind, msg), FM_OK, "%s", msg);
    free(coin);
    free(ptr);
    free(idx);
    free(val);
    return p;
}

static void problem_free(problem *p)
{
    free(p->X);
    free(p->on);
    fm_graph_free(&p->g);
}

static fm_dense *dense_of(const float *values, int64_t rows, int64_t cols)
{
    fm_dense *d = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_dense_new(&d, rows, cols, msg), FM_OK, "%s", msg);
    memcpy(d->data, values, sizeof(float) * rows * cols);
    return d;
}

// The subproblem of target t (a row of X when `by_rows`, else a column):
// Ĝ and f summed entry by entry over its stored entries (all of them when
// `shared`: the sparse kind's zeros count), the ridge c = those entries'
// count with the per-entry ridge.
static void reference_system(double *G, double *f, const problem *p, bool by_rows, bool shared, int64_t t,
                             const float *sources, int k, fm_penalty penalty)
{
    const int64_t others = by_rows ? p->n : p->m;
    memset(G, 0, sizeof(double) * k * k);
    memset(f, 0, sizeof(double) * k);
    int64_t count = 0;
    for (int64_t s = 0; s < others; s++) {
        const int64_t at = by_rows ? t * p->n + s : s * p->n + t;
        if (!shared && !p->on[at]) continue;
        count++;
        for (int a = 0; a < k; a++) {
            f[a] += (double)p->X[at] * sources[s * k + a];
            for (int b = 0; b < k; b++) G[a * k + b] += (double)sources[s * k + a] * sources[s * k + b];
        }
    }
    const double ridge = penalty.l2 * (penalty.l2_per_entry ? (double)count : 1.0);
    for (int a = 0; a < k; a++) G[a * k + a] += ridge;
}

// ½ xᵀĜx − fᵀx + λ1·Σx: the subproblem's objective.
static double subproblem(const double *G, const double *f, const double *x, double l1, int k)
{
    double v = 0;
    for (int a = 0; a < k; a++) {
        double gx = 0;
        for (int b = 0; b < k; b++) gx += G[a * k + b] * x[b];
        v += 0.5 * x[a] * gx - f[a] * x[a] + l1 * x[a];
    }
    return v;
}

// `sweeps` sweeps of coordinate descent, each coordinate's gradient
// recomputed from Ĝ, f and x; checks that no step raises the objective.
static void reference_sweeps(double *x, const double *G, const double *f, double l1, int sweeps, int k)
{
    for (int sweep = 0; sweep < sweeps; sweep++)
        for (int r = 0; r < k; r++) {
            const double before = subproblem(G, f, x, l1, k);
            double gradient = l1 - f[r];
            for (int s = 0; s < k; s++) gradient += G[r * k + s] * x[s];
            x[r] = G[r * k + r] > 0 ? fmax(0, x[r] - gradient / G[r * k + r]) : 0;
            const double after = subproblem(G, f, x, l1, k);
            cr_assert(after <= before + 1e-12 * (1 + fabs(before)), "a coordinate step raised %.17g to %.17g", before,
                      after);
        }
}

// The reference update of every target of one side.
static float *reference_update(const problem *p, bool by_rows, bool shared, const float *targets,
                               const float *sources, int k, fm_penalty penalty, int sweeps)
{
    const int64_t count = by_rows ? p->m : p->n;
    float *out = malloc(sizeof(float) * count * k);
    double G[k * k], f[k], x[k];
    for (int64_t t = 0; t < count; t++) {
        reference_system(G, f, p, by_rows, shared, t, sources, k, penalty);
        for (int r = 0; r < k; r++) x[r] = targets[t * k + r];
        reference_sweeps(x, G, f, penalty.l1, sweeps, k);
        for (int r = 0; r < k; r++) out[t * k + r] = (float)x[r];
    }
    return out;
}

static void expect_close(const float *a, const float *b, int64_t count, double tol, const char *what)
{
    for (int64_t e = 0; e < count; e++)
        cr_expect(fabs(a[e] - b[e]) <= tol * (1 + fabs(b[e])), "%s: entry %lld: %.9g, reference %.9g", what,
                  (long long)e, a[e], b[e]);
}

static const fm_penalty penalties[] = { { 0 }, { .l1 = 0.05f, .l2 = 0.1f }, { .l1 = 0.02f, .l2 = 0.01f,
                                                                             .l2_per_entry = true } };

// One update of one side by the library: masked, or shared with F formed
// (edges given) or given; on `threads` threads.
static fm_dense *library_update(const problem *p, bool by_rows, bool masked, bool given, const float *targets,
                                const float *sources, int k, fm_penalty penalty, int sweeps, int threads)
{
    char msg[FM_MSG_LEN];
    const int64_t count = by_rows ? p->m : p->n, others = by_rows ? p->n : p->m;
    fm_dense *T = dense_of(targets, count, k), *S = dense_of(sources, others, k), *F = NULL;
    cr_assert_eq(fm_dense_new(&F, count, k, msg), FM_OK);
    fm_edges edges = { 0 };
    cr_assert_eq(fm_edges_borrow(&edges, p->g, by_rows ? FM_TO_ROWS : FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    if (masked) {
        fm_set_threads(threads);
        cr_assert_eq(fm_hals_update_masked(T, &edges, S, penalty, sweeps, msg), FM_OK, "%s", msg);
    } else {
        double gram[k * k];
        cr_assert_eq(fm_products_gram(gram, S, msg), FM_OK, "%s", msg);
        // F given: gathered on one thread (the dense gather of short rows
        // runs SGEMM on each thread's block, whose rounding depends on it)
        fm_set_threads(1);
        if (given) fm_products_gather(F, &edges, S);
        fm_set_threads(threads);
        cr_assert_eq(fm_hals_update_shared(T, F, given ? NULL : &edges, S, gram, penalty, others, sweeps, msg),
                     FM_OK, "%s", msg);
    }
    fm_set_threads(0);
    cr_assert_eq(fm_edges_return(&edges, msg), FM_OK, "%s", msg);
    fm_dense_free(&S);
    fm_dense_free(&F);
    return T;
}

Test(hals, matches_the_reference_and_is_thread_independent)
{
    const fm_kind kinds[] = { FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE };
    for (int kd = 0; kd < 3; kd++)
        for (int k = 3; k <= 20; k += 17)   // 20 runs the rank's compiled copy, 3 the generic one
            for (size_t pen = 0; pen < sizeof penalties / sizeof *penalties; pen++)
                for (int sweeps = 1; sweeps <= 3; sweeps += 2) {
                    // 37 targets: two tiles of 16 and a partial one
                    problem p = make_problem(37, 23, 0.4, kinds[kd], 10 + kd);
                    const bool masked = kinds[kd] == FM_KIND_INCOMPLETE;
                    for (int by_rows = 0; by_rows < 2; by_rows++) {
                        const int64_t count = by_rows ? p.m : p.n, others = by_rows ? p.n : p.m;
                        float *t0 = fm_test_uniform(count * k, 100 + k), *s = fm_test_uniform(others * k, 200 + k);
                        float *want = reference_update(&p, by_rows, !masked, t0, s, k, penalties[pen], sweeps);
                        for (int given = 0; given < (masked ? 1 : 2); given++) {
                            fm_dense *one = library_update(&p, by_rows, masked, given, t0, s, k, penalties[pen],
                                                           sweeps, 1);
                            expect_close(one->data, want, count * k, 2e-5, masked ? "masked" : "shared");
                            fm_dense *two = library_update(&p, by_rows, masked, given, t0, s, k, penalties[pen],
                                                           sweeps, 2);
                            if (masked || given)   // the update alone: the same bits
                                cr_expect(!memcmp(one->data, two->data, sizeof(float) * count * k),
                                          "1 and 2 threads differ (kind %d, rank %d)", kd, k);
                            else   // with the gather: its float rounding
                                expect_close(two->data, one->data, count * k, 1e-5, "2 threads");
                            fm_dense_free(&one);
                            fm_dense_free(&two);
                        }
                        free(t0);
                        free(s);
                        free(want);
                    }
                    problem_free(&p);
                }
}

// Many sweeps solve the subproblem: x ≥ 0, the gradient Ĝx − f + λ1 is
// ≥ 0 where x = 0 and 0 where x > 0 (KKT), to float precision.
Test(hals, many_sweeps_reach_the_kkt_point)
{
    const int k = 8;
    problem p = make_problem(50, 40, 0.5, FM_KIND_INCOMPLETE, 3);
    float *t0 = fm_test_uniform(p.m * k, 5), *s = fm_test_uniform(p.n * k, 6);
    for (int masked = 0; masked < 2; masked++) {
        const fm_penalty penalty = { .l1 = 0.01f, .l2 = 0.05f };
        fm_dense *T = library_update(&p, true, masked, false, t0, s, k, penalty, 400, 2);
        double G[k * k], f[k];
        for (int64_t t = 0; t < p.m; t++) {
            reference_system(G, f, &p, true, !masked, t, s, k, penalty);
            double scale = 0;
            for (int a = 0; a < k; a++) scale = fmax(scale, fabs(f[a]));
            for (int r = 0; r < k; r++) {
                const double x = T->data[t * k + r];
                double gradient = penalty.l1 - f[r];
                for (int c = 0; c < k; c++) gradient += G[r * k + c] * T->data[t * k + c];
                cr_expect(x >= 0, "a negative coordinate");
                if (x > 0)
                    cr_expect(fabs(gradient) <= 1e-4 * scale, "target %lld, rank %d: gradient %g at x = %g",
                              (long long)t, r, gradient, x);
                else
                    cr_expect(gradient >= -1e-4 * scale, "target %lld, rank %d: gradient %g at 0", (long long)t, r,
                              gradient);
            }
        }
        fm_dense_free(&T);
    }
    free(t0);
    free(s);
    problem_free(&p);
}

// The dense kind's fused pass in its exact mode makes the shared update's
// W, and Xᵀ·W of it; the same bits on 1 and 2 threads.
Test(hals, fused_dense_exact_mode_matches_the_shared_update)
{
    char msg[FM_MSG_LEN];
    const int k = 10;
    const fm_penalty penalty = { .l1 = 0.03f, .l2 = 0.02f, .l2_per_entry = true };
    problem p = make_problem(300, 70, 1, FM_KIND_DENSE, 7);
    float *w0 = fm_test_uniform(p.m * k, 8), *h = fm_test_uniform(p.n * k, 9);
    fm_dense *shared = library_update(&p, true, false, false, w0, h, k, penalty, 2, 1);
    fm_dense *Ht = dense_of(h, p.n, k);
    double gram[k * k];
    cr_assert_eq(fm_products_gram(gram, Ht, msg), FM_OK, "%s", msg);
    fm_edges rows = { 0 };
    cr_assert_eq(fm_edges_borrow(&rows, p.g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert(fm_admm_full_fits(&rows, k));
    fm_dense *first = NULL;
    for (int threads = 1; threads <= 2; threads++) {
        fm_dense *W = dense_of(w0, p.m, k), *UW = NULL, *XHt = NULL, *XtW = NULL;
        cr_assert_eq(fm_dense_new(&UW, p.m, k, msg), FM_OK);
        cr_assert_eq(fm_dense_new(&XHt, p.m, k, msg), FM_OK);
        cr_assert_eq(fm_dense_new(&XtW, p.n, k, msg), FM_OK);
        fm_admm_full *work = NULL;
        cr_assert_eq(fm_admm_full_new(&work, &rows, k, msg), FM_OK, "%s", msg);
        fm_admm_full_exact(work, 2);
        fm_set_threads(threads);
        double residual;
        cr_assert_eq(fm_admm_update_full(work, (fm_admm_factor){ W, UW }, XHt, XtW, &residual, &rows, Ht, gram,
                                         penalty, 1, msg),
                     FM_OK, "%s", msg);
        fm_set_threads(0);
        expect_close(W->data, shared->data, p.m * k, 1e-5, "fused W");
        for (int64_t j = 0; j < p.n; j++)
            for (int r = 0; r < k; r++) {
                double v = 0;
                for (int64_t i = 0; i < p.m; i++) v += (double)p.X[i * p.n + j] * W->data[i * k + r];
                cr_expect(fabs(XtW->data[j * k + r] - v) <= 1e-4 * (1 + fabs(v)), "Xᵀ·W (%lld, %d): %g, %g",
                          (long long)j, r, XtW->data[j * k + r], v);
            }
        for (int64_t e = 0; e < p.m * k; e++) cr_expect(UW->data[e] == 0, "the exact mode wrote the duals");
        if (first) cr_expect(!memcmp(first->data, W->data, sizeof(float) * p.m * k), "1 and 2 threads differ");
        fm_dense_free(&first);
        first = W;
        fm_dense_free(&UW);
        fm_dense_free(&XHt);
        fm_dense_free(&XtW);
        fm_admm_full_free(&work);
    }
    cr_assert_eq(fm_edges_return(&rows, msg), FM_OK, "%s", msg);
    fm_dense_free(&first);
    fm_dense_free(&shared);
    fm_dense_free(&Ht);
    free(w0);
    free(h);
    problem_free(&p);
}
