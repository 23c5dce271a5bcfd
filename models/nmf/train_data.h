// The synthetic training and validation matrices of §7 (paper eq. 18 and
// Appendix C): X = W H + N with W (rows × rank) and H (rank × cols) of i.i.d.
// Exponential(λ = sqrt(rank)) entries, so that E[(W H)_ij] = rank/λ² = 1, and
// N i.i.d. normal with σ = FM_TRAIN_NOISE, X clipped at zero. The validation
// sets are noise-free: X = W H (in double, rounded once to float).
//
// Counter-based: matrix `index` of a set is a function of (seed, set,
// set_size, index, rank) alone, so any matrix can be generated without the
// others, in any order, from any thread. The functions start no threads (a
// matrix is at most 100 × 100); callers may call them from parallel loops.
//
// Size classes (rows and cols drawn uniformly, bounds included):
//     FM_SHAPE_SMALL  rows [10, 30]  × cols [10, 30]   [choice]
//     FM_SHAPE_LARGE  rows [30, 70]  × cols [30, 70]   ("large" of the validation set)
//     FM_SHAPE_TALL   rows [30, 100] × cols [10, 35]
//     FM_SHAPE_WIDE   rows [10, 35]  × cols [30, 100]
//
// Sets:
//   FM_SET_TRAIN        N matrices (FM_TRAIN_SIZE = 15 000 in §7), noisy, the
//                       classes in the proportions 10000 : 2000 : 1500 : 1500.
//                       For N matrices class c gets floor(N·C_c/30) −
//                       floor(N·C_{c−1}/30) with cumulative weights C = 0, 20,
//                       24, 27, 30 (exactly 10000, 2000, 1500, 1500 for 15 000).
//                       Order: index i sits at position p = π(i) of a seeded
//                       pseudo-random permutation π of [0, N) (a 4-round
//                       Feistel network on the smallest even number of bits
//                       that covers N, cycle-walked into [0, N), keyed by the
//                       seed and N); positions [0, n_small) are small, the
//                       next n_large large, then tall, then wide. So every
//                       stretch of indices holds the classes in about their
//                       proportions (an epoch's first matrices are not all
//                       small), and the class of an index costs O(1).
//   FM_SET_VALID_SMALL  FM_VALID_SIZE = 128 noise-free small matrices.
//   FM_SET_VALID_LARGE  FM_VALID_SIZE = 128 noise-free large matrices.
// The validation sets are fixed by the seed: the same seed gives the same
// matrices every time (evaluate every epoch on the same set), and the set
// enters every draw, so they differ from the training matrices.
//
// Draws, for matrix key K = bits(stream(seed, FM_STREAM_TRAIN), set·2^48 + index):
//   rows = lo + floor(u·(hi − lo + 1)), u = uniform(stream(K, 0), 0); cols the
//   same with counter 1; W_ir = exponential(stream(K, 1), i·rank + r);
//   H_rj = exponential(stream(K, 2), r·cols + j); the noise of x_ij =
//   σ·normal(stream(K, 3), i·cols + j).
//
// The kind of the data [ext, §8: training for sampled message passing]
// (fm_train_data; NULL means the dense kind of §7). The values are §7's X
// above; then the graph keeps these entries:
//   dense       every entry (§7).
//   sparse      each entry set to an exact zero with probability `zeros`
//               (uniform(stream(K, 4), i·cols + j) < zeros), the rest stored:
//               planted low rank with a given fraction of true zeros.
//   incomplete  entry (i, j) observed with probability min(1, p·a_i·b_j),
//               p = `observed`, a_i = u_i/mean(u), b_j = v_j/mean(v), where
//               u_i (stream(K, 5), i) and v_j (counter rows + j) are 1
//               (uniform degrees) or Pareto with tail index 2 (power-law
//               degrees, like ratings), the draw uniform(stream(K, 6), i·cols +
//               j); a row or column left with no entry observes one, at a
//               column (row) drawn uniformly (stream(K, 7), counter i, or
//               rows + j), so every node has an edge.
// Validation matrices are of the same kind.
#ifndef FM_TRAIN_DATA_H
#define FM_TRAIN_DATA_H

#include <stdint.h>

#include "factormer.h"
#include "train_families.h"

#define FM_TRAIN_SIZE 15000     // §7 training set
#define FM_VALID_SIZE 128       // §7: each validation set
#define FM_TRAIN_NOISE 0.05     // §7 [choice] σ of the training noise
#define FM_TRAIN_MAX_SET (INT64_C(1) << 40)   // the largest set_size accepted

typedef struct fm_train_data {
    fm_kind kind;          // FM_KIND_DENSE, FM_KIND_SPARSE or FM_KIND_INCOMPLETE
    double zeros;          // sparse: the fraction of exact zeros, in [0, 1)
    double observed;       // incomplete: the fraction observed, in (0, 1]
    fm_degrees degrees;    // incomplete: uniform or power-law
    fm_train_family family;   // §7's exponential (default) or one like real data
                              // (train_families.h), whose kind `kind` must be
    int scale;             // every shape's rows and columns times scale (1 to FM_TRAIN_MAX_SCALE;
                           // 0 reads as 1): matrices of hundreds or thousands of rows, §7.1
    double rank_spread;    // octaves: each matrix's planted rank is the factorization's rank times
                           // 2^u, u uniform in [-rank_spread, rank_spread] (fm_train_planted_rank);
                           // 0: the same rank (§7)
} fm_train_data;

#define FM_TRAIN_MAX_SCALE 100
#define FM_TRAIN_MAX_RANK_SPREAD 4.0   // 16 times the rank either way

#define FM_TRAIN_ZEROS 0.5       // [choice] the sparse kind's default fraction of zeros
#define FM_TRAIN_OBSERVED 0.3    // [choice] the incomplete kind's default fraction observed

// The dense kind of §7 with the defaults above for the others.
void fm_train_data_default(fm_train_data *data);
// The data of matrix `index` (of any set): `data` itself (the dense kind of
// §7 for NULL), or for the mix (§7.1) the family index mod 5 in the order
// exponential (dense), counts, images, ratings (power-law degrees), spectra
// (scenes for mix-scenes), each of its own kind, with data's zeros and
// observed fraction.
fm_train_data fm_train_data_member(const fm_train_data *data, int64_t index);
int fm_train_data_check(const fm_train_data *data, char *msg);

typedef enum {
    FM_SET_TRAIN = 0,
    FM_SET_VALID_SMALL = 1,
    FM_SET_VALID_LARGE = 2,
} fm_train_set;

typedef enum {
    FM_SHAPE_SMALL = 0,
    FM_SHAPE_LARGE = 1,
    FM_SHAPE_TALL = 2,
    FM_SHAPE_WIDE = 3,
    FM_SHAPE_CLASSES = 4,
} fm_shape_class;

// Inclusive bounds of a class's rows and cols.
typedef struct fm_shape_range {
    int64_t min_rows, max_rows, min_cols, max_cols;
} fm_shape_range;

// The bounds of class `shape` (all zero for an invalid class).
fm_shape_range fm_train_range(fm_shape_class shape);
// The same bounds shifted up for `rank` (fm_train_shape): both sides at least the rank.
fm_shape_range fm_train_range_at_rank(fm_shape_class shape, int rank);
const char *fm_train_set_name(fm_train_set set);   // "train", "valid-small", "valid-large"
const char *fm_shape_class_name(fm_shape_class shape);

// How many matrices of each class a set of `set_size` holds.
int fm_train_class_counts(int64_t counts[FM_SHAPE_CLASSES], fm_train_set set, int64_t set_size,
                          char *msg);
// The size class and the shape of matrix `index` (0 <= index < set_size).
int fm_train_class(fm_shape_class *shape, fm_train_set set, int64_t index, int64_t set_size,
                   uint64_t seed, char *msg);
// A class's ranges shift up so that both sides are at least `rank` (the
// NNDSVD start needs rank <= min(rows, cols)) [choice]: ranks up to 10
// keep the ranges above exactly; rank 20 draws small matrices of 20 to 40.
int fm_train_shape(int64_t *rows, int64_t *cols, fm_train_set set, int64_t index, int64_t set_size, int rank,
                   uint64_t seed, char *msg);

// §7's factors for a matrix key: W (rows × rank) and H (rank × cols) of
// i.i.d. Exponential(sqrt(rank)) draws (streams 1 and 2 of the key), as
// fm_train_fill and the families of train_families.h draw them.
void fm_train_exponential_factors(float *W, float *H, int64_t rows, int64_t cols, int rank, uint64_t key);

// Fills caller buffers with matrix `index`, whose shape is fm_train_shape's:
// X (rows × cols), W (rows × rank) and H (rank × cols), all row-major.
int fm_train_fill(float *X, float *W, float *H, fm_train_set set, int64_t index, int64_t set_size,
                  int rank, uint64_t seed, char *msg);

// fm_train_shape's rows and columns times data's scale (NULL: 1): the shape
// of matrix `index` of that data.
int fm_train_data_shape(int64_t *rows, int64_t *cols, const fm_train_data *data, fm_train_set set, int64_t index,
                        int64_t set_size, int rank, uint64_t seed, char *msg);

// stored[i·cols + j] = 1 where entry (i, j) of matrix `index` is in its
// graph (Ω), else 0, for the kind of `data` (NULL: dense).
int fm_train_pattern(unsigned char *stored, const fm_train_data *data, fm_train_set set, int64_t index,
                     int64_t set_size, int rank, uint64_t seed, char *msg);
// The incomplete kind's pattern above for any rows × cols, from a matrix key.
int fm_train_observed_pattern(unsigned char *stored, int64_t rows, int64_t cols, double observed, fm_degrees degrees,
                              uint64_t key, char *msg);
// The rank of the structure planted in matrix `index` (§7.1, "Ranks other
// than the data's"), for a factorization at `rank`: `rank` itself without a
// spread (or for NULL data); with data->rank_spread s, rank · 2^u rounded, u
// uniform in [-s, s] (stream 12 of the matrix's key), at least 1 and at most
// the matrix's smaller side; for scenes twice that, at most the smaller side
// (a scene holds more materials than the rank). The same for a matrix in
// every call.
int fm_train_planted_rank(const fm_train_data *data, fm_train_set set, int64_t index, int64_t rows, int64_t cols,
                          int rank, uint64_t seed);
// The key every draw of matrix `index` of `set` derives from.
uint64_t fm_train_matrix_key(uint64_t seed, fm_train_set set, int64_t index);

// Matrix `index` as a graph of the kind of `data` (NULL: dense), and (each
// may be NULL) the planted factors W (rows × r) and H (r × cols), r the
// planted rank (fm_train_planted_rank: `rank` without a spread). With
// `mean` not NULL, X is divided by its mean over Ω before the graph is built
// (§5) and *mean gets that mean. Outputs are NULL on entry and set only on
// success.
int fm_train_matrix(fm_graph **g, fm_dense **W_true, fm_dense **H_true, double *mean, const fm_train_data *data,
                    fm_train_set set, int64_t index, int64_t set_size, int rank, uint64_t seed, char *msg);

#endif
