// The learned LU preconditioner's factor map and losses (P6): the loss
// against its dense reference and its gradient against central differences
// for both probes (sketched, spectrum-aware), the training map's backward,
// the inference step's bound on the diagonal, the exact Crout factors of a
// tridiagonal matrix (loss 0, L U = A), the factors' shapes and the refusals,
// and thread-count independence.
#include <criterion/criterion.h>
#include <lapacke.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "learned_lu_model.h"
#include "rng.h"
#include "solver_fixtures.h"
#include "square.h"

TestSuite(learned_lu_loss, .init = fm_test_setup);

// A random sparse nonsymmetric matrix: `per_row` off-diagonal entries a row
// at random columns, values in (−1, 1), a diagonal of random sign above the
// row's absolute sum (nonsingular), then every a_ij times s_i s_j with s
// spread over three orders of magnitude (what the scaling of P2 undoes).
static fm_square *random_general(int64_t n, int per_row, uint64_t seed)
{
    const int64_t cap = n * (per_row + 1);
    int64_t *row = malloc(cap * sizeof *row), *col = malloc(cap * sizeof *col);
    double *val = malloc(cap * sizeof *val), *s = malloc(n * sizeof *s);
    fm_rng r = fm_rng_stream(seed, 1);
    uint64_t c = 0;
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) s[i] = pow(10, 3 * fm_rng_uniform(r, c++) - 1.5);
    for (int64_t i = 0; i < n; i++) {
        double absolute = 0;
        for (int q = 0; q < per_row && n > 1; q++) {
            int64_t j = (int64_t)(fm_rng_uniform(r, c++) * (double)(n - 1));
            j += j >= i;   // any column but i
            const double v = 2 * fm_rng_uniform(r, c++) - 1;
            row[count] = i; col[count] = j; val[count] = v; count++;
            absolute += fabs(v);
        }
        const double sign = fm_rng_uniform(r, c++) < 0.5 ? -1 : 1;
        row[count] = i; col[count] = i; val[count] = sign * (absolute + 0.5 + fm_rng_uniform(r, c++)); count++;
    }
    for (int64_t k = 0; k < count; k++) val[k] *= s[row[k]] * s[col[k]];
    free(s);
    return fm_test_square_taking(n, count, row, col, val, false);
}

static fm_square *scaled_of(const fm_square *A)
{
    char msg[FM_MSG_LEN] = "";
    fm_square *S = NULL;
    cr_assert_eq(fm_square_scaled(&S, A, msg), FM_OK, "%s", msg);
    return S;
}

static double *normal_vector(int64_t n, uint64_t seed)
{
    double *z = malloc(n * sizeof *z);
    fm_rng r = fm_rng_stream(seed, 2);
    for (int64_t i = 0; i < n; i++) z[i] = fm_rng_normal(r, (uint64_t)i);
    return z;
}

// Which of scaled->A's entries are diagonal.
static uint8_t *diagonal_flags(const fm_square *S)
{
    const fm_csr *A = S->A;
    uint8_t *d = calloc(A->count, 1);
    for (int64_t i = 0; i < A->n; i++)
        for (int64_t k = A->start[i]; k < A->start[i + 1]; k++) d[k] = A->index[k] == i;
    return d;
}

// Random factor values: off the diagonal in (−0.5, 0.5), on it ±[0.5, 1.5).
static double *random_values(const fm_square *S, uint64_t seed)
{
    const fm_csr *A = S->A;
    double *v = fm_test_uniform_range(A->count, seed, -0.5, 0.5);
    for (int64_t i = 0; i < A->n; i++)
        for (int64_t k = A->start[i]; k < A->start[i + 1]; k++)
            if (A->index[k] == i) v[k] = (v[k] < 0 ? -1 : 1) * (0.5 + 2 * fabs(v[k]));
    return v;
}

static double *dense_of(const fm_csr *A)
{
    const int64_t n = A->n;
    double *d = calloc(n * n, sizeof *d);
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = A->start[i]; k < A->start[i + 1]; k++) d[i * n + A->index[k]] += A->value[k];
    return d;
}

// x = A⁻¹ b by LAPACKE_dgesv on a copy of the dense nonsymmetric A.
static void dense_general_solve(const double *dense, int64_t n, const double *b, double *x)
{
    double *a = fm_test_copy(dense, n * n);
    lapack_int *pivots = malloc(n * sizeof *pivots);
    memcpy(x, b, n * sizeof *x);
    cr_assert_eq(LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)n, 1, a, (lapack_int)n, pivots, x, 1), 0);
    free(a);
    free(pivots);
}

// A probe (p, t): sketched p = z ~ N(0, I), t = Â z; spectrum-aware
// p = x = Â⁻¹ b, t = b (b ~ N(0, I), a dense solve).
static void make_probe(const fm_square *S, bool sketched, uint64_t seed, double **p, double **t)
{
    const int64_t n = S->n;
    double *draw = normal_vector(n, seed), *other = malloc(n * sizeof *other);
    if (sketched) {
        fm_spmv(S->A, draw, other);
        *p = draw; *t = other;
    } else {
        double *dense = dense_of(S->A);
        dense_general_solve(dense, n, draw, other);
        free(dense);
        *p = other; *t = draw;
    }
}

Test(learned_lu_loss, loss_equals_the_dense_reference)
{
    for (int sketched = 0; sketched < 2; sketched++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            fm_square *A = random_general(30 + 7 * (int64_t)seed, 4, seed), *S = scaled_of(A);
            double *v = random_values(S, 10 + seed), *p = NULL, *t = NULL;
            make_probe(S, sketched, 20 + seed, &p, &t);
            double *work = malloc(3 * S->n * sizeof *work);
            const double loss = fm_llu_loss(S, v, p, t, NULL, work);
            const double reference = fm_llu_loss_dense_reference(S, v, p, t);
            cr_assert(loss > 0 && isfinite(loss));
            cr_assert(fabs(loss - reference) <= 1e-12 * reference, "%s seed %llu: %.17g vs %.17g",
                      sketched ? "sketched" : "spectrum", (unsigned long long)seed, loss, reference);
            free(v); free(p); free(t); free(work);
            fm_square_free(&S);
            fm_square_free(&A);
        }
}

// The loss of v at a probe, for the central differences.
typedef struct { const fm_square *S; double *v; const double *p, *t; double *work; } loss_context;
static double loss_at(void *context)
{
    loss_context *c = context;
    return fm_llu_loss(c->S, c->v, c->p, c->t, NULL, c->work);
}

Test(learned_lu_loss, gradient_matches_finite_differences_for_both_probes)
{
    for (int sketched = 0; sketched < 2; sketched++) {
        fm_square *A = random_general(40, 4, 5 + sketched), *S = scaled_of(A);
        const int64_t E = S->A->count, n = S->n;
        double *v = random_values(S, 7), *p = NULL, *t = NULL;
        make_probe(S, sketched, 8, &p, &t);
        double *dv = calloc(E, sizeof *dv), *work = malloc(3 * n * sizeof *work);
        const double loss = fm_llu_loss(S, v, p, t, dv, work);
        cr_assert(loss > 0 && isfinite(loss));
        loss_context c = { S, v, p, t, work };
        for (int64_t k = 0; k < E; k++) {
            const double fd = fm_test_central_difference(v, k, 1e-6, loss_at, &c);
            cr_assert(fabs(fd - dv[k]) <= 1e-6 * (1 + fabs(fd)), "%s, entry %lld: %g vs %g",
                      sketched ? "sketched" : "spectrum", (long long)k, dv[k], fd);
        }
        // the gradient accumulates: a second call adds the same again
        double *twice = fm_test_copy(dv, E);
        fm_llu_loss(S, v, p, t, twice, work);
        for (int64_t k = 0; k < E; k++) cr_assert_eq(twice[k], 2 * dv[k]);
        free(twice); free(v); free(p); free(t); free(dv); free(work);
        fm_square_free(&S);
        fm_square_free(&A);
    }
}

Test(learned_lu_loss, zero_loss_gives_a_zero_gradient)
{
    fm_square *A = random_general(20, 3, 9), *S = scaled_of(A);
    const int64_t E = S->A->count, n = S->n;
    double *v = random_values(S, 10), *p = calloc(n, sizeof *p), *t = calloc(n, sizeof *t);
    double *dv = malloc(E * sizeof *dv), *work = malloc(3 * n * sizeof *work);
    for (int64_t k = 0; k < E; k++) dv[k] = 0.25;
    cr_assert_eq(fm_llu_loss(S, v, p, t, dv, work), 0);
    for (int64_t k = 0; k < E; k++) cr_assert_eq(dv[k], 0.25, "entry %lld: %g", (long long)k, dv[k]);
    free(v); free(p); free(t); free(dv); free(work);
    fm_square_free(&S);
    fm_square_free(&A);
}

// c_k v_k(z) with v the training map (elementwise, so the one term of
// Σ_k c_k v_k that depends on z_k: a sum over all would bury the tiny steps
// near 0 in the rounding of the large terms), for the central differences.
typedef struct { double *v; const double *z, *weight; const uint8_t *diagonal; int64_t E, k; } map_context;
static double map_at(void *context)
{
    map_context *c = context;
    fm_llu_factor_values(c->v, c->z, c->diagonal, c->E, true);
    return c->weight[c->k] * c->v[c->k];
}

Test(learned_lu_loss, training_map_backward_matches_finite_differences)
{
    // near 0 (the map's curvature lives within a few ε/4 of it) and far from it
    const double near[] = { 0, 1e-9, -1e-9, 1e-5, -1e-5, 1e-4, -2.5e-4, 5e-4, -1e-3, 2e-3, -4e-3 };
    const double far[] = { 0.01, -0.01, 0.3, -0.7, 1, -2, 50, -100 };
    const int64_t nn = sizeof near / sizeof *near, nf = sizeof far / sizeof *far, E = 2 * (nn + nf);
    double *z = malloc(E * sizeof *z), *v = malloc(E * sizeof *v), *dz = calloc(E, sizeof *dz);
    uint8_t *diagonal = malloc(E);
    for (int64_t k = 0; k < nn + nf; k++) {
        const double x = k < nn ? near[k] : far[k - nn];
        z[2 * k] = x; diagonal[2 * k] = 1;          // each value on and off the diagonal
        z[2 * k + 1] = x; diagonal[2 * k + 1] = 0;
    }
    double *weight = fm_test_uniform_range(E, 11, -1, 1);
    fm_llu_factor_values_backward(dz, weight, z, diagonal, E);
    map_context c = { v, z, weight, diagonal, E, 0 };
    for (int64_t k = 0; k < E; k++) {
        c.k = k;
        const double step = 1e-6 * fmax(FM_LLU_EPSILON / 1000, fabs(z[k]));
        const double fd = fm_test_central_difference(z, k, step, map_at, &c);
        cr_assert(fabs(fd - dz[k]) <= 1e-6 * (1 + fabs(fd)), "z = %g (%s): %.12g vs %.12g", z[k],
                  diagonal[k] ? "diagonal" : "off", dz[k], fd);
        if (!diagonal[k]) cr_assert_eq(dz[k], weight[k]);
    }
    // the backward accumulates
    double *again = fm_test_copy(dz, E);
    fm_llu_factor_values_backward(again, weight, z, diagonal, E);
    for (int64_t k = 0; k < E; k++) cr_assert_eq(again[k], 2 * dz[k]);
    free(again); free(z); free(v); free(dz); free(diagonal); free(weight);
}

// The loss of v = g(z) at a probe, for the chain through the training map.
typedef struct { const fm_square *S; double *z, *v; const uint8_t *diagonal; const double *p, *t; double *work; }
    chain_context;
static double chain_at(void *context)
{
    chain_context *c = context;
    fm_llu_factor_values(c->v, c->z, c->diagonal, c->S->A->count, true);
    return fm_llu_loss(c->S, c->v, c->p, c->t, NULL, c->work);
}

Test(learned_lu_loss, loss_through_the_training_map_matches_finite_differences)
{
    fm_square *A = random_general(25, 3, 12), *S = scaled_of(A);
    const int64_t E = S->A->count, n = S->n;
    uint8_t *diagonal = diagonal_flags(S);
    double *z = random_values(S, 13);
    // half the diagonal close to 0 (within 2ε), half far
    for (int64_t k = 0, d = 0; k < E; k++)
        if (diagonal[k] && d++ % 2 == 0) z[k] *= 2 * FM_LLU_EPSILON;
    double *v = malloc(E * sizeof *v), *dv = calloc(E, sizeof *dv), *dz = calloc(E, sizeof *dz);
    double *p = NULL, *t = NULL, *work = malloc(3 * n * sizeof *work);
    make_probe(S, true, 14, &p, &t);
    fm_llu_factor_values(v, z, diagonal, E, true);
    fm_llu_loss(S, v, p, t, dv, work);
    fm_llu_factor_values_backward(dz, dv, z, diagonal, E);
    chain_context c = { S, z, v, diagonal, p, t, work };
    for (int64_t k = 0; k < E; k++) {
        const double step = 1e-7 * fmax(FM_LLU_EPSILON / 100, fabs(z[k]));
        const double fd = fm_test_central_difference(z, k, step, chain_at, &c);
        cr_assert(fabs(fd - dz[k]) <= 1e-5 * (1 + fabs(fd)), "entry %lld (z = %g): %.10g vs %.10g",
                  (long long)k, z[k], dz[k], fd);
    }
    free(diagonal); free(z); free(v); free(dv); free(dz); free(p); free(t); free(work);
    fm_square_free(&S);
    fm_square_free(&A);
}

Test(learned_lu_loss, inference_step_bounds_the_diagonal_only)
{
    const double eps = FM_LLU_EPSILON;
    const double special[] = { 0, -0.0, 5e-324, -5e-324, 1e-300, -1e-300, 1e-9, -1e-9, 1e-4, -1e-4,
                               0.999 * eps, -0.999 * eps, eps, -eps, 1.001 * eps, -1.001 * eps, 0.5, -0.5,
                               1e6, -1e6, 1e300, -1e300, INFINITY, -INFINITY };
    const int64_t ns = sizeof special / sizeof *special, E = 2 * (ns + 200);
    double *z = malloc(E * sizeof *z), *v = malloc(E * sizeof *v);
    uint8_t *diagonal = malloc(E);
    double *noise = normal_vector(200, 15);
    for (int64_t k = 0; k < ns + 200; k++) {
        // random values at scales 1e-6 .. 1e2 around ε
        const double x = k < ns ? special[k] : noise[k - ns] * pow(10, (double)((k - ns) % 9) - 6);
        z[2 * k] = x; diagonal[2 * k] = 1;
        z[2 * k + 1] = x; diagonal[2 * k + 1] = 0;
    }
    for (int training = 0; training < 2; training++) {
        fm_llu_factor_values(v, z, diagonal, E, training);
        for (int64_t k = 0; k < E; k++) {
            if (!diagonal[k]) {
                cr_assert(memcmp(&v[k], &z[k], sizeof *v) == 0, "off-diagonal %g became %g", z[k], v[k]);
                continue;
            }
            if (training) continue;
            cr_assert(fabs(v[k]) >= eps, "diagonal %g became %g", z[k], v[k]);
            if (fabs(z[k]) >= eps) cr_assert_eq(v[k], z[k]);
            else if (z[k] < 0) cr_assert_eq(v[k], -eps, "%g became %g", z[k], v[k]);
            else cr_assert_eq(v[k], eps, "%g became %g", z[k], v[k]);   // zeros of either sign: +ε
        }
    }
    // a NaN stays NaN (for the factors' check to name), off the diagonal too
    double nan_z[2] = { NAN, NAN }, nan_v[2];
    const uint8_t nan_d[2] = { 1, 0 };
    fm_llu_factor_values(nan_v, nan_z, nan_d, 2, false);
    cr_assert(isnan(nan_v[0]) && isnan(nan_v[1]));
    free(z); free(v); free(diagonal); free(noise);
}

// A random nonsymmetric tridiagonal matrix (diagonally dominant, rows scaled
// over three orders of magnitude).
static fm_square *random_tridiagonal(int64_t n, uint64_t seed)
{
    int64_t *row = malloc(3 * n * sizeof *row), *col = malloc(3 * n * sizeof *col);
    double *val = malloc(3 * n * sizeof *val), *s = malloc(n * sizeof *s);
    fm_rng r = fm_rng_stream(seed, 3);
    uint64_t c = 0;
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) s[i] = pow(10, 3 * fm_rng_uniform(r, c++) - 1.5);
    for (int64_t i = 0; i < n; i++) {
        double absolute = 0;
        for (int64_t j = i - 1; j <= i + 1; j += 2)
            if (j >= 0 && j < n) {
                const double x = 2 * fm_rng_uniform(r, c++) - 1;
                row[count] = i; col[count] = j; val[count] = x * s[i] * s[j]; count++;
                absolute += fabs(x);
            }
        const double sign = fm_rng_uniform(r, c++) < 0.5 ? -1 : 1;
        row[count] = i; col[count] = i; val[count] = sign * (absolute + 0.2) * s[i] * s[i]; count++;
    }
    free(s);
    return fm_test_square_taking(n, count, row, col, val, false);
}

// v = Â's Crout factors (L̂ with the pivots, Û unit upper): no fill on a
// tridiagonal matrix, so they are exact.
static double *crout_tridiagonal(const fm_square *S)
{
    const fm_csr *A = S->A;
    const int64_t n = A->n;
    double *v = calloc(A->count, sizeof *v), *pivot = calloc(n, sizeof *pivot), *upper = calloc(n, sizeof *upper);
    for (int64_t i = 0; i < n; i++) {
        double below = 0, diagonal = 0, above = 0;   // â_{i,i−1}, â_ii, â_{i,i+1}
        for (int64_t k = A->start[i]; k < A->start[i + 1]; k++) {
            const int64_t j = A->index[k];
            if (j == i - 1) below = A->value[k];
            else if (j == i) diagonal = A->value[k];
            else above = A->value[k];
        }
        pivot[i] = diagonal - (i > 0 ? below * upper[i - 1] : 0);   // l_ii
        upper[i] = above / pivot[i];                                 // u_{i,i+1}
        for (int64_t k = A->start[i]; k < A->start[i + 1]; k++) {
            const int64_t j = A->index[k];
            v[k] = j < i ? below : j == i ? pivot[i] : upper[i];
        }
    }
    free(pivot);
    free(upper);
    return v;
}

Test(learned_lu_loss, exact_crout_factors_give_zero_loss_and_assemble_a)
{
    char msg[FM_MSG_LEN] = "";
    fm_square *A = random_tridiagonal(60, 16), *S = scaled_of(A);
    const int64_t n = S->n;
    double *v = crout_tridiagonal(S), *work = malloc(3 * n * sizeof *work);
    for (int sketched = 0; sketched < 2; sketched++)
        for (uint64_t seed = 0; seed < 3; seed++) {
            double *p = NULL, *t = NULL;
            make_probe(S, sketched, 17 + seed, &p, &t);
            const double loss = fm_llu_loss(S, v, p, t, NULL, work);
            cr_assert(loss <= 1e-13 * fm_test_norm(t, n), "loss %g, ‖t‖ %g", loss, fm_test_norm(t, n));
            free(p); free(t);
        }
    fm_csr *L = NULL, *U = NULL;
    cr_assert_eq(fm_llu_factors(&L, &U, A, A->scale, v, msg), FM_OK, "%s", msg);
    double *dl = dense_of(L), *du = dense_of(U), *da = dense_of(A->A);
    double largest = 0, error = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double m = 0;
            for (int64_t c = 0; c < n; c++) m += dl[i * n + c] * du[c * n + j];
            largest = fmax(largest, fabs(da[i * n + j]));
            error = fmax(error, fabs(m - da[i * n + j]));
        }
    cr_assert(error <= 1e-12 * largest, "max |LU − A| = %g, max |A| = %g", error, largest);
    free(dl); free(du); free(da); free(v); free(work);
    fm_csr_free(&L);
    fm_csr_free(&U);
    fm_square_free(&S);
    fm_square_free(&A);
}

Test(learned_lu_loss, factors_have_their_shapes_and_values)
{
    char msg[FM_MSG_LEN] = "";
    fm_square *A = random_general(50, 5, 18), *S = scaled_of(A);
    const fm_csr *P = S->A;
    const int64_t n = S->n;
    double *v = random_values(S, 19);
    fm_csr *L = NULL, *U = NULL;
    cr_assert_eq(fm_llu_factors(&L, &U, S, A->scale, v, msg), FM_OK, "%s", msg);
    cr_assert_eq(L->n, n);
    cr_assert_eq(U->n, n);
    cr_assert_eq(L->count + U->count, P->count + n);
    cr_assert_eq(L->start[n], L->count);
    cr_assert_eq(U->start[n], U->count);
    for (int64_t i = 0; i < n; i++) {
        cr_assert(L->start[i + 1] > L->start[i] && U->start[i + 1] > U->start[i]);
        cr_assert_eq(L->index[L->start[i + 1] - 1], i, "row %lld of L does not end with its diagonal", (long long)i);
        cr_assert_eq(U->index[U->start[i]], i, "row %lld of U does not start with its diagonal", (long long)i);
        cr_assert_eq(U->value[U->start[i]], A->scale[i]);
        for (int64_t q = L->start[i] + 1; q < L->start[i + 1]; q++) cr_assert_lt(L->index[q - 1], L->index[q]);
        for (int64_t q = U->start[i] + 1; q < U->start[i + 1]; q++) cr_assert_lt(U->index[q - 1], U->index[q]);
        // every entry of row i of Â lands in L (j ≤ i: s_i v) or U (j > i: v s_j)
        int64_t ql = L->start[i], qu = U->start[i] + 1;
        for (int64_t k = P->start[i]; k < P->start[i + 1]; k++) {
            const int64_t j = P->index[k];
            if (j <= i) {
                cr_assert_eq(L->index[ql], j);
                cr_assert_eq(L->value[ql++], A->scale[i] * v[k]);
            } else {
                cr_assert_eq(U->index[qu], j);
                cr_assert_eq(U->value[qu++], v[k] * A->scale[j]);
            }
        }
        cr_assert_eq(ql, L->start[i + 1]);
        cr_assert_eq(qu, U->start[i + 1]);
    }
    fm_csr_free(&L);
    fm_csr_free(&U);
    free(v);
    fm_square_free(&S);
    fm_square_free(&A);
}

Test(learned_lu_loss, factors_refuse_bad_values_and_arguments)
{
    char msg[FM_MSG_LEN] = "";
    fm_square *A = random_general(12, 3, 20), *S = scaled_of(A);
    const fm_csr *P = S->A;
    const int64_t n = S->n;
    double *v = random_values(S, 21), *scale = fm_test_copy(A->scale, n);
    fm_csr *L = NULL, *U = NULL;
    // a zero diagonal (row 5): numeric, named, outputs untouched
    const int64_t d5 = P->start[4] + (S->lower->start[5] - S->lower->start[4]) - 1;
    cr_assert_eq(P->index[d5], 4);
    v[d5] = 0;
    cr_assert_eq(fm_llu_factors(&L, &U, S, scale, v, msg), FM_ERR_NUMERIC);
    cr_assert(strstr(msg, "row 5") && strstr(msg, "zero"), "%s", msg);
    cr_assert(!L && !U);
    v[d5] = 1;
    // a non-finite value off the diagonal
    const int64_t last = P->count - 1;
    v[last] = NAN;
    cr_assert_eq(fm_llu_factors(&L, &U, S, scale, v, msg), FM_ERR_NUMERIC);
    cr_assert(strstr(msg, "nan"), "%s", msg);
    cr_assert(!L && !U);
    v[last] = 0.25;
    // a scale that is not positive
    scale[3] = 0;
    cr_assert_eq(fm_llu_factors(&L, &U, S, scale, v, msg), FM_ERR_INVALID);
    cr_assert(!L && !U);
    scale[3] = 1;
    // missing arguments
    cr_assert_eq(fm_llu_factors(&L, &U, NULL, scale, v, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_llu_factors(&L, &U, S, scale, NULL, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_llu_factors(&L, &U, S, scale, v, msg), FM_OK, "%s", msg);
    // an output already set is refused and kept
    fm_csr *keep = L;
    fm_csr *U2 = NULL;
    cr_assert_eq(fm_llu_factors(&L, &U2, S, scale, v, msg), FM_ERR_INVALID);
    cr_assert(L == keep && !U2);
    fm_csr_free(&L);
    fm_csr_free(&U);
    free(v); free(scale);
    fm_square_free(&S);
    fm_square_free(&A);
}

Test(learned_lu_loss, loss_and_gradient_are_the_same_for_any_thread_count)
{
    fm_square *A = random_general(3000, 6, 22), *S = scaled_of(A);
    const int64_t E = S->A->count, n = S->n;
    cr_assert_gt(E, 16384);   // well above the size below which the loops stay on one thread
    uint8_t *diagonal = diagonal_flags(S);
    double *z = random_values(S, 23), *p = normal_vector(n, 24), *t = normal_vector(n, 25);
    double *v1 = malloc(E * sizeof *v1), *v3 = malloc(E * sizeof *v3);
    double *d1 = calloc(E, sizeof *d1), *d3 = calloc(E, sizeof *d3), *work = malloc(3 * n * sizeof *work);
    double *z1 = calloc(E, sizeof *z1), *z3 = calloc(E, sizeof *z3);
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    fm_llu_factor_values(v1, z, diagonal, E, true);
    const double l1 = fm_llu_loss(S, v1, p, t, d1, work);
    fm_llu_factor_values_backward(z1, d1, z, diagonal, E);
    omp_set_num_threads(3);
    fm_llu_factor_values(v3, z, diagonal, E, true);
    const double l3 = fm_llu_loss(S, v3, p, t, d3, work);
    fm_llu_factor_values_backward(z3, d3, z, diagonal, E);
    omp_set_num_threads(threads);
    cr_assert(l1 > 0);
    cr_assert(memcmp(v1, v3, E * sizeof *v1) == 0);
    cr_assert(memcmp(&l1, &l3, sizeof l1) == 0, "%.17g vs %.17g", l1, l3);
    cr_assert(memcmp(d1, d3, E * sizeof *d1) == 0);
    cr_assert(memcmp(z1, z3, E * sizeof *z1) == 0);
    free(diagonal); free(z); free(v1); free(v3); free(z1); free(z3);
    free(p); free(t); free(d1); free(d3); free(work);
    fm_square_free(&S);
    fm_square_free(&A);
}
