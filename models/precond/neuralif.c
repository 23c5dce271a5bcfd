// NeuralIF inference (P5): the network's factor for a matrix, with the
// inference options, scaled back to A (P2).
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "neuralif.h"
#include "neuralif_model.h"
#include "status.h"

void fm_neuralif_defaults(fm_neuralif_options *opt)
{
    // measured with the shipped model (models/shipped/README.md): τ = 0.02 took 22% off the
    // total seconds for 1% more iterations (12 random SPD test matrices, 2026-12-05); after the
    // solves got faster, τ = 0.025 took 2.7% more off the solve on 10 validation systems, the
    // sparsest factor whose iterations stay below IC(0)'s there (477 against 482; 0.03 took
    // 484); normalize_diag, which helped the sketched model (3% fewer), costs the
    // preconditioned one 2.5% more
    opt->drop_tolerance = 0.025;
    opt->normalize_diag = false;
}

int fm_nif_input_new(fm_nif_input **out, const fm_square *A, char *msg)
{
    fm_nif_input *input = NULL;
#define FREE_ALL fm_nif_input_free(&input)
    FM_ALLOC(input, 1);
    FM_TRY(fm_square_scaled(&input->scaled, A, msg));
    FM_TRY(fm_edge_set_from_lower(&input->by_rows, input->scaled, FM_LOWER_BY_ROWS, msg));
    FM_TRY(fm_edge_set_from_lower(&input->by_columns, input->scaled, FM_LOWER_BY_COLUMNS, msg));
    const fm_csr *lower = input->scaled->lower;
    FM_ALLOC(input->diagonal, lower->count);
    for (int64_t i = 0; i < lower->n; i++)
        for (int64_t k = lower->start[i]; k < lower->start[i + 1]; k++)
            input->diagonal[k] = lower->index[k] == i;
    FM_TRY(fm_nif_features(&input->features, input->scaled, msg));
    *out = input;
    return FM_OK;
#undef FREE_ALL
}

void fm_nif_input_free(fm_nif_input **input)
{
    if (!input || !*input) return;
    fm_edge_set_free(&(*input)->by_rows);
    fm_edge_set_free(&(*input)->by_columns);
    fm_square_free(&(*input)->scaled);
    free((*input)->diagonal);
    free((*input)->features);
    free(*input);
    *input = NULL;
}

// Inference reads A's graph as it is: the features of Â and â by edge are
// computed from A and its scale (fm_nif_scaled_entry), no copy of Â and no
// edge sets; the fused forward (fm_nif_infer) gives z; each row of the factor
// is then l̂ (P5's map), optionally normalized, scaled back and thinned.

// Rows per chunk of the round-robin schedules over the lower part's rows,
// whose lengths grow with i.
#define ROW_CHUNK 256

// â of the lower edges in float (E), by rows in parallel.
static void scaled_lower(float *ahat, const fm_square *A)
{
    const fm_csr *lower = A->lower;
    #pragma omp parallel for schedule(static, ROW_CHUNK)
    for (int64_t i = 0; i < lower->n; i++)
        for (int64_t k = lower->start[i]; k < lower->start[i + 1]; k++)
            ahat[k] = (float)fm_nif_scaled_entry(lower->value[k], A->scale, i, lower->index[k]);
}

// l̂_k from the network's z_k (P5): the diagonal, last in each row, is exp(z/2).
static inline double factor_value(const float *z, int64_t k, int64_t diagonal)
{
    return k == diagonal ? exp(0.5 * (double)z[k]) : (double)z[k];
}

// The growth safeguard [ext]: L̂ L̂ᵀ is SPD for any network output, but on a
// matrix far from the training data L̂⁻¹ can grow exponentially along its
// dependency chains (seen: 1e112 on bcsstk16 with the diffusion model), and
// the triangular solves then overflow into a NaN that PCG reports as a
// breakdown. While y = L̂⁻¹ 1 has an entry that is not finite or above
// FM_NIF_GROWTH_LIMIT, the diagonal is multiplied by 1 + α, α = 1e-3 then
// doubling (IC(0)'s shifted retry, P4, on the factor instead of on A); the
// α used is reported.

static bool grows(const fm_csr *L, double *y, double *ones)
{
    fm_solve_serial(L, true, ones, y);
    for (int64_t i = 0; i < L->n; i++)
        if (!(fabs(y[i]) <= FM_NIF_GROWTH_LIMIT)) return true;
    return false;
}

int fm_nif_bound_growth(fm_csr *L, fm_neuralif_info *info, char *msg)
{
    double *y = NULL, *ones = NULL, *diagonal = NULL;
#define FREE_ALL do { free(y); free(ones); free(diagonal); } while (0)
    const int64_t n = L->n;
    FM_ALLOC(y, n);
    FM_ALLOC(ones, n);
    FM_ALLOC(diagonal, n);
    for (int64_t i = 0; i < n; i++) {
        ones[i] = 1;
        diagonal[i] = L->value[L->start[i + 1] - 1];
    }
    double alpha = 0;
    int tries = 1;
    while (grows(L, y, ones)) {
        FM_CHECK(tries < FM_NIF_SHIFT_TRIES, FM_ERR_NUMERIC,
                 "NeuralIF: the factor's inverse overflows even with its diagonal times %g", 1 + alpha);
        alpha = alpha == 0 ? 1e-3 : 2 * alpha;
        for (int64_t i = 0; i < n; i++) L->value[L->start[i + 1] - 1] = (1 + alpha) * diagonal[i];
        tries++;
    }
    info->shift = alpha;
    info->tries = tries;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_nif_factor_with(fm_csr **L, const fm_nif_config *config, fm_params *params, const fm_square *A,
                       const fm_neuralif_options *opt, fm_neuralif_info *info, char *msg)
{
    unsigned char *arena = NULL;
    fm_csr *factor = NULL;
#define FREE_ALL do { fm_free_large(arena); fm_csr_free(&factor); } while (0)
    FM_CHECK(L && !*L && config && params && A && A->lower && opt, FM_ERR_INVALID,
             "fm_nif_factor_with: bad arguments");
    const fm_csr *lower = A->lower;
    const int64_t n = lower->n, E = lower->count;
    // one block (huge pages once it is large: engine/memory.h): the row counts
    // and scales, the features, â, z and the network's node arrays
    FM_CHECK(config->blocks >= 1 && config->blocks <= FM_NIF_MAX_BLOCKS && config->hidden >= 1 &&
                 config->hidden <= 4096,
             FM_ERR_INVALID, "NeuralIF: %d blocks of hidden width %d (1 to %d blocks, width 1 to 4096)",
             config->blocks, config->hidden, FM_NIF_MAX_BLOCKS);
    const size_t rows_bytes = sizeof(int64_t) * (size_t)(n + 1) + sizeof(double) * (size_t)n;
    const int64_t floats = n * FM_NIF_FEATURES + 2 * E + fm_nif_infer_work(config, n);
    FM_ALLOC_LARGE(arena, rows_bytes + sizeof(float) * (size_t)floats);
    int64_t *kept = (int64_t *)arena;
    double *row_scale = (double *)(kept + n + 1);
    float *x0 = (float *)(row_scale + n), *ahat = x0 + n * FM_NIF_FEATURES, *z = ahat + E, *work = z + E;
    kept[0] = 0;
    FM_TRY(fm_nif_features_of(x0, A, msg));
    scaled_lower(ahat, A);
    FM_TRY(fm_nif_infer(z, config, params, params->values, A, x0, ahat, work, msg));
    // per row: the entries kept, the scale, and -1 for a non-finite l̂
    const double tau = opt->drop_tolerance;
    #pragma omp parallel for schedule(static, ROW_CHUNK)
    for (int64_t i = 0; i < n; i++) {
        const int64_t first = lower->start[i], diagonal = lower->start[i + 1] - 1;
        double norm2 = 0;
        int64_t count = 0;
        bool finite = true;
        for (int64_t k = first; k <= diagonal; k++) {
            const double l = factor_value(z, k, diagonal);
            finite &= isfinite(l) != 0;
            norm2 += l * l;
            count += k == diagonal || fabs(l) > tau;
        }
        kept[i + 1] = finite ? count : -1;
        // normalize_diag (P5): scale row i so that (L̂ L̂ᵀ)_ii = Σ_k l̂_ik² equals â_ii (= 1)
        row_scale[i] = opt->normalize_diag && norm2 > 0 ? 1 / sqrt(norm2) : 1;
    }
    for (int64_t i = 0; i < n; i++) {
        if (kept[i + 1] < 0) {
            int64_t k = lower->start[i];
            while (isfinite(factor_value(z, k, lower->start[i + 1] - 1))) k++;
            FM_FAIL(FM_ERR_NUMERIC, "NeuralIF: the network's factor has a non-finite entry (edge %lld)",
                    (long long)k);
        }
        kept[i + 1] += kept[i];
    }
    FM_TRY(fm_csr_new(&factor, n, kept[n], msg));
    memcpy(factor->start, kept, sizeof(int64_t) * (size_t)(n + 1));
    #pragma omp parallel for schedule(static, ROW_CHUNK)
    for (int64_t i = 0; i < n; i++) {
        const int64_t diagonal = lower->start[i + 1] - 1;
        int64_t at = kept[i];
        for (int64_t k = lower->start[i]; k <= diagonal; k++) {
            const double l = factor_value(z, k, diagonal);
            if (k != diagonal && fabs(l) <= tau) continue;
            factor->index[at] = lower->index[k];
            factor->value[at] = row_scale[i] * l;
            at++;
        }
    }
    fm_neuralif_info growth;
    FM_TRY(fm_nif_bound_growth(factor, &growth, msg));
    if (info) *info = growth;
    // L = D^{1/2} L̂ (P2): row i times sqrt|a_ii|
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = factor->start[i]; k < factor->start[i + 1]; k++) factor->value[k] *= A->scale[i];
    *L = factor;
    factor = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
