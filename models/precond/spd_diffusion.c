// Diffusion on grids with random coefficients (P7 [choice]): −∇·(κ∇u) = f on
// the unit square, u = 0 on the boundary, 5-point finite differences on the
// g × g interior nodes, h = 1/(g+1), natural (row-major) ordering: node
// (p, q) at (x, y) = ((q+1)h, (p+1)h) is unknown p·g + q.
//
// κ = exp(G) at the nodes (boundary nodes included), G a sum of random
// Fourier modes rescaled to a range L drawn uniformly in [0, ln contrast], so
// max κ / min κ = e^L ≤ contrast. The coefficient of the face between two
// nodes is the harmonic mean of their κ (the flux-continuous choice; it lies
// between them, so the faces' contrast is within the nodes'). The matrix is
// the operator times h²: entries of the order of κ for every g, row i's
// diagonal the sum of its four faces, −κ_face towards each interior
// neighbour. A Dirichlet boundary makes it irreducibly diagonally dominant,
// hence symmetric positive definite.
#include "spd_data.h"
#include "status.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#define TWO_PI 6.283185307179586
#define MAX_FREQUENCY 3   // each mode's frequencies in 0..3 periods across the square

typedef struct { double ax, ay, phase, amplitude; } mode;

static double harmonic(double a, double b) { return 2.0 * a * b / (a + b); }

int fm_spd_diffusion(fm_system_matrix **A, int64_t g, uint64_t seed, const fm_spd_options *options, char *msg)
{
    fm_system_matrix *a = NULL;
    mode *modes = NULL;
    double *kappa = NULL;
#define FREE_ALL do { fm_system_matrix_free(&a); free(modes); free(kappa); } while (0)
    FM_CHECK(A && !*A, FM_ERR_INVALID, "fm_spd_diffusion: output handle must be non-NULL and empty");
    fm_spd_options defaults;
    fm_spd_defaults(&defaults);
    const fm_spd_options *o = options ? options : &defaults;
    FM_CHECK(g >= 1 && g <= (INT64_C(1) << 24), FM_ERR_INVALID, "fm_spd_diffusion: the grid side g = %" PRId64
             " must be in 1..2^24", g);
    FM_CHECK(o->modes >= 1 && o->modes <= 1024, FM_ERR_INVALID, "fm_spd_diffusion: %d Fourier modes, expected "
             "1..1024", o->modes);
    FM_CHECK(o->contrast >= 1 && isfinite(o->contrast), FM_ERR_INVALID, "fm_spd_diffusion: the contrast %g must be "
             "at least 1 and finite", o->contrast);
    const fm_rng field = fm_spd_key(seed, FM_SPD_DRAW_FIELD);
    FM_ALLOC(modes, o->modes);
    for (int k = 0; k < o->modes; k++) {
        const uint64_t c = 8 * (uint64_t)k;
        int ax = (int)(fm_rng_bits(field, c) % (MAX_FREQUENCY + 1));
        int ay = (int)(fm_rng_bits(field, c + 1) % (MAX_FREQUENCY + 1));
        if (ax == 0 && ay == 0) ax = 1;
        // smoother modes weigh more: amplitude N(0, 1) / |frequency|
        modes[k] = (mode){ TWO_PI * ax, TWO_PI * ay, TWO_PI * fm_rng_uniform(field, c + 2),
                           fm_rng_normal(field, 4 * (uint64_t)k + 3) / sqrt((double)(ax * ax + ay * ay)) };
    }
    const double range = log(o->contrast) * fm_rng_uniform(field, UINT64_C(1) << 40);
    // G at the (g+2)² nodes, boundary included, then κ = exp(G rescaled)
    const int64_t side = g + 2, n = g * g;
    const double h = 1.0 / (double)(g + 1);
    FM_ALLOC(kappa, side * side);
    double lo = INFINITY, hi = -INFINITY;
    #pragma omp parallel for schedule(static) reduction(min : lo) reduction(max : hi)
    for (int64_t p = 0; p < side; p++)
        for (int64_t q = 0; q < side; q++) {
            const double x = (double)q * h, y = (double)p * h;
            double G = 0.0;
            for (int k = 0; k < o->modes; k++)
                G += modes[k].amplitude * cos(modes[k].ax * x + modes[k].ay * y + modes[k].phase);
            kappa[p * side + q] = G;
            lo = G < lo ? G : lo;
            hi = G > hi ? G : hi;
        }
    const double spread = hi - lo;
    #pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < side * side; k++)
        kappa[k] = spread > 0 ? exp(range * ((kappa[k] - lo) / spread - 0.5)) : 1.0;
    // the lower triangle by rows: south (i − g), west (i − 1), the diagonal
    FM_TRY(fm_system_matrix_new(&a, n, n + 2 * g * (g - 1), true, msg));
    int64_t at = 0;
    for (int64_t p = 0; p < g; p++)
        for (int64_t q = 0; q < g; q++) {
            const int64_t i = p * g + q, P = p + 1, Q = q + 1;
            const double centre = kappa[P * side + Q];
            const double south = harmonic(centre, kappa[(P - 1) * side + Q]);
            const double north = harmonic(centre, kappa[(P + 1) * side + Q]);
            const double west = harmonic(centre, kappa[P * side + Q - 1]);
            const double east = harmonic(centre, kappa[P * side + Q + 1]);
            if (p > 0) { a->row[at] = i; a->col[at] = i - g; a->val[at++] = -south; }
            if (q > 0) { a->row[at] = i; a->col[at] = i - 1; a->val[at++] = -west; }
            a->row[at] = i;
            a->col[at] = i;
            a->val[at++] = south + north + west + east;
        }
    fm_system_matrix *done = a;
    a = NULL;
    FREE_ALL;
    *A = done;
    return FM_OK;
#undef FREE_ALL
}
