// fm_transform: the coefficients of a matrix against a fixed basis are the
// exact penalized nonnegative least-squares solutions (checked against a
// brute force over every active set), for the three kinds and both sides;
// the training data transformed with a converged fit's W gives back its H;
// the result is the same on 1 and 2 threads; bad bases are refused.
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

TestSuite(transform, .init = fm_test_setup);

#define KMAX 5

// Solve A x = b (n × n, n <= KMAX) by Gaussian elimination with partial
// pivoting; false if (numerically) singular.
static bool gauss_solve(double *A, double *b, int n)
{
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(A[r * n + c]) > fabs(A[p * n + c])) p = r;
        if (!(fabs(A[p * n + c]) > 1e-10)) return false;
        for (int e = 0; e < n; e++) {
            const double t = A[c * n + e];
            A[c * n + e] = A[p * n + e];
            A[p * n + e] = t;
        }
        const double t = b[c];
        b[c] = b[p];
        b[p] = t;
        for (int r = c + 1; r < n; r++) {
            const double f = A[r * n + c] / A[c * n + c];
            for (int e = c; e < n; e++) A[r * n + e] -= f * A[c * n + e];
            b[r] -= f * b[c];
        }
    }
    for (int r = n - 1; r >= 0; r--) {
        for (int e = r + 1; e < n; e++) b[r] -= A[r * n + e] * b[e];
        b[r] /= A[r * n + r];
    }
    return true;
}

static double quadratic(const double *Q, const double *q, const double *h, int k)
{
    double f = 0;
    for (int r = 0; r < k; r++) {
        f -= q[r] * h[r];
        for (int c = 0; c < k; c++) f += 0.5 * h[r] * Q[r * k + c] * h[c];
    }
    return f;
}

// min ½ hᵀQh − qᵀh over h ≥ 0 by trying all 2^k free sets: on a free set S
// the stationary point solves Q_SS h_S = q_S; the minimizer of the convex
// problem is the feasible stationary point of least objective.
static double brute_force(const double *Q, const double *q, int k, double *best)
{
    double best_f = INFINITY;
    for (int set = 0; set < (1 << k); set++) {
        int idx[KMAX], n = 0;
        for (int r = 0; r < k; r++)
            if (set >> r & 1) idx[n++] = r;
        double A[KMAX * KMAX], b[KMAX], h[KMAX] = { 0 };
        for (int a = 0; a < n; a++) {
            b[a] = q[idx[a]];
            for (int c = 0; c < n; c++) A[a * n + c] = Q[idx[a] * k + idx[c]];
        }
        if (n && !gauss_solve(A, b, n)) continue;
        bool feasible = true;
        for (int a = 0; a < n; a++) {
            feasible &= b[a] >= 0;
            h[idx[a]] = b[a];
        }
        if (!feasible) continue;
        const double f = quadratic(Q, q, h, k);
        if (f < best_f) {
            best_f = f;
            memcpy(best, h, sizeof(double) * k);
        }
    }
    return best_f;
}

// A random m × n problem of `kind`: values (sparse: 40% true zeros), which
// entries are observed (incomplete: 65%), and its graph.
typedef struct problem {
    int m, n;
    fm_kind kind;
    float *values;
    bool *observed;
    fm_graph *g;
} problem;

static problem problem_new(int m, int n, fm_kind kind, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    problem p = { m, n, kind, fm_test_uniform(m * n, seed), calloc(m * n, sizeof(bool)), NULL };
    float *draw = fm_test_uniform(m * n, seed + 1000);
    fm_triplets t = { .rows = m, .cols = n };
    t.row = malloc(sizeof(int64_t) * m * n);
    t.col = malloc(sizeof(int64_t) * m * n);
    t.val = malloc(sizeof(float) * m * n);
    for (int e = 0; e < m * n; e++) {
        if (kind == FM_KIND_SPARSE && draw[e] < 0.4f) p.values[e] = 0;
        p.observed[e] = kind != FM_KIND_INCOMPLETE || draw[e] < 0.65f;
        if (p.observed[e] && (kind != FM_KIND_SPARSE || p.values[e] != 0)) {
            t.row[t.count] = e / n;
            t.col[t.count] = e % n;
            t.val[t.count++] = p.values[e];
        }
    }
    cr_assert_eq(fm_graph_from_triplets(&p.g, &t, kind, msg), FM_OK, "%s", msg);
    free(t.row);
    free(t.col);
    free(t.val);
    free(draw);
    return p;
}

static void problem_free(problem *p)
{
    free(p->values);
    free(p->observed);
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

// The coefficient r of target j of a transform's output.
static double coefficient(const fm_dense *out, bool columns, int j, int r)
{
    return columns ? out->data[r * out->cols + j] : out->data[j * out->cols + r];
}

// Every target of fm_transform's output against the brute force of its own
// Q_j = Σ_{i∈Ω_j} s_i s_iᵀ + λ2 c_j I and q_j = Σ x_ij s_i − λ1, formed here in
// double from the inputs. The objective must match to 1e-6 of its scale
// always; the coefficients to 1e-4 where Q_j is well conditioned (at least
// k + 1 sources; the inputs are float, so that is the rounding floor).
static void check_against_brute_force(const problem *p, const float *basis, int k, bool columns, fm_penalty pen,
                                      const char *what)
{
    char msg[FM_MSG_LEN];
    fm_dense *B = columns ? dense_of(basis, p->m, k) : dense_of(basis, k, p->n), *out = NULL;
    cr_assert_eq(fm_transform(&out, p->g, B, columns ? FM_SIDE_COLUMNS : FM_SIDE_ROWS, pen, msg), FM_OK, "%s: %s",
                 what, msg);
    cr_assert_eq(out->rows, columns ? k : p->m, "%s", what);
    cr_assert_eq(out->cols, columns ? p->n : k, "%s", what);
    const int targets = columns ? p->n : p->m, sources = columns ? p->m : p->n;
    for (int j = 0; j < targets; j++) {
        double Q[KMAX * KMAX] = { 0 }, q[KMAX] = { 0 }, best[KMAX], h[KMAX];
        int entries = 0;
        for (int i = 0; i < sources; i++) {
            const int e = columns ? i * p->n + j : j * p->n + i;
            if (!p->observed[e]) continue;
            entries++;
            for (int r = 0; r < k; r++) {
                const double sr = columns ? basis[i * k + r] : basis[r * p->n + i];
                q[r] += (double)p->values[e] * sr;
                for (int c = 0; c < k; c++) Q[r * k + c] += sr * (columns ? basis[i * k + c] : basis[c * p->n + i]);
            }
        }
        const double ridge = pen.l2 * (pen.l2_per_entry ? entries : 1);
        for (int r = 0; r < k; r++) {
            Q[r * k + r] += ridge;
            q[r] -= pen.l1;
        }
        const double f_best = brute_force(Q, q, k, best);
        for (int r = 0; r < k; r++) {
            h[r] = coefficient(out, columns, j, r);
            cr_assert(h[r] >= 0, "%s: target %d coefficient %d is negative (%g)", what, j, r, h[r]);
        }
        const double f = quadratic(Q, q, h, k);
        double scale = 1e-3;
        for (int r = 0; r < k; r++) scale += fabs(q[r]) * fabs(best[r]);
        cr_assert(f <= f_best + 1e-6 * scale, "%s: target %d objective %.9g above the brute force's %.9g", what, j,
                  f, f_best);
        if (entries > k)
            for (int r = 0; r < k; r++)
                cr_assert(fabs(h[r] - best[r]) <= 1e-4 * (1 + fabs(best[r])),
                          "%s: target %d coefficient %d: transform %.9g, brute force %.9g", what, j, r, h[r], best[r]);
    }
    fm_dense_free(&out);
    fm_dense_free(&B);
}

Test(transform, agrees_with_brute_force_nnls)
{
    const fm_kind kinds[3] = { FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE };
    const fm_penalty penalties[3] = { { 0 }, { .l1 = 0.3f, .l2 = 0.2f }, { .l1 = 0.1f, .l2 = 0.05f, .l2_per_entry = true } };
    int active = 0, total = 0;   // coefficients at zero: the constraints must bind somewhere
    for (int kk = 0; kk < 3; kk++)
        for (int trial = 0; trial < 2; trial++) {
            const int m = 11, n = 9, k = trial ? 5 : 3;
            problem p = problem_new(m, n, kinds[kk], 40 + 10 * kk + trial);
            float *W = fm_test_uniform(m * k, 70 + trial), *H = fm_test_uniform(k * n, 80 + trial);
            for (int pp = 0; pp < 3; pp++)
                for (int columns = 0; columns < 2; columns++) {
                    char what[128];
                    snprintf(what, sizeof what, "%s k=%d penalty %d %s", fm_kind_name(kinds[kk]), k, pp,
                             columns ? "columns" : "rows");
                    check_against_brute_force(&p, columns ? W : H, k, columns, penalties[pp], what);
                }
            char msg[FM_MSG_LEN];
            fm_dense *B = dense_of(W, m, k), *out = NULL;
            cr_assert_eq(fm_transform(&out, p.g, B, FM_SIDE_COLUMNS, (fm_penalty){ 0 }, msg), FM_OK, "%s", msg);
            for (int e = 0; e < k * n; e++) active += out->data[e] == 0;
            total += k * n;
            fm_dense_free(&out);
            fm_dense_free(&B);
            free(W);
            free(H);
            problem_free(&p);
        }
    cr_assert(active > total / 10 && active < total, "%d of %d coefficients at zero: the test should exercise both",
              active, total);
}

// A basis with two equal columns and a zero column: Q is singular, and the
// answer must still be a minimizer (the objective of the brute force), with
// nothing on the zero column.
Test(transform, degenerate_basis)
{
    const int m = 10, n = 6, k = 4;
    for (int kk = 0; kk < 2; kk++) {
        problem p = problem_new(m, n, kk ? FM_KIND_INCOMPLETE : FM_KIND_DENSE, 7);
        float *W = fm_test_uniform(m * k, 8);
        for (int i = 0; i < m; i++) {
            W[i * k + 1] = W[i * k + 0];
            W[i * k + 3] = 0;
        }
        check_against_brute_force(&p, W, k, true, (fm_penalty){ 0 }, "degenerate");
        check_against_brute_force(&p, W, k, true, (fm_penalty){ .l1 = 0.05f }, "degenerate l1");
        char msg[FM_MSG_LEN];
        fm_dense *B = dense_of(W, m, k), *out = NULL;
        cr_assert_eq(fm_transform(&out, p.g, B, FM_SIDE_COLUMNS, (fm_penalty){ 0 }, msg), FM_OK, "%s", msg);
        for (int j = 0; j < n; j++) cr_assert_eq(out->data[3 * n + j], 0.0f);
        fm_dense_free(&out);
        fm_dense_free(&B);
        free(W);
        problem_free(&p);
    }
}

// An incomplete column with no observed entry has the coefficients 0.
Test(transform, unobserved_column_is_zero)
{
    char msg[FM_MSG_LEN];
    fm_triplets t = { .rows = 3, .cols = 3, .count = 3 };
    int64_t row[3] = { 0, 1, 2 }, col[3] = { 0, 0, 2 };
    float val[3] = { 1, 2, 3 };
    t.row = row, t.col = col, t.val = val;
    fm_graph *g = NULL;
    cr_assert_eq(fm_graph_from_triplets(&g, &t, FM_KIND_INCOMPLETE, msg), FM_OK, "%s", msg);
    const float w[6] = { 1, 0.5f, 0.2f, 1, 0.3f, 0.3f };
    fm_dense *W = dense_of(w, 3, 2), *H = NULL;
    cr_assert_eq(fm_transform(&H, g, W, FM_SIDE_COLUMNS, (fm_penalty){ 0 }, msg), FM_OK, "%s", msg);
    cr_assert_eq(H->data[0 * 3 + 1], 0.0f);
    cr_assert_eq(H->data[1 * 3 + 1], 0.0f);
    cr_assert_gt(H->data[0 * 3 + 0] + H->data[1 * 3 + 0], 0.0f);
    fm_dense_free(&H);
    fm_dense_free(&W);
    fm_graph_free(&g);
}

static fm_solver_result *fit(fm_graph *g, int rank, int iters, int inner)
{
    fm_solver_options o;
    fm_solver_options_default(&o);
    o.rank = rank;
    o.iters = iters;
    o.inner = inner;
    o.tol = 0;
    fm_solver_result *r = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_OK, "%s", msg);
    return r;
}

static double relative_difference(const fm_dense *a, const fm_dense *b)
{
    double d = 0, s = 0;
    for (int64_t e = 0; e < a->rows * a->cols; e++) {
        d += ((double)a->data[e] - b->data[e]) * ((double)a->data[e] - b->data[e]);
        s += (double)b->data[e] * b->data[e];
    }
    return sqrt(d / s);
}

// A converged factorization's H is the NNLS solution for its W (and W for its
// H): transforming the training data gives them back, and never fits worse,
// up to float rounding: on this noise-free matrix the fit converges to an
// RMSE at float rounding of the data (1.6e-7 measured, 1e-7 of rms(X)), where
// factors stored as floats can come a few units of it apart either way
// (FLT_EPSILON = 1.2e-7 relative per entry). So the slack is 4 FLT_EPSILON
// rms(X) beside a relative 1e-5.
Test(transform, training_data_gives_back_the_fit)
{
    char msg[FM_MSG_LEN];
    const int m = 60, n = 40, k = 3;
    float *X = fm_test_planted(m, n, k, 11);
    double sumsq = 0;
    for (int e = 0; e < m * n; e++) sumsq += (double)X[e] * X[e];
    const double slack = 4 * FLT_EPSILON * sqrt(sumsq / (m * n));
    for (int kk = 0; kk < 2; kk++) {
        fm_graph *g = NULL;
        if (kk == 0) {
            g = fm_test_graph_dense(X, m, n, FM_KIND_DENSE);
        } else {   // incomplete: 70% of the entries observed
            float *draw = fm_test_uniform(m * n, 12);
            fm_triplets t = { .rows = m, .cols = n };
            t.row = malloc(sizeof(int64_t) * m * n);
            t.col = malloc(sizeof(int64_t) * m * n);
            t.val = malloc(sizeof(float) * m * n);
            for (int e = 0; e < m * n; e++)
                if (draw[e] < 0.7f) t.row[t.count] = e / n, t.col[t.count] = e % n, t.val[t.count++] = X[e];
            cr_assert_eq(fm_graph_from_triplets(&g, &t, FM_KIND_INCOMPLETE, msg), FM_OK, "%s", msg);
            free(t.row);
            free(t.col);
            free(t.val);
            free(draw);
        }
        fm_solver_result *r = fit(g, k, 500, 5);
        fm_dense *H = NULL, *W = NULL;
        cr_assert_eq(fm_transform(&H, g, r->W, FM_SIDE_COLUMNS, (fm_penalty){ 0 }, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_transform(&W, g, r->H, FM_SIDE_ROWS, (fm_penalty){ 0 }, msg), FM_OK, "%s", msg);
        const double dh = relative_difference(H, r->H), dw = relative_difference(W, r->W);
        cr_assert_lt(dh, 1e-3, "%s: transformed H differs from the fitted H by %g", kk ? "incomplete" : "dense", dh);
        cr_assert_lt(dw, 1e-3, "%s: transformed W differs from the fitted W by %g", kk ? "incomplete" : "dense", dw);
        double fitted, with_h, with_w;
        cr_assert_eq(fm_rmse(&fitted, g, r->W, r->H, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_rmse(&with_h, g, r->W, H, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_rmse(&with_w, g, W, r->H, msg), FM_OK, "%s", msg);
        cr_log_info("%s: rmse fitted %.3g, with the transform's H %.3g, W %.3g (slack %.3g)",
                    kk ? "incomplete" : "dense", fitted, with_h, with_w, slack);
        cr_assert_leq(with_h, fitted * (1 + 1e-5) + slack, "rmse with the transform's H %g, fitted %g", with_h, fitted);
        cr_assert_leq(with_w, fitted * (1 + 1e-5) + slack, "rmse with the transform's W %g, fitted %g", with_w, fitted);
        fm_dense_free(&H);
        fm_dense_free(&W);
        fm_solver_result_free(&r);
        fm_graph_free(&g);
    }
    free(X);
}

// The same output on 1 and 2 threads: bit for bit for the sparse and
// incomplete kinds (each target's products and solve are one thread's; the
// Gram is summed in fixed blocks); to float rounding for the dense kind, whose
// Xᵀ·W comes from SGEMM on each thread's block of rows when the rows are
// short (engine/products.c), and SGEMM's sums depend on the block.
Test(transform, thread_count_does_not_change_the_result)
{
    char msg[FM_MSG_LEN];
    const int m = 300, n = 200, k = 8;
    const fm_kind kinds[3] = { FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE };
    float *W = fm_test_uniform(m * k, 91), *H = fm_test_uniform(k * n, 92);
    const int threads = omp_get_max_threads();
    for (int kk = 0; kk < 3; kk++) {
        problem p = problem_new(m, n, kinds[kk], 93 + kk);
        for (int columns = 0; columns < 2; columns++) {
            fm_dense *B = columns ? dense_of(W, m, k) : dense_of(H, k, n), *out[2] = { NULL, NULL };
            const fm_penalty pen = { .l1 = 0.01f, .l2 = 0.1f };
            for (int t = 0; t < 2; t++) {
                omp_set_num_threads(t + 1);
                cr_assert_eq(fm_transform(&out[t], p.g, B, columns ? FM_SIDE_COLUMNS : FM_SIDE_ROWS, pen, msg), FM_OK,
                             "%s", msg);
            }
            omp_set_num_threads(threads);
            if (kinds[kk] != FM_KIND_DENSE) {
                cr_assert(!memcmp(out[0]->data, out[1]->data, sizeof(float) * out[0]->rows * out[0]->cols),
                          "%s %s: 1 and 2 threads differ", fm_kind_name(kinds[kk]), columns ? "columns" : "rows");
            } else {
                const double d = relative_difference(out[0], out[1]);
                cr_assert_leq(d, 1e-5, "dense %s: 1 and 2 threads differ by %g", columns ? "columns" : "rows", d);
            }
            fm_dense_free(&out[0]);
            fm_dense_free(&out[1]);
            fm_dense_free(&B);
        }
        problem_free(&p);
    }
    free(W);
    free(H);
}

static void expect_refused(fm_graph *g, const fm_dense *B, fm_side side, fm_penalty pen, const char *words)
{
    char msg[FM_MSG_LEN] = "";
    fm_dense *out = NULL;
    cr_assert_eq(fm_transform(&out, g, B, side, pen, msg), FM_ERR_INVALID, "expected a refusal about '%s'", words);
    cr_assert_null(out);
    cr_assert(strstr(msg, words), "the message '%s' should say '%s'", msg, words);
}

Test(transform, bad_bases_are_refused)
{
    const int m = 8, n = 6, k = 2;
    problem p = problem_new(m, n, FM_KIND_DENSE, 3);
    float *W = fm_test_uniform(m * k, 4);
    fm_dense *good = dense_of(W, m, k), *short_rows = dense_of(W, m - 1, k), *wide = dense_of(W, k, m);
    expect_refused(p.g, short_rows, FM_SIDE_COLUMNS, (fm_penalty){ 0 }, "as many rows as the data");
    expect_refused(p.g, good, FM_SIDE_ROWS, (fm_penalty){ 0 }, "as many columns as the data");
    expect_refused(p.g, wide, FM_SIDE_COLUMNS, (fm_penalty){ 0 }, "as many rows as the data");
    good->data[3] = -0.5f;
    expect_refused(p.g, good, FM_SIDE_COLUMNS, (fm_penalty){ 0 }, "finite and nonnegative");
    good->data[3] = NAN;
    expect_refused(p.g, good, FM_SIDE_COLUMNS, (fm_penalty){ 0 }, "finite and nonnegative");
    good->data[3] = 0.5f;
    expect_refused(p.g, good, FM_SIDE_COLUMNS, (fm_penalty){ .l1 = -1 }, "penalties");
    expect_refused(p.g, good, (fm_side)7, (fm_penalty){ 0 }, "unknown side");
    fm_dense empty = { m, 0, W };
    expect_refused(p.g, &empty, FM_SIDE_COLUMNS, (fm_penalty){ 0 }, "rank 0");
    fm_side side;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_side_parse(&side, "rows", msg), FM_OK);
    cr_assert_eq(side, FM_SIDE_ROWS);
    cr_assert_eq(fm_side_parse(&side, "cols", msg), FM_ERR_INVALID);
    fm_dense_free(&good);
    fm_dense_free(&short_rows);
    fm_dense_free(&wide);
    free(W);
    problem_free(&p);
}
