// The learned LU preconditioner's map from the network's output to the
// factors' values, the loss of P6 with its gradient, and the factors of A.
//
// The values v are indexed by Â's entries (scaled->A by rows, columns
// ascending): in row i the entries j ≤ i come first, and they are exactly row
// i of scaled->lower (the diagonal last), so entry q of `lower` in row i is
// entry A->start[i] + (q − lower->start[i]) of A. The entries j ≤ i are L̂'s,
// the entries j > i Û's strictly upper part; Û's unit diagonal is implied.
#include <math.h>
#include <stdlib.h>

#include "learned_lu_model.h"
#include "status.h"

// Below this many entries the loops run on one thread: a parallel region costs
// more than the work (and, on a busy machine, a descheduled thread stalls it).
#define PARALLEL_ENTRIES 8192

//------------------------------------------------------------------------------
// The values from the network's output (P6)
//------------------------------------------------------------------------------

// g(z) = z (1 + exp(2 − 4|z|/ε)): the training map of a diagonal entry.
static double smooth_diagonal(double z)
{
    return z * (1 + exp(2 - 4 * fabs(z) / FM_LLU_EPSILON));
}

// g'(z) = 1 + e (1 − 4|z|/ε) with e = exp(2 − 4|z|/ε) (z · sign(z) = |z|;
// at z = 0 both sides give 1 + e², so g is smooth there).
static double smooth_diagonal_slope(double z)
{
    const double a = 4 * fabs(z) / FM_LLU_EPSILON;
    return 1 + exp(2 - a) * (1 - a);
}

// The inference step: |z| < ε becomes sign(z)·ε (ε for a zero of either
// sign); a NaN stays NaN, for the factors' checks to name.
static double step_diagonal(double z)
{
    if (fabs(z) >= FM_LLU_EPSILON || isnan(z)) return z;
    return z < 0 ? -FM_LLU_EPSILON : FM_LLU_EPSILON;
}

void fm_llu_factor_values(double *v, const double *z, const uint8_t *diagonal, int64_t edges,
                          bool training)
{
    #pragma omp parallel for schedule(static) if (edges >= PARALLEL_ENTRIES)
    for (int64_t k = 0; k < edges; k++)
        v[k] = !diagonal[k] ? z[k] : training ? smooth_diagonal(z[k]) : step_diagonal(z[k]);
}

void fm_llu_factor_values_backward(double *dz, const double *dv, const double *z,
                                   const uint8_t *diagonal, int64_t edges)
{
    #pragma omp parallel for schedule(static) if (edges >= PARALLEL_ENTRIES)
    for (int64_t k = 0; k < edges; k++) dz[k] += diagonal[k] ? dv[k] * smooth_diagonal_slope(z[k]) : dv[k];
}

//------------------------------------------------------------------------------
// The loss (P6): ‖L̂ (Û p) − t‖₂ and its gradient in v
//------------------------------------------------------------------------------

// y = L̂ᵀ x, gathered through the column order of the lower pattern: y_j sums
// v_ij x_i over the rows i ≥ j of column j, always in ascending i, so every
// y_j is one thread's and the result does not depend on the thread count.
static void lower_transpose_times(double *y, const fm_square *scaled, const double *v, const double *x)
{
    const fm_csr *C = scaled->lower_by_columns, *R = scaled->lower, *A = scaled->A;
    #pragma omp parallel for schedule(static) if (A->count >= PARALLEL_ENTRIES)
    for (int64_t j = 0; j < C->n; j++) {
        double sum = 0;
        for (int64_t q = C->start[j]; q < C->start[j + 1]; q++) {
            const int64_t i = C->index[q];
            sum += v[A->start[i] + (scaled->lower_edge[q] - R->start[i])] * x[i];
        }
        y[j] = sum;
    }
}

// Σ x_i² in a fixed order (four interleaved sums, then combined), the same on
// any number of threads.
static double squared_norm(const double *x, int64_t n)
{
    double s[4] = { 0, 0, 0, 0 };
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int c = 0; c < 4; c++) s[c] += x[i + c] * x[i + c];
    for (; i < n; i++) s[0] += x[i] * x[i];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

double fm_llu_loss(const fm_square *scaled, const double *v, const double *p, const double *t,
                   double *dv, double *work)
{
    const fm_csr *A = scaled->A, *R = scaled->lower;
    const int64_t n = A->n;
    double *u = work, *r = work + n, *y = work + 2 * n;
    // u = Û p = p + strict-upper(v) p: row i's entries after its lower part
    #pragma omp parallel for schedule(static) if (A->count >= PARALLEL_ENTRIES)
    for (int64_t i = 0; i < n; i++) {
        double sum = p[i];
        for (int64_t k = A->start[i] + (R->start[i + 1] - R->start[i]); k < A->start[i + 1]; k++)
            sum += v[k] * p[A->index[k]];
        u[i] = sum;
    }
    // r = L̂ u − t: row i's first entries (j ≤ i)
    #pragma omp parallel for schedule(static) if (A->count >= PARALLEL_ENTRIES)
    for (int64_t i = 0; i < n; i++) {
        double sum = 0;
        for (int64_t k = A->start[i]; k < A->start[i] + (R->start[i + 1] - R->start[i]); k++)
            sum += v[k] * u[A->index[k]];
        r[i] = sum - t[i];
    }
    const double loss = sqrt(squared_norm(r, n));
    if (!dv || loss == 0) return loss;
    // r̂ = r/‖r‖ (in place); y = L̂ᵀ r̂; ∂loss/∂v_k = r̂_i u_j (j ≤ i), y_i p_j (j > i)
    #pragma omp parallel for schedule(static) if (A->count >= PARALLEL_ENTRIES)
    for (int64_t i = 0; i < n; i++) r[i] /= loss;
    lower_transpose_times(y, scaled, v, r);
    #pragma omp parallel for schedule(static) if (A->count >= PARALLEL_ENTRIES)
    for (int64_t i = 0; i < n; i++) {
        const int64_t split = A->start[i] + (R->start[i + 1] - R->start[i]);
        for (int64_t k = A->start[i]; k < split; k++) dv[k] += r[i] * u[A->index[k]];
        for (int64_t k = split; k < A->start[i + 1]; k++) dv[k] += y[i] * p[A->index[k]];
    }
    return loss;
}

double fm_llu_loss_dense_reference(const fm_square *scaled, const double *v, const double *p,
                                   const double *t)
{
    const fm_csr *A = scaled->A;
    const int64_t n = A->n;
    double *L = calloc((size_t)(n * n), sizeof *L), *U = calloc((size_t)(n * n), sizeof *U);
    if (!L || !U) { free(L); free(U); return NAN; }
    for (int64_t i = 0; i < n; i++) {
        U[i * n + i] = 1;
        for (int64_t k = A->start[i]; k < A->start[i + 1]; k++) {
            const int64_t j = A->index[k];
            if (j <= i) L[i * n + j] = v[k];
            else U[i * n + j] = v[k];
        }
    }
    double total = 0;
    for (int64_t i = 0; i < n; i++) {
        double w = 0;   // (L̂ Û p)_i = Σ_j (Σ_c L̂_ic Û_cj) p_j
        for (int64_t j = 0; j < n; j++) {
            double m = 0;
            for (int64_t c = 0; c < n; c++) m += L[i * n + c] * U[c * n + j];
            w += m * p[j];
        }
        total += (w - t[i]) * (w - t[i]);
    }
    free(L);
    free(U);
    return sqrt(total);
}

//------------------------------------------------------------------------------
// The factors of A = S Â S ≈ (S L̂)(Û S)
//------------------------------------------------------------------------------

int fm_llu_factors(fm_csr **L, fm_csr **U, const fm_square *pattern, const double *scale,
                   const double *v, char *msg)
{
    fm_csr *lower = NULL, *upper = NULL;
#define FREE_ALL do { fm_csr_free(&lower); fm_csr_free(&upper); } while (0)
    FM_CHECK(L && U && !*L && !*U && pattern && pattern->A && pattern->lower && scale && v, FM_ERR_INVALID,
             "fm_llu_factors: bad arguments");
    const fm_csr *A = pattern->A, *R = pattern->lower;
    const int64_t n = A->n;
    FM_CHECK(R->n == n && R->count <= A->count, FM_ERR_INVALID,
             "fm_llu_factors: the pattern's lower part (%lld rows, %lld entries) does not match A "
             "(%lld rows, %lld entries)", (long long)R->n, (long long)R->count, (long long)n,
             (long long)A->count);
    for (int64_t i = 0; i < n; i++) {
        FM_CHECK(isfinite(scale[i]) && scale[i] > 0, FM_ERR_INVALID,
                 "fm_llu_factors: scale %lld is %g, not positive and finite", (long long)i + 1, scale[i]);
        const int64_t diagonal = A->start[i] + (R->start[i + 1] - R->start[i]) - 1;
        FM_CHECK(v[diagonal] != 0, FM_ERR_NUMERIC,
                 "fm_llu_factors: the diagonal of L at row %lld is zero (the inference step keeps it "
                 "at least %g in magnitude)", (long long)i + 1, FM_LLU_EPSILON);
        for (int64_t k = A->start[i]; k < A->start[i + 1]; k++)
            FM_CHECK(isfinite(v[k]), FM_ERR_NUMERIC, "fm_llu_factors: the value of entry (%lld, %lld) is %g",
                     (long long)i + 1, (long long)A->index[k] + 1, v[k]);
    }
    FM_TRY(fm_csr_new(&lower, n, R->count, msg));
    FM_TRY(fm_csr_new(&upper, n, A->count - R->count + n, msg));
    for (int64_t i = 0; i < n; i++) {
        const int64_t below = R->start[i + 1] - R->start[i];
        lower->start[i + 1] = lower->start[i] + below;
        upper->start[i + 1] = upper->start[i] + 1 + (A->start[i + 1] - A->start[i] - below);
    }
    #pragma omp parallel for schedule(static) if (A->count >= PARALLEL_ENTRIES)
    for (int64_t i = 0; i < n; i++) {
        const int64_t split = A->start[i] + (R->start[i + 1] - R->start[i]);
        int64_t q = lower->start[i];
        for (int64_t k = A->start[i]; k < split; k++, q++) {        // l_ij = s_i v_ij, j ≤ i
            lower->index[q] = A->index[k];
            lower->value[q] = scale[i] * v[k];
        }
        q = upper->start[i];
        upper->index[q] = i;                                       // u_ii = s_i
        upper->value[q++] = scale[i];
        for (int64_t k = split; k < A->start[i + 1]; k++, q++) {   // u_ij = v_ij s_j, j > i
            const int64_t j = A->index[k];
            upper->index[q] = j;
            upper->value[q] = v[k] * scale[j];
        }
    }
    *L = lower;
    *U = upper;
    return FM_OK;
#undef FREE_ALL
}

void fm_llu_times_entries(double *x, const double *edge_inputs, const uint8_t *diagonal, int64_t edges)
{
    for (int64_t k = 0; k < edges; k++)
        if (!diagonal[k]) x[k] *= edge_inputs[FM_LLU_EDGE_INPUTS * k];
}
