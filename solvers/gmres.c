// Restarted GMRES(m) with right preconditioning (P3), x_0 = 0, vectors and
// scalars in double: A M⁻¹ y = b, x = M⁻¹ y, so the residual it minimizes is
// the true one.
//
// One cycle from x (r = b − A x, β = ‖r‖, v_0 = r/β):
//   for j = 0, 1, …, m − 1:
//     w = A M⁻¹ v_j
//     for i = 0..j: h_ij = w·v_i, w −= h_ij v_i      (modified Gram–Schmidt)
//     h_{j+1,j} = ‖w‖, v_{j+1} = w / h_{j+1,j}
//     rotate column j by the earlier Givens rotations, make the rotation
//     that zeros h_{j+1,j}, apply it to g (g = β e_0 at the start);
//     |g_{j+1}| = min_y ‖β e_0 − H_j y‖ = ‖b − A x_j‖ in exact arithmetic
//   then R y = g (the rotated H, upper triangular) and x += M⁻¹ (V y).
// A cycle ends at m steps, where |g_{j+1}| ≤ tol·‖b‖, at a happy breakdown
// (h_{j+1,j} = 0: the Krylov space is invariant and the cycle's x is exact),
// at max_iters or where the observer asks. Then x is formed and ‖b − A x‖
// recomputed: below tol·‖b‖ the solve has converged; otherwise (rounding, or
// the end of a cycle) the next cycle starts from that x. On a failure (a
// non-finite step, or A M⁻¹ v_j = 0: singular) the cycle's completed steps
// are folded into x the same way, and relative_residual is that x's true
// residual (not finite where A is not).
//
// Each Gram–Schmidt step fuses w −= h_ij v_i with the next dot product
// (w·v_{i+1}, or w·w after the last) in one pass over fixed blocks: the same
// operations in the same order as the two apart, so the iterates stay
// bitwise the same for every thread count (krylov_internal.h).
//
// Memory: the basis V, (m + 1) n, where m = min(restart, n, max_iters) (more
// than n steps span no more than the whole space), two n-vectors, and the
// Hessenberg matrix (m + 1) m, all allocated once per solve.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "krylov.h"
#include "krylov_internal.h"
#include "memory.h"
#include "precond_internal.h"
#include "status.h"

// w += α v, then returns w·u (u may be w) over fixed blocks.
static double update_dot(double *w, double alpha, const double *v, const double *u, int64_t n,
                         double *partial)
{
    int64_t blocks = fm_krylov_blocks(n);
#pragma omp parallel for schedule(static) if (blocks > 1)
    for (int64_t k = 0; k < blocks; k++) {
        int64_t lo = k * FM_KRYLOV_BLOCK, hi = lo + FM_KRYLOV_BLOCK < n ? lo + FM_KRYLOV_BLOCK : n;
        for (int64_t i = lo; i < hi; i++) w[i] += alpha * v[i];
        partial[k] = fm_krylov_block_dot(w, u, lo, hi);
    }
    return fm_krylov_sum_blocks(partial, blocks);
}

// v /= d (a division, not a product with 1/d: that overflows for a
// subnormal d)
static void divide(double *v, double d, int64_t n)
{
#pragma omp parallel for schedule(static) if (n > FM_KRYLOV_BLOCK)
    for (int64_t i = 0; i < n; i++) v[i] /= d;
}

// u = Σ_{i < count} y_i v_i (each entry summed in the order of i).
static void combine(double *u, const double *V, const double *y, int64_t count, int64_t n)
{
#pragma omp parallel for schedule(static) if (n > FM_KRYLOV_BLOCK)
    for (int64_t e = 0; e < n; e++) {
        double s = 0;
        for (int64_t i = 0; i < count; i++) s += y[i] * V[i * n + e];
        u[e] = s;
    }
}

// Where a non-finite value came from: the preconditioner's output z, or A.
static int non_finite(const fm_precond *M, const double *z, int64_t n, int64_t step, double h,
                      char *msg)
{
    if (M && M->kind == FM_PRECOND_DIRECT) {
        int status = fm_direct_apply_failure(M->direct, msg);
        if (status != FM_OK) return status;
    }
    if (M && M->kind != FM_PRECOND_NONE)
        for (int64_t i = 0; i < n; i++)
            if (!isfinite(z[i]))
                return fm_fail(FM_ERR_NUMERIC, msg,
                               "GMRES: the preconditioner gave a non-finite value (%g at entry %lld) "
                               "at step %lld", z[i], (long long)(i + 1), (long long)step);
    return fm_fail(FM_ERR_NUMERIC, msg,
                   "GMRES: a non-finite value (%g) in the Arnoldi step %lld: A M⁻¹ v overflows or A "
                   "holds a non-finite entry", h, (long long)step);
}

int fm_gmres(fm_krylov_result *result, const fm_csr *A, const double *b, double *x,
             const fm_precond *M, const fm_krylov_options *opt, char *msg)
{
    double *V = NULL, *z = NULL, *u = NULL, *H = NULL, *c = NULL, *s = NULL, *g = NULL,
           *partial = NULL;
#define FREE_ALL                                                             \
    do {                                                                     \
        fm_free_large(V);                                                    \
        free(z);                                                             \
        free(u);                                                             \
        free(H);                                                             \
        free(c);                                                             \
        free(s);                                                             \
        free(g);                                                             \
        free(partial);                                                       \
    } while (0)
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    FM_CHECK(result != NULL && A != NULL && b != NULL && x != NULL, FM_ERR_INVALID,
             "GMRES: a missing argument (result, A, b or x)");
    memset(result, 0, sizeof *result);
    int64_t n = A->n;
    FM_CHECK(n >= 1, FM_ERR_INVALID, "GMRES: the matrix has %lld rows", (long long)n);
    FM_CHECK(M == NULL || M->n == n, FM_ERR_INVALID,
             "GMRES: the preconditioner is for %lld unknowns, the matrix has %lld", (long long)M->n,
             (long long)n);
    fm_krylov_options defaults;
    fm_krylov_defaults(&defaults, n);
    if (!opt) opt = &defaults;
    FM_CHECK(opt->tol >= 0 && isfinite(opt->tol), FM_ERR_INVALID,
             "GMRES: the tolerance %g is not a finite number ≥ 0", opt->tol);
    FM_CHECK(opt->max_iters >= 0, FM_ERR_INVALID, "GMRES: the iteration limit %lld is negative",
             (long long)opt->max_iters);
    FM_CHECK(opt->restart >= 1, FM_ERR_INVALID,
             "GMRES: the restart length %lld is not positive", (long long)opt->restart);
    int64_t m = opt->restart;
    if (m > n) m = n;
    if (opt->max_iters >= 1 && m > opt->max_iters) m = opt->max_iters;
    double basis_bytes = 8.0 * (double)(m + 1) * (double)n;
    if (!fm_memory_fits(basis_bytes) || (uint64_t)(m + 1) > SIZE_MAX / sizeof(double) / (uint64_t)n) {
        char needs[64], limit[160];
        fm_bytes_text(needs, sizeof needs, basis_bytes);
        fm_memory_limit_text(limit, sizeof limit);
        FM_FAIL(FM_ERR_MEMORY, "GMRES(%lld): the Krylov basis of %lld vectors of %lld entries needs %s, "
                "more than %s (a smaller restart needs less)", (long long)m, (long long)(m + 1),
                (long long)n, needs, limit);
    }

    bool identity = M == NULL || M->kind == FM_PRECOND_NONE;
    FM_ALLOC(partial, fm_krylov_blocks(n));
    FM_ALLOC_LARGE(V, (size_t)(m + 1) * (size_t)n);
    FM_ALLOC(u, n);
    if (!identity) FM_ALLOC(z, n);
    FM_ALLOC(H, (m + 1) * m);   // column j at H + j (m + 1); rotated in place into R
    FM_ALLOC(c, m);
    FM_ALLOC(s, m);
    FM_ALLOC(g, m + 1);

    memset(x, 0, sizeof(double) * (size_t)n);
    double b_norm = fm_krylov_norm(b, n, partial);
    if (!isfinite(b_norm)) {
        for (int64_t i = 0; i < n; i++)
            FM_CHECK(isfinite(b[i]), FM_ERR_INVALID, "GMRES: entry %lld of the right-hand side is %g",
                     (long long)(i + 1), b[i]);
        FM_FAIL(FM_ERR_INVALID, "GMRES: the right-hand side's norm overflows");
    }
    if (b_norm == 0) {   // x = 0 solves it exactly
        result->converged = true;
        result->seconds = fm_krylov_seconds_since(&t0);
        FREE_ALL;
        return FM_OK;
    }
    double threshold = opt->tol * b_norm;
    memcpy(V, b, sizeof(double) * (size_t)n);   // r = b − A·0
    double r_norm = b_norm;                    // the true ‖b − A x‖
    int status = FM_OK;
    int64_t k = 0;                             // Arnoldi steps over all cycles
    bool converged = r_norm <= threshold, stop_asked = false;
    while (!converged && !stop_asked && status == FM_OK && k < opt->max_iters) {
        // a cycle from x: V[0] holds r = b − A x, r_norm its norm
        divide(V, r_norm, n);
        memset(g, 0, sizeof(double) * (size_t)(m + 1));
        g[0] = r_norm;
        int64_t j = 0;                         // the cycle's completed steps
        bool cycle_done = false;
        while (j < m && k < opt->max_iters && !cycle_done) {
            double *v = V + j * n, *w = V + (j + 1) * n, *h = H + j * (m + 1);
            const double *mv = v;
            if (!identity) {
                fm_precond_apply(M, v, z);
                mv = z;
            }
            fm_spmv(A, mv, w);
            // modified Gram–Schmidt, each update fused with the next product
            double d = fm_krylov_dot(w, V, n, partial);
            for (int64_t i = 0; i <= j; i++) {
                h[i] = d;
                const double *next = i < j ? V + (i + 1) * n : w;
                d = update_dot(w, -h[i], V + i * n, next, n, partial);
            }
            double w_norm = sqrt(d);
            h[j + 1] = w_norm;
            if (!isfinite(w_norm)) {   // a non-finite h_ij makes w, so ‖w‖, non-finite too
                status = non_finite(M, z, n, k + 1, w_norm, msg);
                break;
            }
            if (w_norm > 0) divide(w, w_norm, n);
            // the earlier rotations on column j, then the one that zeros h_{j+1,j}
            for (int64_t i = 0; i < j; i++) {
                double t = c[i] * h[i] + s[i] * h[i + 1];
                h[i + 1] = -s[i] * h[i] + c[i] * h[i + 1];
                h[i] = t;
            }
            double rho = hypot(h[j], h[j + 1]);
            if (rho == 0) {   // A M⁻¹ v_j = 0: the least-squares problem is singular
                status = fm_fail(FM_ERR_NUMERIC, msg,
                                 "GMRES: A M⁻¹ maps the Krylov vector of step %lld to zero (A or the "
                                 "preconditioner is singular)", (long long)(k + 1));
                break;
            }
            c[j] = h[j] / rho;
            s[j] = h[j + 1] / rho;
            h[j] = rho;
            h[j + 1] = 0;
            g[j + 1] = -s[j] * g[j];
            g[j] = c[j] * g[j];
            j++;
            k++;
            double estimate = fabs(g[j]);
            if (opt->observer &&
                opt->observer(opt->context, k, fm_krylov_seconds_since(&t0), estimate / b_norm) != 0)
                stop_asked = true;
            cycle_done = stop_asked || estimate <= threshold || w_norm == 0;
        }
        if (j == 0) break;   // a failure at the cycle's first step: x stays
        // R y = g (back substitution, y in g), u = V y, x += M⁻¹ u
        for (int64_t i = j - 1; i >= 0; i--) {
            double t = g[i];
            for (int64_t q = i + 1; q < j; q++) t -= H[q * (m + 1) + i] * g[q];
            g[i] = t / H[i * (m + 1) + i];
        }
        combine(u, V, g, j, n);
        const double *correction = u;
        if (!identity) {
            fm_precond_apply(M, u, z);
            correction = z;
        }
#pragma omp parallel for schedule(static) if (n > FM_KRYLOV_BLOCK)
        for (int64_t e = 0; e < n; e++) x[e] += correction[e];
        r_norm = fm_krylov_residual(A, b, x, V, partial);
        converged = r_norm <= threshold;
        if (!isfinite(r_norm) && status == FM_OK)
            status = fm_fail(FM_ERR_NUMERIC, msg,
                             "GMRES: the residual b − A x is not finite after step %lld (A M⁻¹ "
                             "overflows or A holds a non-finite entry)", (long long)k);
    }
    result->iterations = k;
    result->converged = status == FM_OK && converged;
    result->stopped = status == FM_OK && stop_asked && !converged;
    result->relative_residual = r_norm / b_norm;
    result->seconds = fm_krylov_seconds_since(&t0);
    FREE_ALL;
    return status;
#undef FREE_ALL
}
