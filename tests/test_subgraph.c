// GraphSAINT subgraph samplers (engine/subgraph) and the weighted training
// loss (ops/loss_grad): the draws are induced subgraphs, seeded; the
// normalization counts and the induced matrix agree with a brute-force
// reading of the definitions; the normalized sums are unbiased (their
// averages over many draws converge to the whole graph's, within a tolerance
// that shrinks with the draws); the weighted loss equals the plain one at
// ω = 1/|Ω| and its backward agrees with finite differences.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "helpers.h"
#include "loss_grad.h"
#include "rng.h"
#include "subgraph.h"

TestSuite(subgraph, .init = fm_test_setup);

typedef struct fixture {
    fm_graph *g;
    fm_message_graph mg;
    unsigned char *stored;   // rows × cols
    int64_t rows, cols;
} fixture;

// A random rows × cols graph of `kind` with about `density` of the entries
// stored, a few rows denser than the rest, every row and column with an edge.
static fixture fixture_new(int64_t rows, int64_t cols, double density, fm_kind kind, uint64_t seed)
{
    fixture f = { .rows = rows, .cols = cols };
    char msg[FM_MSG_LEN];
    const fm_rng r = fm_rng_stream(seed, 77);
    f.stored = calloc((size_t)(rows * cols), 1);
    float *X = calloc((size_t)(rows * cols), sizeof(float));
    for (int64_t i = 0; i < rows; i++) {
        const double p = i % 5 == 0 ? 0.8 : density;
        for (int64_t j = 0; j < cols; j++) f.stored[i * cols + j] = fm_rng_uniform(r, (uint64_t)(i * cols + j)) < p;
        f.stored[i * cols + i % cols] = 1;
    }
    for (int64_t j = 0; j < cols; j++) f.stored[(j % rows) * cols + j] = 1;
    int64_t *ptr = calloc((size_t)rows + 1, sizeof(int64_t)), *idx = calloc((size_t)(rows * cols), sizeof(int64_t));
    float *val = calloc((size_t)(rows * cols), sizeof(float));
    int64_t w = 0;
    for (int64_t i = 0; i < rows; i++) {
        for (int64_t j = 0; j < cols; j++)
            if (f.stored[i * cols + j]) {
                idx[w] = j;
                val[w++] = (float)(0.1 + fm_rng_uniform(r, (uint64_t)(rows * cols + i * cols + j)));
            }
        ptr[i + 1] = w;
    }
    cr_assert_eq(fm_graph_from_csr(&f.g, rows, cols, ptr, idx, val, kind, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_message_graph_open(&f.mg, f.g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
    free(ptr);
    free(idx);
    free(val);
    free(X);
    return f;
}

static void fixture_free(fixture *f)
{
    fm_message_graph_close(&f->mg, NULL);
    fm_graph_free(&f->g);
    free(f->stored);
}

static int64_t *copy_nodes(const int64_t *nodes, int64_t n)
{
    int64_t *out = malloc(sizeof(int64_t) * (size_t)(n + 1));
    memcpy(out, nodes, sizeof(int64_t) * (size_t)n);
    return out;
}

static fm_subgraph_options options_of(fm_sampler strategy, int64_t budget, int64_t presamples)
{
    return (fm_subgraph_options){ .strategy = strategy, .budget = budget, .walk_length = 2,
                                  .presamples = presamples, .seed = 11 };
}

static const fm_sampler strategies[2] = { FM_SAMPLER_EDGE, FM_SAMPLER_RANDOM_WALK };

// The subgraph's row nodes (or column nodes) increase, lie in range, and each
// has an edge to a node of the other side of the subgraph.
static void expect_nodes_with_edges(const fixture *f, const fm_subgraph *a, bool rows, const char *name)
{
    const int64_t count = rows ? a->rows : a->cols, others = rows ? a->cols : a->rows;
    const int64_t *nodes = rows ? a->row_nodes : a->col_nodes, *other = rows ? a->col_nodes : a->row_nodes;
    for (int64_t u = 0; u < count; u++) {
        cr_assert(nodes[u] >= 0 && nodes[u] < (rows ? f->rows : f->cols) && (u == 0 || nodes[u] > nodes[u - 1]));
        bool edge = false;
        for (int64_t v = 0; v < others; v++)
            edge |= rows ? f->stored[nodes[u] * f->cols + other[v]] : f->stored[other[v] * f->cols + nodes[u]];
        cr_assert(edge, "%s: %s %lld has no edge in the subgraph", name, rows ? "row" : "column", (long long)nodes[u]);
    }
}

Test(subgraph, draws_are_seeded_and_every_node_has_an_edge)
{
    fixture f = fixture_new(30, 24, 0.15, FM_KIND_INCOMPLETE, 1);
    char msg[FM_MSG_LEN];
    for (int s = 0; s < 2; s++) {
        const fm_subgraph_options o = options_of(strategies[s], 12, 1);
        fm_subgraph a = {0}, b = {0}, c = {0};
        cr_assert_eq(fm_subgraph_draw(&a, &f.mg.rows, &f.mg.columns, &o, 5, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_subgraph_draw(&b, &f.mg.rows, &f.mg.columns, &o, 5, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_subgraph_draw(&c, &f.mg.rows, &f.mg.columns, &o, 6, msg), FM_OK, "%s", msg);
        cr_assert(a.rows == b.rows && a.cols == b.cols && !memcmp(a.row_nodes, b.row_nodes, 8 * a.rows) &&
                      !memcmp(a.col_nodes, b.col_nodes, 8 * a.cols), "%s: one round, two subgraphs",
                  fm_sampler_name(strategies[s]));
        cr_expect(a.rows != c.rows || a.cols != c.cols || memcmp(a.row_nodes, c.row_nodes, 8 * a.rows) ||
                      memcmp(a.col_nodes, c.col_nodes, 8 * a.cols), "%s: rounds 5 and 6 drew the same subgraph",
                  fm_sampler_name(strategies[s]));
        cr_assert(a.rows >= 1 && a.rows < f.rows && a.cols >= 1 && a.cols < f.cols,
                  "%s: %lld x %lld of 30 x 24 from a budget of 12", fm_sampler_name(strategies[s]),
                  (long long)a.rows, (long long)a.cols);
        // increasing, in range, and each node with an edge to another node of the subgraph
        expect_nodes_with_edges(&f, &a, true, fm_sampler_name(strategies[s]));
        expect_nodes_with_edges(&f, &a, false, fm_sampler_name(strategies[s]));
        fm_subgraph_free(&a);
        fm_subgraph_free(&b);
        fm_subgraph_free(&c);
    }
    fixture_free(&f);
}

// The counts and the induced matrix against the definitions, draw by draw.
Test(subgraph, counts_and_induced_matrix_read_as_defined)
{
    char msg[FM_MSG_LEN];
    const fm_kind kinds[2] = { FM_KIND_SPARSE, FM_KIND_INCOMPLETE };
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < 2; s++) {
            fixture f = fixture_new(16, 13, 0.2, kinds[k], 2 + k);
            const int64_t m = f.rows, n = f.cols, E = f.mg.rows.count, N = 40;
            const fm_subgraph_options o = options_of(strategies[s], 6, N);
            fm_subgraph_counts c = {0};
            cr_assert_eq(fm_subgraph_count(&c, &f.mg.rows, &f.mg.columns, kinds[k], &o, 100, msg), FM_OK, "%s", msg);
            cr_assert_eq(c.draws, N);
            cr_assert_eq(c.pairs != NULL, kinds[k] == FM_KIND_SPARSE);
            int64_t *rows = calloc(m, 8), *cols = calloc(n, 8), *pairs = calloc(m * n, 8);
            for (int64_t d = 0; d < N; d++) {
                fm_subgraph g = {0};
                cr_assert_eq(fm_subgraph_draw(&g, &f.mg.rows, &f.mg.columns, &o, 100 + d, msg), FM_OK, "%s", msg);
                for (int64_t r = 0; r < g.rows; r++) {
                    rows[g.row_nodes[r]]++;
                    for (int64_t q = 0; q < g.cols; q++) pairs[g.row_nodes[r] * n + g.col_nodes[q]]++;
                }
                for (int64_t q = 0; q < g.cols; q++) cols[g.col_nodes[q]]++;
                fm_subgraph_free(&g);
            }
            for (int64_t i = 0; i < m; i++) cr_assert_eq(c.rows[i], rows[i], "row %lld", (long long)i);
            for (int64_t j = 0; j < n; j++) cr_assert_eq(c.cols[j], cols[j], "column %lld", (long long)j);
            for (int64_t i = 0; i < m; i++)
                for (GrB_Index e = f.mg.rows.ptr[i]; e < f.mg.rows.ptr[i + 1]; e++)
                    cr_assert_eq(c.edges[e], pairs[i * n + f.mg.rows.idx[e]], "edge (%lld, %llu)", (long long)i,
                                 (unsigned long long)f.mg.rows.idx[e]);
            if (c.pairs)
                for (int64_t p = 0; p < m * n; p++) cr_assert_eq(c.pairs[p], pairs[p]);
            // one more draw, induced
            fm_subgraph g = {0};
            cr_assert_eq(fm_subgraph_draw(&g, &f.mg.rows, &f.mg.columns, &o, 7, msg), FM_OK, "%s", msg);
            const fm_subgraph copy = { .rows = g.rows, .cols = g.cols };
            int64_t *row_nodes = copy_nodes(g.row_nodes, g.rows), *col_nodes = copy_nodes(g.col_nodes, g.cols);
            fm_subgraph_matrix x = {0};
            const double omega = kinds[k] == FM_KIND_SPARSE ? (double)(m * n) : (double)E;
            cr_assert_eq(fm_subgraph_induce(&x, &g, &f.mg.rows, kinds[k], &c, omega, msg), FM_OK, "%s", msg);
            cr_assert(x.nodes.rows == copy.rows && x.nodes.cols == copy.cols && g.row_nodes == NULL);
            int64_t w = 0;
            for (int64_t r = 0; r < copy.rows; r++) {
                const int64_t i = row_nodes[r];
                cr_assert_eq(x.ptr[r], w);
                for (int64_t q = 0; q < copy.cols; q++) {
                    const int64_t j = col_nodes[q];
                    const double c_pair = pairs[i * n + j] > 0 ? (double)pairs[i * n + j] : 1.0;
                    if (kinds[k] == FM_KIND_SPARSE)
                        cr_assert_float_eq(x.loss_weights[r * copy.cols + q], (float)(N / (c_pair * omega)), 1e-6);
                    if (!f.stored[i * n + j]) continue;
                    cr_assert_eq(x.idx[w], q, "row %lld: column %lld where %lld was expected", (long long)r,
                                 (long long)x.idx[w], (long long)q);
                    const double c_e = c_pair;
                    cr_assert_float_eq(x.log_alpha_rows[w], (float)log(fmin(1, c_e / fmax(1, rows[i]))), 1e-6);
                    cr_assert_float_eq(x.log_alpha_cols[w], (float)log(fmin(1, c_e / fmax(1, cols[j]))), 1e-6);
                    if (kinds[k] == FM_KIND_INCOMPLETE)
                        cr_assert_float_eq(x.loss_weights[w], (float)(N / (c_e * omega)), 1e-6);
                    w++;
                }
            }
            cr_assert_eq(x.count, w);
            free(row_nodes);
            free(col_nodes);
            free(rows);
            free(cols);
            free(pairs);
            fm_subgraph_matrix_free(&x);
            fm_subgraph_counts_free(&c);
            fixture_free(&f);
        }
}

// The loss normalization: Σ_{Ω_s} ω y over a draw averages to Σ_Ω y / |Ω|;
// the aggregator normalization: for a target v in the draw, Σ_{u ∈ N_s(v)}
// y_uv / α_uv averages (over the draws holding v) to Σ_{u ∈ N(v)} y_uv. The
// counts come from many presamples (their own error is small next to the
// tolerance); the tolerance is 4 standard errors of the average plus 1%.
static void check_unbiased(fm_kind kind, fm_sampler strategy, int64_t draws, double *loss_error, double *agg_error)
{
    char msg[FM_MSG_LEN];
    fixture f = fixture_new(14, 12, 0.25, kind, 9);
    const int64_t m = f.rows, n = f.cols, E = f.mg.rows.count;
    const fm_subgraph_options o = options_of(strategy, 5, 20000);
    fm_subgraph_counts c = {0};
    cr_assert_eq(fm_subgraph_count(&c, &f.mg.rows, &f.mg.columns, kind, &o, 1u << 30, msg), FM_OK, "%s", msg);
    const double omega = kind == FM_KIND_SPARSE ? (double)(m * n) : (double)E;
    // y: a value per pair (the loss's), and per edge (the aggregation's)
    double *y = fm_test_uniform_range(m * n, 5, 0.5, 1.5);
    double truth = 0;
    for (int64_t p = 0; p < m * n; p++)
        if (kind == FM_KIND_SPARSE || f.stored[p]) truth += y[p] / omega;
    const int64_t v = 0;   // the target row of the aggregation: row 0, dense (fixture)
    double agg_truth = 0;
    for (int64_t j = 0; j < n; j++)
        if (f.stored[v * n + j]) agg_truth += y[v * n + j];
    double sum = 0, sum2 = 0, agg = 0, agg2 = 0;
    int64_t held = 0;
    for (int64_t d = 0; d < draws; d++) {
        fm_subgraph g = {0};
        fm_subgraph_matrix x = {0};
        cr_assert_eq(fm_subgraph_draw(&g, &f.mg.rows, &f.mg.columns, &o, d, msg), FM_OK, "%s", msg);
        int64_t *row_nodes = copy_nodes(g.row_nodes, g.rows), *col_nodes = copy_nodes(g.col_nodes, g.cols);
        const int64_t R = g.rows, C = g.cols;
        cr_assert_eq(fm_subgraph_induce(&x, &g, &f.mg.rows, kind, &c, omega, msg), FM_OK, "%s", msg);
        double estimate = 0;
        for (int64_t r = 0; r < R; r++)
            if (kind == FM_KIND_SPARSE) {
                for (int64_t q = 0; q < C; q++)
                    estimate += x.loss_weights[r * C + q] * y[row_nodes[r] * n + col_nodes[q]];
            } else {
                for (int64_t e = x.ptr[r]; e < x.ptr[r + 1]; e++)
                    estimate += x.loss_weights[e] * y[row_nodes[r] * n + col_nodes[x.idx[e]]];
            }
        sum += estimate;
        sum2 += estimate * estimate;
        if (R > 0 && row_nodes[0] == v) {
            double a = 0;
            for (int64_t e = x.ptr[0]; e < x.ptr[1]; e++)
                a += y[v * n + col_nodes[x.idx[e]]] * exp(-(double)x.log_alpha_rows[e]);
            agg += a;
            agg2 += a * a;
            held++;
        }
        free(row_nodes);
        free(col_nodes);
        fm_subgraph_matrix_free(&x);
    }
    const double mean = sum / draws, sd = sqrt(fmax(0, sum2 / draws - mean * mean));
    *loss_error = fabs(mean - truth) / truth;
    cr_assert(*loss_error <= (4 * sd / sqrt((double)draws)) / truth + 0.01,
              "%s %s, %lld draws: the loss estimate averages %.6g for %.6g (sd %.3g)", fm_kind_name(kind),
              fm_sampler_name(strategy), (long long)draws, mean, truth, sd);
    cr_assert(held > draws / 10, "row 0 was in %lld of %lld draws", (long long)held, (long long)draws);
    const double agg_mean = agg / held, agg_sd = sqrt(fmax(0, agg2 / held - agg_mean * agg_mean));
    *agg_error = fabs(agg_mean - agg_truth) / agg_truth;
    cr_assert(*agg_error <= (4 * agg_sd / sqrt((double)held)) / agg_truth + 0.01,
              "%s %s, %lld draws: the aggregation of row 0 averages %.6g for %.6g (sd %.3g, %lld draws hold it)",
              fm_kind_name(kind), fm_sampler_name(strategy), (long long)draws, agg_mean, agg_truth, agg_sd,
              (long long)held);
    free(y);
    fm_subgraph_counts_free(&c);
    fixture_free(&f);
}

Test(subgraph, normalized_sums_are_unbiased, .timeout = 120)
{
    const fm_kind kinds[2] = { FM_KIND_SPARSE, FM_KIND_INCOMPLETE };
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < 2; s++) {
            double loss_small, agg_small, loss_large, agg_large;
            check_unbiased(kinds[k], strategies[s], 200, &loss_small, &agg_small);
            check_unbiased(kinds[k], strategies[s], 8000, &loss_large, &agg_large);
            cr_log_info("%s %s: relative error of the loss estimate %.4f (200 draws), %.4f (8000); of the "
                        "aggregation %.4f, %.4f", fm_kind_name(kinds[k]), fm_sampler_name(strategies[s]), loss_small,
                        loss_large, agg_small, agg_large);
            cr_expect(loss_large < 0.02 && agg_large < 0.02, "%s %s: 8000 draws, errors %.4f and %.4f",
                      fm_kind_name(kinds[k]), fm_sampler_name(strategies[s]), loss_large, agg_large);
        }
}

Test(subgraph, refusals)
{
    char msg[FM_MSG_LEN];
    fixture f = fixture_new(10, 10, 0.3, FM_KIND_SPARSE, 4);
    fm_subgraph g = {0};
    fm_subgraph_counts c = {0};
    fm_subgraph_options o = options_of(FM_SAMPLER_EDGE, 0, 10);
    cr_expect_eq(fm_subgraph_draw(&g, &f.mg.rows, &f.mg.columns, &o, 0, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "budget"), "%s", msg);
    o = options_of(FM_SAMPLER_UNIFORM, 5, 10);
    cr_expect_eq(fm_subgraph_draw(&g, &f.mg.rows, &f.mg.columns, &o, 0, msg), FM_ERR_INVALID);
    o = options_of(FM_SAMPLER_RANDOM_WALK, 5, 10);
    o.walk_length = 0;
    cr_expect_eq(fm_subgraph_draw(&g, &f.mg.rows, &f.mg.columns, &o, 0, msg), FM_ERR_INVALID);
    o = options_of(FM_SAMPLER_EDGE, 5, 10);
    cr_expect_eq(fm_subgraph_count(&c, &f.mg.rows, &f.mg.columns, FM_KIND_DENSE, &o, 0, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "complete"), "%s", msg);
    cr_expect_eq(fm_subgraph_draw(&g, &f.mg.columns, &f.mg.columns, &o, 0, msg), FM_OK, "square: %s", msg);
    fm_subgraph_free(&g);
    fm_sampler s;
    cr_expect_eq(fm_sampler_parse(&s, "random-walk", msg), FM_OK);
    cr_expect_eq(s, FM_SAMPLER_RANDOM_WALK);
    cr_expect_eq(fm_sampler_parse_node_wise(&s, "edge", msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "training"), "%s", msg);
    fixture_free(&f);
}

//------------------------------------------------------------------------------
// The weighted loss
//------------------------------------------------------------------------------

typedef struct loss_case {
    const fm_edges *rows;
    fm_kind kind;
    int k;
    double *W, *Ht;
    const float *weights;
} loss_case;

static double weighted_loss(void *context)
{
    const loss_case *c = context;
    double f = 0;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_loss_frobenius_weighted_forward_f64(&f, c->W, c->Ht, c->rows, c->kind, c->k, c->weights, msg),
                 FM_OK, "%s", msg);
    return f;
}

Test(subgraph, weighted_loss_is_the_plain_loss_at_one_over_omega_and_its_backward_agrees)
{
    char msg[FM_MSG_LEN];
    const fm_kind kinds[3] = { FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE };
    const int k = 3;
    for (int kk = 0; kk < 3; kk++) {
        fixture f = fixture_new(9, 7, 0.3, kinds[kk] == FM_KIND_DENSE ? FM_KIND_SPARSE : kinds[kk], 6 + kk);
        fm_graph *dense = NULL;
        fm_message_graph dmg = {0};
        const fm_edges *rows = &f.mg.rows;
        if (kinds[kk] == FM_KIND_DENSE) {
            float *X = fm_test_uniform(f.rows * f.cols, 3);
            cr_assert_eq(fm_graph_from_dense(&dense, f.rows, f.cols, X, FM_KIND_DENSE, msg), FM_OK, "%s", msg);
            cr_assert_eq(fm_message_graph_open(&dmg, dense, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
            rows = &dmg.rows;
            free(X);
        }
        const int64_t m = f.rows, n = f.cols;
        const bool per_edge = kinds[kk] == FM_KIND_INCOMPLETE;
        const int64_t count = per_edge ? rows->count : m * n;
        const double omega = per_edge ? (double)rows->count : (double)(m * n);
        float *ones = malloc(sizeof(float) * count), *random = malloc(sizeof(float) * count);
        double *rw = fm_test_uniform_range(count, 8, 0.2, 2.0);
        for (int64_t e = 0; e < count; e++) {
            ones[e] = (float)(1 / omega);
            random[e] = (float)rw[e];
        }
        double *W = fm_test_uniform_range(m * k, 1, 0, 1), *Ht = fm_test_uniform_range(n * k, 2, 0, 1);
        // at ω = 1/|Ω|: the plain loss and gradients
        double plain, weighted;
        cr_assert_eq(fm_loss_frobenius_forward_f64(&plain, W, Ht, rows, kinds[kk], k, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_loss_frobenius_weighted_forward_f64(&weighted, W, Ht, rows, kinds[kk], k, ones, msg), FM_OK,
                     "%s", msg);
        cr_assert(fabs(plain - weighted) <= 1e-6 * plain, "%s: %.12g plain, %.12g weighted", fm_kind_name(kinds[kk]),
                  plain, weighted);
        double *dW = calloc(m * k, 8), *dH = calloc(n * k, 8), *dW1 = calloc(m * k, 8), *dH1 = calloc(n * k, 8);
        cr_assert_eq(fm_loss_frobenius_backward_f64(dW, dH, 0.7, W, Ht, rows, kinds[kk], k, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_loss_frobenius_weighted_backward_f64(dW1, dH1, 0.7, W, Ht, rows, kinds[kk], k, ones, msg),
                     FM_OK, "%s", msg);
        cr_assert(fm_test_relative_error(dW1, NULL, dW, m * k) < 1e-6 && fm_test_relative_error(dH1, NULL, dH, n * k) < 1e-6,
                  "%s: the weighted gradient at 1/|Ω| differs from the plain one", fm_kind_name(kinds[kk]));
        // random ω: central differences
        memset(dW1, 0, 8 * m * k);
        memset(dH1, 0, 8 * n * k);
        cr_assert_eq(fm_loss_frobenius_weighted_backward_f64(dW1, dH1, 1, W, Ht, rows, kinds[kk], k, random, msg),
                     FM_OK, "%s", msg);
        loss_case c = { rows, kinds[kk], k, W, Ht, random };
        double *fdW = calloc(m * k, 8), *fdH = calloc(n * k, 8);
        for (int64_t e = 0; e < m * k; e++) fdW[e] = fm_test_central_difference(W, e, 1e-5, weighted_loss, &c);
        for (int64_t e = 0; e < n * k; e++) fdH[e] = fm_test_central_difference(Ht, e, 1e-5, weighted_loss, &c);
        const double ew = fm_test_relative_error(dW1, NULL, fdW, m * k), eh = fm_test_relative_error(dH1, NULL, fdH, n * k);
        cr_assert(ew < 1e-7 && eh < 1e-7, "%s: weighted backward against finite differences: %.3g (W), %.3g (H)",
                  fm_kind_name(kinds[kk]), ew, eh);
        // and ω matters
        double other;
        cr_assert_eq(fm_loss_frobenius_weighted_forward_f64(&other, W, Ht, rows, kinds[kk], k, random, msg), FM_OK);
        cr_assert(fabs(other - weighted) > 1e-3 * weighted, "%s: the weights changed nothing", fm_kind_name(kinds[kk]));
        free(ones); free(random); free(rw); free(W); free(Ht);
        free(dW); free(dH); free(dW1); free(dH1); free(fdW); free(fdH);
        fm_message_graph_close(&dmg, NULL);
        fm_graph_free(&dense);
        fixture_free(&f);
    }
}
