// Products with X in full storage (every target has every source: the
// dense kind), one variant per x86-64 level (engine/cpu.h):
// - the gather  out[t] = Σ_s x_ts · S[s]            (F = X·Hᵀ, §3)
// - the scatter acc[s] += Σ_t x_ts · T[t]           (Xᵀ·W pushed from X's rows)
// - the residual Σ (x_ts − T[t]·S[s])²              (§1)
//
// The gather holds several targets against five ranks in vector registers
// and walks the sources once per five ranks:
// - AVX-512 (32 registers): four targets × five ranks = 20 sums, with the
//   four X rows and the five Sᵀ rows of a step loaded once: 9 loads feed 20
//   FMAs, so the FMA units, not the loads, set the pace;
// - AVX2 (16 registers): two targets × five ranks = 10 sums, 7 loads;
// - otherwise the same shape in plain C for the compiler to vectorize.
// Sᵀ is rank-major (k × sources) padded with zero rows to a multiple of 5.
#include "products.h"

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

#include "simd.h"

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

// acc (kpad × n, rank-major) += Tᵀ X over `count` rows, two rows at a time,
// in strips of sources that keep the accumulator rows in L1.
static void scatter_rows_plain(float *restrict acc, const float *restrict X, const float *restrict T, int64_t n,
                               int kpad, int64_t count)
{
    enum { STRIP = 512 };
    for (int64_t s0 = 0; s0 < n; s0 += STRIP) {
        const int64_t s1 = n - s0 < STRIP ? n : s0 + STRIP;
        for (int64_t t = 0; t < count; t += 2) {
            const bool pair = t + 1 < count;
            const float *x0 = X + t * n, *x1 = pair ? x0 + n : x0;
            for (int r = 0; r < kpad; r++) {
                const float w0 = T[t * kpad + r], w1 = pair ? T[(t + 1) * kpad + r] : 0;
                float *a = acc + (int64_t)r * n;
#pragma omp simd
                for (int64_t s = s0; s < s1; s++) a[s] += w0 * x0[s] + w1 * x1[s];
            }
        }
    }
}

// Σ (x_ts − T[t]·S[s])² over `count` rows, a strip of sources at a time:
// the strip's predictions built up rank by rank (each an axpy that
// vectorizes), then its squared differences summed in float, then double.
static double residual_rows_plain(const float *restrict X, const float *restrict T, const float *restrict St,
                                  int64_t n, int kpad, int64_t count)
{
    enum { STRIP = 512 };
    float p[STRIP];
    double total = 0;
    for (int64_t t = 0; t < count; t++) {
        const float *x = X + t * n, *w = T + t * kpad;
        for (int64_t s0 = 0; s0 < n; s0 += STRIP) {
            const int64_t width = n - s0 < STRIP ? n - s0 : STRIP;
            for (int64_t s = 0; s < width; s++) p[s] = 0;
            for (int r = 0; r < kpad; r++) {
                const float wr = w[r], *h = St + (int64_t)r * n + s0;
#pragma omp simd
                for (int64_t s = 0; s < width; s++) p[s] += wr * h[s];
            }
            float sum = 0;
#pragma omp simd reduction(+ : sum)
            for (int64_t s = 0; s < width; s++) {
                const float d = x[s0 + s] - p[s];
                sum += d * d;
            }
            total += sum;
        }
    }
    return total;
}

#if defined(__x86_64__)


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
                __m256 h0 = _mm256_loadu_ps(h + s), h1 = _mm256_loadu_ps(h + n + s);
                __m256 h2 = _mm256_loadu_ps(h + 2 * n + s), h3 = _mm256_loadu_ps(h + 3 * n + s);
                __m256 h4 = _mm256_loadu_ps(h + 4 * n + s);
                FM_IN_REGISTERS5(h0, h1, h2, h3, h4);
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
        __m512 h0 = LOAD(h + s), h1 = LOAD(h + n + s), h2 = LOAD(h + 2 * n + s);             \
        __m512 h3 = LOAD(h + 3 * n + s), h4 = LOAD(h + 4 * n + s);                           \
        FM_IN_REGISTERS5(h0, h1, h2, h3, h4);                                                  \
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

// Strips of 64 sources (4 vectors) against five ranks: 20 accumulators in
// registers while the rows stream past, each row's 4 X vectors and 5
// broadcast factors feeding 20 FMAs.
FM_AVX512 static void scatter_rows_avx512(float *restrict acc, const float *restrict X, const float *restrict T,
                                          int64_t n, int kpad, int64_t count)
{
    for (int g = 0; g < kpad; g += FM_GROUP) {
        float *a = acc + (int64_t)g * n;
        for (int64_t s = 0; s < n; s += 64) {
            const __mmask16 m0 = lanes16(n - s), m1 = lanes16(n - s - 16), m2 = lanes16(n - s - 32),
                            m3 = lanes16(n - s - 48);
#define FM_ACC_LOAD(r) \
    __m512 c##r##0 = _mm512_maskz_loadu_ps(m0, a + r * n + s), c##r##1 = _mm512_maskz_loadu_ps(m1, a + r * n + s + 16), \
           c##r##2 = _mm512_maskz_loadu_ps(m2, a + r * n + s + 32), c##r##3 = _mm512_maskz_loadu_ps(m3, a + r * n + s + 48)
            FM_ACC_LOAD(0); FM_ACC_LOAD(1); FM_ACC_LOAD(2); FM_ACC_LOAD(3); FM_ACC_LOAD(4);
#undef FM_ACC_LOAD
            for (int64_t t = 0; t < count; t++) {
                const float *x = X + t * n + s, *w = T + t * kpad + g;
                __m512 x0 = _mm512_maskz_loadu_ps(m0, x), x1 = _mm512_maskz_loadu_ps(m1, x + 16),
                       x2 = _mm512_maskz_loadu_ps(m2, x + 32), x3 = _mm512_maskz_loadu_ps(m3, x + 48);
                FM_IN_REGISTERS4(x0, x1, x2, x3);
#define FM_PUSH(r)                                                                              \
    do {                                                                                        \
        const __m512 b = _mm512_set1_ps(w[r]);                                                  \
        c##r##0 = _mm512_fmadd_ps(x0, b, c##r##0); c##r##1 = _mm512_fmadd_ps(x1, b, c##r##1);   \
        c##r##2 = _mm512_fmadd_ps(x2, b, c##r##2); c##r##3 = _mm512_fmadd_ps(x3, b, c##r##3);   \
    } while (0)
                FM_PUSH(0); FM_PUSH(1); FM_PUSH(2); FM_PUSH(3); FM_PUSH(4);
#undef FM_PUSH
            }
#define FM_ACC_STORE(r)                                                                                    \
    do {                                                                                                   \
        _mm512_mask_storeu_ps(a + r * n + s, m0, c##r##0); _mm512_mask_storeu_ps(a + r * n + s + 16, m1, c##r##1); \
        _mm512_mask_storeu_ps(a + r * n + s + 32, m2, c##r##2); _mm512_mask_storeu_ps(a + r * n + s + 48, m3, c##r##3); \
    } while (0)
            FM_ACC_STORE(0); FM_ACC_STORE(1); FM_ACC_STORE(2); FM_ACC_STORE(3); FM_ACC_STORE(4);
#undef FM_ACC_STORE
        }
    }
}

// Strips of 64 sources, two rows at a time: their predictions formed in 4
// vectors each from the rank rows of Sᵀ (in L1; each load feeds both rows),
// then their squared differences summed in 4 more.
FM_AVX512 static double residual_rows_avx512(const float *restrict X, const float *restrict T,
                                             const float *restrict St, int64_t n, int kpad, int64_t count)
{
    double total = 0;
    for (int64_t s = 0; s < n; s += 64) {
        const __mmask16 m0 = lanes16(n - s), m1 = lanes16(n - s - 16), m2 = lanes16(n - s - 32),
                        m3 = lanes16(n - s - 48);
        __m512 q0 = _mm512_setzero_ps(), q1 = q0, q2 = q0, q3 = q0;
        for (int64_t t = 0; t < count; t += 2) {
            // an odd last row pairs with itself, its second copy weighing 0
            const bool pair = t + 1 < count;
            const float *x = X + t * n + s, *y = pair ? x + n : x, *w = T + t * kpad, *v = pair ? w + kpad : w;
            __m512 p0 = _mm512_setzero_ps(), p1 = p0, p2 = p0, p3 = p0, r0 = p0, r1 = p0, r2 = p0, r3 = p0;
            for (int r = 0; r < kpad; r++) {
                const float *h = St + (int64_t)r * n + s;
                __m512 h0 = _mm512_maskz_loadu_ps(m0, h), h1 = _mm512_maskz_loadu_ps(m1, h + 16),
                       h2 = _mm512_maskz_loadu_ps(m2, h + 32), h3 = _mm512_maskz_loadu_ps(m3, h + 48);
                FM_IN_REGISTERS4(h0, h1, h2, h3);
                const __m512 a = _mm512_set1_ps(w[r]), b = _mm512_set1_ps(v[r]);
                p0 = _mm512_fmadd_ps(a, h0, p0); p1 = _mm512_fmadd_ps(a, h1, p1);
                p2 = _mm512_fmadd_ps(a, h2, p2); p3 = _mm512_fmadd_ps(a, h3, p3);
                r0 = _mm512_fmadd_ps(b, h0, r0); r1 = _mm512_fmadd_ps(b, h1, r1);
                r2 = _mm512_fmadd_ps(b, h2, r2); r3 = _mm512_fmadd_ps(b, h3, r3);
            }
            const __m512 d0 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m0, x), p0);
            const __m512 d1 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m1, x + 16), p1);
            const __m512 d2 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m2, x + 32), p2);
            const __m512 d3 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m3, x + 48), p3);
            q0 = _mm512_fmadd_ps(d0, d0, q0);
            q1 = _mm512_fmadd_ps(d1, d1, q1);
            q2 = _mm512_fmadd_ps(d2, d2, q2);
            q3 = _mm512_fmadd_ps(d3, d3, q3);
            if (pair) {
                const __m512 e0 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m0, y), r0);
                const __m512 e1 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m1, y + 16), r1);
                const __m512 e2 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m2, y + 32), r2);
                const __m512 e3 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m3, y + 48), r3);
                q0 = _mm512_fmadd_ps(e0, e0, q0);
                q1 = _mm512_fmadd_ps(e1, e1, q1);
                q2 = _mm512_fmadd_ps(e2, e2, q2);
                q3 = _mm512_fmadd_ps(e3, e3, q3);
            }
        }
        total += (double)_mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(q0, q1), _mm512_add_ps(q2, q3)));
    }
    return total;
}

// Strips of 16 sources (2 vectors) against five ranks: 10 accumulators.
FM_AVX2 static void scatter_rows_avx2(float *restrict acc, const float *restrict X, const float *restrict T,
                                      int64_t n, int kpad, int64_t count)
{
    for (int g = 0; g < kpad; g += FM_GROUP) {
        float *a = acc + (int64_t)g * n;
        for (int64_t s = 0; s < n; s += 16) {
            const __m256i m0 = lanes8(n - s), m1 = lanes8(n - s - 8);
#define FM_ACC_LOAD(r) \
    __m256 c##r##0 = _mm256_maskload_ps(a + r * n + s, m0), c##r##1 = _mm256_maskload_ps(a + r * n + s + 8, m1)
            FM_ACC_LOAD(0); FM_ACC_LOAD(1); FM_ACC_LOAD(2); FM_ACC_LOAD(3); FM_ACC_LOAD(4);
#undef FM_ACC_LOAD
            for (int64_t t = 0; t < count; t++) {
                const float *x = X + t * n + s, *w = T + t * kpad + g;
                const __m256 x0 = _mm256_maskload_ps(x, m0), x1 = _mm256_maskload_ps(x + 8, m1);
#define FM_PUSH(r)                                                                              \
    do {                                                                                        \
        const __m256 b = _mm256_broadcast_ss(w + r);                                            \
        c##r##0 = _mm256_fmadd_ps(x0, b, c##r##0); c##r##1 = _mm256_fmadd_ps(x1, b, c##r##1);   \
    } while (0)
                FM_PUSH(0); FM_PUSH(1); FM_PUSH(2); FM_PUSH(3); FM_PUSH(4);
#undef FM_PUSH
            }
#define FM_ACC_STORE(r) \
    do { _mm256_maskstore_ps(a + r * n + s, m0, c##r##0); _mm256_maskstore_ps(a + r * n + s + 8, m1, c##r##1); } while (0)
            FM_ACC_STORE(0); FM_ACC_STORE(1); FM_ACC_STORE(2); FM_ACC_STORE(3); FM_ACC_STORE(4);
#undef FM_ACC_STORE
        }
    }
}

// Strips of 32 sources (4 vectors), as the AVX-512 residual.
FM_AVX2 static double residual_rows_avx2(const float *restrict X, const float *restrict T, const float *restrict St,
                                         int64_t n, int kpad, int64_t count)
{
    double total = 0;
    for (int64_t s = 0; s < n; s += 32) {
        const __m256i m0 = lanes8(n - s), m1 = lanes8(n - s - 8), m2 = lanes8(n - s - 16), m3 = lanes8(n - s - 24);
        __m256 q0 = _mm256_setzero_ps(), q1 = q0, q2 = q0, q3 = q0;
        for (int64_t t = 0; t < count; t++) {
            const float *x = X + t * n + s, *w = T + t * kpad;
            __m256 p0 = _mm256_setzero_ps(), p1 = p0, p2 = p0, p3 = p0;
            for (int r = 0; r < kpad; r++) {
                const float *h = St + (int64_t)r * n + s;
                const __m256 b = _mm256_broadcast_ss(w + r);
                p0 = _mm256_fmadd_ps(b, _mm256_maskload_ps(h, m0), p0);
                p1 = _mm256_fmadd_ps(b, _mm256_maskload_ps(h + 8, m1), p1);
                p2 = _mm256_fmadd_ps(b, _mm256_maskload_ps(h + 16, m2), p2);
                p3 = _mm256_fmadd_ps(b, _mm256_maskload_ps(h + 24, m3), p3);
            }
            const __m256 d0 = _mm256_sub_ps(_mm256_maskload_ps(x, m0), p0);
            const __m256 d1 = _mm256_sub_ps(_mm256_maskload_ps(x + 8, m1), p1);
            const __m256 d2 = _mm256_sub_ps(_mm256_maskload_ps(x + 16, m2), p2);
            const __m256 d3 = _mm256_sub_ps(_mm256_maskload_ps(x + 24, m3), p3);
            q0 = _mm256_fmadd_ps(d0, d0, q0);
            q1 = _mm256_fmadd_ps(d1, d1, q1);
            q2 = _mm256_fmadd_ps(d2, d2, q2);
            q3 = _mm256_fmadd_ps(d3, d3, q3);
        }
        total += (double)sum8(_mm256_add_ps(_mm256_add_ps(q0, q1), _mm256_add_ps(q2, q3)));
    }
    return total;
}

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

void fm_scatter_full_rows(float *acc, const float *X, const float *T, int64_t n, int kpad, int64_t count, int level)
{
#if defined(__x86_64__)
    if (level >= FM_CPU_V4) return scatter_rows_avx512(acc, X, T, n, kpad, count);
    if (level >= FM_CPU_V3) return scatter_rows_avx2(acc, X, T, n, kpad, count);
#else
    (void)level;
#endif
    scatter_rows_plain(acc, X, T, n, kpad, count);
}

double fm_residual_full_rows(const float *X, const float *T, const float *St, int64_t n, int kpad, int64_t count,
                             int level)
{
    // The vector kernels sum a strip's squares over the rows in float lanes:
    // at most FM_RESIDUAL_ROWS rows a call keeps that sum short.
    enum { FM_RESIDUAL_ROWS = 32 };
    double total = 0;
    for (int64_t t = 0; t < count; t += FM_RESIDUAL_ROWS) {
        const int64_t rows = count - t < FM_RESIDUAL_ROWS ? count - t : FM_RESIDUAL_ROWS;
        const float *x = X + t * n, *w = T + t * kpad;
#if defined(__x86_64__)
        if (level >= FM_CPU_V4) total += residual_rows_avx512(x, w, St, n, kpad, rows);
        else if (level >= FM_CPU_V3) total += residual_rows_avx2(x, w, St, n, kpad, rows);
        else total += residual_rows_plain(x, w, St, n, kpad, rows);
#else
        (void)level;
        total += residual_rows_plain(x, w, St, n, kpad, rows);
#endif
    }
    return total;
}
