// Fixtures of the differentiable ADMM update's and the training loss's
// tests (tests/admm_grad_fixtures.h).
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "admm_grad_fixtures.h"
#include "helpers.h"
#include "rng.h"

const fm_kind ag_kinds[3] = { FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE };

double ag_worst_fd = 0, ag_worst_float = 0;

// ‖a − b‖ / max(‖b‖, floor) for a float array against a double one.
double ag_relative_error_float(const float *a, const double *b, int64_t n, double floor)
{
    double diff = 0, norm = 0;
    for (int64_t e = 0; e < n; e++) {
        diff += (a[e] - b[e]) * (a[e] - b[e]);
        norm += b[e] * b[e];
    }
    norm = fmax(sqrt(norm), floor);
    return norm > 0 ? sqrt(diff) / norm : sqrt(diff);
}

double ag_norm2(const double *x, int64_t n)
{
    double s = 0;
    for (int64_t e = 0; e < n; e++) s += x[e] * x[e];
    return sqrt(s);
}

void ag_expect_gradient(const double *after, const double *before, const double *fd, int64_t n, const char *what)
{
    const double error = fm_test_relative_error(after, before, fd, n);
    if (error > ag_worst_fd) ag_worst_fd = error;
    cr_assert(ag_norm2(fd, n) > 0, "%s: the finite differences are all zero: nothing is checked", what);
    cr_assert(error < AG_FD_TOLERANCE, "%s: finite-difference relative error %.3g", what, error);
}

// The new duals U' = U + T' − T̃ = max(0, −(T̃ − U)) vanish where the relu is
// active, and are rounding residue there (1e-17 in double, 1e-8 in float):
// they are compared on the scale of the new targets (`floor`, 0: their own).
void ag_expect_float(const float *a, const double *b, int64_t n, double floor, const char *what)
{
    const double error = ag_relative_error_float(a, b, n, floor);
    if (error > ag_worst_float) ag_worst_float = error;
    cr_assert(error < AG_FLOAT_TOLERANCE, "%s: float vs double relative error %.3g", what, error);
}

ag_problem *ag_problem_new(fm_kind kind, uint64_t seed, int empty_column, int lonely_column)
{
    ag_problem *p = calloc(1, sizeof *p);
    cr_assert_not_null(p);
    p->kind = kind;
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    for (int i = 0; i < AG_ROWS; i++)
        for (int j = 0; j < AG_COLS; j++) {
            const int e = i * AG_COLS + j;
            bool keep = kind == FM_KIND_DENSE || fm_rng_uniform(rng, e) < 0.6;
            if (kind == FM_KIND_INCOMPLETE && i == j % AG_ROWS) keep = true;
            if (j == empty_column) keep = false;
            if (j == lonely_column) keep = i == 0;
            p->stored[e] = keep;
            p->x[e] = keep ? (float)(0.2 + fm_rng_uniform(rng, 1000 + e)) : 0.0f;
        }
    char msg[FM_MSG_LEN];
    if (kind == FM_KIND_DENSE) {
        cr_assert_eq(fm_graph_from_dense(&p->g, AG_ROWS, AG_COLS, p->x, kind, msg), FM_OK, "%s", msg);
    } else {
        int64_t row[AG_ROWS * AG_COLS], col[AG_ROWS * AG_COLS];
        float val[AG_ROWS * AG_COLS];
        fm_triplets t = { .rows = AG_ROWS, .cols = AG_COLS, .row = row, .col = col, .val = val };
        for (int e = 0; e < AG_ROWS * AG_COLS; e++)
            if (p->stored[e]) {
                row[t.count] = e / AG_COLS;
                col[t.count] = e % AG_COLS;
                val[t.count++] = p->x[e];
            }
        cr_assert_eq(fm_graph_from_triplets(&p->g, &t, kind, msg), FM_OK, "%s", msg);
    }
    return p;
}

void ag_problem_free(ag_problem **p)
{
    fm_graph_free(&(*p)->g);
    free(*p);
    *p = NULL;
}

fm_edges ag_borrow(ag_problem *p, fm_direction direction)
{
    char msg[FM_MSG_LEN];
    fm_edges edges;
    cr_assert_eq(fm_edges_borrow(&edges, p->g, direction, msg), FM_OK, "%s", msg);
    // the dense kind's edges are full storage, the others CSR: both paths are exercised
    cr_assert_eq(edges.ptr == NULL, p->kind == FM_KIND_DENSE, "storage of the %s kind", fm_kind_name(p->kind));
    return edges;
}

void ag_give_back(fm_edges *edges)
{
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_edges_return(edges, msg), FM_OK, "%s", msg);
}
