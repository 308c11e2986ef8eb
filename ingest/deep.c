/* The deep evaluator's inner loops (AVX2 + FMA), loaded by ingest/deep.py with ctypes.
   deep.py derives the maths and builds the per-prefix terms G, g0, K, K0; this file turns them into
   each mask's mean loss and gradients. Compiled with -Wall -Wextra: keep it free of warnings.

   For one prefix (the gates of every masked layer but the last hidden one) and a tail mask m (the
   last hidden layer's gates), per point x:
       t_x   = g0_x + sum_k m_k G[k, x]                  (minus the signed logit difference)
       loss  = mean_x softplus(t_x)
       dL/dm_k  = mean_x sigmoid(t_x) G[k, x]            (tail gates)
       dL/de_i  = mean_x sigmoid(t_x) D[i, x],  D = K0 + sum_k m_k K[k]   (prefix gates)
   t and D are sums of table rows, one over the low bits of m and one over the high bits, built per
   chunk of CH points so the tables stay in L2. softplus(t) = max(t, 0) + log(1 + e), e = exp(-|t|)
   in (0, 1]: never overflows; the logs are taken of a product of the (1 + e), one log per chunk. */

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define CH 256 /* points per chunk: 16 factors (1 + e) <= 2 per product lane, at most 2^16 each */
#define TILE 4 /* masks whose gradients are accumulated together, sharing the loads of shared rows */

int deep_cpu_ok(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* exp(y) for y <= 0 to about 2 ulp; clamped at -87 (exp = 1.6e-38, below float32 resolution of any
   sum it enters): 2^n * e^r, n = round(y / ln 2), |r| <= ln 2 / 2, e^r by its degree-7 Taylor sum. */
__attribute__((target("avx2,fma")))
static inline __m256 exp_nonpos(__m256 y)
{
    y = _mm256_max_ps(y, _mm256_set1_ps(-87.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(y, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), y);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860682030941723212e-6f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

__attribute__((target("avx2,fma")))
static inline float hsum(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

/* out[0:CH] = a[0:CH] + b[0:CH] */
__attribute__((target("avx2,fma")))
static inline void add_row(float *out, const float *a, const float *b)
{
    for (int x = 0; x < CH; x += 8)
        _mm256_storeu_ps(out + x, _mm256_add_ps(_mm256_loadu_ps(a + x), _mm256_loadu_ps(b + x)));
}

/* out[0:CH] = (u[0:CH] * w) * h[0:CH]: two roundings, no fused multiply-add */
__attribute__((target("avx2,fma")))
static inline void product_row(float *out, const float *u, float w, const float *h)
{
    const __m256 wv = _mm256_set1_ps(w);
    for (int x = 0; x < CH; x += 8)
        _mm256_storeu_ps(out + x, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(u + x), wv),
                                                _mm256_loadu_ps(h + x)));
}

/* out[t][j] = sum_x s_t[x] * g_j[x] for TILE masks t and 2 rows g_j shared by all of them */
__attribute__((target("avx2,fma")))
static void dots_shared(const float *s, const float *g0, const float *g1, float out[TILE][2])
{
    __m256 c[TILE][2];
    for (int t = 0; t < TILE; t++)
        c[t][0] = c[t][1] = _mm256_setzero_ps();
    for (int x = 0; x < CH; x += 8) {
        __m256 a0 = _mm256_loadu_ps(g0 + x), a1 = _mm256_loadu_ps(g1 + x);
        for (int t = 0; t < TILE; t++) {
            __m256 st = _mm256_loadu_ps(s + t * CH + x);
            c[t][0] = _mm256_fmadd_ps(st, a0, c[t][0]);
            c[t][1] = _mm256_fmadd_ps(st, a1, c[t][1]);
        }
    }
    for (int t = 0; t < TILE; t++) {
        out[t][0] = hsum(c[t][0]);
        out[t][1] = hsum(c[t][1]);
    }
}

/* out[t][j] = sum_x s_t[x] * (a_tj[x] + b_j[x]): rows a_tj of each mask's own (low-bit) table
   entry, rows b_j of the (high-bit) entry all TILE masks share */
__attribute__((target("avx2,fma")))
static void dots_split(const float *s, const float *const a[TILE][2], const float *b0, const float *b1,
                       float out[TILE][2])
{
    __m256 c[TILE][2];
    for (int t = 0; t < TILE; t++)
        c[t][0] = c[t][1] = _mm256_setzero_ps();
    for (int x = 0; x < CH; x += 8) {
        __m256 d0 = _mm256_loadu_ps(b0 + x), d1 = _mm256_loadu_ps(b1 + x);
        for (int t = 0; t < TILE; t++) {
            __m256 st = _mm256_loadu_ps(s + t * CH + x);
            c[t][0] = _mm256_fmadd_ps(st, _mm256_add_ps(_mm256_loadu_ps(a[t][0] + x), d0), c[t][0]);
            c[t][1] = _mm256_fmadd_ps(st, _mm256_add_ps(_mm256_loadu_ps(a[t][1] + x), d1), c[t][1]);
        }
    }
    for (int t = 0; t < TILE; t++) {
        out[t][0] = hsum(c[t][0]);
        out[t][1] = hsum(c[t][1]);
    }
}

/* sigmoid(t) into s for one chunk, t = ta + tb; returns sum_x softplus(t_x) over the chunk. */
__attribute__((target("avx2,fma")))
static double sigma_chunk(const float *ta, const float *tb, float *s)
{
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps(),
                 sign = _mm256_set1_ps(-0.0f);
    __m256 prod0 = one, prod1 = one, pos = zero;
    for (int x = 0; x < CH; x += 16) {
        __m256 t0 = _mm256_add_ps(_mm256_loadu_ps(ta + x), _mm256_loadu_ps(tb + x));
        __m256 t1 = _mm256_add_ps(_mm256_loadu_ps(ta + x + 8), _mm256_loadu_ps(tb + x + 8));
        __m256 e0 = exp_nonpos(_mm256_or_ps(t0, sign)), e1 = exp_nonpos(_mm256_or_ps(t1, sign));
        __m256 p0 = _mm256_add_ps(one, e0), p1 = _mm256_add_ps(one, e1);
        /* sigmoid(t) = 1 / (1 + e) for t >= 0, e / (1 + e) below */
        __m256 n0 = _mm256_blendv_ps(e0, one, _mm256_cmp_ps(t0, zero, _CMP_GE_OQ));
        __m256 n1 = _mm256_blendv_ps(e1, one, _mm256_cmp_ps(t1, zero, _CMP_GE_OQ));
        _mm256_storeu_ps(s + x, _mm256_div_ps(n0, p0));
        _mm256_storeu_ps(s + x + 8, _mm256_div_ps(n1, p1));
        pos = _mm256_add_ps(pos, _mm256_add_ps(_mm256_max_ps(t0, zero), _mm256_max_ps(t1, zero)));
        prod0 = _mm256_mul_ps(prod0, p0);
        prod1 = _mm256_mul_ps(prod1, p1);
    }
    float m0[8], m1[8];
    _mm256_storeu_ps(m0, prod0);
    _mm256_storeu_ps(m1, prod1);
    double product = 1.0; /* 16 lanes of at most 2^16 each: at most 2^256, fine in double */
    for (int j = 0; j < 8; j++)
        product *= (double)m0[j] * (double)m1[j];
    return (double)hsum(pos) + log(product);
}

/* Rows starts[b] .. starts[b+1]-1 belong to prefix b and hold tail masks sorted ascending. Inputs per
   prefix b (pp points, a multiple of CH, padding points with g0 = -1e4 and zero G, K, K0):
   G[b][nt][pp], g0[b][pp], K[b][nt][np][pp], K0[b][np][pp]; or, with W given (not NULL), K's factors
   for the prefix layer just below the tail: U[b][nt][pp] in K's place, W[nt][np] and H[b][np][pp],
   K[k][i][x] = (U[k][x] * W[k][i]) * H[i][x], the same two float products as deep.py's torch path,
   multiplied out once per chunk. scratch holds (2^lo_bits * (1 + np) + 1 + np + TILE + nt * np) * CH
   floats, acc (1 + np + nt) doubles per row.
   Out: loss[r], grad[r][np + nt] (prefix gates first, then tail gates). A row's numbers depend only
   on its prefix's inputs and its tail mask, never on the other rows. */
__attribute__((target("avx2,fma")))
void deep_rows(int64_t nprefix, const int64_t *starts, const int64_t *tails, int64_t nt, int64_t np,
               int64_t lo_bits, int64_t pp, int64_t points, const float *G, const float *g0,
               const float *K, const float *K0, const float *W, const float *H, float *scratch, double *acc,
               float *loss, float *grad)
{
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040); /* flush denormals: sigmoids below 1e-38 only cost time */
    const int64_t nlo = (int64_t)1 << lo_bits, width = 1 + np + nt, lo_mask = nlo - 1;
    float *TA = scratch, *DA = TA + nlo * CH, *TB = DA + nlo * np * CH, *DB = TB + CH, *s = DB + np * CH,
          *Kc = s + TILE * CH;
    for (int64_t b = 0; b < nprefix; b++) {
        const float *Gb = G + b * nt * pp, *g0b = g0 + b * pp, *K0b = K0 + b * np * pp;
        const int64_t r0 = starts[b], r1 = starts[b + 1];
        memset(acc + r0 * width, 0, (size_t)((r1 - r0) * width) * sizeof(double));
        for (int64_t x0 = 0; x0 < pp; x0 += CH) {
            /* this chunk's rows of K: row (k, i) at Kx + k * sk + i * si */
            const float *Kx;
            int64_t sk, si;
            if (W) {
                const float *U = K + b * nt * pp + x0, *Hb = H + b * np * pp + x0;
                for (int64_t k = 0; k < nt; k++)
                    for (int64_t i = 0; i < np; i++)
                        product_row(Kc + (k * np + i) * CH, U + k * pp, W[k * np + i], Hb + i * pp);
                Kx = Kc, sk = np * CH, si = CH;
            } else {
                Kx = K + b * nt * np * pp + x0, sk = np * pp, si = pp;
            }
            /* low tables by doubling: row lo adds its bits' rows in increasing bit order */
            memset(TA, 0, CH * sizeof(float));
            memset(DA, 0, (size_t)(np * CH) * sizeof(float));
            for (int64_t k = 0; k < lo_bits; k++)
                for (int64_t lo = 0; lo < ((int64_t)1 << k); lo++) {
                    int64_t to = lo | ((int64_t)1 << k);
                    add_row(TA + to * CH, TA + lo * CH, Gb + k * pp + x0);
                    for (int64_t i = 0; i < np; i++)
                        add_row(DA + (to * np + i) * CH, DA + (lo * np + i) * CH, Kx + k * sk + i * si);
                }
            int64_t current_hi = -1;
            for (int64_t r = r0; r < r1;) {
                const int64_t hi = tails[r] >> lo_bits;
                if (hi != current_hi) { /* g0 (K0) plus the high bits' rows, in increasing bit order */
                    memcpy(TB, g0b + x0, CH * sizeof(float));
                    for (int64_t i = 0; i < np; i++)
                        memcpy(DB + i * CH, K0b + i * pp + x0, CH * sizeof(float));
                    for (int64_t j = 0; (hi >> j) != 0; j++) {
                        if (!((hi >> j) & 1))
                            continue;
                        int64_t k = lo_bits + j;
                        add_row(TB, TB, Gb + k * pp + x0);
                        for (int64_t i = 0; i < np; i++)
                            add_row(DB + i * CH, DB + i * CH, Kx + k * sk + i * si);
                    }
                    current_hi = hi;
                }
                /* a tile: up to TILE consecutive rows with this high part; empty slots get zero
                   sigmoids and row 0 of the tables, and their sums are dropped */
                int64_t lo[TILE], rows = 0;
                while (rows < TILE && r + rows < r1 && (tails[r + rows] >> lo_bits) == hi) {
                    lo[rows] = tails[r + rows] & lo_mask;
                    acc[(r + rows) * width] += sigma_chunk(TA + lo[rows] * CH, TB, s + rows * CH);
                    rows++;
                }
                for (int64_t t = rows; t < TILE; t++) {
                    lo[t] = 0;
                    memset(s + t * CH, 0, CH * sizeof(float));
                }
                float out[TILE][2];
                for (int64_t i = 0; i < np; i += 2) {
                    const int64_t i1 = i + 1 < np ? i + 1 : i;
                    const float *rows_a[TILE][2];
                    for (int t = 0; t < TILE; t++) {
                        rows_a[t][0] = DA + (lo[t] * np + i) * CH;
                        rows_a[t][1] = DA + (lo[t] * np + i1) * CH;
                    }
                    dots_split(s, rows_a, DB + i * CH, DB + i1 * CH, out);
                    for (int64_t t = 0; t < rows; t++) {
                        acc[(r + t) * width + 1 + i] += (double)out[t][0];
                        if (i + 1 < np)
                            acc[(r + t) * width + 2 + i] += (double)out[t][1];
                    }
                }
                for (int64_t k = 0; k < nt; k += 2) {
                    const int64_t k1 = k + 1 < nt ? k + 1 : k;
                    dots_shared(s, Gb + k * pp + x0, Gb + k1 * pp + x0, out);
                    for (int64_t t = 0; t < rows; t++) {
                        acc[(r + t) * width + 1 + np + k] += (double)out[t][0];
                        if (k + 1 < nt)
                            acc[(r + t) * width + 2 + np + k] += (double)out[t][1];
                    }
                }
                r += rows;
            }
        }
        for (int64_t r = r0; r < r1; r++) {
            const double *a = acc + r * width;
            loss[r] = (float)(a[0] / (double)points);
            for (int64_t j = 0; j < np + nt; j++)
                grad[r * (np + nt) + j] = (float)(a[1 + j] / (double)points);
        }
    }
    _mm_setcsr(csr);
}
