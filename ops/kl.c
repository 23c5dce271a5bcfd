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

// Each thread runs the kernels with subnormal floats flushed to zero (FTZ
// and DAZ of the SSE control register, restored after): the updates drive
// the entries the fit does not use toward zero geometrically, and once
// products of two such entries fall below FLT_MIN every one of them costs
// a microcode assist; on kos_bow at rank 20 the iterations then ran at
// 18 ms instead of 9. A subnormal product is below FLT_MIN, next to
// nothing in a prediction that is floored far above it, and an updated
// entry that would be subnormal is zero already (fm_kl_step.tiny: on
// kos_bow the divergence after 200 iterations moves by 3e-5 of itself). The
// same mode on every thread: the results still do not depend on their
// number.
#if defined(__SSE__)
#include <xmmintrin.h>
#define KL_FLUSH_BEGIN const unsigned kl_csr_ = _mm_getcsr(); _mm_setcsr(kl_csr_ | 0x8040u);
#define KL_FLUSH_END _mm_setcsr(kl_csr_);
#else
#define KL_FLUSH_BEGIN
#define KL_FLUSH_END
#endif

// The edges of a target in chunks: their predictions floored, then the
// logarithms in a loop that vectorizes, then summed in order.
enum { CHUNK = 64 };

// `masked` (a literal at each call): the incomplete kind's Σ p and Σ p² too.
static inline __attribute__((always_inline)) void kl_target_terms(const fm_edges *edges, int64_t t,
                                                                  const float *restrict tv, const float *restrict S,
                                                                  float floor, bool masked, fm_kl_edge_sums *out,
                                                                  int k)
{
    const int64_t begin = edge_begin(edges, t), end = edge_end(edges, t);
    float p[CHUNK], x[CHUNK], l[CHUNK];
    double log_sum = 0, cross = 0, prediction = 0, square = 0;
    for (int64_t e0 = begin; e0 < end; e0 += CHUNK) {
        const int count = end - e0 < CHUNK ? (int)(end - e0) : CHUNK;
        for (int c = 0; c < count; c++) {
            const int64_t e = e0 + c;
            const float pe = kl_dot(tv, S + edge_source(edges, begin, e) * k, k);
            x[c] = edges->val[e];
            cross += (double)x[c] * pe;
            if (masked) {
                prediction += pe;
                square += (double)pe * pe;
            }
            p[c] = pe > floor ? pe : floor;
        }
        for (int c = 0; c < count; c++) l[c] = x[c] * fm_kl_log(p[c]);
        for (int c = 0; c < count; c++) log_sum += l[c];
    }
    out[t] = (fm_kl_edge_sums){ log_sum, cross, prediction, square };
}

// The numerator of one target's update and, for the incomplete kind
// (`masked`, a literal at each call), its denominator Σ_{s ∈ N(t)} S[s] in
// `den`. Up to rank 32 they live in four-float vectors (registers, once k
// is a constant), above in arrays.
static inline __attribute__((always_inline)) void kl_numerator(float *restrict num, float *restrict den,
                                                               const fm_edges *edges, int64_t t,
                                                               const float *restrict tv, const float *restrict S,
                                                               float floor, bool masked, int k)
{
    const int64_t begin = edge_begin(edges, t), end = edge_end(edges, t);
    if (k <= 32) {
        const int k4 = k & ~3;
        kl_v4 nv[8], dv[8];
        float tail[4] = { 0, 0, 0, 0 }, dtail[4] = { 0, 0, 0, 0 };
        for (int v = 0; v < 8; v++) nv[v] = dv[v] = (kl_v4){ 0, 0, 0, 0 };
        for (int64_t e = begin; e < end; e++) {
            const float *restrict s = S + edge_source(edges, begin, e) * k;
            const float p = kl_dot(tv, s, k);
            const float q = edges->val[e] / (p > floor ? p : floor);
            for (int v = 0; v < k4 / 4; v++) nv[v] += q * kl_load4(s + 4 * v);
            for (int r = k4; r < k; r++) tail[r - k4] += q * s[r];
            if (masked) {
                for (int v = 0; v < k4 / 4; v++) dv[v] += kl_load4(s + 4 * v);
                for (int r = k4; r < k; r++) dtail[r - k4] += s[r];
            }
        }
        for (int v = 0; v < k4 / 4; v++) memcpy(num + 4 * v, &nv[v], sizeof nv[v]);
        for (int r = k4; r < k; r++) num[r] = tail[r - k4];
        if (masked) {
            for (int v = 0; v < k4 / 4; v++) memcpy(den + 4 * v, &dv[v], sizeof dv[v]);
            for (int r = k4; r < k; r++) den[r] = dtail[r - k4];
        }
        return;
    }
    for (int r = 0; r < k; r++) num[r] = 0;
    if (masked)
        for (int r = 0; r < k; r++) den[r] = 0;
    for (int64_t e = begin; e < end; e++) {
        const float *restrict s = S + edge_source(edges, begin, e) * k;
        const float p = kl_dot(tv, s, k);
        const float q = edges->val[e] / (p > floor ? p : floor);
        for (int r = 0; r < k; r++) num[r] += q * s[r];
        if (masked)
            for (int r = 0; r < k; r++) den[r] += s[r];
    }
}

// The update of one target (see kl.h).
static inline void kl_target_update(const fm_edges *edges, int64_t t, float *restrict tv, const float *restrict S,
                                    const fm_kl_step *step, int k)
{
    float num[k], den[k];
    const bool masked = !step->totals;
    if (masked) kl_numerator(num, den, edges, t, tv, S, step->floor, true, k);
    else kl_numerator(num, NULL, edges, t, tv, S, step->floor, false, k);
    const double l2 = step->l2 * (step->l2_per_edge ? (double)(edge_end(edges, t) - edge_begin(edges, t)) : 1.0);
    for (int r = 0; r < k; r++) {
        const double d = (masked ? (double)den[r] : step->totals[r]) + step->l1, a = (double)tv[r] * num[r];
        double next = 0;
        if (a > 0) next = l2 > 0 ? 2 * a / (d + sqrt(d * d + 4 * l2 * a)) : a / d;
        tv[r] = next >= step->tiny ? (float)next : 0.0f;
    }
}

FM_TARGET_CLONES
void fm_kl_update(fm_dense *T, const fm_edges *edges, const fm_dense *S, const fm_kl_step *step,
                  fm_kl_edge_sums *sums)
{
    FM_PROFILE_START(profile_clock);
    const int k = (int)T->cols;
    const int64_t targets = edges->targets;
    const bool masked = !step->totals;
    float *Td = T->data;
    const float *Sd = S->data;
#define RUN(K)                                                                                           \
    _Pragma("omp parallel") {                                                                            \
        KL_FLUSH_BEGIN                                                                                   \
        _Pragma("omp for schedule(dynamic, 64)")                                                         \
        for (int64_t t = 0; t < targets; t++) {                                                          \
            kl_target_update(edges, t, Td + t * (K), Sd, step, (K));                                     \
            if (sums && masked) kl_target_terms(edges, t, Td + t * (K), Sd, step->floor, true, sums, (K)); \
            else if (sums) kl_target_terms(edges, t, Td + t * (K), Sd, step->floor, false, sums, (K));   \
        }                                                                                                \
        KL_FLUSH_END                                                                                     \
    }
    FM_RANK_SWITCH(k, RUN);
#undef RUN
    // flops per edge: 2k (prediction) + 1 (ratio) + 2k (numerator) (+ k for
    // the incomplete kind's denominator), and with the sums 2k + 6 (the log's
    // series about 15) more; bytes: an edge (12) and a source row (4k) per pass
    const double E = (double)edges->count;
    FM_PROFILE_STOP(profile_clock, sums ? "kl.update_terms" : "kl.update",
                    E * (4.0 * k + 1 + (step->totals ? 0 : k) + (sums ? 2.0 * k + 21 : 0)),
                    E * (12 + 4.0 * k) * (sums ? 2 : 1));
}

FM_TARGET_CLONES
void fm_kl_terms(const fm_edges *edges, const fm_dense *T, const fm_dense *S, float floor, bool masked,
                 fm_kl_edge_sums *sums)
{
    FM_PROFILE_START(profile_clock);
    const int k = (int)T->cols;
    const int64_t targets = edges->targets;
    const float *Td = T->data, *Sd = S->data;
#define RUN(K)                                                                                  \
    _Pragma("omp parallel") {                                                                   \
        KL_FLUSH_BEGIN                                                                          \
        _Pragma("omp for schedule(dynamic, 64)")                                                \
        for (int64_t t = 0; t < targets; t++) {                                                 \
            if (masked) kl_target_terms(edges, t, Td + t * (K), Sd, floor, true, sums, (K));    \
            else kl_target_terms(edges, t, Td + t * (K), Sd, floor, false, sums, (K));          \
        }                                                                                       \
        KL_FLUSH_END                                                                            \
    }
    FM_RANK_SWITCH(k, RUN);
#undef RUN
    const double E = (double)edges->count;
    FM_PROFILE_STOP(profile_clock, "kl.terms", E * (2.0 * k + 21), E * (12 + 4.0 * k));
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

void fm_kl_terms_reference(const fm_edges *edges, const fm_dense *T, const fm_dense *S, float floor, bool masked,
                           fm_kl_edge_sums *sums)
{
    const int64_t k = T->cols;
    for (int64_t t = 0; t < edges->targets; t++) {
        fm_kl_edge_sums *o = &sums[t];
        *o = (fm_kl_edge_sums){ 0, 0, 0, 0 };
        const int64_t begin = edge_begin(edges, t);
        for (int64_t e = begin; e < edge_end(edges, t); e++) {
            const double p = dot_reference(T->data + t * k, S->data + edge_source(edges, begin, e) * k, k);
            const double x = edges->val[e];
            o->log += x > 0 ? x * log(p > floor ? p : floor) : 0;
            o->cross += x * p;
            o->prediction += masked ? p : 0;
            o->square += masked ? p * p : 0;
        }
    }
}

void fm_kl_update_reference(fm_dense *T, const fm_edges *edges, const fm_dense *S, const fm_kl_step *step,
                            fm_kl_edge_sums *sums)
{
    const int64_t k = T->cols;
    double *num = calloc((size_t)k, sizeof *num), *den = calloc((size_t)k, sizeof *den);
    if (!num || !den) {   // a test's reference: its caller's comparison fails
        free(num);
        free(den);
        return;
    }
    for (int64_t t = 0; t < edges->targets; t++) {
        float *tv = T->data + t * k;
        for (int64_t r = 0; r < k; r++) num[r] = den[r] = 0;
        const int64_t begin = edge_begin(edges, t), end = edge_end(edges, t);
        for (int64_t e = begin; e < end; e++) {
            const float *s = S->data + edge_source(edges, begin, e) * k;
            const double p = dot_reference(tv, s, k);
            for (int64_t r = 0; r < k; r++) {
                num[r] += s[r] * (edges->val[e] / (p > step->floor ? p : step->floor));
                den[r] += s[r];
            }
        }
        const double l2 = step->l2 * (step->l2_per_edge ? (double)(end - begin) : 1.0);
        for (int64_t r = 0; r < k; r++) {
            // the minimizer over t_r >= 0 of d·t − a·log t + λ2/2 t²: the
            // positive root of λ2 t² + d t − a = 0
            const double d = (step->totals ? step->totals[r] : den[r]) + step->l1, a = (double)tv[r] * num[r];
            double next = 0;
            if (a > 0) next = l2 > 0 ? (-d + sqrt(d * d + 4 * l2 * a)) / (2 * l2) : a / d;
            tv[r] = next >= step->tiny ? (float)next : 0.0f;
        }
    }
    free(num);
    free(den);
    if (sums) fm_kl_terms_reference(edges, T, S, step->floor, !step->totals, sums);
}

//------------------------------------------------------------------------------
// Sums and the divergence
//------------------------------------------------------------------------------

void fm_kl_column_sums(double *totals, const fm_dense *F)
{
    const int64_t k = F->cols;
    for (int64_t r = 0; r < k; r++) totals[r] = 0;
    for (int64_t i = 0; i < F->rows; i++)
        for (int64_t r = 0; r < k; r++) totals[r] += F->data[i * k + r];
}

fm_kl_edge_sums fm_kl_total(const fm_kl_edge_sums *sums, int64_t targets)
{
    fm_kl_edge_sums total = { 0, 0, 0, 0 };
    for (int64_t t = 0; t < targets; t++) {
        total.log += sums[t].log;
        total.cross += sums[t].cross;
        total.prediction += sums[t].prediction;
        total.square += sums[t].square;
    }
    return total;
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

double fm_kl_assemble(double xlogx, double sum_x, const fm_kl_edge_sums *total, const double *totals_w,
                      const double *totals_h, int k)
{
    double linear = 0;
    if (totals_w && totals_h)
        for (int r = 0; r < k; r++) linear += totals_w[r] * totals_h[r];
    else
        linear = total->prediction;
    return xlogx - total->log - sum_x + linear;
}

int fm_kl_divergence(double *divergence, fm_kl_edge_sums *total, const fm_edges *rows, const fm_dense *W,
                     const fm_dense *Ht, bool masked, float floor, char *msg)
{
    fm_kl_edge_sums *sums = NULL;
    double *totals_w = NULL, *totals_h = NULL;
#define FREE_ALL { free(sums); free(totals_w); free(totals_h); }
    FM_CHECK(W->rows == rows->targets && Ht->rows == rows->sources && W->cols == Ht->cols, FM_ERR_INVALID,
             "fm_kl_divergence: factors of %lld x %lld and %lld x %lld do not fit %lld x %lld edges",
             (long long)W->rows, (long long)W->cols, (long long)Ht->rows, (long long)Ht->cols,
             (long long)rows->targets, (long long)rows->sources);
    FM_CHECK(floor > 0 && isnormal(floor), FM_ERR_INVALID, "the prediction floor %g must be a positive normal float",
             (double)floor);
    const int k = (int)W->cols;
    FM_ALLOC(sums, rows->targets);
    FM_ALLOC(totals_w, k);
    FM_ALLOC(totals_h, k);
    fm_kl_terms(rows, W, Ht, floor, masked, sums);
    fm_kl_column_sums(totals_w, W);
    fm_kl_column_sums(totals_h, Ht);
    double xlogx, sum_x;
    fm_kl_data_terms(&xlogx, &sum_x, rows);
    const fm_kl_edge_sums all = fm_kl_total(sums, rows->targets);
    *divergence = fm_kl_assemble(xlogx, sum_x, &all, masked ? NULL : totals_w, masked ? NULL : totals_h, k);
    if (total) *total = all;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
