#include <stdbool.h>
#include <stdlib.h>
#include "attention_reference.h"
#include "rng.h"
// TEMPORARY until tests/attention_reference lands: a sparse graph with an
// empty row and column, one-edge rows and columns, a full row and column.
int ref_random_graph(fm_graph **out, int64_t rows, int64_t cols, double density, uint64_t seed, char *msg)
{
    fm_triplets t = {.rows = rows, .cols = cols};
    t.row = calloc(rows * cols, sizeof(int64_t));
    t.col = calloc(rows * cols, sizeof(int64_t));
    t.val = calloc(rows * cols, sizeof(float));
    fm_rng rng = fm_rng_stream(seed, 3);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            bool keep = fm_rng_uniform(rng, (uint64_t)(i * cols + j)) < density;
            if (i == 0 || j == 0) keep = false;            // empty row 0, column 0
            if (i == 1) keep = j == 2;                     // one edge in row 1
            if (j == 1) keep = i == 3;                     // one edge in column 1
            if (i == 2 && j > 1) keep = true;              // full row 2 (but column 0,1)
            if (j == 2 && i > 1) keep = true;
            if (keep) {
                t.row[t.count] = i;
                t.col[t.count] = j;
                t.val[t.count++] = 0.1f + (float)fm_rng_uniform(rng, (uint64_t)(rows * cols + i * cols + j));
            }
        }
    int status = fm_graph_from_triplets(out, &t, FM_KIND_SPARSE, msg);
    free(t.row);
    free(t.col);
    free(t.val);
    return status;
}
