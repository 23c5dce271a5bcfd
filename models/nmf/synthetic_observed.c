// Planted low-rank data observed on a given number of entries, uniformly or
// with power-law degrees: see fm_synthetic_observed in factormer.h.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "rng.h"
#include "status.h"
#include "synthetic.h"

// The counters of the streams below: node weights, the rounding of each
// row's degree, and the draws of row i (attempt a at counter i·2^26 + a).
#define FM_ATTEMPT_BITS 26

static const char *const degrees_names[] = { "uniform", "power-law" };

const char *fm_degrees_name(fm_degrees degrees)
{
    return (unsigned)degrees <= FM_DEGREES_POWER_LAW ? degrees_names[degrees] : "unknown";
}

int fm_degrees_parse(fm_degrees *degrees, const char *name, char *msg)
{
    for (int d = 0; d <= FM_DEGREES_POWER_LAW; d++)
        if (name && !strcmp(name, degrees_names[d])) {
            *degrees = (fm_degrees)d;
            return FM_OK;
        }
    return fm_fail(FM_ERR_INVALID, msg, "degrees must be uniform or power-law, not '%s'", name ? name : "(null)");
}

// fm_degree_weight of every node.
static void node_weights(double *w, int64_t n, fm_degrees degrees, fm_rng rng, uint64_t offset)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) w[i] = fm_degree_weight(degrees, rng, offset + (uint64_t)i);
}

// Vose's alias table for drawing j with probability w_j / Σw in O(1).
static int alias_table(double *threshold, int64_t *alias, const double *w, int64_t n, char *msg)
{
    int64_t *small = NULL, *large = NULL;
#define FREE_ALL { free(small); free(large); }
    FM_ALLOC(small, n);
    FM_ALLOC(large, n);
    double total = 0;
    for (int64_t j = 0; j < n; j++) total += w[j];
    int64_t ns = 0, nl = 0;
    for (int64_t j = 0; j < n; j++) {
        threshold[j] = w[j] * (double)n / total;
        alias[j] = j;
        if (threshold[j] < 1) small[ns++] = j;
        else large[nl++] = j;
    }
    while (ns > 0 && nl > 0) {
        const int64_t s = small[--ns], l = large[nl - 1];
        alias[s] = l;
        threshold[l] -= 1 - threshold[s];
        if (threshold[l] < 1) {
            nl--;
            small[ns++] = l;
        }
    }
    // what rounding leaves is 1
    while (nl > 0) threshold[large[--nl]] = 1;
    while (ns > 0) threshold[small[--ns]] = 1;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_synthetic_observed(fm_triplets **out, int64_t rows, int64_t cols, int rank, double noise, int64_t entries,
                          fm_degrees degrees, uint64_t seed, char *msg)
{
    fm_triplets *t = NULL;
    float *W = NULL, *Ht = NULL;
    double *row_w = NULL, *col_w = NULL, *threshold = NULL;
    int64_t *alias = NULL, *start = NULL;
    int failed = 0;
#define FREE_ALL { fm_triplets_free(&t); free(W); free(Ht); free(row_w); free(col_w); free(threshold); \
                   free(alias); free(start); }
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_synthetic_observed: output handle must be empty");
    FM_CHECK(rows >= 1 && cols >= 2 && rows < (INT64_C(1) << (63 - FM_ATTEMPT_BITS)), FM_ERR_INVALID,
             "synthetic shape %lld x %lld is not valid (at least 1 x 2)", (long long)rows, (long long)cols);
    FM_CHECK(rank >= 1, FM_ERR_INVALID, "synthetic rank must be >= 1, not %d", rank);
    FM_CHECK(noise >= 0 && isfinite(noise), FM_ERR_INVALID, "noise %g must be >= 0", noise);
    FM_CHECK(entries >= 1 && entries <= rows * (cols / 2), FM_ERR_INVALID,
             "%lld observed entries of a %lld x %lld matrix: expected 1 to %lld (half of every row)",
             (long long)entries, (long long)rows, (long long)cols, (long long)(rows * (cols / 2)));
    FM_CHECK((unsigned)degrees <= FM_DEGREES_POWER_LAW, FM_ERR_INVALID, "unknown degrees %d", (int)degrees);
    FM_PROFILE_START(profile_clock);
    const fm_rng weights = fm_rng_stream(seed + 3, FM_STREAM_SYNTH);
    const fm_rng pick = fm_rng_stream(seed + 4, FM_STREAM_SYNTH);
    const fm_rng jitter = fm_rng_stream(seed + 2, FM_STREAM_SYNTH);
    FM_ALLOC(W, rows * rank);
    FM_ALLOC(Ht, cols * rank);
    fm_planted_factors(W, Ht, rows, cols, rank, seed);

    // degrees: entries · w_i / Σw, rounded up with probability its fraction
    FM_ALLOC(row_w, rows);
    FM_ALLOC(col_w, cols);
    node_weights(row_w, rows, degrees, weights, 0);
    node_weights(col_w, cols, degrees, weights, (uint64_t)rows);
    double total = 0;
    for (int64_t i = 0; i < rows; i++) total += row_w[i];
    FM_ALLOC(start, rows + 1);
    start[0] = 0;
    for (int64_t i = 0; i < rows; i++) {
        const double share = (double)entries * row_w[i] / total;
        int64_t d = (int64_t)share;
        d += fm_rng_uniform(weights, (uint64_t)(rows + cols + i)) < share - (double)d;
        start[i + 1] = start[i] + (d < cols / 2 ? d : cols / 2);
    }
    FM_ALLOC(threshold, cols);
    FM_ALLOC(alias, cols);
    FM_TRY(alias_table(threshold, alias, col_w, cols, msg));

    FM_ALLOC(t, 1);
    t->rows = rows;
    t->cols = cols;
    t->count = start[rows];
    FM_ALLOC(t->row, t->count + 1);
    FM_ALLOC(t->col, t->count + 1);
    FM_ALLOC(t->val, t->count + 1);
    const int64_t words = (cols + 63) / 64;
#pragma omp parallel reduction(| : failed)
    {
        uint64_t *taken = calloc((size_t)words, sizeof *taken);
        failed = taken == NULL;
#pragma omp for schedule(dynamic, 256)
        for (int64_t i = 0; i < rows; i++) {
            if (!taken) continue;
            const uint64_t base = (uint64_t)i << FM_ATTEMPT_BITS;
            uint64_t attempt = 0;
            for (int64_t e = start[i]; e < start[i + 1]; e++) {
                int64_t j;
                do {   // a draw by the alias table, again while it repeats a column of the row
                    const double u = fm_rng_uniform(pick, base + attempt++) * (double)cols;
                    const int64_t slot = (int64_t)u < cols ? (int64_t)u : cols - 1;
                    j = u - (double)slot < threshold[slot] ? slot : alias[slot];
                } while ((taken[j / 64] >> (j % 64) & 1) && attempt < (UINT64_C(1) << FM_ATTEMPT_BITS));
                if (taken[j / 64] >> (j % 64) & 1) { failed = 1; break; }
                taken[j / 64] |= UINT64_C(1) << (j % 64);
                t->row[e] = i;
                t->col[e] = j;
                t->val[e] = fm_planted_value(W, Ht, i, j, rank, noise, jitter, (uint64_t)e);
            }
            for (int64_t e = start[i]; e < start[i + 1]; e++) taken[t->col[e] / 64] = 0;
        }
        free(taken);
    }
    FM_CHECK(!failed, FM_ERR_MEMORY, "out of memory (or out of draws) while drawing the observed entries");
    // flops 2·N·rank; bytes: the factors written, a row of each read per entry, the coordinates written
    const double N = (double)t->count;
    FM_PROFILE_STOP(profile_clock, "synthetic.observed", 2 * N * rank,
                    4.0 * (rows + cols) * rank + 8 * N * rank + 20 * N);
    *out = t;
    t = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
