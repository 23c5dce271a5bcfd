// The differentiable ADMM factor update (ops/admm_grad) on small random
// graphs (7 x 5, k = 3; the backward also at ranks 40 and 64) of every kind,
// in both directions:
//   - the double forward is ops/admm.c's algorithm: it agrees with the
//     solver's float fm_admm_update_shared / fm_admm_update_masked;
//   - every backward agrees with central finite differences of the double
//     forward (loss = Σ c_T ⊙ T_new + Σ c_U ⊙ U_new), away from relu kinks,
//     including targets whose ρ is the guard's constant 1;
//   - gradients not wanted, aliasing, and the refusals (the training loss's
//     too);
//   - the float build agrees with the double build.
// The Frobenius training loss (ops/loss_grad): tests/test_loss_grad.c.
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admm.h"
#include "admm_grad.h"
#include "admm_grad_fixtures.h"
#include "helpers.h"
#include "loss_grad.h"
#include "products.h"
#include "rng.h"

TestSuite(admm_grad, .init = fm_test_setup);

#define SOLVER_TOLERANCE 1e-5   // double forward vs the solver's float ADMM
#define KINK_MARGIN 1e-4        // no relu input this close to 0 where differences are taken

//------------------------------------------------------------------------------
// Arrays and directions
//------------------------------------------------------------------------------

static double worst_solver = 0;   // reported once per test

static double weighted_sum(const double *c, const double *x, int64_t n)
{
    double s = 0;
    for (int64_t e = 0; e < n; e++) s += c[e] * x[e];
    return s;
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
static admm_case admm_case_at_rank(const fm_edges *edges, fm_kind kind, int k, int inner, uint64_t seed,
                                   int zero_source, bool zero_sources)
{
    admm_case c = { .edges = edges, .kind = kind, .k = k, .inner = inner,
                    .nt = edges->targets, .ns = edges->sources };
    const int64_t nt = c.nt * k, ns = c.ns * k;
    for (int attempt = 0; attempt < 64; attempt++, seed += 101) {
        c.S = fm_test_uniform_range(ns, seed, 0.1, 1);
        if (zero_source >= 0)
            for (int r = 0; r < k; r++) c.S[zero_source * k + r] = 0;
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

static admm_case admm_case_new(const fm_edges *edges, fm_kind kind, int inner, uint64_t seed, int zero_source,
                               bool zero_sources)
{
    return admm_case_at_rank(edges, kind, AG_RANK, inner, seed, zero_source, zero_sources);
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
    const double error = ag_relative_error_float(solver, ours, n, floor);
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
                const fm_kind kind = ag_kinds[kk];
                const fm_direction direction = (fm_direction)d;
                ag_problem *p = ag_problem_new(kind, 40 + kk, kind == FM_KIND_INCOMPLETE ? 2 : -1, -1);
                fm_edges edges = ag_borrow(p, direction);
                const int64_t nt = edges.targets, ns = edges.sources;
                double *S = fm_test_uniform_range(ns * AG_RANK, 7 + inner, 0.1, 1), *T = fm_test_uniform_range(nt * AG_RANK, 8 + inner, 0, 1);
                double *U = fm_test_uniform_range(nt * AG_RANK, 9 + inner, -0.3, 0.3);
                // the solver sees float inputs; ours sees the same values in double
                fm_dense *sources = dense_from(S, ns, AG_RANK), *targets = dense_from(T, nt, AG_RANK);
                fm_dense *duals = dense_from(U, nt, AG_RANK), *rhs = dense_from(T, nt, AG_RANK);
                for (int64_t e = 0; e < ns * AG_RANK; e++) S[e] = sources->data[e];
                for (int64_t e = 0; e < nt * AG_RANK; e++) {
                    T[e] = targets->data[e];
                    U[e] = duals->data[e];
                }
                fm_admm_factor factor = { targets, duals };
                fm_penalty none = { 0 };
                if (kind == FM_KIND_INCOMPLETE) {
                    cr_assert_eq(fm_admm_update_masked(factor, &edges, sources, none, inner, msg), FM_OK, "%s", msg);
                } else {
                    double gram[AG_RANK * AG_RANK];
                    cr_assert_eq(fm_products_gram(gram, sources, msg), FM_OK, "%s", msg);
                    cr_assert_eq(fm_admm_update_shared(factor, rhs, &edges, sources, gram, none, inner, msg), FM_OK,
                                 "%s", msg);
                }
                double *T_out = calloc(nt * AG_RANK, sizeof(double)), *U_out = calloc(nt * AG_RANK, sizeof(double));
                fm_admm_tape_f64 *tape = NULL;
                cr_assert_eq(fm_admm_grad_forward_f64(T_out, U_out, &tape, S, T, U, &edges, kind, AG_RANK, inner, msg),
                             FM_OK, "%s", msg);
                char what[96];
                snprintf(what, sizeof what, "%s %s, inner %d: targets", fm_kind_name(kind), direction_name(direction),
                         inner);
                expect_solver_agreement(targets->data, T_out, T, nt * AG_RANK, 0, what);
                snprintf(what, sizeof what, "%s %s, inner %d: duals", fm_kind_name(kind), direction_name(direction),
                         inner);
                expect_solver_agreement(duals->data, U_out, U, nt * AG_RANK, ag_norm2(T_out, nt * AG_RANK), what);
                if (kind != FM_KIND_INCOMPLETE)   // the solver's rhs is F, as the tape's
                    ag_expect_float(rhs->data, tape->rhs, nt * AG_RANK, 0, "the right-hand sides F");
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
                ag_give_back(&edges);
                ag_problem_free(&p);
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
    for (int64_t e = 0; e < n; e++) grad[e] = fm_test_central_difference(x, e, AG_FD_STEP, admm_loss, c);
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
    ag_expect_gradient(dT, dT0, fd_T, nt, what);
    snprintf(what, sizeof what, "%s: d_duals", label);
    if (duals_inert) {
        for (int64_t e = 0; e < nt; e++) {
            cr_assert(dU[e] == dU0[e], "%s: entry %lld changed by %g", what, (long long)e, dU[e] - dU0[e]);
            cr_assert(fabs(fd_U[e]) < 1e-6, "%s: entry %lld has a finite difference %g", what, (long long)e, fd_U[e]);
        }
    } else {
        ag_expect_gradient(dU, dU0, fd_U, nt, what);
    }
    if (probe_sources) {
        double *fd_S = finite_differences(c->S, ns, c);
        if (skip_source >= 0)
            for (int r = 0; r < c->k; r++) {
                const int64_t e = (int64_t)skip_source * c->k + r;
                fd_S[e] = dS[e] - dS0[e];   // not compared
            }
        snprintf(what, sizeof what, "%s: d_sources", label);
        ag_expect_gradient(dS, dS0, fd_S, ns, what);
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
                const fm_kind kind = ag_kinds[kk];
                const fm_direction direction = (fm_direction)d;
                ag_problem *p = ag_problem_new(kind, 60 + kk, -1, -1);
                fm_edges edges = ag_borrow(p, direction);
                admm_case c = admm_case_new(&edges, kind, inner, 300 + 10 * kk + d, -1, false);
                char label[96];
                snprintf(label, sizeof label, "%s %s, inner %d", fm_kind_name(kind), direction_name(direction), inner);
                check_admm_fd(&c, label, true, -1, false);
                admm_case_free(&c);
                ag_give_back(&edges);
                ag_problem_free(&p);
            }
    cr_log_info("backward vs finite differences: worst relative error %.3g", ag_worst_fd);
}

// Ranks above 32 (the limit until 2026-12-08): the largest training takes,
// with the systems and rows on the stack at their full size, for one shared
// Gram (sparse, W-update), and 40 for one Gram per target (incomplete,
// H-update; a 64 x 64 system per target makes the differences slow). More
// components than the graph has nodes on either side.
Test(admm_grad, backward_matches_finite_differences_at_large_ranks)
{
    fm_set_threads(1);   // thousands of tiny forwards: no team to wake for each (the same values)
    for (int kk = 1; kk < 3; kk++) {
        const fm_kind kind = ag_kinds[kk];
        const fm_direction direction = kk == 1 ? FM_TO_ROWS : FM_TO_COLUMNS;
        const int k = kind == FM_KIND_INCOMPLETE ? 40 : FM_ADMM_GRAD_MAX_RANK;
        ag_problem *p = ag_problem_new(kind, 70 + kk, -1, -1);
        fm_edges edges = ag_borrow(p, direction);
        admm_case c = admm_case_at_rank(&edges, kind, k, 2, 400 + 10 * kk, -1, false);
        char label[96];
        snprintf(label, sizeof label, "%s %s, rank %d", fm_kind_name(kind), direction_name(direction), c.k);
        check_admm_fd(&c, label, true, -1, false);
        admm_case_free(&c);
        ag_give_back(&edges);
        ag_problem_free(&p);
    }
    fm_set_threads(0);
}

// The guard ρ = 1 for a zero Gram. Per target (incomplete, H-update): column
// 2 has no entries (G_2 = 0, F_2 = 0) and column 4 only row 0, a zero source
// (G_4 = 0, F_4 = 0). Shared: every source zero (G = 0).
Test(admm_grad, guarded_rho_backward_matches_finite_differences)
{
    for (int inner = 1; inner <= 3; inner += 2) {
        ag_problem *p = ag_problem_new(FM_KIND_INCOMPLETE, 80, 2, 4);
        fm_edges edges = ag_borrow(p, FM_TO_COLUMNS);
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
        ag_give_back(&edges);
        ag_problem_free(&p);

        for (int kk = 0; kk < 2; kk++) {
            p = ag_problem_new(ag_kinds[kk], 90, -1, -1);
            edges = ag_borrow(p, FM_TO_COLUMNS);
            c = admm_case_new(&edges, ag_kinds[kk], inner, 600 + inner, -1, true);
            tape = admm_case_forward(&c);
            cr_assert(tape->guarded[0] == 1 && tape->rho[0] == 1.0, "%s: a zero Gram must be guarded",
                      fm_kind_name(ag_kinds[kk]));
            for (int64_t e = 0; e < c.nt * AG_RANK; e++)
                cr_assert(fabs(c.T_out[e] - c.T[e]) < 1e-12 && fabs(c.U_out[e]) < 1e-12,
                          "%s, zero sources: entry %lld: T' %g (T %g), U' %g",
                          fm_kind_name(ag_kinds[kk]), (long long)e, c.T_out[e], c.T[e], c.U_out[e]);
            fm_admm_tape_free_f64(&tape);
            snprintf(label, sizeof label, "%s, zero sources, inner %d", fm_kind_name(ag_kinds[kk]), inner);
            check_admm_fd(&c, label, false, -1, true);
            admm_case_free(&c);
            ag_give_back(&edges);
            ag_problem_free(&p);
        }
    }
    cr_log_info("guarded backward vs finite differences: worst relative error %.3g", ag_worst_fd);
}

// Gradients not wanted are not touched and change nothing else; missing
// output gradients are zeros; outputs may alias their inputs.
Test(admm_grad, optional_gradients_and_aliasing)
{
    char msg[FM_MSG_LEN];
    for (int kk = 0; kk < 3; kk++) {
        ag_problem *p = ag_problem_new(ag_kinds[kk], 70 + kk, -1, -1);
        fm_edges edges = ag_borrow(p, FM_TO_COLUMNS);
        admm_case c = admm_case_new(&edges, ag_kinds[kk], 3, 700 + kk, -1, false);
        const int64_t nt = c.nt * AG_RANK, ns = c.ns * AG_RANK;
        fm_admm_tape_f64 *tape = admm_case_forward(&c);
        double *zeros = calloc(nt, sizeof(double));
        double *dS = calloc(ns, sizeof(double)), *dT = calloc(nt, sizeof(double)), *dU = calloc(nt, sizeof(double));
        double *dT2 = calloc(nt, sizeof(double)), *dU2 = calloc(nt, sizeof(double));
        cr_assert_eq(fm_admm_grad_backward_f64(dS, dT, dU, c.cT, zeros, tape, c.S, &edges, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_admm_grad_backward_f64(NULL, dT2, dU2, c.cT, NULL, tape, c.S, &edges, msg), FM_OK, "%s", msg);
        cr_assert(ag_norm2(dS, ns) > 0 && ag_norm2(dT, nt) > 0 && ag_norm2(dU, nt) > 0, "%s: zero gradients",
                  fm_kind_name(ag_kinds[kk]));
        for (int64_t e = 0; e < nt; e++)
            cr_assert(dT[e] == dT2[e] && dU[e] == dU2[e], "%s: entry %lld differs without d_sources or d_duals_out",
                      fm_kind_name(ag_kinds[kk]), (long long)e);
        cr_assert_eq(fm_admm_grad_backward_f64(NULL, NULL, NULL, NULL, NULL, tape, c.S, &edges, msg), FM_OK, "%s",
                     msg);

        // in place: T and U updated through the same arrays
        double *T = fm_test_copy(c.T, nt), *U = fm_test_copy(c.U, nt);
        fm_admm_tape_f64 *again = NULL;
        cr_assert_eq(fm_admm_grad_forward_f64(T, U, &again, c.S, T, U, &edges, ag_kinds[kk], AG_RANK, 3, msg), FM_OK,
                     "%s", msg);
        for (int64_t e = 0; e < nt; e++)
            cr_assert(T[e] == c.T_out[e] && U[e] == c.U_out[e], "%s: in-place entry %lld differs",
                      fm_kind_name(ag_kinds[kk]), (long long)e);
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
        ag_give_back(&edges);
        ag_problem_free(&p);
    }
}

Test(admm_grad, bad_arguments_are_refused)
{
    char msg[FM_MSG_LEN];
    ag_problem *p = ag_problem_new(FM_KIND_SPARSE, 5, -1, -1);
    fm_edges edges = ag_borrow(p, FM_TO_COLUMNS);
    enum { BIG = FM_ADMM_GRAD_MAX_RANK + 1 };
    double *S = calloc(AG_ROWS * BIG, sizeof(double)), *T = calloc(AG_COLS * BIG, sizeof(double));
    double *U = calloc(AG_COLS * BIG, sizeof(double));
    fm_admm_tape_f64 *tape = NULL;
    cr_assert_eq(fm_admm_grad_forward_f64(T, U, &tape, S, T, U, &edges, FM_KIND_SPARSE, BIG, 1, msg), FM_ERR_INVALID);
    char big[16], limit[16];
    snprintf(big, sizeof big, "%d", BIG);
    snprintf(limit, sizeof limit, "%d", FM_ADMM_GRAD_MAX_RANK);
    cr_assert(strstr(msg, big) && strstr(msg, limit), "the message names the rank and the limit: %s", msg);
    cr_assert_null(tape);
    cr_assert_eq(fm_admm_grad_forward_f64(T, U, &tape, S, T, U, &edges, FM_KIND_SPARSE, 0, 1, msg), FM_ERR_INVALID);
    cr_assert_eq(fm_admm_grad_forward_f64(T, U, &tape, S, T, U, &edges, FM_KIND_SPARSE, AG_RANK, 0, msg),
                 FM_ERR_INVALID);
    cr_assert_eq(fm_admm_grad_forward_f64(T, U, &tape, S, T, U, &edges, FM_KIND_AUTO, AG_RANK, 1, msg), FM_ERR_INVALID);
    cr_assert_null(tape);
    cr_assert_eq(fm_admm_grad_forward_f64(T, U, &tape, S, T, U, &edges, FM_KIND_SPARSE, AG_RANK, 1, msg), FM_OK, "%s", msg);
    fm_admm_tape_f64 *kept = tape;
    cr_assert_eq(fm_admm_grad_forward_f64(T, U, &tape, S, T, U, &edges, FM_KIND_SPARSE, AG_RANK, 1, msg),
                 FM_ERR_INVALID, "a non-empty tape handle must be refused");
    cr_assert_eq(tape, kept);
    fm_edges other = edges;
    other.sources = AG_ROWS + 1;
    cr_assert_eq(fm_admm_grad_backward_f64(NULL, NULL, NULL, NULL, NULL, tape, S, &other, msg), FM_ERR_INVALID,
                 "edges of another shape must be refused");
    fm_admm_tape_free_f64(&tape);
    cr_assert_null(tape);
    double loss;
    cr_assert_eq(fm_loss_frobenius_forward_f64(&loss, S, T, &edges, FM_KIND_AUTO, AG_RANK, msg), FM_ERR_INVALID);
    free(S);
    free(T);
    free(U);
    ag_give_back(&edges);
    ag_problem_free(&p);
}

//------------------------------------------------------------------------------
// (c) the float build against the double build
//------------------------------------------------------------------------------

Test(admm_grad, float_matches_double)
{
    char msg[FM_MSG_LEN], what[128];
    for (int kk = 0; kk < 3; kk++)
        for (int d = 0; d < 2; d++)
            for (int inner = 1; inner <= 3; inner += 2) {
                const fm_kind kind = ag_kinds[kk];
                const fm_direction direction = (fm_direction)d;
                ag_problem *p = ag_problem_new(kind, 60 + kk, kind == FM_KIND_INCOMPLETE && d ? 2 : -1, -1);
                fm_edges edges = ag_borrow(p, direction);
                admm_case c = admm_case_new(&edges, kind, inner, 900 + 10 * kk + d, -1, false);
                const int64_t nt = c.nt * AG_RANK, ns = c.ns * AG_RANK;
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
                cr_assert_eq(
                    fm_admm_grad_forward(Tf_out, Uf_out, &tape_f, Sf, Tf, Uf, &edges, kind, AG_RANK, inner, msg), FM_OK,
                    "%s", msg);
                cr_assert_eq(fm_admm_grad_backward(dSf, dTf, dUf, cTf, cUf, tape_f, Sf, &edges, msg), FM_OK, "%s", msg);
                const char *name = fm_kind_name(kind);
                snprintf(what, sizeof what, "%s %s inner %d: targets", name, direction_name(direction), inner);
                ag_expect_float(Tf_out, c.T_out, nt, 0, what);
                snprintf(what, sizeof what, "%s %s inner %d: duals", name, direction_name(direction), inner);
                ag_expect_float(Uf_out, c.U_out, nt, ag_norm2(c.T_out, nt), what);
                snprintf(what, sizeof what, "%s %s inner %d: d_sources", name, direction_name(direction), inner);
                ag_expect_float(dSf, dS, ns, 0, what);
                snprintf(what, sizeof what, "%s %s inner %d: d_targets", name, direction_name(direction), inner);
                ag_expect_float(dTf, dT, nt, 0, what);
                snprintf(what, sizeof what, "%s %s inner %d: d_duals", name, direction_name(direction), inner);
                ag_expect_float(dUf, dU, nt, 0, what);
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
                ag_give_back(&edges);
                ag_problem_free(&p);
            }
    cr_log_info("float vs double: worst relative error %.3g", ag_worst_float);
}
