// NeuralIF's forward fused for inference (P5; the network is drawn in
// neuralif_model.h). The training forward (neuralif_net.inc) materializes
// every layer's gathered input (E × (2F+2)), hidden (E × h) and output for
// the backward; inference keeps none of it.
//
// Every edge MLP's first layer splits by its inputs:
//   W [x_t, x_s, e, â] + b = (W_t x_t + b) + W_s x_s + w_e e + w_â â,
// so each node's two h-wide products are computed once (P, Q for layer 1,
// R, S for layer 2) and an edge costs h multiply-adds for e and â, a ReLU and
// the h-wide dot with w2. Per block:
//   rows i (lower by rows):    e'_k = MLP_e1 for the edges k of row i, their
//                              mean, x'_i = MLP_n1([x_i, mean]), R_i, S_i;
//   columns j (last block: rows), lower by columns through lower_edge:
//                              e''_k = MLP_e2 for the edges of column j, their
//                              sum, x''_j = MLP_n2([x'_j, Σ]), the next
//                              block's P_j, Q_j.
// Each pass writes only its own row's or column's outputs and reads the
// previous pass's, so e, e' and e'' share the output z (edge k reads and
// writes only z[k]) and x, x', x'' share one n × F array: memory is the E
// floats of z plus n·(F + 4h) floats. Each output is computed by one thread
// in a fixed order (its row's or column's edges in storage order, the same
// order as fm_nif_forward's aggregation): the results do not depend on the
// thread count. They equal fm_nif_forward's up to float rounding (the sums
// inside each MLP run in another order).
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "memory.h"
#include "neuralif_model.h"
#include "status.h"

#define F FM_NIF_FEATURES
// Rows (or columns) per chunk of the round-robin static schedule: the lower
// part's rows grow with i, so contiguous halves would leave a thread idle.
#define INFER_CHUNK 64
// The column passes fetch z this many edges ahead.
#define INFER_AHEAD 32
// Below this many edges the passes run on one thread.
#define INFER_PARALLEL 16384

#define ALWAYS_INLINE static inline __attribute__((always_inline))

// One MLP's tensors (w1 h × in, b1 h, w2 out × h, b2 out).
typedef struct mlp { const float *w1, *b1, *w2, *b2; } mlp;

static mlp mlp_of(const fm_params *layout, const float *values, int b, int which)
{
    const int64_t *at = layout->offsets + 4 * (FM_NIF_MLPS * b + which);
    return (mlp){ values + at[0], values + at[1], values + at[2], values + at[3] };
}

// An edge MLP's columns of w1 for the edge inputs, contiguous (h each).
typedef struct edge_weights { float *we, *wa; } edge_weights;

// What the passes read: the graph, the current block's MLPs, the node arrays.
typedef struct infer_context {
    const fm_square *graph;
    int h;
    mlp e1, n1, e2, n2, next_e1;   // n2 and next_e1 unused in the last block
    edge_weights k1, k2;           // w1's e and â columns of e1, e's column of e2
    const float *x_in;             // the block's node input (x0, then x)
    float *x;                      // n × F: x' then x''
    const float *e_in, *ahat;      // the block's edge input (e0, then z), â
    float *z;
    float *P, *Q, *R, *S;          // n × h each
} infer_context;

// u = W_t x + b and v = W_s x: the target's and the source's parts of an
// edge MLP's first layer (w1 h × in, the target's F columns first).
ALWAYS_INLINE void node_products(float *restrict u, float *restrict v, const float *restrict x,
                                 const mlp *m, int in, int h)
{
    for (int c = 0; c < h; c++) {
        const float *w = m->w1 + (int64_t)c * in;
        float a = m->b1[c], s = 0;
        for (int q = 0; q < F; q++) {
            a += w[q] * x[q];
            s += w[F + q] * x[q];
        }
        u[c] = a;
        v[c] = s;
    }
}

// out (F) = MLP_n([x, agg]) (in F + 1 → h → F).
ALWAYS_INLINE void node_mlp(float *restrict out, const float *restrict x, float agg, const mlp *m, int h)
{
    for (int o = 0; o < F; o++) out[o] = m->b2[o];
    for (int c = 0; c < h; c++) {
        const float *w = m->w1 + (int64_t)c * (F + 1);
        float a = m->b1[c];
        for (int q = 0; q < F; q++) a += w[q] * x[q];
        a += w[F] * agg;
        a = a > 0 ? a : 0;
        for (int o = 0; o < F; o++) out[o] += m->w2[(int64_t)o * h + c] * a;
    }
}

// The shipped width h = 8 as one vector (GCC vector extensions: one AVX
// register in the x86-64-v3 and v4 clones, two SSE ones otherwise). The
// ReLU is a mask, not a branch: the signs of the pre-activations are data
// and mispredict; relu(NaN) = 0 as in fm_relu_forward.
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

// w2 · relu(u + v + we·e + wa·a) + b2 (wa may be NULL: no second input).
ALWAYS_INLINE float edge_mlp(const float *restrict u, const float *restrict v, const float *restrict we,
                             float e, const float *restrict wa, float a, const float *restrict w2, float b2,
                             int h)
{
    if (h == 8) {   // (vectors stay local: no vector crosses a call, whatever the target's ABI)
        v8f vu, vv, vwe, vwa, vw2;
        memcpy(&vu, u, sizeof vu);
        memcpy(&vv, v, sizeof vv);
        memcpy(&vwe, we, sizeof vwe);
        memcpy(&vw2, w2, sizeof vw2);
        v8f s = vu + vv + vwe * e;
        if (wa) {
            memcpy(&vwa, wa, sizeof vwa);
            s += vwa * a;
        }
        const v8f zero = { 0 };
        const v8f p = (v8f)((v8i)s & (s > zero)) * vw2;   // relu(s) · w2
        return b2 + (((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7])));
    }
    float sum = b2;
    for (int c = 0; c < h; c++) {
        float s = u[c] + v[c] + we[c] * e;
        if (wa) s += wa[c] * a;
        sum += (s > 0 ? s : 0) * w2[c];
    }
    return sum;
}

// Layer 1 for row i, then x'_i and its R_i, S_i.
ALWAYS_INLINE void row_pass(const infer_context *c, int64_t i, int h)
{
    const fm_csr *lower = c->graph->lower;
    const int64_t first = lower->start[i], end = lower->start[i + 1];
    const float *P = c->P + i * h;
    float sum = 0;
    for (int64_t k = first; k < end; k++) {
        const float value = edge_mlp(P, c->Q + lower->index[k] * h, c->k1.we, c->e_in[k], c->k1.wa,
                                     c->ahat[k], c->e1.w2, c->e1.b2[0], h);
        c->z[k] = value;
        sum += value;
    }
    const int64_t degree = end - first;
    const float mean = degree > 1 ? sum / (float)degree : sum;
    float x[F], out[F];
    memcpy(x, c->x_in + i * F, sizeof x);
    node_mlp(out, x, mean, &c->n1, h);
    memcpy(c->x + i * F, out, sizeof out);
    node_products(c->R + i * h, c->S + i * h, out, &c->e2, 2 * F + 1, h);
}

// Layer 2 for column j (edges (i, j), i ≥ j), then x''_j and the next
// block's P_j, Q_j.
ALWAYS_INLINE void column_pass(const infer_context *c, int64_t j, int h)
{
    const fm_csr *columns = c->graph->lower_by_columns;
    const int64_t *edge = c->graph->lower_edge;
    const float *R = c->R + j * h;
    float sum = 0;
    const int64_t end = columns->start[j + 1], last = columns->count - 1;
    for (int64_t p = columns->start[j]; p < end; p++) {
        // z[k] of an edge INFER_AHEAD on: z is read in row order elsewhere, here
        // at random, and each miss stalled the pass (44% of the network's
        // time, perf/README.md)
        __builtin_prefetch(c->z + edge[p + INFER_AHEAD < last ? p + INFER_AHEAD : last], 1);
        const int64_t k = edge[p];
        const float value = edge_mlp(R, c->S + columns->index[p] * h, c->k2.we, c->z[k], NULL, 0,
                                     c->e2.w2, c->e2.b2[0], h);
        c->z[k] = value;
        sum += value;
    }
    float x[F], out[F];
    memcpy(x, c->x + j * F, sizeof x);
    node_mlp(out, x, sum, &c->n2, h);
    memcpy(c->x + j * F, out, sizeof out);
    node_products(c->P + j * h, c->Q + j * h, out, &c->next_e1, 2 * F + 2, h);
}

// Layer 2 of the last block for row i: z only.
ALWAYS_INLINE void last_row_pass(const infer_context *c, int64_t i, int h)
{
    const fm_csr *lower = c->graph->lower;
    const float *S = c->S + i * h;
    for (int64_t k = lower->start[i]; k < lower->start[i + 1]; k++)
        c->z[k] = edge_mlp(c->R + lower->index[k] * h, S, c->k2.we, c->z[k], NULL, 0, c->e2.w2,
                           c->e2.b2[0], h);
}

enum { PASS_FIRST_PRODUCTS, PASS_ROWS, PASS_COLUMNS, PASS_LAST_ROWS };

// One pass over the nodes, in parallel (the width test hoisted per node).
FM_TARGET_CLONES
static void run_pass(const infer_context *c, int pass)
{
    const int64_t n = c->graph->n, h = c->h;
    const bool parallel = c->graph->lower->count > INFER_PARALLEL;
#pragma omp parallel for schedule(static, INFER_CHUNK) if (parallel)
    for (int64_t t = 0; t < n; t++) {
        switch (pass) {
        case PASS_FIRST_PRODUCTS:
            if (h == 8) node_products(c->P + t * 8, c->Q + t * 8, c->x_in + t * F, &c->e1, 2 * F + 2, 8);
            else node_products(c->P + t * h, c->Q + t * h, c->x_in + t * F, &c->e1, 2 * F + 2, (int)h);
            break;
        case PASS_ROWS:
            if (h == 8) row_pass(c, t, 8);
            else row_pass(c, t, (int)h);
            break;
        case PASS_COLUMNS:
            if (h == 8) column_pass(c, t, 8);
            else column_pass(c, t, (int)h);
            break;
        default:
            if (h == 8) last_row_pass(c, t, 8);
            else last_row_pass(c, t, (int)h);
            break;
        }
    }
}

// w1's column `column` (of `in`) as h contiguous floats.
static void weight_column(float *out, const mlp *m, int in, int column, int h)
{
    for (int c = 0; c < h; c++) out[c] = m->w1[(int64_t)c * in + column];
}

int64_t fm_nif_infer_work(const fm_nif_config *config, int64_t nodes)
{
    return nodes * (F + 4 * (int64_t)config->hidden);
}

int fm_nif_infer(float *z, const fm_nif_config *config, const fm_params *layout, const float *values,
                 const fm_square *graph, const float *x0, const float *e0, float *work, char *msg)
{
    float *owned = NULL, *columns = NULL;
#define FREE_ALL do { fm_free_large(owned); free(columns); } while (0)
    FM_CHECK(z && config && layout && values && graph && graph->lower && graph->lower_by_columns &&
                 (graph->lower_edge || graph->lower->count == 0) && x0 && (e0 || graph->lower->count == 0),
             FM_ERR_INVALID, "fm_nif_infer: bad arguments");
    FM_CHECK(config->blocks >= 1 && config->blocks <= FM_NIF_MAX_BLOCKS && config->hidden >= 1 &&
                 config->hidden <= 4096,
             FM_ERR_INVALID, "NeuralIF: %d blocks of hidden width %d (1 to %d blocks, width 1 to 4096)",
             config->blocks, config->hidden, FM_NIF_MAX_BLOCKS);
    FM_CHECK(layout->tensors == fm_nif_tensor_count(config), FM_ERR_INVALID,
             "fm_nif_infer: the parameters hold %d tensors, the network %d", layout->tensors,
             fm_nif_tensor_count(config));
    const int64_t n = graph->n, h = config->hidden;
    float *nodes = work;
    if (!nodes) {
        FM_ALLOC_LARGE(owned, fm_nif_infer_work(config, n));
        nodes = owned;
    }
    FM_ALLOC(columns, 3 * h);
    infer_context c = {
        .graph = graph, .h = (int)h, .x = nodes, .P = nodes + n * F, .Q = nodes + n * (F + h),
        .R = nodes + n * (F + 2 * h), .S = nodes + n * (F + 3 * h), .z = z, .ahat = e0,
        .k1 = { columns, columns + h }, .k2 = { columns + 2 * h, NULL },
    };
    c.e1 = mlp_of(layout, values, 0, FM_NIF_E1);
    c.x_in = x0;
    run_pass(&c, PASS_FIRST_PRODUCTS);
    for (int b = 0; b < config->blocks; b++) {
        const bool last = b == config->blocks - 1;
        c.e1 = mlp_of(layout, values, b, FM_NIF_E1);
        c.n1 = mlp_of(layout, values, b, FM_NIF_N1);
        c.e2 = mlp_of(layout, values, b, FM_NIF_E2);
        weight_column(c.k1.we, &c.e1, 2 * F + 2, 2 * F, (int)h);
        weight_column(c.k1.wa, &c.e1, 2 * F + 2, 2 * F + 1, (int)h);
        weight_column(c.k2.we, &c.e2, 2 * F + 1, 2 * F, (int)h);
        c.x_in = b == 0 ? x0 : c.x;
        c.e_in = b == 0 ? e0 : z;
        run_pass(&c, PASS_ROWS);
        if (last) {
            run_pass(&c, PASS_LAST_ROWS);
        } else {
            c.n2 = mlp_of(layout, values, b, FM_NIF_N2);
            c.next_e1 = mlp_of(layout, values, b + 1, FM_NIF_E1);
            run_pass(&c, PASS_COLUMNS);
        }
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
