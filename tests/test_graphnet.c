// The GraphNet ops' backward (ops/graphnet.h) against central finite
// differences in double: the gather and the aggregation on random edge sets,
// the MLP, and a whole P5 block (layer 1 by rows, layer 2 by columns, with a
// scalar loss). The forward against GraphBLAS, and the same results for any
// thread count: tests/test_graphnet_graphblas.c.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphnet.h"
#include "graphnet_fixtures.h"
#include "helpers.h"

TestSuite(graphnet, .init = fm_test_setup);

#define FD_STEP 1e-6
#define FD_TOLERANCE 1e-6    // double backward vs finite differences

//------------------------------------------------------------------------------
// Arrays and comparisons
//------------------------------------------------------------------------------

static void expect_gradient(const double *after, const double *before, const double *fd, int64_t n,
                            const char *what)
{
    const double error = fm_test_relative_error(after, before, fd, n);
    cr_assert(error < FD_TOLERANCE, "%s: finite-difference relative error %.3g", what, error);
}

static double weighted_sum(const double *c, const double *x, int64_t n)
{
    double s = 0;
    for (int64_t e = 0; e < n; e++) s += c[e] * x[e];
    return s;
}

static double *finite_differences(double *x, int64_t n, double (*loss)(void *), void *ctx)
{
    double *fd = malloc(sizeof(double) * (n > 0 ? n : 1));
    for (int64_t e = 0; e < n; e++) fd[e] = fm_test_central_difference(x, e, FD_STEP, loss, ctx);
    return fd;
}

// expect_gradient on every stride-th entry of x only (the finite differences
// of a long input are the slow part of a test).
static void expect_gradient_sampled(const double *after, const double *before, double *x, int64_t n,
                                    int64_t stride, double (*loss)(void *), void *ctx, const char *what)
{
    const int64_t m = (n + stride - 1) / stride;
    double *a = malloc(sizeof(double) * (m + 1)), *fd = malloc(sizeof(double) * (m + 1));
    for (int64_t i = 0; i < m; i++) {
        a[i] = after[i * stride] - before[i * stride];
        fd[i] = fm_test_central_difference(x, i * stride, FD_STEP, loss, ctx);
    }
    expect_gradient(a, NULL, fd, m, what);
    free(a);
    free(fd);
}

static double *zeros(int64_t n) { return calloc(n > 0 ? n : 1, sizeof(double)); }

//------------------------------------------------------------------------------
// Backward vs finite differences (double)
//------------------------------------------------------------------------------

typedef struct op_case {
    const fm_edge_set *set;
    int dx, de, dz, d;
    fm_aggregate how;
    double *x, *edge, *extra, *c, *out;
} op_case;

static double gather_loss(void *ctx)
{
    op_case *k = ctx;
    fm_gather_forward_f64(k->out, k->set, k->x, k->dx, k->edge, k->de, k->extra, k->dz);
    return weighted_sum(k->c, k->out, k->set->count * FM_GATHER_WIDTH(k->dx, k->de, k->dz));
}

static double aggregate_loss(void *ctx)
{
    op_case *k = ctx;
    fm_aggregate_forward_f64(k->out, k->edge, k->set, k->d, k->how);
    return weighted_sum(k->c, k->out, k->set->nodes * k->d);
}

Test(graphnet, gather_and_aggregate_backward_match_finite_differences)
{
    gn_cases *c = gn_cases_new(12, 0.4, 40, 31);
    for (int s = 0; s < 3; s++) {
        const fm_edge_set *set = c->set[s];
        const int64_t nodes = set->nodes, count = set->count;
        op_case k = { set, 3, 2, 1, 3, FM_AGGREGATE_SUM, NULL, NULL, NULL, NULL, NULL };
        const int64_t width = FM_GATHER_WIDTH(k.dx, k.de, k.dz);
        k.x = fm_test_uniform_range(nodes * k.dx, 1, -1, 1);
        k.edge = fm_test_uniform_range(count * k.de, 2, -1, 1);
        k.extra = fm_test_uniform_range(count * k.dz, 3, -1, 1);
        k.c = fm_test_uniform_range(count * width, 4, -1, 1);
        k.out = zeros(count * width);
        const int64_t sizes[3] = { nodes * k.dx, count * k.de, count * k.dz };
        double *vars[3] = { k.x, k.edge, k.extra }, *before[3], *grads[3];
        for (int v = 0; v < 3; v++) {
            before[v] = fm_test_uniform_range(sizes[v], 5 + v, -1, 1);
            grads[v] = fm_test_copy(before[v], sizes[v]);
        }
        fm_gather_backward_f64(grads[0], grads[1], grads[2], k.c, set, k.dx, k.de, k.dz);
        for (int v = 0; v < 3; v++) {
            double *fd = finite_differences(vars[v], sizes[v], gather_loss, &k);
            char what[64];
            snprintf(what, sizeof what, "%s: gather, input %d", c->name[s], v);
            expect_gradient(grads[v], before[v], fd, sizes[v], what);
            free(fd);
            free(before[v]);
            free(grads[v]);
        }
        free(k.c);
        free(k.out);

        for (int how = FM_AGGREGATE_SUM; how <= FM_AGGREGATE_MEAN; how++) {
            k.how = (fm_aggregate)how;
            k.edge = realloc(k.edge, sizeof(double) * (count * k.d + 1));
            for (int64_t e = 0; e < count * k.d; e++) k.edge[e] = sin(1.0 + (double)e);
            k.c = fm_test_uniform_range(nodes * k.d, 8, -1, 1);
            k.out = zeros(nodes * k.d);
            double *before_e = fm_test_uniform_range(count * k.d, 9, -1, 1);
            double *grad = fm_test_copy(before_e, count * k.d);
            fm_aggregate_backward_f64(grad, k.c, set, k.d, k.how);
            double *fd = finite_differences(k.edge, count * k.d, aggregate_loss, &k);
            char what[64];
            snprintf(what, sizeof what, "%s: aggregate %s", c->name[s], how == FM_AGGREGATE_SUM ? "sum" : "mean");
            expect_gradient(grad, before_e, fd, count * k.d, what);
            free(fd);
            free(before_e);
            free(grad);
            free(k.c);
            free(k.out);
        }
        free(k.x);
        free(k.edge);
        free(k.extra);
    }
    gn_cases_free(c);
}

typedef struct mlp_case {
    int64_t rows;
    int in_dim, hidden_dim, out_dim;
    double *in, *w1, *b1, *w2, *b2, *c, *out, *hidden;
} mlp_case;

static double mlp_loss(void *ctx)
{
    mlp_case *k = ctx;
    fm_mlp_forward_f64(k->out, k->hidden, k->in, k->w1, k->b1, k->w2, k->b2, k->rows, k->in_dim,
                       k->hidden_dim, k->out_dim);
    return weighted_sum(k->c, k->out, k->rows * k->out_dim);
}

Test(graphnet, mlp_backward_matches_finite_differences)
{
    char msg[FM_MSG_LEN];
    // one thread: hundreds of tiny forwards, each a parallel region that waits
    // on a busy machine; any thread count gives the same bits (tested below)
    omp_set_num_threads(1);
    const int64_t rows_list[] = { 0, 1, 37, 259 };   // 259: two row blocks of fm_linear
    for (int r = 0; r < 4; r++) {
        mlp_case k = { rows_list[r], 6, 8, 3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
        const int64_t rows = k.rows;
        const int64_t sizes[5] = { rows * k.in_dim, (int64_t)k.hidden_dim * k.in_dim, k.hidden_dim,
                                   (int64_t)k.out_dim * k.hidden_dim, k.out_dim };
        k.in = fm_test_uniform_range(sizes[0], 1 + rows, -1, 1);
        k.w1 = fm_test_uniform_range(sizes[1], 2, -0.6, 0.6);
        k.b1 = fm_test_uniform_range(sizes[2], 3, -0.3, 0.3);
        k.w2 = fm_test_uniform_range(sizes[3], 4, -0.6, 0.6);
        k.b2 = fm_test_uniform_range(sizes[4], 5, -0.3, 0.3);
        k.c = fm_test_uniform_range(rows * k.out_dim, 6, -1, 1);
        k.out = zeros(rows * k.out_dim);
        k.hidden = zeros(rows * k.hidden_dim);
        double *vars[5] = { k.in, k.w1, k.b1, k.w2, k.b2 }, *before[5], *grads[5];
        for (int v = 0; v < 5; v++) {
            before[v] = fm_test_uniform_range(sizes[v], 50 + v, -1, 1);
            grads[v] = fm_test_copy(before[v], sizes[v]);
        }
        double *scratch = fm_test_uniform_range(rows * k.hidden_dim, 60, -1, 1);   // overwritten
        mlp_loss(&k);
        cr_assert_eq(fm_mlp_backward_f64(grads[0], grads[1], grads[2], grads[3], grads[4], scratch, k.c, k.in,
                                         k.hidden, k.w1, k.w2, rows, k.in_dim, k.hidden_dim, k.out_dim, msg),
                     FM_OK, "%s", msg);
        static const char *names[5] = { "d_in", "d_w1", "d_b1", "d_w2", "d_b2" };
        for (int v = 0; v < 5; v++) {
            char what[64];
            snprintf(what, sizeof what, "mlp %lld rows: %s", (long long)rows, names[v]);
            // every 7th input (7 and the row width 6 are coprime: every column is sampled)
            expect_gradient_sampled(grads[v], before[v], vars[v], sizes[v], v == 0 ? 7 : 1, mlp_loss, &k, what);
            free(before[v]);
            free(grads[v]);
        }
        if (rows > 1) {   // the hidden layer is live: some units on, some off
            int64_t positive = 0;
            for (int64_t e = 0; e < rows * k.hidden_dim; e++) positive += k.hidden[e] > 0;
            cr_assert(positive > 0 && positive < rows * k.hidden_dim);
        }
        // d_hidden is required when anything flows through w1
        if (rows > 0)
            cr_assert_eq(fm_mlp_backward_f64(NULL, NULL, scratch, NULL, NULL, NULL, k.c, k.in, k.hidden, k.w1,
                                             k.w2, rows, k.in_dim, k.hidden_dim, k.out_dim, msg),
                         FM_ERR_INVALID);
        free(scratch);
        free(k.in);
        free(k.w1);
        free(k.b1);
        free(k.w2);
        free(k.b2);
        free(k.c);
        free(k.out);
        free(k.hidden);
    }
}

//------------------------------------------------------------------------------
// A whole P5 block: layer 1 by rows, layer 2 by columns, with a scalar loss
//------------------------------------------------------------------------------

enum { DX = 3, DE = 1, DZ = 1, H = 8, DE1 = 2, DX1 = 3, DE2 = 2, DX2 = 3 };

// An MLP's weights in the parameter block: w1, b1, w2, b2 at `at`.
typedef struct mlp_shape { int in, out; int64_t at; } mlp_shape;

static int64_t mlp_size(mlp_shape m) { return (int64_t)H * m.in + H + (int64_t)m.out * H + m.out; }

typedef struct block_case {
    const fm_edge_set *rows, *columns;
    int64_t n, count;
    mlp_shape e1, n1, e2, n2;
    int64_t params_count;
    double *params, *x, *e, *a, *c_x, *c_e;
    // saved by the forward
    double *g1, *h_e1, *e1_out, *agg1, *n1_in, *h_n1, *x1, *g2, *h_e2, *e2_out, *agg2, *n2_in, *h_n2, *x2;
} block_case;

static const double *mlp_w1(const block_case *k, mlp_shape m) { return k->params + m.at; }
static const double *mlp_b1(const block_case *k, mlp_shape m) { return k->params + m.at + (int64_t)H * m.in; }
static const double *mlp_w2(const block_case *k, mlp_shape m) { return mlp_b1(k, m) + H; }
static const double *mlp_b2(const block_case *k, mlp_shape m) { return mlp_w2(k, m) + (int64_t)m.out * H; }

static void mlp_run(block_case *k, mlp_shape m, double *out, double *hidden, const double *in, int64_t rows)
{
    fm_mlp_forward_f64(out, hidden, in, mlp_w1(k, m), mlp_b1(k, m), mlp_w2(k, m), mlp_b2(k, m), rows, m.in, H,
                       m.out);
}

static void mlp_back(block_case *k, mlp_shape m, double *d_in, double *d_params, const double *d_out,
                     const double *in, const double *hidden, int64_t rows)
{
    char msg[FM_MSG_LEN];
    double *d_hidden = zeros(rows * H);
    double *dw1 = d_params + m.at, *db1 = dw1 + (int64_t)H * m.in, *dw2 = db1 + H, *db2 = dw2 + (int64_t)m.out * H;
    cr_assert_eq(fm_mlp_backward_f64(d_in, dw1, db1, dw2, db2, d_hidden, d_out, in, hidden, mlp_w1(k, m),
                                     mlp_w2(k, m), rows, m.in, H, m.out, msg),
                 FM_OK, "%s", msg);
    free(d_hidden);
}

static double block_loss(void *ctx)
{
    block_case *k = ctx;
    const int64_t n = k->n, E = k->count;
    // layer 1, by rows: e' = MLP_e1([x_i, x_j, e_ij, â_ij]), x' = MLP_n1([x_i, mean_j e'_ij])
    fm_gather_forward_f64(k->g1, k->rows, k->x, DX, k->e, DE, k->a, DZ);
    mlp_run(k, k->e1, k->e1_out, k->h_e1, k->g1, E);
    fm_aggregate_forward_f64(k->agg1, k->e1_out, k->rows, DE1, FM_AGGREGATE_MEAN);
    fm_concat_forward_f64(k->n1_in, k->x, DX, k->agg1, DE1, n);
    mlp_run(k, k->n1, k->x1, k->h_n1, k->n1_in, n);
    // layer 2, by columns: e'' = MLP_e2([x'_j, x'_i, e'_ij]), x'' = MLP_n2([x'_j, Σ_i e''_ij])
    fm_gather_forward_f64(k->g2, k->columns, k->x1, DX1, k->e1_out, DE1, NULL, 0);
    mlp_run(k, k->e2, k->e2_out, k->h_e2, k->g2, E);
    fm_aggregate_forward_f64(k->agg2, k->e2_out, k->columns, DE2, FM_AGGREGATE_SUM);
    fm_concat_forward_f64(k->n2_in, k->x1, DX1, k->agg2, DE2, n);
    mlp_run(k, k->n2, k->x2, k->h_n2, k->n2_in, n);
    return weighted_sum(k->c_x, k->x2, n * DX2) + weighted_sum(k->c_e, k->e2_out, E * DE2);
}

// Adds the gradients of block_loss (after a forward) into d_params, d_x, d_e, d_a.
static void block_backward(block_case *k, double *d_params, double *d_x, double *d_e, double *d_a)
{
    const int64_t n = k->n, E = k->count;
    double *d_n2_in = zeros(n * (DX1 + DE2)), *d_x1 = zeros(n * DX1), *d_agg2 = zeros(n * DE2);
    double *d_e2 = fm_test_copy(k->c_e, E * DE2), *d_g2 = zeros(E * (2 * DX1 + DE1)), *d_e1 = zeros(E * DE1);
    double *d_n1_in = zeros(n * (DX + DE1)), *d_agg1 = zeros(n * DE1), *d_g1 = zeros(E * (2 * DX + DE + DZ));
    mlp_back(k, k->n2, d_n2_in, d_params, k->c_x, k->n2_in, k->h_n2, n);
    fm_concat_backward_f64(d_x1, d_agg2, d_n2_in, DX1, DE2, n);
    fm_aggregate_backward_f64(d_e2, d_agg2, k->columns, DE2, FM_AGGREGATE_SUM);
    mlp_back(k, k->e2, d_g2, d_params, d_e2, k->g2, k->h_e2, E);
    fm_gather_backward_f64(d_x1, d_e1, NULL, d_g2, k->columns, DX1, DE1, 0);
    mlp_back(k, k->n1, d_n1_in, d_params, d_x1, k->n1_in, k->h_n1, n);
    fm_concat_backward_f64(d_x, d_agg1, d_n1_in, DX, DE1, n);
    fm_aggregate_backward_f64(d_e1, d_agg1, k->rows, DE1, FM_AGGREGATE_MEAN);
    mlp_back(k, k->e1, d_g1, d_params, d_e1, k->g1, k->h_e1, E);
    fm_gather_backward_f64(d_x, d_e, d_a, d_g1, k->rows, DX, DE, DZ);
    free(d_n2_in);
    free(d_x1);
    free(d_agg2);
    free(d_e2);
    free(d_g2);
    free(d_e1);
    free(d_n1_in);
    free(d_agg1);
    free(d_g1);
}

Test(graphnet, a_whole_block_matches_finite_differences)
{
    omp_set_num_threads(1);   // as for the MLP: the parallel results are the same bits
    gn_lower_fixture *f = gn_lower_fixture_new(14, 0.35, 41);
    fm_edge_set *rows = gn_edges_from_lower(f, FM_LOWER_BY_ROWS), *columns = gn_edges_from_lower(f, FM_LOWER_BY_COLUMNS);
    cr_assert(gn_targets_without_edges(rows) > 0 && gn_targets_without_edges(columns) > 0);
    block_case k;
    memset(&k, 0, sizeof k);
    k.rows = rows;
    k.columns = columns;
    k.n = f->g.n;
    k.count = f->by_rows.count;
    const int64_t n = k.n, E = k.count;
    k.e1 = (mlp_shape){ 2 * DX + DE + DZ, DE1, 0 };
    k.n1 = (mlp_shape){ DX + DE1, DX1, mlp_size(k.e1) };
    k.e2 = (mlp_shape){ 2 * DX1 + DE1, DE2, k.n1.at + mlp_size(k.n1) };
    k.n2 = (mlp_shape){ DX1 + DE2, DX2, k.e2.at + mlp_size(k.e2) };
    k.params_count = k.n2.at + mlp_size(k.n2);
    k.params = fm_test_uniform_range(k.params_count, 1, -0.5, 0.5);
    k.x = fm_test_uniform_range(n * DX, 2, -1, 1);
    k.e = fm_test_uniform_range(E * DE, 3, -1, 1);
    k.a = fm_test_uniform_range(E * DZ, 4, -1, 1);
    k.c_x = fm_test_uniform_range(n * DX2, 5, -1, 1);
    k.c_e = fm_test_uniform_range(E * DE2, 6, -1, 1);
    k.g1 = zeros(E * (2 * DX + DE + DZ));
    k.h_e1 = zeros(E * H);
    k.e1_out = zeros(E * DE1);
    k.agg1 = zeros(n * DE1);
    k.n1_in = zeros(n * (DX + DE1));
    k.h_n1 = zeros(n * H);
    k.x1 = zeros(n * DX1);
    k.g2 = zeros(E * (2 * DX1 + DE1));
    k.h_e2 = zeros(E * H);
    k.e2_out = zeros(E * DE2);
    k.agg2 = zeros(n * DE2);
    k.n2_in = zeros(n * (DX1 + DE2));
    k.h_n2 = zeros(n * H);
    k.x2 = zeros(n * DX2);

    const int64_t sizes[4] = { k.params_count, n * DX, E * DE, E * DZ };
    double *vars[4] = { k.params, k.x, k.e, k.a }, *before[4], *grads[4];
    for (int v = 0; v < 4; v++) {
        before[v] = fm_test_uniform_range(sizes[v], 10 + v, -1, 1);
        grads[v] = fm_test_copy(before[v], sizes[v]);
    }
    block_loss(&k);
    block_backward(&k, grads[0], grads[1], grads[2], grads[3]);
    static const char *names[4] = { "parameters", "x", "e", "a-hat" };
    for (int v = 0; v < 4; v++) {
        double *fd = finite_differences(vars[v], sizes[v], block_loss, &k);
        char what[64];
        snprintf(what, sizeof what, "block: d_%s", names[v]);
        expect_gradient(grads[v], before[v], fd, sizes[v], what);
        free(fd);
        free(before[v]);
        free(grads[v]);
    }
    double *all[] = { k.params, k.x, k.e, k.a, k.c_x, k.c_e, k.g1, k.h_e1, k.e1_out, k.agg1, k.n1_in,
                      k.h_n1, k.x1, k.g2, k.h_e2, k.e2_out, k.agg2, k.n2_in, k.h_n2, k.x2 };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
    fm_edge_set_free(&rows);
    fm_edge_set_free(&columns);
    gn_lower_fixture_free(f);
}
