// The graph of a square matrix A (P2): n nodes, an edge j → i for each stored
// a_ij, a node's row and column roles identified. The solvers (SpMV,
// triangular solves) and the preconditioner networks read it as plain CSR
// arrays in double precision; both orientations of the lower triangle are kept
// because the two message passes of NeuralIF (P5) read it by rows and by
// columns, and a transpose inside a loop is a hidden copy.
//
// Why not GraphBLAS here: the Krylov solvers need double values, rows sorted
// with the diagonal at a known end, and the level schedules of the triangular
// solves; the GraphBLAS formulations of the same products are the tests'
// references (tests/, ops/graphnet_graphblas.c).
#ifndef FM_SQUARE_H
#define FM_SQUARE_H

#include <stdbool.h>
#include <stdint.h>

#include "factormer.h"

// Compressed rows in double precision: row i holds index[start[i] .. start[i+1])
// in ascending order. Used for A, for the lower triangle by rows and by
// columns, and for the factors L (by rows) and Lᵀ (by rows, that is L by
// columns).
typedef struct fm_csr {
    int64_t n;             // rows (and columns: every fm_csr here is square)
    int64_t count;         // stored entries, explicit zeros included
    int64_t *start;        // n + 1
    int64_t *index;        // count column indices, ascending within a row
    double *value;         // count
} fm_csr;

// An empty n × n matrix with room for `count` entries (start zeroed).
int fm_csr_new(fm_csr **out, int64_t n, int64_t count, char *msg);
int fm_csr_copy(fm_csr **out, const fm_csr *src, char *msg);
// The transpose (rows ascending in each output row): Lᵀ by rows from L by rows.
int fm_csr_transpose(fm_csr **out, const fm_csr *src, char *msg);
void fm_csr_free(fm_csr **m);

typedef struct fm_square {
    int64_t n;
    fm_csr *A;             // all of A by rows (duplicates summed, explicit zeros kept)
    fm_csr *lower;         // the entries i ≥ j by rows: row i lists j ≤ i, the diagonal last
    fm_csr *lower_by_columns; // the same edges by columns: row j lists i ≥ j, the diagonal first
    int64_t *lower_edge;   // entry k of lower_by_columns is entry lower_edge[k] of lower
    double *scale;         // D^{1/2}: sqrt|a_ii|, 1 where a_ii = 0 (P2)
    bool symmetric;        // A = Aᵀ exactly, pattern and values
} fm_square;

// Builds the graph from 0-based triplets (duplicates summed). With
// `mirror_lower` the triplets are the lower triangle of a symmetric matrix
// (a Matrix Market `symmetric` file) and each off-diagonal entry is mirrored.
// Every row must hold its diagonal entry (FM_ERR_INVALID otherwise: the
// preconditioners need it). Indices out of range, a non-positive n or a
// non-finite value are FM_ERR_INVALID naming the entry.
int fm_square_from_triplets(fm_square **out, int64_t n, int64_t count, const int64_t *row,
                            const int64_t *col, const double *val, bool mirror_lower, char *msg);
void fm_square_free(fm_square **g);

// Â = D^{-1/2} A D^{-1/2} (P2) as a new graph with unit |diagonal|; its
// `scale` is all ones. An entry whose quotient is not finite (|a_ij| far
// beyond sqrt|a_ii a_jj|, so A is far from positive definite) is
// FM_ERR_NUMERIC naming it.
int fm_square_scaled(fm_square **out, const fm_square *g, char *msg);

// The first (i, j) with a_ij ≠ a_ji in row order, when A is not symmetric
// (returns false, and sets *i, *j); true when it is.
bool fm_square_first_asymmetry(const fm_square *g, int64_t *i, int64_t *j);

//------------------------------------------------------------------------------
// Products: y = A x, and the triangular solves, in double (engine/products_solve.c)
//------------------------------------------------------------------------------

// y = A x, OpenMP over rows, vectorized; the reference is a plain row loop.
void fm_spmv(const fm_csr *A, const double *x, double *y);
void fm_spmv_reference(const fm_csr *A, const double *x, double *y);

// Level schedules: the rows of a triangular matrix grouped so that every row
// of a level depends only on rows of earlier levels.
typedef struct fm_levels {
    int64_t count;         // levels
    int64_t *start;        // count + 1 offsets into rows
    int64_t *rows;         // n rows, level by level
} fm_levels;

// `lower`: T is lower triangular by rows (the diagonal last in each row);
// otherwise upper triangular by rows (the diagonal first).
int fm_levels_new(fm_levels **out, const fm_csr *T, bool lower, char *msg);
void fm_levels_free(fm_levels **levels);

// x = L⁻¹ b (L lower by rows, diagonal last) and x = U⁻¹ b (U upper by rows,
// diagonal first; Lᵀ is L by columns). x and b may not alias. The reference
// is the serial row loop; the fast one runs the levels in parallel.
void fm_solve_lower_reference(const fm_csr *L, const double *b, double *x);
void fm_solve_upper_reference(const fm_csr *U, const double *b, double *x);
void fm_solve_lower(const fm_csr *L, const fm_levels *levels, const double *b, double *x);
void fm_solve_upper(const fm_csr *U, const fm_levels *levels, const double *b, double *x);

#endif
