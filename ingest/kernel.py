"""Loss and ∂loss/∂on_i for blocks of masks, vectorised: the hot path of every mask table.

With one hidden layer the logit difference d = logit(outside) − logit(inside) is affine in the
mask: d(m) = Σ_i m_i·a_i(x) + c, with a_i(x) = h_i(x)·(w_out[1,i] − w_out[0,i]). The cross-entropy
of a point with label y is softplus(t), t = −s·d, s = 2y − 1. So with G[i, x] = −s(x)·a_i(x) and
g0[x] = −s(x)·c, a mask m gives t(m) = Σ_i m_i G[i] + g0 and

    loss = mean_x softplus(t),   ∂loss/∂on_i = mean_x sigmoid(t)·G[i, x].

How it is made fast (all 2^20 masks × 1,000 points in well under a second of CPU per core):
- t is split between the low L nodes of the mask and the rest, so q = exp(t) is a product of two
  table rows, A[m_low] = exp(U) and B[m_high] = exp(V), built once in float64 (A has 2^L rows,
  B one row per high part in use): no exp, no matmul per (mask, point), and every number has only
  float32 rounding of exact float64 values. A per-point shift keeps both factors far from overflow.
- From q: p = 1 + q, sigmoid = q / p, softplus = log p. The logs are taken on running products of
  p (see native.py), not per point.
- The gradients are one (N × points)·(points × masks) product per block (MKL).
- Blocks of BLOCK masks are sized for the cache and always have the same shape, so a mask gets the
  same float32 numbers whichever table, block or thread it is computed in. Blocks go to one worker
  thread per torch thread (each running single-threaded ops: two threads in one skinny product were
  slower than one).
- The fused loop is C (native.py); without a C compiler, or on a CUDA device, the same steps run as
  torch ops (`backend` says which). Masks whose numbers overflow float32 (|t| ≳ 87) are recomputed
  exactly in float64.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import torch

from ingest import native
from ingest.network import Network

LOW_BITS = 10  # nodes in table A: 2^10 rows × points, 4 MB for 1,000 points whatever N is
BLOCK = int(__import__('os').environ.get('KB', 256))  # masks per block: its sigmoid rows (1 MB) stay in cache for the gradient product
CHUNK = 16  # points per running product in the torch path; points are padded to a multiple


def logit_terms(net: Network, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Hidden activations h (P × N), logit contributions a (P × N) and the logit bias c."""
    with torch.no_grad():
        h = torch.relu(net.hidden(torch.as_tensor(x, dtype=torch.float32)))
        w = net.output.weight[1] - net.output.weight[0]
        c = float(net.output.bias[1] - net.output.bias[0])
        return h.numpy(), (h * w).numpy(), c


def mask_bits(masks: np.ndarray, hidden: int) -> np.ndarray:
    """B × N 0/1 float32 matrix: bit i of mask integer → column i (node i)."""
    nodes = np.arange(hidden, dtype=np.int64)
    return ((np.asarray(masks, dtype=np.int64)[:, None] >> nodes) & 1).astype(np.float32)


def exact(G: np.ndarray, g0: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Loss and gradients in float64, for masks whose float32 path overflowed."""
    t = mask_bits(masks, G.shape[0]).astype(np.float64) @ G + g0
    sigmoid = np.exp(-np.logaddexp(0.0, -t))
    return np.logaddexp(0.0, t).mean(axis=1), sigmoid @ G.T / G.shape[1]


@contextmanager
def _single_threaded_ops():
    """Each worker thread runs torch ops on one thread; torch's own setting is restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class MaskKernel:
    """Evaluates masks of one network on one labelled point set."""

    def __init__(self, net: Network, x: np.ndarray, y: np.ndarray, device: str | torch.device = "cpu",
                 workers: int | None = None, use_native: bool = True):
        _, a, c = logit_terms(net, x)
        s = 2.0 * np.asarray(y, dtype=np.float32) - 1.0
        self.hidden = a.shape[1]
        self.points = a.shape[0]
        self.device = torch.device(device)
        # float32 G and g0 as before: pointwise() keeps its numbers
        self.G = torch.as_tensor(np.ascontiguousarray((-s[:, None] * a).T), dtype=torch.float32)
        self.g0 = torch.as_tensor(-s * c, dtype=torch.float32)
        self._G64 = self.G.numpy().astype(np.float64)
        self._g064 = self.g0.numpy().astype(np.float64)

        n, p = self.hidden, self.points
        self.low_bits = min(n, LOW_BITS)
        pp = -(-p // CHUNK) * CHUNK
        self._pp = pp
        G = np.zeros((n, pp))
        G[:, :p] = self._G64
        self._Gpad = G
        U = np.zeros((1 << self.low_bits, pp))  # U[m_low] = Σ_{i<L} bit_i · G[i], built by doubling
        for i in range(self.low_bits):
            U[1 << i: 2 << i] = U[: 1 << i] + G[i]
        # Centre each point's range of U at 0, so exp(U) and exp(V) stay far from float32 limits.
        self._shift = -(U.max(axis=0) + U.min(axis=0)) / 2
        A = np.exp(U + self._shift)
        A[:, p:] = 0.0  # padding points: q = 0, so p = 1 and sigmoid = 0
        self._v0 = np.zeros(pp)
        self._v0[:p] = self._g064 - self._shift[:p]

        self._native = native.load() if use_native and self.device.type == "cpu" else None
        self.backend = "native" if self._native is not None else "torch"
        self.workers = max(1, workers or (torch.get_num_threads() if self.device.type == "cpu" else 1))
        self.block = BLOCK if self.device.type == "cpu" else 8 * 1024
        self._A = torch.as_tensor(A, dtype=torch.float32).to(self.device)
        self._Gs = torch.as_tensor(G / p, dtype=torch.float32).to(self.device)  # mean folded in
        self._low_index = np.arange(1 << self.low_bits, dtype=np.int32)
        self._lock = threading.Lock()

    # -- the two factors of q = exp(t) ------------------------------------------------------------
    def _b_rows(self, high: np.ndarray) -> np.ndarray:
        """exp(V) for each high part: V = g0 − shift + Σ_j bit_j · G[L + j], summed in node order."""
        v = np.tile(self._v0, (len(high), 1))
        for j in range(self.hidden - self.low_bits):
            on = ((high >> j) & 1).astype(bool)
            v[on] += self._Gpad[self.low_bits + j]
        with np.errstate(over="ignore"):
            return np.ascontiguousarray(np.exp(v), dtype=np.float32)

    # -- one block --------------------------------------------------------------------------------
    def _block(self, masks: np.ndarray, buf: dict, loss_out: np.ndarray, grad_out: np.ndarray) -> None:
        """Loss and gradients of ≤ BLOCK masks into loss_out, grad_out (NaN loss: overflowed)."""
        k, size = len(masks), self.block
        low = (masks & ((1 << self.low_bits) - 1)).astype(np.int32)
        high = masks >> self.low_bits
        if high[0] == high[-1]:  # consecutive masks: one row of B, reused by the next block
            high_index = np.zeros(k, np.int32)
            if buf["b_high"] != high[0]:
                buf["b_high"], buf["b_rows"] = high[0], self._b_rows(high[:1])
            B = buf["b_rows"]
        else:
            uniq, high_index = np.unique(high, return_inverse=True)
            B = self._b_rows(uniq)
            high_index = high_index.astype(np.int32)
        sigma = buf["sigma"]
        if self.backend == "native":
            a_idx, b_idx = buf["a_idx"], buf["b_idx"]
            a_idx[:k], b_idx[:k] = low, high_index
            a_idx[k:], b_idx[k:] = 0, 0  # padding rows: the block keeps its shape
            self._native.knock_rows(size, self._pp, self.points, self._A.data_ptr(), a_idx.ctypes.data,
                                     B.ctypes.data, b_idx.ctypes.data, sigma.data_ptr(),
                                     buf["loss"].ctypes.data)
            loss_out[:] = buf["loss"][:k]
        else:
            rows = torch.zeros(size, dtype=torch.int64)
            rows[:k] = torch.as_tensor(low, dtype=torch.int64)
            brow = torch.zeros(size, dtype=torch.int64)
            brow[:k] = torch.as_tensor(high_index, dtype=torch.int64)
            Bt = torch.as_tensor(B).to(self.device)
            q = self._A.index_select(0, rows.to(self.device)) * Bt.index_select(0, brow.to(self.device))
            p = q + 1.0
            torch.div(q, p, out=sigma)
            chunks = p.view(size, CHUNK, self._pp // CHUNK).prod(dim=1)  # finite unless loss > ~5
            loss = torch.log(chunks).sum(dim=1) / self.points
            loss_out[:] = loss[:k].cpu().numpy()
        torch.mm(self._Gs, sigma.T, out=buf["gradT"])
        grad_out[:] = buf["gradT"][:, :k].T.cpu().numpy()

    def _buffers(self) -> dict:
        size = self.block
        return {"sigma": torch.empty(size, self._pp, device=self.device),
                "gradT": torch.empty(self.hidden, size, device=self.device),
                "loss": np.empty(size, np.float32),
                "a_idx": np.zeros(size, np.int32), "b_idx": np.zeros(size, np.int32),
                "b_high": -1, "b_rows": None}

    def _run(self, starts: list[int], masks_of, loss: np.ndarray, grad: np.ndarray) -> None:
        """Every block (given by its first output row) through the workers, then overflow repair."""
        def work(claim):
            buf = self._buffers()
            with torch.no_grad():
                for lo in claim():
                    m = masks_of(lo)
                    self._block(m, buf, loss[lo:lo + len(m)], grad[lo:lo + len(m)])

        if self.workers == 1 or len(starts) < 4:
            work(lambda: iter(starts))
        else:
            it = iter(starts)

            def claim():  # blocks are handed out one at a time: a busy core just takes fewer
                while True:
                    with self._lock:
                        lo = next(it, None)
                    if lo is None:
                        return
                    yield lo

            with _single_threaded_ops(), ThreadPoolExecutor(self.workers) as pool:
                for f in [pool.submit(work, claim) for _ in range(self.workers)]:
                    f.result()
        bad = np.flatnonzero(~np.isfinite(loss))
        if len(bad):
            all_masks = np.concatenate([masks_of(lo) for lo in starts])
            exact_loss, exact_grad = exact(self._G64, self._g064, all_masks[bad])
            loss[bad], grad[bad] = exact_loss, exact_grad

    # -- public API -------------------------------------------------------------------------------
    def evaluate(self, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean loss (B,) and gradients (B × N) for mask integers in any order."""
        masks = np.asarray(masks, dtype=np.int64)
        loss = np.empty(len(masks), np.float32)
        grad = np.empty((len(masks), self.hidden), np.float32)
        starts = list(range(0, len(masks), self.block))
        self._run(starts, lambda lo: masks[lo:lo + self.block], loss, grad)
        return loss, grad

    def evaluate_range(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The same for the consecutive masks start … stop − 1 (no mask array needed)."""
        loss = np.empty(stop - start, np.float32)
        grad = np.empty((stop - start, self.hidden), np.float32)
        # blocks aligned to multiples of BLOCK share their high part (one row of B)
        aligned = [lo - start for lo in range(start - start % self.block, stop, self.block)]
        firsts = [max(lo, 0) for lo in aligned]

        def masks_of(lo):
            first = start + lo
            end = min(first - first % self.block + self.block, stop)
            return np.arange(first, end, dtype=np.int64)

        self._run(firsts, masks_of, loss, grad)
        return loss, grad

    def pointwise(self, mask: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-point loss (P,) and ∂pointwise-loss/∂on_i (P × N) for one mask."""
        with torch.no_grad():
            t = torch.as_tensor(mask_bits(np.array([mask]), self.hidden)) @ self.G + self.g0
            t = t[0]
            loss = torch.nn.functional.softplus(t)
            node_grad = torch.sigmoid(t)[:, None] * self.G.T
        return loss.numpy(), node_grad.numpy()


def blocks(start: int, stop: int, size: int):
    """Consecutive mask ranges [lo, hi) of at most `size` masks."""
    for lo in range(start, stop, size):
        yield lo, min(lo + size, stop)
