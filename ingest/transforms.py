"""Fast transforms of a run's 2^N table over the hypercube: Walsh–Fourier spectrum, Möbius
(Harsanyi) coefficients and pairwise Shapley interactions — exact, in O(N·2^N), never a loop over
subsets.

The table f is indexed by the mask integer (bit i = node i on), so every transform is N passes of
one butterfly over the array viewed as (…, 2, 2^i): the halves without and with node i.
- Walsh–Fourier: f̂(S) = 2^−N Σ_m f(m) (−1)^|m ∩ S|. By Parseval Σ_S f̂(S)² = mean of f², and the
  energy of order k, Σ_{|S| = k} f̂(S)², splits the variance over masks (orders ≥ 1) into what is
  additive in the nodes (k = 1), pairwise (k = 2), and so on.
- Möbius: m(T) = Σ_{S ⊆ T} (−1)^{|T|−|S|} v(S), with v(S) = the test loss of the subnetwork S, so
  v(S) = Σ_{T ⊆ S} m(T): the pure effect of a set of nodes together, beyond its subsets.
- Shapley interaction index of a pair: I_ij = Σ_{T ⊇ {i,j}} m(T) / (|T| − 1) (Grabisch), the sum
  of m / (|T| − 1) over the supersets of {i, j}: one superset-sum pass. Negative: the two nodes are
  worth more together than apart (the loss falls more); positive: redundant.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from ingest.masks import n_on as popcount

# Möbius coefficients are stored up to this order (N + C(N,2) + C(N,3) values: 1,350 at N = 20).
MOBIUS_ORDER = 3
TABLES = ("summary_spectrum", "summary_mobius", "summary_interactions")


def _halves(x: np.ndarray, node: int) -> tuple[np.ndarray, np.ndarray]:
    """Views of the masks without node `node` and the same masks with it."""
    pairs = x.reshape(-1, 2, 1 << node)
    return pairs[:, 0, :], pairs[:, 1, :]


def walsh(f: np.ndarray) -> np.ndarray:
    """f̂(S) for every S, indexed by the mask integer of S."""
    x = np.array(f, dtype=np.float64)
    hidden = x.size.bit_length() - 1
    for node in range(hidden):
        off, on = _halves(x, node)
        total = off + on
        on -= off
        np.negative(on, out=on)  # off − on
        off[...] = total
    return x / x.size


def mobius(v: np.ndarray) -> np.ndarray:
    """m(T) for every T: each pass subtracts the value without the node from the value with it."""
    x = np.array(v, dtype=np.float64)
    for node in range(x.size.bit_length() - 1):
        off, on = _halves(x, node)
        on -= off
    return x


def superset_sums(w: np.ndarray) -> np.ndarray:
    """Σ_{T ⊇ S} w(T) for every S."""
    x = np.array(w, dtype=np.float64)
    for node in range(x.size.bit_length() - 1):
        off, on = _halves(x, node)
        off += on
    return x


def spectrum(run_id: int, quantities: dict[str, np.ndarray]) -> pa.Table:
    """One row per (quantity, order k = 0 … N): Σ_{|S| = k} f̂(S)² and how many S have order k."""
    parts = []
    for name, f in quantities.items():
        coefficients = walsh(f)
        order = popcount(np.arange(coefficients.size, dtype=np.int64))
        k = int(order.max()) + 1
        parts.append(pa.table({
            "run_id": pa.array(np.full(k, run_id, np.int32)),
            "quantity": pa.array([name] * k, pa.string()),
            "order": pa.array(np.arange(k, dtype=np.int32)),
            "energy": pa.array(np.bincount(order, weights=coefficients ** 2, minlength=k)),
            "n_coefficients": pa.array(np.bincount(order, minlength=k).astype(np.int64)),
        }))
    return pa.concat_tables(parts)


def mobius_and_interactions(run_id: int, loss: np.ndarray) -> tuple[pa.Table, pa.Table]:
    """The Möbius coefficients of the loss game up to MOBIUS_ORDER, and I_ij for every pair."""
    m = mobius(loss)
    masks = np.arange(m.size, dtype=np.int64)
    order = popcount(masks)
    low = np.flatnonzero(order <= MOBIUS_ORDER)
    mobius_rows = pa.table({
        "run_id": pa.array(np.full(len(low), run_id, np.int32)),
        "mask": pa.array(masks[low]),
        "order": pa.array(order[low].astype(np.int32)),
        "value": pa.array(m[low]),
    })
    w = np.zeros_like(m)
    big = order >= 2
    w[big] = m[big] / (order[big] - 1)
    sums = superset_sums(w)
    hidden = m.size.bit_length() - 1
    i, j = np.triu_indices(hidden, k=1)
    pair = (np.int64(1) << i) | (np.int64(1) << j)
    interactions = pa.table({
        "run_id": pa.array(np.full(len(i), run_id, np.int32)),
        "i": pa.array(i.astype(np.int32)),
        "j": pa.array(j.astype(np.int32)),
        "value": pa.array(sums[pair]),
    })
    return mobius_rows, interactions


def transform_tables(run_id: int, loss: np.ndarray | None) -> dict[str, pa.Table]:
    """The three tables of one run; empty (right columns) without exhaustive masks."""
    empty = loss is None
    if empty:
        loss = np.ones(2, np.float32)
    log_loss = np.log(loss).astype(np.float32).astype(np.float64)  # the stored log_loss column
    mobius_rows, interactions = mobius_and_interactions(run_id, loss.astype(np.float64))
    tables = {
        "summary_spectrum": spectrum(run_id, {"loss": loss.astype(np.float64), "log_loss": log_loss}),
        "summary_mobius": mobius_rows,
        "summary_interactions": interactions,
    }
    return {name: t.slice(0, 0) for name, t in tables.items()} if empty else tables
