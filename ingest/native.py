"""The kernel's inner loop in C (AVX2), compiled with the system's C compiler when first needed.

Why C: per (mask, point) pair the loop needs only a multiply, an add, a division and a running
product, but eager torch spends a memory pass on each of them (and ~1 ns on a log), which is 3–4×
slower than one fused pass. Nothing is downloaded or installed: the source below is compiled once per
process into a temporary folder with `cc -O2` (~0.5 s) and loaded with ctypes. Without a
C compiler, on a CPU without AVX2+FMA, or on another architecture, `load()` returns None and the
kernel uses its torch path, which computes the same quantities (see kernel.py).

The loop, for row r (one mask): q_x = A[a_idx[r], x] · Bm[b_idx[r], x] = exp(t_x) (kernel.py builds
the two factors), p_x = 1 + q_x, σ_x = q_x / p_x is stored for the gradient product, and
Σ_x log p_x = Σ_x softplus(t_x) is formed without a log per point: the p_x are multiplied into 16
running products whose float exponent is moved into an integer after every step (the mantissa is
kept in [1, 2)), so nothing overflows and one log per lane is taken at the end of the row. A row
whose p reaches 1e38 or is NaN (|t| ≳ 87: far outside anything a trained network produces) gets a
NaN loss, and the kernel recomputes that mask exactly in float64.
"""
from __future__ import annotations

import ctypes
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

SOURCE = r"""
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

int knock_cpu_ok(void) {
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

/* n rows of pp points (pp a multiple of 16): sigma (n x pp) and loss[r] = sum_x log p_x / points. */
__attribute__((target("avx2,fma")))
void knock_rows(int64_t n, int64_t pp, int64_t points, const float *A, const int32_t *a_idx,
                const float *Bm, const int32_t *b_idx, float *sigma, float *loss)
{
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040);  /* flush denormals (q < 1e-38): they would only cost time */
    const __m256 one = _mm256_set1_ps(1.0f), limit = _mm256_set1_ps(1e38f);
    const __m256i mant = _mm256_set1_epi32(0x007fffff), expo = _mm256_set1_epi32(0x3f800000);
    for (int64_t r = 0; r < n; r++) {
        const float *a = A + (int64_t)a_idx[r] * pp, *b = Bm + (int64_t)b_idx[r] * pp;
        float *s = sigma + r * pp;
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
        int64_t e = -127 * pp;  /* each point added one biased exponent */
        for (int j = 0; j < 8; j++) {
            total += log((double)m0[j] * (double)m1[j]);
            e += (int64_t)e0[j] + (int64_t)e1[j];
        }
        total += (double)e * 0.69314718055994530942;
        loss[r] = _mm256_movemask_ps(bad) ? NAN : (float)(total / (double)points);
    }
    _mm_setcsr(csr);
}
"""

_lock = threading.Lock()
_loaded: dict[str, object] = {}


def _compile() -> ctypes.CDLL | None:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    with tempfile.TemporaryDirectory(prefix="knockout-kernel-") as tmp:
        src, lib = Path(tmp) / "knock.c", Path(tmp) / "knock.so"
        src.write_text(SOURCE)
        try:
            subprocess.run([compiler, "-O2", "-fPIC", "-shared", "-o", str(lib),
                            str(src), "-lm"], check=True, capture_output=True, timeout=120)
            # the library stays mapped after its file is removed with the folder
            dll = ctypes.CDLL(str(lib))
        except (OSError, subprocess.SubprocessError):
            return None
    if not dll.knock_cpu_ok():
        return None
    fn = dll.knock_rows
    fn.restype = None
    fn.argtypes = [ctypes.c_int64, ctypes.c_int64, ctypes.c_int64] + [ctypes.c_void_p] * 6
    return dll


def load() -> ctypes.CDLL | None:
    """The compiled loop (once per process), or None when it cannot be built or run here."""
    with _lock:
        if "dll" not in _loaded:
            _loaded["dll"] = _compile()
        return _loaded["dll"]
