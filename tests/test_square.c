// The graph of a square matrix (engine/square.c) against a dense reference
// built from the same triplets: duplicates summed, the symmetric mirror, both
// orientations of the lower part and the map between them, the P2 scaling,
// the first asymmetric pair, and the errors of bad input.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "rng.h"
#include "solver_fixtures.h"
#include "square.h"

TestSuite(square, .init = fm_test_setup);

typedef struct triplets {
    int64_t count;
    int64_t *row, *col;
    double *val;
} triplets;

// `count` random entries of an n × n matrix (many duplicates when count is
// large against n²), some explicit zeros, then every diagonal entry once.
// `lower`: only entries i ≥ j.
static triplets random_triplets(int64_t n, int64_t count, bool lower, uint64_t seed)
{
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    triplets t = { .count = count + n };
    t.row = malloc(sizeof(int64_t) * t.count);
    t.col = malloc(sizeof(int64_t) * t.count);
    t.val = malloc(sizeof(double) * t.count);
    cr_assert(t.row && t.col && t.val);
    for (int64_t e = 0; e < count; e++) {
        int64_t i = (int64_t)(fm_rng_uniform(rng, 3 * e) * n), j = (int64_t)(fm_rng_uniform(rng, 3 * e + 1) * n);
        if (lower && j > i) { int64_t s = i; i = j; j = s; }
        t.row[e] = i;
        t.col[e] = j;
        t.val[e] = e % 11 == 5 ? 0.0 : fm_rng_normal(rng, 3 * e + 2);
    }
    for (int64_t i = 0; i < n; i++) {
        t.row[count + i] = i;
        t.col[count + i] = i;
        t.val[count + i] = i % 7 == 3 ? 0.0 : 1.0 + fm_rng_uniform(rng, 10 * count + i) * (i % 2 ? -4 : 4);
    }
    return t;
}

static void triplets_free(triplets *t)
{
    free(t->row);
    free(t->col);
    free(t->val);
}

// The dense matrix the triplets make (summed in their order) and its pattern.
static void dense_of(const triplets *t, int64_t n, bool mirror, double *dense, bool *stored)
{
    memset(dense, 0, sizeof(double) * n * n);
    memset(stored, 0, sizeof(bool) * n * n);
    for (int64_t e = 0; e < t->count; e++) {
        dense[t->row[e] * n + t->col[e]] += t->val[e];
        stored[t->row[e] * n + t->col[e]] = true;
        if (mirror && t->row[e] != t->col[e]) {
            dense[t->col[e] * n + t->row[e]] += t->val[e];
            stored[t->col[e] * n + t->row[e]] = true;
        }
    }
}

static fm_square *build(const triplets *t, int64_t n, bool mirror)
{
    fm_square *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_square_from_triplets(&g, n, t->count, t->row, t->col, t->val, mirror, msg), FM_OK, "%s", msg);
    cr_assert_not_null(g);
    return g;
}

// M by rows holds exactly the stored entries of the dense matrix (those with
// i ≥ j when `lower_only`), columns ascending; `transposed` reads M's row r as
// column r.
static void expect_csr(const fm_csr *M, int64_t n, const double *dense, const bool *stored, bool lower_only,
                       bool transposed)
{
    cr_assert_eq(M->n, n);
    cr_assert_eq(M->start[0], 0);
    int64_t expected = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) expected += stored[i * n + j] && (!lower_only || j <= i);
    cr_assert_eq(M->count, expected);
    cr_assert_eq(M->start[n], expected);
    for (int64_t r = 0; r < n; r++)
        for (int64_t k = M->start[r]; k < M->start[r + 1]; k++) {
            const int64_t c = M->index[k];
            cr_assert(c >= 0 && c < n);
            if (k > M->start[r]) cr_assert_lt(M->index[k - 1], c, "row %lld not ascending", (long long)r);
            const int64_t i = transposed ? c : r, j = transposed ? r : c;
            cr_assert(stored[i * n + j], "(%lld, %lld) is not stored", (long long)i, (long long)j);
            cr_assert(!lower_only || j <= i);
            cr_assert_eq(M->value[k], dense[i * n + j], "(%lld, %lld): %g against %g", (long long)i, (long long)j,
                         M->value[k], dense[i * n + j]);
        }
}

// lower by rows ends each row with the diagonal, by columns begins each with
// it, and lower_edge maps each by-columns entry onto the same edge by rows.
static void expect_lower(const fm_square *g, const double *dense, const bool *stored)
{
    const int64_t n = g->n;
    expect_csr(g->lower, n, dense, stored, true, false);
    expect_csr(g->lower_by_columns, n, dense, stored, true, true);
    int64_t *row_of = malloc(sizeof(int64_t) * (g->lower->count + 1));
    for (int64_t i = 0; i < n; i++) {
        cr_assert_eq(g->lower->index[g->lower->start[i + 1] - 1], i, "row %lld: diagonal not last", (long long)i);
        cr_assert_eq(g->lower_by_columns->index[g->lower_by_columns->start[i]], i);
        for (int64_t k = g->lower->start[i]; k < g->lower->start[i + 1]; k++) row_of[k] = i;
    }
    bool *seen = calloc(g->lower->count + 1, 1);
    for (int64_t j = 0; j < n; j++)
        for (int64_t k = g->lower_by_columns->start[j]; k < g->lower_by_columns->start[j + 1]; k++) {
            const int64_t e = g->lower_edge[k];
            cr_assert(e >= 0 && e < g->lower->count && !seen[e]);
            seen[e] = true;
            cr_assert_eq(row_of[e], g->lower_by_columns->index[k]);
            cr_assert_eq(g->lower->index[e], j);
            cr_assert_eq(g->lower->value[e], g->lower_by_columns->value[k]);
        }
    free(seen);
    free(row_of);
}

static void check_against_dense(int64_t n, int64_t count, bool mirror, uint64_t seed)
{
    triplets t = random_triplets(n, count, mirror && seed % 2 == 0, seed);
    double *dense = malloc(sizeof(double) * n * n);
    bool *stored = malloc(sizeof(bool) * n * n);
    dense_of(&t, n, mirror, dense, stored);
    fm_square *g = build(&t, n, mirror);
    cr_assert_eq(g->n, n);
    expect_csr(g->A, n, dense, stored, false, false);
    expect_lower(g, dense, stored);
    for (int64_t i = 0; i < n; i++) {
        const double d = fabs(dense[i * n + i]);
        cr_assert_eq(g->scale[i], d > 0 ? sqrt(d) : 1.0);
    }
    bool symmetric = true;
    for (int64_t i = 0; i < n && symmetric; i++)
        for (int64_t j = 0; j < n; j++)
            if (stored[i * n + j] != stored[j * n + i] || dense[i * n + j] != dense[j * n + i]) symmetric = false;
    cr_assert_eq(g->symmetric, symmetric);
    if (mirror) cr_assert(g->symmetric, "a mirrored matrix is symmetric");
    fm_square_free(&g);
    cr_assert_null(g);
    free(dense);
    free(stored);
    triplets_free(&t);
}

Test(square, general_against_dense)
{
    check_against_dense(1, 0, false, 1);
    check_against_dense(7, 40, false, 2);      // many duplicates
    check_against_dense(40, 300, false, 3);
    check_against_dense(63, 2000, false, 5);
}

// Mirrored: a lower-triangle file (even seeds) and one that also holds upper
// entries (odd seeds), each of which is mirrored too.
Test(square, mirror_against_dense)
{
    check_against_dense(7, 40, true, 2);
    check_against_dense(40, 300, true, 4);
    check_against_dense(40, 300, true, 7);
    check_against_dense(63, 2000, true, 9);
}

Test(square, builds_with_any_thread_count)
{
    triplets t = random_triplets(300, 3000, false, 11);
    omp_set_num_threads(1);
    fm_square *one = build(&t, 300, false);
    omp_set_num_threads(3);
    fm_square *three = build(&t, 300, false);
    omp_set_num_threads(2);
    cr_assert_eq(one->A->count, three->A->count);
    cr_assert(!memcmp(one->A->index, three->A->index, sizeof(int64_t) * one->A->count));
    cr_assert(!memcmp(one->A->value, three->A->value, sizeof(double) * one->A->count));
    cr_assert_eq(one->symmetric, three->symmetric);
    fm_square_free(&one);
    fm_square_free(&three);
    triplets_free(&t);
}

Test(square, transpose_against_dense)
{
    const int64_t n = 50;
    triplets t = random_triplets(n, 500, false, 13);
    double *dense = malloc(sizeof(double) * n * n), *flipped = malloc(sizeof(double) * n * n);
    bool *stored = malloc(sizeof(bool) * n * n), *flipped_stored = malloc(sizeof(bool) * n * n);
    dense_of(&t, n, false, dense, stored);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            flipped[j * n + i] = dense[i * n + j];
            flipped_stored[j * n + i] = stored[i * n + j];
        }
    fm_square *g = build(&t, n, false);
    fm_csr *T = NULL, *TT = NULL, *copy = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_csr_transpose(&T, g->A, msg), FM_OK, "%s", msg);
    expect_csr(T, n, flipped, flipped_stored, false, false);
    cr_assert_eq(fm_csr_transpose(&TT, T, msg), FM_OK, "%s", msg);
    expect_csr(TT, n, dense, stored, false, false);
    cr_assert_eq(fm_csr_copy(&copy, g->A, msg), FM_OK, "%s", msg);
    expect_csr(copy, n, dense, stored, false, false);
    cr_assert_eq(fm_csr_copy(&copy, g->A, msg), FM_ERR_INVALID, "the output must be NULL on entry");
    fm_csr_free(&T);
    fm_csr_free(&TT);
    fm_csr_free(&copy);
    fm_square_free(&g);
    free(dense);
    free(flipped);
    free(stored);
    free(flipped_stored);
    triplets_free(&t);
}

Test(square, scaled_is_unit_diagonal)
{
    const int64_t n = 60;
    for (int mirror = 0; mirror < 2; mirror++) {
        triplets t = random_triplets(n, 700, mirror, 17 + mirror);
        for (int64_t e = 0; e < t.count; e++) t.val[e] *= e % 3 == 0 ? 1e8 : e % 3 == 1 ? 1e-6 : 1;
        fm_square *g = build(&t, n, mirror);
        fm_square *s = NULL;
        char msg[FM_MSG_LEN];
        cr_assert_eq(fm_square_scaled(&s, g, msg), FM_OK, "%s", msg);
        cr_assert_eq(s->symmetric, g->symmetric);
        cr_assert_eq(s->A->count, g->A->count);
        cr_assert(!memcmp(s->A->start, g->A->start, sizeof(int64_t) * (n + 1)));
        cr_assert(!memcmp(s->A->index, g->A->index, sizeof(int64_t) * g->A->count));
        for (int64_t i = 0; i < n; i++) {
            cr_assert_eq(s->scale[i], 1.0);
            for (int64_t k = g->A->start[i]; k < g->A->start[i + 1]; k++) {
                const int64_t j = g->A->index[k];
                const double a = g->A->value[k], expected = a / (g->scale[i] * g->scale[j]);
                if (i == j)
                    cr_assert_eq(fabs(s->A->value[k]), a == 0 ? 0.0 : 1.0);
                else
                    cr_assert_leq(fabs(s->A->value[k] - expected), 1e-15 * fabs(expected));
            }
        }
        // the scaled lower part is the lower part of the scaled matrix
        double *dense = calloc(n * n, sizeof(double));
        bool *stored = calloc(n * n, sizeof(bool));
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = s->A->start[i]; k < s->A->start[i + 1]; k++) {
                dense[i * n + s->A->index[k]] = s->A->value[k];
                stored[i * n + s->A->index[k]] = true;
            }
        expect_lower(s, dense, stored);
        if (mirror) cr_assert(s->symmetric && fm_square_first_asymmetry(s, &(int64_t){0}, &(int64_t){0}));
        free(dense);
        free(stored);
        fm_square_free(&s);
        fm_square_free(&g);
        triplets_free(&t);
    }
}

// The first asymmetric pair in row order against a dense scan.
static void expect_first_asymmetry(const triplets *t, int64_t n)
{
    double *dense = malloc(sizeof(double) * n * n);
    bool *stored = malloc(sizeof(bool) * n * n);
    dense_of(t, n, false, dense, stored);
    int64_t fi = -1, fj = -1;
    for (int64_t i = 0; i < n && fi < 0; i++)
        for (int64_t j = 0; j < n; j++)
            if (stored[i * n + j] != stored[j * n + i] || dense[i * n + j] != dense[j * n + i]) {
                fi = i;
                fj = j;
                break;
            }
    fm_square *g = build(t, n, false);
    int64_t i = -1, j = -1;
    const bool symmetric = fm_square_first_asymmetry(g, &i, &j);
    cr_assert_eq(symmetric, fi < 0);
    cr_assert_eq(g->symmetric, fi < 0);
    if (fi >= 0) cr_assert(i == fi && j == fj, "(%lld, %lld), expected (%lld, %lld)", (long long)i, (long long)j,
                           (long long)fi, (long long)fj);
    fm_square_free(&g);
    free(dense);
    free(stored);
}

Test(square, first_asymmetry)
{
    const int64_t n = 30;
    // a symmetric matrix as explicit triplets: both halves, in scrambled order
    triplets half = random_triplets(n, 120, true, 21);
    triplets t = { .count = 0 };
    t.row = malloc(sizeof(int64_t) * 2 * half.count);
    t.col = malloc(sizeof(int64_t) * 2 * half.count);
    t.val = malloc(sizeof(double) * 2 * half.count);
    for (int64_t e = 0; e < half.count; e++) {
        t.row[t.count] = half.row[e], t.col[t.count] = half.col[e], t.val[t.count++] = half.val[e];
        if (half.row[e] != half.col[e])
            t.row[t.count] = half.col[e], t.col[t.count] = half.row[e], t.val[t.count++] = half.val[e];
    }
    expect_first_asymmetry(&t, n);
    // a changed value (a late entry, so the first pair is not the first entry)
    for (int64_t e = t.count - 1; e >= 0; e--)
        if (t.row[e] != t.col[e]) { t.val[e] += 1; break; }
    expect_first_asymmetry(&t, n);
    // a lower entry whose mirror is absent: the pair is named by its upper end
    t.row[t.count] = 25, t.col[t.count] = 1, t.val[t.count++] = 0.0; // an explicit zero counts as stored
    expect_first_asymmetry(&t, n);
    // many random asymmetries
    triplets r = random_triplets(n, 200, false, 23);
    expect_first_asymmetry(&r, n);
    triplets_free(&r);
    triplets_free(&t);
    triplets_free(&half);
}

static int build_status(int64_t n, int64_t count, const int64_t *row, const int64_t *col, const double *val,
                        bool mirror, char *msg)
{
    fm_square *g = NULL;
    const int status = fm_square_from_triplets(&g, n, count, row, col, val, mirror, msg);
    if (status == FM_OK) fm_square_free(&g);
    else cr_assert_null(g, "no output on failure");
    return status;
}

Test(square, bad_input)
{
    char msg[FM_MSG_LEN];
    int64_t row[] = { 0, 1, 2, 2, 0 }, col[] = { 0, 1, 2, 0, 2 };
    double val[] = { 4, 5, 6, -1, -1 };
    cr_assert_eq(build_status(3, 5, row, col, val, false, msg), FM_OK, "%s", msg);
    // a missing diagonal
    col[1] = 0;
    cr_assert_eq(build_status(3, 5, row, col, val, false, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "row 2") && strstr(msg, "diagonal"), "%s", msg);
    col[1] = 1;
    // out of range, both ends
    row[3] = 3;
    cr_assert_eq(build_status(3, 5, row, col, val, false, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "entry 4") && strstr(msg, "outside"), "%s", msg);
    row[3] = 2;
    col[4] = -1;
    cr_assert_eq(build_status(3, 5, row, col, val, true, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "entry 5") && strstr(msg, "outside"), "%s", msg);
    col[4] = 2;
    // not finite
    val[2] = NAN;
    cr_assert_eq(build_status(3, 5, row, col, val, false, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "entry 3") && strstr(msg, "finite"), "%s", msg);
    val[2] = -INFINITY;
    cr_assert_eq(build_status(3, 5, row, col, val, false, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "entry 3"), "%s", msg);
    val[2] = 6;
    // duplicates that overflow
    int64_t drow[] = { 0, 0, 1 }, dcol[] = { 0, 0, 1 };
    double dval[] = { 1.5e308, 1.5e308, 1 };
    cr_assert_eq(build_status(2, 3, drow, dcol, dval, false, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "(1, 1)") && strstr(msg, "finite"), "%s", msg);
    // order and arguments
    cr_assert_eq(build_status(0, 0, row, col, val, false, msg), FM_ERR_INVALID);
    cr_assert_eq(build_status(-3, 5, row, col, val, false, msg), FM_ERR_INVALID);
    cr_assert_eq(build_status(3, -1, row, col, val, false, msg), FM_ERR_INVALID);
    cr_assert_eq(build_status(3, 5, NULL, col, val, false, msg), FM_ERR_INVALID);
    cr_assert_eq(build_status(3, 0, NULL, NULL, NULL, false, msg), FM_ERR_INVALID); // no diagonal
    fm_square *g = NULL;
    cr_assert_eq(fm_square_from_triplets(&g, 3, 5, row, col, val, false, msg), FM_OK, "%s", msg);
    fm_square *kept = g;
    cr_assert_eq(fm_square_from_triplets(&g, 3, 5, row, col, val, false, msg), FM_ERR_INVALID);
    cr_assert_eq(g, kept, "an output that is not NULL on entry is left alone");
    cr_assert_eq(fm_square_scaled(&g, kept, msg), FM_ERR_INVALID);
    fm_square_free(&g);
    fm_csr *m = NULL;
    cr_assert_eq(fm_csr_new(&m, -1, 0, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_csr_new(&m, 0, 0, msg), FM_OK, "%s", msg);
    cr_assert_eq(m->start[0], 0);
    fm_csr_free(&m);
}

// Found by tests/fuzz/fuzz_mtx_system (corpus/mtx_system/scale_overflow): an
// off-diagonal entry far beyond sqrt|a_ii a_jj| made â_ij = Inf, which the
// networks and solvers downstream would have taken as data; now an error
// naming the entry, in either triangle, and no output.
Test(square, scaled_entry_that_overflows_is_an_error)
{
    for (int upper = 0; upper < 2; upper++) {
        const int64_t row[4] = { 0, 1, upper ? 0 : 1, 1 }, col[4] = { 0, 1, upper ? 1 : 0, 0 };
        const double val[4] = { 1e-300, 1e-300, 1e300, upper ? 1 : 2 };
        fm_square *g = NULL, *s = NULL;
        char msg[FM_MSG_LEN];
        cr_assert_eq(fm_square_from_triplets(&g, 2, upper ? 4 : 3, row, col, val, false, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_square_scaled(&s, g, msg), FM_ERR_NUMERIC);
        cr_assert_null(s);
        cr_assert_not_null(strstr(msg, upper ? "(1, 2)" : "(2, 1)"), "%s", msg);
        cr_assert_not_null(strstr(msg, "not finite"), "%s", msg);
        fm_square_free(&g);
    }
    // at the edge: |a_ij| = sqrt|a_ii a_jj| with tiny and huge diagonals stays finite (±1)
    const int64_t row[4] = { 0, 1, 1, 0 }, col[4] = { 0, 1, 0, 1 };
    const double val[4] = { 1e-300, 1e300, -1, -1 };
    fm_square *g = NULL, *s = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_square_from_triplets(&g, 2, 4, row, col, val, false, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_square_scaled(&s, g, msg), FM_OK, "%s", msg);
    for (int64_t k = 0; k < s->A->count; k++) cr_assert_leq(fabs(s->A->value[k]), 1 + 1e-15);
    fm_square_free(&s);
    fm_square_free(&g);
}

// A 5-point grid Laplacian of n = 250 000 (a million and a quarter entries,
// mirrored from its lower part) builds; the result is spot-checked.
Test(square, large_grid)
{
    const int64_t side = 500, n = side * side;
    fm_square *g = fm_test_grid_square(side);
    cr_assert_eq(g->A->count, 5 * n - 4 * side);
    cr_assert_eq(g->lower->count, 3 * n - 2 * side);
    cr_assert(g->symmetric);
    for (int64_t i = 0; i < n; i += 997) {
        double sum = 0;
        for (int64_t k = g->A->start[i]; k < g->A->start[i + 1]; k++) sum += g->A->value[k];
        const int64_t r = i / side, c = i % side;
        cr_assert_eq(sum, (r == 0) + (r == side - 1) + (c == 0) + (c == side - 1), "row %lld", (long long)i);
        cr_assert_eq(g->scale[i], 2.0);
    }
    fm_square_free(&g);
}
