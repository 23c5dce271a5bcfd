// The ADMM update (§3, ops/admm.c) against brute-force nonnegative least
// squares: every active set tried, plain and with the L1 and L2 penalties,
// for the shared and the masked (incomplete) updates.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "admm.h"
#include "helpers.h"
#include "products.h"
#include "rng.h"

TestSuite(solver_nnls, .init = fm_test_setup);

// Brute force: min ½‖x − W h‖² over h ≥ 0 by trying every active set.
static double nnls_brute(const double *W, int m, int k, const double *x, double *best)
{
    double best_f = INFINITY;
    for (int set = 0; set < (1 << k); set++) {
        double A[16], b[4], h[4] = { 0 };
        int idx[4], n = 0;
        for (int r = 0; r < k; r++)
            if (set >> r & 1) idx[n++] = r;
        for (int a = 0; a < n; a++) {   // normal equations on the free set
            b[a] = 0;
            for (int i = 0; i < m; i++) b[a] += W[i * k + idx[a]] * x[i];
            for (int c = 0; c < n; c++) {
                A[a * n + c] = 0;
                for (int i = 0; i < m; i++) A[a * n + c] += W[i * k + idx[a]] * W[i * k + idx[c]];
            }
        }
        if (n && fm_chol_small(A, n)) continue;
        if (n) fm_chol_solve_small(A, n, b);
        bool feasible = true;
        for (int a = 0; a < n; a++) {
            if (b[a] < 0) feasible = false;
            h[idx[a]] = b[a];
        }
        if (!feasible) continue;
        double f = 0;
        for (int i = 0; i < m; i++) {
            double p = 0;
            for (int r = 0; r < k; r++) p += W[i * k + r] * h[r];
            f += 0.5 * (x[i] - p) * (x[i] - p);
        }
        if (f < best_f) {
            best_f = f;
            memcpy(best, h, sizeof(double) * k);
        }
    }
    return best_f;
}

Test(solver_nnls, admm_agrees_with_brute_force_nnls)
{
    char msg[FM_MSG_LEN];
    const int m = 7, n = 5, k = 3;
    for (int trial = 0; trial < 4; trial++) {
        float *X = fm_test_uniform(m * n, 100 + trial), *Wv = fm_test_uniform(m * k, 200 + trial);
        for (int masked = 0; masked < 2; masked++) {
            fm_graph *g = fm_test_graph_dense(X, m, n, masked ? FM_KIND_INCOMPLETE : FM_KIND_DENSE);
            fm_dense *W = NULL, *Ht = NULL, *U = NULL, *F = NULL;
            cr_assert_eq(fm_dense_new(&W, m, k, msg), FM_OK);
            cr_assert_eq(fm_dense_new(&Ht, n, k, msg), FM_OK);
            cr_assert_eq(fm_dense_new(&U, n, k, msg), FM_OK);
            cr_assert_eq(fm_dense_new(&F, n, k, msg), FM_OK);
            memcpy(W->data, Wv, sizeof(float) * m * k);
            double gram[9];
            cr_assert_eq(fm_products_gram(gram, W, msg), FM_OK);
            fm_edges edges;
            cr_assert_eq(fm_edges_borrow(&edges, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
            fm_admm_factor h = { Ht, U };
            fm_penalty none = { 0 };
            if (masked) cr_assert_eq(fm_admm_update_masked(h, &edges, W, none, 3000, msg), FM_OK, "%s", msg);
            else cr_assert_eq(fm_admm_update_shared(h, F, &edges, W, gram, none, 3000, msg), FM_OK, "%s", msg);
            cr_assert_eq(fm_edges_return(&edges, msg), FM_OK, "%s", msg);
            double Wd[21], x[7], best[3];
            for (int e = 0; e < m * k; e++) Wd[e] = Wv[e];
            for (int j = 0; j < n; j++) {
                for (int i = 0; i < m; i++) x[i] = X[i * n + j];
                nnls_brute(Wd, m, k, x, best);
                for (int r = 0; r < k; r++)
                    cr_assert(fabs(Ht->data[j * k + r] - best[r]) <= 1e-3 * (1 + fabs(best[r])),
                              "trial %d column %d factor %d: ADMM %g, brute force %g", trial, j, r,
                              Ht->data[j * k + r], best[r]);
            }
            fm_dense_free(&W);
            fm_dense_free(&Ht);
            fm_dense_free(&U);
            fm_dense_free(&F);
            fm_graph_free(&g);
        }
        free(X);
        free(Wv);
    }
}

// Solve A x = b (n×n, n <= 4) by Gaussian elimination with partial pivoting;
// false if singular. Independent of the solver's own Cholesky.
static bool gauss_solve(double *A, double *b, int n)
{
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(A[r * n + c]) > fabs(A[p * n + c])) p = r;
        if (!(fabs(A[p * n + c]) > 1e-12)) return false;
        for (int e = 0; e < n; e++) {
            double t = A[c * n + e];
            A[c * n + e] = A[p * n + e];
            A[p * n + e] = t;
        }
        double t = b[c];
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

// Brute force: min ½ hᵀ Q h − fᵀh + l1 Σh over h ≥ 0 (Q = G + ridge·I, k <= 4)
// by trying every set of free components: on a free set S the stationary
// point solves Q_SS h_S = f_S − l1; the minimizer is the feasible one of
// least objective (the problem is convex, so its minimizer is one of them).
static void penalized_nnls_brute(const double *Q, const double *f, double l1, int k, double *best)
{
    double best_objective = INFINITY;
    for (int set = 0; set < (1 << k); set++) {
        int idx[4], n = 0;
        for (int r = 0; r < k; r++)
            if (set >> r & 1) idx[n++] = r;
        double A[16], b[4], h[4] = { 0 };
        for (int a = 0; a < n; a++) {
            b[a] = f[idx[a]] - l1;
            for (int c = 0; c < n; c++) A[a * n + c] = Q[idx[a] * k + idx[c]];
        }
        if (n && !gauss_solve(A, b, n)) continue;
        bool feasible = true;
        for (int a = 0; a < n; a++) {
            feasible &= b[a] >= 0;
            h[idx[a]] = b[a];
        }
        if (!feasible) continue;
        double objective = 0;
        for (int r = 0; r < k; r++) {
            objective += l1 * h[r] - f[r] * h[r];
            for (int c = 0; c < k; c++) objective += 0.5 * h[r] * Q[r * k + c] * h[c];
        }
        if (objective < best_objective) {
            best_objective = objective;
            memcpy(best, h, sizeof(double) * k);
        }
    }
}

// The penalized subproblem of every target, ADMM iterated to convergence
// against the brute-force minimizer of ½‖x_j − S h‖²_Ω + λ1 Σh + ½ c‖h‖²,
// c = λ2 or λ2·(the target's entries of Ω) with --l2-per-entry (for the
// dense and sparse kinds every source is in Ω). Both kinds of update
// (shared Gram: dense and sparse; per-target Gram: incomplete), both
// directions (the H-update from W over Aᵀ, the W-update from Hᵀ over A),
// L1 and L2 both nonzero, per entry or not.
//
// The tolerance: the fixed point of ADMM is the exact minimizer, and the
// iteration contracts with cond(G + ρI) <= k + 1, so after thousands of steps
// the iterate sits at the float rounding floor, about 1e-6 here; the test
// first checks that it has stopped moving (1000 more steps change it by less
// than 1e-5), then asks for 1e-4 of the brute force. A wrong penalty (the L1
// threshold not divided by ρ ≈ 3, a ridge counted over the wrong side) moves
// the minimizer by about λ1/σ or λ2·h/σ, ~0.1.
Test(solver_nnls, penalized_admm_agrees_with_brute_force)
{
    char msg[FM_MSG_LEN];
    const int m = 9, n = 6, k = 3;
    float *X = fm_test_uniform(m * n, 300), *factor_values = fm_test_uniform((m > n ? m : n) * k, 301);
    float *observe = fm_test_uniform(m * n, 302);
    for (int kk = 0; kk < 3; kk++) {
        const fm_kind kind = (fm_kind[]){ FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE }[kk];
        // sparse: 40% true zeros; incomplete: 60% of the entries observed
        float *values = malloc(sizeof(float) * m * n);
        bool observed[9 * 6];
        fm_triplets t = { .rows = m, .cols = n };
        t.row = malloc(sizeof(int64_t) * m * n);
        t.col = malloc(sizeof(int64_t) * m * n);
        t.val = malloc(sizeof(float) * m * n);
        for (int e = 0; e < m * n; e++) {
            values[e] = kind == FM_KIND_SPARSE && observe[e] < 0.4f ? 0 : X[e];
            observed[e] = kind != FM_KIND_INCOMPLETE || observe[e] < 0.6f;
            if (observed[e] && (kind != FM_KIND_SPARSE || values[e] != 0)) {
                t.row[t.count] = e / n;
                t.col[t.count] = e % n;
                t.val[t.count++] = values[e];
            }
        }
        fm_graph *g = NULL;
        cr_assert_eq(fm_graph_from_triplets(&g, &t, kind, msg), FM_OK, "%s", msg);
        for (int columns = 0; columns < 2; columns++) {
            // targets: the columns (H-update, sources W: m × k) or the rows
            // (W-update, sources Hᵀ: n × k)
            const int targets = columns ? n : m, sources = columns ? m : n;
            for (int per_entry = 0; per_entry < 2; per_entry++) {
                const fm_penalty penalty = { .l1 = 0.3f, .l2 = per_entry ? 0.05f : 0.2f, .l2_per_entry = per_entry };
                fm_dense *S = NULL, *T = NULL, *U = NULL, *F = NULL;
                cr_assert_eq(fm_dense_new(&S, sources, k, msg), FM_OK);
                cr_assert_eq(fm_dense_new(&T, targets, k, msg), FM_OK);
                cr_assert_eq(fm_dense_new(&U, targets, k, msg), FM_OK);
                cr_assert_eq(fm_dense_new(&F, targets, k, msg), FM_OK);
                memcpy(S->data, factor_values, sizeof(float) * sources * k);
                double gram[9];
                cr_assert_eq(fm_products_gram(gram, S, msg), FM_OK);
                fm_edges edges;
                cr_assert_eq(fm_edges_borrow(&edges, g, columns ? FM_TO_COLUMNS : FM_TO_ROWS, msg), FM_OK, "%s", msg);
                fm_admm_factor factor = { T, U };
                float converged[9 * 3];
                for (int round = 0; round < 2; round++) {
                    const int inner = round ? 1000 : 6000;
                    if (kind == FM_KIND_INCOMPLETE)
                        cr_assert_eq(fm_admm_update_masked(factor, &edges, S, penalty, inner, msg), FM_OK, "%s", msg);
                    else
                        cr_assert_eq(fm_admm_update_shared(factor, F, &edges, S, gram, penalty, inner, msg), FM_OK,
                                     "%s", msg);
                    if (!round) memcpy(converged, T->data, sizeof(float) * targets * k);
                }
                cr_assert_eq(fm_edges_return(&edges, msg), FM_OK, "%s", msg);
                for (int j = 0; j < targets; j++) {
                    // this target's Gram, right-hand side and ridge, in double
                    double Q[9] = { 0 }, f[3] = { 0 }, best[3];
                    int entries = 0;
                    for (int i = 0; i < sources; i++) {
                        const int e = columns ? i * n + j : j * n + i;
                        if (!observed[e]) continue;
                        entries++;
                        const float *s = S->data + i * k;
                        for (int r = 0; r < k; r++) {
                            f[r] += (double)values[e] * s[r];
                            for (int c = 0; c < k; c++) Q[r * k + c] += (double)s[r] * s[c];
                        }
                    }
                    const double ridge = penalty.l2 * (per_entry ? entries : 1);
                    for (int r = 0; r < k; r++) Q[r * k + r] += ridge;
                    penalized_nnls_brute(Q, f, penalty.l1, k, best);
                    for (int r = 0; r < k; r++) {
                        const double admm = T->data[j * k + r];
                        cr_assert(fabs(admm - converged[j * k + r]) <= 1e-5 * (1 + fabs(admm)),
                                  "%s, %s %d, factor %d: ADMM has not converged (%.9g then %.9g)", fm_kind_name(kind),
                                  columns ? "column" : "row", j, r, converged[j * k + r], admm);
                        cr_assert(fabs(admm - best[r]) <= 1e-4 * (1 + fabs(best[r])),
                                  "%s kind, %s %d, factor %d, l2 per entry %d: ADMM %.9g, brute force %.9g",
                                  fm_kind_name(kind), columns ? "column" : "row", j, r, per_entry, admm, best[r]);
                    }
                }
                fm_dense_free(&S);
                fm_dense_free(&T);
                fm_dense_free(&U);
                fm_dense_free(&F);
            }
        }
        fm_graph_free(&g);
        free(values);
        free(t.row);
        free(t.col);
        free(t.val);
    }
    free(X);
    free(factor_values);
    free(observe);
}
