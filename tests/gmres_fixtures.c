// The nonsymmetric problems and preconditioners the GMRES suites share
// (gmres_fixtures.h).
#include "gmres_fixtures.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "rng.h"
#include "solver_fixtures.h"

double *fm_test_random_nonsymmetric(int64_t n, int per_row, double dominance, uint64_t seed)
{
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    double *a = calloc(n * n, sizeof(double)), *rows = calloc(n, sizeof(double)),
           *cols = calloc(n, sizeof(double));
    cr_assert(a && rows && cols);
    uint64_t counter = 0;
    for (int64_t i = 0; i < n; i++)
        for (int t = 0; t < per_row; t++) {
            int64_t j = (int64_t)(fm_rng_uniform(rng, counter++) * (double)n);
            if (j != i) a[i * n + j] += fm_rng_normal(rng, counter++);
        }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            if (i != j) {
                rows[i] += fabs(a[i * n + j]);
                cols[j] += fabs(a[i * n + j]);
            }
    for (int64_t i = 0; i < n; i++) a[i * n + i] = dominance * fmax(rows[i], cols[i]) + 0.1;
    free(rows);
    free(cols);
    return a;
}

fm_square *fm_test_upwind_grid(int64_t side)
{
    int64_t n = side * side, count = 0;
    int64_t *row = malloc(sizeof(int64_t) * 5 * n), *col = malloc(sizeof(int64_t) * 5 * n);
    double *val = malloc(sizeof(double) * 5 * n);
    cr_assert(row && col && val);
    for (int64_t x = 0; x < side; x++)
        for (int64_t y = 0; y < side; y++) {
            int64_t i = x * side + y;
            double cx = 1 + 0.5 * sin(0.1 * (double)y), cy = 0.5 + 0.25 * cos(0.07 * (double)x);
            const int64_t neighbours[4][2] = { { x - 1, y }, { x + 1, y }, { x, y - 1 }, { x, y + 1 } };
            const double weights[4] = { -1 - cx, -1, -1 - cy, -1 };
            row[count] = col[count] = i;
            val[count++] = 4 + cx + cy;
            for (int k = 0; k < 4; k++)
                if (neighbours[k][0] >= 0 && neighbours[k][0] < side && neighbours[k][1] >= 0 &&
                    neighbours[k][1] < side) {
                    row[count] = i;
                    col[count] = neighbours[k][0] * side + neighbours[k][1];
                    val[count++] = weights[k];
                }
        }
    return fm_test_square_taking(n, count, row, col, val, false);
}

const char *const fm_test_precond_names[PRECOND_KINDS] = { "none", "jacobi", "ilu0", "given L U" };

fm_precond *fm_test_make_precond(int kind, const fm_square *g)
{
    char msg[FM_MSG_LEN];
    fm_precond *M = NULL;
    int status = FM_OK;
    switch (kind) {
    case PRECOND_NONE: status = fm_precond_none(&M, g->n, msg); break;
    case PRECOND_JACOBI: status = fm_precond_jacobi_general(&M, g, msg); break;
    case PRECOND_ILU0: status = fm_precond_ilu0(&M, g, msg); break;
    case PRECOND_GIVEN_LU: {   // ILU(0)'s L and U handed over as given factors
        fm_precond *ilu = fm_test_make_precond(PRECOND_ILU0, g);
        fm_csr *L = NULL, *U = NULL;
        cr_assert_eq(fm_csr_copy(&L, fm_precond_lower(ilu), msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_csr_copy(&U, fm_precond_upper(ilu), msg), FM_OK, "%s", msg);
        fm_precond_free(&ilu);
        status = fm_precond_from_lu(&M, &L, &U, msg);
        cr_assert_null(L);
        cr_assert_null(U);
        break;
    }
    }
    cr_assert_eq(status, FM_OK, "%s: %s", fm_test_precond_names[kind], msg);
    return M;
}

int fm_test_record_residual(void *context, int64_t iteration, double seconds, double relative_residual)
{
    fm_test_history *h = context;
    cr_assert_eq(iteration, h->calls + 1, "every step, in order");
    cr_assert_geq(seconds, 0);
    cr_assert(isfinite(relative_residual) && relative_residual >= 0);
    if (h->calls < 4096) h->residual[h->calls] = relative_residual;
    h->calls++;
    return iteration == h->stop_at;
}
