// The data of P7 for GMRES: convection–diffusion on grids with random
// velocity fields, and the random class of P7 made nonsymmetric. Each a
// general square A (0-based triplets, fm_system_matrix with `symmetric`
// false, every diagonal entry stored) and a right-hand side b, drawn from a
// seed (engine/rng.h, FM_STREAM_SPD keys of spd_data.h with purposes of their
// own) and generated on the fly: the same seed gives bitwise the same (A, b)
// for every thread count. Seeds and sets are spd_data.h's (fm_spd_seed).
#ifndef FM_GENERAL_DATA_H
#define FM_GENERAL_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "mtx_system.h"
#include "spd_data.h"

typedef enum { FM_GENERAL_CONVECTION = 0, FM_GENERAL_RANDOM = 1 } fm_general_kind;

// "convection", "random"; the parse is FM_ERR_INVALID naming the text.
const char *fm_general_kind_name(fm_general_kind kind);
int fm_general_kind_parse(fm_general_kind *out, const char *text, char *msg);

typedef struct fm_general_options {
    // convection: −Δu + β·∇u = f on the unit square, g × g interior points,
    // h = 1/(g + 1), 5-point upwind differences, A scaled by h² (diagonal
    // 4 + h|β_x| + h|β_y|). β = the curl of a stream function ψ, a sum of
    // `modes` random Fourier modes (so ∇·β = 0), scaled so the largest mesh
    // Péclet number h·max|β|/2 over the grid equals a value each seed draws
    // log-uniformly from [peclet_min, peclet_max].
    int modes;             // 8
    double peclet_min;     // 0.1
    double peclet_max;     // 100
    // random: A = M M'ᵀ + alpha I, M and M' independent, each as spd_data's M
    double density;        // 1e-3
    double alpha;          // 1e-3
    bool rhs_ones;         // b = 1 instead of b ~ U(0, 1)
} fm_general_options;

void fm_general_defaults(fm_general_options *options);

// The random class at n with M's rows holding ten entries on average, as
// P7's n = 10 000 at density 1e-3 does (density = min(1, 10/n)): at smaller
// n the fixed density leaves most rows of M nearly empty and A singular up to
// α. The trainer and the benchmark draw the random class this way.
void fm_general_random_defaults(fm_general_options *options, int64_t n);

// (A, b) of `kind` for `seed`: `size` is the grid side g (n = g²) for
// convection and n for random. options NULL: the defaults. b may be NULL
// (not wanted); else *b holds n doubles (free()). `peclet` (may be NULL)
// receives the drawn largest mesh Péclet number (convection; NaN for random).
int fm_general_generate(fm_system_matrix **A, double **b, fm_general_kind kind, int64_t size,
                        uint64_t seed, const fm_general_options *options, double *peclet, char *msg);

//------------------------------------------------------------------------------
// The parts (models/precond/general_convection.c, general_random.c)
//------------------------------------------------------------------------------

// The convection–diffusion matrix on a g × g grid for `seed`, every row's
// columns ascending (south, west, the diagonal, east, north); `peclet` as in
// fm_general_generate.
int fm_general_convection(fm_system_matrix **A, int64_t g, uint64_t seed, const fm_general_options *options,
                          double *peclet, char *msg);

// All of M M'ᵀ + alpha I, rows ascending and each row's columns ascending
// (the diagonal always stored): a sparse product row by row with a dense
// accumulator, parallel over rows. M and M' (`M2`) n × n general, each sorted
// by row, then column (as fm_spd_random_factor gives them).
int fm_general_product(fm_system_matrix **A, const fm_system_matrix *M, const fm_system_matrix *M2, double alpha,
                       char *msg);
// The reference: dense M M'ᵀ + alpha I, row-major n × n (small n only).
int fm_general_product_dense_reference(double **A, const fm_system_matrix *M, const fm_system_matrix *M2,
                                       double alpha, char *msg);

// The random nonsymmetric matrix for `seed`: M = fm_spd_random_factor(seed)
// (the SPD class's M for the same seed) and M' = fm_spd_random_factor(seed')
// with seed' = bits 0 of fm_spd_key(seed, FM_SPD_DRAW_SECOND_FACTOR), each of
// round(density·n²) entries, then M M'ᵀ + alpha I.
int fm_general_random(fm_system_matrix **A, int64_t n, uint64_t seed, const fm_general_options *options, char *msg);

#endif
