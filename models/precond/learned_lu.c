// Learned LU inference (P6): the network's factors for a matrix, scaled back
// to A (P2).
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "learned_lu.h"
#include "learned_lu_model.h"
#include "memory.h"
#include "neuralif_model.h"   // fm_nif_scaled_entry: â as Â stores it
#include "status.h"

int fm_llu_input_new(fm_llu_input **out, const fm_square *A, char *msg)
{
    fm_llu_input *input = NULL;
#define FREE_ALL fm_llu_input_free(&input)
    FM_ALLOC(input, 1);
    FM_TRY(fm_square_scaled(&input->scaled, A, msg));
    FM_TRY(fm_edge_set_from_matrix(&input->edges, input->scaled, msg));
    const fm_csr *a = input->scaled->A;
    FM_ALLOC(input->diagonal, a->count);
    for (int64_t i = 0; i < a->n; i++)
        for (int64_t k = a->start[i]; k < a->start[i + 1]; k++) input->diagonal[k] = a->index[k] == i;
    FM_TRY(fm_llu_features(&input->features, input->scaled, msg));
    FM_ALLOC(input->edge_inputs, FM_LLU_EDGE_INPUTS * a->count);
    fm_llu_edge_inputs(input->edge_inputs, input->scaled);
    *out = input;
    return FM_OK;
#undef FREE_ALL
}

void fm_llu_input_free(fm_llu_input **input)
{
    if (!input || !*input) return;
    fm_edge_set_free(&(*input)->edges);
    fm_square_free(&(*input)->scaled);
    free((*input)->diagonal);
    free((*input)->features);
    free((*input)->edge_inputs);
    free(*input);
    *input = NULL;
}

// Below this many entries the factors are written on one thread; rows per
// chunk of the round-robin schedule.
#define PARALLEL_ENTRIES 8192
#define ROW_CHUNK 256

// The inference step of P6 on a diagonal entry, as fm_llu_factor_values's
// (training = false): |z| < ε becomes sign(z)·ε, ε for a zero, a NaN stays.
static inline double stepped(double z)
{
    if (fabs(z) >= FM_LLU_EPSILON || isnan(z)) return z;
    return z < 0 ? -FM_LLU_EPSILON : FM_LLU_EPSILON;
}

int fm_llu_factors_of(fm_csr **L, fm_csr **U, const fm_square *A, const float *z, int output, int64_t *clamped,
                      char *msg)
{
    fm_csr *lower = NULL, *upper = NULL;
#define FREE_ALL do { fm_csr_free(&lower); fm_csr_free(&upper); } while (0)
    FM_CHECK(L && U && !*L && !*U && A && A->A && A->lower && A->scale && z, FM_ERR_INVALID,
             "fm_llu_factors_of: bad arguments");
    const fm_csr *M = A->A, *R = A->lower;
    const double *scale = A->scale;
    const int64_t n = M->n;
    FM_CHECK(R->n == n && R->count <= M->count, FM_ERR_INVALID,
             "fm_llu_factors_of: the lower part (%lld rows, %lld entries) does not match A (%lld rows, %lld "
             "entries)", (long long)R->n, (long long)R->count, (long long)n, (long long)M->count);
    // L has the rows of A's lower part (the diagonal last); U row i holds u_ii
    // = s_i first, then the entries j > i of A's row i
    FM_TRY(fm_csr_new(&lower, n, R->count, msg));
    FM_TRY(fm_csr_new(&upper, n, M->count - R->count + n, msg));
    for (int64_t i = 0; i <= n; i++) {
        lower->start[i] = R->start[i];
        upper->start[i] = i + M->start[i] - R->start[i];
    }
    int64_t bad = n, count = 0;   // the first row with a value that is not finite; the clamped entries
    #pragma omp parallel for schedule(static, ROW_CHUNK) reduction(min : bad) reduction(+ : count) \
        if (M->count >= PARALLEL_ENTRIES)
    for (int64_t i = 0; i < n; i++) {
        const double s = scale[i];
        bool finite = isfinite(s) && s > 0;
        const int64_t split = M->start[i] + (R->start[i + 1] - R->start[i]);
        int64_t q = lower->start[i];
        for (int64_t k = M->start[i]; k < split; k++, q++) {       // l_ij = s_i v_ij, j ≤ i
            double v = z[k];
            finite &= isfinite(v) != 0;
            if (k == split - 1) {                                 // the diagonal, last
                count += fabs(v) < FM_LLU_EPSILON;
                v = stepped(v);
            } else if (output == FM_LLU_OUTPUT_SCALED) {          // v = â z (P6.3 [ext])
                v *= fm_nif_scaled_entry(M->value[k], scale, i, M->index[k]);
            }
            lower->index[q] = M->index[k];
            lower->value[q] = s * v;
        }
        q = upper->start[i];
        upper->index[q] = i;                                       // u_ii = s_i
        upper->value[q++] = s;
        for (int64_t k = split; k < M->start[i + 1]; k++, q++) {   // u_ij = v_ij s_j, j > i
            const int64_t j = M->index[k];
            finite &= isfinite(z[k]) != 0;
            upper->index[q] = j;
            const double v = output == FM_LLU_OUTPUT_SCALED
                                 ? (double)z[k] * fm_nif_scaled_entry(M->value[k], scale, i, j)
                                 : (double)z[k];
            upper->value[q] = v * scale[j];
        }
        if (!finite && i < bad) bad = i;
    }
    if (bad < n) {
        FM_CHECK(isfinite(scale[bad]) && scale[bad] > 0, FM_ERR_INVALID,
                 "fm_llu_factors_of: scale %lld is %g, not positive and finite", (long long)bad + 1, scale[bad]);
        int64_t k = M->start[bad];
        while (isfinite(z[k])) k++;
        FM_FAIL(FM_ERR_NUMERIC, "learned LU: the network's output is not finite (entry %lld: row %lld, column %lld)",
                (long long)k, (long long)bad + 1, (long long)M->index[k] + 1);
    }
    if (clamped) *clamped = count;
    *L = lower;
    *U = upper;
    return FM_OK;
#undef FREE_ALL
}

// Inference reads A as it is: the fused forward (fm_llu_infer) computes the
// features and â from A and its scale, then each row of L and U is written
// from z (fm_llu_factors_of). fm_llu_input and the training network are the
// trainer's.
int fm_llu_factor_with(fm_csr **L, fm_csr **U, const fm_llu_config *config, fm_params *params, int output,
                       const fm_square *A, fm_learned_lu_info *info, char *msg)
{
    float *z = NULL;
#define FREE_ALL fm_free_large(z)
    FM_CHECK(L && !*L && U && !*U && config && params && A && A->A, FM_ERR_INVALID,
             "fm_llu_factor_with: bad arguments");
    FM_ALLOC_LARGE(z, A->A->count);
    FM_TRY(fm_llu_infer(z, config, params, params->values, A, NULL, msg));
    int64_t clamped = 0;
    FM_TRY(fm_llu_factors_of(L, U, A, z, output, &clamped, msg));
    if (info) info->clamped = clamped;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
