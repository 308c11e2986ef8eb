"""Which masks are evaluated: the study's random samples, landmark masks, and all 2^N."""
from __future__ import annotations

import numpy as np


def to_int(bits: np.ndarray) -> np.ndarray:
    """Rows of 0/1 (node i in column i) → mask integers (bit i = node i)."""
    weights = np.left_shift(np.int64(1), np.arange(bits.shape[1], dtype=np.int64))
    return (bits.astype(np.int64) * weights).sum(axis=1)


def n_on(masks: np.ndarray) -> np.ndarray:
    """Number of nodes on in each mask (popcount)."""
    m = np.asarray(masks, dtype=np.uint64)
    return np.bitwise_count(m).astype(np.int32)


def full(hidden: int) -> int:
    return (1 << hidden) - 1


def sampled(config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The study's masks: np.random.seed(17); for each p, `samples` × (np.random.rand(N) < p).

    Successive rand(N) calls read one legacy stream in order, so drawing a (samples × N) block per
    p in the study's p order gives the study's own masks bit for bit.
    Returns keep_prob, sample_id and mask arrays, in draw order.
    """
    rng = np.random.RandomState(config.mask_seed)
    probs, ids, masks = [], [], []
    for p in config.keep_probs:
        bits = rng.rand(config.samples_per_prob, config.nodes) < p
        probs.append(np.full(config.samples_per_prob, p))
        ids.append(np.arange(config.samples_per_prob, dtype=np.int32))
        masks.append(to_int(bits))
    return np.concatenate(probs), np.concatenate(ids), np.concatenate(masks)


def landmarks(hidden: int) -> np.ndarray:
    """All on, all off, each node alone off, each node alone on (2N + 2 distinct masks for N ≥ 2)."""
    singles = np.left_shift(np.int64(1), np.arange(hidden, dtype=np.int64))
    candidates = np.concatenate([[full(hidden), 0], full(hidden) ^ singles, singles])
    _, first = np.unique(candidates, return_index=True)
    return candidates[np.sort(first)]
