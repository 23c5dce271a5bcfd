// Convection–diffusion on grids with random velocity fields (P7 [choice], the
// data of GMRES): −Δu + β·∇u = f on the unit square, u = 0 on the boundary,
// g × g interior nodes, h = 1/(g+1), natural (row-major) ordering: node
// (p, q) at (x, y) = ((q+1)h, (p+1)h) is unknown p·g + q (as spd_diffusion.c).
//
// β = (∂ψ/∂y, −∂ψ/∂x), the curl of a stream function ψ = Σ a_k cos(θ_k),
// θ_k = 2π(m_k x + l_k y) + φ_k, differentiated analytically and evaluated at
// the nodes, so ∇·β = 0 exactly (the discrete field up to the differences).
// It is then scaled so that the largest mesh Péclet number h|β|/2 over the
// nodes (|β| the Euclidean norm, as Elman, Silvester & Wathen define P_h for
// unit diffusion) equals Pe, which each seed draws log-uniformly from
// [peclet_min, peclet_max].
//
// First-order upwind differences for β·∇u (a backward difference where the
// component is positive, forward where it is negative), the 5-point Laplacian
// for −Δu, all times h². With c = hβ (so |c|/2 is the node's Péclet number)
// row i holds 4 + |c_x| + |c_y| on the diagonal, −1 − max(c_x, 0) west,
// −1 + min(c_x, 0) east, −1 − max(c_y, 0) south, −1 + min(c_y, 0) north
// (the neighbours inside the grid): off-diagonals negative, each row weakly
// diagonally dominant and strictly beside the boundary, an M-matrix that is
// nonsymmetric wherever β ≠ 0.
#include "general_data.h"
#include "status.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#define TWO_PI 6.283185307179586
#define MAX_FREQUENCY 3   // each mode's frequencies in 0..3 periods across the square

typedef struct { double wx, wy, phase, amplitude; } mode;

int fm_general_convection(fm_system_matrix **A, int64_t g, uint64_t seed, const fm_general_options *options,
                          double *peclet, char *msg)
{
    fm_system_matrix *a = NULL;
    mode *modes = NULL;
    double *bx = NULL, *by = NULL;
#define FREE_ALL do { fm_system_matrix_free(&a); free(modes); free(bx); free(by); } while (0)
    FM_CHECK(A && !*A, FM_ERR_INVALID, "fm_general_convection: output handle must be non-NULL and empty");
    fm_general_options defaults;
    fm_general_defaults(&defaults);
    const fm_general_options *o = options ? options : &defaults;
    FM_CHECK(g >= 1 && g <= (INT64_C(1) << 24), FM_ERR_INVALID, "fm_general_convection: the grid side g = %" PRId64
             " must be in 1..2^24", g);
    FM_CHECK(o->modes >= 1 && o->modes <= 1024, FM_ERR_INVALID, "fm_general_convection: %d Fourier modes, "
             "expected 1..1024", o->modes);
    FM_CHECK(o->peclet_min > 0 && isfinite(o->peclet_max) && o->peclet_min <= o->peclet_max, FM_ERR_INVALID,
             "fm_general_convection: the Péclet range [%g, %g] must be positive, finite and not empty",
             o->peclet_min, o->peclet_max);
    // ψ's modes: smoother modes weigh more, a_k ~ N(0, 1) / |frequency|², so
    // that β's amplitude falls as 1 / |frequency|
    const fm_rng field = fm_spd_key(seed, FM_SPD_DRAW_VELOCITY);
    FM_ALLOC(modes, o->modes);
    for (int k = 0; k < o->modes; k++) {
        const uint64_t c = 8 * (uint64_t)k;
        int mx = (int)(fm_rng_bits(field, c) % (MAX_FREQUENCY + 1));
        int my = (int)(fm_rng_bits(field, c + 1) % (MAX_FREQUENCY + 1));
        if (mx == 0 && my == 0) mx = 1;
        modes[k] = (mode){ TWO_PI * mx, TWO_PI * my, TWO_PI * fm_rng_uniform(field, c + 2),
                           fm_rng_normal(field, 4 * (uint64_t)k + 3) / (double)(mx * mx + my * my) };
    }
    const double lo = o->peclet_min, hi = o->peclet_max;
    const double pe = lo == hi ? lo : exp(log(lo) + (log(hi) - log(lo)) * fm_rng_uniform(fm_spd_key(seed,
                                                                        FM_SPD_DRAW_PECLET), 0));
    // β at the nodes and its largest norm (a max: the same for every thread count)
    const int64_t n = g * g;
    const double h = 1.0 / (double)(g + 1);
    FM_ALLOC(bx, n);
    FM_ALLOC(by, n);
    double largest = 0;
    #pragma omp parallel for schedule(static) reduction(max : largest)
    for (int64_t i = 0; i < n; i++) {
        const double x = (double)(i % g + 1) * h, y = (double)(i / g + 1) * h;
        double dx = 0, dy = 0;   // ∂ψ/∂x, ∂ψ/∂y
        for (int k = 0; k < o->modes; k++) {
            const double s = -modes[k].amplitude * sin(modes[k].wx * x + modes[k].wy * y + modes[k].phase);
            dx += modes[k].wx * s;
            dy += modes[k].wy * s;
        }
        bx[i] = dy;
        by[i] = -dx;
        const double norm = hypot(dx, dy);
        largest = norm > largest ? norm : largest;
    }
    FM_CHECK(largest > 0 && isfinite(largest), FM_ERR_NUMERIC, "fm_general_convection: the velocity field of seed "
             "%" PRIu64 " vanishes at every node of the %" PRId64 " x %" PRId64 " grid: no Péclet number can be "
             "set", seed, g, g);
    // c = hβ scaled: the largest |c|/2 is pe
    const double scale = 2.0 * pe / largest;
    FM_TRY(fm_system_matrix_new(&a, n, n + 4 * g * (g - 1), false, msg));
    int64_t at = 0;
    for (int64_t p = 0; p < g; p++)
        for (int64_t q = 0; q < g; q++) {
            const int64_t i = p * g + q;
            const double cx = scale * bx[i], cy = scale * by[i];
            const int64_t col[5] = { i - g, i - 1, i, i + 1, i + g };
            const double val[5] = { -1 - fmax(cy, 0), -1 - fmax(cx, 0), 4 + fabs(cx) + fabs(cy), -1 + fmin(cx, 0),
                                    -1 + fmin(cy, 0) };
            const bool inside[5] = { p > 0, q > 0, true, q < g - 1, p < g - 1 };
            for (int e = 0; e < 5; e++) {
                if (!inside[e]) continue;
                a->row[at] = i;
                a->col[at] = col[e];
                a->val[at++] = val[e];
            }
        }
    if (peclet) *peclet = pe;
    fm_system_matrix *done = a;
    a = NULL;
    FREE_ALL;
    *A = done;
    return FM_OK;
#undef FREE_ALL
}
