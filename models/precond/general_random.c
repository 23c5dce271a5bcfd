// The random class of P7 made nonsymmetric (the data of GMRES): A = M M'ᵀ + α I
// with M and M' independent, each as the SPD class's M (entries N(0, 1) at
// uniformly random distinct positions) (models/precond/general_data.h).
#include "general_data.h"
#include "memory.h"
#include "sparse_product.h"
#include "status.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

//------------------------------------------------------------------------------
// M M'ᵀ + α I
//------------------------------------------------------------------------------

// M (`name`) is general, n × n, sorted by row, then column, without repeats.
static int check_factor(const fm_system_matrix *M, int64_t n, const char *name, char *msg)
{
#define FREE_ALL ((void)0)
    FM_CHECK(M && M->n == n && M->count >= 0 && !M->symmetric, FM_ERR_INVALID, "fm_general_product: %s must be a "
             "general %" PRId64 " x %" PRId64 " matrix", name, n, n);
    for (int64_t k = 0; k < M->count; k++) {
        FM_CHECK(M->row[k] >= 0 && M->row[k] < n && M->col[k] >= 0 && M->col[k] < n, FM_ERR_INVALID,
                 "fm_general_product: entry %" PRId64 " of %s at (%" PRId64 ", %" PRId64 ") is outside the %" PRId64
                 " x %" PRId64 " matrix", k, name, M->row[k], M->col[k], n, n);
        FM_CHECK(k == 0 || M->row[k - 1] < M->row[k] || (M->row[k - 1] == M->row[k] && M->col[k - 1] < M->col[k]),
                 FM_ERR_INVALID, "fm_general_product: entry %" PRId64 " of %s is out of order: it must be sorted by "
                 "row, then column, without repeats", k, name);
    }
    return FM_OK;
#undef FREE_ALL
}

int fm_general_product(fm_system_matrix **A, const fm_system_matrix *M, const fm_system_matrix *M2, double alpha,
                       char *msg)
{
#define FREE_ALL ((void)0)
    FM_CHECK(A && !*A, FM_ERR_INVALID, "fm_general_product: output handle must be non-NULL and empty");
    FM_CHECK(M && M->n > 0, FM_ERR_INVALID, "fm_general_product: M must be a matrix with a positive size");
    const int64_t n = M->n;
    FM_TRY(check_factor(M, n, "M", msg));
    FM_TRY(check_factor(M2, n, "M'", msg));
    FM_CHECK(isfinite(alpha), FM_ERR_INVALID, "fm_general_product: alpha = %g must be finite", alpha);
    return fm_sparse_product(A, M, M2, alpha, false, "fm_general_product", "M M'ᵀ", msg);
#undef FREE_ALL
}

int fm_general_product_dense_reference(double **A, const fm_system_matrix *M, const fm_system_matrix *M2,
                                       double alpha, char *msg)
{
    double *dense = NULL, *dense2 = NULL, *a = NULL;
#define FREE_ALL do { free(dense); free(dense2); free(a); } while (0)
    FM_CHECK(A && !*A && M && M2 && M->n > 0 && M->n <= 4096 && M2->n == M->n, FM_ERR_INVALID,
             "fm_general_product_dense_reference: small M and M' of one size (n <= 4096) and an empty output handle");
    const int64_t n = M->n;
    FM_ALLOC(dense, n * n);
    FM_ALLOC(dense2, n * n);
    FM_ALLOC(a, n * n);
    for (int64_t k = 0; k < M->count; k++) dense[M->row[k] * n + M->col[k]] += M->val[k];
    for (int64_t k = 0; k < M2->count; k++) dense2[M2->row[k] * n + M2->col[k]] += M2->val[k];
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;
            for (int64_t c = 0; c < n; c++) s += dense[i * n + c] * dense2[j * n + c];
            a[i * n + j] = i == j ? s + alpha : s;
        }
    free(dense);
    free(dense2);
    *A = a;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// The matrix of P7
//------------------------------------------------------------------------------

int fm_general_random(fm_system_matrix **A, int64_t n, uint64_t seed, const fm_general_options *options, char *msg)
{
    fm_system_matrix *M = NULL, *M2 = NULL;
#define FREE_ALL do { fm_system_matrix_free(&M); fm_system_matrix_free(&M2); } while (0)
    FM_CHECK(A && !*A, FM_ERR_INVALID, "fm_general_random: output handle must be non-NULL and empty");
    fm_general_options defaults;
    fm_general_defaults(&defaults);
    const fm_general_options *o = options ? options : &defaults;
    FM_CHECK(o->density > 0 && o->density <= 1, FM_ERR_INVALID, "fm_general_random: the density %g must be in "
             "(0, 1]", o->density);
    FM_CHECK(o->alpha > 0 && isfinite(o->alpha), FM_ERR_INVALID, "fm_general_random: alpha = %g must be positive "
             "and finite", o->alpha);
    FM_CHECK(n >= 1 && n <= (INT64_C(1) << 31), FM_ERR_INVALID, "fm_general_random: n = %" PRId64
             " must be in 1..2^31", n);
    const int64_t entries = (int64_t)llround(o->density * (double)n * (double)n);
    // M and M' (40 bytes an entry while each is made) and, at the least, as
    // many entries of A
    if (!fm_memory_fits(120.0 * (double)entries)) {
        char limit[160];
        fm_memory_limit_text(limit, sizeof limit);
        FM_FAIL(FM_ERR_MEMORY, "fm_general_random: n = %" PRId64 " at density %g makes M and M' of %" PRId64
                " entries each, which need %.3g GiB, more than %s", n, o->density, entries,
                120.0 * (double)entries / 1073741824.0, limit);
    }
    const int64_t kept = entries < n * n ? entries : n * n;
    const uint64_t second = fm_rng_bits(fm_spd_key(seed, FM_SPD_DRAW_SECOND_FACTOR), 0);
    FM_TRY(fm_spd_random_factor(&M, n, kept, seed, msg));
    FM_TRY(fm_spd_random_factor(&M2, n, kept, second, msg));
    FM_TRY(fm_general_product(A, M, M2, o->alpha, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
