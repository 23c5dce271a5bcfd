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

// An empty n × n matrix with room for `count` entries (start zeroed, index
// and value uninitialized: engine/memory.h's fm_alloc_large, released by
// fm_csr_free).
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
//
// The solves walk another schedule built beside the levels: the rows cut, in
// the direction of the solve (ascending for L, descending for U), into
// contiguous strips of about `strip_entries` entries, and each strip ordered
// by its local levels (the levels of its rows counting only the rows of the
// same strip; the earlier strips are solved before). Within a local level the
// rows are independent, so the processor overlaps their divisions instead of
// waiting on one chain row after row, and a strip's rows lie close together
// in memory. With T threads, thread t takes strips t, t + T, t + 2T, … and
// waits only where a row reads another thread's strip (for the grid in
// natural order: a strip is a band of grid rows, and each band trails the
// one above it by a few anti-diagonals).
//
// Where the structure allows, a second schedule for two threads splits the
// rows into two sets, the leading one closed (its rows read only its own
// rows), each in strips ordered by their local levels: one thread solves the
// leading set without ever waiting, the other the trailing set, waiting only
// where a row reads a leading row not yet solved (for the grid in natural
// order: the left and the right halves of every grid row, the right half
// reading one cell of the left per grid row; engine/products_split.c).
//
// Where rows read far back at random (no closed set but a prefix), a third
// cuts each row's sum in two: a thread running ahead sums each row's terms
// from rows more than w steps back, the other the rest and divides
// (engine/products_stages.c).
typedef enum fm_solve_path {
    FM_SOLVE_AUTO,         // the serial loop below FM_SOLVE_PARALLEL_ENTRIES entries, otherwise
                           // the trial's choice (see fm_solve_lower)
    FM_SOLVE_SERIAL,       // the reference row loop
    FM_SOLVE_STRIPS,       // the strips on one thread (the divisions of a local level overlap)
    FM_SOLVE_PARALLEL,     // the strips on the current threads (one included), whatever the size
    FM_SOLVE_SPLIT,        // the two sets on two threads (the leading set first on one); where T
                           // has no split, the strips as FM_SOLVE_PARALLEL
    FM_SOLVE_STAGES,       // each row's far and near entries on two threads (one: the serial
                           // loop); where T has no stages, the strips as FM_SOLVE_PARALLEL
} fm_solve_path;

typedef struct fm_levels {
    int64_t count;         // levels
    int64_t *start;        // count + 1 offsets into rows
    int64_t *rows;         // n rows, level by level, ascending within a level
    int64_t *level;        // n: the level of each row
    bool lower;            // the direction: L (ascending) or U (descending)
    int64_t entries;       // stored entries of T (the solve's work)
    int64_t strip_entries; // the strips' target size
    int64_t strips;
    int64_t *strip_start;  // strips + 1 offsets into order; strip k holds the rows of
                           // steps [strip_start[k], strip_start[k+1]) (step = i for L, n − 1 − i for U)
    int64_t *order;        // n rows, strip by strip, by local level within, ascending within a local level
    int64_t *position;     // n: the position of each row in order
    double local_width;    // rows a local level, on average
    double modeled_speedup; // 2 threads against 1 on the strips, by a model of the walk: a row
                           // costs 1 + its entries, a wait for another thread FM_SOLVE_WAIT_COST more
    int64_t split_count;   // rows of the leading set; 0: no split (fm_levels_new finds none)
    int64_t *split_order;  // n rows: the leading set, then the trailing one, each by strips and
                           // local levels within a strip
    int64_t *split_need;   // n − split_count: for each trailing row (by its place in split_order),
                           // the highest place in split_order of a leading row it reads; −1: none
    fm_csr *split_rows;    // T's rows in split_order (row q of it is row split_order[q] of T)
    double split_entries;  // the leading set's share of the entries
    double split_speedup;  // 2 threads against 1 on the sets, by the walk's model
    int64_t stages_reach;  // w: a row's entries more than w steps back are its far ones; 0: no stages
    fm_csr *stages_far;    // T's rows, their far entries only (engine/products_stages.c)
    fm_csr *stages_near;   // T's rows, the rest with the diagonal
    double stages_speedup; // 2 threads against 1 on the stages, by their work
    fm_solve_path path;    // fm_levels_new: FM_SOLVE_AUTO; fm_levels_tune or a caller may set it
    struct fm_solve_trial *trial; // AUTO's trial of the paths and its choice (products_solve.c)
} fm_levels;

// `lower`: T is lower triangular by rows (the diagonal last in each row);
// otherwise upper triangular by rows (the diagonal first). The strips hold
// the fewest entries (4096 · 2^k, up to 2^20) that give a local level 8 rows
// on average (engine/products_solve.c).
int fm_levels_new(fm_levels **out, const fm_csr *T, bool lower, char *msg);
void fm_levels_free(fm_levels **levels);
// Recuts the strips of T's schedule to about `strip_entries` (>= 1) each.
int fm_levels_restrip(fm_levels *levels, const fm_csr *T, int64_t strip_entries, char *msg);
// "serial", "strips", "parallel", "sets", "stages" or "auto".
const char *fm_solve_path_name(fm_solve_path path);
// The path fm_levels_tune starts from and AUTO takes where its trial is
// not done, by the structure alone: the serial loop below
// FM_SOLVE_PARALLEL_ENTRIES entries; of the teams (the sets and the stages
// on two threads, the strips in parallel with at least two strips a thread)
// the one with the highest modeled speedup, where it is at least
// FM_SOLVE_MODELED_SPEEDUP; the strips on one thread where the rows are short
// (at most FM_SOLVE_SHORT_ROW entries on average: one chain of divisions is
// the serial loop's bound) and a local level holds at least
// FM_SOLVE_LOCAL_WIDTH rows; the serial loop otherwise.
fm_solve_path fm_solve_choose(const fm_levels *levels, int threads);
// The paths AUTO tries with `threads` threads (out: at most
// FM_SOLVE_MAX_CANDIDATES): none below FM_SOLVE_PARALLEL_ENTRIES entries
// (the serial loop, untried); otherwise the serial loop and the strips on one
// thread, and with two threads or more the sets and the stages where T has
// them, and the strips in parallel where their model predicts at least
// FM_SOLVE_MODELED_SPEEDUP (two strips a thread at least). Returns their
// number.
#define FM_SOLVE_MAX_CANDIDATES 5
int fm_solve_candidates(const fm_levels *levels, int threads, fm_solve_path *out);
// AUTO's choice so far: the path, and in *threads the thread count it was
// made for; FM_SOLVE_AUTO while the trial is under way or not begun. Below
// FM_SOLVE_PARALLEL_ENTRIES entries: the serial loop, for any threads (0).
fm_solve_path fm_levels_chosen(const fm_levels *levels, int *threads);
// Sets levels->path by AUTO's trial run here, on a right-hand side of ones,
// with the current threads: `repeats` rounds of every candidate. Every path
// gives the same x bit for bit, so the choice changes only the time (a
// machine busy with other work while it measures may well choose a slower
// path than it would alone).
int fm_levels_tune(fm_levels *levels, const fm_csr *T, int repeats, char *msg);

// x = L⁻¹ b (L lower by rows, diagonal last) and x = U⁻¹ b (U upper by rows,
// diagonal first; Lᵀ is L by columns). x and b may not alias. The reference
// is the serial row loop; the fast one takes levels->path (the serial loop,
// the strips on one thread or in parallel, the sets or the stages on two
// threads). With FM_SOLVE_AUTO the first calls with a thread count are the
// trial: they take the candidates in turn (3 rounds, FM_SOLVE_TRIAL_ROUNDS
// in products_solve.c), each timed where the caller uses it (between its
// other work, on its own vectors, with what that leaves in the caches: a path
// that wins alone may lose inside a Krylov iteration), and the calls after
// them take the fastest by mean time, a two-thread path only where it beats
// one thread's fastest by 10%. No call solves twice: the trial costs only the
// difference between the candidates and the fastest, over a few calls. The
// calls of a trial may run concurrently (each still gives x); the schedule's
// choice is then made from whichever times were recorded.
void fm_solve_lower_reference(const fm_csr *L, const double *b, double *x);
void fm_solve_upper_reference(const fm_csr *U, const double *b, double *x);
// The serial loop as the solves run it (the path FM_SOLVE_SERIAL): T = L by
// rows (lower) or U = Lᵀ by rows, x bitwise the reference's, two entries
// at a time (engine/solve_walk.h's fm_solve_sum).
void fm_solve_serial(const fm_csr *T, bool lower, const double *b, double *x);
void fm_solve_lower(const fm_csr *L, const fm_levels *levels, const double *b, double *x);
void fm_solve_upper(const fm_csr *U, const fm_levels *levels, const double *b, double *x);

#endif
