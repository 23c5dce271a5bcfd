// The data of P7 for learned preconditioners: random SPD matrices and
// diffusion on grids with random coefficients, each a symmetric positive
// definite A (its lower triangle as 0-based triplets, fm_system_matrix with
// `symmetric` set, for fm_square_from_triplets(..., mirror_lower = true))
// and a right-hand side b, drawn from a seed (engine/rng.h, FM_STREAM_SPD) and
// generated on the fly: the same seed gives bitwise the same (A, b) for every
// thread count.
#ifndef FM_SPD_DATA_H
#define FM_SPD_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "mtx_system.h"
#include "rng.h"

typedef enum { FM_SPD_RANDOM = 0, FM_SPD_DIFFUSION = 1 } fm_spd_kind;

typedef struct fm_spd_options {
    // random (P7, the authors' apps/synthetic.py): A = M Mᵀ + alpha I
    double density;        // fraction of M's n² positions that hold an entry (1e-3)
    double density_factor; // multiplies density (1; the out-of-distribution set draws it)
    bool ood;              // draw density_factor from U(0.22, 2.2) per seed instead
    double alpha;          // the shift (1e-3)
    // diffusion: −∇·(κ∇u) = f, κ = exp(G), G a sum of random Fourier modes
    int modes;             // Fourier modes of G (12)
    double contrast;       // the largest max κ / min κ (1e3); each seed draws its own up to it
    // the right-hand side
    bool rhs_ones;         // b = 1 instead of b ~ U(0, 1)
} fm_spd_options;

void fm_spd_defaults(fm_spd_options *options);

// Seeds: every set has FM_SPD_SEEDS_PER_SET of its own, never shared, so a
// model is never tested on a matrix it was trained on. Matrix `index` of a
// set has seed base + index with base 0 (training), 1 000 000 (test) and
// 2 000 000 (validation).
typedef enum { FM_SPD_TRAIN = 0, FM_SPD_TEST = 1, FM_SPD_VALIDATION = 2 } fm_spd_set;
#define FM_SPD_SEEDS_PER_SET INT64_C(1000000)
int fm_spd_seed(uint64_t *seed, fm_spd_set set, int64_t index, char *msg);

// (A, b) of `kind`: `size` is n for random matrices and the grid side g for
// diffusion (n = g²). options NULL: the defaults. *b may be requested or not
// (b NULL); it holds n doubles (free()).
int fm_spd_generate(fm_system_matrix **A, double **b, fm_spd_kind kind, int64_t size, uint64_t seed,
                    const fm_spd_options *options, char *msg);

//------------------------------------------------------------------------------
// The parts (models/precond/spd_random.c, spd_diffusion.c)
//------------------------------------------------------------------------------

// The key of one purpose's draws under `seed` (FM_STREAM_SPD): each purpose
// its own counter space, so adding draws to one never shifts another.
// 6..8: the general data (general_data.h): the seed of the random class's
// second factor M', the convection's velocity field and its Péclet number.
enum { FM_SPD_DRAW_POSITIONS = 1, FM_SPD_DRAW_VALUES = 2, FM_SPD_DRAW_DENSITY = 3, FM_SPD_DRAW_RHS = 4,
       FM_SPD_DRAW_FIELD = 5, FM_SPD_DRAW_SECOND_FACTOR = 6, FM_SPD_DRAW_VELOCITY = 7, FM_SPD_DRAW_PECLET = 8 };
fm_rng fm_spd_key(uint64_t seed, uint64_t purpose);

// M: n × n with exactly `entries` entries at distinct uniformly random
// positions (a seeded sample without replacement of the n² positions, so no
// position repeats and none is redrawn), values N(0, 1); general triplets
// sorted by row, then column.
int fm_spd_random_factor(fm_system_matrix **M, int64_t n, int64_t entries, uint64_t seed, char *msg);

// The lower triangle of M Mᵀ + alpha I, rows ascending and each row's columns
// ascending (the diagonal last, always stored): a sparse product row by row
// with a dense accumulator, parallel over rows. M must be sorted by row, then
// column (as fm_spd_random_factor gives it).
int fm_spd_gram_lower(fm_system_matrix **A, const fm_system_matrix *M, double alpha, char *msg);
// The reference: dense M Mᵀ + alpha I, row-major n × n (small n only).
int fm_spd_gram_dense_reference(double **A, const fm_system_matrix *M, double alpha, char *msg);

// The random SPD matrix of P7 for `seed`: M from round(density·factor·n²)
// entries, then M Mᵀ + alpha I.
int fm_spd_random(fm_system_matrix **A, int64_t n, uint64_t seed, const fm_spd_options *options, char *msg);

// The diffusion matrix on a g × g grid for `seed` (models/precond/spd_diffusion.c).
int fm_spd_diffusion(fm_system_matrix **A, int64_t g, uint64_t seed, const fm_spd_options *options, char *msg);

// b ~ U(0, 1) (or ones) of length n for `seed`.
int fm_spd_rhs(double **b, int64_t n, uint64_t seed, const fm_spd_options *options, char *msg);

#endif
