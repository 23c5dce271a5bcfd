// The KL divergence's multiplicative updates and terms (ops/kl.h).
#include "kl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "profile.h"
#include "rank.h"
#include "status.h"

// The edges of target t: [begin, end) into val, and the source of edge e
// (full storage: every source in order).
static inline int64_t edge_begin(const fm_edges *edges, int64_t t)
{
    return edges->ptr ? (int64_t)edges->ptr[t] : t * edges->sources;
}

static inline int64_t edge_end(const fm_edges *edges, int64_t t)
{
    return edges->ptr ? (int64_t)edges->ptr[t + 1] : (t + 1) * edges->sources;
}

static inline int64_t edge_source(const fm_edges *edges, int64_t begin, int64_t e)
{
    return edges->ptr ? (int64_t)edges->idx[e] : e - begin;
}

// a·b in float: four-float vectors in two accumulators, then a fixed tree
// (a scalar loop of k dependent additions runs at the adder's latency);
// the same bits on every thread and in every clone.
typedef float kl_v4 __attribute__((vector_size(16)));

static inline kl_v4 kl_load4(const float *p)
{
    kl_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline float kl_dot(const float *restrict a, const float *restrict b, int k)
{
    kl_v4 acc0 = { 0, 0, 0, 0 }, acc1 = { 0, 0, 0, 0 };
    int r = 0;
    for (; r + 8 <= k; r += 8) {
        acc0 += kl_load4(a + r) * kl_load4(b + r);
        acc1 += kl_load4(a + r + 4) * kl_load4(b + r + 4);
    }
    if (r + 4 <= k) {
        acc0 += kl_load4(a + r) * kl_load4(b + r);
        r += 4;
    }
    acc0 += acc1;
    float sum = (acc0[0] + acc0[2]) + (acc0[1] + acc0[3]);
    for (; r < k; r++) sum += a[r] * b[r];
    return sum;
}

// The edges of a target in chunks: their predictions floored, then the
// logarithms in a loop that vectorizes, then summed in order.
enum { CHUNK = 64 };

static inline void kl_target_terms(const fm_edges *edges, int64_t t, const float *restrict tv,
                                   const float *restrict S, float floor, double *logs, double *cross, int k)
{
    const int64_t begin = edge_begin(edges, t), end = edge_end(edges, t);
    float p[CHUNK], x[CHUNK], l[CHUNK];
    double log_sum = 0, cross_sum = 0;
    for (int64_t e0 = begin; e0 < end; e0 += CHUNK) {
        const int count = end - e0 < CHUNK ? (int)(end - e0) : CHUNK;
        for (int c = 0; c < count; c++) {
            const int64_t e = e0 + c;
            const float pe = kl_dot(tv, S + edge_source(edges, begin, e) * k, k);
            x[c] = edges->val[e];
            cross_sum += (double)x[c] * pe;
            p[c] = pe > floor ? pe : floor;
        }
        for (int c = 0; c < count; c++) l[c] = x[c] * fm_kl_log(p[c]);
        for (int c = 0; c < count; c++) log_sum += l[c];
    }
    logs[t] = log_sum;
    cross[t] = cross_sum;
}

// The update of one target (see kl.h). Up to rank 32 the numerator lives in
// four-float vectors (registers, once k is a constant), above in an array.
static inline void kl_numerator(float *restrict num, const fm_edges *edges, int64_t t, const float *restrict tv,
                                const float *restrict S, float floor, int k)
{
    const int64_t begin = edge_begin(edges, t), end = edge_end(edges, t);
    if (k <= 32) {
        const int k4 = k & ~3;
        kl_v4 nv[8];
        float tail[4] = { 0, 0, 0, 0 };
        for (int v = 0; v < 8; v++) nv[v] = (kl_v4){ 0, 0, 0, 0 };
        for (int64_t e = begin; e < end; e++) {
            const float *restrict s = S + edge_source(edges, begin, e) * k;
            const float p = kl_dot(tv, s, k);
            const float q = edges->val[e] / (p > floor ? p : floor);
            for (int v = 0; v < k4 / 4; v++) nv[v] += q * kl_load4(s + 4 * v);
            for (int r = k4; r < k; r++) tail[r - k4] += q * s[r];
        }
        for (int v = 0; v < k4 / 4; v++) memcpy(num + 4 * v, &nv[v], sizeof nv[v]);
        for (int r = k4; r < k; r++) num[r] = tail[r - k4];
        return;
    }
    for (int r = 0; r < k; r++) num[r] = 0;
    for (int64_t e = begin; e < end; e++) {
        const float *restrict s = S + edge_source(edges, begin, e) * k;
        const float p = kl_dot(tv, s, k);
        const float q = edges->val[e] / (p > floor ? p : floor);
        for (int r = 0; r < k; r++) num[r] += q * s[r];
    }
}

static inline void kl_target_update(const fm_edges *edges, int64_t t, float *restrict tv, const float *restrict S,
                                    const fm_kl_step *step, int k)
{
    float num[k];
    kl_numerator(num, edges, t, tv, S, step->floor, k);
    for (int r = 0; r < k; r++) {
        const double d = step->sums[r] + step->l1, a = (double)tv[r] * num[r];
        double next = 0;
        if (a > 0) next = step->l2 > 0 ? 2 * a / (d + sqrt(d * d + 4 * step->l2 * a)) : a / d;
        tv[r] = (float)next;
    }
}

FM_TARGET_CLONES
void fm_kl_update(fm_dense *T, const fm_edges *edges, const fm_dense *S, const fm_kl_step *step, double *logs,
                  double *cross)
{
    FM_PROFILE_START(profile_clock);
    const int k = (int)T->cols;
    const int64_t targets = edges->targets;
    const bool terms = logs && cross;
    float *Td = T->data;
    const float *Sd = S->data;
#define RUN(K)                                                                                  \
    _Pragma("omp parallel for schedule(dynamic, 64)")                                           \
    for (int64_t t = 0; t < targets; t++) {                                                     \
        kl_target_update(edges, t, Td + t * (K), Sd, step, (K));                                \
        if (terms) kl_target_terms(edges, t, Td + t * (K), Sd, step->floor, logs, cross, (K));  \
    }
    FM_RANK_SWITCH(k, RUN);
#undef RUN
    // flops per edge: 2k (prediction) + 1 (ratio) + 2k (numerator), and with
    // the terms 2k + 4 (the log's series about 25) more; bytes: an edge (12)
    // and a source row (4k) per pass
    const double E = (double)edges->count;
    FM_PROFILE_STOP(profile_clock, terms ? "kl.update_terms" : "kl.update",
                    E * (4.0 * k + 1 + (terms ? 2.0 * k + 29 : 0)), E * (12 + 4.0 * k) * (terms ? 2 : 1));
}

FM_TARGET_CLONES
void fm_kl_terms(const fm_edges *edges, const fm_dense *T, const fm_dense *S, float floor, double *logs,
                 double *cross)
{
    FM_PROFILE_START(profile_clock);
    const int k = (int)T->cols;
    const int64_t targets = edges->targets;
    const float *Td = T->data, *Sd = S->data;
#define RUN(K)                                                                   \
    _Pragma("omp parallel for schedule(dynamic, 64)")                            \
    for (int64_t t = 0; t < targets; t++)                                        \
        kl_target_terms(edges, t, Td + t * (K), Sd, floor, logs, cross, (K));
    FM_RANK_SWITCH(k, RUN);
#undef RUN
    const double E = (double)edges->count;
    FM_PROFILE_STOP(profile_clock, "kl.terms", E * (2.0 * k + 29), E * (12 + 4.0 * k));
}

//------------------------------------------------------------------------------
// The references: the formulas of kl.h as plain loops, in double.
//------------------------------------------------------------------------------

static double dot_reference(const float *a, const float *b, int64_t k)
{
    double sum = 0;
    for (int64_t r = 0; r < k; r++) sum += (double)a[r] * b[r];
    return sum;
}

void fm_kl_terms_reference(const fm_edges *edges, const fm_dense *T, const fm_dense *S, float floor, double *logs,
                           double *cross)
{
    const int64_t k = T->cols;
    for (int64_t t = 0; t < edges->targets; t++) {
        logs[t] = cross[t] = 0;
        const int64_t begin = edge_begin(edges, t);
        for (int64_t e = begin; e < edge_end(edges, t); e++) {
            const double p = dot_reference(T->data + t * k, S->data + edge_source(edges, begin, e) * k, k);
            const double x = edges->val[e];
            logs[t] += x > 0 ? x * log(p > floor ? p : floor) : 0;
            cross[t] += x * p;
        }
    }
}

void fm_kl_update_reference(fm_dense *T, const fm_edges *edges, const fm_dense *S, const fm_kl_step *step,
                            double *logs, double *cross)
{
    const int64_t k = T->cols;
    double *num = calloc((size_t)k, sizeof *num);
    if (!num) return;   // a test's reference: its caller's comparison fails
    for (int64_t t = 0; t < edges->targets; t++) {
        float *tv = T->data + t * k;
        for (int64_t r = 0; r < k; r++) num[r] = 0;
        const int64_t begin = edge_begin(edges, t);
        for (int64_t e = begin; e < edge_end(edges, t); e++) {
            const float *s = S->data + edge_source(edges, begin, e) * k;
            const double p = dot_reference(tv, s, k);
            for (int64_t r = 0; r < k; r++) num[r] += s[r] * (edges->val[e] / (p > step->floor ? p : step->floor));
        }
        for (int64_t r = 0; r < k; r++) {
            // the minimizer over t_r >= 0 of d·t − a·log t + λ2/2 t²: the
            // positive root of λ2 t² + d t − a = 0
            const double d = step->sums[r] + step->l1, a = (double)tv[r] * num[r];
            double next = 0;
            if (a > 0) next = step->l2 > 0 ? (-d + sqrt(d * d + 4 * step->l2 * a)) / (2 * step->l2) : a / d;
            tv[r] = (float)next;
        }
    }
    free(num);
    if (logs && cross) fm_kl_terms_reference(edges, T, S, step->floor, logs, cross);
}

//------------------------------------------------------------------------------
// Sums and the divergence
//------------------------------------------------------------------------------

void fm_kl_column_sums(double *sums, const fm_dense *F)
{
    const int64_t k = F->cols;
    for (int64_t r = 0; r < k; r++) sums[r] = 0;
    for (int64_t i = 0; i < F->rows; i++)
        for (int64_t r = 0; r < k; r++) sums[r] += F->data[i * k + r];
}

double fm_kl_sum(const double *v, int64_t n)
{
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += v[i];
    return sum;
}

void fm_kl_data_terms(double *xlogx, double *sum, const fm_edges *edges)
{
    const int64_t count = edges->ptr ? edges->count : edges->targets * edges->sources;
    double a = 0, b = 0;
    for (int64_t e = 0; e < count; e++) {
        const double x = edges->val[e];
        if (x > 0) a += x * log(x);
        b += x;
    }
    *xlogx = a;
    *sum = b;
}

double fm_kl_assemble(double xlogx, double sum_x, const double *logs, int64_t targets, const double *sums_w,
                      const double *sums_h, int k)
{
    double linear = 0;
    for (int r = 0; r < k; r++) linear += sums_w[r] * sums_h[r];
    return xlogx - fm_kl_sum(logs, targets) - sum_x + linear;
}

int fm_kl_divergence(double *divergence, double *cross, const fm_edges *rows, const fm_dense *W, const fm_dense *Ht,
                     float floor, char *msg)
{
    double *logs = NULL, *crosses = NULL, *sums_w = NULL, *sums_h = NULL;
#define FREE_ALL { free(logs); free(crosses); free(sums_w); free(sums_h); }
    FM_CHECK(W->rows == rows->targets && Ht->rows == rows->sources && W->cols == Ht->cols, FM_ERR_INVALID,
             "fm_kl_divergence: factors of %lld x %lld and %lld x %lld do not fit %lld x %lld edges",
             (long long)W->rows, (long long)W->cols, (long long)Ht->rows, (long long)Ht->cols,
             (long long)rows->targets, (long long)rows->sources);
    FM_CHECK(floor > 0 && isnormal(floor), FM_ERR_INVALID, "the prediction floor %g must be a positive normal float",
             (double)floor);
    const int k = (int)W->cols;
    FM_ALLOC(logs, rows->targets);
    FM_ALLOC(crosses, rows->targets);
    FM_ALLOC(sums_w, k);
    FM_ALLOC(sums_h, k);
    fm_kl_terms(rows, W, Ht, floor, logs, crosses);
    fm_kl_column_sums(sums_w, W);
    fm_kl_column_sums(sums_h, Ht);
    double xlogx, sum_x;
    fm_kl_data_terms(&xlogx, &sum_x, rows);
    *divergence = fm_kl_assemble(xlogx, sum_x, logs, rows->targets, sums_w, sums_h, k);
    if (cross) *cross = fm_kl_sum(crosses, rows->targets);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
