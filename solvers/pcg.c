// Preconditioned conjugate gradients (P3), x_0 = 0, vectors and scalars in
// double. The dot products are krylov_internal.h's fixed blocks: the iterates
// are bitwise the same for every thread count.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "krylov.h"
#include "krylov_internal.h"
#include "precond_internal.h"
#include "status.h"

void fm_krylov_defaults(fm_krylov_options *opt, int64_t n)
{
    memset(opt, 0, sizeof *opt);
    opt->tol = 1e-6;
    opt->max_iters = n > 0 ? 10 * n : 10;
    opt->restart = 50;
}

// x += α p, r −= α q; returns r·r (the new residual's square norm).
static double step(double *x, double *r, const double *p, const double *q, double alpha, int64_t n,
                   double *partial)
{
    int64_t blocks = fm_krylov_blocks(n);
#pragma omp parallel for schedule(static) if (blocks > 1)
    for (int64_t k = 0; k < blocks; k++) {
        int64_t lo = k * FM_KRYLOV_BLOCK, hi = lo + FM_KRYLOV_BLOCK < n ? lo + FM_KRYLOV_BLOCK : n;
        for (int64_t i = lo; i < hi; i++) {
            x[i] += alpha * p[i];
            r[i] -= alpha * q[i];
        }
        partial[k] = fm_krylov_block_dot(r, r, lo, hi);
    }
    return fm_krylov_sum_blocks(partial, blocks);
}

// p = z + β p
static void direction(double *p, const double *z, double beta, int64_t n)
{
#pragma omp parallel for schedule(static) if (n > FM_KRYLOV_BLOCK)
    for (int64_t i = 0; i < n; i++) p[i] = z[i] + beta * p[i];
}

// The true ‖b − A x‖/‖b‖ (work: n).
static double true_residual(const fm_csr *A, const double *b, const double *x, double b_norm,
                            double *work, double *partial)
{
    return fm_krylov_residual(A, b, x, work, partial) / b_norm;
}

// A NaN from the preconditioner may be its own failure (CHOLMOD out of
// memory inside an apply), which then is the error rather than a breakdown.
static int apply_failure(const fm_precond *M, char *msg)
{
    return M->kind == FM_PRECOND_DIRECT ? fm_direct_apply_failure(M->direct, msg) : FM_OK;
}

int fm_pcg(fm_krylov_result *result, const fm_csr *A, const double *b, double *x,
           const fm_precond *M, const fm_krylov_options *opt, char *msg)
{
    double *r = NULL, *z = NULL, *p = NULL, *q = NULL, *partial = NULL;
#define FREE_ALL                                                             \
    do {                                                                     \
        free(r);                                                             \
        if (z != r) free(z);                                                 \
        free(p);                                                             \
        free(q);                                                             \
        free(partial);                                                       \
    } while (0)
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    FM_CHECK(result != NULL && A != NULL && b != NULL && x != NULL, FM_ERR_INVALID,
             "PCG: a missing argument (result, A, b or x)");
    memset(result, 0, sizeof *result);
    int64_t n = A->n;
    FM_CHECK(n >= 1, FM_ERR_INVALID, "PCG: the matrix has %lld rows", (long long)n);
    FM_CHECK(M == NULL || M->n == n, FM_ERR_INVALID,
             "PCG: the preconditioner is for %lld unknowns, the matrix has %lld", (long long)M->n,
             (long long)n);
    fm_krylov_options defaults;
    fm_krylov_defaults(&defaults, n);
    if (!opt) opt = &defaults;
    FM_CHECK(opt->tol >= 0 && isfinite(opt->tol), FM_ERR_INVALID,
             "PCG: the tolerance %g is not a finite number ≥ 0", opt->tol);
    FM_CHECK(opt->max_iters >= 0, FM_ERR_INVALID, "PCG: the iteration limit %lld is negative",
             (long long)opt->max_iters);

    FM_ALLOC(partial, fm_krylov_blocks(n));
    FM_ALLOC(r, n);
    FM_ALLOC(p, n);
    FM_ALLOC(q, n);
    bool identity = M == NULL || M->kind == FM_PRECOND_NONE;
    if (identity) z = r;   // z = M⁻¹ r = r: no copy
    else FM_ALLOC(z, n);

    memset(x, 0, sizeof(double) * (size_t)n);
    memcpy(r, b, sizeof(double) * (size_t)n);
    double b_norm = sqrt(fm_krylov_dot(b, b, n, partial));
    if (!isfinite(b_norm)) {
        for (int64_t i = 0; i < n; i++)
            FM_CHECK(isfinite(b[i]), FM_ERR_INVALID, "PCG: entry %lld of the right-hand side is %g",
                     (long long)(i + 1), b[i]);
        FM_FAIL(FM_ERR_INVALID, "PCG: the right-hand side's norm overflows");
    }
    if (b_norm == 0) {   // x = 0 solves it exactly
        result->converged = true;
        result->seconds = fm_krylov_seconds_since(&t0);
        FREE_ALL;
        return FM_OK;
    }
    double threshold = opt->tol * b_norm;
    double r_norm = b_norm;
    int status = FM_OK;
    int64_t k = 0;
    bool converged = r_norm <= threshold, stopped = false;
    if (!converged && opt->max_iters > 0) {
        if (!identity) fm_precond_apply(M, r, z);
        double rz = fm_krylov_dot(r, z, n, partial);
        if (!(rz > 0) || !isfinite(rz)) {
            status = apply_failure(M, msg);
            if (status == FM_OK) status = fm_fail(FM_ERR_NUMERIC, msg,
                             "PCG breakdown at iteration 0: r·M⁻¹r = %g is not a positive number "
                             "(the preconditioner is not positive definite or overflows)", rz);
        } else {
            memcpy(p, z, sizeof(double) * (size_t)n);
        }
        while (status == FM_OK && k < opt->max_iters) {
            fm_spmv(A, p, q);
            double pq = fm_krylov_dot(p, q, n, partial);
            if (!(pq > 0) || !isfinite(pq)) {
                status = fm_fail(FM_ERR_NUMERIC, msg,
                                 "PCG breakdown at iteration %lld: p·Ap = %g is not a positive number "
                                 "(A is not positive definite)", (long long)(k + 1), pq);
                break;
            }
            double alpha = rz / pq;
            double rr = step(x, r, p, q, alpha, n, partial);
            k++;
            r_norm = sqrt(rr);
            if (!isfinite(r_norm)) {
                status = fm_fail(FM_ERR_NUMERIC, msg, "PCG: the residual is not finite at iteration %lld",
                                 (long long)k);
                break;
            }
            converged = r_norm <= threshold;
            if (opt->observer &&
                opt->observer(opt->context, k, fm_krylov_seconds_since(&t0), r_norm / b_norm) != 0 &&
                !converged) {
                stopped = true;
                break;
            }
            if (converged || k == opt->max_iters) break;
            if (!identity) fm_precond_apply(M, r, z);
            double rz_new = fm_krylov_dot(r, z, n, partial);
            if (!(rz_new > 0) || !isfinite(rz_new)) {
                status = apply_failure(M, msg);
                if (status == FM_OK) status = fm_fail(FM_ERR_NUMERIC, msg,
                                 "PCG breakdown at iteration %lld: r·M⁻¹r = %g is not a positive number "
                                 "(the preconditioner is not positive definite or overflows)",
                                 (long long)k, rz_new);
                break;
            }
            direction(p, z, rz_new / rz, n);
            rz = rz_new;
        }
    }
    result->iterations = k;
    result->converged = status == FM_OK && converged;
    result->stopped = stopped;
    result->relative_residual = true_residual(A, b, x, b_norm, q, partial);
    result->seconds = fm_krylov_seconds_since(&t0);
    FREE_ALL;
    return status;
#undef FREE_ALL
}
