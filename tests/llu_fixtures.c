#include "llu_fixtures.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "helpers.h"
#include "rng.h"
#include "solver_fixtures.h"

fm_square *fm_test_llu_general(int64_t n, int per_row, bool lonely, uint64_t seed)
{
    const int64_t cap = n * (per_row + 1);
    int64_t *row = malloc(cap * sizeof *row), *col = malloc(cap * sizeof *col);
    double *val = malloc(cap * sizeof *val), *scale = malloc(n * sizeof *scale);
    const fm_rng r = fm_rng_stream(seed, FM_STREAM_SYNTH);
    uint64_t c = 0;
    for (int64_t i = 0; i < n; i++) scale[i] = pow(10, 2 * fm_rng_uniform(r, c++) - 1);
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int q = 0; q < per_row && n > 1 && !(lonely && i % 7 == 3); q++) {
            int64_t j = (int64_t)(fm_rng_uniform(r, c++) * (double)(n - 1));
            j += j >= i;   // off the diagonal
            row[count] = i; col[count] = j; val[count] = 2 * fm_rng_uniform(r, c++) - 1; count++;
        }
        const double sign = fm_rng_uniform(r, c++) < 0.3 ? -1 : 1;
        row[count] = col[count] = i; val[count] = sign * (0.5 + 2 * fm_rng_uniform(r, c++)); count++;
    }
    for (int64_t k = 0; k < count; k++) val[k] *= scale[row[k]] * scale[col[k]];
    free(scale);
    return fm_test_square_taking(n, count, row, col, val, false);
}

fm_square *fm_test_llu_grid(int64_t side, uint64_t seed)
{
    const int64_t n = side * side, cap = 5 * n;
    int64_t *row = malloc(cap * sizeof *row), *col = malloc(cap * sizeof *col);
    double *val = malloc(cap * sizeof *val);
    const fm_rng r = fm_rng_stream(seed, FM_STREAM_SYNTH);
    int64_t count = 0;
    for (int64_t y = 0; y < side; y++)
        for (int64_t x = 0; x < side; x++) {
            const int64_t i = y * side + x;
            const int64_t neighbour[4] = { x > 0 ? i - 1 : -1, x + 1 < side ? i + 1 : -1,
                                           y > 0 ? i - side : -1, y + 1 < side ? i + side : -1 };
            for (int q = 0; q < 4; q++)
                if (neighbour[q] >= 0) {
                    row[count] = i; col[count] = neighbour[q];
                    val[count] = -1 + fm_rng_uniform(r, (uint64_t)count) - 0.5; count++;
                }
            row[count] = col[count] = i; val[count] = 4 + fm_rng_uniform(r, (uint64_t)count); count++;
        }
    return fm_test_square_taking(n, count, row, col, val, false);
}

fm_params *fm_test_llu_params(const fm_llu_config *config, uint64_t seed, double spread)
{
    char msg[FM_MSG_LEN] = "";
    fm_params *params = NULL;
    cr_assert_eq(fm_llu_params_new(&params, config, msg), FM_OK, "%s", msg);
    fm_params_init(params, seed);
    double *noise = fm_test_uniform_range(params->count, seed + 1000, -spread, spread);
    for (int64_t e = 0; e < params->count; e++) params->values[e] += (float)noise[e];
    free(noise);
    return params;
}
