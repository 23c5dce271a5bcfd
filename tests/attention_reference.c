// Double-precision references for the edge attention and the attention
// block (docs/factormer-math.md §4): plain loops, one target and one head at a
// time, every quantity of the formulas in its own variable or array.
#include "attention_reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "status.h"

//------------------------------------------------------------------------------
// Edge lists and random graphs
//------------------------------------------------------------------------------

void ref_edges_free(ref_edges *edges)
{
    if (!edges) return;
    free(edges->ptr);
    free(edges->idx);
    free(edges->val);
    free(edges->log_pi);
    memset(edges, 0, sizeof *edges);
}

int ref_edges_from_csr(ref_edges *out, const fm_edges *edges, char *msg)
{
    ref_edges copy = { 0 };
#define FREE_ALL ref_edges_free(&copy)
    FM_CHECK(out && edges && edges->ptr, FM_ERR_INVALID, "ref_edges_from_csr: bad arguments");
    copy.targets = edges->targets;
    copy.sources = edges->sources;
    copy.count = edges->count;
    FM_ALLOC(copy.ptr, copy.targets + 1);
    FM_ALLOC(copy.idx, copy.count + 1);
    FM_ALLOC(copy.val, copy.count + 1);
    for (int64_t t = 0; t <= copy.targets; t++) copy.ptr[t] = (int64_t)edges->ptr[t];
    for (int64_t e = 0; e < copy.count; e++) {
        copy.idx[e] = (int64_t)edges->idx[e];
        copy.val[e] = edges->val[e];
    }
    if (edges->log_pi) {
        FM_ALLOC(copy.log_pi, copy.count + 1);
        for (int64_t e = 0; e < copy.count; e++) copy.log_pi[e] = edges->log_pi[e];
    }
    *out = copy;
    return FM_OK;
#undef FREE_ALL
}

// Stable counting sort of positions `order` (n of them) by key[order[e]].
static void counting_sort(int64_t *order, int64_t *scratch, int64_t *count, const GrB_Index *key,
                          int64_t n, int64_t keys)
{
    memset(count, 0, sizeof(int64_t) * (keys + 1));
    for (int64_t e = 0; e < n; e++) count[key[order[e]] + 1]++;
    for (int64_t k = 0; k < keys; k++) count[k + 1] += count[k];
    for (int64_t e = 0; e < n; e++) scratch[count[key[order[e]]]++] = order[e];
    memcpy(order, scratch, sizeof(int64_t) * n);
}

int ref_edges_from_graph(ref_edges *out, const fm_graph *g, fm_direction direction, char *msg)
{
    ref_edges edges = { 0 };
    GrB_Index *I = NULL, *J = NULL;
    float *X = NULL;
    int64_t *order = NULL, *scratch = NULL, *count = NULL;
#define FREE_ALL { ref_edges_free(&edges); free(I); free(J); free(X); free(order); free(scratch); free(count); }
    FM_CHECK(out && g, FM_ERR_INVALID, "ref_edges_from_graph: bad arguments");
    GrB_Matrix M = fm_graph_matrix(g, direction);
    GrB_Index rows, cols, n;
    FM_GRB(GrB_Matrix_nrows(&rows, M));
    FM_GRB(GrB_Matrix_ncols(&cols, M));
    FM_GRB(GrB_Matrix_nvals(&n, M));
    edges.targets = (int64_t)rows;
    edges.sources = (int64_t)cols;
    edges.count = (int64_t)n;
    FM_ALLOC(I, n + 1);
    FM_ALLOC(J, n + 1);
    FM_ALLOC(X, n + 1);
    FM_GRB(GrB_Matrix_extractTuples_FP32(I, J, X, &n, M));
    FM_CHECK((int64_t)n == edges.count, FM_ERR_GRAPHBLAS, "extractTuples returned %llu of %lld edges",
             (unsigned long long)n, (long long)edges.count);
    // sort by (target, source) whatever order the tuples came in
    FM_ALLOC(order, n + 1);
    FM_ALLOC(scratch, n + 1);
    FM_ALLOC(count, (rows > cols ? rows : cols) + 1);
    for (int64_t e = 0; e < edges.count; e++) order[e] = e;
    counting_sort(order, scratch, count, J, edges.count, edges.sources);
    counting_sort(order, scratch, count, I, edges.count, edges.targets);
    FM_ALLOC(edges.ptr, edges.targets + 1);
    FM_ALLOC(edges.idx, edges.count + 1);
    FM_ALLOC(edges.val, edges.count + 1);
    for (int64_t e = 0; e < edges.count; e++) {
        edges.ptr[I[order[e]] + 1]++;
        edges.idx[e] = (int64_t)J[order[e]];
        edges.val[e] = X[order[e]];
    }
    for (int64_t t = 0; t < edges.targets; t++) edges.ptr[t + 1] += edges.ptr[t];
    *out = edges;
    memset(&edges, 0, sizeof edges);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int ref_random_graph(fm_graph **out, int64_t rows, int64_t cols, double density, uint64_t seed,
                     char *msg)
{
    fm_triplets t = { 0 };
#define FREE_ALL { free(t.row); free(t.col); free(t.val); }
    FM_CHECK(out && !*out && rows >= 1 && cols >= 1, FM_ERR_INVALID, "ref_random_graph: bad arguments");
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    t.rows = rows;
    t.cols = cols;
    FM_ALLOC(t.row, rows * cols);
    FM_ALLOC(t.col, rows * cols);
    FM_ALLOC(t.val, rows * cols);
    const bool special = rows >= 3 && cols >= 3;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            const uint64_t at = (uint64_t)(i * cols + j);
            bool keep;
            if (!special) keep = true;
            else if (i == 0 || j == 0) keep = false;           // the empty row and column
            else if (i == 1 || j == 1) keep = i == 2 || j == 2; // one edge each, in the full ones
            else if (i == 2 || j == 2) keep = true;            // the full row and column
            else keep = fm_rng_uniform(rng, 2 * at) < density;
            if (!keep) continue;
            t.row[t.count] = i;
            t.col[t.count] = j;
            t.val[t.count++] = (float)(0.1 + fm_rng_uniform(rng, 2 * at + 1));
        }
    FM_TRY(fm_graph_from_triplets(out, &t, FM_KIND_SPARSE, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// Edge attention
//------------------------------------------------------------------------------

static int64_t max_degree(const ref_edges *edges)
{
    int64_t most = 1;
    for (int64_t j = 0; j < edges->targets; j++)
        if (edges->ptr[j + 1] - edges->ptr[j] > most) most = edges->ptr[j + 1] - edges->ptr[j];
    return most;
}

static int check_args(const fm_attention_inputs_f64 *in, const ref_edges *edges, fm_attention_shape shape,
                      char *msg)
{
    if (!in || !in->queries || !in->keys || !in->values || !in->sources || !in->probes ||
        !in->edge_scales || !edges)
        return fm_fail(FM_ERR_INVALID, msg, "reference attention: missing inputs or edges");
    if (shape.heads < 1 || shape.width < 1 || shape.width % shape.heads != 0 ||
        shape.targets != edges->targets || shape.sources != edges->sources)
        return fm_fail(FM_ERR_INVALID, msg, "reference attention: the shape does not fit the edges");
    return FM_OK;
}

// score[e] and alpha[e] for the edges of target j, head h; returns max and sum.
static void target_softmax(double *score, double *alpha, double *max_out, double *sum_out,
                           const fm_attention_inputs_f64 *in, const ref_edges *edges, int64_t j, int h,
                           fm_attention_shape shape)
{
    const int nh = shape.heads, d = shape.width, dh = d / nh;
    const int64_t begin = edges->ptr[j], n = edges->ptr[j + 1] - begin;
    const double *q = in->queries + j * d + h * dh;
    const double *P = in->probes + j * nh * d + h * d;
    const double c = in->edge_scales[j * nh + h];
    for (int64_t e = 0; e < n; e++) {
        const int64_t i = edges->idx[begin + e];
        const double x = edges->val[begin + e];
        const double *k = in->keys + i * d + h * dh, *s = in->sources + i * d;
        double node = 0, probe = 0;
        for (int a = 0; a < dh; a++) node += q[a] * k[a];
        for (int a = 0; a < d; a++) probe += s[a] * P[a];
        score[e] = (node + x * c + probe) / sqrt((double)dh);
        if (edges->log_pi) score[e] -= edges->log_pi[begin + e];
    }
    double max = -INFINITY;
    for (int64_t e = 0; e < n; e++)
        if (score[e] > max) max = score[e];
    double sum = 0;
    for (int64_t e = 0; e < n; e++) {
        alpha[e] = exp(score[e] - max);
        sum += alpha[e];
    }
    for (int64_t e = 0; e < n; e++) alpha[e] = alpha[e] / sum;
    *max_out = max;
    *sum_out = sum;
}

int ref_attention_forward(fm_attention_outputs_f64 *out, const fm_attention_inputs_f64 *in,
                          const ref_edges *edges, fm_attention_shape shape, char *msg)
{
    double *score = NULL, *alpha = NULL;
#define FREE_ALL { free(score); free(alpha); }
    FM_CHECK(out, FM_ERR_INVALID, "reference attention: no outputs");
    FM_TRY(check_args(in, edges, shape, msg));
    const int nh = shape.heads, d = shape.width, dh = d / nh;
    const int64_t nt = shape.targets;
    FM_ALLOC(score, max_degree(edges));
    FM_ALLOC(alpha, max_degree(edges));
    for (int64_t j = 0; j < nt; j++)
        for (int h = 0; h < nh; h++) {
            double *value_sum = out->value_sums ? out->value_sums + j * d + h * dh : NULL;
            double *source_sum = out->source_sums ? out->source_sums + j * nh * d + h * d : NULL;
            for (int a = 0; value_sum && a < dh; a++) value_sum[a] = 0;
            for (int a = 0; source_sum && a < d; a++) source_sum[a] = 0;
            if (out->edge_sums) out->edge_sums[j * nh + h] = 0;
            if (out->log_norms) out->log_norms[j * nh + h] = 0;
            const int64_t begin = edges->ptr[j], n = edges->ptr[j + 1] - begin;
            if (n == 0) continue;
            double max, sum;
            target_softmax(score, alpha, &max, &sum, in, edges, j, h, shape);
            for (int64_t e = 0; e < n; e++) {
                const int64_t i = edges->idx[begin + e];
                for (int a = 0; value_sum && a < dh; a++) value_sum[a] += alpha[e] * in->values[i * d + h * dh + a];
                for (int a = 0; source_sum && a < d; a++) source_sum[a] += alpha[e] * in->sources[i * d + a];
                if (out->edge_sums) out->edge_sums[j * nh + h] += alpha[e] * edges->val[begin + e];
            }
            if (out->log_norms) out->log_norms[j * nh + h] = max + log(sum);
        }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int ref_attention_backward(fm_attention_grads_f64 *grads, const fm_attention_outputs_f64 *d_out,
                           const fm_attention_inputs_f64 *in, const ref_edges *edges,
                           fm_attention_shape shape, char *msg)
{
    double *score = NULL, *alpha = NULL, *d_alpha = NULL;
#define FREE_ALL { free(score); free(alpha); free(d_alpha); }
    FM_CHECK(grads && d_out, FM_ERR_INVALID, "reference attention: no gradients");
    FM_TRY(check_args(in, edges, shape, msg));
    const int nh = shape.heads, d = shape.width, dh = d / nh;
    const int64_t nt = shape.targets;
    FM_ALLOC(score, max_degree(edges));
    FM_ALLOC(alpha, max_degree(edges));
    FM_ALLOC(d_alpha, max_degree(edges));
    for (int64_t j = 0; j < nt; j++)
        for (int h = 0; h < nh; h++) {
            const int64_t begin = edges->ptr[j], n = edges->ptr[j + 1] - begin;
            if (n == 0) continue;
            double max, sum;
            target_softmax(score, alpha, &max, &sum, in, edges, j, h, shape);
            const double *dV = d_out->value_sums ? d_out->value_sums + j * d + h * dh : NULL;
            const double *dS = d_out->source_sums ? d_out->source_sums + j * nh * d + h * d : NULL;
            const double dE = d_out->edge_sums ? d_out->edge_sums[j * nh + h] : 0.0;
            // dα_ij = dVsum_j·vN_i + dSsum_j·s_i + dEsum_j x_ij;  δ_j = Σ_i α_ij dα_ij
            double delta = 0;
            for (int64_t e = 0; e < n; e++) {
                const int64_t i = edges->idx[begin + e];
                double value = 0, source = 0;
                for (int a = 0; dV && a < dh; a++) value += dV[a] * in->values[i * d + h * dh + a];
                for (int a = 0; dS && a < d; a++) source += dS[a] * in->sources[i * d + a];
                d_alpha[e] = value + source + dE * edges->val[begin + e];
                delta += alpha[e] * d_alpha[e];
            }
            const double *q = in->queries + j * d + h * dh, *P = in->probes + j * nh * d + h * d;
            for (int64_t e = 0; e < n; e++) {
                const int64_t i = edges->idx[begin + e];
                const double x = edges->val[begin + e];
                const double g = alpha[e] * (d_alpha[e] - delta) / sqrt((double)dh);
                // score = (q·kN + x c + s·P)/sqrt(dh)
                for (int a = 0; grads->queries && a < dh; a++)
                    grads->queries[j * d + h * dh + a] += g * in->keys[i * d + h * dh + a];
                for (int a = 0; grads->keys && a < dh; a++) grads->keys[i * d + h * dh + a] += g * q[a];
                if (grads->edge_scales) grads->edge_scales[j * nh + h] += g * x;
                for (int a = 0; grads->probes && a < d; a++)
                    grads->probes[j * nh * d + h * d + a] += g * in->sources[i * d + a];
                for (int a = 0; grads->sources && a < d; a++)
                    grads->sources[i * d + a] += g * P[a] + (dS ? alpha[e] * dS[a] : 0.0);
                // value_sums = Σ α vN
                for (int a = 0; grads->values && dV && a < dh; a++)
                    grads->values[i * d + h * dh + a] += alpha[e] * dV[a];
            }
        }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// The attention block, literally
//------------------------------------------------------------------------------

// out = W in + b for every row of `in` (rows × d): the llm.c convention.
static void linear(double *out, const double *in, const double *W, const double *b, int64_t rows, int d)
{
    for (int64_t r = 0; r < rows; r++)
        for (int o = 0; o < d; o++) {
            double sum = b ? b[o] : 0.0;
            for (int k = 0; k < d; k++) sum += W[o * d + k] * in[r * d + k];
            out[r * d + o] = sum;
        }
}

int ref_attention_block_forward(double *messages, const double *targets, const double *sources,
                                const ref_block_params *p, const ref_edges *edges,
                                fm_attention_shape shape, char *msg)
{
    double *queries = NULL, *keys = NULL, *values = NULL, *score = NULL, *alpha = NULL;
    double *edge_feature = NULL, *edge_key = NULL, *edge_value = NULL;
#define FREE_ALL                                                                           \
    { free(queries); free(keys); free(values); free(score); free(alpha); free(edge_feature); \
      free(edge_key); free(edge_value); }
    FM_CHECK(messages && targets && sources && p && edges && p->W_Q && p->b_Q && p->W_K && p->b_K &&
                 p->W_V && p->b_V && p->a_K && p->B_K && p->a_V && p->B_V && p->b_VE,
             FM_ERR_INVALID, "reference block: missing arguments");
    FM_CHECK(shape.heads >= 1 && shape.width >= 1 && shape.width % shape.heads == 0 &&
                 shape.targets == edges->targets && shape.sources == edges->sources,
             FM_ERR_INVALID, "reference block: the shape does not fit the edges");
    const int nh = shape.heads, d = shape.width, dh = d / nh;
    const int64_t nt = shape.targets, ns = shape.sources, most = max_degree(edges);
    FM_ALLOC(queries, nt * d);
    FM_ALLOC(keys, ns * d);
    FM_ALLOC(values, ns * d);
    FM_ALLOC(score, most);
    FM_ALLOC(alpha, most);
    FM_ALLOC(edge_feature, 1 + d);
    FM_ALLOC(edge_key, most * d);
    FM_ALLOC(edge_value, most * d);
    linear(queries, targets, p->W_Q, p->b_Q, nt, d);   // q_j
    linear(keys, sources, p->W_K, p->b_K, ns, d);      // kN_i
    linear(values, sources, p->W_V, p->b_V, ns, d);    // vN_i
    for (int64_t j = 0; j < nt; j++) {
        const int64_t begin = edges->ptr[j], n = edges->ptr[j + 1] - begin;
        const double *t = targets + j * d;
        // the edge keys and values of every in-edge, all heads
        for (int64_t e = 0; e < n; e++) {
            const int64_t i = edges->idx[begin + e];
            edge_feature[0] = edges->val[begin + e];   // e_ij = [x_ij ; s_i ⊙ t_j]
            for (int k = 0; k < d; k++) edge_feature[1 + k] = sources[i * d + k] * t[k];
            for (int o = 0; o < d; o++) {
                double key = p->a_K[o] * edge_feature[0], value = p->a_V[o] * edge_feature[0] + p->b_VE[o];
                for (int k = 0; k < d; k++) {
                    key += p->B_K[o * d + k] * edge_feature[1 + k];
                    value += p->B_V[o * d + k] * edge_feature[1 + k];
                }
                edge_key[e * d + o] = key;
                edge_value[e * d + o] = value;
            }
        }
        for (int h = 0; h < nh; h++) {
            double *m = messages + j * d + h * dh;
            for (int a = 0; a < dh; a++) m[a] = 0;
            if (n == 0) continue;
            // score_ij = q_j·(kN_i + kE_ij)/sqrt(dh), softmax over i ∈ N(j)
            for (int64_t e = 0; e < n; e++) {
                const int64_t i = edges->idx[begin + e];
                double dot = 0;
                for (int a = 0; a < dh; a++)
                    dot += queries[j * d + h * dh + a] * (keys[i * d + h * dh + a] + edge_key[e * d + h * dh + a]);
                score[e] = dot / sqrt((double)dh);
            }
            double max = -INFINITY, sum = 0;
            for (int64_t e = 0; e < n; e++)
                if (score[e] > max) max = score[e];
            for (int64_t e = 0; e < n; e++) {
                alpha[e] = exp(score[e] - max);
                sum += alpha[e];
            }
            for (int64_t e = 0; e < n; e++) alpha[e] = alpha[e] / sum;
            // msg_j = Σ_i α_ij (vN_i + vE_ij)
            for (int64_t e = 0; e < n; e++) {
                const int64_t i = edges->idx[begin + e];
                for (int a = 0; a < dh; a++)
                    m[a] += alpha[e] * (values[i * d + h * dh + a] + edge_value[e * d + h * dh + a]);
            }
        }
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
