"""The kernel's inner loops in C (AVX2 + FMA), compiled with the system's C compiler when first needed.

Why C: per (mask, point) the work is a multiply, an add, a division, a running product and 20
multiply-adds into the gradients. Eager torch spends a memory pass on each elementwise step (and
~1 ns on a log), and its matrix product cannot start until a whole block of sigmoids is written out;
here everything for 4 masks stays in L1 cache. Measured on one core for 2^20 masks × 1,000 points:
0.85 s, against 1.4 s for the same tables with eager torch steps and an MKL product.

Nothing is downloaded or installed: knock.c, shipped beside this file, is compiled with
`cc -O2 -Wall -Wextra` (~0.5 s) the first time it is needed, kept in ingest/__pycache__ under a name
that hashes the source, the flags and the compiler, and loaded with ctypes. Without a C compiler,
when the compile fails, on a CPU without AVX2+FMA, or on another architecture, `load()` says why in
one line on stderr and returns None, and the kernel uses its torch path (see kernel.py).

Per mask r: q_x = A[a_idx[r], x] · Bm[b_idx[r], x] = exp(t_x) (kernel.py builds the two factors),
p_x = 1 + q_x, σ_x = q_x / p_x, and Σ_x log p_x = Σ_x softplus(t_x) is formed without a log per
point: the p_x are multiplied into 16 running products whose float exponent is moved into an
integer after every step (the mantissa stays in [1, 2)), so nothing overflows and each row ends with
one log per lane. The gradients Σ_x σ_x G[i, x] are accumulated for 4 masks × 3 nodes at a time in
registers. A mask whose p reaches 1e38 or is NaN (|t| ≳ 87, far beyond a trained network) gets a
NaN loss, and the kernel recomputes it exactly in float64.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from ingest.progress import log

SOURCE = Path(__file__).resolve().with_name("knock.c")
# Warnings on, but never -Werror: a newer compiler's new warning must not cost a run its fast path
# (tests/test_ingest_native.py compiles with -Werror, so a warning still fails the tests).
FLAGS = ("-O2", "-Wall", "-Wextra", "-fPIC", "-shared")
X86 = ("x86_64", "amd64", "i386", "i686")  # where immintrin.h and __builtin_cpu_supports exist
_lock = threading.Lock()
_loaded: dict[str, object] = {}


class Unavailable(Exception):
    """Why the C loops cannot run here, in words for the one line the fallback prints."""


def find_compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc")


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line]
    return (errors or lines or ["no message"])[0]


def _build(compiler: str, path: Path, source: bytes, lib: Path) -> None:
    """Compiles `source` (the bytes of `path`) into `lib`, atomically: a process that loads it never
    sees half a file."""
    with tempfile.TemporaryDirectory(prefix="knockout-kernel-", dir=lib.parent) as tmp:
        (Path(tmp) / path.name).write_bytes(source)  # the very bytes the cache key hashed
        # run inside the folder, so a compiler message names the .c file, not a temporary path
        subprocess.run([compiler, *FLAGS, "-o", lib.name, path.name, "-lm"], cwd=tmp, check=True,
                       capture_output=True, encoding="utf-8", errors="replace", timeout=120)
        os.replace(Path(tmp) / lib.name, lib)


def _open(compiler: str, path: Path) -> ctypes.CDLL:
    # Kept beside the .pyc files, named by what went into it, so later processes skip the ~0.5 s
    # compile. Where that folder is not writable, a private temporary folder serves this process
    # only (never a shared, guessable path that another user could fill).
    source = path.read_bytes()
    digest = hashlib.sha256(source)
    digest.update("\0".join(["", *FLAGS, compiler, platform.machine()]).encode())
    lib = path.parent / "__pycache__" / f"{path.stem}-{digest.hexdigest()[:16]}.so"
    try:
        if not lib.exists():
            lib.parent.mkdir(exist_ok=True)
            _build(compiler, path, source, lib)
        return ctypes.CDLL(str(lib))
    except OSError:
        with tempfile.TemporaryDirectory(prefix="knockout-kernel-") as tmp:
            lib = Path(tmp) / f"{path.stem}.so"
            _build(compiler, path, source, lib)
            return ctypes.CDLL(str(lib))  # stays mapped after its folder is removed


def open_library(path: Path, cpu_ok: str) -> ctypes.CDLL:
    """The C file `path` compiled (once, cached) and loaded, or Unavailable saying why not; `cpu_ok`
    names its exported check that this CPU has AVX2 + FMA. knock.c and deep.c both load this way."""
    machine = platform.machine()
    if machine.lower() not in X86:
        raise Unavailable(f"this is not an x86 machine ({machine or 'unknown'})")
    compiler = find_compiler()
    if compiler is None:
        raise Unavailable("no C compiler found (neither cc nor gcc is on PATH)")
    try:
        dll = _open(compiler, path)
    except subprocess.CalledProcessError as exc:
        raise Unavailable(f"compiling {path.name} failed: {_first_error(exc.stderr or '')}") from None
    except subprocess.TimeoutExpired:
        raise Unavailable(f"compiling {path.name} took over 120 s") from None
    except OSError as exc:
        raise Unavailable(f"cannot build or load the compiled loops: {exc}") from None
    if not getattr(dll, cpu_ok)():
        raise Unavailable("this CPU lacks AVX2 + FMA")
    return dll


def _compile() -> ctypes.CDLL:
    """The loaded loops, or Unavailable saying why not."""
    dll = open_library(SOURCE, "knock_cpu_ok")
    fn = dll.knock_masks
    fn.restype = None
    fn.argtypes = [ctypes.c_int64] * 4 + [ctypes.c_void_p] * 8
    return dll


def load() -> ctypes.CDLL | None:
    """The compiled loops (once per process), or None when they cannot be built or run here; then
    one line on stderr says why, once per process, and the kernel takes its torch path."""
    with _lock:
        if "dll" not in _loaded:
            try:
                _loaded["dll"] = _compile()
            except Unavailable as why:
                _loaded["dll"] = None
                log(f"mask kernel: {why}; using the slower torch path")
        return _loaded["dll"]
