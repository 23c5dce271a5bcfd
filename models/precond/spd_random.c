// Random SPD matrices of P7 (the authors' apps/synthetic.py): A = M Mᵀ + α I
// with M sparse, entries N(0, 1) at uniformly random positions
// (models/precond/spd_data.h).
#include "memory.h"
#include "sparse_product.h"
#include "spd_data.h"
#include "status.h"

#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

//------------------------------------------------------------------------------
// M
//------------------------------------------------------------------------------

int fm_spd_random_factor(fm_system_matrix **M, int64_t n, int64_t entries, uint64_t seed, char *msg)
{
    fm_system_matrix *m = NULL;
    int64_t *position = NULL, *sorted = NULL, *start = NULL;
    double *value = NULL;
#define FREE_ALL do { fm_system_matrix_free(&m); free(position); free(sorted); free(start); free(value); } while (0)
    FM_CHECK(M && !*M, FM_ERR_INVALID, "fm_spd_random_factor: output handle must be non-NULL and empty");
    // n² ≤ 2^62: the positions are a seeded permutation of [0, n²) (engine/rng.h)
    FM_CHECK(n >= 1 && n <= (INT64_C(1) << 31), FM_ERR_INVALID,
             "fm_spd_random_factor: n = %" PRId64 " must be in 1..2^31", n);
    FM_CHECK(entries >= 0 && entries <= n * n, FM_ERR_INVALID, "fm_spd_random_factor: %" PRId64
             " entries do not fit in a %" PRId64 " x %" PRId64 " matrix", entries, n, n);
    const fm_rng where = fm_spd_key(seed, FM_SPD_DRAW_POSITIONS), what = fm_spd_key(seed, FM_SPD_DRAW_VALUES);
    const int64_t cells = n * n;
    FM_ALLOC(position, entries);
    FM_ALLOC(value, entries);
    // entry k: the k-th image of a seeded permutation of the n² positions, so
    // positions never repeat (a sample without replacement)
    #pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < entries; k++) {
        position[k] = fm_rng_permute(k, cells, where);
        value[k] = fm_rng_normal(what, (uint64_t)k);
    }
    // positions ascending (row-major order), by two stable counting sorts:
    // by column, then by row
    FM_ALLOC(sorted, entries);
    FM_ALLOC(start, n + 1);
    FM_TRY(fm_system_matrix_new(&m, n, entries, false, msg));
    for (int64_t k = 0; k < entries; k++) start[position[k] % n + 1]++;
    for (int64_t c = 0; c < n; c++) start[c + 1] += start[c];
    for (int64_t k = 0; k < entries; k++) sorted[start[position[k] % n]++] = k;
    memset(start, 0, (size_t)(n + 1) * sizeof *start);
    for (int64_t k = 0; k < entries; k++) start[position[k] / n + 1]++;
    for (int64_t r = 0; r < n; r++) start[r + 1] += start[r];
    for (int64_t t = 0; t < entries; t++) {
        const int64_t k = sorted[t], slot = start[position[k] / n]++;
        m->row[slot] = position[k] / n;
        m->col[slot] = position[k] % n;
        m->val[slot] = value[k];
    }
    fm_system_matrix *done = m;
    m = NULL;
    FREE_ALL;
    *M = done;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// M Mᵀ + α I, the lower triangle
//------------------------------------------------------------------------------

int fm_spd_gram_lower(fm_system_matrix **A, const fm_system_matrix *M, double alpha, char *msg)
{
#define FREE_ALL ((void)0)
    FM_CHECK(A && !*A, FM_ERR_INVALID, "fm_spd_gram_lower: output handle must be non-NULL and empty");
    FM_CHECK(M && M->n > 0 && M->count >= 0 && !M->symmetric, FM_ERR_INVALID,
             "fm_spd_gram_lower: M must be a general matrix with a positive size");
    FM_CHECK(isfinite(alpha), FM_ERR_INVALID, "fm_spd_gram_lower: alpha = %g must be finite", alpha);
    const int64_t n = M->n, count = M->count;
    for (int64_t k = 0; k < count; k++) {
        FM_CHECK(M->row[k] >= 0 && M->row[k] < n && M->col[k] >= 0 && M->col[k] < n, FM_ERR_INVALID,
                 "fm_spd_gram_lower: entry %" PRId64 " at (%" PRId64 ", %" PRId64 ") is outside the %" PRId64
                 " x %" PRId64 " matrix", k, M->row[k], M->col[k], n, n);
        FM_CHECK(k == 0 || M->row[k - 1] < M->row[k] || (M->row[k - 1] == M->row[k] && M->col[k - 1] < M->col[k]),
                 FM_ERR_INVALID, "fm_spd_gram_lower: entry %" PRId64 " is out of order: M must be sorted by row, "
                 "then column, without repeats", k);
    }
    return fm_sparse_product(A, M, M, alpha, true, "fm_spd_gram_lower", "M Mᵀ", msg);
#undef FREE_ALL
}

int fm_spd_gram_dense_reference(double **A, const fm_system_matrix *M, double alpha, char *msg)
{
    double *dense = NULL, *a = NULL;
#define FREE_ALL do { free(dense); free(a); } while (0)
    FM_CHECK(A && !*A && M && M->n > 0 && M->n <= 4096, FM_ERR_INVALID,
             "fm_spd_gram_dense_reference: a small M (n <= 4096) and an empty output handle");
    const int64_t n = M->n;
    FM_ALLOC(dense, n * n);
    FM_ALLOC(a, n * n);
    for (int64_t k = 0; k < M->count; k++) dense[M->row[k] * n + M->col[k]] += M->val[k];
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;
            for (int64_t c = 0; c < n; c++) s += dense[i * n + c] * dense[j * n + c];
            a[i * n + j] = i == j ? s + alpha : s;
        }
    free(dense);
    *A = a;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// The matrix of P7
//------------------------------------------------------------------------------

int fm_spd_random(fm_system_matrix **A, int64_t n, uint64_t seed, const fm_spd_options *options, char *msg)
{
    fm_system_matrix *M = NULL;
#define FREE_ALL fm_system_matrix_free(&M)
    FM_CHECK(A && !*A, FM_ERR_INVALID, "fm_spd_random: output handle must be non-NULL and empty");
    fm_spd_options defaults;
    fm_spd_defaults(&defaults);
    const fm_spd_options *o = options ? options : &defaults;
    const double factor = o->ood ? 0.22 + 1.98 * fm_rng_uniform(fm_spd_key(seed, FM_SPD_DRAW_DENSITY), 0)
                                 : o->density_factor;
    const double density = o->density * factor;
    FM_CHECK(density > 0 && density <= 1, FM_ERR_INVALID, "fm_spd_random: the density %g (%g times the factor %g) "
             "must be in (0, 1]", density, o->density, factor);
    FM_CHECK(o->alpha > 0 && isfinite(o->alpha), FM_ERR_INVALID, "fm_spd_random: alpha = %g must be positive "
             "(M Mᵀ alone may be singular)", o->alpha);
    FM_CHECK(n >= 1 && n <= (INT64_C(1) << 31), FM_ERR_INVALID, "fm_spd_random: n = %" PRId64
             " must be in 1..2^31", n);
    const int64_t entries = (int64_t)llround(density * (double)n * (double)n);
    // M (40 bytes an entry while it is made) and, at the least, as many entries of A
    if (!fm_memory_fits(80.0 * (double)entries)) {
        char limit[160];
        fm_memory_limit_text(limit, sizeof limit);
        FM_FAIL(FM_ERR_MEMORY, "fm_spd_random: n = %" PRId64 " at density %g makes M of %" PRId64 " entries, which "
                "need %.3g GiB, more than %s", n, density, entries, 80.0 * (double)entries / 1073741824.0, limit);
    }
    FM_TRY(fm_spd_random_factor(&M, n, entries < n * n ? entries : n * n, seed, msg));
    FM_TRY(fm_spd_gram_lower(A, M, o->alpha, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
