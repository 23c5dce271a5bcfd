// The learned LU network's forward fused for inference (P6; the network is
// drawn in learned_lu_model.h). The training forward (learned_lu_net.inc)
// keeps every layer's edge inputs, hidden and output activations (E × (3w+2)
// floats a layer) for the backward, and reads a copy Â with its edge set;
// inference keeps none of it and reads A as it is.
//
// Every edge MLP's first layer splits by its inputs:
//   w1 [x_i, x_j, e_k, â_k, c_k] + b1 = (W_t x_i + b1) + W_s x_j + W_ez [e_k, â_k, c_k],
// so each node's two w-wide products are computed once a layer (P_i, Q_j: the
// products pass). And between an edge MLP's hidden layer h^l_k and the next
// layer's pre-activation there is no nonlinearity: e^l_k = W2 h^l_k + b2
// enters layer l+1 only as W_e e^l_k (W_e: W_ez's columns of e) and through
// the mean, mean_k e^l_k = W2 mean_k h^l_k + b2. So the edge state kept is h^l,
// layer l+1 reads it through M = W_e W2 (w × w, multiplied once, in double)
// with W_e b2 added to b1, and W2 is applied once per node to the mean: an
// edge costs one w × w product a layer, not two. Per row i (the row pass of
// layer l):
//   h^l_k for the entries k of row i, written over h^{l−1}_k (edge k reads
//   and writes only its own state), their mean, x^l_i = MLP_n([x_i, W2 mean
//   + b2]) written over x^{l−1}_i, where W2 folds into the node MLP's first
//   layer the same way (its columns of the mean times W2, once a layer); in
//   the last layer z_k = w2·h^L_k + b2 only.
// â_k = a_ij / (s_i s_j) (the sign of a_ii on the diagonal) and the position
// code c_k are computed from A and its scale where they are read, the node
// features by fm_nif_features_of from A: no copy of Â, no edge set. Memory:
// z (E floats), one edge state E × w (none with one layer) and n·(F + 3w)
// floats of node arrays (x⁰, x, P, Q): fm_llu_infer_work.
//
// Each output is computed by one thread in a fixed order (a row's entries in
// storage order, the order of fm_aggregate_forward's mean), with rows handed
// out in static round-robin chunks: the results do not depend on the thread
// count. They equal fm_llu_forward's up to float rounding (the sums inside
// each MLP run in another order, and M's products are rounded once).
#include <math.h>
#include <omp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "learned_lu_model.h"
#include "memory.h"
#include "neuralif_model.h"
#include "status.h"

#define F FM_LLU_FEATURES
// Rows per chunk of the round-robin static schedule.
#define INFER_CHUNK 32
// Below this many entries the passes run on one thread (an entry costs about
// w² multiply-adds a layer, a node about 5w²).
#define INFER_PARALLEL 4096

#define ALWAYS_INLINE static inline __attribute__((always_inline))

// One layer's weights, the matrices transposed (row q = input q's weights to
// every output, contiguous) so that a product is a sum of scaled rows.
typedef struct layer_weights {
    int dx, de, out_e;     // x^{l−1}'s width, h^{l−1}'s (0 in layer 1), e^l's
    bool last;
    float *t, *s;          // dx × w: the edge MLP's w1 columns of x_i and of x_j
    float *ez;             // (de + 2) × w: M (W_e W2 of layer l−1), then w1's columns of â_k, c_k
    float *w2;             // w × out_e
    float *b1;             // w: b1 + W_e b2 of layer l−1
    const float *b2;       // out_e
    float *n1;             // (dx + w) × w: the node MLP's w1, its columns of the mean times W2
    float *n2;             // w × w
    float *nb1;            // w: its b1 + (its columns of the mean) b2
    const float *nb2;
} layer_weights;

// What the passes read and write.
typedef struct infer_context {
    const fm_square *A;
    int w;
    const layer_weights *layer;
    const float *x_in;     // n × dx: x⁰, then x
    float *x;              // n × w: x^l over x^{l−1}
    float *P, *Q;          // n × w: W_t x + b1, W_s x
    float *edge;           // E × w: h^l over h^{l−1} (NULL with one layer)
    float *z;              // E
    float *scratch;        // per thread, `stride` floats each
    int64_t stride;
} infer_context;

// The shipped width as four vectors of 8 (GCC vector extensions: one AVX
// register each in the x86-64-v3 and v4 clones, two SSE ones otherwise),
// four accumulators that stay in registers (one vector of 32 is spilled).
typedef float v8f __attribute__((vector_size(32)));
_Static_assert(FM_LLU_WIDTH == 32, "the shipped width's kernels hold 4 vectors of 8");

// out[c] += Σ_q in[q] · wt[q·w + c] (wt: `count` rows of w).
ALWAYS_INLINE void accumulate(float *restrict out, const float *restrict wt, const float *restrict in, int count,
                              int w)
{
    if (w == FM_LLU_WIDTH) {   // (vectors stay local: none crosses a call, whatever the target's ABI)
        v8f s0, s1, s2, s3, r0, r1, r2, r3;
        memcpy(&s0, out, sizeof s0);
        memcpy(&s1, out + 8, sizeof s1);
        memcpy(&s2, out + 16, sizeof s2);
        memcpy(&s3, out + 24, sizeof s3);
        for (int q = 0; q < count; q++) {
            const float *row = wt + (int64_t)q * FM_LLU_WIDTH;
            memcpy(&r0, row, sizeof r0);
            memcpy(&r1, row + 8, sizeof r1);
            memcpy(&r2, row + 16, sizeof r2);
            memcpy(&r3, row + 24, sizeof r3);
            const float a = in[q];
            s0 += r0 * a;
            s1 += r1 * a;
            s2 += r2 * a;
            s3 += r3 * a;
        }
        memcpy(out, &s0, sizeof s0);
        memcpy(out + 8, &s1, sizeof s1);
        memcpy(out + 16, &s2, sizeof s2);
        memcpy(out + 24, &s3, sizeof s3);
        return;
    }
    for (int q = 0; q < count; q++) {
        const float a = in[q];
        const float *restrict row = wt + (int64_t)q * w;
        for (int c = 0; c < w; c++) out[c] += a * row[c];
    }
}

// h^l_k (w floats) of the entry k = (i, j): p = P_i, q = Q_j, e = h^{l−1}_k
// (de floats; not read in layer 1).
ALWAYS_INLINE void edge_hidden(float *restrict h, const layer_weights *L, const float *restrict p,
                               const float *restrict q, const float *e, float ahat, float code, int w)
{
    for (int c = 0; c < w; c++) h[c] = p[c] + q[c];
    accumulate(h, L->ez, e, L->de, w);
    const float *restrict wa = L->ez + (int64_t)L->de * w, *restrict wc = wa + w;
    for (int c = 0; c < w; c++) {
        const float v = h[c] + wa[c] * ahat + wc[c] * code;
        h[c] = v > 0 ? v : 0;   // relu(NaN) = 0, as the training forward's
    }
}

// P_i = W_t x_i + b1, Q_i = W_s x_i.
ALWAYS_INLINE void products_pass(const infer_context *c, int64_t i, int w)
{
    const layer_weights *L = c->layer;
    const float *x = c->x_in + i * L->dx;
    float *restrict p = c->P + i * w, *restrict q = c->Q + i * w;
    for (int r = 0; r < w; r++) {
        p[r] = L->b1[r];
        q[r] = 0;
    }
    accumulate(p, L->t, x, L->dx, w);
    accumulate(q, L->s, x, L->dx, w);
}

// Layer l for row i: its entries' h^l (z in the last layer), then x^l_i.
// False when an â of the row is not finite.
ALWAYS_INLINE bool row_pass(const infer_context *c, int64_t i, float *scratch, int w)
{
    const layer_weights *L = c->layer;
    const fm_csr *A = c->A->A;
    const double *scale = c->A->scale;
    float *h = scratch, *sum = h + w, *in = sum + w, *hid = in + L->dx + w;
    const float *p = c->P + i * w;
    bool finite = true;
    for (int r = 0; r < w; r++) sum[r] = 0;
    const int64_t first = A->start[i], end = A->start[i + 1];
    for (int64_t k = first; k < end; k++) {
        const int64_t j = A->index[k];
        const double ahat = fm_nif_scaled_entry(A->value[k], scale, i, j);
        finite &= isfinite(ahat) != 0;
        const float code = i > j ? -1.0f : i == j ? 0.0f : 1.0f;   // the position code c_k
        float *e = c->edge ? c->edge + k * w : NULL;
        edge_hidden(h, L, p, c->Q + j * w, e, (float)ahat, code, w);
        if (L->last) {   // z_k = w2·h + b2 (w2: one row)
            float z = L->b2[0];
            for (int r = 0; r < w; r++) z += L->w2[r] * h[r];
            c->z[k] = z;
            continue;
        }
        memcpy(e, h, (size_t)w * sizeof *h);
        for (int r = 0; r < w; r++) sum[r] += h[r];
    }
    if (L->last) return finite;
    // x^l_i = MLP_n([x_i, mean_k e^l_k]) with mean_k e^l_k = W2 mean_k h^l_k
    // + b2, W2 and b2 folded into n1 and nb1 (the division as fm_aggregate_forward's)
    const int64_t degree = end - first;
    memcpy(in, c->x_in + i * L->dx, (size_t)L->dx * sizeof *in);
    for (int r = 0; r < w; r++) in[L->dx + r] = degree > 1 ? sum[r] / (float)degree : sum[r];
    for (int r = 0; r < w; r++) hid[r] = L->nb1[r];
    accumulate(hid, L->n1, in, L->dx + w, w);
    for (int r = 0; r < w; r++) hid[r] = hid[r] > 0 ? hid[r] : 0;
    float *x = c->x + i * w;
    for (int r = 0; r < w; r++) x[r] = L->nb2[r];
    accumulate(x, L->n2, hid, w, w);
    return finite;
}

enum { PASS_PRODUCTS, PASS_ROWS };

// One pass over the nodes, in parallel above INFER_PARALLEL entries (the
// shipped width's loops compiled for it). False when a row pass met an â
// that is not finite.
FM_TARGET_CLONES
static bool run_pass(const infer_context *c, int pass)
{
    const int64_t n = c->A->n;
    const int w = c->w;
    const bool parallel = c->A->A->count > INFER_PARALLEL;
    int bad = 0;
#pragma omp parallel for schedule(static, INFER_CHUNK) reduction(| : bad) if (parallel)
    for (int64_t i = 0; i < n; i++) {
        float *scratch = c->scratch + omp_get_thread_num() * c->stride;
        if (pass == PASS_PRODUCTS) {
            if (w == FM_LLU_WIDTH) products_pass(c, i, FM_LLU_WIDTH);
            else products_pass(c, i, w);
        } else {
            const bool ok = w == FM_LLU_WIDTH ? row_pass(c, i, scratch, FM_LLU_WIDTH) : row_pass(c, i, scratch, w);
            bad |= !ok;
        }
    }
    return !bad;
}

// out (count × rows) = columns [first, first + count) of m (rows × cols), transposed.
static void transposed(float *out, const float *m, int rows, int cols, int first, int count)
{
    for (int q = 0; q < count; q++)
        for (int r = 0; r < rows; r++) out[(int64_t)q * rows + r] = m[(int64_t)r * cols + first + q];
}

// The floats of one layer's transposed weights, at most.
static int64_t layer_floats(int w)
{
    const int64_t dx = F > w ? F : w;
    return 2 * dx * w + (int64_t)(w + FM_LLU_EDGE_INPUTS) * w + (int64_t)w * w + w + (dx + w) * w + (int64_t)w * w + w;
}

// A linear map W_a (rows c < w of `a`, `stride` apart, w columns) that reads
// e = W2 h + b2 (W2 w × w): mt (w × w) = (W_a W2)ᵀ, transposed as the other
// weights, and bias (w) += W_a b2; the sums in double, rounded once.
static void fold(float *mt, float *bias, const float *a, int64_t stride, const float *w2, const float *b2, int w)
{
    for (int c = 0; c < w; c++) {
        const float *row = a + c * stride;
        double sum = bias[c];
        for (int r = 0; r < w; r++) sum += (double)row[r] * b2[r];
        bias[c] = (float)sum;
        for (int q = 0; q < w; q++) {
            double m = 0;
            for (int r = 0; r < w; r++) m += (double)row[r] * w2[(int64_t)r * w + q];
            mt[(int64_t)q * w + c] = (float)m;
        }
    }
}

// The weights of layer l (0-based) from a parameter block laid out as
// fm_llu_specs, transposed into `at` (layer_floats of them).
static void layer_weights_of(layer_weights *L, const fm_llu_config *config, const fm_params *layout,
                             const float *values, int l, float *at)
{
    const int w = config->width;
    const int64_t *edge = layout->offsets + 4 * (FM_LLU_MLPS * l + FM_LLU_EDGE);
    int in_e, in_n, out_n;
    fm_llu_mlp_widths(config, l, FM_LLU_EDGE, &in_e, &L->out_e);
    fm_llu_mlp_widths(config, l, FM_LLU_NODE, &in_n, &out_n);
    L->dx = l == 0 ? F : w;
    L->de = l == 0 ? 0 : w;
    L->last = l == config->layers - 1;
    const int ez = L->de + FM_LLU_EDGE_INPUTS;
    L->t = at;
    L->s = L->t + (int64_t)L->dx * w;
    L->ez = L->s + (int64_t)L->dx * w;
    L->w2 = L->ez + (int64_t)ez * w;
    L->b1 = L->w2 + (int64_t)w * L->out_e;
    L->n1 = L->b1 + w;
    L->n2 = L->n1 + (int64_t)in_n * w;
    L->nb1 = L->n2 + (int64_t)w * w;
    const float *w1 = values + edge[0];
    transposed(L->t, w1, w, in_e, 0, L->dx);
    transposed(L->s, w1, w, in_e, L->dx, L->dx);
    transposed(L->ez + (int64_t)L->de * w, w1, w, in_e, 2 * L->dx + L->de, FM_LLU_EDGE_INPUTS);
    transposed(L->w2, values + edge[2], L->out_e, w, 0, w);
    memcpy(L->b1, values + edge[1], (size_t)w * sizeof *L->b1);
    L->b2 = values + edge[3];
    if (l > 0) {   // M = W_e W2 of layer l−1's edge MLP, b1 + W_e b2
        const int64_t *before = layout->offsets + 4 * (FM_LLU_MLPS * (l - 1) + FM_LLU_EDGE);
        fold(L->ez, L->b1, w1 + 2 * L->dx, in_e, values + before[2], values + before[3], w);
    }
    L->nb2 = NULL;
    if (L->last) return;
    // the node MLP: w1's columns of x as they are, its columns of the mean
    // times W2 of this layer's edge MLP, b1 + (those columns) b2
    const int64_t *node = layout->offsets + 4 * (FM_LLU_MLPS * l + FM_LLU_NODE);
    const float *n1 = values + node[0];
    transposed(L->n1, n1, w, in_n, 0, L->dx);
    memcpy(L->nb1, values + node[1], (size_t)w * sizeof *L->nb1);
    fold(L->n1 + (int64_t)L->dx * w, L->nb1, n1 + L->dx, in_n, values + edge[2], values + edge[3], w);
    transposed(L->n2, values + node[2], w, w, 0, w);
    L->nb2 = values + node[3];
}

int64_t fm_llu_infer_work(const fm_llu_config *config, int64_t nodes, int64_t edges)
{
    if (fm_llu_tensor_count(config) == 0) return 0;
    const int64_t w = config->width;
    return nodes * (F + 3 * w) + (config->layers > 1 ? edges * w : 0);
}

int fm_llu_infer(float *z, const fm_llu_config *config, const fm_params *layout, const float *values,
                 const fm_square *A, float *work, char *msg)
{
    float *owned = NULL, *weights = NULL, *scratch = NULL;
#define FREE_ALL do { fm_free_large(owned); free(weights); free(scratch); } while (0)
    FM_CHECK(z && config && layout && values && A && A->A && A->scale && A->A->n == A->n, FM_ERR_INVALID,
             "fm_llu_infer: bad arguments");
    const int tensors = fm_llu_tensor_count(config);
    FM_CHECK(tensors > 0, FM_ERR_INVALID, "learned LU: %d layers of width %d (1 to %d layers, width 1 to 4096)",
             config->layers, config->width, FM_LLU_MAX_LAYERS);
    FM_CHECK(layout->tensors == tensors, FM_ERR_INVALID,
             "fm_llu_infer: the parameters hold %d tensors, the network %d", layout->tensors, tensors);
    const int64_t n = A->n, E = A->A->count, w = config->width;
    float *nodes = work;
    if (!nodes) {
        FM_ALLOC_LARGE(owned, fm_llu_infer_work(config, n, E));
        nodes = owned;
    }
    const int64_t per_layer = layer_floats((int)w);
    FM_ALLOC(weights, per_layer * config->layers);
    layer_weights layer[FM_LLU_MAX_LAYERS];
    for (int l = 0; l < config->layers; l++)
        layer_weights_of(&layer[l], config, layout, values, l, weights + l * per_layer);
    // per thread: h, the sum (w each), the node MLP's input (dx + w), its hidden (w)
    const int threads = omp_get_max_threads();
    const int64_t stride = ((4 * w + (F > w ? F : w)) + 15) / 16 * 16;
    FM_ALLOC(scratch, stride * threads);
    float *x0 = nodes;
    infer_context c = {
        .A = A, .w = (int)w, .x = x0 + n * F, .P = x0 + n * (F + w), .Q = x0 + n * (F + 2 * w),
        .edge = config->layers > 1 ? x0 + n * (F + 3 * w) : NULL, .z = z, .scratch = scratch, .stride = stride,
    };
    FM_TRY(fm_nif_features_of(x0, A, msg));
    for (int l = 0; l < config->layers; l++) {
        c.layer = &layer[l];
        c.x_in = l == 0 ? x0 : c.x;
        run_pass(&c, PASS_PRODUCTS);
        if (!run_pass(&c, PASS_ROWS)) {   // only layer 1 can meet it first
            const fm_csr *M = A->A;
            for (int64_t i = 0; i < n; i++)
                for (int64_t k = M->start[i]; k < M->start[i + 1]; k++) {
                    const int64_t j = M->index[k];
                    FM_CHECK(isfinite(fm_nif_scaled_entry(M->value[k], A->scale, i, j)), FM_ERR_NUMERIC,
                             "the scaled entry (%lld, %lld) = a_ij / sqrt|a_ii a_jj| = %g / (%g * %g) is not "
                             "finite: the matrix is far from diagonally dominant",
                             (long long)i + 1, (long long)j + 1, M->value[k], A->scale[i], A->scale[j]);
                }
        }
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
