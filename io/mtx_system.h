// Matrix Market files of linear systems A x = b in double precision
// (io/mtx_system.c): the square matrix A as 0-based triplets, the right-hand
// side b as a vector. The float reader of io/mtx.c serves the nonnegative
// matrices of NMF; a linear system has negative entries and needs every digit
// of a double.
#ifndef FM_MTX_SYSTEM_H
#define FM_MTX_SYSTEM_H

#include <stdbool.h>
#include <stdint.h>

#include "factormer.h"

// A square n × n matrix as the file holds it: `count` 0-based triplets in
// file order, explicit zeros and repeated coordinates kept (the graph builder
// fm_square_from_triplets sums repeats). When `symmetric`, only the lower
// triangle is stored (row ≥ col) and the consumer mirrors it
// (fm_square_from_triplets(..., mirror_lower = symmetric)).
typedef struct fm_system_matrix {
    int64_t n;
    int64_t count;
    int64_t *row, *col;
    double *val;
    bool symmetric;
} fm_system_matrix;

// An empty matrix of n rows with room for `count` triplets.
int fm_system_matrix_new(fm_system_matrix **out, int64_t n, int64_t count, bool symmetric, char *msg);
void fm_system_matrix_free(fm_system_matrix **m);

// Reads `%%MatrixMarket matrix coordinate real|integer|pattern
// general|symmetric`, plain or gzip. Values are parsed with strtod (correctly
// rounded), negatives allowed, NaN and Inf refused; pattern entries are 1.
// A non-square matrix, an index out of range, an entry above the diagonal of
// a symmetric file, a malformed line and an entry count other than the
// declared one are FM_ERR_PARSE naming the file and the line.
int fm_mtx_read_system(fm_system_matrix **out, const char *path, char *msg);

// Reads a right-hand side of length n: `array real|integer general` n × 1 or
// 1 × n, or `coordinate real|integer general` n × 1 or 1 × n (entries not
// listed are zero; an index given twice is an error naming both lines). A
// file of another length is FM_ERR_PARSE naming both lengths. *out holds n
// doubles (free()).
int fm_mtx_read_vector(double **out, const char *path, int64_t n, char *msg);

// Writes `coordinate real symmetric` (m->symmetric: every entry must have
// row ≥ col) or `coordinate real general`, 1-based, values as %.17g (they
// read back bitwise), `comment` (may be NULL; one '%' line per line of it)
// after the header. Through a temporary name renamed on success
// (io/atomic_file.h). Non-finite values and indices out of range are
// FM_ERR_INVALID naming the entry.
int fm_mtx_write_system(const char *path, const fm_system_matrix *m, const char *comment, char *msg);

// Writes x as `array real general` n × 1, %.17g, the same way.
int fm_mtx_write_vector(const char *path, const double *x, int64_t n, const char *comment, char *msg);

#endif
