"""The random draws, tested with stated power: each test says which plausible bug it detects, with
what probability, and how often a correct implementation would fail it (its false-alarm rate).

The draws are made directly with the ingest functions (no store is built). Every test fixes its
seed, so it is deterministic; the false-alarm rate is the chance that a correct implementation fails
for a seed picked at random, α = 10⁻⁶ per test. Critical values and powers were computed with
scipy.stats (normal, chi-square and noncentral chi-square) and are written here as constants:

- z, two-sided, α = 10⁻⁶: 4.892; with a Bonferroni split over 5 or 3 tests: 5.199, 5.104.
- χ² upper 10⁻⁶ quantile: df 15 → 56.49, df 23 → 70.55, df 49 → 111.14.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ingest import masks, paths
from ingest.config import Config

Z_ALPHA = 4.892  # two-sided normal critical value for α = 1e-6
Z_ALPHA_5 = 5.199  # … for α = 1e-6 split over 5 tests
Z_ALPHA_3 = 5.104  # … for α = 1e-6 split over 3 tests
CHI2_CRIT = {15: 56.49, 23: 70.55, 49: 111.14}  # χ² critical values, α = 1e-6


def chi_square(counts: np.ndarray, expected: float) -> float:
    return float(((counts - expected) ** 2 / expected).sum())


def start_bits(n_paths: int, hidden: int, seed: int) -> np.ndarray:
    """The start masks of flip paths as a (paths × hidden) 0/1 matrix, unpacked here with numpy."""
    masks_, _ = paths.flip_paths(n_paths, hidden, seed)
    return (masks_[:, :1] >> np.arange(hidden)) & 1


def test_flip_path_starts_are_fair_coins():
    """20,000 start bits (4,000 paths × 5 nodes), each Bernoulli(½).

    Pooled: reject when |mean − ½| > 4.892 · ½/√20000 = 0.0173 (α = 1e-6). Power: a coin of 0.4 is
    23.9 standard errors past the threshold (power 1 − 10⁻¹²⁵); 0.45: 9.3 SE (power 1 − 10⁻²⁰);
    0.47: 3.6 SE (power 0.9998). Per node (4,000 bits each, α split over the 5 nodes, z = 5.199):
    one node alone at 0.4 is 7.6 SE past the threshold (power 1 − 10⁻¹⁴)."""
    bits = start_bits(4000, 5, seed=11)
    n = bits.size
    assert abs(bits.mean() - 0.5) <= Z_ALPHA * 0.5 / math.sqrt(n)
    per_node = bits.mean(axis=0)
    assert np.all(np.abs(per_node - 0.5) <= Z_ALPHA_5 * 0.5 / math.sqrt(len(bits)))


def test_flip_path_starts_are_uniform_over_all_masks():
    """Start masks of N = 4 nodes uniform over the 16 masks (the bits independent, not only fair):
    χ² over 4,000 starts, df 15, reject above 56.49 (α = 1e-6). Detects a start drawn as one coin for
    all nodes (all on or all off: 14 empty cells, χ² ≈ 28,000) and, with noncentrality 679, a 0.4
    coin (power 1 − 10⁻⁹⁰)."""
    starts = paths.flip_paths(4000, 4, seed=12)[0][:, 0]
    assert chi_square(np.bincount(starts, minlength=16), 4000 / 16) <= CHI2_CRIT[15]


def orders(n_paths: int, hidden: int, seed: int) -> np.ndarray:
    """Each path's flip order (paths × hidden), checked to be a permutation before any statistics."""
    masks_, nodes = paths.flip_paths(n_paths, hidden, seed)
    order = nodes[:, 1:]
    assert np.array_equal(np.sort(order, axis=1), np.tile(np.arange(hidden), (n_paths, 1)))
    return order


def test_flip_orders_are_uniform_permutations():
    """4,800 orders of N = 4 nodes over the 24 permutations (200 expected in each): χ², df 23,
    reject above 70.55 (α = 1e-6). Power, from the exact distribution of each biased shuffle and the
    noncentral χ²:
    - the first node fixed (6 permutations only): noncentrality 14,400, power 1;
    - an off-by-one Fisher–Yates, j drawn from [0, i) (Sattolo: only the 6 cyclic permutations): 14,400, power 1;
    - the naive shuffle, swapping position i with any of the N positions (4⁴ equally likely paths onto
      24 permutations, probabilities 8/256 … 11/256): noncentrality 143, power 0.999998."""
    order = orders(4800, 4, seed=13)
    index = {perm: i for i, perm in enumerate(itertools.permutations(range(4)))}
    counts = np.bincount([index[tuple(row)] for row in order.tolist()], minlength=24)
    assert chi_square(counts, 4800 / 24) <= CHI2_CRIT[23]


def test_every_node_is_equally_likely_at_every_step():
    """N = 8, 2,000 paths: the step × node table of counts (250 expected in each cell). For sums of
    uniform random permutation matrices the statistic χ²·(N−1)/N follows χ² with (N−1)² = 49 df
    (checked by simulation: mean 49.2, variance 96.8 over 2,000 replicates); reject above 111.14
    (α = 1e-6). Detects a fixed first node (one cell of 2,000, statistic ≈ 12,000; power 1) and one
    node at one step with probability 0.225 instead of 0.125 (noncentrality 183, power 0.9999997);
    at 0.175 the power is only 0.16 (noncentrality 46). It is weak against the naive shuffle at N = 8
    (noncentrality 19, power 0.002), which the N = 4 permutation test above catches."""
    hidden, n_paths = 8, 2000
    order = orders(n_paths, hidden, seed=14)
    counts = np.stack([np.bincount(order[:, step], minlength=hidden) for step in range(hidden)])
    statistic = chi_square(counts, n_paths / hidden) * (hidden - 1) / hidden
    assert statistic <= CHI2_CRIT[49]


def test_sampled_masks_keep_each_node_with_probability_p():
    """2,000 masks × 10 nodes = 20,000 bits per keep probability p ∈ {0.1, 0.5, 0.9}; α = 1e-6 split
    over the three (z = 5.104). The threshold is 5.104·√(p(1−p)/20000): 0.0108 at p = 0.1 or 0.9,
    0.018 at p = ½. Detects a keep probability off by 0.03 at p = ½ (power 0.9996), off by 0.02 at
    0.1 or 0.9 (power 0.99997), 1 − p in place of p at 0.1 and 0.9 (power 1), and a node never or
    always kept (a column mean of 0 or 1, far beyond the per-node bound below)."""
    probs = (0.1, 0.5, 0.9)
    config = Config(hidden=10, keep_probs=probs, samples_per_prob=2000, mask_seed=5)
    keep_prob, sample_id, drawn = masks.sampled(config)
    bits = (drawn[:, None] >> np.arange(10)) & 1
    for p in probs:
        chosen = bits[keep_prob == p]
        assert chosen.shape == (2000, 10)
        assert np.array_equal(sample_id[keep_prob == p], np.arange(2000))
        assert abs(chosen.mean() - p) <= Z_ALPHA_3 * math.sqrt(p * (1 - p) / chosen.size)
        # each node on its own: 2,000 bits, a loose bound (z = 6) that no fair node reaches
        assert np.all(np.abs(chosen.mean(axis=0) - p) <= 6 * math.sqrt(p * (1 - p) / 2000))


def test_flip_paths_are_start_then_one_flip_per_step():
    """The draw's structure, in-process (the store tests see it only through a run): shapes, −1 at
    step 0, each step's mask its predecessor with exactly its node flipped (recomputed here with
    Python integers), the last step the start's complement, and the seed alone fixing the draw."""
    n_paths, hidden = 30, 6
    masks_, nodes = paths.flip_paths(n_paths, hidden, seed=3)
    assert masks_.shape == nodes.shape == (n_paths, hidden + 1)
    assert masks_.dtype == np.int64 and np.all(nodes[:, 0] == -1)
    for path_masks, path_nodes in zip(masks_.tolist(), nodes.tolist()):
        assert sorted(path_nodes[1:]) == list(range(hidden))
        mask = path_masks[0]
        assert 0 <= mask < 2 ** hidden
        for k in range(1, hidden + 1):
            mask ^= 1 << path_nodes[k]
            assert path_masks[k] == mask
        assert mask == path_masks[0] ^ (2 ** hidden - 1)
    again = paths.flip_paths(n_paths, hidden, seed=3)
    other = paths.flip_paths(n_paths, hidden, seed=4)
    assert np.array_equal(again[0], masks_) and np.array_equal(again[1], nodes)
    assert not np.array_equal(other[0], masks_) and not np.array_equal(other[1], nodes)
