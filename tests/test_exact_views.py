"""The exact views over all 2^N masks against brute force in numpy on the small run (N = 6)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest

from tests import oracle
from tests.conftest import read_table, read_view


@pytest.fixture(scope="module")
def exhaustive(small_store):
    table = read_table(small_store, "mask_exhaustive").sort("mask")
    hidden = int(read_table(small_store, "runs")["hidden"][0])
    loss = table["loss"].to_numpy().astype(np.float64)
    return {
        "hidden": hidden,
        "loss": loss,
        "log_loss": table["log_loss"].to_numpy().astype(np.float64),
        "grad": np.stack(table["grad"].to_numpy()).astype(np.float64),
        "bits": oracle.bits(range(2 ** hidden), hidden),
    }


view = read_view


def test_exact_moments_match_weighted_enumeration(warehouse, exhaustive):
    n, bits = exhaustive["hidden"], exhaustive["bits"]
    k = bits.sum(axis=1)
    got = view(warehouse, "exact_moments")
    assert sorted(got["keep_prob"].to_list()) == sorted({i / 20 for i in range(1, 20)} | {0.25, 0.5, 0.75})
    for row in got.iter_rows(named=True):
        p = row["keep_prob"]
        w = p ** k * (1 - p) ** (n - k)
        assert w.sum() == pytest.approx(1.0)
        for name in ("loss", "log_loss"):
            x = exhaustive[name]
            mean = np.sum(w * x)
            assert row[f"mean_{name}"] == pytest.approx(mean, rel=1e-9)
            assert row[f"std_{name}"] == pytest.approx(math.sqrt(np.sum(w * (x - mean) ** 2)), rel=1e-6)
        g = exhaustive["grad"]
        mean_g = np.sum(w[:, None] * g) / n
        assert row["mean_grad"] == pytest.approx(mean_g, rel=1e-9)
        assert row["std_grad"] == pytest.approx(math.sqrt(np.sum(w[:, None] * (g - mean_g) ** 2) / n), rel=1e-6)
        gl = g / exhaustive["loss"][:, None]
        assert row["mean_grad_log"] == pytest.approx(np.sum(w[:, None] * gl) / n, rel=1e-9)


def test_exact_moments_agree_with_the_samples_in_distribution(warehouse):
    # 100 samples per p: their mean must lie within a few standard errors of the exact mean.
    rows = warehouse.execute("""
        select s.keep_prob, s.mean_loss, s.n, e.mean_loss as exact, e.std_loss as exact_std
        from loss_stats s join exact_moments e using (run_id, keep_prob) where run_id = 0""").fetchall()
    assert len(rows) == 3
    for _, mean, count, exact, std in rows:
        assert abs(mean - exact) < 5 * std / math.sqrt(count)


def shapley_by_permutations(loss, n):
    phi = np.zeros(n)
    for order in itertools.permutations(range(n)):
        mask = 0
        for node in order:
            phi[node] += loss[mask | (1 << node)] - loss[mask]
            mask |= 1 << node
    return phi / math.factorial(n)


def test_shapley_values_match_the_permutation_definition(warehouse, exhaustive):
    n, loss = exhaustive["hidden"], exhaustive["loss"]
    got = view(warehouse, "shapley_values").sort("node")
    expected = shapley_by_permutations(loss, n)
    np.testing.assert_allclose(got["shapley"].to_numpy(), expected, rtol=1e-9, atol=1e-12)
    # Efficiency: the values share out exactly the loss change from no node to all nodes.
    assert got["shapley"].sum() == pytest.approx(loss[2 ** n - 1] - loss[0], rel=1e-9)


def test_banzhaf_values_match_pair_differences(warehouse, exhaustive):
    n, loss = exhaustive["hidden"], exhaustive["loss"]
    got = view(warehouse, "banzhaf_values").sort("node")
    masks = np.arange(2 ** n)
    for node in range(n):
        off = masks[(masks >> node) & 1 == 0]
        expected = np.mean(loss[off | (1 << node)] - loss[off])
        assert got["banzhaf"][node] == pytest.approx(expected, rel=1e-9)


def test_flip_effects_match_pairs(warehouse, exhaustive):
    n, loss, grad = exhaustive["hidden"], exhaustive["loss"], exhaustive["grad"]
    got = view(warehouse, "flip_effects").sort("node")
    masks = np.arange(2 ** n)
    for node in range(n):
        off = masks[(masks >> node) & 1 == 0]
        on = off | (1 << node)
        effect = loss[on] - loss[off]
        g_off, g_on = grad[off, node], grad[on, node]
        row = got.row(node, named=True)
        assert row["n_pairs"] == len(off)
        assert row["mean_effect"] == pytest.approx(effect.mean(), rel=1e-9)
        assert row["corr_grad_on"] == pytest.approx(np.corrcoef(effect, g_on)[0, 1], rel=1e-6)
        assert row["share_lower_tight"] == pytest.approx(np.mean(effect - g_off <= 0.1 * np.abs(effect)))
        assert row["share_misled"] == pytest.approx(np.mean(np.sign(g_on) != np.sign(effect)))
        # Convexity of the loss in each mask entry: the gradients at both ends bracket the effect.
        assert row["bound_violations"] == 0
        assert np.all(g_off <= effect + 1e-5) and np.all(effect <= g_on + 1e-5)


def test_best_subnetworks_match_grouping_by_size(warehouse, exhaustive):
    n, loss = exhaustive["hidden"], exhaustive["loss"]
    size = exhaustive["bits"].sum(axis=1).astype(int)
    got = view(warehouse, "best_subnetworks").sort("k")
    assert got["k"].to_list() == list(range(n + 1))
    for row in got.iter_rows(named=True):
        idx = np.flatnonzero(size == row["k"])
        assert row["n_masks"] == math.comb(n, row["k"])
        assert row["best_mask"] == idx[np.argmin(loss[idx])]
        assert row["best_loss"] == pytest.approx(loss[idx].min())
        assert row["worst_mask"] == idx[np.argmax(loss[idx])]
        assert row["median_loss"] == pytest.approx(np.median(loss[idx]))
        assert row["mean_loss"] == pytest.approx(loss[idx].mean())
        assert row["n_within_10pct"] == int(np.sum(loss[idx] <= 1.1 * loss[idx].min()))


def test_complement_pairs_match_numpy(warehouse, exhaustive):
    n, log_loss = exhaustive["hidden"], exhaustive["log_loss"]
    masks = np.arange(2 ** n)
    comp = log_loss[masks ^ (2 ** n - 1)]
    got = view(warehouse, "complement_pairs")
    overall = got.filter(pl.col("k").is_null()).row(0, named=True)
    assert overall["corr"] == pytest.approx(np.corrcoef(log_loss, comp)[0, 1], rel=1e-9)
    size = exhaustive["bits"].sum(axis=1)
    for k in range(2, n - 1):
        row = got.filter(pl.col("k") == k).row(0, named=True)
        sel = size == k
        assert row["corr"] == pytest.approx(np.corrcoef(log_loss[sel], comp[sel])[0, 1], rel=1e-9)


def test_balance_views_match_numpy(warehouse, small_store, exhaustive):
    w = oracle.weights_from_rows(read_table(small_store, "weights"))
    W, b = w["hidden.weight"], w["hidden.bias"]
    unit = W / np.linalg.norm(W, axis=1, keepdims=True)
    # Bias-like: the ReLU's pre-activation is positive at all four corners of the training square.
    corners = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]])
    bias_like = np.all(corners @ W.T + b > 0, axis=0)
    got_nodes = view(warehouse, "node_directions").sort("node")
    assert got_nodes["bias_like"].to_list() == bias_like.tolist()
    cutters = exhaustive["bits"][:, ~bias_like]
    count = cutters.sum(axis=1)
    summed = cutters @ unit[~bias_like]
    with np.errstate(invalid="ignore", divide="ignore"):
        imbalance = np.linalg.norm(summed, axis=1) / count
    balance = view(warehouse, "mask_balance").sort("mask")
    got_imb = balance["imbalance"].to_numpy()
    has = count > 0
    np.testing.assert_allclose(got_imb[has], imbalance[has], rtol=1e-6)
    assert balance["imbalance"].is_null().to_numpy()[~has].all()
    overall = view(warehouse, "balance_conjecture").filter(pl.col("k").is_null()).row(0, named=True)
    assert overall["corr_imbalance_log_loss"] == pytest.approx(
        np.corrcoef(imbalance[has], exhaustive["log_loss"][has])[0, 1], rel=1e-6)
