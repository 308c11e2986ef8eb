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
        assert row["total_weight"] == pytest.approx(w.sum(), rel=1e-9)
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
        mean_gl = np.sum(w[:, None] * gl) / n
        assert row["mean_grad_log"] == pytest.approx(mean_gl, rel=1e-9)
        assert row["std_grad_log"] == pytest.approx(math.sqrt(np.sum(w[:, None] * (gl - mean_gl) ** 2) / n), rel=1e-6)


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
        assert row["mean_grad_off"] == pytest.approx(g_off.mean(), rel=1e-9)
        assert row["mean_grad_on"] == pytest.approx(g_on.mean(), rel=1e-9)
        assert row["corr_grad_on"] == pytest.approx(np.corrcoef(effect, g_on)[0, 1], rel=1e-6)
        assert row["corr_grad_off"] == pytest.approx(np.corrcoef(effect, g_off)[0, 1], rel=1e-6)
        assert row["share_lower_tight"] == pytest.approx(np.mean(effect - g_off <= 0.1 * np.abs(effect)))
        assert row["share_upper_tight"] == pytest.approx(np.mean(g_on - effect <= 0.1 * np.abs(effect)))
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
        assert row["worst_loss"] == pytest.approx(loss[idx].max())
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
    assert overall["cov"] == pytest.approx(np.cov(log_loss, comp, bias=True)[0, 1], rel=1e-9)
    assert overall["n_masks"] == 2 ** n
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
    np.testing.assert_array_equal(balance["n_cutters_on"].to_numpy(), count)
    conjecture = view(warehouse, "balance_conjecture")
    overall = conjecture.filter(pl.col("k").is_null()).row(0, named=True)
    assert overall["corr_imbalance_log_loss"] == pytest.approx(
        np.corrcoef(imbalance[has], exhaustive["log_loss"][has])[0, 1], rel=1e-6)
    size = exhaustive["bits"].sum(axis=1)
    for row in conjecture.filter(pl.col("k").is_not_null()).iter_rows(named=True):
        sel = has & (size == row["k"])
        assert row["n_masks"] == sel.sum()
        assert row["mean_imbalance"] == pytest.approx(imbalance[sel].mean(), rel=1e-6)
        if sel.sum() > 2 and imbalance[sel].std() > 1e-9:
            assert row["corr_imbalance_log_loss"] == pytest.approx(
                np.corrcoef(imbalance[sel], exhaustive["log_loss"][sel])[0, 1], rel=1e-5, abs=1e-9)
    groups = view(warehouse, "balance_groups")
    for row in groups.iter_rows(named=True):
        sel = has & (size == row["n_on"]) & (count == row["n_cutters_on"])
        assert row["n"] == sel.sum()
        assert row["sxy"] == pytest.approx(np.sum(imbalance[sel] * exhaustive["log_loss"][sel]), rel=1e-6)
    assert groups["n"].sum() == has.sum()


def test_exhaustive_by_size_and_histogram_match_numpy(warehouse, exhaustive):
    n, loss, log_loss, grad = exhaustive["hidden"], exhaustive["loss"], exhaustive["log_loss"], exhaustive["grad"]
    size = exhaustive["bits"].sum(axis=1).astype(int)
    by_size = view(warehouse, "exhaustive_by_size").sort("n_on")
    for row in by_size.iter_rows(named=True):
        sel = size == row["n_on"]
        g = grad[sel]
        assert row["n"] == sel.sum()
        assert row["sum_loss2"] == pytest.approx(np.sum(loss[sel] ** 2), rel=1e-9)
        assert row["sum_log_loss"] == pytest.approx(np.sum(log_loss[sel]), rel=1e-9)
        assert row["sum_grad"] == pytest.approx(g.sum(), rel=1e-9, abs=1e-12)
        assert row["sum_grad2"] == pytest.approx(np.sum(g * g), rel=1e-9)
        assert row["sum_grad_log2"] == pytest.approx(np.sum((g / loss[sel, None]) ** 2), rel=1e-9)
    hist = view(warehouse, "exhaustive_histogram")
    values = {"loss": (loss, size), "log_loss": (log_loss, size),
              "grad": (grad.ravel(), np.repeat(size, n)), "grad_log": ((grad / loss[:, None]).ravel(), np.repeat(size, n))}
    for quantity, (x, s) in values.items():
        part = hist.filter(pl.col("quantity") == quantity)
        bins = np.floor(x / 0.002).astype(np.int64)
        expected = pl.DataFrame({"n_on": s, "bin": bins, "x": x}).group_by("n_on", "bin").agg(
            pl.len().alias("n"), pl.col("x").mean().alias("mean")).sort("n_on", "bin")
        got = part.sort("n_on", "bin")
        assert got["n"].to_list() == expected["n"].to_list(), quantity
        assert got["bin"].to_list() == expected["bin"].to_list(), quantity
        np.testing.assert_allclose(got["mean_value"].to_numpy(), expected["mean"].to_numpy(), rtol=1e-9, atol=1e-15)


def test_exact_shape_matches_weighted_enumeration(warehouse, exhaustive):
    n, bits = exhaustive["hidden"], exhaustive["bits"]
    k = bits.sum(axis=1)
    for row in view(warehouse, "exact_shape").iter_rows(named=True):
        p = row["keep_prob"]
        w = p ** k * (1 - p) ** (n - k)
        for name, x, weights in (("loss", exhaustive["loss"], w), ("log_loss", exhaustive["log_loss"], w),
                                 ("grad", exhaustive["grad"].ravel(), np.repeat(w, n) / n)):
            d = x - np.sum(weights * x)
            var = np.sum(weights * d ** 2)
            assert row[f"skew_{name}"] == pytest.approx(np.sum(weights * d ** 3) / var ** 1.5, rel=1e-5, abs=1e-9)
            assert row[f"kurt_{name}"] == pytest.approx(np.sum(weights * d ** 4) / var ** 2 - 3, rel=1e-5, abs=1e-9)
