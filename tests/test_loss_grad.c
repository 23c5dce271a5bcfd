// The Frobenius training loss (ops/loss_grad) on small random graphs
// (7 x 5, k = 3) of every kind: its value agrees with a brute-force sum over
// Ω and with the transposed problem's, its backward with central finite
// differences, and the float build with the double build (value and
// gradients). Its refusals: tests/test_admm_grad.c.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "admm_grad_fixtures.h"
#include "helpers.h"
#include "loss_grad.h"

TestSuite(loss_grad, .init = fm_test_setup);

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
    cr_assert_eq(fm_loss_frobenius_forward_f64(&loss, c->W, c->Ht, c->edges, c->kind, AG_RANK, msg), FM_OK, "%s", msg);
    return loss;
}

// ½ Σ_Ω r² / |Ω| from the dense values, entry by entry.
static double frobenius_brute_force(const ag_problem *p, const double *W, const double *Ht)
{
    double sum = 0, omega = 0;
    for (int i = 0; i < AG_ROWS; i++)
        for (int j = 0; j < AG_COLS; j++) {
            if (p->kind == FM_KIND_INCOMPLETE && !p->stored[i * AG_COLS + j]) continue;
            double r = p->x[i * AG_COLS + j];
            for (int c = 0; c < AG_RANK; c++) r -= W[i * AG_RANK + c] * Ht[j * AG_RANK + c];
            sum += r * r;
            omega += 1;
        }
    return 0.5 * sum / omega;
}

Test(loss_grad, loss_backward_matches_finite_differences)
{
    char msg[FM_MSG_LEN], what[96];
    for (int kk = 0; kk < 3; kk++) {
        const fm_kind kind = ag_kinds[kk];
        ag_problem *p = ag_problem_new(kind, 20 + kk, -1, -1);
        fm_edges rows = ag_borrow(p, FM_TO_ROWS), columns = ag_borrow(p, FM_TO_COLUMNS);
        loss_case c = { &rows, kind, fm_test_uniform_range(AG_ROWS * AG_RANK, 31 + kk, 0, 1), fm_test_uniform_range(AG_COLS * AG_RANK, 41 + kk, 0, 1) };
        const double loss = frobenius(&c), expected = frobenius_brute_force(p, c.W, c.Ht);
        cr_assert(fabs(loss - expected) <= 1e-12 * expected, "%s: loss %.17g, brute force %.17g", fm_kind_name(kind),
                  loss, expected);
        // §1's symmetry: f(W, H) for X is f(Hᵀ, Wᵀ) for Xᵀ
        double transposed = 0;
        cr_assert_eq(fm_loss_frobenius_forward_f64(&transposed, c.Ht, c.W, &columns, kind, AG_RANK, msg), FM_OK, "%s", msg);
        cr_assert(fabs(transposed - loss) <= 1e-12 * loss, "%s: transposed loss %.17g vs %.17g", fm_kind_name(kind),
                  transposed, loss);

        const double d_loss = 1.7;
        double *dW0 = fm_test_uniform_range(AG_ROWS * AG_RANK, 51, -1, 1), *dH0 = fm_test_uniform_range(AG_COLS * AG_RANK, 52, -1, 1);
        double *dW = fm_test_copy(dW0, AG_ROWS * AG_RANK), *dH = fm_test_copy(dH0, AG_COLS * AG_RANK);
        cr_assert_eq(fm_loss_frobenius_backward_f64(dW, dH, d_loss, c.W, c.Ht, &rows, kind, AG_RANK, msg), FM_OK, "%s",
                     msg);
        double fd_W[AG_ROWS * AG_RANK], fd_H[AG_COLS * AG_RANK];
        for (int e = 0; e < AG_ROWS * AG_RANK; e++) fd_W[e] = d_loss * fm_test_central_difference(c.W, e, AG_FD_STEP, frobenius, &c);
        for (int e = 0; e < AG_COLS * AG_RANK; e++) fd_H[e] = d_loss * fm_test_central_difference(c.Ht, e, AG_FD_STEP, frobenius, &c);
        snprintf(what, sizeof what, "%s loss: d_W", fm_kind_name(kind));
        ag_expect_gradient(dW, dW0, fd_W, AG_ROWS * AG_RANK, what);
        snprintf(what, sizeof what, "%s loss: d_Ht", fm_kind_name(kind));
        ag_expect_gradient(dH, dH0, fd_H, AG_COLS * AG_RANK, what);

        // float vs double, value and gradients
        float *Wf = fm_test_to_float(c.W, AG_ROWS * AG_RANK), *Hf = fm_test_to_float(c.Ht, AG_COLS * AG_RANK);
        for (int e = 0; e < AG_ROWS * AG_RANK; e++) c.W[e] = Wf[e];
        for (int e = 0; e < AG_COLS * AG_RANK; e++) c.Ht[e] = Hf[e];
        double loss_f = 0, loss_d = frobenius(&c);
        cr_assert_eq(fm_loss_frobenius_forward(&loss_f, Wf, Hf, &rows, kind, AG_RANK, msg), FM_OK, "%s", msg);
        cr_assert(fabs(loss_f - loss_d) < AG_FLOAT_TOLERANCE * loss_d, "%s: float loss %.9g, double %.9g",
                  fm_kind_name(kind), loss_f, loss_d);
        float dWf[AG_ROWS * AG_RANK] = { 0 }, dHf[AG_COLS * AG_RANK] = { 0 };
        double dWd[AG_ROWS * AG_RANK] = { 0 }, dHd[AG_COLS * AG_RANK] = { 0 };
        cr_assert_eq(fm_loss_frobenius_backward(dWf, dHf, 1.0f, Wf, Hf, &rows, kind, AG_RANK, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_loss_frobenius_backward_f64(dWd, dHd, 1.0, c.W, c.Ht, &rows, kind, AG_RANK, msg), FM_OK, "%s",
                     msg);
        snprintf(what, sizeof what, "%s loss, float: d_W", fm_kind_name(kind));
        ag_expect_float(dWf, dWd, AG_ROWS * AG_RANK, 0, what);
        snprintf(what, sizeof what, "%s loss, float: d_Ht", fm_kind_name(kind));
        ag_expect_float(dHf, dHd, AG_COLS * AG_RANK, 0, what);
        free(Wf);
        free(Hf);
        free(dW0);
        free(dH0);
        free(dW);
        free(dH);
        free(c.W);
        free(c.Ht);
        ag_give_back(&rows);
        ag_give_back(&columns);
        ag_problem_free(&p);
    }
    cr_log_info("loss: worst finite-difference error %.3g, worst float error %.3g", ag_worst_fd, ag_worst_float);
}
