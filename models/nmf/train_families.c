// Training families like real data: see train_families.h.
#include "train_families.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "status.h"
#include "train_data.h"

static const char *const names[FM_FAMILY_MIX_SCENES + 1] = {"exponential", "counts", "images", "ratings",
                                                            "spectra", "mix", "scenes", "mix-scenes"};

const char *fm_train_family_name(fm_train_family family)
{
    return (unsigned)family <= FM_FAMILY_MIX_SCENES ? names[family] : "unknown";
}

bool fm_train_family_is_mix(fm_train_family family)
{
    return family == FM_FAMILY_MIX || family == FM_FAMILY_MIX_SCENES;
}

bool fm_train_family_like_real_data(fm_train_family family)
{
    return family != FM_FAMILY_EXPONENTIAL && !fm_train_family_is_mix(family) && (unsigned)family <= FM_FAMILY_MIX_SCENES;
}

int fm_train_family_parse(fm_train_family *family, const char *name, char *msg)
{
    for (int f = 0; f <= FM_FAMILY_MIX_SCENES; f++)
        if (name && !strcmp(name, names[f])) {
            *family = (fm_train_family)f;
            return FM_OK;
        }
    return fm_fail(FM_ERR_INVALID, msg,
                   "unknown training family '%s'; expected exponential, counts, images, ratings, spectra, scenes, "
                   "mix or mix-scenes",
                   name ? name : "");
}

fm_kind fm_train_family_kind(fm_train_family family, fm_kind exponential)
{
    switch (family) {
    case FM_FAMILY_COUNTS: return FM_KIND_SPARSE;
    case FM_FAMILY_RATINGS: return FM_KIND_INCOMPLETE;
    case FM_FAMILY_IMAGES:
    case FM_FAMILY_SPECTRA:
    case FM_FAMILY_SCENES: return FM_KIND_DENSE;
    default: return exponential;
    }
}

// Streams of a family's draws, after the exponential family's 1..7 (1 and 2:
// fm_train_exponential_factors).
enum { S_H = 2, S_NOISE = 3, S_SHAPE = 8, S_GAMMA = 9, S_POISSON = 10, S_POPULARITY = 11, S_ABSENT = 13 };   // 12: the planted rank (train_data.c)

// Poisson(rate) by inversion from one uniform; a normal approximation above
// rate 50, where inversion's loop grows long and the approximation is good.
static double poisson(double rate, fm_rng draw, fm_rng normal, uint64_t counter)
{
    if (rate > 50) {
        const double x = floor(rate + sqrt(rate) * fm_rng_normal(normal, counter) + 0.5);
        return x > 0 ? x : 0;
    }
    const double u = fm_rng_uniform(draw, counter);
    double p = exp(-rate), cdf = p, k = 0;
    while (u > cdf && k < 1000) {
        k += 1;
        p *= rate / k;
        cdf += p;
    }
    return k;
}

// W·H into X (rows × cols), in double, rounded once.
static void product(float *X, const float *W, const float *H, int64_t rows, int64_t cols, int rank)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            double x = 0;
            for (int r = 0; r < rank; r++) x += (double)W[i * rank + r] * H[r * cols + j];
            X[i * cols + j] = (float)x;
        }
}

static double mean_at(const float *W, const float *H, int64_t cols, int rank, int64_t i, int64_t j)
{
    double m = 0;
    for (int r = 0; r < rank; r++) m += (double)W[i * rank + r] * H[r * cols + j];
    return m;
}

// Line `v` of X (row v, or column v when !row) with no count gets one where
// its mean is largest.
static void one_count(float *X, const float *W, const float *H, int64_t rows, int64_t cols, int rank, int64_t v,
                      bool row)
{
    const int64_t length = row ? cols : rows;
#define FM_AT(u) (row ? v * cols + (u) : (u) * cols + v)
    for (int64_t u = 0; u < length; u++)
        if (X[FM_AT(u)] != 0) return;
    int64_t best = 0;
    double top = -1;
    for (int64_t u = 0; u < length; u++) {
        const double mean = row ? mean_at(W, H, cols, rank, v, u) : mean_at(W, H, cols, rank, u, v);
        if (mean > top) top = mean, best = u;
    }
    X[FM_AT(best)] = 1;
#undef FM_AT
}

// §7.1's counts: x ~ Poisson(μ (W H) g), g = z², with popularities taken into
// W and H (which the caller gets back as the planted factors).
static void fill_counts(float *X, float *W, float *H, unsigned char *stored, int64_t rows, int64_t cols,
                        int rank, uint64_t key)
{
    const fm_rng shape = fm_rng_stream(key, S_SHAPE), gamma = fm_rng_stream(key, S_GAMMA);
    const fm_rng draw = fm_rng_stream(key, S_POISSON), normal = fm_rng_stream(key, S_NOISE);
    const fm_rng popularity = fm_rng_stream(key, S_POPULARITY);
    const double mu = exp(log(FM_COUNTS_LEVEL_LOW) + (log(FM_COUNTS_LEVEL_HIGH) - log(FM_COUNTS_LEVEL_LOW)) *
                                                         fm_rng_uniform(shape, 0));
    // Rows' and columns' popularities, log-normal of mean 1, taken into W and H (the mean stays of rank
    // `rank`): a few words (genes) are far more frequent than the rest, some documents (cells) far longer.
    const double sigma = FM_COUNTS_POPULARITY, shift = 0.5 * sigma * sigma;
    for (int64_t i = 0; i < rows; i++) {
        const double p = exp(sigma * fm_rng_normal(popularity, (uint64_t)i) - shift);
        for (int r = 0; r < rank; r++) W[i * rank + r] = (float)(W[i * rank + r] * p);
    }
    for (int64_t j = 0; j < cols; j++) {
        const double p = exp(sigma * fm_rng_normal(popularity, (uint64_t)(rows + j)) - shift);
        for (int r = 0; r < rank; r++) H[r * cols + j] = (float)(H[r * cols + j] * p);
    }
    product(X, W, H, rows, cols, rank);   // the rates' low-rank part
    for (int64_t e = 0; e < rows * cols; e++) {
        // Gamma(1/2)·2, a squared standard normal: a negative-binomial count, bursty like a word in a text
        const double z = fm_rng_normal(gamma, (uint64_t)e), g = z * z;
        X[e] = (float)poisson(mu * X[e] * g, draw, normal, (uint64_t)e);
    }
    // every row and column holds a count (a document has a word, a cell a read)
    for (int64_t i = 0; i < rows; i++) one_count(X, W, H, rows, cols, rank, i, true);
    for (int64_t j = 0; j < cols; j++) one_count(X, W, H, rows, cols, rank, j, false);
    for (int64_t e = 0; e < rows * cols; e++) stored[e] = X[e] != 0;
}

// X + `noise`·mean(X)·N(0, 1), clipped at 0, then scaled so that its largest
// value is `top` and rounded (integer gray levels or reflectances).
static void noisy_levels(float *X, int64_t count, double noise, double top, uint64_t key)
{
    const fm_rng draw = fm_rng_stream(key, S_NOISE);
    double sum = 0;
    for (int64_t e = 0; e < count; e++) sum += X[e];
    const double sigma = noise * sum / (double)count;
    double largest = 0;
    for (int64_t e = 0; e < count; e++) {
        double x = X[e] + (sigma > 0 ? sigma * fm_rng_normal(draw, (uint64_t)e) : 0);
        X[e] = (float)(x > 0 ? x : 0);
        if (X[e] > largest) largest = X[e];
    }
    for (int64_t e = 0; e < count; e++) X[e] = largest > 0 ? (float)floor(X[e] / largest * top + 0.5) : 0;
}

// 1 − d²/R² for pixel i of a side × side grid (in units of the side) at
// distance d from (y0, x0): positive inside the disc of radius R.
static double disc(int64_t i, int64_t side, double y0, double x0, double radius)
{
    const double y = (double)(i % side) / side - y0, x = (double)(i / side) / side - x0;
    return 1 - (x * x + y * y) / (radius * radius);
}

// Faces, as parts (§7.1): component 0 the skin, on every pixel and
// brightest at the face's centre, which every image holds; each other
// component two bumps of compact support (1 − d²/R²)₊² on the pixel grid,
// zero elsewhere, and held by an image with probability
// 1 − FM_IMAGES_PART_ABSENT. The learned start lags plain ADMM on these after
// 100 iterations as it does on the faces; on smooth Gaussian blobs over a
// base, the family before, it led (docs §7.1, "Images as parts").
static void fill_images(float *X, float *W, float *H, int64_t rows, int64_t cols, int rank, uint64_t key,
                        bool training)
{
    const fm_rng shape = fm_rng_stream(key, S_SHAPE), h_draw = fm_rng_stream(key, S_H);
    const fm_rng absent = fm_rng_stream(key, S_ABSENT);
    const int64_t side = (int64_t)ceil(sqrt((double)rows));
    memset(W, 0, sizeof(float) * (size_t)(rows * rank));
    // the skin: brightest at the face's centre, dark at the grid's corners (a face's background and hair)
    const double skin = 0.4 + 0.5 * fm_rng_uniform(shape, 0), reach = 0.55 + 0.2 * fm_rng_uniform(shape, 1);
    const double y_c = 0.4 + 0.2 * fm_rng_uniform(shape, 2), x_c = 0.4 + 0.2 * fm_rng_uniform(shape, 3);
    for (int64_t i = 0; i < rows; i++) {
        const double t = disc(i, side, y_c, x_c, reach);
        W[i * rank] = (float)(skin * (0.05 + 0.95 * (t > 0 ? t : 0)));
    }
    for (int r = 1; r < rank; r++)
        for (int b = 0; b < 2; b++) {
            const uint64_t c = 8 * (uint64_t)(2 * r + b);
            const double y0 = fm_rng_uniform(shape, c), x0 = fm_rng_uniform(shape, c + 1);
            const double radius = 0.12 + 0.3 * fm_rng_uniform(shape, c + 2), height = 0.3 + fm_rng_uniform(shape, c + 3);
            for (int64_t i = 0; i < rows; i++) {
                const double t = disc(i, side, y0, x0, radius);
                if (t > 0) W[i * rank + r] += (float)(height * t * t);
            }
        }
    for (int64_t j = 0; j < cols; j++) H[j] = (float)(1 + fm_rng_exponential(h_draw, (uint64_t)j, 1));
    for (int64_t e = cols; e < (int64_t)rank * cols; e++)
        H[e] = fm_rng_uniform(absent, (uint64_t)e) < FM_IMAGES_PART_ABSENT
                   ? 0
                   : (float)fm_rng_exponential(h_draw, (uint64_t)e, 1);
    product(X, W, H, rows, cols, rank);
    noisy_levels(X, rows * cols, training ? 0.02 : 0, 255, key);
}

// Ratings from §7's exponential factors.
static void fill_ratings(float *X, float *W, float *H, int64_t rows, int64_t cols, int rank, uint64_t key)
{
    const fm_rng noise = fm_rng_stream(key, S_NOISE);
    fm_train_exponential_factors(W, H, rows, cols, rank, key);
    product(X, W, H, rows, cols, rank);
    for (int64_t e = 0; e < rows * cols; e++) {
        const double r = floor(2.4 + 1.3 * X[e] + 0.7 * fm_rng_normal(noise, (uint64_t)e) + 0.5);
        X[e] = (float)(r < 1 ? 1 : r > 5 ? 5 : r);
    }
}

// Hyperspectral: endmembers over the bands (rows), abundances per pixel
// (column); `scenes`: narrower features and abundances falling with the
// material's index (the header's scenes).
static void fill_spectra(float *X, float *W, float *H, int64_t rows, int64_t cols, int rank, uint64_t key,
                         bool training, bool scenes)
{
    const fm_rng shape = fm_rng_stream(key, S_SHAPE), h_draw = fm_rng_stream(key, S_H);
    for (int r = 0; r < rank; r++) {
        // endmember 0 is dark (water, shade): a tenth of the others' reflectance
        const double dim = r == 0 && rank > 1 ? 0.1 : 1;
        const double base = dim * 0.3 * fm_rng_uniform(shape, 32 * (uint64_t)r);
        for (int64_t i = 0; i < rows; i++) W[i * rank + r] = (float)base;
        for (int b = 0; b < 3; b++) {
            const uint64_t c = 32 * (uint64_t)r + 4 * (uint64_t)b + 1;
            const double centre = fm_rng_uniform(shape, c);
            const double width = scenes ? FM_SCENES_WIDTH * (0.2 + fm_rng_uniform(shape, c + 1))
                                        : 0.05 + 0.2 * fm_rng_uniform(shape, c + 1);
            const double height = dim * (0.2 + 0.8 * fm_rng_uniform(shape, c + 2));
            for (int64_t i = 0; i < rows; i++) {
                const double t = (double)i / (double)rows - centre;
                W[i * rank + r] += (float)(height * exp(-t * t / (2 * width * width)));
            }
        }
    }
    // abundances: cubed exponentials (one or two dominant endmembers per pixel), each column summing to 1
    // (a scene's: before the power law, which is not normalized away)
    for (int64_t j = 0; j < cols; j++) {
        double sum = 0;
        for (int r = 0; r < rank; r++) {
            const double a = fm_rng_exponential(h_draw, (uint64_t)(r * cols + j), 1);
            const double weight = scenes ? pow(r + 1.0, -FM_SCENES_DECAY) : 1;
            H[r * cols + j] = (float)(weight * a * a * a);
            sum += a * a * a;
        }
        for (int r = 0; r < rank; r++) H[r * cols + j] = (float)(H[r * cols + j] / sum);
    }
    product(X, W, H, rows, cols, rank);
    noisy_levels(X, rows * cols, training ? 0.01 : 0, 5000, key);
}

int fm_train_family_fill(float *X, float *W, float *H, unsigned char *stored, fm_train_family family, int64_t rows,
                         int64_t cols, int rank, uint64_t key, bool training, char *msg)
{
    if (!X || !W || !H || !stored) return fm_fail(FM_ERR_INVALID, msg, "fm_train_family_fill: an output is missing");
    if (rows < 1 || cols < 1 || rank < 1)
        return fm_fail(FM_ERR_INVALID, msg, "fm_train_family_fill: %lld x %lld at rank %d", (long long)rows,
                       (long long)cols, rank);
    memset(stored, 1, (size_t)(rows * cols));
    switch (family) {
    case FM_FAMILY_COUNTS:
        fm_train_exponential_factors(W, H, rows, cols, rank, key);
        fill_counts(X, W, H, stored, rows, cols, rank, key);
        return FM_OK;
    case FM_FAMILY_IMAGES: fill_images(X, W, H, rows, cols, rank, key, training); return FM_OK;
    case FM_FAMILY_RATINGS: fill_ratings(X, W, H, rows, cols, rank, key); return FM_OK;
    case FM_FAMILY_SPECTRA: fill_spectra(X, W, H, rows, cols, rank, key, training, false); return FM_OK;
    case FM_FAMILY_SCENES: fill_spectra(X, W, H, rows, cols, rank, key, training, true); return FM_OK;
    default:
        return fm_fail(FM_ERR_INVALID, msg, "fm_train_family_fill: the %s family is filled by fm_train_fill",
                       fm_train_family_name(family));
    }
}

int fm_train_family_triplets(fm_triplets **out, fm_train_family family, int64_t rows, int64_t cols, int rank,
                             double observed, uint64_t seed, char *msg)
{
    float *X = NULL, *W = NULL, *H = NULL;
    unsigned char *stored = NULL;
    fm_triplets *t = NULL;
#define FREE_ALL { free(X); free(W); free(H); free(stored); fm_triplets_free(&t); }
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_train_family_triplets: the output must be non-NULL and empty");
    FM_CHECK(fm_train_family_like_real_data(family), FM_ERR_INVALID,
             "fm_train_family_triplets: expected counts, images, ratings, spectra or scenes");
    FM_CHECK(rows >= 1 && cols >= 1 && rank >= 1 && rank <= 100000 && rows <= (INT64_C(1) << 31) / cols &&
                 rows <= (INT64_C(1) << 40) / rank && cols <= (INT64_C(1) << 40) / rank,
             FM_ERR_INVALID,
             "fm_train_family_triplets: %lld x %lld at rank %d (at most 2^31 entries: the families are dense draws)",
             (long long)rows, (long long)cols, rank);
    FM_ALLOC(X, rows * cols);
    FM_ALLOC(W, rows * rank);
    FM_ALLOC(H, (int64_t)rank * cols);
    FM_ALLOC(stored, rows * cols);
    const uint64_t key = fm_train_matrix_key(seed, FM_SET_TRAIN, 0);
    FM_TRY(fm_train_family_fill(X, W, H, stored, family, rows, cols, rank, key, true, msg));
    if (family == FM_FAMILY_RATINGS)
        FM_TRY(fm_train_observed_pattern(stored, rows, cols, observed, FM_DEGREES_POWER_LAW, key, msg));
    FM_ALLOC(t, 1);
    t->rows = rows;
    t->cols = cols;
    if (fm_train_family_kind(family, FM_KIND_DENSE) == FM_KIND_DENSE) {
        t->array = true;
        t->count = rows * cols;
        t->val = X;
        X = NULL;
    } else {
        for (int64_t e = 0; e < rows * cols; e++) t->count += stored[e];
        FM_ALLOC(t->row, t->count + 1);
        FM_ALLOC(t->col, t->count + 1);
        FM_ALLOC(t->val, t->count + 1);
        for (int64_t e = 0, w = 0; e < rows * cols; e++)
            if (stored[e]) {
                t->row[w] = e / cols;
                t->col[w] = e % cols;
                t->val[w++] = X[e];
            }
    }
    *out = t;
    t = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
