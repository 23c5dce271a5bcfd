// Training families whose values look like what users factorize (issue 19;
// docs/factormer-math.md §7.1 [ext]), beside §7's exponential family. Each
// fills X (rows × cols) and the planted factors from a low-rank mean, with
// draws keyed like the exponential family's (a matrix is a function of its
// key, rows, cols and rank alone):
//
//   counts    text and single-cell counts, the sparse kind: a level
//             μ = exp(U(log 0.01, log 2)) per matrix, W's rows and H's
//             columns times log-normal popularities of mean 1, rate_ij =
//             μ (W H)_ij g_ij with g_ij = z² (negative-binomial bursts),
//             x_ij ~ Poisson(rate_ij); a row or column with no count gets one
//             at its largest rate. Stored: the nonzero counts.
//   images    faces as parts, dense: W's column 0 the skin (on every
//             pixel, falling from the face's centre to a twentieth at the
//             corners; H's row 0 1 + Exponential(1)), each other column
//             two bumps of compact support on a √rows × √rows pixel grid,
//             its row of H Exponential(1) or, with probability
//             FM_IMAGES_PART_ABSENT, 0; X = W H + 2% noise, scaled to 0..255
//             and rounded (gray levels).
//   ratings   the incomplete kind with power-law degrees: r_ij =
//             clamp(round(2.4 + 1.3 (W H)_ij + 0.7 z_ij), 1, 5), W, H of §7.
//   spectra   hyperspectral, dense: rows are bands, W's columns smooth
//             endmembers (three Gaussian bumps over a base; the first a
//             tenth as bright: water, shade), H's columns abundances a³/Σa³
//             with a ~ Exponential(1) (one or two endmembers dominate a
//             pixel), X = W H + 1% noise, scaled to 0..5000 and rounded
//             (reflectance × 10⁴).
//   scenes    hyperspectral scenes of many materials, dense (jasper_ridge's
//             spectrum: singular values falling slowly past the first few,
//             not to a noise floor): spectra's endmembers with features a
//             tenth as wide, FM_SCENES_WIDTH (0.2 + u), and material r's
//             abundance a³ (r + 1)^−FM_SCENES_DECAY / Σa³. Trained at
//             rank k, a scene holds min(2k, rows, cols) materials: its tail
//             goes on past the factorization's rank.
//
// W_true, H_true are the planted factors of the mean before scaling (the
// counts' without μ and g).
#ifndef FM_TRAIN_FAMILIES_H
#define FM_TRAIN_FAMILIES_H

#include <stdint.h>

#include "factormer.h"

typedef enum fm_train_family {
    FM_FAMILY_EXPONENTIAL = 0,   // §7 (and its sparse and incomplete kinds)
    FM_FAMILY_COUNTS = 1,
    FM_FAMILY_IMAGES = 2,
    FM_FAMILY_RATINGS = 3,
    FM_FAMILY_SPECTRA = 4,
    FM_FAMILY_MIX = 5,           // training only: matrix i of family i mod 5 (fm_train_data_member)
    FM_FAMILY_SCENES = 6,
    FM_FAMILY_MIX_SCENES = 7,    // training only: the mix with scenes in spectra's place
} fm_train_family;

#define FM_FAMILIES 5   // the mix's members, exponential to spectra (enum 0-4): matrix i is family i mod 5

// §7.1 [choice] the counts family's level μ, log-uniform in [LOW, HIGH] per
// matrix (the mean count an entry before popularity: text like kos_bow is
// near 0.02), and the σ of its columns' log-normal popularity.
#define FM_COUNTS_LEVEL_LOW 0.01
#define FM_COUNTS_LEVEL_HIGH 2.0
#define FM_COUNTS_POPULARITY 1.0
// §7.1 [choice] the share of an image's parts it does not hold (H's zeros
// beyond the skin).
#define FM_IMAGES_PART_ABSENT 0.3
// §7.1 [choice] scenes: the width of a material's features (as a share of
// the bands, times 0.2 + u) and the power law of the materials' abundances.
// With these a 198 x 10000 scene at 64 materials has σ₁₆/σ₀ 0.008 and σ₃₂/σ₀
// 0.0014, jasper_ridge 0.0033 and 0.0015; spectra falls to its floor, 0.0007,
// by σ₈.
#define FM_SCENES_WIDTH 0.02
#define FM_SCENES_DECAY 2.0

// "exponential", "counts", "images", "ratings", "spectra", "mix", "scenes",
// "mix-scenes" ("unknown").
const char *fm_train_family_name(fm_train_family family);
// By name; FM_ERR_INVALID naming the choices.
int fm_train_family_parse(fm_train_family *family, const char *name, char *msg);
// Whether `family` is one of the mixes (each matrix of another family).
bool fm_train_family_is_mix(fm_train_family family);
// Whether `family` is one of the families like real data, those
// fm_train_family_fill draws: counts, images, ratings, spectra, scenes.
bool fm_train_family_like_real_data(fm_train_family family);
// The kind of a family's data: counts sparse, ratings incomplete, images,
// spectra and scenes dense; the exponential family's (and the mixes') is the
// caller's.
fm_kind fm_train_family_kind(fm_train_family family, fm_kind exponential);

// X (rows × cols), W (rows × rank) and H (rank × cols) of a family other
// than the exponential, from the matrix key (a uniform 64-bit draw); for
// counts, stored[e] = x_e != 0, for the others every entry (ratings: the
// caller draws its pattern). `training` adds the families' noise where
// validation is noise-free (images and spectra; counts and ratings are
// draws by nature).
int fm_train_family_fill(float *X, float *W, float *H, unsigned char *stored, fm_train_family family, int64_t rows,
                         int64_t cols, int rank, uint64_t key, bool training, char *msg);

// One matrix of a family for `factormer generate --family` (the training
// set's draws of matrix 0 for `seed`, at any shape): an array for the dense
// families, the stored entries for counts and ratings (observed with
// probability about `observed`, power-law degrees).
int fm_train_family_triplets(fm_triplets **out, fm_train_family family, int64_t rows, int64_t cols, int rank,
                             double observed, uint64_t seed, char *msg);

#endif
