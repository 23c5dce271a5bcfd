// NeuralIF's losses (P5.4, P5.5): the sketched loss, the loss with a target
// (spectrum-aware) and the preconditioned loss, each against a dense
// computation and its gradient against central differences; Hutchinson's
// expectation of the sketched one.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "helpers.h"
#include "neuralif_model.h"
#include "solver_fixtures.h"
#include "square.h"

TestSuite(neuralif_loss, .init = fm_test_setup);

// The loss of l at the probe, for the central differences.
typedef struct { const fm_square *S; double *l; const double *probe; double *work; } loss_context;
static double loss_at(void *context)
{
    loss_context *c = context;
    return fm_nif_sketch_loss(c->S, c->l, c->probe, NULL, c->work);
}

Test(neuralif_loss, loss_gradient_matches_finite_differences)
{
    fm_square *A = fm_test_dominant_spd(40, 3, 2, NULL), *S = NULL;
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_square_scaled(&S, A, msg), FM_OK, "%s", msg);
    const int64_t E = S->lower->count, n = S->n;
    double *l = fm_test_uniform_range(E, 3, -0.5, 0.5), *probe = fm_test_normal_vector(n, 4);
    double *dl = calloc(E, sizeof *dl), *work = malloc(4 * n * sizeof *work);
    const double loss = fm_nif_sketch_loss(S, l, probe, dl, work);
    cr_assert(loss > 0 && isfinite(loss));
    loss_context c = { S, l, probe, work };
    for (int64_t k = 0; k < E; k++) {
        const double fd = fm_test_central_difference(l, k, 1e-6, loss_at, &c);
        cr_assert(fabs(fd - dl[k]) <= 1e-6 * (1 + fabs(fd)), "edge %lld: %g vs %g", (long long)k, dl[k], fd);
    }
    free(l); free(probe); free(dl); free(work);
    fm_square_free(&S);
    fm_square_free(&A);
}

// The loss with a target (the spectrum-aware loss, P5.5 [ext]): ‖L̂(L̂ᵀx) − t‖
// against a dense product, its gradient against central differences, and
// with t = Â x the sketched loss of the same probe, bit for bit.
typedef struct target_context { const fm_square *S; double *l; const double *x, *t; double *work; } target_context;

static double target_loss_at(void *context)
{
    target_context *c = context;
    return fm_nif_probe_loss(c->S, c->l, c->x, c->t, NULL, c->work);
}

Test(neuralif_loss, target_loss_and_its_gradient)
{
    fm_square *A = fm_test_dominant_spd(30, 3, 5, NULL), *S = NULL;
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_square_scaled(&S, A, msg), FM_OK, "%s", msg);
    const fm_csr *R = S->lower;
    const int64_t E = R->count, n = S->n;
    double *l = fm_test_uniform_range(E, 6, -0.5, 0.5), *x = fm_test_normal_vector(n, 7), *t = fm_test_normal_vector(n, 8);
    double *dl = calloc(E, sizeof *dl), *work = malloc(4 * n * sizeof *work), *Ax = malloc(n * sizeof *Ax);
    const double loss = fm_nif_probe_loss(S, l, x, t, dl, work);
    // dense: L (L^T x) - t
    double expect = 0;
    for (int64_t i = 0; i < n; i++) {
        double sum = 0;
        for (int64_t k = R->start[i]; k < R->start[i + 1]; k++) {
            double lt = 0;   // (L^T x)_j, j = R->index[k]: column j of L
            const int64_t j = R->index[k];
            for (int64_t q = 0; q < n; q++)
                for (int64_t p = R->start[q]; p < R->start[q + 1]; p++)
                    if (R->index[p] == j) lt += l[p] * x[q];
            sum += l[k] * lt;
        }
        expect += (sum - t[i]) * (sum - t[i]);
    }
    cr_assert(fabs(loss - sqrt(expect)) <= 1e-10 * sqrt(expect), "%g vs %g", loss, sqrt(expect));
    target_context c = { S, l, x, t, work };
    for (int64_t k = 0; k < E; k++) {
        const double fd = fm_test_central_difference(l, k, 1e-6, target_loss_at, &c);
        cr_assert(fabs(fd - dl[k]) <= 1e-6 * (1 + fabs(fd)), "edge %lld: %g vs %g", (long long)k, dl[k], fd);
    }
    fm_spmv(S->A, x, Ax);
    cr_assert_eq(fm_nif_probe_loss(S, l, x, Ax, NULL, work), fm_nif_sketch_loss(S, l, x, NULL, work));
    free(l); free(x); free(t); free(dl); free(work); free(Ax);
    fm_square_free(&S);
    fm_square_free(&A);
}

// The preconditioned loss (P5.5 [ext]) ‖L̂⁻¹ Â L̂⁻ᵀ z − z‖ against dense
// substitutions, and its gradient against central differences.
typedef struct { const fm_square *S; double *l; const double *z; double *work; } preconditioned_context;

static double preconditioned_loss_at(void *context)
{
    preconditioned_context *c = context;
    return fm_nif_preconditioned_loss(c->S, c->l, c->z, NULL, c->work);
}

Test(neuralif_loss, preconditioned_loss_and_its_gradient)
{
    fm_square *A = fm_test_dominant_spd(30, 3, 9, NULL), *S = NULL;
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_square_scaled(&S, A, msg), FM_OK, "%s", msg);
    const fm_csr *R = S->lower;
    const int64_t E = R->count, n = S->n;
    double *l = fm_test_uniform_range(E, 10, -0.3, 0.3), *z = fm_test_normal_vector(n, 11);
    for (int64_t i = 0; i < n; i++) l[R->start[i + 1] - 1] += 1.2;   // a diagonal in (0.9, 1.5)
    double *dl = calloc(E, sizeof *dl), *work = malloc((7 * n + E) * sizeof *work);
    const double loss = fm_nif_preconditioned_loss(S, l, z, dl, work);
    // dense: u = L⁻ᵀ z by back substitution, v = Â u, w = L⁻¹ v forward
    enum { N = 30 };
    cr_assert_eq(n, N);
    static double L[N * N];
    double u[N], v[N];
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = R->start[i]; k < R->start[i + 1]; k++) L[i * n + R->index[k]] = l[k];
    for (int64_t i = n - 1; i >= 0; i--) {
        double sum = z[i];
        for (int64_t j = i + 1; j < n; j++) sum -= L[j * n + i] * u[j];
        u[i] = sum / L[i * n + i];
    }
    fm_spmv_reference(S->A, u, v);
    double expect = 0;
    for (int64_t i = 0; i < n; i++) {
        double sum = v[i];
        for (int64_t j = 0; j < i; j++) sum -= L[i * n + j] * u[j];   // u reused for w, row by row
        u[i] = sum / L[i * n + i];
        expect += (u[i] - z[i]) * (u[i] - z[i]);
    }
    cr_assert(loss > 0 && fabs(loss - sqrt(expect)) <= 1e-10 * sqrt(expect), "%g vs %g", loss, sqrt(expect));
    preconditioned_context c = { S, l, z, work };
    for (int64_t k = 0; k < E; k++) {
        const double fd = fm_test_central_difference(l, k, 1e-6, preconditioned_loss_at, &c);
        cr_assert(fabs(fd - dl[k]) <= 1e-6 * (1 + fabs(fd)), "edge %lld: %g vs %g", (long long)k, dl[k], fd);
    }
    free(l); free(z); free(dl); free(work);
    fm_square_free(&S);
    fm_square_free(&A);
}

// E‖(L̂L̂ᵀ − Â) z‖² = ‖L̂L̂ᵀ − Â‖_F² (Hutchinson): the mean over 4000 probes lies
// within 10% (the relative spread of the mean is at most sqrt(2/4000) = 2.2%).
Test(neuralif_loss, squared_loss_estimates_the_frobenius_error)
{
    fm_square *A = fm_test_dominant_spd(30, 2, 5, NULL), *S = NULL;
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_square_scaled(&S, A, msg), FM_OK, "%s", msg);
    const int64_t E = S->lower->count, n = S->n;
    double *l = fm_test_uniform_range(E, 6, -0.3, 0.3), *work = malloc(4 * n * sizeof *work);
    const int probes = 4000;
    double mean = 0;
    for (int p = 0; p < probes; p++) {
        double *probe = fm_test_normal_vector(n, 100 + (uint64_t)p);
        const double loss = fm_nif_sketch_loss(S, l, probe, NULL, work);
        mean += loss * loss / probes;
        free(probe);
    }
    const double exact = fm_nif_frobenius_reference(S, l);
    cr_assert(fabs(mean - exact) <= 0.1 * exact, "mean %g, ‖L̂L̂ᵀ − Â‖_F² %g", mean, exact);
    free(l); free(work);
    fm_square_free(&S);
    fm_square_free(&A);
}


// The sparsity penalty [ext]: weight · Σ|l̂_ij| off the diagonal, its
// gradient against central differences (no entry within the step of 0).
typedef struct { double *l; const uint8_t *diagonal; int64_t edges; double weight; } penalty_context;

static double penalty_at(void *context)
{
    penalty_context *c = context;
    return fm_nif_sparsity_penalty(c->l, c->diagonal, c->edges, c->weight, NULL);
}

Test(neuralif_loss, sparsity_penalty_and_its_gradient)
{
    enum { E = 40 };
    double *l = fm_test_uniform_range(E, 12, -1, 1), dl[E] = { 0 };
    uint8_t diagonal[E];
    double expect = 0;
    for (int k = 0; k < E; k++) {
        if (fabs(l[k]) < 0.01) l[k] = 0.5;
        diagonal[k] = k % 5 == 0;
        if (!diagonal[k]) expect += 0.3 * fabs(l[k]);
    }
    const double penalty = fm_nif_sparsity_penalty(l, diagonal, E, 0.3, dl);
    cr_assert(fabs(penalty - expect) <= 1e-12 * expect, "%g vs %g", penalty, expect);
    penalty_context c = { l, diagonal, E, 0.3 };
    for (int k = 0; k < E; k++) {
        const double fd = fm_test_central_difference(l, k, 1e-6, penalty_at, &c);
        cr_assert(fabs(fd - dl[k]) <= 1e-6, "entry %d: %g vs %g", k, dl[k], fd);
        if (diagonal[k]) cr_assert_eq(dl[k], 0);
    }
    free(l);
}
