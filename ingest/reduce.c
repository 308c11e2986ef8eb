/* Aggregate-only enumeration's reductions (ingest/aggregate.py says what they sum and why), loaded
   by ingest/aggregate.py through native.open_library. Why C: at N = 28 a run reduces 2^28 masks ×
   28 gradients; numpy's bincounts and float64 temporaries cost more than the kernel itself, while
   one pass over each mask's row here costs a few nanoseconds a gradient.
   Every sum is accumulated in double from the stored float32 values, with the same float64
   operations as ingest/summary.py (bins by floor(value / width), g / loss as g · (1 / loss)), so
   a mask falls in the same bin either way. Compiled with -Wall -Wextra: keep it free of warnings. */

#include <math.h>
#include <stdint.h>

/* AVX2 + FMA as knock.c asks for (the kernel runs only where they exist): with them floor() is one
   instruction instead of a call into libm, and the flip loop vectorises. */
#define FAST __attribute__((target("avx2,fma"), optimize("O3")))

int reduce_cpu_ok(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* One pass over the unit before the main one: Σ g (for the unit's reference mean), and the extremes
   of g and of g / loss that fix the histograms' ranges. out: sum, g min, g max, g/l min, g/l max. */
FAST void reduce_ranges(int64_t n, int64_t nodes, const float *loss, const float *grad, double *out)
{
    double total = 0.0, lo = INFINITY, hi = -INFINITY, lo_l = INFINITY, hi_l = -INFINITY;
    for (int64_t m = 0; m < n; m++) {
        const float *g = grad + m * nodes;
        float row_lo = g[0], row_hi = g[0];
        double row = 0.0;
        for (int64_t i = 0; i < nodes; i++) {
            row += (double)g[i];
            row_lo = g[i] < row_lo ? g[i] : row_lo;
            row_hi = g[i] > row_hi ? g[i] : row_hi;
        }
        total += row;
        const double l = (double)loss[m];
        lo = (double)row_lo < lo ? (double)row_lo : lo;
        hi = (double)row_hi > hi ? (double)row_hi : hi;
        lo_l = (double)row_lo / l < lo_l ? (double)row_lo / l : lo_l;
        hi_l = (double)row_hi / l > hi_l ? (double)row_hi / l : hi_l;
    }
    out[0] = total;
    out[1] = lo;
    out[2] = hi;
    out[3] = lo_l;
    out[4] = hi_l;
}

static inline int sgn(double x) { return (x > 0) - (x < 0); }

/* n masks (their integers in masks), loss (n) and grad (n × nodes) float32; k = nodes + 1 sizes.
   Adds into, per size s:
     r[q * k + s], q = 0..7: Σ_i g, Σ_i g², (Σ_i g) / l, (Σ_i g²) / l², Σ_i d, d², d³, d⁴ (d = g − ref)
     node[((c * nodes + i) * 2 + bit_i) * k + s], c = 0, 1, 2: count, Σ loss, Σ g_i
     g_n, g_sum [s * g_span + bin − g_lo]: histogram of g over (mask, node) pairs; gl_*: of g / l
   and keeps per size the best (lowest loss, then lowest mask) and worst (highest loss, then highest
   mask) masks: best_loss, best_mask, worst_loss, worst_mask (best_mask < 0: none yet). */
FAST void reduce_masks(int64_t n, int64_t nodes, const int64_t *masks, const float *loss, const float *grad,
                  double ref, double width, double *r, double *node,
                  int64_t g_lo, int64_t g_span, double *g_n, double *g_sum,
                  int64_t gl_lo, int64_t gl_span, double *gl_n, double *gl_sum,
                  double *best_loss, int64_t *best_mask, double *worst_loss, int64_t *worst_mask)
{
    const int64_t k = nodes + 1;
    for (int64_t m = 0; m < n; m++) {
        const int64_t mask = masks[m];
        const int64_t s = __builtin_popcountll((unsigned long long)mask);
        const double l = (double)loss[m], inv = 1.0 / l;
        const float *g = grad + m * nodes;
        double s1 = 0, s2 = 0, d1 = 0, d2 = 0, d3 = 0, d4 = 0;
        for (int64_t i = 0; i < nodes; i++) {
            const double v = (double)g[i], d = v - ref, dd = d * d, vl = v * inv;
            s1 += v;
            s2 += v * v;
            d1 += d;
            d2 += dd;
            d3 += dd * d;
            d4 += dd * dd;
            const int64_t bit = (mask >> i) & 1, at = (i * 2 + bit) * k + s;
            node[at] += 1.0;
            node[nodes * 2 * k + at] += l;
            node[2 * nodes * 2 * k + at] += v;
            const int64_t b = (int64_t)floor(v / width) - g_lo + s * g_span;
            g_n[b] += 1.0;
            g_sum[b] += v;
            const int64_t bl = (int64_t)floor(vl / width) - gl_lo + s * gl_span;
            gl_n[bl] += 1.0;
            gl_sum[bl] += vl;
        }
        r[s] += s1;
        r[k + s] += s2;
        r[2 * k + s] += s1 * inv;
        r[3 * k + s] += s2 * inv * inv;
        r[4 * k + s] += d1;
        r[5 * k + s] += d2;
        r[6 * k + s] += d3;
        r[7 * k + s] += d4;
        if (best_mask[s] < 0 || l < best_loss[s] || (l == best_loss[s] && mask < best_mask[s])) {
            best_loss[s] = l;
            best_mask[s] = mask;
        }
        if (worst_mask[s] < 0 || l > worst_loss[s] || (l == worst_loss[s] && mask > worst_mask[s])) {
            worst_loss[s] = l;
            worst_mask[s] = mask;
        }
    }
}

/* The flips of one node over n values laid out as (n / (2 step), 2, step): the first half of each
   2·step block has the node off, the second the same masks with it on. g points at the node's
   gradient of value 0, stride floats apart. Adds into sums (9: Σ effect, effect², g_off, g_off²,
   g_on, g_on², effect·g_off, effect·g_on) and counts (5: pairs, lower tight, upper tight, misled,
   bound violations), the definitions of ingest/summary.py's flips. */
FAST void reduce_flips(int64_t n, int64_t step, const float *loss, const float *g, int64_t stride,
                  double tight, double slack, double *sums, int64_t *counts)
{
    /* local accumulators, added into sums and counts at the end: through the pointers every pair
       would wait on the last pair's stores */
    double e1 = 0, e2 = 0, off1 = 0, off2 = 0, on1 = 0, on2 = 0, e_off = 0, e_on = 0;
    int64_t pairs = 0, lower = 0, upper = 0, misled = 0, violations = 0;
    for (int64_t block = 0; block < n; block += 2 * step) {
        for (int64_t t = 0; t < step; t++) {
            const int64_t off = block + t, on = off + step;
            const double effect = (double)loss[on] - (double)loss[off];
            const double g_off = (double)g[off * stride], g_on = (double)g[on * stride];
            const double size = fabs(effect);
            e1 += effect;
            e2 += effect * effect;
            off1 += g_off;
            off2 += g_off * g_off;
            on1 += g_on;
            on2 += g_on * g_on;
            e_off += effect * g_off;
            e_on += effect * g_on;
            pairs += 1;
            lower += effect - g_off <= tight * size;
            upper += g_on - effect <= tight * size;
            misled += sgn(g_on) != sgn(effect);
            violations += (effect < g_off - slack) | (effect > g_on + slack); /* no branch to mispredict */
        }
    }
    sums[0] += e1;
    sums[1] += e2;
    sums[2] += off1;
    sums[3] += off2;
    sums[4] += on1;
    sums[5] += on2;
    sums[6] += e_off;
    sums[7] += e_on;
    counts[0] += pairs;
    counts[1] += lower;
    counts[2] += upper;
    counts[3] += misled;
    counts[4] += violations;
}

/* reduce_flips of nodes 0 … nodes − 1 over n values, block values at a time (block ≥ 2^nodes): a
   block's rows stay in cache while every node's pairs in it are summed. sums: nodes × 8, counts:
   nodes × 5, each node's row as reduce_flips takes it. */
FAST void reduce_flips_low(int64_t n, int64_t block, int64_t nodes, const float *loss, const float *g,
                           int64_t stride, double tight, double slack, double *sums, int64_t *counts)
{
    for (int64_t lo = 0; lo < n; lo += block)
        for (int64_t i = 0; i < nodes; i++)
            reduce_flips(block, (int64_t)1 << i, loss + lo, g + lo * stride + i, stride, tight, slack,
                         sums + 8 * i, counts + 5 * i);
}
