// The gather over full storage (every target has every source: the dense
// kind), F = X·Sᵀᵀ row by row: out[t] = Σ_s x_ts · S[s], one variant per
// x86-64 level (engine/cpu.h). Each holds several targets against five
// ranks in vector registers and walks the sources once per five ranks:
// - AVX-512 (32 registers): four targets × five ranks = 20 sums, with the
//   four X rows and the five Sᵀ rows of a step loaded once: 9 loads feed 20
//   FMAs, so the FMA units, not the loads, set the pace;
// - AVX2 (16 registers): two targets × five ranks = 10 sums, 7 loads;
// - otherwise the same shape in plain C for the compiler to vectorize.
// Sᵀ is rank-major (k × sources) padded with zero rows to a multiple of 5.
#include "products.h"

#include <stdint.h>

#include "cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define FM_GROUP 5   // ranks per pass over the sources

static void gather_rows_plain(float *restrict out, const float *restrict X, const float *restrict St, int64_t n,
                              int k, int64_t begin, int64_t end)
{
    for (int64_t t = begin; t < end; t += 2) {
        const float *x0 = X + t * n, *x1 = t + 1 < end ? x0 + n : x0;
        for (int g = 0; g * FM_GROUP < k; g++) {
            const float *h = St + (int64_t)g * FM_GROUP * n;
            float a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0;
#pragma omp simd reduction(+ : a0, a1, a2, a3, a4, b0, b1, b2, b3, b4)
            for (int64_t s = 0; s < n; s++) {
                const float h0 = h[s], h1 = h[n + s], h2 = h[2 * n + s], h3 = h[3 * n + s], h4 = h[4 * n + s];
                const float v0 = x0[s], v1 = x1[s];
                a0 += v0 * h0; a1 += v0 * h1; a2 += v0 * h2; a3 += v0 * h3; a4 += v0 * h4;
                b0 += v1 * h0; b1 += v1 * h1; b2 += v1 * h2; b3 += v1 * h3; b4 += v1 * h4;
            }
            const float sums[2][FM_GROUP] = { { a0, a1, a2, a3, a4 }, { b0, b1, b2, b3, b4 } };
            for (int i = 0; i < 2 && t + i < end; i++)
                for (int r = 0; r < FM_GROUP && g * FM_GROUP + r < k; r++) out[(t + i) * k + g * FM_GROUP + r] = sums[i][r];
        }
    }
}

#if defined(__x86_64__)

#define FM_AVX2 __attribute__((target("avx2,fma")))
#define FM_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))

FM_AVX2 static inline float sum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

FM_AVX2 static void gather_rows_avx2(float *restrict out, const float *restrict X, const float *restrict St,
                                     int64_t n, int k, int64_t begin, int64_t end)
{
    const int64_t body = n & ~(int64_t)7;
    for (int64_t t = begin; t < end; t += 2) {
        const float *x0 = X + t * n, *x1 = t + 1 < end ? x0 + n : x0;
        for (int g = 0; g * FM_GROUP < k; g++) {
            const float *h = St + (int64_t)g * FM_GROUP * n;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
            __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0;
            for (int64_t s = 0; s < body; s += 8) {
                const __m256 h0 = _mm256_loadu_ps(h + s), h1 = _mm256_loadu_ps(h + n + s);
                const __m256 h2 = _mm256_loadu_ps(h + 2 * n + s), h3 = _mm256_loadu_ps(h + 3 * n + s);
                const __m256 h4 = _mm256_loadu_ps(h + 4 * n + s);
                const __m256 v0 = _mm256_loadu_ps(x0 + s);
                a0 = _mm256_fmadd_ps(v0, h0, a0); a1 = _mm256_fmadd_ps(v0, h1, a1);
                a2 = _mm256_fmadd_ps(v0, h2, a2); a3 = _mm256_fmadd_ps(v0, h3, a3);
                a4 = _mm256_fmadd_ps(v0, h4, a4);
                const __m256 v1 = _mm256_loadu_ps(x1 + s);
                b0 = _mm256_fmadd_ps(v1, h0, b0); b1 = _mm256_fmadd_ps(v1, h1, b1);
                b2 = _mm256_fmadd_ps(v1, h2, b2); b3 = _mm256_fmadd_ps(v1, h3, b3);
                b4 = _mm256_fmadd_ps(v1, h4, b4);
            }
            float sums[2][FM_GROUP] = { { sum8(a0), sum8(a1), sum8(a2), sum8(a3), sum8(a4) },
                                        { sum8(b0), sum8(b1), sum8(b2), sum8(b3), sum8(b4) } };
            for (int64_t s = body; s < n; s++)
                for (int r = 0; r < FM_GROUP; r++) {
                    sums[0][r] += x0[s] * h[r * n + s];
                    sums[1][r] += x1[s] * h[r * n + s];
                }
            for (int i = 0; i < 2 && t + i < end; i++)
                for (int r = 0; r < FM_GROUP && g * FM_GROUP + r < k; r++) out[(t + i) * k + g * FM_GROUP + r] = sums[i][r];
        }
    }
}

// Four targets' steps against five ranks: the sums of target i are a<i>0..4.
#define FM_STEP4(LOAD)                                                                        \
    do {                                                                                      \
        const __m512 h0 = LOAD(h + s), h1 = LOAD(h + n + s), h2 = LOAD(h + 2 * n + s);       \
        const __m512 h3 = LOAD(h + 3 * n + s), h4 = LOAD(h + 4 * n + s);                     \
        __m512 v = LOAD(x0 + s);                                                              \
        a00 = _mm512_fmadd_ps(v, h0, a00); a01 = _mm512_fmadd_ps(v, h1, a01);                \
        a02 = _mm512_fmadd_ps(v, h2, a02); a03 = _mm512_fmadd_ps(v, h3, a03);                \
        a04 = _mm512_fmadd_ps(v, h4, a04);                                                    \
        v = LOAD(x1 + s);                                                                     \
        a10 = _mm512_fmadd_ps(v, h0, a10); a11 = _mm512_fmadd_ps(v, h1, a11);                \
        a12 = _mm512_fmadd_ps(v, h2, a12); a13 = _mm512_fmadd_ps(v, h3, a13);                \
        a14 = _mm512_fmadd_ps(v, h4, a14);                                                    \
        v = LOAD(x2 + s);                                                                     \
        a20 = _mm512_fmadd_ps(v, h0, a20); a21 = _mm512_fmadd_ps(v, h1, a21);                \
        a22 = _mm512_fmadd_ps(v, h2, a22); a23 = _mm512_fmadd_ps(v, h3, a23);                \
        a24 = _mm512_fmadd_ps(v, h4, a24);                                                    \
        v = LOAD(x3 + s);                                                                     \
        a30 = _mm512_fmadd_ps(v, h0, a30); a31 = _mm512_fmadd_ps(v, h1, a31);                \
        a32 = _mm512_fmadd_ps(v, h2, a32); a33 = _mm512_fmadd_ps(v, h3, a33);                \
        a34 = _mm512_fmadd_ps(v, h4, a34);                                                    \
    } while (0)

FM_AVX512 static void gather_rows_avx512(float *restrict out, const float *restrict X, const float *restrict St,
                                         int64_t n, int k, int64_t begin, int64_t end)
{
    const int64_t body = n & ~(int64_t)15;
    const __mmask16 tail = (__mmask16)((1u << (n - body)) - 1);
    for (int64_t t = begin; t < end; t += 4) {
        const float *x0 = X + t * n;
        const float *x1 = t + 1 < end ? x0 + n : x0, *x2 = t + 2 < end ? x0 + 2 * n : x0;
        const float *x3 = t + 3 < end ? x0 + 3 * n : x0;
        for (int g = 0; g * FM_GROUP < k; g++) {
            const float *h = St + (int64_t)g * FM_GROUP * n;
            __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a04 = a00;
            __m512 a10 = a00, a11 = a00, a12 = a00, a13 = a00, a14 = a00;
            __m512 a20 = a00, a21 = a00, a22 = a00, a23 = a00, a24 = a00;
            __m512 a30 = a00, a31 = a00, a32 = a00, a33 = a00, a34 = a00;
            int64_t s = 0;
            for (; s < body; s += 16) FM_STEP4(_mm512_loadu_ps);
            if (tail) {
#define FM_TAIL_LOAD(p) _mm512_maskz_loadu_ps(tail, (p))
                FM_STEP4(FM_TAIL_LOAD);
#undef FM_TAIL_LOAD
            }
            const float sums[4][FM_GROUP] = {
                { _mm512_reduce_add_ps(a00), _mm512_reduce_add_ps(a01), _mm512_reduce_add_ps(a02),
                  _mm512_reduce_add_ps(a03), _mm512_reduce_add_ps(a04) },
                { _mm512_reduce_add_ps(a10), _mm512_reduce_add_ps(a11), _mm512_reduce_add_ps(a12),
                  _mm512_reduce_add_ps(a13), _mm512_reduce_add_ps(a14) },
                { _mm512_reduce_add_ps(a20), _mm512_reduce_add_ps(a21), _mm512_reduce_add_ps(a22),
                  _mm512_reduce_add_ps(a23), _mm512_reduce_add_ps(a24) },
                { _mm512_reduce_add_ps(a30), _mm512_reduce_add_ps(a31), _mm512_reduce_add_ps(a32),
                  _mm512_reduce_add_ps(a33), _mm512_reduce_add_ps(a34) },
            };
            for (int i = 0; i < 4 && t + i < end; i++)
                for (int r = 0; r < FM_GROUP && g * FM_GROUP + r < k; r++) out[(t + i) * k + g * FM_GROUP + r] = sums[i][r];
        }
    }
}
#undef FM_STEP4

#endif

int fm_gather_full_padding(int k) { return (k + FM_GROUP - 1) / FM_GROUP * FM_GROUP; }

void fm_gather_full_rows(float *out, const float *X, const float *St, int64_t n, int k, int64_t begin,
                         int64_t end, int level)
{
#if defined(__x86_64__)
    if (level >= FM_CPU_V4) return gather_rows_avx512(out, X, St, n, k, begin, end);
    if (level >= FM_CPU_V3) return gather_rows_avx2(out, X, St, n, k, begin, end);
#else
    (void)level;
#endif
    gather_rows_plain(out, X, St, n, k, begin, end);
}
