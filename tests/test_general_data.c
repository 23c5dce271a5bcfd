// The data of P7 for GMRES (models/precond/general_data): the sparse
// M M'ᵀ + αI against its dense reference and not symmetric; the
// convection–diffusion matrix (the 5-point pattern, every diagonal stored, an
// M-matrix by rows, nonsymmetric at large Péclet numbers, its Péclet number
// recomputed from the upwind parts of the stencil, the draws within the range,
// a divergence-free velocity); the same bits for 1 and 2 threads, other seeds
// other matrices; the graph of a square matrix takes both as they are; bad
// sizes and options refused with a message.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "general_data.h"
#include "helpers.h"
#include "square.h"

TestSuite(general_data, .init = fm_test_setup);

static fm_system_matrix *convection(int64_t g, uint64_t seed, double lo, double hi, double *peclet)
{
    char msg[FM_MSG_LEN];
    fm_general_options o;
    fm_general_defaults(&o);
    o.peclet_min = lo;
    o.peclet_max = hi;
    fm_system_matrix *A = NULL;
    cr_assert_eq(fm_general_convection(&A, g, seed, &o, peclet, msg), FM_OK, "%s", msg);
    return A;
}

// The dense row-major matrix of general triplets (each position once).
static double *dense_of(const fm_system_matrix *A)
{
    const int64_t n = A->n;
    cr_assert(!A->symmetric);
    double *d = calloc((size_t)(n * n), sizeof *d);
    bool *seen = calloc((size_t)(n * n), sizeof *seen);
    for (int64_t k = 0; k < A->count; k++) {
        const int64_t i = A->row[k], j = A->col[k];
        cr_assert(i >= 0 && i < n && j >= 0 && j < n, "entry %lld out of range", (long long)k);
        cr_assert(!seen[i * n + j], "(%lld, %lld) is stored twice", (long long)i, (long long)j);
        seen[i * n + j] = true;
        d[i * n + j] = A->val[k];
    }
    free(seen);
    return d;
}

// Rows ascending, each row's columns ascending, its diagonal stored.
static void expect_sorted_with_diagonal(const fm_system_matrix *A)
{
    int64_t k = 0;
    for (int64_t i = 0; i < A->n; i++) {
        int64_t last = -1;
        bool diagonal = false;
        for (; k < A->count && A->row[k] == i; k++) {
            cr_assert_gt(A->col[k], last, "row %lld: columns ascending", (long long)i);
            last = A->col[k];
            diagonal = diagonal || A->col[k] == i;
        }
        cr_assert(diagonal, "row %lld stores its diagonal", (long long)i);
    }
    cr_assert_eq(k, A->count, "rows ascending");
}

static bool same_matrix(const fm_system_matrix *a, const fm_system_matrix *b)
{
    return a->n == b->n && a->count == b->count && a->symmetric == b->symmetric &&
           memcmp(a->row, b->row, (size_t)a->count * sizeof *a->row) == 0 &&
           memcmp(a->col, b->col, (size_t)a->count * sizeof *a->col) == 0 &&
           memcmp(a->val, b->val, (size_t)a->count * sizeof *a->val) == 0;
}

// The largest |a_ij − a_ji| of a dense n × n matrix.
static double asymmetry(const double *d, int64_t n)
{
    double most = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < i; j++) most = fmax(most, fabs(d[i * n + j] - d[j * n + i]));
    return most;
}

//------------------------------------------------------------------------------
// Random nonsymmetric
//------------------------------------------------------------------------------

Test(general_data, product_matches_dense_reference)
{
    char msg[FM_MSG_LEN];
    for (uint64_t seed = 1; seed <= 4; seed++) {
        const int64_t n = 37 + 11 * (int64_t)seed;
        // from nearly empty (rows without entries: the diagonal alone) to
        // dense rows (the scan of the marks instead of the sort)
        const int64_t entries = seed == 4 ? n * n / 2 : (int64_t)(seed * seed) * n / 3;
        fm_system_matrix *M = NULL, *M2 = NULL, *A = NULL;
        double *want = NULL;
        cr_assert_eq(fm_spd_random_factor(&M, n, entries, seed, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_spd_random_factor(&M2, n, entries, seed + 100, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_general_product(&A, M, M2, 0.25, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_general_product_dense_reference(&want, M, M2, 0.25, msg), FM_OK, "%s", msg);
        expect_sorted_with_diagonal(A);
        double *got = dense_of(A);
        for (int64_t i = 0; i < n * n; i++)
            cr_assert(fabs(got[i] - want[i]) <= 1e-13 * (1 + fabs(want[i])), "seed %llu (%lld, %lld): %.17g, the "
                      "reference %.17g", (unsigned long long)seed, (long long)(i / n), (long long)(i % n), got[i],
                      want[i]);
        cr_assert_gt(asymmetry(want, n), 0.1, "M M'^T is not symmetric (seed %llu)", (unsigned long long)seed);
        free(got);
        free(want);
        fm_system_matrix_free(&M);
        fm_system_matrix_free(&M2);
        fm_system_matrix_free(&A);
    }
}

// The class itself: M and M' differ (so A is not symmetric), the diagonal is
// α plus M's row times M''s row, and a row holds about as many entries as the
// SPD class's (rows i, j of M, M' share a column with probability about
// 1 − (1 − p²)^n).
Test(general_data, random_class_is_nonsymmetric_with_the_expected_entries)
{
    char msg[FM_MSG_LEN];
    const int64_t n = 1500;
    const double p = 6e-3;
    const double expected = 1 + (double)(n - 1) * (1 - pow(1 - p * p, (double)n));
    fm_general_options o;
    fm_general_defaults(&o);
    o.density = p;
    for (uint64_t seed = 1; seed <= 2; seed++) {
        fm_system_matrix *A = NULL;
        cr_assert_eq(fm_general_random(&A, n, seed, &o, msg), FM_OK, "%s", msg);
        cr_assert(!A->symmetric);
        expect_sorted_with_diagonal(A);
        const double per_row = (double)A->count / (double)n;
        cr_assert(fabs(per_row / expected - 1) < 0.1, "%.2f entries a row, expected about %.2f", per_row, expected);
        fm_square *g = NULL;
        cr_assert_eq(fm_square_from_triplets(&g, n, A->count, A->row, A->col, A->val, false, msg), FM_OK, "%s", msg);
        int64_t i = -1, j = -1;
        cr_assert(!fm_square_first_asymmetry(g, &i, &j), "A = M M'^T + aI is not symmetric");
        fm_square_free(&g);
        fm_system_matrix_free(&A);
    }
}

//------------------------------------------------------------------------------
// Convection–diffusion
//------------------------------------------------------------------------------

// The 5-point stencils of a g × g grid's matrix, row by row: south, west,
// the diagonal, east, north (NaN where the neighbour lies outside the grid);
// any other entry fails the test.
enum { SOUTH, WEST, CENTRE, EAST, NORTH };

static double *stencils(const fm_system_matrix *A, int64_t g)
{
    const int64_t n = g * g;
    double *s = malloc((size_t)(5 * n) * sizeof *s);
    for (int64_t k = 0; k < 5 * n; k++) s[k] = NAN;
    for (int64_t k = 0; k < A->count; k++) {
        const int64_t i = A->row[k], j = A->col[k];
        const int e = j == i - g ? SOUTH : j == i - 1 && i % g > 0 ? WEST : j == i ? CENTRE
                    : j == i + 1 && j % g > 0 ? EAST : j == i + g ? NORTH : -1;
        cr_assert(e >= 0, "(%lld, %lld) is not in the 5-point stencil", (long long)i, (long long)j);
        cr_assert(isnan(s[5 * i + e]), "(%lld, %lld) is stored twice", (long long)i, (long long)j);
        s[5 * i + e] = A->val[k];
    }
    return s;
}

// What row i of the upwind stencil tells of c = hβ at its node: c_x = east −
// west and c_y = north − south where both neighbours exist; |c| of one
// component from the one neighbour that shows its upwind part (west
// −1 − max(c_x, 0), east −1 + min(c_x, 0), the same south and north); the
// other from the diagonal 4 + |c_x| + |c_y|. Only a corner whose present
// neighbours both lie downstream gives the sum alone. Returns the bounds of
// the node's Péclet number |c|/2 (equal when known).
typedef struct { double lo, hi, cx, cy; } node_peclet;

static node_peclet peclet_of_row(const double *stencil, int64_t g, int64_t i)
{
    const double *s = stencil + 5 * i;
    const int64_t p = i / g, q = i % g;
    const double excess = s[CENTRE] - 4;   // |c_x| + |c_y|
    double ax = NAN, ay = NAN, cx = NAN, cy = NAN;
    if (q > 0 && q < g - 1) cx = s[EAST] - s[WEST], ax = fabs(cx);
    else if (q < g - 1 && s[EAST] < -1) ax = -1 - s[EAST];
    else if (q > 0 && s[WEST] < -1) ax = -1 - s[WEST];
    if (p > 0 && p < g - 1) cy = s[NORTH] - s[SOUTH], ay = fabs(cy);
    else if (p < g - 1 && s[NORTH] < -1) ay = -1 - s[NORTH];
    else if (p > 0 && s[SOUTH] < -1) ay = -1 - s[SOUTH];
    if (isnan(ax) && !isnan(ay)) ax = fmax(excess - ay, 0);
    if (isnan(ay) && !isnan(ax)) ay = fmax(excess - ax, 0);
    if (isnan(ax)) return (node_peclet){ excess / (2 * sqrt(2.0)), excess / 2, cx, cy };
    const double norm = hypot(ax, ay) / 2;
    return (node_peclet){ norm, norm, cx, cy };
}

Test(general_data, convection_is_an_upwind_m_matrix)
{
    const int64_t g = 14, n = g * g;
    for (uint64_t seed = 0; seed < 8; seed++) {
        double pe = NAN;
        fm_system_matrix *A = convection(g, seed, 0.1, 100, &pe);
        cr_assert_eq(A->n, n);
        cr_assert_eq(A->count, n + 4 * g * (g - 1));
        expect_sorted_with_diagonal(A);
        double *d = dense_of(A);
        for (int64_t i = 0; i < n; i++) {
            const int64_t p = i / g, q = i % g;
            const int neighbours = (p > 0) + (p < g - 1) + (q > 0) + (q < g - 1);
            int stored = 0;
            double off = 0;
            for (int64_t j = 0; j < n; j++) {
                if (d[i * n + j] == 0) continue;
                stored++;
                if (j == i) continue;
                cr_assert_eq(llabs(j / g - p) + llabs(j % g - q), 1, "(%lld, %lld) couples nodes that are not "
                             "neighbours", (long long)i, (long long)j);
                cr_assert_leq(d[i * n + j], -1, "the Laplacian's -1 plus the upwind part");
                off += -d[i * n + j];
            }
            cr_assert_eq(stored, neighbours + 1, "row %lld holds %d entries", (long long)i, stored);
            // weakly diagonally dominant by rows, strictly beside the boundary
            if (neighbours == 4) cr_assert(d[i * n + i] >= off * (1 - 1e-14) && d[i * n + i] <= off * (1 + 1e-14));
            else cr_assert_geq(d[i * n + i], off + 4 - neighbours - 1e-12);
        }
        free(d);
        fm_system_matrix_free(&A);
    }
}

// The returned Péclet number is the largest h|β|/2 over the nodes, read back
// from the stencil; the draws lie in the range and spread over it; a
// degenerate range gives its one value.
Test(general_data, peclet_number_read_back_from_the_stencil)
{
    const int64_t g = 12, n = g * g;
    const double lo = 0.5, hi = 50;
    int exact = 0, seeds = 16;
    double least = INFINITY, most = 0;
    for (int s = 0; s <= seeds; s++) {
        const bool degenerate = s == seeds;
        double pe = NAN;
        fm_system_matrix *A = convection(g, 100 + (uint64_t)s, degenerate ? 3.5 : lo, degenerate ? 3.5 : hi, &pe);
        if (degenerate) cr_assert_eq(pe, 3.5);
        else cr_assert(pe >= lo && pe <= hi, "the draw %g is outside [%g, %g]", pe, lo, hi);
        least = degenerate ? least : fmin(least, pe);
        most = degenerate ? most : fmax(most, pe);
        double *st = stencils(A, g);
        double low = 0, high = 0;
        for (int64_t i = 0; i < n; i++) {
            const node_peclet r = peclet_of_row(st, g, i);
            low = fmax(low, r.lo);
            high = fmax(high, r.hi);
        }
        const double tol = 1e-12 * (1 + pe);
        cr_assert(low <= pe + tol && pe <= high + tol, "seed %d: the Péclet number %.17g, the stencil's within "
                  "[%.17g, %.17g]", s, pe, low, high);
        if (high - low <= tol) {
            exact++;
            cr_assert(fabs(pe - low) <= tol, "seed %d: the Péclet number %.17g, the stencil's %.17g", s, pe, low);
        }
        free(st);
        fm_system_matrix_free(&A);
    }
    // only a corner with its flow into the corner leaves the maximum unknown
    cr_assert_geq(exact, seeds / 2, "the stencil fixed the Péclet number of only %d of %d seeds", exact, seeds + 1);
    // log-uniform over a factor 100: 16 draws cover more than a factor 10
    cr_assert_gt(most / least, 10.0, "the draws span %g to %g", least, most);
}

// β = curl ψ: its discrete divergence (central differences of c = hβ read
// from the stencil) is small beside the partial derivatives it sums, and the
// matrix is far from symmetric at large Péclet numbers.
Test(general_data, velocity_is_divergence_free_and_the_matrix_nonsymmetric)
{
    const int64_t g = 48, n = g * g;
    for (uint64_t seed = 0; seed < 3; seed++) {
        double pe = NAN;
        fm_system_matrix *A = convection(g, seed, 50, 100, &pe);
        double *st = stencils(A, g);
        double *cx = calloc((size_t)n, sizeof *cx), *cy = calloc((size_t)n, sizeof *cy);
        for (int64_t i = 0; i < n; i++) {
            const node_peclet r = peclet_of_row(st, g, i);
            cx[i] = r.cx;
            cy[i] = r.cy;
        }
        double divergence = 0, parts = 0;
        for (int64_t p = 2; p < g - 2; p++)
            for (int64_t q = 2; q < g - 2; q++) {
                const int64_t i = p * g + q;
                const double dxx = cx[i + 1] - cx[i - 1], dyy = cy[i + g] - cy[i - g];
                divergence = fmax(divergence, fabs(dxx + dyy));
                parts = fmax(parts, fmax(fabs(dxx), fabs(dyy)));
            }
        cr_assert_gt(parts, 0);
        cr_assert_lt(divergence, 0.1 * parts, "seed %llu: the divergence %g beside derivatives of %g",
                     (unsigned long long)seed, divergence, parts);
        // a_{i,i+1} − a_{i+1,i} = min(c_x(i), 0) + max(c_x(i+1), 0), about c_x
        double most = 0;
        for (int64_t i = 0; i < n; i++) {
            if (i % g < g - 1) most = fmax(most, fabs(st[5 * i + EAST] - st[5 * (i + 1) + WEST]));
            if (i / g < g - 1) most = fmax(most, fabs(st[5 * i + NORTH] - st[5 * (i + g) + SOUTH]));
        }
        cr_assert_gt(most, pe / 2, "an upwind part of up to 2 Pe = %g, the largest asymmetry %g", 2 * pe, most);
        free(cx);
        free(cy);
        free(st);
        fm_system_matrix_free(&A);
    }
}

//------------------------------------------------------------------------------
// Seeds, threads, consumers and arguments
//------------------------------------------------------------------------------

Test(general_data, same_seed_same_bits_for_any_thread_count)
{
    char msg[FM_MSG_LEN];
    fm_system_matrix *R[2] = { NULL, NULL }, *C[2] = { NULL, NULL };
    double *b[2] = { NULL, NULL }, *c[2] = { NULL, NULL }, pe[2] = { 0, 0 }, none = 0;
    for (int t = 0; t < 2; t++) {
        fm_set_threads(t + 1);
        cr_assert_eq(fm_general_generate(&R[t], &b[t], FM_GENERAL_RANDOM, 700, 42, NULL, &none, msg), FM_OK, "%s",
                     msg);
        cr_assert(isnan(none), "no Péclet number for the random class");
        cr_assert_eq(fm_general_generate(&C[t], &c[t], FM_GENERAL_CONVECTION, 30, 42, NULL, &pe[t], msg), FM_OK,
                     "%s", msg);
    }
    fm_set_threads(2);
    cr_assert(R[0]->count > 700);
    cr_assert(same_matrix(R[0], R[1]), "the random matrix differs between 1 and 2 threads");
    cr_assert(same_matrix(C[0], C[1]), "the convection matrix differs between 1 and 2 threads");
    cr_assert(memcmp(b[0], b[1], 700 * sizeof(double)) == 0);
    cr_assert(memcmp(c[0], c[1], 900 * sizeof(double)) == 0);
    cr_assert_eq(pe[0], pe[1]);
    cr_assert(pe[0] >= 0.1 && pe[0] <= 100, "the default range");
    for (int i = 0; i < 700; i++) cr_assert(b[0][i] > 0 && b[0][i] < 1, "b ~ U(0, 1)");
    // another seed, other matrices and another Péclet number
    fm_system_matrix *R2 = NULL, *C2 = NULL;
    double pe2 = 0;
    cr_assert_eq(fm_general_generate(&R2, NULL, FM_GENERAL_RANDOM, 700, 43, NULL, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_general_generate(&C2, NULL, FM_GENERAL_CONVECTION, 30, 43, NULL, &pe2, msg), FM_OK, "%s", msg);
    cr_assert(!same_matrix(R[0], R2));
    cr_assert(!same_matrix(C[0], C2));
    cr_assert_neq(pe[0], pe2);
    // b = 1 on request
    fm_general_options o;
    fm_general_defaults(&o);
    o.rhs_ones = true;
    fm_system_matrix *C3 = NULL;
    double *ones = NULL;
    cr_assert_eq(fm_general_generate(&C3, &ones, FM_GENERAL_CONVECTION, 30, 42, &o, NULL, msg), FM_OK, "%s", msg);
    cr_assert(same_matrix(C[0], C3));
    for (int i = 0; i < 900; i++) cr_assert_eq(ones[i], 1.0);
    for (int t = 0; t < 2; t++) {
        fm_system_matrix_free(&R[t]);
        fm_system_matrix_free(&C[t]);
        free(b[t]);
        free(c[t]);
    }
    fm_system_matrix_free(&R2);
    fm_system_matrix_free(&C2);
    fm_system_matrix_free(&C3);
    free(ones);
}

// The consumer: the graph of a square matrix takes the triplets as they are
// (mirror_lower false), not symmetric, with every entry, and multiplies as
// the dense matrix does.
Test(general_data, square_graph_takes_the_general_triplets)
{
    char msg[FM_MSG_LEN];
    fm_general_options o;
    fm_general_defaults(&o);
    o.density = 0.03;
    fm_system_matrix *systems[2] = { NULL, NULL };
    cr_assert_eq(fm_general_generate(&systems[0], NULL, FM_GENERAL_RANDOM, 90, 5, &o, NULL, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_general_generate(&systems[1], NULL, FM_GENERAL_CONVECTION, 9, 5, &o, NULL, msg), FM_OK, "%s",
                 msg);
    for (int s = 0; s < 2; s++) {
        const fm_system_matrix *A = systems[s];
        const int64_t n = A->n;
        fm_square *g = NULL;
        cr_assert_eq(fm_square_from_triplets(&g, n, A->count, A->row, A->col, A->val, false, msg), FM_OK, "%s", msg);
        int64_t i = -1, j = -1;
        cr_assert(!g->symmetric && !fm_square_first_asymmetry(g, &i, &j));
        cr_assert_eq(g->A->count, A->count);
        double *d = dense_of(A), *x = fm_test_uniform_range(n, 3, -1, 1), *y = calloc((size_t)n, sizeof *y);
        fm_spmv_reference(g->A, x, y);
        for (int64_t r = 0; r < n; r++) {
            double want = 0;
            for (int64_t k = 0; k < n; k++) want += d[r * n + k] * x[k];
            cr_assert(fabs(y[r] - want) <= 1e-12 * (1 + fabs(want)), "row %lld: %g, the dense %g", (long long)r, y[r],
                      want);
        }
        free(d);
        free(x);
        free(y);
        fm_square_free(&g);
        fm_system_matrix_free(&systems[s]);
    }
}

Test(general_data, kind_names_round_trip)
{
    char msg[FM_MSG_LEN];
    for (int k = 0; k < 2; k++) {
        fm_general_kind kind = (fm_general_kind)(1 - k);
        cr_assert_eq(fm_general_kind_parse(&kind, fm_general_kind_name((fm_general_kind)k), msg), FM_OK, "%s", msg);
        cr_assert_eq((int)kind, k);
    }
    fm_general_kind kind;
    cr_assert_eq(fm_general_kind_parse(&kind, "diffusion", msg), FM_ERR_INVALID);
    cr_assert_not_null(strstr(msg, "'diffusion'"), "%s", msg);
    cr_assert_not_null(strstr(msg, "convection or random"), "%s", msg);
}

// A refused call: FM_ERR_INVALID, `words` in the message, the outputs untouched.
static void expect_refused(fm_general_kind kind, int64_t size, const fm_general_options *o, const char *words)
{
    char msg[FM_MSG_LEN] = "";
    fm_system_matrix *A = NULL;
    double *b = NULL, pe = -7;
    cr_assert_eq(fm_general_generate(&A, &b, kind, size, 1, o, &pe, msg), FM_ERR_INVALID, "%s", msg);
    cr_assert_not_null(strstr(msg, words), "'%s' does not say '%s'", msg, words);
    cr_assert_null(A);
    cr_assert_null(b);
    cr_assert_eq(pe, -7);
}

Test(general_data, bad_arguments_are_errors)
{
    fm_general_options o;
    fm_general_defaults(&o);
    expect_refused(FM_GENERAL_RANDOM, 0, NULL, "n = 0");
    expect_refused(FM_GENERAL_CONVECTION, 0, NULL, "g = 0");
    expect_refused(FM_GENERAL_CONVECTION, -3, NULL, "g = -3");
    expect_refused((fm_general_kind)7, 10, NULL, "unknown kind");
    o.density = 1.5;
    expect_refused(FM_GENERAL_RANDOM, 10, &o, "density");
    o.density = 0;
    expect_refused(FM_GENERAL_RANDOM, 10, &o, "density");
    fm_general_defaults(&o);
    o.alpha = 0;
    expect_refused(FM_GENERAL_RANDOM, 10, &o, "alpha");
    o.alpha = NAN;
    expect_refused(FM_GENERAL_RANDOM, 10, &o, "alpha");
    fm_general_defaults(&o);
    o.peclet_min = 0;
    expect_refused(FM_GENERAL_CONVECTION, 10, &o, "Péclet range");
    o.peclet_min = 10;
    o.peclet_max = 5;
    expect_refused(FM_GENERAL_CONVECTION, 10, &o, "Péclet range");
    o.peclet_max = INFINITY;
    expect_refused(FM_GENERAL_CONVECTION, 10, &o, "Péclet range");
    fm_general_defaults(&o);
    o.modes = 0;
    expect_refused(FM_GENERAL_CONVECTION, 10, &o, "Fourier modes");
    char msg[FM_MSG_LEN];
    fm_system_matrix *M = NULL, *M2 = NULL, *A = NULL;
    cr_assert_eq(fm_spd_random_factor(&M, 5, 6, 1, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_spd_random_factor(&M2, 6, 6, 2, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_general_product(&A, M, M2, 1, msg), FM_ERR_INVALID, "%s", msg);
    cr_assert_not_null(strstr(msg, "M'"), "%s", msg);
    cr_assert_null(A);
    fm_system_matrix_free(&M);
    fm_system_matrix_free(&M2);
}
