// NeuralIF's node features, its map from network outputs to the factor, and
// the sketched loss with its backward (P5).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "neuralif_model.h"
#include "ordered_sum.h"
#include "status.h"

//------------------------------------------------------------------------------
// Node features (P5): the local degree profile and two diagonal measures
//------------------------------------------------------------------------------

// The features of node i (P5) from the rows of A; with `scale`, of
// Â = D^{-1/2} A D^{-1/2} (P2), its entries computed on the fly.
static void feature_row(double *f, const fm_csr *A, const double *scale, const double *log_degree, int64_t i)
{
    double lo = INFINITY, hi = 0, sum = 0, sumsq = 0, diagonal = 0, off_sum = 0, off_max = 0;
    int64_t neighbours = 0;
    for (int64_t p = A->start[i]; p < A->start[i + 1]; p++) {
        const int64_t j = A->index[p];
        const double magnitude = fabs(scale ? fm_nif_scaled_entry(A->value[p], scale, i, j) : A->value[p]);
        if (j == i) { diagonal += magnitude; continue; }
        // comparisons, not fmin/fmax (library calls at this target); nothing here is NaN
        const double d = log_degree[j];
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        sum += d;
        sumsq += d * d;
        neighbours++;
        off_sum += magnitude;
        off_max = magnitude > off_max ? magnitude : off_max;
    }
    const double mean = neighbours ? sum / (double)neighbours : 0;
    f[0] = log_degree[i];
    f[1] = neighbours ? lo : 0;
    f[2] = hi;
    f[3] = mean;
    f[4] = neighbours ? sqrt(fmax(sumsq / (double)neighbours - mean * mean, 0)) : 0;
    // α/(α+1) with α = |â_ii| / s is |â_ii| / (|â_ii| + s): no division by zero
    f[5] = diagonal + off_sum > 0 ? diagonal / (diagonal + off_sum) : 1;
    f[6] = diagonal + off_max > 0 ? diagonal / (diagonal + off_max) : 1;
}

// log(1 + degree) of every node (n doubles, the caller's).
static void log_degrees(double *log_degree, const fm_csr *A)
{
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < A->n; i++) {
        int64_t degree = 0;
        for (int64_t p = A->start[i]; p < A->start[i + 1]; p++) degree += A->index[p] != i;
        log_degree[i] = log1p((double)degree);
    }
}

int fm_nif_features(double **out, const fm_square *scaled, char *msg)
{
    double *features = NULL, *log_degree = NULL;
#define FREE_ALL do { free(features); free(log_degree); } while (0)
    const fm_csr *A = scaled->A;
    const int64_t n = A->n;
    FM_ALLOC(features, n * FM_NIF_FEATURES);
    FM_ALLOC(log_degree, n);
    log_degrees(log_degree, A);
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) feature_row(features + i * FM_NIF_FEATURES, A, NULL, log_degree, i);
    free(log_degree);
    *out = features;
    return FM_OK;
#undef FREE_ALL
}

int fm_nif_features_of(float *out, const fm_square *A, char *msg)
{
    double *log_degree = NULL;
#define FREE_ALL free(log_degree)
    const int64_t n = A->n;
    FM_ALLOC(log_degree, n);
    log_degrees(log_degree, A->A);
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double f[FM_NIF_FEATURES];
        feature_row(f, A->A, A->scale, log_degree, i);
        for (int c = 0; c < FM_NIF_FEATURES; c++) out[i * FM_NIF_FEATURES + c] = (float)f[c];
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// The factor's values from the network's output (P5)
//------------------------------------------------------------------------------

void fm_nif_factor_values(double *l, const double *z, const uint8_t *diagonal, int64_t edges)
{
    #pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < edges; k++) l[k] = diagonal[k] ? exp(0.5 * z[k]) : z[k];
}

void fm_nif_factor_values_backward(double *dz, const double *dl, const double *l,
                                   const uint8_t *diagonal, int64_t edges)
{
    #pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < edges; k++) dz[k] += diagonal[k] ? 0.5 * l[k] * dl[k] : dl[k];
}

//------------------------------------------------------------------------------
// The sketched loss (P5): ‖L̂ (L̂ᵀ z) − Â z‖₂ and its gradient in l̂
//------------------------------------------------------------------------------

// y = L̂ᵀ x: column k of L̂ (its lower_by_columns row) dotted with x.
static void lower_transpose_times(double *y, const fm_square *g, const double *l, const double *x)
{
    const fm_csr *C = g->lower_by_columns;
    #pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < C->n; k++) {
        double sum = 0;
        for (int64_t p = C->start[k]; p < C->start[k + 1]; p++)
            sum += l[g->lower_edge[p]] * x[C->index[p]];
        y[k] = sum;
    }
}

double fm_nif_sketch_loss(const fm_square *scaled, const double *l, const double *probe, double *dl,
                          double *work)
{
    return fm_nif_probe_loss(scaled, l, probe, NULL, dl, work);
}

double fm_nif_probe_loss(const fm_square *scaled, const double *l, const double *probe, const double *target,
                         double *dl, double *work)
{
    const fm_csr *R = scaled->lower;
    const int64_t n = R->n;
    double *w = work, *residual = work + n, *g = work + 2 * n, *u = work + 3 * n;
    lower_transpose_times(w, scaled, l, probe);                 // w = L̂ᵀ z
    if (target) memcpy(residual, target, sizeof(double) * (size_t)n);
    else fm_spmv(scaled->A, probe, residual);                   // Â z
    double slabs[FM_SUM_SLABS];
    #pragma omp parallel for schedule(static)
    for (int s = 0; s < FM_SUM_SLABS; s++) {
        double norm2 = 0;
        for (int64_t i = fm_slab_begin(n, s); i < fm_slab_begin(n, s + 1); i++) {   // r = L̂ w − Â z
            double sum = 0;
            for (int64_t k = R->start[i]; k < R->start[i + 1]; k++) sum += l[k] * w[R->index[k]];
            residual[i] = sum - residual[i];
            norm2 += residual[i] * residual[i];
        }
        slabs[s] = norm2;
    }
    const double loss = sqrt(fm_slab_total(slabs));
    if (!dl || loss == 0) return loss;
    // g = r/‖r‖; u = L̂ᵀ g; ∂loss/∂l̂_ik = g_i w_k + z_i u_k on the pattern
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) g[i] = residual[i] / loss;
    lower_transpose_times(u, scaled, l, g);
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = R->start[i]; k < R->start[i + 1]; k++) {
            const int64_t j = R->index[k];
            dl[k] += g[i] * w[j] + probe[i] * u[j];
        }
    return loss;
}

//------------------------------------------------------------------------------
// The preconditioned loss (P5.5 [ext]): ‖L̂⁻¹ Â L̂⁻ᵀ z − z‖₂ and its gradient
//------------------------------------------------------------------------------

double fm_nif_preconditioned_loss(const fm_square *scaled, const double *l, const double *probe, double *dl,
                                  double *work)
{
    const fm_csr *R = scaled->lower, *C = scaled->lower_by_columns;
    const int64_t n = R->n, E = R->count;
    double *u = work, *v = work + n, *w = work + 2 * n, *e = work + 3 * n, *g = work + 4 * n,
           *t = work + 5 * n, *h = work + 6 * n, *by_columns = work + 7 * n;
    for (int64_t p = 0; p < E; p++) by_columns[p] = l[scaled->lower_edge[p]];
    // L̂ by rows and L̂ᵀ by rows (L̂ by columns) with the values l
    const fm_csr lower = { .n = n, .count = E, .start = R->start, .index = R->index, .value = (double *)l };
    const fm_csr upper = { .n = n, .count = E, .start = C->start, .index = C->index, .value = by_columns };
    fm_solve_serial(&upper, false, probe, u);                  // u = L̂⁻ᵀ z
    fm_spmv(scaled->A, u, v);                                  // v = Â u
    fm_solve_serial(&lower, true, v, w);                       // w = L̂⁻¹ v
    double norm2 = 0;
    for (int64_t i = 0; i < n; i++) {                          // e = w − z
        e[i] = w[i] - probe[i];
        norm2 += e[i] * e[i];
    }
    const double loss = sqrt(norm2);
    if (!dl || loss == 0 || !isfinite(loss)) return loss;
    // with ē = e/‖e‖, g = L̂⁻ᵀ ē and h = L̂⁻¹ Â g:
    //   d loss = −ēᵀ L̂⁻¹ dL̂ w − ēᵀ L̂⁻¹ Â L̂⁻ᵀ dL̂ᵀ u,  ∂loss/∂l̂_ij = −(g_i w_j + u_i h_j)
    for (int64_t i = 0; i < n; i++) e[i] /= loss;
    fm_solve_serial(&upper, false, e, g);
    fm_spmv(scaled->A, g, t);
    fm_solve_serial(&lower, true, t, h);
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = R->start[i]; k < R->start[i + 1]; k++) {
            const int64_t j = R->index[k];
            dl[k] -= g[i] * w[j] + u[i] * h[j];
        }
    return loss;
}

double fm_nif_sparsity_penalty(const double *l, const uint8_t *diagonal, int64_t edges, double weight, double *dl)
{
    double sum = 0;
    for (int64_t k = 0; k < edges; k++) {
        if (diagonal[k]) continue;
        sum += fabs(l[k]);
        if (dl) dl[k] += l[k] > 0 ? weight : l[k] < 0 ? -weight : 0;
    }
    return weight * sum;
}

double fm_nif_frobenius_reference(const fm_square *scaled, const double *l)
{
    const fm_csr *R = scaled->lower, *A = scaled->A;
    const int64_t n = R->n;
    double *L = calloc((size_t)(n * n), sizeof *L), *M = calloc((size_t)(n * n), sizeof *M);
    if (!L || !M) { free(L); free(M); return NAN; }
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = R->start[i]; k < R->start[i + 1]; k++) L[i * n + R->index[k]] = l[k];
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double sum = 0;
            for (int64_t c = 0; c < n; c++) sum += L[i * n + c] * L[j * n + c];
            M[i * n + j] = sum;
        }
    for (int64_t i = 0; i < n; i++)
        for (int64_t p = A->start[i]; p < A->start[i + 1]; p++) M[i * n + A->index[p]] -= A->value[p];
    double total = 0;
    for (int64_t c = 0; c < n * n; c++) total += M[c] * M[c];
    free(L);
    free(M);
    return total;
}
