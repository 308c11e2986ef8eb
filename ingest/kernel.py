"""Loss and ∂loss/∂on_i for blocks of masks, vectorised: the hot path of every mask table.

With one hidden layer the logit difference d = logit(outside) − logit(inside) is affine in the
mask: d(m) = Σ_i m_i·a_i(x) + c, with a_i(x) = h_i(x)·(w_out[1,i] − w_out[0,i]). The cross-entropy
of a point with label y is softplus(t), t = −s·d, s = 2y − 1. So with G[i, x] = −s(x)·a_i(x) and
g0[x] = −s(x)·c, a block of masks M (B × N, 0/1) gives

    T = M G + g0,   loss = mean_x softplus(T),   ∂loss/∂on_i = mean_x sigmoid(T)·G[i, x],

one product for T, one shared exp for softplus and sigmoid, one product for the gradients.
"""
from __future__ import annotations

import numpy as np
import torch

from ingest.network import Network


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


class MaskKernel:
    """Evaluates masks of one network on one labelled point set."""

    def __init__(self, net: Network, x: np.ndarray, y: np.ndarray):
        _, a, c = logit_terms(net, x)
        s = 2.0 * np.asarray(y, dtype=np.float32) - 1.0
        self.hidden = a.shape[1]
        self.points = a.shape[0]
        self.G = torch.as_tensor(np.ascontiguousarray((-s[:, None] * a).T), dtype=torch.float32)
        self.g0 = torch.as_tensor(-s * c, dtype=torch.float32)

    def _t(self, masks: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(mask_bits(masks, self.hidden)) @ self.G + self.g0

    def evaluate(self, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean loss (B,) and gradients (B × N) for a block of mask integers."""
        with torch.no_grad():
            t = self._t(masks)
            e = torch.exp(-t.abs())
            softplus = t.clamp_min(0) + torch.log1p(e)
            # sigmoid(t) = 1/(1+e) for t ≥ 0 and e/(1+e) for t < 0: the same exp serves both.
            sigmoid = torch.where(t >= 0, 1.0, e) / (1.0 + e)
            loss = softplus.mean(dim=1)
            grad = (sigmoid @ self.G.T) / self.points
        return loss.numpy(), grad.numpy()

    def pointwise(self, mask: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-point loss (P,) and ∂pointwise-loss/∂on_i (P × N) for one mask."""
        with torch.no_grad():
            t = self._t(np.array([mask]))[0]
            loss = torch.nn.functional.softplus(t)
            node_grad = torch.sigmoid(t)[:, None] * self.G.T
        return loss.numpy(), node_grad.numpy()


def blocks(start: int, stop: int, size: int):
    """Consecutive mask ranges [lo, hi) of at most `size` masks."""
    for lo in range(start, stop, size):
        yield lo, min(lo + size, stop)
