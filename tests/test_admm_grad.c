// The differentiable ADMM factor update (ops/admm_grad) and the Frobenius
// training loss (ops/loss_grad) on small random graphs (7 x 5, k = 3) of
// every kind, in both directions:
//   - the double forward is ops/admm.c's algorithm: it agrees with the
//     solver's float fm_admm_update_shared / fm_admm_update_masked;
//   - every backward agrees with central finite differences of the double
//     forward (loss = Σ c_T ⊙ T_new + Σ c_U ⊙ U_new), away from relu kinks,
//     including targets whose ρ is the guard's constant 1;
//   - the loss agrees with a brute-force sum over Ω, and its backward with
//     finite differences;
//   - the float build agrees with the double build.
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admm.h"
#include "admm_grad.h"
#include "helpers.h"
#include "loss_grad.h"
#include "products.h"
#include "rng.h"

TestSuite(admm_grad, .init = fm_test_setup);

#define ROWS 7
#define COLS 5
#define RANK 3
#define FD_STEP 1e-6
#define FD_TOLERANCE 1e-6       // double backward vs finite differences
#define SOLVER_TOLERANCE 1e-5   // double forward vs the solver's float ADMM
#define FLOAT_TOLERANCE 1e-4    // float build vs double build
#define KINK_MARGIN 1e-4        // no relu input this close to 0 where differences are taken

static const fm_kind kinds[] = { FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE };

//------------------------------------------------------------------------------
// Arrays and errors
//------------------------------------------------------------------------------


// ‖a − b‖ / max(‖b‖, floor) for a float array against a double one.
static double relative_error_float(const float *a, const double *b, int64_t n, double floor)
{
    double diff = 0, norm = 0;
    for (int64_t e = 0; e < n; e++) {
        diff += (a[e] - b[e]) * (a[e] - b[e]);
        norm += b[e] * b[e];
    }
    norm = fmax(sqrt(norm), floor);
    return norm > 0 ? sqrt(diff) / norm : sqrt(diff);
}

static double norm2(const double *x, int64_t n)
{
    double s = 0;
    for (int64_t e = 0; e < n; e++) s += x[e] * x[e];
    return sqrt(s);
}

static double worst_fd = 0, worst_solver = 0, worst_float = 0;   // reported once per test

static void expect_gradient(const double *after, const double *before, const double *fd, int64_t n,
                            const char *what)
{
    const double error = fm_test_relative_error(after, before, fd, n);
    if (error > worst_fd) worst_fd = error;
    cr_assert(norm2(fd, n) > 0, "%s: the finite differences are all zero: nothing is checked", what);
    cr_assert(error < FD_TOLERANCE, "%s: finite-difference relative error %.3g", what, error);
}

// The new duals U' = U + T' − T̃ = max(0, −(T̃ − U)) vanish where the relu is
// active, and are rounding residue there (1e-17 in double, 1e-8 in float):
// they are compared on the scale of the new targets (`floor`, 0: their own).
static void expect_float(const float *a, const double *b, int64_t n, double floor, const char *what)
{
    const double error = relative_error_float(a, b, n, floor);
    if (error > worst_float) worst_float = error;
    cr_assert(error < FLOAT_TOLERANCE, "%s: float vs double relative error %.3g", what, error);
}

static double weighted_sum(const double *c, const double *x, int64_t n)
{
    double s = 0;
    for (int64_t e = 0; e < n; e++) s += c[e] * x[e];
    return s;
}

//------------------------------------------------------------------------------
// Graphs
//------------------------------------------------------------------------------

// X (ROWS × COLS) of one kind: dense stores everything; sparse and
// incomplete store a random pattern of density about 0.6. For the
// incomplete kind every column has an entry except `empty_column` (none),
// and `lonely_column` has row 0 as its only entry (-1: no such column).
typedef struct problem {
    fm_kind kind;
    fm_graph *g;
    float x[ROWS * COLS];        // the stored values, 0 where unstored
    bool stored[ROWS * COLS];
} problem;

static problem *problem_new(fm_kind kind, uint64_t seed, int empty_column, int lonely_column)
{
    problem *p = calloc(1, sizeof *p);
    cr_assert_not_null(p);
    p->kind = kind;
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++) {
            const int e = i * COLS + j;
            bool keep = kind == FM_KIND_DENSE || fm_rng_uniform(rng, e) < 0.6;
            if (kind == FM_KIND_INCOMPLETE && i == j % ROWS) keep = true;
            if (j == empty_column) keep = false;
            if (j == lonely_column) keep = i == 0;
            p->stored[e] = keep;
            p->x[e] = keep ? (float)(0.2 + fm_rng_uniform(rng, 1000 + e)) : 0.0f;
        }
    char msg[FM_MSG_LEN];
    if (kind == FM_KIND_DENSE) {
        cr_assert_eq(fm_graph_from_dense(&p->g, ROWS, COLS, p->x, kind, msg), FM_OK, "%s", msg);
    } else {
        int64_t row[ROWS * COLS], col[ROWS * COLS];
        float val[ROWS * COLS];
        fm_triplets t = { .rows = ROWS, .cols = COLS, .row = row, .col = col, .val = val };
        for (int e = 0; e < ROWS * COLS; e++)
            if (p->stored[e]) {
                row[t.count] = e / COLS;
                col[t.count] = e % COLS;
                val[t.count++] = p->x[e];
            }
        cr_assert_eq(fm_graph_from_triplets(&p->g, &t, kind, msg), FM_OK, "%s", msg);
    }
    return p;
}

static void problem_free(problem **p)
{
    fm_graph_free(&(*p)->g);
    free(*p);
    *p = NULL;
}

static fm_edges borrow(problem *p, fm_direction direction)
{
    char msg[FM_MSG_LEN];
    fm_edges edges;
    cr_assert_eq(fm_edges_borrow(&edges, p->g, direction, msg), FM_OK, "%s", msg);
    // the dense kind's edges are full storage, the others CSR: both paths are exercised
    cr_assert_eq(edges.ptr == NULL, p->kind == FM_KIND_DENSE, "storage of the %s kind", fm_kind_name(p->kind));
    return edges;
}

static void give_back(fm_edges *edges)
{
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_edges_return(edges, msg), FM_OK, "%s", msg);
}

static const char *direction_name(fm_direction d) { return d == FM_TO_ROWS ? "W-update" : "H-update"; }

//------------------------------------------------------------------------------
// One ADMM update in double, its loss Σ c_T ⊙ T_new + Σ c_U ⊙ U_new
//------------------------------------------------------------------------------

typedef struct admm_case {
    const fm_edges *edges;
    fm_kind kind;
    int k, inner;
    int64_t nt, ns;
    double *S, *T, *U;          // inputs: sources, targets, duals
    double *cT, *cU;            // loss weights = d_targets_out, d_duals_out
    double *T_out, *U_out;
} admm_case;

static void admm_case_free(admm_case *c)
{
    free(c->S);
    free(c->T);
    free(c->U);
    free(c->cT);
    free(c->cU);
    free(c->T_out);
    free(c->U_out);
}

static fm_admm_tape_f64 *admm_case_forward(admm_case *c)
{
    char msg[FM_MSG_LEN];
    fm_admm_tape_f64 *tape = NULL;
    cr_assert_eq(fm_admm_grad_forward_f64(c->T_out, c->U_out, &tape, c->S, c->T, c->U, c->edges, c->kind, c->k,
                                          c->inner, msg),
                 FM_OK, "%s", msg);
    return tape;
}

static double admm_loss(void *context)
{
    admm_case *c = context;
    fm_admm_tape_f64 *tape = admm_case_forward(c);
    fm_admm_tape_free_f64(&tape);
    return weighted_sum(c->cT, c->T_out, c->nt * c->k) + weighted_sum(c->cU, c->U_out, c->nt * c->k);
}

// The smallest |T̃ − U| of any step and how many of them are positive.
static double kink_distance(const fm_admm_tape_f64 *tape, int64_t *positive)
{
    const int64_t n = (int64_t)tape->inner * tape->targets * tape->k;
    double nearest = INFINITY;
    *positive = 0;
    for (int64_t e = 0; e < n; e++) {
        nearest = fmin(nearest, fabs(tape->shifted[e]));
        *positive += tape->shifted[e] > 0;
    }
    return nearest;
}

// Random inputs (sources in [0.1, 1), targets in [0, 1), duals in [-0.3,
// 0.3), weights in [-1, 1)), redrawn until every relu input is at least
// KINK_MARGIN from 0 and both sides of the relu occur. `zero_source` (-1:
// none) is a source row set to 0; `zero_sources` zeroes them all (then
// T̃ − U = T + U − U ≥ 0 in every step and only the active side occurs).
static admm_case admm_case_new(const fm_edges *edges, fm_kind kind, int inner, uint64_t seed, int zero_source,
                               bool zero_sources)
{
    admm_case c = { .edges = edges, .kind = kind, .k = RANK, .inner = inner,
                    .nt = edges->targets, .ns = edges->sources };
    const int64_t nt = c.nt * RANK, ns = c.ns * RANK;
    for (int attempt = 0; attempt < 64; attempt++, seed += 101) {
        c.S = fm_test_uniform_range(ns, seed, 0.1, 1);
        if (zero_source >= 0)
            for (int r = 0; r < RANK; r++) c.S[zero_source * RANK + r] = 0;
        if (zero_sources)
            for (int64_t e = 0; e < ns; e++) c.S[e] = 0;
        c.T = fm_test_uniform_range(nt, seed + 1, 0, 1);
        c.U = fm_test_uniform_range(nt, seed + 2, -0.3, 0.3);
        c.cT = fm_test_uniform_range(nt, seed + 3, -1, 1);
        c.cU = fm_test_uniform_range(nt, seed + 4, -1, 1);
        c.T_out = fm_test_uniform_range(nt, 0, 0, 1);
        c.U_out = fm_test_uniform_range(nt, 0, 0, 1);
        fm_admm_tape_f64 *tape = admm_case_forward(&c);
        int64_t positive;
        const double nearest = kink_distance(tape, &positive);
        const int64_t total = (int64_t)inner * nt;
        fm_admm_tape_free_f64(&tape);
        if (nearest > KINK_MARGIN && positive > 0 && (positive < total || zero_sources)) return c;
        admm_case_free(&c);
    }
    cr_assert_fail("no inputs away from the relu kinks with both relu branches in 64 draws");
    return c;
}

//------------------------------------------------------------------------------
// (a) the double forward is the solver's ADMM
//------------------------------------------------------------------------------

static fm_dense *dense_from(const double *x, int64_t rows, int64_t cols)
{
    char msg[FM_MSG_LEN];
    fm_dense *d = NULL;
    cr_assert_eq(fm_dense_new(&d, rows, cols, msg), FM_OK, "%s", msg);
    for (int64_t e = 0; e < rows * cols; e++) d->data[e] = (float)x[e];
    return d;
}

static void expect_solver_agreement(const float *solver, const double *ours, const double *before, int64_t n,
                                    double floor, const char *what)
{
    const double error = relative_error_float(solver, ours, n, floor);
    if (error > worst_solver) worst_solver = error;
    cr_assert(error < SOLVER_TOLERANCE, "%s: relative difference %.3g from the solver's ADMM", what, error);
    // the update moved the factor: agreeing on the unchanged input would prove nothing
    cr_assert(fm_test_relative_error(ours, NULL, before, n) > 1e-3, "%s: the update left its input unchanged", what);
}

Test(admm_grad, forward_is_the_solver_admm)
{
    char msg[FM_MSG_LEN];
    for (int kk = 0; kk < 3; kk++)
        for (int d = 0; d < 2; d++)
            for (int inner = 1; inner <= 3; inner += 2) {
                const fm_kind kind = kinds[kk];
                const fm_direction direction = (fm_direction)d;
                problem *p = problem_new(kind, 40 + kk, kind == FM_KIND_INCOMPLETE ? 2 : -1, -1);
                fm_edges edges = borrow(p, direction);
                const int64_t nt = edges.targets, ns = edges.sources;
                double *S = fm_test_uniform_range(ns * RANK, 7 + inner, 0.1, 1), *T = fm_test_uniform_range(nt * RANK, 8 + inner, 0, 1);
                double *U = fm_test_uniform_range(nt * RANK, 9 + inner, -0.3, 0.3);
                // the solver sees float inputs; ours sees the same values in double
                fm_dense *sources = dense_from(S, ns, RANK), *targets = dense_from(T, nt, RANK);
                fm_dense *duals = dense_from(U, nt, RANK), *rhs = dense_from(T, nt, RANK);
                for (int64_t e = 0; e < ns * RANK; e++) S[e] = sources->data[e];
                for (int64_t e = 0; e < nt * RANK; e++) {
                    T[e] = targets->data[e];
                    U[e] = duals->data[e];
                }
                fm_admm_factor factor = { targets, duals };
                fm_penalty none = { 0 };
                if (kind == FM_KIND_INCOMPLETE) {
                    cr_assert_eq(fm_admm_update_masked(factor, &edges, sources, none, inner, msg), FM_OK, "%s", msg);
                } else {
                    double gram[RANK * RANK];
                    cr_assert_eq(fm_products_gram(gram, sources, msg), FM_OK, "%s", msg);
                    cr_assert_eq(fm_admm_update_shared(factor, rhs, &edges, sources, gram, none, inner, msg), FM_OK,
                                 "%s", msg);
                }
                double *T_out = calloc(nt * RANK, sizeof(double)), *U_out = calloc(nt * RANK, sizeof(double));
                fm_admm_tape_f64 *tape = NULL;
                cr_assert_eq(fm_admm_grad_forward_f64(T_out, U_out, &tape, S, T, U, &edges, kind, RANK, inner, msg),
                             FM_OK, "%s", msg);
                char what[96];
                snprintf(what, sizeof what, "%s %s, inner %d: targets", fm_kind_name(kind), direction_name(direction),
                         inner);
                expect_solver_agreement(targets->data, T_out, T, nt * RANK, 0, what);
                snprintf(what, sizeof what, "%s %s, inner %d: duals", fm_kind_name(kind), direction_name(direction),
                         inner);
                expect_solver_agreement(duals->data, U_out, U, nt * RANK, norm2(T_out, nt * RANK), what);
                if (kind != FM_KIND_INCOMPLETE)   // the solver's rhs is F, as the tape's
                    expect_float(rhs->data, tape->rhs, nt * RANK, 0, "the right-hand sides F");
                fm_admm_tape_free_f64(&tape);
                free(T_out);
                free(U_out);
                free(S);
                free(T);
                free(U);
                fm_dense_free(&sources);
                fm_dense_free(&targets);
                fm_dense_free(&duals);
                fm_dense_free(&rhs);
                give_back(&edges);
                problem_free(&p);
            }
    cr_log_info("forward vs solver: worst relative difference %.3g", worst_solver);
}

//------------------------------------------------------------------------------
// (b) the backward against finite differences
//------------------------------------------------------------------------------

static double *finite_differences(double *x, int64_t n, admm_case *c)
{
    double *grad = malloc(sizeof(double) * (n > 0 ? n : 1));
    cr_assert_not_null(grad);
    for (int64_t e = 0; e < n; e++) grad[e] = fm_test_central_difference(x, e, FD_STEP, admm_loss, c);
    return grad;
}

// dS, dT and dU of one case against finite differences, the backward adding
// to nonzero gradients. Rows of S listed in `skip_source` (-1: none) are not
// probed (a zero row that is the only neighbour of a target: its Gram jumps
// from the guard's ρ = 1 to trace/k when the row moves); no S at all when
// `probe_sources` is false. With `duals_inert` (a zero Gram shared by every
// target: T̃ = T + U, so T' = relu(T) and U' = 0 whatever U is) the
// gradient of U must be exactly zero, and its differences rounding noise.
static void check_admm_fd(admm_case *c, const char *label, bool probe_sources, int skip_source, bool duals_inert)
{
    char msg[FM_MSG_LEN], what[128];
    const int64_t nt = c->nt * c->k, ns = c->ns * c->k;
    double *dS0 = fm_test_uniform_range(ns, 11, -1, 1), *dT0 = fm_test_uniform_range(nt, 12, -1, 1), *dU0 = fm_test_uniform_range(nt, 13, -1, 1);
    double *dS = fm_test_copy(dS0, ns), *dT = fm_test_copy(dT0, nt), *dU = fm_test_copy(dU0, nt);
    fm_admm_tape_f64 *tape = admm_case_forward(c);
    cr_assert_eq(fm_admm_grad_backward_f64(dS, dT, dU, c->cT, c->cU, tape, c->S, c->edges, msg), FM_OK, "%s", msg);
    fm_admm_tape_free_f64(&tape);

    double *fd_T = finite_differences(c->T, nt, c), *fd_U = finite_differences(c->U, nt, c);
    snprintf(what, sizeof what, "%s: d_targets", label);
    expect_gradient(dT, dT0, fd_T, nt, what);
    snprintf(what, sizeof what, "%s: d_duals", label);
    if (duals_inert) {
        for (int64_t e = 0; e < nt; e++) {
            cr_assert(dU[e] == dU0[e], "%s: entry %lld changed by %g", what, (long long)e, dU[e] - dU0[e]);
            cr_assert(fabs(fd_U[e]) < 1e-6, "%s: entry %lld has a finite difference %g", what, (long long)e, fd_U[e]);
        }
    } else {
        expect_gradient(dU, dU0, fd_U, nt, what);
    }
    if (probe_sources) {
        double *fd_S = finite_differences(c->S, ns, c);
        if (skip_source >= 0)
            for (int r = 0; r < c->k; r++) {
                const int64_t e = (int64_t)skip_source * c->k + r;
                fd_S[e] = dS[e] - dS0[e];   // not compared
            }
        snprintf(what, sizeof what, "%s: d_sources", label);
        expect_gradient(dS, dS0, fd_S, ns, what);
        free(fd_S);
    }
    free(fd_T);
    free(fd_U);
    free(dS0);
    free(dT0);
    free(dU0);
    free(dS);
    free(dT);
    free(dU);
}

Test(admm_grad, backward_matches_finite_differences)
{
    for (int kk = 0; kk < 3; kk++)
        for (int d = 0; d < 2; d++)
            for (int inner = 1; inner <= 3; inner += 2) {
                const fm_kind kind = kinds[kk];
                const fm_direction direction = (fm_direction)d;
                problem *p = problem_new(kind, 60 + kk, -1, -1);
                fm_edges edges = borrow(p, direction);
                admm_case c = admm_case_new(&edges, kind, inner, 300 + 10 * kk + d, -1, false);
                char label[96];
                snprintf(label, sizeof label, "%s %s, inner %d", fm_kind_name(kind), direction_name(direction), inner);
                check_admm_fd(&c, label, true, -1, false);
                admm_case_free(&c);
                give_back(&edges);
                problem_free(&p);
            }
    cr_log_info("backward vs finite differences: worst relative error %.3g", worst_fd);
}

// The guard ρ = 1 for a zero Gram. Per target (incomplete, H-update): column
// 2 has no entries (G_2 = 0, F_2 = 0) and column 4 only row 0, a zero source
// (G_4 = 0, F_4 = 0). Shared: every source zero (G = 0).
Test(admm_grad, guarded_rho_backward_matches_finite_differences)
{
    for (int inner = 1; inner <= 3; inner += 2) {
        problem *p = problem_new(FM_KIND_INCOMPLETE, 80, 2, 4);
        fm_edges edges = borrow(p, FM_TO_COLUMNS);
        cr_assert_eq(edges.ptr[3] - edges.ptr[2], 0, "column 2 must be empty");
        cr_assert(edges.ptr[5] - edges.ptr[4] == 1 && edges.idx[edges.ptr[4]] == 0, "column 4: row 0 only");
        admm_case c = admm_case_new(&edges, FM_KIND_INCOMPLETE, inner, 500 + inner, 0, false);
        fm_admm_tape_f64 *tape = admm_case_forward(&c);
        for (int64_t t = 0; t < edges.targets; t++) {
            const bool expect = t == 2 || t == 4;
            cr_assert_eq(tape->guarded[t], expect, "target %lld: guarded %d", (long long)t, tape->guarded[t]);
            if (expect) cr_assert_eq(tape->rho[t], 1.0, "target %lld: guarded rho %g", (long long)t, tape->rho[t]);
        }
        fm_admm_tape_free_f64(&tape);
        char label[96];
        snprintf(label, sizeof label, "incomplete, guarded targets, inner %d", inner);
        check_admm_fd(&c, label, true, 0, false);
        admm_case_free(&c);
        give_back(&edges);
        problem_free(&p);

        for (int kk = 0; kk < 2; kk++) {
            p = problem_new(kinds[kk], 90, -1, -1);
            edges = borrow(p, FM_TO_COLUMNS);
            c = admm_case_new(&edges, kinds[kk], inner, 600 + inner, -1, true);
            tape = admm_case_forward(&c);
            cr_assert(tape->guarded[0] == 1 && tape->rho[0] == 1.0, "%s: a zero Gram must be guarded",
                      fm_kind_name(kinds[kk]));
            for (int64_t e = 0; e < c.nt * RANK; e++)
                cr_assert(fabs(c.T_out[e] - c.T[e]) < 1e-12 && fabs(c.U_out[e]) < 1e-12,
                          "%s, zero sources: entry %lld: T' %g (T %g), U' %g",
                          fm_kind_name(kinds[kk]), (long long)e, c.T_out[e], c.T[e], c.U_out[e]);
            fm_admm_tape_free_f64(&tape);
            snprintf(label, sizeof label, "%s, zero sources, inner %d", fm_kind_name(kinds[kk]), inner);
            check_admm_fd(&c, label, false, -1, true);
            admm_case_free(&c);
            give_back(&edges);
            problem_free(&p);
        }
    }
    cr_log_info("guarded backward vs finite differences: worst relative error %.3g", worst_fd);
}

// Gradients not wanted are not touched and change nothing else; missing
// output gradients are zeros; outputs may alias their inputs.
Test(admm_grad, optional_gradients_and_aliasing)
{
    char msg[FM_MSG_LEN];
    for (int kk = 0; kk < 3; kk++) {
        problem *p = problem_new(kinds[kk], 70 + kk, -1, -1);
        fm_edges edges = borrow(p, FM_TO_COLUMNS);
        admm_case c = admm_case_new(&edges, kinds[kk], 3, 700 + kk, -1, false);
        const int64_t nt = c.nt * RANK, ns = c.ns * RANK;
        fm_admm_tape_f64 *tape = admm_case_forward(&c);
        double *zeros = calloc(nt, sizeof(double));
        double *dS = calloc(ns, sizeof(double)), *dT = calloc(nt, sizeof(double)), *dU = calloc(nt, sizeof(double));
        double *dT2 = calloc(nt, sizeof(double)), *dU2 = calloc(nt, sizeof(double));
        cr_assert_eq(fm_admm_grad_backward_f64(dS, dT, dU, c.cT, zeros, tape, c.S, &edges, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_admm_grad_backward_f64(NULL, dT2, dU2, c.cT, NULL, tape, c.S, &edges, msg), FM_OK, "%s", msg);
        cr_assert(norm2(dS, ns) > 0 && norm2(dT, nt) > 0 && norm2(dU, nt) > 0, "%s: zero gradients",
                  fm_kind_name(kinds[kk]));
        for (int64_t e = 0; e < nt; e++)
            cr_assert(dT[e] == dT2[e] && dU[e] == dU2[e], "%s: entry %lld differs without d_sources or d_duals_out",
                      fm_kind_name(kinds[kk]), (long long)e);
        cr_assert_eq(fm_admm_grad_backward_f64(NULL, NULL, NULL, NULL, NULL, tape, c.S, &edges, msg), FM_OK, "%s",
                     msg);

        // in place: T and U updated through the same arrays
        double *T = fm_test_copy(c.T, nt), *U = fm_test_copy(c.U, nt);
        fm_admm_tape_f64 *again = NULL;
        cr_assert_eq(fm_admm_grad_forward_f64(T, U, &again, c.S, T, U, &edges, kinds[kk], RANK, 3, msg), FM_OK, "%s",
                     msg);
        for (int64_t e = 0; e < nt; e++)
            cr_assert(T[e] == c.T_out[e] && U[e] == c.U_out[e], "%s: in-place entry %lld differs",
                      fm_kind_name(kinds[kk]), (long long)e);
        fm_admm_tape_free_f64(&again);
        fm_admm_tape_free_f64(&tape);
        free(T);
        free(U);
        free(zeros);
        free(dS);
        free(dT);
        free(dU);
        free(dT2);
        free(dU2);
        admm_case_free(&c);
        give_back(&edges);
        problem_free(&p);
    }
}

Test(admm_grad, bad_arguments_are_refused)
{
    char msg[FM_MSG_LEN];
    problem *p = problem_new(FM_KIND_SPARSE, 5, -1, -1);
    fm_edges edges = borrow(p, FM_TO_COLUMNS);
    enum { BIG = FM_ADMM_GRAD_MAX_RANK + 1 };
    double *S = calloc(ROWS * BIG, sizeof(double)), *T = calloc(COLS * BIG, sizeof(double));
    double *U = calloc(COLS * BIG, sizeof(double));
    fm_admm_tape_f64 *tape = NULL;
    cr_assert_eq(fm_admm_grad_forward_f64(T, U, &tape, S, T, U, &edges, FM_KIND_SPARSE, BIG, 1, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "33") && strstr(msg, "32"), "the message names the rank and the limit: %s", msg);
    cr_assert_null(tape);
    cr_assert_eq(fm_admm_grad_forward_f64(T, U, &tape, S, T, U, &edges, FM_KIND_SPARSE, 0, 1, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_admm_grad_forward_f64(T, U, &tape, S, T, U, &edges, FM_KIND_SPARSE, RANK, 0, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_admm_grad_forward_f64(T, U, &tape, S, T, U, &edges, FM_KIND_AUTO, RANK, 1, msg), FM_ERR_INVALID);
    cr_assert_null(tape);
    cr_assert_eq(fm_admm_grad_forward_f64(T, U, &tape, S, T, U, &edges, FM_KIND_SPARSE, RANK, 1, msg), FM_OK, "%s", msg);
    fm_admm_tape_f64 *kept = tape;
    cr_assert_eq(fm_admm_grad_forward_f64(T, U, &tape, S, T, U, &edges, FM_KIND_SPARSE, RANK, 1, msg), FM_ERR_INVALID,
                 "a non-empty tape handle must be refused");
    cr_assert_eq(tape, kept);
    fm_edges other = edges;
    other.sources = ROWS + 1;
    cr_assert_eq(fm_admm_grad_backward_f64(NULL, NULL, NULL, NULL, NULL, tape, S, &other, msg), FM_ERR_INVALID,
                 "edges of another shape must be refused");
    fm_admm_tape_free_f64(&tape);
    cr_assert_null(tape);
    double loss;
    cr_assert_eq(fm_loss_frobenius_forward_f64(&loss, S, T, &edges, FM_KIND_AUTO, RANK, msg), FM_ERR_INVALID);
    free(S);
    free(T);
    free(U);
    give_back(&edges);
    problem_free(&p);
}

//------------------------------------------------------------------------------
// (c) the loss
//------------------------------------------------------------------------------

typedef struct loss_case {
    const fm_edges *edges;       // of A: targets = rows
    fm_kind kind;
    double *W, *Ht;
} loss_case;

static double frobenius(void *context)
{
    loss_case *c = context;
    char msg[FM_MSG_LEN];
    double loss = 0;
    cr_assert_eq(fm_loss_frobenius_forward_f64(&loss, c->W, c->Ht, c->edges, c->kind, RANK, msg), FM_OK, "%s", msg);
    return loss;
}

// ½ Σ_Ω r² / |Ω| from the dense values, entry by entry.
static double frobenius_brute_force(const problem *p, const double *W, const double *Ht)
{
    double sum = 0, omega = 0;
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++) {
            if (p->kind == FM_KIND_INCOMPLETE && !p->stored[i * COLS + j]) continue;
            double r = p->x[i * COLS + j];
            for (int c = 0; c < RANK; c++) r -= W[i * RANK + c] * Ht[j * RANK + c];
            sum += r * r;
            omega += 1;
        }
    return 0.5 * sum / omega;
}

Test(admm_grad, loss_backward_matches_finite_differences)
{
    char msg[FM_MSG_LEN], what[96];
    for (int kk = 0; kk < 3; kk++) {
        const fm_kind kind = kinds[kk];
        problem *p = problem_new(kind, 20 + kk, -1, -1);
        fm_edges rows = borrow(p, FM_TO_ROWS), columns = borrow(p, FM_TO_COLUMNS);
        loss_case c = { &rows, kind, fm_test_uniform_range(ROWS * RANK, 31 + kk, 0, 1), fm_test_uniform_range(COLS * RANK, 41 + kk, 0, 1) };
        const double loss = frobenius(&c), expected = frobenius_brute_force(p, c.W, c.Ht);
        cr_assert(fabs(loss - expected) <= 1e-12 * expected, "%s: loss %.17g, brute force %.17g", fm_kind_name(kind),
                  loss, expected);
        // §1's symmetry: f(W, H) for X is f(Hᵀ, Wᵀ) for Xᵀ
        double transposed = 0;
        cr_assert_eq(fm_loss_frobenius_forward_f64(&transposed, c.Ht, c.W, &columns, kind, RANK, msg), FM_OK, "%s", msg);
        cr_assert(fabs(transposed - loss) <= 1e-12 * loss, "%s: transposed loss %.17g vs %.17g", fm_kind_name(kind),
                  transposed, loss);

        const double d_loss = 1.7;
        double *dW0 = fm_test_uniform_range(ROWS * RANK, 51, -1, 1), *dH0 = fm_test_uniform_range(COLS * RANK, 52, -1, 1);
        double *dW = fm_test_copy(dW0, ROWS * RANK), *dH = fm_test_copy(dH0, COLS * RANK);
        cr_assert_eq(fm_loss_frobenius_backward_f64(dW, dH, d_loss, c.W, c.Ht, &rows, kind, RANK, msg), FM_OK, "%s",
                     msg);
        double fd_W[ROWS * RANK], fd_H[COLS * RANK];
        for (int e = 0; e < ROWS * RANK; e++) fd_W[e] = d_loss * fm_test_central_difference(c.W, e, FD_STEP, frobenius, &c);
        for (int e = 0; e < COLS * RANK; e++) fd_H[e] = d_loss * fm_test_central_difference(c.Ht, e, FD_STEP, frobenius, &c);
        snprintf(what, sizeof what, "%s loss: d_W", fm_kind_name(kind));
        expect_gradient(dW, dW0, fd_W, ROWS * RANK, what);
        snprintf(what, sizeof what, "%s loss: d_Ht", fm_kind_name(kind));
        expect_gradient(dH, dH0, fd_H, COLS * RANK, what);

        // (d) float vs double, value and gradients
        float *Wf = fm_test_to_float(c.W, ROWS * RANK), *Hf = fm_test_to_float(c.Ht, COLS * RANK);
        for (int e = 0; e < ROWS * RANK; e++) c.W[e] = Wf[e];
        for (int e = 0; e < COLS * RANK; e++) c.Ht[e] = Hf[e];
        double loss_f = 0, loss_d = frobenius(&c);
        cr_assert_eq(fm_loss_frobenius_forward(&loss_f, Wf, Hf, &rows, kind, RANK, msg), FM_OK, "%s", msg);
        cr_assert(fabs(loss_f - loss_d) < FLOAT_TOLERANCE * loss_d, "%s: float loss %.9g, double %.9g",
                  fm_kind_name(kind), loss_f, loss_d);
        float dWf[ROWS * RANK] = { 0 }, dHf[COLS * RANK] = { 0 };
        double dWd[ROWS * RANK] = { 0 }, dHd[COLS * RANK] = { 0 };
        cr_assert_eq(fm_loss_frobenius_backward(dWf, dHf, 1.0f, Wf, Hf, &rows, kind, RANK, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_loss_frobenius_backward_f64(dWd, dHd, 1.0, c.W, c.Ht, &rows, kind, RANK, msg), FM_OK, "%s",
                     msg);
        snprintf(what, sizeof what, "%s loss, float: d_W", fm_kind_name(kind));
        expect_float(dWf, dWd, ROWS * RANK, 0, what);
        snprintf(what, sizeof what, "%s loss, float: d_Ht", fm_kind_name(kind));
        expect_float(dHf, dHd, COLS * RANK, 0, what);
        free(Wf);
        free(Hf);
        free(dW0);
        free(dH0);
        free(dW);
        free(dH);
        free(c.W);
        free(c.Ht);
        give_back(&rows);
        give_back(&columns);
        problem_free(&p);
    }
    cr_log_info("loss: worst finite-difference error %.3g, worst float error %.3g", worst_fd, worst_float);
}

//------------------------------------------------------------------------------
// (d) the float build against the double build
//------------------------------------------------------------------------------

Test(admm_grad, float_matches_double)
{
    char msg[FM_MSG_LEN], what[128];
    for (int kk = 0; kk < 3; kk++)
        for (int d = 0; d < 2; d++)
            for (int inner = 1; inner <= 3; inner += 2) {
                const fm_kind kind = kinds[kk];
                const fm_direction direction = (fm_direction)d;
                problem *p = problem_new(kind, 60 + kk, kind == FM_KIND_INCOMPLETE && d ? 2 : -1, -1);
                fm_edges edges = borrow(p, direction);
                admm_case c = admm_case_new(&edges, kind, inner, 900 + 10 * kk + d, -1, false);
                const int64_t nt = c.nt * RANK, ns = c.ns * RANK;
                // the double case runs on the float inputs' values
                float *Sf = fm_test_to_float(c.S, ns), *Tf = fm_test_to_float(c.T, nt), *Uf = fm_test_to_float(c.U, nt);
                float *cTf = fm_test_to_float(c.cT, nt), *cUf = fm_test_to_float(c.cU, nt);
                for (int64_t e = 0; e < ns; e++) c.S[e] = Sf[e];
                for (int64_t e = 0; e < nt; e++) {
                    c.T[e] = Tf[e];
                    c.U[e] = Uf[e];
                    c.cT[e] = cTf[e];
                    c.cU[e] = cUf[e];
                }
                fm_admm_tape_f64 *tape_d = admm_case_forward(&c);
                double *dS = calloc(ns, sizeof(double)), *dT = calloc(nt, sizeof(double)), *dU = calloc(nt, sizeof(double));
                cr_assert_eq(fm_admm_grad_backward_f64(dS, dT, dU, c.cT, c.cU, tape_d, c.S, &edges, msg), FM_OK, "%s", msg);

                float *Tf_out = calloc(nt, sizeof(float)), *Uf_out = calloc(nt, sizeof(float));
                float *dSf = calloc(ns, sizeof(float)), *dTf = calloc(nt, sizeof(float)), *dUf = calloc(nt, sizeof(float));
                fm_admm_tape *tape_f = NULL;
                cr_assert_eq(fm_admm_grad_forward(Tf_out, Uf_out, &tape_f, Sf, Tf, Uf, &edges, kind, RANK, inner, msg),
                             FM_OK, "%s", msg);
                cr_assert_eq(fm_admm_grad_backward(dSf, dTf, dUf, cTf, cUf, tape_f, Sf, &edges, msg), FM_OK, "%s", msg);
                const char *name = fm_kind_name(kind);
                snprintf(what, sizeof what, "%s %s inner %d: targets", name, direction_name(direction), inner);
                expect_float(Tf_out, c.T_out, nt, 0, what);
                snprintf(what, sizeof what, "%s %s inner %d: duals", name, direction_name(direction), inner);
                expect_float(Uf_out, c.U_out, nt, norm2(c.T_out, nt), what);
                snprintf(what, sizeof what, "%s %s inner %d: d_sources", name, direction_name(direction), inner);
                expect_float(dSf, dS, ns, 0, what);
                snprintf(what, sizeof what, "%s %s inner %d: d_targets", name, direction_name(direction), inner);
                expect_float(dTf, dT, nt, 0, what);
                snprintf(what, sizeof what, "%s %s inner %d: d_duals", name, direction_name(direction), inner);
                expect_float(dUf, dU, nt, 0, what);
                fm_admm_tape_free(&tape_f);
                fm_admm_tape_free_f64(&tape_d);
                free(Sf);
                free(Tf);
                free(Uf);
                free(cTf);
                free(cUf);
                free(Tf_out);
                free(Uf_out);
                free(dSf);
                free(dTf);
                free(dUf);
                free(dS);
                free(dT);
                free(dU);
                admm_case_free(&c);
                give_back(&edges);
                problem_free(&p);
            }
    cr_log_info("float vs double: worst relative error %.3g", worst_float);
}
