/* The mask kernel's inner loops (AVX2 + FMA), loaded by ingest/native.py with ctypes.
   native.py says why this is C and derives the per-mask steps; kernel.py builds the inputs.
   Compiled with -Wall -Wextra: keep it free of warnings. */

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define TILE 4 /* masks whose gradients are accumulated together: G is loaded once for 4 */
#define NG 3   /* nodes per pass: 4 x 3 accumulators + 3 rows of G + 1 of sigma = 16 registers */

int knock_cpu_ok(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* p = 1 + q multiplied into acc (mantissa kept in [1,2)), its binary exponent added to ex. */
#define STEP(acc, ex, off) {                                                              \
    __m256 q = _mm256_mul_ps(_mm256_loadu_ps(a + x + off), _mm256_loadu_ps(b + x + off)); \
    __m256 p = _mm256_add_ps(one, q);                                                     \
    _mm256_storeu_ps(s + x + off, _mm256_div_ps(q, p));                                   \
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(p, limit, _CMP_NLT_UQ));                         \
    __m256i bits = _mm256_castps_si256(_mm256_mul_ps(acc, p));                            \
    ex = _mm256_add_epi32(ex, _mm256_srli_epi32(bits, 23));                               \
    acc = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, mant), expo)); }

/* One mask: sigma_x into s, and the mean of log p_x (NaN if some p reached 1e38 or was NaN). */
__attribute__((target("avx2,fma")))
static float row_sigma(int64_t pp, int64_t points, const float *a, const float *b, float *s)
{
    const __m256 one = _mm256_set1_ps(1.0f), limit = _mm256_set1_ps(1e38f);
    const __m256i mant = _mm256_set1_epi32(0x007fffff), expo = _mm256_set1_epi32(0x3f800000);
    /* two independent products: the renormalisation is a chain of dependent operations */
    __m256 acc0 = one, acc1 = one, bad = _mm256_setzero_ps();
    __m256i ex0 = _mm256_setzero_si256(), ex1 = _mm256_setzero_si256();
    for (int64_t x = 0; x < pp; x += 16) {
        STEP(acc0, ex0, 0)
        STEP(acc1, ex1, 8)
    }
    float m0[8], m1[8];
    int32_t e0[8], e1[8];
    _mm256_storeu_ps(m0, acc0);
    _mm256_storeu_ps(m1, acc1);
    _mm256_storeu_si256((__m256i *)e0, ex0);
    _mm256_storeu_si256((__m256i *)e1, ex1);
    double total = 0.0;
    int64_t e = -127 * pp; /* each point added one biased exponent */
    for (int j = 0; j < 8; j++) {
        total += log((double)m0[j] * (double)m1[j]);
        e += (int64_t)e0[j] + (int64_t)e1[j];
    }
    total += (double)e * 0.69314718055994530942;
    return _mm256_movemask_ps(bad) ? NAN : (float)(total / (double)points);
}

__attribute__((target("avx2,fma")))
static inline float hsum(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

#define FMA3(t) { __m256 S = _mm256_loadu_ps(s##t + x);                 \
    c##t##0 = _mm256_fmadd_ps(S, g0, c##t##0);                           \
    c##t##1 = _mm256_fmadd_ps(S, g1, c##t##1);                           \
    c##t##2 = _mm256_fmadd_ps(S, g2, c##t##2); }

/* n masks (rows of A and Bm by a_idx, b_idx) over pp points (a multiple of 16): loss[r] and
   grad[r * nodes + i] = sum_x sigma_x G[i, x]; G has nodes rows rounded up to a multiple of NG,
   sbuf holds TILE x pp floats. Each mask's numbers depend only on its own row, never its tile. */
__attribute__((target("avx2,fma")))
void knock_masks(int64_t n, int64_t pp, int64_t points, int64_t nodes, const float *A,
                 const int32_t *a_idx, const float *Bm, const int32_t *b_idx, const float *G,
                 float *sbuf, float *loss, float *grad)
{
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040); /* flush denormals (q < 1e-38): they would only cost time */
    const float *s0 = sbuf, *s1 = sbuf + pp, *s2 = sbuf + 2 * pp, *s3 = sbuf + 3 * pp;
    for (int64_t r0 = 0; r0 < n; r0 += TILE) {
        int64_t rows = n - r0 < TILE ? n - r0 : TILE;
        for (int64_t t = 0; t < TILE; t++) {
            if (t < rows)
                loss[r0 + t] = row_sigma(pp, points, A + (int64_t)a_idx[r0 + t] * pp,
                                         Bm + (int64_t)b_idx[r0 + t] * pp, sbuf + t * pp);
            else
                memset(sbuf + t * pp, 0, (size_t)pp * sizeof(float));
        }
        for (int64_t i = 0; i < nodes; i += NG) {
            const float *G0 = G + i * pp, *G1 = G0 + pp, *G2 = G1 + pp;
            __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00,
                   c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
            for (int64_t x = 0; x < pp; x += 8) {
                __m256 g0 = _mm256_loadu_ps(G0 + x), g1 = _mm256_loadu_ps(G1 + x),
                       g2 = _mm256_loadu_ps(G2 + x);
                FMA3(0) FMA3(1) FMA3(2) FMA3(3)
            }
            float out[TILE][NG] = {{hsum(c00), hsum(c01), hsum(c02)}, {hsum(c10), hsum(c11), hsum(c12)},
                                   {hsum(c20), hsum(c21), hsum(c22)}, {hsum(c30), hsum(c31), hsum(c32)}};
            for (int64_t t = 0; t < rows; t++)
                for (int64_t j = 0; j < NG && i + j < nodes; j++)
                    grad[(r0 + t) * nodes + i + j] = out[t][j];
        }
    }
    _mm_setcsr(csr);
}
