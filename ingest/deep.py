"""Loss and ∂loss/∂on_i for blocks of masks of an MLP with several hidden layers (the deep evaluator).

The network: 2 inputs → hidden layers 1 … L (relu or tanh; L ≤ 4) → 2 logits → softmax. Each hidden
unit's activation is multiplied by its gate (1 unless a mask switches it off), after the activation,
as in the one-layer study network. `mask_layers` (1-based, default all) names the masked layers;
bit i of a mask integer is masked unit i, counted layer by layer (layer 1's units first). Loss, as in
kernel.py: mean over the test points of the cross-entropy, float32 results, gradients the derivative
of that mean with respect to each masked unit's real-valued gate at the 0/1 mask.

Why a second evaluator: with one masked layer that is the last, the logit difference is affine in
the mask (kernel.py). Here it is not. But split a mask into its *prefix* (the gates of every masked
layer except the last hidden layer) and its *tail* (the last hidden layer's gates, if masked). For a
fixed prefix everything up to the last hidden layer's activations h_L is fixed, so, with s = 2y − 1,
w = w_out[1] − w_out[0], c = b_out[1] − b_out[0] and t = −s·(logit₁ − logit₀):

    t(m) = g0 + Σ_k m_k G[k],              G[k, x] = −s·w_k·h_L,k(x),  g0 = −s·c
    loss = mean_x softplus(t),   ∂loss/∂m_k = mean_x σ(t)·G[k, x],
    ∂t/∂e_i = K0[i] + Σ_k m_k K[k, i]      for a prefix gate e_i,

because backpropagation from t to the earlier gates is linear in the output of the last layer's
gates: K[k] is the backward pass of unit k alone (one batched backward pass per prefix, with the
tail units as a batch dimension), and ∂loss/∂e_i = mean_x σ(t)·(K0[i] + Σ_k m_k K[k, i]). Without a
masked last layer its gates are 1: g0 absorbs G and K0 = Σ_k K[k], one mask per prefix.

So a block of masks costs, per prefix, one small forward pass (torch, float64) and one backward
pass (float32, the tail units as a batch dimension), then per (mask, point) a handful of table
additions: t and D = K0 + Σ m_k K[k] are sums of a row over the tail's low bits and a row over its
high bits (deep.c, ~30 float operations per mask and point for a 10 + 10 network), softplus and σ
from e = exp(−|t|) ≤ 1 (never overflows, so no mask needs a float64 repair).
Prefix blocks are shared out over one worker thread per core; the C loop releases the GIL.

A mask's numbers depend only on the mask (not on its block, order or thread) for relu networks;
tanh goes through a float64 tanh that is rounded to float32 once. Without a C compiler or AVX2 the
same algebra runs as torch ops (`backend` says which), after one line on stderr saying why.
"""
from __future__ import annotations

import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from ingest import native
from ingest.network import one_thread
from ingest.progress import log

SOURCE = Path(__file__).resolve().with_name("deep.c")
CH = 256  # points per chunk in deep.c: points are padded to a multiple of it
TILE = 4  # deep.c's masks per tile: scratch for their sigmoids
PAD_T = -1e4  # padding points: t far below 0, so softplus and σ vanish and they add nothing
ROWS = 8192  # masks per work block
TERMS_FLOATS = 1 << 20  # at most this many floats of K per block: bounds its prefixes
MAX_LO_BITS = 6  # the low table: 2^6 rows of (1 + prefix units) × CH floats
MAX_DEPTH = 4
ACTIVATIONS = ("relu", "tanh")
_lock = threading.Lock()
_loaded: dict[str, object] = {}


def _compile() -> ctypes.CDLL:
    """deep.c built and loaded like knock.c (native.open_library), or native.Unavailable."""
    dll = native.open_library(SOURCE, "deep_cpu_ok")
    dll.deep_rows.restype = None
    dll.deep_rows.argtypes = [ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p] + [ctypes.c_int64] * 5 \
        + [ctypes.c_void_p] * 10
    return dll


def load() -> ctypes.CDLL | None:
    """The compiled loops once per process, or None (then one line on stderr says why)."""
    with _lock:
        if "dll" not in _loaded:
            try:
                _loaded["dll"] = _compile()
            except native.Unavailable as why:
                _loaded["dll"] = None
                log(f"deep evaluator: {why}; using the slower torch path")
        return _loaded["dll"]


def network_layers(net) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(weight, bias), …] of ingest.network.Network (one hidden layer), output layer last."""
    return [(layer.weight.detach().numpy(), layer.bias.detach().numpy()) for layer in (net.hidden, net.output)]


def _act(z: torch.Tensor, activation: str) -> torch.Tensor:
    return torch.relu(z) if activation == "relu" else torch.tanh(z)


def _act_slope(z: torch.Tensor, h: torch.Tensor, activation: str) -> torch.Tensor:
    """d act/dz at z; relu' (0) = 0 as torch's autograd has it."""
    return (z > 0).to(z.dtype) if activation == "relu" else 1.0 - h * h


def _mix(a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """out[..., i, x] = Σ_j w[i, j]·a[..., j, x], summed in j order with one rounding per step: each
    element gets the same operations whatever the batch (a BLAS product may change with the shape)."""
    out = a[..., 0:1, :] * w[:, 0, None]
    for j in range(1, a.shape[-2]):
        out = out + a[..., j:j + 1, :] * w[:, j, None]
    return out


class DeepKernel:
    """Evaluates masks of one MLP on one labelled point set; the interface of kernel.MaskKernel.

    layers: [(weight, bias), …] as torch.nn.Linear holds them (weight is out × in), hidden layers in
    order and the 2-logit output layer last. `hidden` is the number of masked units N. mask_layers:
    1-based hidden layers whose units the mask switches (None or empty: all). `evaluate(masks)` and
    `evaluate_range(start, stop)` return (loss float32 (B,), grad float32 (B × N)).
    """

    def __init__(self, layers, x: np.ndarray, y: np.ndarray, activation: str = "relu",
                 mask_layers: list[int] | None = None, workers: int | None = None, use_native: bool = True):
        ws = [torch.as_tensor(np.asarray(w), dtype=torch.float64) for w, _ in layers]
        bs = [torch.as_tensor(np.asarray(b), dtype=torch.float64) for _, b in layers]
        depth = len(layers) - 1
        if not 1 <= depth <= MAX_DEPTH:
            raise ValueError(f"networks have 1 … {MAX_DEPTH} hidden layers, got {depth}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        fan_in = 2
        for w, b in zip(ws, bs):
            if w.ndim != 2 or w.shape[1] != fan_in or b.shape != (w.shape[0],):
                raise ValueError(f"layer shapes do not chain: weight {tuple(w.shape)}, bias {tuple(b.shape)}")
            fan_in = w.shape[0]
        if fan_in != 2:
            raise ValueError(f"the output layer must have 2 logits, got {fan_in}")
        self.mask_layers = sorted(set(mask_layers or range(1, depth + 1)))
        if not all(1 <= m <= depth for m in self.mask_layers):
            raise ValueError(f"mask_layers must lie in 1 … {depth}, got {mask_layers}")
        self.activation, self.depth = activation, depth
        self.sizes = [w.shape[0] for w in ws[:-1]]
        self.hidden = sum(self.sizes[m - 1] for m in self.mask_layers)
        self.points = p = len(y)
        self._w, self._b = ws, bs
        # the tail: the last hidden layer, when masked; every other masked layer is the prefix
        self.tail_units = self.sizes[-1] if depth in self.mask_layers else 0
        self.prefix_units = self.hidden - self.tail_units
        self._offsets = {}  # masked prefix layer (0-based) → its first prefix bit
        at = 0
        for m in self.mask_layers:
            if m != depth:
                self._offsets[m - 1] = at
                at += self.sizes[m - 1]
        self.low_bits = min(self.tail_units // 2, MAX_LO_BITS)
        self._pp = -(-p // CH) * CH
        xt = torch.as_tensor(np.asarray(x), dtype=torch.float64)
        self._h1 = _act(xt @ ws[0].T + bs[0], activation).T.contiguous()  # units × P, shared by all
        self._z1 = (xt @ ws[0].T + bs[0]).T.contiguous()
        self._s = 2.0 * torch.as_tensor(np.asarray(y), dtype=torch.float64) - 1.0
        self._wd = ws[-1][1] - ws[-1][0]
        self._c = float(bs[-1][1] - bs[-1][0])

        self._native = load() if use_native else None
        self.backend = "native" if self._native is not None else "torch"
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:
            cores = os.cpu_count() or 1
        self.workers = max(1, workers or cores)
        per_prefix = max(1, (self.tail_units + 1) * max(self.prefix_units, 1) * self._pp)
        self._max_prefixes = max(1, TERMS_FLOATS // per_prefix)
        self._lock = threading.Lock()

    # -- per prefix: one forward pass to the last hidden layer, one batched backward pass ---------
    def terms(self, prefixes: np.ndarray):
        """G (B × nt × pp), g0 (B × pp), K (B × nt × np × pp), K0 (B × np × pp), float32, padded; and
        W, H: None, or when the only masked prefix layer sits just below a masked tail, K's factors
        K[k, i] = (U[k]·W[k, i])·H[i], with U (B × nt × pp) in K's place, W (nt × np), H (B × np × pp):
        deep.c multiplies them out as it builds its tables (a tenth of the memory traffic)."""
        act, n_b = self.activation, len(prefixes)
        bits = torch.as_tensor((np.asarray(prefixes, np.int64)[:, None] >> np.arange(max(self.prefix_units, 1)))
                               & 1, dtype=torch.float64)
        gates, hs, zs = [], [self._h1.expand(n_b, -1, -1)], [self._z1.expand(n_b, -1, -1)]
        for layer in range(self.depth):
            at = self._offsets.get(layer)
            gate = None if at is None else bits[:, at:at + self.sizes[layer], None]  # B × n × 1
            gates.append(gate)
            if layer + 1 < self.depth:
                a = hs[-1] if gate is None else hs[-1] * gate
                z = _mix(a, self._w[layer + 1]) + self._b[layer + 1][:, None]
                zs.append(z)
                hs.append(_act(z, act))
        # The forward pass is float64; the backward pass is float32 (its products round once or
        # twice, like the float32 tables they feed), written straight into the padded outputs.
        f32 = torch.float32
        P, pp, nt, npx = self.points, self._pp, self.tail_units, self.prefix_units
        G = np.zeros((n_b, nt, pp), np.float32)
        g0 = np.full((n_b, pp), PAD_T, np.float32)
        factored = bool(nt) and set(self._offsets) == {self.depth - 2}
        K = np.zeros((n_b, nt, pp) if factored else (n_b, nt, npx, pp), np.float32)
        W = H = None
        K0 = np.zeros((n_b, npx, pp), np.float32)
        h_last = hs[-1]
        minus_s = -self._s  # P
        ut = minus_s * self._wd[:, None]  # ∂t/∂(gated h_L): n_L × P
        u_z = (ut * _act_slope(zs[-1], h_last, act)).to(f32)  # ∂t/∂z_L if every gate of L is on
        if nt:
            torch.from_numpy(G)[..., :P] = ut * h_last
            torch.from_numpy(g0)[:, :P] = minus_s * self._c
        else:
            torch.from_numpy(g0)[:, :P] = minus_s * (self._c + (self._wd[:, None] * h_last).sum(dim=1))
        if npx and self.depth > 1:
            # da = ∂t/∂(gated h) of the layer below, one row per basis vector: each tail unit alone
            # (nt of them: z_L's unit k alone moves, so no sum), or the whole last layer (nt = 0)
            w_top = self._w[-2].to(f32)
            if factored:
                torch.from_numpy(K)[..., :P] = u_z
                H = np.zeros((n_b, npx, pp), np.float32)
                torch.from_numpy(H)[..., :P] = hs[-2]
                return G, g0, K, K0, w_top.numpy().copy(), H
            da = u_z[:, :, None, :] * w_top[None, :, :, None] if nt else _mix(u_z[:, None], w_top.T)
            target = torch.from_numpy(K if nt else K0[:, None])  # B × basis × np × pp
            lowest = min(self._offsets)
            for layer in range(self.depth - 2, lowest - 1, -1):
                h = hs[layer].to(f32)
                if gates[layer] is not None:
                    at = self._offsets[layer]
                    torch.mul(da, h[:, None], out=target[:, :, at:at + self.sizes[layer], :P])
                if layer > lowest:
                    gate = gates[layer]
                    dh = da if gate is None else da * gate.to(f32)[:, None]
                    dz = dh * _act_slope(zs[layer], hs[layer], act).to(f32)[:, None]
                    da = _mix(dz, self._w[layer].T.to(f32))
        return G, g0, K, K0, W, H

    # -- the work: blocks of rows sorted by (prefix, tail) --------------------------------------
    def _block(self, prefix: np.ndarray, tail: np.ndarray, loss: np.ndarray, grad: np.ndarray) -> None:
        """Rows of one block, sorted by prefix then tail, into loss and grad (views of the output)."""
        first = np.flatnonzero(np.r_[True, prefix[1:] != prefix[:-1]])
        starts = np.r_[first, len(prefix)].astype(np.int64)
        G, g0, K, K0, W, H = self.terms(prefix[first])
        npx, nt = self.prefix_units, self.tail_units
        if self._native is not None:
            tails = np.ascontiguousarray(tail, dtype=np.int64)
            scratch = np.empty(((1 << self.low_bits) * (1 + npx) + 1 + npx + TILE + nt * npx) * CH, np.float32)
            acc = np.empty((len(tail), 1 + npx + nt))
            self._native.deep_rows(len(first), starts.ctypes.data, tails.ctypes.data, nt, npx,
                                   self.low_bits, self._pp, self.points, G.ctypes.data, g0.ctypes.data,
                                   K.ctypes.data, K0.ctypes.data, None if W is None else W.ctypes.data,
                                   None if H is None else H.ctypes.data, scratch.ctypes.data, acc.ctypes.data,
                                   loss.ctypes.data, grad.ctypes.data)
            return
        G, g0, K, K0 = (torch.as_tensor(a[..., :self.points]) for a in (G, g0, K, K0))
        if W is not None:  # the factors multiplied out, the same two products as deep.c
            K = K[:, :, None, :] * torch.as_tensor(W)[None, :, :, None] * torch.as_tensor(H[..., :self.points])[:, None]
        for b in range(len(first)):
            lo, hi = starts[b], starts[b + 1]
            m = torch.as_tensor((tail[lo:hi, None] >> np.arange(nt)) & 1, dtype=torch.float32)
            t = m @ G[b] + g0[b]  # rows × P
            sig = torch.sigmoid(t)
            loss[lo:hi] = torch.nn.functional.softplus(t).mean(dim=1).numpy()
            grad[lo:hi, npx:] = (sig @ G[b].T / self.points).numpy()
            d = sig @ K0[b].T
            if nt and npx:
                cross = (sig @ K[b].reshape(nt * npx, -1).T).view(-1, nt, npx)  # rows × k × i
                d = d + (m[:, :, None] * cross).sum(dim=1)
            grad[lo:hi, :npx] = (d / self.points).numpy()

    def _blocks(self, prefix: np.ndarray) -> list[tuple[int, int]]:
        """Row ranges of the sorted rows: groups of ≤ _max_prefixes prefixes, cut into ≤ ROWS rows."""
        n = len(prefix)
        if n == 0:
            return []
        group = (np.cumsum(np.r_[True, prefix[1:] != prefix[:-1]]) - 1) // self._max_prefixes
        group_start = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])  # groups are 0, 1, 2, …
        piece = (np.arange(n) - group_start[group]) // ROWS
        edges = np.flatnonzero(np.r_[True, (group[1:] != group[:-1]) | (piece[1:] != piece[:-1])])
        return list(zip(edges.tolist(), np.r_[edges[1:], n].tolist()))

    def _run(self, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        prefix = masks & ((1 << self.prefix_units) - 1)
        tail = masks >> self.prefix_units
        order = np.argsort((prefix << self.tail_units) | tail, kind="stable")
        prefix, tail = prefix[order], tail[order]
        loss = np.empty(len(masks), np.float32)
        grad = np.empty((len(masks), self.hidden), np.float32)
        it = iter(self._blocks(prefix))
        stop = threading.Event()

        def work():
            while not stop.is_set():
                with self._lock:
                    span = next(it, None)
                if span is None:
                    return
                a, b = span
                with torch.no_grad():
                    self._block(prefix[a:b], tail[a:b], loss[a:b], grad[a:b])

        with one_thread():
            if self.workers <= 1:
                work()
            else:
                with ThreadPoolExecutor(self.workers) as pool:
                    try:
                        for done in [pool.submit(work) for _ in range(self.workers)]:
                            done.result()
                    except BaseException:
                        stop.set()
                        raise
        out_loss = np.empty_like(loss)
        out_grad = np.empty_like(grad)
        out_loss[order], out_grad[order] = loss, grad
        return out_loss, out_grad

    def evaluate(self, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean loss (B,) and gradients (B × N), float32, for mask integers in any order."""
        masks = np.asarray(masks, dtype=np.int64)
        if len(masks) and (masks.min() < 0 or masks.max() >> self.hidden):
            raise ValueError(f"masks must lie in [0, 2^{self.hidden})")
        return self._run(masks)

    def evaluate_range(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The same for the consecutive masks start … stop − 1."""
        if not 0 <= start <= stop <= 1 << self.hidden:
            raise ValueError(f"mask range [{start}, {stop}) is not within [0, 2^{self.hidden}]")
        return self._run(np.arange(start, stop, dtype=np.int64))

    def pointwise(self, mask: int, x: np.ndarray | None = None, y: np.ndarray | None = None):
        """Per-point loss (P,) and ∂pointwise-loss/∂on_i (P × N), float32, for one mask: on the
        kernel's points, or on other labelled points x, y (a grid). Float64 autograd, each point
        with its own copy of the gates (not a hot path)."""
        if not 0 <= mask < 1 << self.hidden:
            raise ValueError(f"mask must lie in [0, 2^{self.hidden})")
        if x is None:
            s, h = self._s, self._h1.T
        else:
            xt = torch.as_tensor(np.asarray(x), dtype=torch.float64)
            s = 2.0 * torch.as_tensor(np.asarray(y), dtype=torch.float64) - 1.0
            h = _act(xt @ self._w[0].T + self._b[0], self.activation)
        bits = torch.tensor([(mask >> i) & 1 for i in range(self.hidden)], dtype=torch.float64)
        gates = bits.expand(len(s), -1).clone().requires_grad_()
        with torch.enable_grad():
            at = 0
            for layer in range(self.depth):
                if layer:
                    h = _act(h @ self._w[layer].T + self._b[layer], self.activation)
                if layer + 1 in self.mask_layers:
                    h = h * gates[:, at:at + self.sizes[layer]]
                    at += self.sizes[layer]
            d = h @ self._wd + self._c  # logit₁ − logit₀
            loss = torch.nn.functional.softplus(-s * d)
            loss.sum().backward()  # point x's loss reaches only its own gates
        return loss.detach().numpy().astype(np.float32), gates.grad.numpy().astype(np.float32)
