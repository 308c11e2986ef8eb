"""The mask helpers of ingest/masks.py in-process, each against Python integers (bit i = node i)."""
from __future__ import annotations

import numpy as np

from ingest import masks
from ingest.config import Config


def test_bits_to_mask_integers():
    rng = np.random.default_rng(0)
    for hidden in (1, 5, 62):
        bits = rng.random((40, hidden)) < 0.5
        expected = [sum(1 << i for i in range(hidden) if row[i]) for row in bits.tolist()]
        got = masks.to_int(bits)
        assert got.dtype == np.int64 and got.tolist() == expected


def test_popcount():
    rng = np.random.default_rng(1)
    values = [0, 1, 2 ** 62 - 1, 2 ** 61, *rng.integers(0, 2 ** 62, 50).tolist()]
    got = masks.n_on(np.array(values, dtype=np.int64))
    assert got.dtype == np.int32 and got.tolist() == [bin(v).count("1") for v in values]


def test_full_and_landmarks():
    assert [masks.full(n) for n in (1, 4, 62)] == [1, 15, 2 ** 62 - 1]
    for hidden in (3, 6):
        full = 2 ** hidden - 1
        expected = [full, 0, *[full ^ (1 << i) for i in range(hidden)], *[1 << i for i in range(hidden)]]
        assert masks.landmarks(hidden).tolist() == expected  # 2N + 2 distinct masks, in this order
    # below three nodes the singles repeat other landmarks and appear once, where they first appear
    assert masks.landmarks(2).tolist() == [3, 0, 2, 1]
    assert masks.landmarks(1).tolist() == [1, 0]


def test_sampled_masks_are_the_studys_legacy_stream():
    """np.random.seed(s); for each p in order, `samples` rows of rand(N) < p, one after another."""
    config = Config(hidden=5, keep_probs=(0.3, 0.8), samples_per_prob=7, mask_seed=23)
    keep_prob, sample_id, drawn = masks.sampled(config)
    stream = np.random.RandomState(23)
    expected = []
    for p in (0.3, 0.8):
        for i in range(7):
            row = stream.rand(5) < p
            expected.append((p, i, sum(1 << n for n in range(5) if row[n])))
    assert list(zip(keep_prob.tolist(), sample_id.tolist(), drawn.tolist())) == expected
    assert sample_id.dtype == np.int32
