// Krylov solvers on the engine (P3): preconditioned conjugate gradients for
// SPD systems, restarted GMRES with right preconditioning for general ones.
// Vectors and scalars in double precision.
#ifndef FM_KRYLOV_H
#define FM_KRYLOV_H

#include <stdbool.h>
#include <stdint.h>

#include "precond.h"
#include "square.h"

// Called after every iteration with the recursive residual's ‖r‖/‖b‖ and the
// seconds since the solve began; a nonzero return stops the solve (the
// result then says stopped, not converged).
typedef int (*fm_krylov_observer)(void *context, int64_t iteration, double seconds,
                                  double relative_residual);

typedef struct fm_krylov_options {
    double tol;            // stop when ‖r‖ ≤ tol·‖b‖ (P3: default 1e-6)
    int64_t max_iters;     // default 10 n (GMRES: Arnoldi steps over all restarts)
    int64_t restart;       // GMRES(m): m, the Arnoldi steps between restarts (P3: default 50)
    fm_krylov_observer observer;  // may be NULL
    void *context;
} fm_krylov_options;

void fm_krylov_defaults(fm_krylov_options *opt, int64_t n);

typedef struct fm_krylov_result {
    int64_t iterations;
    bool converged;        // the recursive residual reached tol·‖b‖
    bool stopped;          // the observer asked to stop
    double relative_residual;  // the true ‖b − A x‖/‖b‖, recomputed at the end
    double seconds;
} fm_krylov_result;

// x = A⁻¹ b by PCG from x_0 = 0 (P3). Breakdown (p·Ap ≤ 0 or r·z ≤ 0: A or M
// not SPD) is FM_ERR_NUMERIC saying which and at which iteration; x then holds
// the last iterate. Hitting max_iters is not an error: converged is false.
// b = 0 gives x = 0 in 0 iterations. M NULL is M = I; opt NULL the defaults.
// On a breakdown *result is filled too (iterations so far, the true residual).
int fm_pcg(fm_krylov_result *result, const fm_csr *A, const double *b, double *x,
           const fm_precond *M, const fm_krylov_options *opt, char *msg);

// x = A⁻¹ b by GMRES(m) from x_0 = 0 with right preconditioning (P3):
// A M⁻¹ y = b, x = M⁻¹ y, so the residual it minimizes is the true one.
// Arnoldi by modified Gram–Schmidt, the least-squares problem by Givens
// rotations; the observer sees the rotations' residual estimate after every
// step. At convergence (or a restart) x is formed and ‖b − A x‖ recomputed;
// where rounding left it above tol·‖b‖ the solve goes on from there.
// `converged` and `relative_residual` report the true residual. A non-finite
// value (from A or M) is FM_ERR_NUMERIC naming the step. Hitting max_iters
// is not an error. b = 0 gives x = 0 in 0 iterations. M NULL is M = I; opt
// NULL the defaults.
int fm_gmres(fm_krylov_result *result, const fm_csr *A, const double *b, double *x,
             const fm_precond *M, const fm_krylov_options *opt, char *msg);

#endif
