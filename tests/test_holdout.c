// Held-out entries for every kind (models/nmf/holdout.c, ops/admm_mask.c):
// the speckled mask's statistics; the masked update against its slow
// reference and against the incomplete kind's update on the complement's
// entries; held-out entries never entering the fit; keep-best and patience.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "admm.h"
#include "admm_mask.h"
#include "graph.h"
#include "helpers.h"
#include "holdout.h"
#include "products.h"
#include "rng.h"

TestSuite(holdout, .init = fm_test_setup);

static fm_triplets *planted(int64_t rows, int64_t cols, int rank, double noise, double density, uint64_t seed)
{
    fm_triplets *t = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_synthetic_planted(&t, rows, cols, rank, noise, density, seed, msg), FM_OK, "%s", msg);
    return t;
}

static void speckle(fm_triplets **kept, fm_triplets **held, const fm_triplets *t, double fraction, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_holdout_speckle(kept, held, t, fraction, seed, msg), FM_OK, "%s", msg);
}

static fm_graph *graph(const fm_triplets *t, fm_kind kind)
{
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_graph_from_triplets(&g, t, kind, msg), FM_OK, "%s", msg);
    return g;
}

// The value of x_ij in coordinates (summed) or an array.
static double value_at(const fm_triplets *t, int64_t i, int64_t j)
{
    if (t->array) return t->val[i * t->cols + j];
    double v = 0;
    for (int64_t e = 0; e < t->count; e++)
        if (t->row[e] == i && t->col[e] == j) v += t->val[e];
    return v;
}

// A rows x cols 0/1 map of the held coordinates (the tests' matrices are small).
static unsigned char *held_map(const fm_triplets *held)
{
    unsigned char *map = calloc((size_t)(held->rows * held->cols), 1);
    for (int64_t e = 0; e < held->count; e++) {
        cr_assert_eq(map[held->row[e] * held->cols + held->col[e]], 0, "(%lld, %lld) held twice",
                     (long long)held->row[e], (long long)held->col[e]);
        map[held->row[e] * held->cols + held->col[e]] = 1;
    }
    return map;
}

//------------------------------------------------------------------------------
// The mask
//------------------------------------------------------------------------------

// A binomial count within 5 standard deviations of its mean.
static void expect_binomial(int64_t count, double trials, double p, const char *what)
{
    const double mean = trials * p, sd = sqrt(trials * p * (1 - p));
    cr_expect(fabs(count - mean) <= 5 * sd, "%s: %lld held of %.0f, expected %.1f +- %.1f", what, (long long)count,
              trials, mean, 5 * sd);
}

Test(holdout, speckled_mask_statistics)
{
    fm_triplets *t = planted(150, 120, 3, 0.1, 0.3, 7), *kept = NULL, *held = NULL;
    speckle(&kept, &held, t, 0.2, 11);
    const double entries = 150.0 * 120;
    expect_binomial(held->count, entries, 0.2, "all entries");
    unsigned char *map = held_map(held);
    int64_t held_stored = 0, held_zeros = 0, stored_held = 0;
    for (int64_t e = 0; e < held->count; e++) {
        const double x = value_at(t, held->row[e], held->col[e]);
        cr_assert_eq((float)x, held->val[e], "held value at (%lld, %lld)", (long long)held->row[e],
                     (long long)held->col[e]);
        if (held->val[e] != 0) held_stored++;
        else held_zeros++;
    }
    for (int64_t e = 0; e < t->count; e++) stored_held += map[t->row[e] * t->cols + t->col[e]];
    cr_expect(held_stored > 0 && held_zeros > 0, "stored %lld, zeros %lld", (long long)held_stored,
              (long long)held_zeros);
    expect_binomial(stored_held, (double)t->count, 0.2, "stored entries");
    expect_binomial(held_zeros, entries - t->count, 0.2, "zeros");
    // kept: exactly the stored entries not held
    cr_expect_eq(kept->count + stored_held, t->count);
    for (int64_t e = 0; e < kept->count; e++) {
        cr_expect(!map[kept->row[e] * kept->cols + kept->col[e]]);
        cr_expect_eq(kept->val[e], (float)value_at(t, kept->row[e], kept->col[e]));
    }
    // the incomplete kind's split of the same entries holds the same ones
    fm_triplets *observed_kept = NULL, *observed_held = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_holdout_split(&observed_kept, &observed_held, t, 0.2, 11, msg), FM_OK, "%s", msg);
    cr_expect_eq(observed_held->count, stored_held);
    for (int64_t e = 0; e < observed_held->count; e++)
        cr_expect(map[observed_held->row[e] * t->cols + observed_held->col[e]]);
    fm_triplets_free(&observed_kept);
    fm_triplets_free(&observed_held);
    free(map);
    fm_triplets_free(&kept);
    fm_triplets_free(&held);
    fm_triplets_free(&t);
}

// The draw depends on the seed and the coordinates only: not on the values,
// the order of the entries or which are stored; another seed draws another
// set; the folds of one seed are disjoint.
Test(holdout, draw_depends_on_seed_and_coordinates_only)
{
    fm_triplets *t = planted(60, 50, 3, 0, 0.4, 3), *kept = NULL, *held = NULL;
    speckle(&kept, &held, t, 0.3, 5);
    unsigned char *map = held_map(held);
    // reversed order, other values, and a dense array of the same shape
    fm_triplets *other = planted(60, 50, 2, 0.5, 0.2, 99);
    for (int64_t e = 0; e < other->count / 2; e++) {
        const int64_t f = other->count - 1 - e;
        int64_t r = other->row[e], c = other->col[e];
        float v = other->val[e];
        other->row[e] = other->row[f], other->col[e] = other->col[f], other->val[e] = other->val[f];
        other->row[f] = r, other->col[f] = c, other->val[f] = v;
    }
    fm_triplets *array = planted(60, 50, 3, 0, 1.0, 4);
    const fm_triplets *same[2] = { other, array };
    for (int c = 0; c < 2; c++) {
        fm_triplets *k2 = NULL, *h2 = NULL;
        speckle(&k2, &h2, same[c], 0.3, 5);
        unsigned char *map2 = held_map(h2);
        cr_expect_eq(memcmp(map, map2, 60 * 50), 0, "case %d: another held set", c);
        if (same[c]->array)   // an array keeps its shape with the held values zeroed
            for (int64_t e = 0; e < 60 * 50; e++)
                cr_expect_eq(k2->val[e], map[e] ? 0.0f : same[c]->val[e]);
        free(map2);
        fm_triplets_free(&k2);
        fm_triplets_free(&h2);
    }
    fm_triplets *k3 = NULL, *h3 = NULL;
    speckle(&k3, &h3, t, 0.3, 6);
    unsigned char *map3 = held_map(h3);
    int64_t both = 0;
    for (int64_t e = 0; e < 60 * 50; e++) both += map[e] && map3[e];
    expect_binomial(both, 60.0 * 50, 0.09, "held by seeds 5 and 6");
    free(map3);
    fm_triplets_free(&k3);
    fm_triplets_free(&h3);
    // folds 0..2 of 0.3: disjoint, fold 0 the plain split
    char msg[FM_MSG_LEN];
    unsigned char *folds = calloc(60 * 50, 1);
    for (int f = 0; f < 3; f++) {
        fm_triplets *kf = NULL, *hf = NULL;
        cr_assert_eq(fm_holdout_fold(&kf, &hf, t, FM_KIND_SPARSE, 0.3, f, 5, msg), FM_OK, "%s", msg);
        for (int64_t e = 0; e < hf->count; e++) {
            const int64_t at = hf->row[e] * 50 + hf->col[e];
            cr_expect_eq(folds[at], 0, "fold %d holds an entry of another fold", f);
            folds[at] = (unsigned char)(f + 1);
            if (f == 0) cr_expect(map[at]);
        }
        if (f == 0) cr_expect_eq(hf->count, held->count);
        fm_triplets_free(&kf);
        fm_triplets_free(&hf);
    }
    fm_triplets *kb = NULL, *hb = NULL;
    cr_expect_eq(fm_holdout_fold(&kb, &hb, t, FM_KIND_SPARSE, 0.3, 3, 5, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "fold 3"), "%s", msg);
    cr_expect_eq(fm_holdout_fold(&kb, &hb, t, FM_KIND_SPARSE, 0, 0, 5, msg), FM_ERR_INVALID);
    cr_expect_eq(fm_holdout_fold(&kb, &hb, t, FM_KIND_SPARSE, 1.0, 0, 5, msg), FM_ERR_INVALID);
    free(folds);
    free(map);
    fm_triplets_free(&array);
    fm_triplets_free(&other);
    fm_triplets_free(&kept);
    fm_triplets_free(&held);
    fm_triplets_free(&t);
}

//------------------------------------------------------------------------------
// The masked update
//------------------------------------------------------------------------------

static fm_dense *random_dense(int64_t rows, int64_t cols, uint64_t seed, double scale)
{
    fm_dense *d = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_dense_new(&d, rows, cols, msg), FM_OK, "%s", msg);
    fm_rng rng = fm_rng_stream(seed, 77);
    for (int64_t e = 0; e < rows * cols; e++) d->data[e] = (float)(scale * fm_rng_uniform(rng, e));
    return d;
}

static fm_dense *copy(const fm_dense *d)
{
    fm_dense *c = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_dense_copy(&c, d, msg), FM_OK, "%s", msg);
    return c;
}

// The largest difference of the duals, relative to the factor's largest
// entry: a dual is in the factor's units, and where the projection keeps an
// entry positive its dual is rounding noise around zero.
static double dual_difference(const fm_dense *u, const fm_dense *u2, const fm_dense *t)
{
    double diff = 0, size = 0;
    for (int64_t e = 0; e < u->rows * u->cols; e++) {
        diff = fmax(diff, fabs((double)u->data[e] - u2->data[e]));
        size = fmax(size, fabs((double)t->data[e]));
    }
    return size > 0 ? diff / size : diff;
}

static double max_relative(const fm_dense *a, const fm_dense *b)
{
    double diff = 0, size = 0;
    for (int64_t e = 0; e < a->rows * a->cols; e++) {
        diff = fmax(diff, fabs((double)a->data[e] - b->data[e]));
        size = fmax(size, fabs((double)b->data[e]));
    }
    return size > 0 ? diff / size : diff;
}

// One W-update of the three routes on a random problem: the kernel, its
// reference and (with `incomplete`) the incomplete kind's update over the
// complement's entries as explicit observations.
static void compare_update(int64_t m, int64_t n, int k, double fraction, bool dense, fm_penalty penalty,
                           uint64_t seed)
{
    char msg[FM_MSG_LEN];
    fm_triplets *t = planted(m, n, 3, 0.2, dense ? 1.0 : 0.4, seed), *kept = NULL, *held = NULL;
    speckle(&kept, &held, t, fraction, seed + 1);
    fm_graph *g = graph(kept, dense ? FM_KIND_DENSE : FM_KIND_SPARSE);
    fm_edges rows = { 0 };
    cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    fm_speckle sp = { 0 };
    cr_assert_eq(fm_speckle_new(&sp, held, &rows, msg), FM_OK, "%s", msg);
    // the complement's entries, zeros included, as an incomplete matrix
    unsigned char *map = held_map(held);
    fm_triplets known = { .rows = m, .cols = n };
    known.row = malloc(sizeof(int64_t) * m * n);
    known.col = malloc(sizeof(int64_t) * m * n);
    known.val = malloc(sizeof(float) * m * n);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++)
            if (!map[i * n + j]) {
                known.row[known.count] = i;
                known.col[known.count] = j;
                known.val[known.count++] = (float)value_at(kept, i, j);
            }
    fm_graph *gi = graph(&known, FM_KIND_INCOMPLETE);
    fm_edges irows = { 0 };
    cr_assert_eq(fm_edges_borrow(&irows, gi, FM_TO_ROWS, msg), FM_OK, "%s", msg);

    fm_dense *S = random_dense(n, k, seed + 2, 1.0), *T = random_dense(m, k, seed + 3, 1.0);
    fm_dense *U = random_dense(m, k, seed + 4, 0.1), *rhs = random_dense(m, k, 0, 0);
    double *gram = malloc(sizeof(double) * k * k);
    cr_assert_eq(fm_products_gram(gram, S, msg), FM_OK, "%s", msg);
    fm_dense *T2 = copy(T), *U2 = copy(U), *T3 = copy(T), *U3 = copy(U);
    cr_assert_eq(fm_admm_update_speckled((fm_admm_factor){ T, U }, rhs, &rows, &sp.rows, S, gram, penalty, 3, msg),
                 FM_OK, "%s", msg);
    cr_assert_eq(fm_admm_update_speckled_reference((fm_admm_factor){ T2, U2 }, &rows, &sp.rows, S, penalty, 3, msg),
                 FM_OK, "%s", msg);
    cr_expect(max_relative(T, T2) < 1e-4 && dual_difference(U, U2, T2) < 1e-4,
              "k %d, fraction %g, %s: kernel against reference %g %g", k, fraction, dense ? "dense" : "sparse",
              max_relative(T, T2), dual_difference(U, U2, T2));
    if (!penalty.l2_per_entry) {   // the incomplete kind weighs the ridge by |Ω_i|
        cr_assert_eq(fm_admm_update_masked((fm_admm_factor){ T3, U3 }, &irows, S, penalty, 3, msg), FM_OK, "%s", msg);
        cr_expect(max_relative(T, T3) < 1e-4 && dual_difference(U, U3, T3) < 1e-4,
                  "k %d, fraction %g, %s: kernel against the incomplete kind %g %g", k, fraction,
                  dense ? "dense" : "sparse", max_relative(T, T3), dual_difference(U, U3, T3));
    }
    // the same bits on one thread and on two
    const int threads = omp_get_max_threads();
    fm_dense *T4 = random_dense(m, k, seed + 3, 1.0), *U4 = random_dense(m, k, seed + 4, 0.1);
    fm_dense *T5 = copy(T4), *U5 = copy(U4);
    omp_set_num_threads(1);
    cr_assert_eq(fm_admm_update_speckled((fm_admm_factor){ T4, U4 }, rhs, &rows, &sp.rows, S, gram, penalty, 3, msg),
                 FM_OK, "%s", msg);
    omp_set_num_threads(2);
    cr_assert_eq(fm_admm_update_speckled((fm_admm_factor){ T5, U5 }, rhs, &rows, &sp.rows, S, gram, penalty, 3, msg),
                 FM_OK, "%s", msg);
    omp_set_num_threads(threads);
    if (dense) {   // the dense gather rounds by thread block (engine/products.c: SGEMM on short rows)
        cr_expect(max_relative(T4, T5) < 1e-5 && dual_difference(U4, U5, T4) < 1e-5, "one thread against two: %g",
                  max_relative(T4, T5));
    } else {
        cr_expect_eq(memcmp(T4->data, T5->data, sizeof(float) * m * k), 0, "one thread against two");
        cr_expect_eq(memcmp(U4->data, U5->data, sizeof(float) * m * k), 0, "one thread against two");
    }

    fm_dense *all[] = { S, T, U, rhs, T2, U2, T3, U3, T4, U4, T5, U5 };
    for (size_t a = 0; a < sizeof all / sizeof all[0]; a++) fm_dense_free(&all[a]);
    free(gram);
    free(known.row);
    free(known.col);
    free(known.val);
    free(map);
    fm_speckle_free(&sp);
    fm_edges_return(&irows, msg);
    fm_edges_return(&rows, msg);
    fm_graph_free(&gi);
    fm_graph_free(&g);
    fm_triplets_free(&kept);
    fm_triplets_free(&held);
    fm_triplets_free(&t);
}

Test(holdout, masked_update_against_references)
{
    const fm_penalty none = { 0 }, both = { .l1 = 0.05f, .l2 = 0.1f }, per_entry = { .l2 = 0.01f,
                                                                                     .l2_per_entry = true };
    const int ranks[] = { 1, 3, 10, 17 };
    for (int r = 0; r < 4; r++) {
        compare_update(41, 33, ranks[r], 0.2, false, none, 10 + r);
        compare_update(41, 33, ranks[r], 0.7, false, both, 20 + r);   // more held than known: the known sum
        compare_update(29, 37, ranks[r], 0.3, true, both, 30 + r);
    }
    compare_update(30, 25, 4, 0.25, false, per_entry, 40);
    compare_update(30, 25, 4, 0.95, true, none, 41);   // rows with every entry held
}

// Ten outer iterations of the speckled updates and of the incomplete kind's
// updates over the complement's entries, from the same factors, agree.
Test(holdout, masked_iterations_match_the_incomplete_kind)
{
    char msg[FM_MSG_LEN];
    const int64_t m = 50, n = 40;
    const int k = 4;
    fm_triplets *t = planted(m, n, 3, 0.1, 0.5, 8), *kept = NULL, *held = NULL;
    speckle(&kept, &held, t, 0.25, 9);
    fm_graph *g = graph(kept, FM_KIND_SPARSE);
    unsigned char *map = held_map(held);
    fm_triplets known = { .rows = m, .cols = n };
    known.row = malloc(sizeof(int64_t) * m * n);
    known.col = malloc(sizeof(int64_t) * m * n);
    known.val = malloc(sizeof(float) * m * n);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++)
            if (!map[i * n + j]) {
                known.row[known.count] = i;
                known.col[known.count] = j;
                known.val[known.count++] = (float)value_at(kept, i, j);
            }
    fm_graph *gi = graph(&known, FM_KIND_INCOMPLETE);
    fm_edges rows = { 0 }, cols = { 0 }, irows = { 0 }, icols = { 0 };
    cr_assert_eq(fm_edges_borrow(&rows, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&cols, g, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&irows, gi, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&icols, gi, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    fm_speckle sp = { 0 };
    cr_assert_eq(fm_speckle_new(&sp, held, &rows, msg), FM_OK, "%s", msg);
    fm_dense *W = random_dense(m, k, 1, 1.0), *Ht = random_dense(n, k, 2, 1.0);
    fm_dense *UW = random_dense(m, k, 0, 0), *UH = random_dense(n, k, 0, 0);
    fm_dense *W2 = copy(W), *Ht2 = copy(Ht), *UW2 = copy(UW), *UH2 = copy(UH);
    fm_dense *XHt = random_dense(m, k, 0, 0), *XtW = random_dense(n, k, 0, 0);
    double gram[16];
    const fm_penalty p = { .l1 = 0.01f };
    for (int it = 0; it < 10; it++) {
        cr_assert_eq(fm_products_gram(gram, W, msg), FM_OK);
        cr_assert_eq(fm_admm_update_speckled((fm_admm_factor){ Ht, UH }, XtW, &cols, &sp.cols, W, gram, p, 1, msg),
                     FM_OK, "%s", msg);
        cr_assert_eq(fm_products_gram(gram, Ht, msg), FM_OK);
        cr_assert_eq(fm_admm_update_speckled((fm_admm_factor){ W, UW }, XHt, &rows, &sp.rows, Ht, gram, p, 1, msg),
                     FM_OK, "%s", msg);
        cr_assert_eq(fm_admm_update_masked((fm_admm_factor){ Ht2, UH2 }, &icols, W2, p, 1, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_admm_update_masked((fm_admm_factor){ W2, UW2 }, &irows, Ht2, p, 1, msg), FM_OK, "%s", msg);
    }
    cr_expect(max_relative(W, W2) < 1e-3 && max_relative(Ht, Ht2) < 1e-3, "W %g, H %g", max_relative(W, W2),
              max_relative(Ht, Ht2));
    fm_dense *all[] = { W, Ht, UW, UH, W2, Ht2, UW2, UH2, XHt, XtW };
    for (size_t a = 0; a < sizeof all / sizeof all[0]; a++) fm_dense_free(&all[a]);
    fm_speckle_free(&sp);
    fm_edges_return(&rows, msg);
    fm_edges_return(&cols, msg);
    fm_edges_return(&irows, msg);
    fm_edges_return(&icols, msg);
    free(known.row);
    free(known.col);
    free(known.val);
    free(map);
    fm_graph_free(&g);
    fm_graph_free(&gi);
    fm_triplets_free(&kept);
    fm_triplets_free(&held);
    fm_triplets_free(&t);
}

//------------------------------------------------------------------------------
// The solver
//------------------------------------------------------------------------------

static fm_solver_options options(int rank, int iters)
{
    fm_solver_options o;
    fm_solver_options_default(&o);
    o.rank = rank;
    o.iters = iters;
    o.tol = 0;
    o.serial_below = 0;   // the caller's thread count
    return o;
}

static fm_solver_result *run(fm_graph *g, const fm_triplets *held, const fm_solver_options *o)
{
    fm_solver_result *r = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_solver_run(&r, g, held, o, msg), FM_OK, "%s", msg);
    return r;
}

static bool same_factors(const fm_solver_result *a, const fm_solver_result *b)
{
    return a->W->rows == b->W->rows && a->H->cols == b->H->cols &&
           !memcmp(a->W->data, b->W->data, sizeof(float) * a->W->rows * a->W->cols) &&
           !memcmp(a->H->data, b->H->data, sizeof(float) * a->H->rows * a->H->cols);
}

static bool close_factors(const fm_solver_result *a, const fm_solver_result *b, double tol)
{
    return max_relative(a->W, b->W) < tol && max_relative(a->H, b->H) < tol;
}

// Changing the held-out entries of X (stored values, zeros made nonzero,
// values made zero) leaves the fitted factors the same bits: they never
// enter the fit. The held-out RMSE does see them. Sparse and dense kinds,
// on one thread and two.
Test(holdout, held_entries_never_enter_the_fit)
{
    for (int dense = 0; dense < 2; dense++) {
        const fm_kind kind = dense ? FM_KIND_DENSE : FM_KIND_SPARSE;
        fm_triplets *t = planted(70, 50, 3, 0.1, dense ? 1.0 : 0.4, 21), *kept = NULL, *held = NULL;
        speckle(&kept, &held, t, 0.2, 4);
        // X changed at every held coordinate: an array, its values made 3 + their old
        fm_triplets *changed = planted(70, 50, 3, 0.1, 1.0, 21);
        if (!dense) {
            memset(changed->val, 0, sizeof(float) * 70 * 50);
            for (int64_t e = 0; e < t->count; e++) changed->val[t->row[e] * 50 + t->col[e]] = t->val[e];
        }
        for (int64_t e = 0; e < held->count; e++) changed->val[held->row[e] * 50 + held->col[e]] += 3.0f;
        fm_triplets *kept2 = NULL, *held2 = NULL;
        speckle(&kept2, &held2, changed, 0.2, 4);
        fm_graph *g = graph(kept, kind), *g2 = graph(kept2, kind);
        fm_solver_options o = options(4, 15);
        fm_solver_result *a = run(g, held, &o), *b = run(g2, held2, &o);
        cr_expect(same_factors(a, b), "%s: the held values moved the factors", fm_kind_name(kind));
        cr_expect_eq(a->trace[15].rmse, b->trace[15].rmse);
        cr_expect(b->trace[15].holdout_rmse > a->trace[15].holdout_rmse + 1, "held-out rmse %g and %g",
                  a->trace[15].holdout_rmse, b->trace[15].holdout_rmse);
        // one thread and two: the same bits
        const int threads = omp_get_max_threads();
        omp_set_num_threads(1);
        fm_solver_result *c = run(g, held, &o);
        omp_set_num_threads(2);
        fm_solver_result *d = run(g, held, &o);
        omp_set_num_threads(threads);
        // the same bits for the sparse kind; the dense gather rounds by
        // thread block (engine/products.c)
        if (dense)
            cr_expect(close_factors(c, d, 1e-4), "%s: one thread against two", fm_kind_name(kind));
        else
            cr_expect(same_factors(c, d), "%s: one thread against two", fm_kind_name(kind));
        fm_solver_result_free(&a);
        fm_solver_result_free(&b);
        fm_solver_result_free(&c);
        fm_solver_result_free(&d);
        fm_graph_free(&g);
        fm_graph_free(&g2);
        fm_triplets_free(&kept2);
        fm_triplets_free(&held2);
        fm_triplets_free(&changed);
        fm_triplets_free(&kept);
        fm_triplets_free(&held);
        fm_triplets_free(&t);
    }
}

// The trace's rmse is over the fitted entries and its holdout rmse over the
// held ones, both as recomputed from the factors.
Test(holdout, trace_rmse_over_fitted_and_held_entries)
{
    fm_triplets *t = planted(60, 45, 3, 0.2, 0.5, 31), *kept = NULL, *held = NULL;
    speckle(&kept, &held, t, 0.2, 2);
    fm_graph *g = graph(kept, FM_KIND_SPARSE);
    fm_solver_options o = options(3, 12);
    fm_solver_result *r = run(g, held, &o);
    unsigned char *map = held_map(held);
    double fitted = 0, heldsq = 0;
    for (int64_t i = 0; i < 60; i++)
        for (int64_t j = 0; j < 45; j++) {
            double p = 0;
            for (int q = 0; q < 3; q++) p += (double)r->W->data[i * 3 + q] * r->H->data[q * 45 + j];
            const double x = value_at(t, i, j), d = (x - p) * (x - p);
            if (map[i * 45 + j]) heldsq += d;
            else fitted += d;
        }
    const fm_solver_iterate *last = &r->trace[12];
    cr_expect(fabs(last->rmse - sqrt(fitted / (60 * 45 - held->count))) < 1e-5 * last->rmse, "%.9g %.9g",
              last->rmse, sqrt(fitted / (60 * 45 - held->count)));
    cr_expect(fabs(last->holdout_rmse - sqrt(heldsq / held->count)) < 1e-6 * last->holdout_rmse);
    for (int it = 1; it < r->trace_len; it++)   // the fit's objective does not rise
        cr_expect(r->trace[it].objective <= r->trace[it - 1].objective * (1 + 1e-6), "iteration %d", it);
    free(map);
    fm_solver_result_free(&r);
    fm_graph_free(&g);
    fm_triplets_free(&kept);
    fm_triplets_free(&held);
    fm_triplets_free(&t);
}

// A noisy low-rank matrix fitted at a higher rank: the held-out RMSE falls,
// then rises. keep_best returns the factors of a run stopped at the best
// iteration; patience stops that many iterations after it.
static void keep_best_and_patience(fm_kind kind)
{
    char msg[FM_MSG_LEN];
    fm_triplets *t = planted(60, 50, 2, 0.2, kind == FM_KIND_INCOMPLETE ? 0.6 : 1.0, 13), *kept = NULL,
                *held = NULL;
    cr_assert_eq(fm_holdout_fold(&kept, &held, t, kind, 0.2, 0, 3, msg), FM_OK, "%s", msg);
    fm_graph *g = graph(kept, kind);
    fm_solver_options o = options(8, 80);
    o.init = FM_INIT_RANDOM;
    fm_solver_result *all = run(g, held, &o);
    const int best = all->best_iteration;
    cr_assert(best > 0 && best < 80, "%s: best held-out rmse at iteration %d", fm_kind_name(kind), best);
    for (int it = 0; it < all->trace_len; it++) {
        cr_expect(all->trace[it].holdout_rmse >= all->best_holdout_rmse);
        if (it < best) cr_expect(all->trace[it].holdout_rmse > all->best_holdout_rmse);
    }
    o.keep_best = true;
    fm_solver_result *kept_best = run(g, held, &o);
    cr_expect_eq(kept_best->trace_len, 81);
    cr_expect_eq(kept_best->best_iteration, best);
    o.keep_best = false;
    o.iters = best;
    fm_solver_result *stopped = run(g, held, &o);
    cr_expect(same_factors(kept_best, stopped), "%s: keep_best is not the run stopped at iteration %d",
              fm_kind_name(kind), best);
    o.iters = 80;
    o.patience = 5;
    fm_solver_result *patient = run(g, held, &o);
    cr_expect_str_eq(patient->stop_reason, "patience");
    cr_expect_eq(patient->trace_len - 1, best + 5);
    cr_expect_eq(patient->best_iteration, best);
    fm_solver_result *results[] = { all, kept_best, stopped, patient };
    for (int e = 0; e < 4; e++) fm_solver_result_free(&results[e]);
    fm_graph_free(&g);
    fm_triplets_free(&kept);
    fm_triplets_free(&held);
    fm_triplets_free(&t);
}

Test(holdout, keep_best_and_patience_dense) { keep_best_and_patience(FM_KIND_DENSE); }
Test(holdout, keep_best_and_patience_incomplete) { keep_best_and_patience(FM_KIND_INCOMPLETE); }

Test(holdout, bad_inputs)
{
    char msg[FM_MSG_LEN];
    fm_triplets *t = planted(30, 20, 2, 0, 0.5, 1), *kept = NULL, *held = NULL;
    speckle(&kept, &held, t, 0.2, 1);
    fm_graph *g = graph(kept, FM_KIND_SPARSE), *whole = graph(t, FM_KIND_SPARSE);
    fm_solver_result *r = NULL;
    fm_solver_options o = options(2, 5);
    o.keep_best = true;
    cr_expect_eq(fm_solver_run(&r, g, NULL, &o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "held-out"), "%s", msg);
    o.keep_best = false;
    o.patience = -1;
    cr_expect_eq(fm_solver_run(&r, g, held, &o, msg), FM_ERR_INVALID);
    o.patience = 0;
    // the graph still holds the held-out values
    cr_expect_eq(fm_solver_run(&r, whole, held, &o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "held-out coordinate"), "%s", msg);
    // a coordinate held twice, one outside the matrix
    held->row[1] = held->row[0], held->col[1] = held->col[0];
    cr_expect_eq(fm_solver_run(&r, g, held, &o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "twice"), "%s", msg);
    held->col[1] = 20;
    cr_expect_eq(fm_solver_run(&r, g, held, &o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "outside"), "%s", msg);
    o.accelerate = true;
    cr_expect_eq(fm_solver_run(&r, g, held, &o, msg), FM_ERR_INVALID);
    cr_expect_null(r);
    fm_graph_free(&g);
    fm_graph_free(&whole);
    fm_triplets_free(&kept);
    fm_triplets_free(&held);
    fm_triplets_free(&t);
}
