// The training families like real data (models/nmf/train_families.h, docs
// §7.1): each family's values are of its kind (counts nonnegative integers
// with every row and column holding one, gray levels 0..255, ratings 1..5,
// reflectances 0..5000), counts as sparse as text and bursty, a noise-free draw is its planted mean rounded, the
// draws are a function of the key, fm_train_matrix gives the family's kind
// and mean 1, a family with another kind is refused, and a rank spread plants
// ranks on both sides of the factorization's.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "graph.h"
#include "helpers.h"
#include "train_data.h"
#include "train_families.h"

TestSuite(train_families, .init = fm_test_setup);

typedef struct draw {
    float *X, *W, *H;
    unsigned char *stored;
} draw;

static draw draw_new(fm_train_family family, int64_t rows, int64_t cols, int rank, uint64_t key, bool training)
{
    char msg[FM_MSG_LEN];
    draw d = {calloc(rows * cols, sizeof(float)), calloc(rows * rank, sizeof(float)),
              calloc(rank * cols, sizeof(float)), calloc(rows * cols, 1)};
    cr_assert(d.X && d.W && d.H && d.stored);
    cr_assert_eq(fm_train_family_fill(d.X, d.W, d.H, d.stored, family, rows, cols, rank, key, training, msg), FM_OK,
                 "%s", msg);
    return d;
}

static void draw_free(draw *d)
{
    free(d->X), free(d->W), free(d->H), free(d->stored);
}

Test(train_families, values_are_of_their_kind)
{
    const int64_t rows = 40, cols = 30;
    const int rank = 4;
    const double low[] = {0, 0, 0, 1, 0}, high[] = {0, INFINITY, 255, 5, 5000};
    for (int f = FM_FAMILY_COUNTS; f < FM_FAMILIES; f++)
        for (uint64_t key = 1; key <= 5; key++) {
            draw d = draw_new((fm_train_family)f, rows, cols, rank, key * 7919, true);
            const char *name = fm_train_family_name((fm_train_family)f);
            double largest = 0;
            for (int64_t e = 0; e < rows * cols; e++) {
                cr_assert(d.X[e] == floorf(d.X[e]) && d.X[e] >= low[f] && d.X[e] <= high[f], "%s: x = %g", name,
                          (double)d.X[e]);
                largest = fmax(largest, d.X[e]);
                cr_assert_eq(d.stored[e], f == FM_FAMILY_COUNTS ? d.X[e] != 0 : 1, "%s: entry %lld", name,
                             (long long)e);
            }
            if (f == FM_FAMILY_IMAGES || f == FM_FAMILY_SPECTRA)
                cr_expect_eq(largest, high[f], "%s: the largest value is %g", name, largest);
            if (f == FM_FAMILY_COUNTS) {
                for (int64_t i = 0; i < rows; i++) {
                    bool any = false;
                    for (int64_t j = 0; j < cols; j++) any |= d.X[i * cols + j] > 0;
                    cr_assert(any, "counts: row %lld holds no count", (long long)i);
                }
                for (int64_t j = 0; j < cols; j++) {
                    bool any = false;
                    for (int64_t i = 0; i < rows; i++) any |= d.X[i * cols + j] > 0;
                    cr_assert(any, "counts: column %lld holds no count", (long long)j);
                }
            }
            if (f == FM_FAMILY_SPECTRA)   // abundances sum to 1 per pixel
                for (int64_t j = 0; j < cols; j++) {
                    double sum = 0;
                    for (int r = 0; r < rank; r++) sum += d.H[r * cols + j];
                    cr_assert_float_eq(sum, 1, 1e-5, "spectra: pixel %lld's abundances sum to %g", (long long)j, sum);
                }
            draw_free(&d);
        }
}

// Noise-free (validation) images, spectra and scenes are their planted W H, scaled to the top level and
// rounded.
Test(train_families, a_noise_free_draw_is_its_mean_rounded)
{
    const fm_train_family families[3] = {FM_FAMILY_IMAGES, FM_FAMILY_SPECTRA, FM_FAMILY_SCENES};
    const double top[3] = {255, 5000, 5000};
    for (int f = 0; f < 3; f++) {
        const int64_t rows = 36, cols = 25;
        const int rank = 3;
        draw d = draw_new(families[f], rows, cols, rank, 99, false);
        double *mean = calloc(rows * cols, sizeof(double)), largest = 0;
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) {
                for (int r = 0; r < rank; r++) mean[i * cols + j] += (double)d.W[i * rank + r] * d.H[r * cols + j];
                largest = fmax(largest, mean[i * cols + j]);
            }
        int64_t off = 0;
        for (int64_t e = 0; e < rows * cols; e++) off += fabs(d.X[e] - mean[e] / largest * top[f]) > 0.5 + 1e-3 * top[f];
        cr_expect_eq(off, 0, "%s: %lld entries are not the mean rounded", fm_train_family_name(families[f]),
                     (long long)off);
        free(mean);
        draw_free(&d);
    }
}

// Images are faces as parts (§7.1): W's column 0 the skin, on every pixel,
// held by every image; each other column zero outside its two bumps, and
// absent from about FM_IMAGES_PART_ABSENT of the images.
Test(train_families, images_are_a_skin_and_localized_parts)
{
    const int64_t rows = 1024, cols = 200;
    const int rank = 8;
    int64_t parts_zero = 0, parts_absent = 0;
    for (uint64_t key = 1; key <= 5; key++) {
        draw d = draw_new(FM_FAMILY_IMAGES, rows, cols, rank, key * 6151, true);
        for (int64_t i = 0; i < rows; i++) cr_assert_gt(d.W[i * rank], 0, "the skin is missing at pixel %lld", (long long)i);
        for (int64_t j = 0; j < cols; j++) cr_assert_geq(d.H[j], 1, "image %lld lacks the skin", (long long)j);
        for (int r = 1; r < rank; r++) {
            int64_t zero = 0;
            for (int64_t i = 0; i < rows; i++) zero += d.W[i * rank + r] == 0;
            cr_assert(zero > 0 && zero < rows, "key %llu: part %d is zero on %lld of %lld pixels",
                      (unsigned long long)key, r, (long long)zero, (long long)rows);
            parts_zero += zero;
            for (int64_t j = 0; j < cols; j++) parts_absent += d.H[r * cols + j] == 0;
        }
        draw_free(&d);
    }
    const double zero_share = (double)parts_zero / (5.0 * (rank - 1) * rows);
    const double absent_share = (double)parts_absent / (5.0 * (rank - 1) * cols);
    // two discs of radius 0.12-0.42 cover from a tenth to all of the unit grid
    cr_expect(zero_share > 0.2 && zero_share < 0.9, "the parts are zero on %g of the pixels", zero_share);
    cr_expect(fabs(absent_share - FM_IMAGES_PART_ABSENT) < 0.03, "%g of the parts are absent from an image, "
              "expected %g", absent_share, FM_IMAGES_PART_ABSENT);
}

// Text-like counts: some matrices as sparse as kos_bow (1.5% stored), some
// dense, and every count negative-binomial: x ~ Poisson(m g) with g of mean 1
// and variance 2 (a squared normal), so Var x = m + 2 m², m = μ (WH).
Test(train_families, counts_reach_text_sparsity_and_are_bursty)
{
    const int64_t rows = 300, cols = 400;
    const int rank = 5;
    double sparsest = 1, densest = 0, squares = 0, excess = 0;
    for (uint64_t key = 1; key <= 30; key++) {
        draw d = draw_new(FM_FAMILY_COUNTS, rows, cols, rank, key * 104729, true);
        double *mean = calloc(rows * cols, sizeof(double)), total = 0, planted = 0;
        int64_t stored = 0;
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) {
                for (int r = 0; r < rank; r++) mean[i * cols + j] += (double)d.W[i * rank + r] * d.H[r * cols + j];
                planted += mean[i * cols + j];
                total += d.X[i * cols + j];
                stored += d.stored[i * cols + j];
            }
        const double density = (double)stored / (rows * cols), level = total / planted;
        sparsest = fmin(sparsest, density), densest = fmax(densest, density);
        if (level > 0.5)   // where m² outweighs m (and the forced counts are few)
            for (int64_t e = 0; e < rows * cols; e++) {
                const double m = level * mean[e], x = d.X[e];
                excess += (x - m) * (x - m) - m;
                squares += m * m;
            }
        free(mean);
        draw_free(&d);
    }
    cr_expect_lt(sparsest, 0.03, "the sparsest counts matrix stores %g of its entries", sparsest);
    cr_expect_gt(densest, 0.2, "the densest counts matrix stores %g of its entries", densest);
    cr_assert_gt(squares, 0, "no matrix drew a level above 0.5");
    cr_expect(fabs(excess / squares - 2) < 0.5, "the rates' mixing variance is %g, expected 2", excess / squares);
}

Test(train_families, draws_are_a_function_of_the_key)
{
    for (int f = FM_FAMILY_COUNTS; f < FM_FAMILIES; f++) {
        draw a = draw_new((fm_train_family)f, 20, 15, 3, 5, true), b = draw_new((fm_train_family)f, 20, 15, 3, 5, true);
        draw c = draw_new((fm_train_family)f, 20, 15, 3, 6, true);
        cr_expect_arr_eq(a.X, b.X, sizeof(float) * 300, "%s: the same key gave another matrix",
                         fm_train_family_name((fm_train_family)f));
        cr_expect(memcmp(a.X, c.X, sizeof(float) * 300) != 0, "%s: another key gave the same matrix",
                  fm_train_family_name((fm_train_family)f));
        draw_free(&a), draw_free(&b), draw_free(&c);
    }
}

Test(train_families, training_matrices_have_the_family_kind_and_mean_one)
{
    char msg[FM_MSG_LEN];
    for (int f = FM_FAMILY_COUNTS; f < FM_FAMILIES; f++) {
        fm_train_data data;
        fm_train_data_default(&data);
        data.family = (fm_train_family)f;
        data.kind = fm_train_family_kind(data.family, FM_KIND_DENSE);
        if (data.family == FM_FAMILY_RATINGS) data.degrees = FM_DEGREES_POWER_LAW;
        for (int64_t index = 0; index < 6; index++) {
            fm_graph *g = NULL;
            double mean = 0;
            cr_assert_eq(fm_train_matrix(&g, NULL, NULL, &mean, &data, FM_SET_TRAIN, index, 100, 5, 42, msg), FM_OK,
                         "%s", msg);
            cr_expect_eq(g->stats.kind, data.kind, "%s", fm_train_family_name(data.family));
            cr_expect_float_eq(fm_graph_mean(g), 1, 1e-4, "%s matrix %lld: mean %g over its entries",
                               fm_train_family_name(data.family), (long long)index, fm_graph_mean(g));
            cr_expect_gt(mean, 0);
            fm_graph_free(&g);
        }
    }
    fm_train_data wrong;
    fm_train_data_default(&wrong);
    wrong.family = FM_FAMILY_COUNTS;   // a counts family left dense
    cr_expect_eq(fm_train_data_check(&wrong, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "the counts family is of the sparse kind, not dense"), "%s", msg);
    fm_train_family family;
    cr_expect_eq(fm_train_family_parse(&family, "pictures", msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "or mix"), "%s", msg);
    cr_expect(strstr(msg, "'pictures'") && strstr(msg, "spectra"), "%s", msg);
}

// Scenes (§7.1) are spectra of narrower features whose materials' abundances
// fall as (r + 1)^−FM_SCENES_DECAY: undone, a pixel's sum to 1. Their values
// are reflectances like spectra's, and a training scene holds twice the
// factorization's rank of materials, up to the matrix's smaller side.
Test(train_families, scenes_hold_materials_whose_abundances_fall_as_a_power_law)
{
    const int64_t rows = 60, cols = 50;
    const int rank = 6;
    for (uint64_t key = 1; key <= 3; key++) {
        draw d = draw_new(FM_FAMILY_SCENES, rows, cols, rank, key * 104729, true);
        double largest = 0;
        for (int64_t e = 0; e < rows * cols; e++) {
            cr_assert(d.X[e] == floorf(d.X[e]) && d.X[e] >= 0 && d.X[e] <= 5000, "scenes: x = %g", (double)d.X[e]);
            largest = fmax(largest, d.X[e]);
        }
        cr_expect_eq(largest, 5000, "scenes: the largest value is %g", largest);
        for (int64_t j = 0; j < cols; j++) {
            double sum = 0;
            for (int r = 0; r < rank; r++) sum += d.H[r * cols + j] * pow(r + 1.0, FM_SCENES_DECAY);
            cr_assert_float_eq(sum, 1, 1e-5, "scenes: pixel %lld's abundances, the power law undone, sum to %g",
                               (long long)j, sum);
        }
        draw_free(&d);
    }
    char msg[FM_MSG_LEN];
    fm_train_data data;
    fm_train_data_default(&data);
    data.family = FM_FAMILY_SCENES;
    for (int64_t index = 0; index < 4; index++) {
        fm_graph *g = NULL;
        fm_dense *W = NULL, *H = NULL;
        cr_assert_eq(fm_train_matrix(&g, &W, &H, NULL, &data, FM_SET_TRAIN, index, 100, 3, 42, msg), FM_OK, "%s",
                     msg);
        const int64_t smaller = g->stats.rows < g->stats.cols ? g->stats.rows : g->stats.cols;
        cr_expect_eq(W->cols, smaller < 6 ? smaller : 6, "scene %lld (%lld x %lld) plants %lld materials at rank 3",
                     (long long)index, (long long)g->stats.rows, (long long)g->stats.cols, (long long)W->cols);
        cr_expect_eq(H->rows, W->cols);
        fm_graph_free(&g);
        fm_dense_free(&W);
        fm_dense_free(&H);
    }
}

// The mix (§7.1): matrix i is matrix i of family i mod 5, of that family's
// kind, in the training and validation sets alike.
Test(train_families, the_mix_takes_the_families_in_turn)
{
    char msg[FM_MSG_LEN];
    fm_train_data mix;
    fm_train_data_default(&mix);
    cr_assert_eq(fm_train_family_parse(&mix.family, "mix", msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_train_data_check(&mix, msg), FM_OK, "%s", msg);
    const fm_train_family order[5] = {FM_FAMILY_EXPONENTIAL, FM_FAMILY_COUNTS, FM_FAMILY_IMAGES, FM_FAMILY_RATINGS,
                                      FM_FAMILY_SPECTRA};
    for (int64_t index = 0; index < 10; index++) {
        const fm_train_set set = index < 5 ? FM_SET_TRAIN : FM_SET_VALID_SMALL;
        const fm_train_data member = fm_train_data_member(&mix, index);
        cr_expect_eq(member.family, order[index % 5], "matrix %lld", (long long)index);
        cr_expect_eq(member.kind, fm_train_family_kind(order[index % 5], FM_KIND_DENSE));
        cr_assert_eq(fm_train_data_check(&member, msg), FM_OK, "%s", msg);
        fm_graph *a = NULL, *b = NULL;
        double mean_a = 0, mean_b = 0;
        cr_assert_eq(fm_train_matrix(&a, NULL, NULL, &mean_a, &mix, set, index, 100, 4, 7, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_train_matrix(&b, NULL, NULL, &mean_b, &member, set, index, 100, 4, 7, msg), FM_OK, "%s", msg);
        cr_expect_eq(a->stats.kind, member.kind, "matrix %lld of the mix is %s", (long long)index,
                     fm_kind_name(a->stats.kind));
        cr_expect(a->stats.entries == b->stats.entries && a->stats.sumsq == b->stats.sumsq && mean_a == mean_b, "matrix %lld of the mix is not its family's",
                  (long long)index);
        fm_graph_free(&a);
        fm_graph_free(&b);
    }
    mix.kind = FM_KIND_SPARSE;
    cr_expect_eq(fm_train_data_check(&mix, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "the mix takes each family's own kind"), "%s", msg);
}

// mix-scenes is the mix with scenes in spectra's place: the other members'
// matrices are the mix's own.
Test(train_families, the_scenes_mix_puts_scenes_in_place_of_spectra)
{
    char msg[FM_MSG_LEN];
    fm_train_data mix, scenes;
    fm_train_data_default(&mix);
    fm_train_data_default(&scenes);
    cr_assert_eq(fm_train_family_parse(&mix.family, "mix", msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_train_family_parse(&scenes.family, "mix-scenes", msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_train_data_check(&scenes, msg), FM_OK, "%s", msg);
    cr_expect(fm_train_family_is_mix(scenes.family) && !fm_train_family_is_mix(FM_FAMILY_SCENES));
    for (int64_t index = 0; index < 10; index++) {
        const fm_train_data a = fm_train_data_member(&mix, index), b = fm_train_data_member(&scenes, index);
        cr_expect_eq(b.family, a.family == FM_FAMILY_SPECTRA ? FM_FAMILY_SCENES : a.family, "matrix %lld",
                     (long long)index);
        cr_expect_eq(b.kind, a.kind, "matrix %lld", (long long)index);
        fm_graph *ga = NULL, *gb = NULL;
        cr_assert_eq(fm_train_matrix(&ga, NULL, NULL, NULL, &mix, FM_SET_TRAIN, index, 100, 4, 7, msg), FM_OK, "%s",
                     msg);
        cr_assert_eq(fm_train_matrix(&gb, NULL, NULL, NULL, &scenes, FM_SET_TRAIN, index, 100, 4, 7, msg), FM_OK,
                     "%s", msg);
        const bool same = ga->stats.entries == gb->stats.entries && ga->stats.sumsq == gb->stats.sumsq;
        cr_expect_eq(same, a.family != FM_FAMILY_SPECTRA, "matrix %lld (%s)", (long long)index,
                     fm_train_family_name(a.family));
        fm_graph_free(&ga);
        fm_graph_free(&gb);
    }
}

// A size scale multiplies every family's shape (the mix's members too) and
// keeps each matrix of its kind with mean 1; a scale out of range is refused.
Test(train_families, a_size_scale_multiplies_every_shape)
{
    char msg[FM_MSG_LEN];
    for (int f = 0; f <= FM_FAMILY_MIX; f++) {
        fm_train_data data;
        fm_train_data_default(&data);
        data.family = (fm_train_family)f;
        data.kind = fm_train_family_kind(data.family, FM_KIND_DENSE);
        if (data.family == FM_FAMILY_RATINGS) data.degrees = FM_DEGREES_POWER_LAW;
        fm_graph *small = NULL, *big = NULL;
        double mean = 0;
        cr_assert_eq(fm_train_matrix(&small, NULL, NULL, NULL, &data, FM_SET_TRAIN, f, 100, 3, 9, msg), FM_OK, "%s",
                     msg);
        data.scale = 3;
        cr_assert_eq(fm_train_data_check(&data, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_train_matrix(&big, NULL, NULL, &mean, &data, FM_SET_TRAIN, f, 100, 3, 9, msg), FM_OK, "%s",
                     msg);
        cr_expect(big->stats.rows == 3 * small->stats.rows && big->stats.cols == 3 * small->stats.cols,
                  "%s: %lld x %lld at scale 3, %lld x %lld at 1", fm_train_family_name(data.family),
                  (long long)big->stats.rows, (long long)big->stats.cols, (long long)small->stats.rows,
                  (long long)small->stats.cols);
        cr_expect_eq(big->stats.kind, small->stats.kind);
        cr_expect_float_eq(fm_graph_mean(big), 1, 1e-4, "%s: mean %g", fm_train_family_name(data.family),
                           fm_graph_mean(big));
        fm_graph_free(&small);
        fm_graph_free(&big);
        data.scale = FM_TRAIN_MAX_SCALE + 1;
        cr_expect_eq(fm_train_data_check(&data, msg), FM_ERR_INVALID);
        cr_expect(strstr(msg, "shape scale"), "%s", msg);
    }
}

// --rank-spread (§7.1, "Ranks other than the data's"): without a spread each
// matrix is planted at the factorization's rank; with one, at ranks on both
// sides of it within 2^±spread and the matrix's smaller side, the same in
// every call, and the values are the product of factors of that rank.
Test(train_families, a_rank_spread_plants_ranks_on_both_sides)
{
    char msg[FM_MSG_LEN];
    const int rank = 8;
    fm_train_data data;
    fm_train_data_default(&data);
    for (int64_t index = 0; index < 40; index++) {
        cr_expect_eq(fm_train_planted_rank(&data, FM_SET_TRAIN, index, 50, 60, rank, 42), rank);
        cr_expect_eq(fm_train_planted_rank(NULL, FM_SET_TRAIN, index, 50, 60, rank, 42), rank);
    }
    data.rank_spread = 2;
    cr_assert_eq(fm_train_data_check(&data, msg), FM_OK, "%s", msg);
    int below = 0, above = 0, capped = 0;
    for (int64_t index = 0; index < 300; index++) {
        const int planted = fm_train_planted_rank(&data, FM_SET_TRAIN, index, 24, 60, rank, 42);
        cr_expect(planted >= rank / 4 && planted <= 24, "matrix %lld planted at %d", (long long)index, planted);
        cr_expect_eq(planted, fm_train_planted_rank(&data, FM_SET_TRAIN, index, 24, 60, rank, 42));
        below += planted < rank;
        above += planted > rank;
        capped += planted == 24;
    }
    cr_expect(below > 100 && above > 100 && capped > 10, "below %d, above %d, at the side %d", below, above, capped);
    // noise-free dense draws of the validation set: X = W H exactly, W of the planted rank
    for (int64_t index = 0; index < 6; index++) {
        fm_graph *g = NULL;
        fm_dense *W = NULL, *H = NULL;
        cr_assert_eq(fm_train_matrix(&g, &W, &H, NULL, &data, FM_SET_VALID_SMALL, index, 16, rank, 42, msg), FM_OK,
                     "%s", msg);
        const int planted = fm_train_planted_rank(&data, FM_SET_VALID_SMALL, index, W->rows, H->cols, rank, 42);
        cr_expect_eq(W->cols, planted, "matrix %lld", (long long)index);
        cr_expect_eq(H->rows, planted);
        double sumsq = 0;
        for (int64_t i = 0; i < W->rows; i++)
            for (int64_t j = 0; j < H->cols; j++) {
                double x = 0;
                for (int r = 0; r < planted; r++) x += (double)W->data[i * planted + r] * H->data[r * H->cols + j];
                sumsq += x * x;
            }
        cr_expect_float_eq(g->stats.sumsq, sumsq, 1e-4 * sumsq, "matrix %lld: %g against %g", (long long)index,
                           g->stats.sumsq, sumsq);
        fm_graph_free(&g);
        fm_dense_free(&W);
        fm_dense_free(&H);
    }
    data.rank_spread = 4.5;
    cr_expect_eq(fm_train_data_check(&data, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "rank spread 4.5 must be 0 to 4 octaves"), "%s", msg);
    data.rank_spread = NAN;
    cr_expect_eq(fm_train_data_check(&data, msg), FM_ERR_INVALID);
}
