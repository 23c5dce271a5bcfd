// The objective the solver reports (§1, models/nmf/objective.h): the expansion
// of Σr² against the exact sum and a brute-force one, when the expansion is
// checked, and that trusting it changes neither a trace row beyond
// FM_TRACE_PRECISION nor where the tolerance test stops.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "helpers.h"
#include "loss.h"
#include "objective.h"
#include "products.h"
#include "rng.h"

TestSuite(objective, .init = fm_test_setup);

// Uniform values with about half of them zero (true zeros for the sparse kind).
static float *half_zeros(int64_t count, uint64_t seed)
{
    float *X = fm_test_uniform(count, seed);
    for (int64_t e = 0; e < count; e++)
        if (X[e] < 0.5f) X[e] = 0;
    return X;
}

Test(objective, expansion_and_exact_sum_agree_with_brute_force)
{
    const int64_t m = 70, n = 45;
    const int k = 6;
    char msg[FM_MSG_LEN];
    for (int kk = 0; kk < 2; kk++) {
        const fm_kind kind = kk ? FM_KIND_SPARSE : FM_KIND_DENSE;
        float *X = kk ? half_zeros(m * n, 1) : fm_test_uniform(m * n, 1);
        fm_graph *g = fm_test_graph_dense(X, m, n, kind);
        float *w = fm_test_uniform(m * k, 2), *h = fm_test_uniform(n * k, 3);
        fm_dense W = { .rows = m, .cols = k, .data = w }, Ht = { .rows = n, .cols = k, .data = h };
        fm_dense *XHt = NULL;
        cr_assert_eq(fm_dense_new(&XHt, m, k, msg), FM_OK, "%s", msg);
        double gram_w[k * k], gram_h[k * k];
        cr_assert_eq(fm_products_gram(gram_w, &W, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_products_gram(gram_h, &Ht, msg), FM_OK, "%s", msg);
        fm_edges rows = { 0 };
        cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
        fm_products_gather(XHt, &rows, &Ht);

        double brute = 0, xx = 0;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double p = 0;
                for (int r = 0; r < k; r++) p += (double)w[i * k + r] * h[j * k + r];
                const double x = X[i * n + j];
                brute += (x - p) * (x - p);
                xx += x * x;
            }
        double exact;
        cr_assert_eq(fm_loss_residual(&exact, g, &rows, &W, &Ht, gram_w, gram_h, msg), FM_OK, "%s", msg);
        const double expansion = fm_loss_expansion(g, &W, XHt, gram_w, gram_h);
        cr_expect(fabs(exact - brute) <= 1e-6 * brute, "%s: exact %.12g, brute force %.12g", fm_kind_name(kind),
                  exact, brute);
        // the expansion's error is the float rounding of X·Hᵀ, a share of ‖X‖²
        cr_expect(fabs(expansion - brute) <= 1e-6 * xx, "%s: expansion %.12g, brute force %.12g",
                  fm_kind_name(kind), expansion, brute);
        cr_assert_eq(fm_edges_return(&rows, msg), FM_OK, "%s", msg);
        fm_dense_free(&XHt);
        fm_graph_free(&g);
        free(w);
        free(h);
        free(X);
    }
}

Test(objective, the_expansion_is_checked_on_a_schedule_and_bounded_by_its_largest_error)
{
    fm_expansion_check c = { 0 };
    cr_expect(isinf(fm_expansion_bound(&c)), "no bound before a comparison");
    cr_expect(fm_expansion_check_due(&c, 5), "the first iteration with an expansion is checked, whichever");
    fm_expansion_check_record(&c, 1, 10.5, 10.0);
    fm_expansion_check_record(&c, 2, 9.9, 10.0);
    cr_expect_float_eq(fm_expansion_bound(&c), FM_EXPANSION_MARGIN * 0.5, 1e-12);
    fm_expansion_check_record(&c, 4, 3.0, 3.0);
    cr_expect_float_eq(fm_expansion_bound(&c), FM_EXPANSION_MARGIN * 0.5, 1e-12, "the largest error stays");
    // each comparison schedules the next at twice its iteration
    cr_expect(!fm_expansion_check_due(&c, 7));
    cr_expect(fm_expansion_check_due(&c, 8));
    cr_expect(fm_expansion_check_due(&c, 9), "a check skipped at 8 (an accelerated iteration) comes at 9");
    fm_expansion_check_record(&c, 12, 3.0, 3.0);   // an exact sum the solver needed anyway
    cr_expect(!fm_expansion_check_due(&c, 23));
    cr_expect(fm_expansion_check_due(&c, 24));
}

static fm_solver_result *solve_penalized(fm_graph *g, int rank, int iters, double tol, bool exact,
                                         fm_penalty penalty)
{
    fm_solver_options o;
    fm_solver_options_default(&o);
    o.penalty_w = o.penalty_h = penalty;
    o.rank = rank;
    o.iters = iters;
    o.tol = tol;
    o.exact_objective = exact;
    o.finish = FM_FINISH_NONE;   // the expansion serves AO-ADMM's rows; the exact phase's are all exact
    fm_solver_result *r = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_OK, "%s", msg);
    return r;
}

static fm_solver_result *solve(fm_graph *g, int rank, int iters, double tol, bool exact)
{
    return solve_penalized(g, rank, iters, tol, exact, (fm_penalty){ 0 });
}

// A bound on |expansion − exact| of Σr² (Σr² units) that holds on any CPU,
// whatever order a kernel sums in (the standard bound γ_n = n·u/(1 − n·u) of
// a float sum of n terms, u = 2⁻²⁴):
// - the expansion ‖X‖² − 2⟨W, X·Hᵀ⟩ + ‖WH‖²: each entry of X·Hᵀ is a float
//   sum of at most n products, so, all terms being nonnegative, the error of
//   ⟨W, X·Hᵀ⟩ is at most γ_{n+1}⟨X, WH⟩ ≤ γ_{n+1}‖X‖(‖X‖ + ‖R‖) (the Grams
//   and the sums are double);
// - the dense kind's exact sum: predictions are float sums of k products
//   (γ_{k+1}·p each), the difference and its square round once more, and the
//   squares are summed in float lanes of at most 4096 terms:
//   2γ_{k+2}‖R‖‖WH‖ + γ_4096·Σr². The sparse kind's exact sum is double.
static double expansion_error_bound(double xx, double rr, int64_t n, int k)
{
    const double u = 0x1p-24;
#define GAMMA(count) ((count) * u / (1 - (count) * u))
    const double x = sqrt(xx), r = sqrt(rr);
    return 2 * GAMMA((double)n + 1) * x * (x + r) + 2 * GAMMA(k + 2.0) * r * (x + r) + GAMMA(4096.0) * rr;
#undef GAMMA
}

// The objective never steers the iterates: both runs go through the same W
// and H, and only the reported rows may differ, by the expansion's error.
// Where the bound above puts the expansion within FM_TRACE_PRECISION of Σr²
// with FM_EXPANSION_MARGIN to spare, the run must have used it (except on
// the iterations that measure it: 1, 2, 4, 8, …). The dense kind's fused
// W-update (ops/admm_full.c) sums Σr² itself on the rows that cannot take it.
Test(objective, trace_rows_stay_within_the_trace_precision)
{
    const int64_t m = 300, n = 200;
    const int k = 4;
    float *planted = fm_test_planted(m, n, k, 4), *noisy = half_zeros(m * n, 5);
    const fm_penalty none = { 0 }, both = { .l1 = 0.01, .l2 = 0.1 };
    const struct { const float *X; fm_kind kind; fm_penalty penalty; } cases[] = {
        { planted, FM_KIND_DENSE, none }, { planted, FM_KIND_SPARSE, none }, { noisy, FM_KIND_DENSE, none },
        { noisy, FM_KIND_SPARSE, none }, { noisy, FM_KIND_SPARSE, both }, { planted, FM_KIND_SPARSE, both },
        { noisy, FM_KIND_DENSE, both },
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        double xx = 0;
        for (int64_t e = 0; e < m * n; e++) xx += (double)cases[c].X[e] * cases[c].X[e];
        fm_graph *g = fm_test_graph_dense(cases[c].X, m, n, cases[c].kind);
        fm_solver_result *fast = solve_penalized(g, k, 120, 0, false, cases[c].penalty);
        fm_solver_result *exact = solve_penalized(g, k, 120, 0, true, cases[c].penalty);
        cr_assert_eq(fast->trace_len, exact->trace_len);
        // the largest error any measurement can see
        double worst = 0;
        for (int i = 0; i < exact->trace_len; i++) {
            const double rr = exact->trace[i].rmse * exact->trace[i].rmse * (double)(m * n);
            worst = fmax(worst, expansion_error_bound(xx, rr, n, k));
        }
        int estimated = 0, required = 0;
        for (int i = 0; i < exact->trace_len; i++) {
            const double a = fast->trace[i].rmse, b = exact->trace[i].rmse;
            estimated += a != b;
            cr_expect(fabs(a - b) <= 0.5 * FM_TRACE_PRECISION * b, "case %zu, iteration %d: rmse %.9g, exact %.9g", c,
                      i, a, b);
            const double fa = fast->trace[i].objective, fb = exact->trace[i].objective;
            cr_expect(fabs(fa - fb) <= FM_TRACE_PRECISION * fb, "case %zu, iteration %d: objective %.9g, exact %.9g",
                      c, i, fa, fb);
            const double rr = b * b * (double)(m * n);
            const bool checked = (i & (i - 1)) == 0;   // 0 and the powers of two
            if (!checked && i < exact->trace_len - 1 &&
                FM_EXPANSION_MARGIN * worst <= FM_TRACE_PRECISION * (rr - expansion_error_bound(xx, rr, n, k))) {
                required++;
                cr_expect(a != b || fast->trace[i].objective != exact->trace[i].objective,
                          "case %zu, iteration %d: rmse %.9g is exact where the expansion is within precision", c,
                          i, a);
            }
        }
        cr_expect_geq(estimated, required, "case %zu: %d rows from the expansion, %d required", c, estimated,
                      required);
        // the noisy fits keep Σr² far above the bound: nearly every row qualifies
        if (cases[c].X == noisy)
            cr_expect_geq(required, exact->trace_len - 10, "case %zu: only %d rows qualify", c, required);
        cr_expect_eq(fast->trace[fast->trace_len - 1].rmse, exact->trace[exact->trace_len - 1].rmse,
                     "case %zu: the last row is exact", c);
        fm_solver_result_free(&fast);
        fm_solver_result_free(&exact);
        fm_graph_free(&g);
    }
    free(planted);
    free(noisy);
}

// The tolerance test runs on exact rows only, and an expansion stands only
// far enough from its threshold: the run stops where the exact run stops,
// or later (in practice one iteration, when the row before was an
// expansion), and where it stops the rule holds.
Test(objective, the_tolerance_stops_where_the_exact_objective_does)
{
    const int64_t m = 300, n = 200;
    float *planted = fm_test_planted(m, n, 4, 6), *noisy = half_zeros(m * n, 7);
    // the planted fit's relative change stays large as f goes to 0
    const struct { const float *X; double tol; } cases[] = {
        { planted, 1e-2 }, { planted, 3e-3 }, { noisy, 1e-3 }, { noisy, 1e-5 }, { noisy, 1e-6 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
        for (int kk = 0; kk < 2; kk++) {
            fm_graph *g = fm_test_graph_dense(cases[c].X, m, n, kk ? FM_KIND_SPARSE : FM_KIND_DENSE);
            const double tol = cases[c].tol;
            fm_solver_result *fast = solve(g, 4, 3000, tol, false), *exact = solve(g, 4, 3000, tol, true);
            cr_expect_str_eq(exact->stop_reason, "tolerance");
            cr_expect_str_eq(fast->stop_reason, "tolerance");
            const int rows = fast->trace_len;
            cr_expect(rows == exact->trace_len || rows == exact->trace_len + 1, "case %zu, kind %d: %d rows, exact %d",
                      c, kk, rows, exact->trace_len);
            if (rows >= 2) {
                const double before = fast->trace[rows - 2].objective, last = fast->trace[rows - 1].objective;
                cr_expect(fabs(before - last) <= tol * before, "case %zu, kind %d: stopped at a change of %.3g", c,
                          kk, fabs(before - last) / before);
                // both rows are the exact ones: a run of as many iterations that reports every row exactly
                fm_solver_result *all = solve(g, 4, rows - 1, 0, true);
                cr_expect_eq(before, all->trace[rows - 2].objective, "case %zu, kind %d: the row before", c, kk);
                cr_expect_eq(last, all->trace[rows - 1].objective, "case %zu, kind %d: the last row", c, kk);
                fm_solver_result_free(&all);
            }
            fm_solver_result_free(&fast);
            fm_solver_result_free(&exact);
            fm_graph_free(&g);
        }
    free(planted);
    free(noisy);
}

// The objective a row reports is the one the updates minimize (§3): with
// the per-entry ridge, row i of W weighs λ2·|Ω_i| — every column for the
// dense and sparse kinds, its observed entries for the incomplete kind.
Test(objective, the_reported_objective_weighs_the_ridge_as_the_updates_do)
{
    const int64_t m = 40, n = 30;
    const int k = 3;
    float *X = half_zeros(m * n, 9);
    const fm_kind kinds[] = { FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE };
    for (int c = 0; c < 3; c++) {
        fm_graph *g = NULL;
        if (kinds[c] == FM_KIND_INCOMPLETE) {   // the nonzeros observed, the zeros unknown
            char msg[FM_MSG_LEN];
            fm_triplets t = { .rows = m, .cols = n };
            t.row = malloc(sizeof(int64_t) * m * n);
            t.col = malloc(sizeof(int64_t) * m * n);
            t.val = malloc(sizeof(float) * m * n);
            cr_assert(t.row && t.col && t.val);
            for (int64_t e = 0; e < m * n; e++)
                if (X[e] != 0) {
                    t.row[t.count] = e / n;
                    t.col[t.count] = e % n;
                    t.val[t.count++] = X[e];
                }
            cr_assert_eq(fm_graph_from_triplets(&g, &t, FM_KIND_INCOMPLETE, msg), FM_OK, "%s", msg);
            free(t.row);
            free(t.col);
            free(t.val);
        } else {
            g = fm_test_graph_dense(X, m, n, kinds[c]);
        }
        const fm_penalty penalty = { .l1 = 0.02, .l2 = 0.05, .l2_per_entry = true };
        fm_solver_result *r = solve_penalized(g, k, 6, 0, true, penalty);
        const float *w = r->W->data, *h = r->H->data;   // H is k × n
        double f = 0;
        for (int64_t i = 0; i < m; i++) {
            int64_t observed_row = 0;
            for (int64_t j = 0; j < n; j++) {
                const float x = X[i * n + j];
                const bool observed = kinds[c] != FM_KIND_INCOMPLETE || x != 0;
                if (!observed) continue;
                observed_row++;
                double p = 0;
                for (int r2 = 0; r2 < k; r2++) p += (double)w[i * k + r2] * h[r2 * n + j];
                f += 0.5 * (x - p) * (x - p);
            }
            for (int r2 = 0; r2 < k; r2++)
                f += penalty.l1 * w[i * k + r2] + 0.5 * penalty.l2 * observed_row * w[i * k + r2] * w[i * k + r2];
        }
        for (int64_t j = 0; j < n; j++) {
            int64_t observed_col = 0;
            for (int64_t i = 0; i < m; i++) observed_col += kinds[c] != FM_KIND_INCOMPLETE || X[i * n + j] != 0;
            for (int r2 = 0; r2 < k; r2++)
                f += penalty.l1 * h[r2 * n + j] + 0.5 * penalty.l2 * observed_col * h[r2 * n + j] * h[r2 * n + j];
        }
        const double reported = r->trace[r->trace_len - 1].objective;
        cr_expect(fabs(reported - f) <= 1e-5 * f, "%s: reported %.9g, by hand %.9g", fm_kind_name(kinds[c]),
                  reported, f);
        fm_solver_result_free(&r);
        fm_graph_free(&g);
    }
    free(X);
}
