"""Independent float64 numpy references, written from the study's definitions (softmax over two
logits, cross-entropy), not from the kernel's softplus/sigmoid algebra."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import polars as pl


def weights_from_rows(rows: pl.DataFrame, run_id: int = 0) -> dict[str, np.ndarray]:
    rows = rows.filter(pl.col("run_id") == run_id)
    out = {}
    for name in ("hidden.weight", "hidden.bias", "output.weight", "output.bias"):
        part = rows.filter(pl.col("tensor") == name)
        shape = (part["row"].max() + 1, part["col"].max() + 1)
        m = np.zeros(shape)
        m[part["row"].to_numpy(), part["col"].to_numpy()] = part["value"].to_numpy().astype(np.float64)
        out[name] = m if name.endswith("weight") else m[:, 0]
    return out


def bits(masks, hidden: int) -> np.ndarray:
    return np.array([[(int(m) >> i) & 1 for i in range(hidden)] for m in masks], dtype=np.float64)


def loss_and_grad(w: dict, x: np.ndarray, y: np.ndarray, mask_bits: np.ndarray):
    """Mean cross-entropy of the masked network and its gradient w.r.t. the mask, per mask row."""
    h = np.maximum(x @ w["hidden.weight"].T + w["hidden.bias"], 0.0)  # P × N
    losses, grads = [], []
    for m in mask_bits:
        logits = (h * m) @ w["output.weight"].T + w["output.bias"]  # P × 2
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        losses.append(-logp[np.arange(len(y)), y].mean())
        # ∂loss/∂logits = softmax − onehot; logits depend on m_i through W_out[:, i]·h_i.
        dlogits = np.exp(logp)
        dlogits[np.arange(len(y)), y] -= 1.0
        grads.append(((dlogits @ w["output.weight"]) * h).mean(axis=0))
    return np.array(losses), np.array(grads)


def pointwise(w: dict, x: np.ndarray, y: np.ndarray):
    """Full network per point: p(outside), loss, hidden activations."""
    h = np.maximum(x @ w["hidden.weight"].T + w["hidden.bias"], 0.0)
    logits = h @ w["output.weight"].T + w["output.bias"]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return p[:, 1], -np.log(p[np.arange(len(y)), y]), h


def read_points(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """An independent reader: Python's csv module and float()."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array([[float(r["x0"]), float(r["x1"])] for r in rows]), np.array([int(r["label"]) for r in rows])
