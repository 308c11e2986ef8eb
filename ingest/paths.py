"""Flip paths: a Bernoulli(½) start, then every node flipped once in a random order.

Step k's mask is the start XOR the first k nodes of the permutation, so step N is the
start's complement; a path and its reverse are equally likely (the study's symmetry check).
"""
from __future__ import annotations

import numpy as np


def flip_paths(n_paths: int, hidden: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Masks (paths × N+1) and flipped nodes (paths × N+1, −1 at step 0)."""
    rng = np.random.default_rng(seed)
    start_bits = rng.random((n_paths, hidden)) < 0.5
    start = (start_bits.astype(np.int64) << np.arange(hidden, dtype=np.int64)).sum(axis=1)
    order = np.argsort(rng.random((n_paths, hidden)), axis=1)
    flips = np.left_shift(np.int64(1), order.astype(np.int64))
    # Distinct bits: the running sum of the flipped bits is their running OR.
    flipped_so_far = np.concatenate([np.zeros((n_paths, 1), np.int64), np.cumsum(flips, axis=1)], axis=1)
    masks = start[:, None] ^ flipped_so_far
    nodes = np.concatenate([np.full((n_paths, 1), -1), order], axis=1)
    return masks, nodes
