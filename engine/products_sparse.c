// The gather over stored edges (CSR: the sparse and incomplete kinds),
// out[t] = Σ_{s ∈ N(t)} x_ts · S[s], one variant per x86-64 level
// (engine/cpu.h) for ranks up to 32: a target's sums live in one or two
// vector registers per chain, four chains over the edges (e mod 4) so that
// four source rows are in flight at once; a source row is loaded masked,
// never past its k floats. Other ranks and levels take fm_gather_target
// (engine/products.h), compiled per rank.
#include "products.h"

#include "cpu.h"
#include "rank.h"
#include "simd.h"

#if defined(__x86_64__)

// One target; `two` (a literal at each call) says whether k > 16.
FM_AVX512 static inline __attribute__((always_inline)) void
gather_target_avx512(float *restrict out, const GrB_Index *restrict idx, const float *restrict val,
                     GrB_Index begin, GrB_Index end, const float *restrict sources, int k, __mmask16 m0,
                     __mmask16 m1, const bool two)
{
    __m512 a0 = _mm512_setzero_ps(), b0 = a0, c0 = a0, d0 = a0, a1 = a0, b1 = a0, c1 = a0, d1 = a0;
    GrB_Index e = begin;
    for (; e + 4 <= end; e += 4) {
        const float *s0 = sources + idx[e] * k, *s1 = sources + idx[e + 1] * k;
        const float *s2 = sources + idx[e + 2] * k, *s3 = sources + idx[e + 3] * k;
        const __m512 x0 = _mm512_set1_ps(val[e]), x1 = _mm512_set1_ps(val[e + 1]);
        const __m512 x2 = _mm512_set1_ps(val[e + 2]), x3 = _mm512_set1_ps(val[e + 3]);
        a0 = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(m0, s0), a0);
        b0 = _mm512_fmadd_ps(x1, _mm512_maskz_loadu_ps(m0, s1), b0);
        c0 = _mm512_fmadd_ps(x2, _mm512_maskz_loadu_ps(m0, s2), c0);
        d0 = _mm512_fmadd_ps(x3, _mm512_maskz_loadu_ps(m0, s3), d0);
        if (two) {
            a1 = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(m1, s0 + 16), a1);
            b1 = _mm512_fmadd_ps(x1, _mm512_maskz_loadu_ps(m1, s1 + 16), b1);
            c1 = _mm512_fmadd_ps(x2, _mm512_maskz_loadu_ps(m1, s2 + 16), c1);
            d1 = _mm512_fmadd_ps(x3, _mm512_maskz_loadu_ps(m1, s3 + 16), d1);
        }
    }
    for (; e < end; e++) {
        const float *s = sources + idx[e] * k;
        const __m512 x = _mm512_set1_ps(val[e]);
        a0 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m0, s), a0);
        if (two) a1 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m1, s + 16), a1);
    }
    _mm512_mask_storeu_ps(out, m0, _mm512_add_ps(_mm512_add_ps(a0, b0), _mm512_add_ps(c0, d0)));
    if (two) _mm512_mask_storeu_ps(out + 16, m1, _mm512_add_ps(_mm512_add_ps(a1, b1), _mm512_add_ps(c1, d1)));
}

FM_AVX512 static void gather_rows_avx512(float *restrict out, const fm_edges *edges, const float *restrict sources,
                                         int k, int64_t begin, int64_t end)
{
    const __mmask16 m0 = lanes16(k), m1 = lanes16(k - 16);
    for (int64_t t = begin; t < end; t++) {
        if (k > 16)
            gather_target_avx512(out + t * k, edges->idx, edges->val, edges->ptr[t], edges->ptr[t + 1], sources, k,
                                 m0, m1, true);
        else
            gather_target_avx512(out + t * k, edges->idx, edges->val, edges->ptr[t], edges->ptr[t + 1], sources, k,
                                 m0, m1, false);
    }
}

// The AVX2 variant: up to 4 vectors of 8 ranks per chain, two chains.
FM_AVX2 static void gather_rows_avx2(float *restrict out, const fm_edges *edges, const float *restrict sources,
                                     int k, int64_t begin, int64_t end)
{
    const int vectors = (k + 7) / 8;
    __m256i mask[4];
    for (int v = 0; v < 4; v++) mask[v] = lanes8(k - 8 * v);
    for (int64_t t = begin; t < end; t++) {
        __m256 a[4], b[4];
        for (int v = 0; v < 4; v++) a[v] = b[v] = _mm256_setzero_ps();
        GrB_Index e = edges->ptr[t];
        const GrB_Index stop = edges->ptr[t + 1];
        for (; e + 2 <= stop; e += 2) {
            const float *s0 = sources + edges->idx[e] * k, *s1 = sources + edges->idx[e + 1] * k;
            const __m256 x0 = _mm256_set1_ps(edges->val[e]), x1 = _mm256_set1_ps(edges->val[e + 1]);
            for (int v = 0; v < vectors; v++) {
                a[v] = _mm256_fmadd_ps(x0, _mm256_maskload_ps(s0 + 8 * v, mask[v]), a[v]);
                b[v] = _mm256_fmadd_ps(x1, _mm256_maskload_ps(s1 + 8 * v, mask[v]), b[v]);
            }
        }
        if (e < stop) {
            const float *s = sources + edges->idx[e] * k;
            const __m256 x = _mm256_set1_ps(edges->val[e]);
            for (int v = 0; v < vectors; v++) a[v] = _mm256_fmadd_ps(x, _mm256_maskload_ps(s + 8 * v, mask[v]), a[v]);
        }
        for (int v = 0; v < vectors; v++) _mm256_maskstore_ps(out + t * k + 8 * v, mask[v], _mm256_add_ps(a[v], b[v]));
    }
}

#endif

FM_TARGET_CLONES
static void gather_rows_plain(float *out, const fm_edges *edges, const float *sources, int k, int64_t begin,
                              int64_t end)
{
#define RUN(K)                                                                    \
    for (int64_t t = begin; t < end; t++) fm_gather_target(out + t * (K), edges, t, sources, (K))
    FM_RANK_SWITCH(k, RUN)
#undef RUN
}

void fm_gather_sparse_rows(float *out, const fm_edges *edges, const float *sources, int k, int64_t begin,
                           int64_t end, int level)
{
#if defined(__x86_64__)
    if (level >= FM_CPU_V4 && k <= 32) return gather_rows_avx512(out, edges, sources, k, begin, end);
    if (level >= FM_CPU_V3 && k <= 32) return gather_rows_avx2(out, edges, sources, k, begin, end);
#else
    (void)level;
#endif
    gather_rows_plain(out, edges, sources, k, begin, end);
}
