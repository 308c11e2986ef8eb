"""Loss and ∂loss/∂on_i for blocks of masks, vectorised: the hot path of every mask table.

With one hidden layer the logit difference d = logit(outside) − logit(inside) is affine in the
mask: d(m) = Σ_i m_i·a_i(x) + c, with a_i(x) = h_i(x)·(w_out[1,i] − w_out[0,i]). The cross-entropy
of a point with label y is softplus(t), t = −s·d, s = 2y − 1. So with G[i, x] = −s(x)·a_i(x) and
g0[x] = −s(x)·c, a mask m gives t(m) = Σ_i m_i G[i] + g0 and

    loss = mean_x softplus(t),   ∂loss/∂on_i = mean_x sigmoid(t)·G[i, x].

How it is made fast (all 2^20 masks × 1,000 points: ~1 s of CPU, ~0.6 s on two cores):
- t is split between the low L nodes of the mask and the rest, so q = exp(t) is a product of two
  table rows, A[m_low] = exp(U) and B[m_high] = exp(V), built in float64 (A once, 2^L rows; B one
  row per high part in use): no exp and no matmul per (mask, point), and each factor carries only
  its float32 rounding. A per-point shift keeps both factors far from overflow.
- From q: p = 1 + q, sigmoid = q / p, softplus = log p, 16 logs per row rather than one per point, and
  the gradient sums: a fused C loop (native.py), masks in spans of SPAN handed to one worker
  thread per core. It releases the GIL; torch ops run single-threaded meanwhile (two threads in one
  skinny op were slower than one, and far slower when another process holds a core).
- Without a C compiler, or on a CUDA device, the same steps run as torch ops in fixed-shape blocks
  with an (N × points)·(points × masks) product (`backend` says which path).
- Either way a mask gets the same float32 numbers whichever table, block or thread computes it.
  Masks whose float32 numbers overflow (|t| ≳ 87) are recomputed exactly in float64.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from ingest import native
from ingest.network import Network, one_thread

LOW_BITS = 10  # nodes behind table A: 2^10 rows, 4 MB for 1,000 points, whatever N is
TABLE_FLOATS = 1 << 20  # at most this many entries in A: fewer low nodes for large point sets
SPAN = 1024  # masks per call of the C loop: one row of B when consecutive (with L = 10)
BLOCK = 256  # torch path on CPU: masks per block, whose sigmoids (1 MB) stay in cache for the product
PAD = 16  # points are padded to a multiple of this (the C loop takes 16 per step)
CHUNK = 8  # torch path: points per running product (finite unless 8 points average a loss > 11)
NODE_GROUP = 3  # the C loop accumulates 3 nodes' gradients per pass: G gets rows up to a multiple


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


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class MaskKernel:
    """Evaluates masks of one network on one labelled point set.

    `evaluate` takes mask integers in any order, `evaluate_range` consecutive masks; both give a
    mask the same float32 numbers. `workers` threads share the blocks (default: one per core this
    process may use); `device` other than cpu, or `use_native=False`, selects the torch path.
    """

    def __init__(self, net: Network, x: np.ndarray, y: np.ndarray, device: str | torch.device = "cpu",
                 workers: int | None = None, use_native: bool = True):
        _, a, c = logit_terms(net, x)
        s = 2.0 * np.asarray(y, dtype=np.float32) - 1.0
        self.hidden = n = a.shape[1]
        self.points = p = a.shape[0]
        self.device = torch.device(device)
        # float32 G and g0 as pointwise() has always used them
        self.G = torch.as_tensor(np.ascontiguousarray((-s[:, None] * a).T), dtype=torch.float32)
        self.g0 = torch.as_tensor(-s * c, dtype=torch.float32)
        self._G64 = self.G.numpy().astype(np.float64)
        self._g064 = self.g0.numpy().astype(np.float64)

        self._pp = pp = -(-p // PAD) * PAD
        self._Gpad = np.zeros((n, pp))
        self._Gpad[:, :p] = self._G64
        self.low_bits = min(n, LOW_BITS, max(0, int(np.log2(TABLE_FLOATS / pp))))
        U = np.zeros((1 << self.low_bits, pp))  # U[m_low] = Σ_{i<L} bit_i · G[i], built by doubling
        for i in range(self.low_bits):
            U[1 << i: 2 << i] = U[: 1 << i] + self._Gpad[i]
        # Centre each point's range of U at 0, so exp(U) and exp(V) stay far from float32 limits.
        shift = -(U.max(axis=0) + U.min(axis=0)) / 2
        with np.errstate(over="ignore"):  # an infinite entry only sends its masks to exact()
            A = np.exp(U + shift)
        A[:, p:] = 0.0  # padding points: q = 0, so p = 1 and sigmoid = 0
        self._v0 = np.zeros(pp)
        self._v0[:p] = self._g064 - shift[:p]

        self._native = native.load() if use_native and self.device.type == "cpu" else None
        self.backend = "native" if self._native is not None else "torch"
        self.workers = max(1, workers or (_cores() if self.device.type == "cpu" else 1))
        self.block = (SPAN if self._native is not None else BLOCK if self.device.type == "cpu"
                      else 8 * 1024)
        self._A = torch.as_tensor(A, dtype=torch.float32).to(self.device)
        self._Gs = torch.as_tensor(self._Gpad / p, dtype=torch.float32).to(self.device)  # mean folded in
        if self._native is not None:
            self._A_ptr = self._A.data_ptr()
            self._G_native = np.zeros((-(-n // NODE_GROUP) * NODE_GROUP, pp), np.float32)
            self._G_native[:n] = self._Gs.numpy()
        self._lock = threading.Lock()

    def _b_rows(self, high: np.ndarray) -> np.ndarray:
        """exp(V) for each high part: V = g0 − shift + Σ_j bit_j · G[L + j], summed in node order
        (the same additions in the same order for every row, however many rows are asked for)."""
        v = np.empty((len(high), self._pp))
        v[:] = self._v0
        for row, h in enumerate(high.tolist()):
            j = 0
            while h:
                if h & 1:
                    v[row] += self._Gpad[self.low_bits + j]
                h, j = h >> 1, j + 1
        with np.errstate(over="ignore"):
            return np.exp(v, out=v).astype(np.float32)

    def _buffers(self) -> dict:
        """One worker's scratch, reused for all its blocks."""
        buf = {"a_idx": np.zeros(self.block, np.int32), "b_idx": np.zeros(self.block, np.int32),
               "b_high": -1, "b_rows": None}
        if self._native is not None:
            buf["tile"] = np.zeros((4, self._pp), np.float32)  # the C loop's sigmoids of 4 masks
        else:
            buf["sigma"] = torch.empty(self.block, self._pp, device=self.device)
            buf["gradT"] = torch.empty(self.hidden, self.block, device=self.device)
        return buf

    def _factors(self, masks: np.ndarray, buf: dict) -> np.ndarray:
        """Fills buf's A-row and B-row indices for these masks (padding: row 0); returns B's rows."""
        k = len(masks)
        a_idx, b_idx = buf["a_idx"], buf["b_idx"]
        np.bitwise_and(masks, (1 << self.low_bits) - 1, out=a_idx[:k], casting="unsafe")
        a_idx[k:] = 0
        high = masks >> self.low_bits
        if high[0] == high[-1] and (high == high[0]).all():  # consecutive masks: one row of B
            b_idx[:] = 0
            if buf["b_high"] != high[0]:  # kept for the next block
                buf["b_high"], buf["b_rows"] = high[0], self._b_rows(high[:1])
            return buf["b_rows"]
        uniq, inverse = np.unique(high, return_inverse=True)
        b_idx[:k], b_idx[k:] = inverse, 0
        return self._b_rows(uniq)

    def _block(self, masks: np.ndarray, buf: dict, loss_out: np.ndarray, grad_out: np.ndarray) -> None:
        """Loss and gradients of ≤ block masks into loss_out, grad_out (a NaN loss: overflowed)."""
        B = self._factors(masks, buf)
        if self._native is not None:  # straight into the outputs; each mask's numbers are its own
            self._native.knock_masks(len(masks), self._pp, self.points, self.hidden, self._A_ptr,
                                     buf["a_idx"].ctypes.data, B.ctypes.data, buf["b_idx"].ctypes.data,
                                     self._G_native.ctypes.data, buf["tile"].ctypes.data,
                                     loss_out.ctypes.data, grad_out.ctypes.data)
            return
        # torch path: every block has the same shape (padded), so a mask's numbers never depend on
        # which block or how full a block it was computed in
        size, sigma = self.block, buf["sigma"]
        dev = self.device
        q = self._A.index_select(0, torch.as_tensor(buf["a_idx"], dtype=torch.int64, device=dev))
        q *= torch.as_tensor(B, device=dev)[torch.as_tensor(buf["b_idx"], dtype=torch.int64, device=dev)]
        p = q + 1.0
        torch.div(q, p, out=sigma)
        products = p.view(size, CHUNK, self._pp // CHUNK).prod(dim=1)
        loss_out[:] = (torch.log(products).sum(dim=1) / self.points)[:len(masks)].cpu().numpy()
        torch.mm(self._Gs, sigma.T, out=buf["gradT"])
        grad_out[:] = buf["gradT"].cpu().numpy()[:, :len(masks)].T

    def _run(self, starts: list[int], masks_of, loss: np.ndarray, grad: np.ndarray) -> None:
        """Every block (named by its first output row) through the workers, then overflow repair."""
        it = iter(starts)
        stop = threading.Event()  # set when the caller gives up (Ctrl-C): workers take no new block

        def claim():  # blocks are handed out one at a time: a core that is busy elsewhere takes fewer
            while not stop.is_set():
                with self._lock:
                    lo = next(it, None)
                if lo is None:
                    return
                yield lo

        def work():
            buf = self._buffers()
            with torch.no_grad():
                for lo in claim():
                    m = masks_of(lo)
                    self._block(m, buf, loss[lo:lo + len(m)], grad[lo:lo + len(m)])

        with one_thread():  # per worker thread: torch ops on one thread each
            workers = min(self.workers, len(starts))
            if workers <= 1:
                work()
            else:
                with ThreadPoolExecutor(workers) as pool:
                    try:
                        for done in [pool.submit(work) for _ in range(workers)]:
                            done.result()
                    except BaseException:
                        stop.set()
                        raise
        bad = np.flatnonzero(~np.isfinite(loss))
        if len(bad):
            masks = np.concatenate([masks_of(lo) for lo in starts])[bad]
            exact_loss, exact_grad = exact(self._G64, self._g064, masks)
            # the last grad.shape[1] nodes: all of them, or those evaluate_last asked for
            loss[bad], grad[bad] = exact_loss, exact_grad[:, exact_grad.shape[1] - grad.shape[1]:]

    def evaluate(self, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean loss (B,) and gradients (B × N) for mask integers in any order."""
        masks = np.asarray(masks, dtype=np.int64)
        if len(masks) and (masks.min() < 0 or masks.max() >> self.hidden):
            raise ValueError(f"masks must lie in [0, 2^{self.hidden})")
        loss = np.empty(len(masks), np.float32)
        grad = np.empty((len(masks), self.hidden), np.float32)
        self._run(list(range(0, len(masks), self.block)), lambda lo: masks[lo:lo + self.block], loss, grad)
        return loss, grad

    def evaluate_last(self, masks: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray]:
        """Loss (B,) and the gradients of nodes first … N − 1 only (B × (N − first)), for masks in
        any order: the C loop skips the other nodes' rows of G, which at N = 28 is most of its work.
        Each node's gradient is accumulated alone, so the numbers are evaluate's, bit for bit."""
        if self._native is None:
            loss, grad = self.evaluate(masks)
            return loss, np.ascontiguousarray(grad[:, first:])
        import copy
        masks = np.asarray(masks, dtype=np.int64)
        if len(masks) and (masks.min() < 0 or masks.max() >> self.hidden):
            raise ValueError(f"masks must lie in [0, 2^{self.hidden})")
        view = copy.copy(self)  # the same tables and lock, fewer nodes
        view.hidden = self.hidden - first
        view._G_native = np.zeros((-(-view.hidden // NODE_GROUP) * NODE_GROUP, self._pp), np.float32)
        view._G_native[:view.hidden] = self._G_native[first:self.hidden]
        loss = np.empty(len(masks), np.float32)
        grad = np.empty((len(masks), view.hidden), np.float32)
        view._run(list(range(0, len(masks), self.block)), lambda lo: masks[lo:lo + self.block], loss, grad)
        return loss, grad

    def evaluate_range(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The same for the consecutive masks start … stop − 1, without a mask array."""
        if not 0 <= start <= stop <= 1 << self.hidden:
            raise ValueError(f"mask range [{start}, {stop}) is not within [0, 2^{self.hidden}]")
        loss = np.empty(stop - start, np.float32)
        grad = np.empty((stop - start, self.hidden), np.float32)
        # Blocks aligned to multiples of their size: the masks of one share their high part (L = 10).
        firsts = [max(b - start, 0) for b in range(start - start % self.block, stop, self.block)
                  if stop > start]

        def masks_of(lo):
            first = start + lo
            return np.arange(first, min(first - first % self.block + self.block, stop), dtype=np.int64)

        self._run(firsts, masks_of, loss, grad)
        return loss, grad

    def pointwise(self, mask: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-point loss (P,) and ∂pointwise-loss/∂on_i (P × N) for one mask."""
        with torch.no_grad():
            t = (torch.as_tensor(mask_bits(np.array([mask]), self.hidden)) @ self.G + self.g0)[0]
            loss = torch.nn.functional.softplus(t)
            node_grad = torch.sigmoid(t)[:, None] * self.G.T
        return loss.numpy(), node_grad.numpy()


def blocks(start: int, stop: int, size: int):
    """Consecutive mask ranges [lo, hi) of at most `size` masks."""
    for lo in range(start, stop, size):
        yield lo, min(lo + size, stop)
