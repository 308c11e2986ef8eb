"""Every view of sql/ against the same statistic computed in numpy/Polars from the Parquet files."""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests.conftest import read_table, read_view

view = read_view


@pytest.fixture(scope="module")
def samples(small_store):
    return read_table(small_store, "mask_samples")


@pytest.fixture(scope="module")
def hidden(small_store):
    return int(read_table(small_store, "runs")["hidden"][0])


def per_node(samples: pl.DataFrame, hidden: int):
    """(keep_prob, mask, node, node_on, grad, grad_log) arrays, node varying fastest."""
    grads = np.stack(samples["grad"].to_numpy()).astype(np.float64)
    masks = samples["mask"].to_numpy()
    on = (masks[:, None] >> np.arange(hidden)) & 1
    loss = samples["loss"].to_numpy().astype(np.float64)
    return samples["keep_prob"].to_numpy(), on, grads, grads / loss[:, None]


def test_sample_node_grads(warehouse, samples, hidden):
    got = view(warehouse, "sample_node_grads").sort("keep_prob", "sample_id", "node")
    probs, on, grads, grads_log = per_node(samples.sort("keep_prob", "sample_id"), hidden)
    assert got.height == samples.height * hidden
    assert got["node"].to_list() == list(range(hidden)) * samples.height
    np.testing.assert_array_equal(got["node_on"].to_numpy(), on.ravel())
    np.testing.assert_allclose(got["grad"].to_numpy(), grads.ravel(), rtol=1e-6)
    np.testing.assert_allclose(got["grad_log"].to_numpy(), grads_log.ravel(), rtol=1e-6)


def test_loss_stats(warehouse, samples, hidden):
    got = view(warehouse, "loss_stats").sort("keep_prob")
    for row in got.iter_rows(named=True):
        part = samples.filter(pl.col("keep_prob") == row["keep_prob"])
        loss = part["loss"].to_numpy().astype(np.float64)
        log_loss = part["log_loss"].to_numpy().astype(np.float64)
        assert row["n"] == part.height
        assert row["mean_loss"] == pytest.approx(loss.mean(), rel=1e-9)
        assert row["std_loss"] == pytest.approx(loss.std(), rel=1e-9)
        assert row["mean_log_loss"] == pytest.approx(log_loss.mean(), rel=1e-9)
        assert row["std_log_loss"] == pytest.approx(log_loss.std(), rel=1e-9)
        assert row["all_on_count"] == int((part["mask"] == 2 ** hidden - 1).sum())
        assert row["distinct_masks"] == len(set(part["mask"].to_list()))


def test_grad_stats(warehouse, samples, hidden):
    probs, _, grads, grads_log = per_node(samples, hidden)
    for row in view(warehouse, "grad_stats").iter_rows(named=True):
        sel = probs == row["keep_prob"]
        assert row["n"] == sel.sum() * hidden
        assert row["mean_grad"] == pytest.approx(grads[sel].mean(), rel=1e-6)
        assert row["std_grad"] == pytest.approx(grads[sel].std(), rel=1e-6)
        assert row["mean_grad_log"] == pytest.approx(grads_log[sel].mean(), rel=1e-6)
        assert row["std_grad_log"] == pytest.approx(grads_log[sel].std(), rel=1e-6)


def test_node_split_stats(warehouse, samples, hidden):
    probs, on, grads, grads_log = per_node(samples, hidden)
    got = view(warehouse, "node_split_stats")
    expected_rows = 0
    for p in np.unique(probs):
        for node in range(hidden):
            for state in (0, 1):
                sel = (probs == p) & (on[:, node] == state)
                if not sel.any():
                    continue
                expected_rows += 1
                row = got.filter((pl.col("keep_prob") == p) & (pl.col("node") == node)
                                 & (pl.col("node_on") == state)).row(0, named=True)
                assert row["n"] == sel.sum()
                assert row["mean_grad"] == pytest.approx(grads[sel, node].mean(), rel=1e-6, abs=1e-12)
                assert row["std_grad"] == pytest.approx(grads[sel, node].std(), rel=1e-5, abs=1e-12)
                assert row["mean_grad_log"] == pytest.approx(grads_log[sel, node].mean(), rel=1e-6, abs=1e-12)
                assert row["std_grad_log"] == pytest.approx(grads_log[sel, node].std(), rel=1e-5, abs=1e-12)
    assert got.height == expected_rows


def test_sanity_check(warehouse, samples, hidden):
    row = view(warehouse, "sanity_check").row(0, named=True)
    probs, _, grads, _ = per_node(samples, hidden)
    mean_loss = {p: samples.filter(pl.col("keep_prob") == p)["loss"].cast(pl.Float64).mean()
                 for p in (0.25, 0.75)}
    scale = (0.75 - 0.25) * hidden
    assert row["scale"] == pytest.approx(scale)
    assert row["scaled_mean_grad"] == pytest.approx(scale * grads[probs == 0.5].mean(), rel=1e-6)
    assert row["loss_difference"] == pytest.approx(mean_loss[0.75] - mean_loss[0.25], rel=1e-9)
    assert (row["p_low"], row["p_half"], row["p_high"]) == (0.25, 0.5, 0.75)
    assert row["mean_grad_half"] == pytest.approx(grads[probs == 0.5].mean(), rel=1e-6)
    assert row["mean_loss_low"] == pytest.approx(mean_loss[0.25], rel=1e-9)
    assert row["mean_loss_high"] == pytest.approx(mean_loss[0.75], rel=1e-9)
    assert row["ratio"] == pytest.approx(scale * grads[probs == 0.5].mean() / (mean_loss[0.75] - mean_loss[0.25]),
                                         rel=1e-6)


def test_single_knockouts(warehouse, small_store, hidden):
    exhaustive = read_table(small_store, "mask_exhaustive")
    loss = dict(zip(exhaustive["mask"].to_list(), exhaustive["loss"].to_list()))
    full = 2 ** hidden - 1
    got = view(warehouse, "single_knockouts").sort("node")
    assert got["node"].to_list() == list(range(hidden))
    for row in got.iter_rows(named=True):
        assert row["loss_only_off"] == loss[full & ~(1 << row["node"])]
        assert row["loss_only_on"] == loss[1 << row["node"]]
        assert row["loss_all_on"] == loss[full]
        assert row["loss_all_off"] == loss[0]


def path_matrix(small_store, hidden):
    paths = read_table(small_store, "flip_paths").sort("path_id", "step")
    return paths["log_loss"].to_numpy().astype(np.float64).reshape(-1, hidden + 1)


def test_flip_path_cov(warehouse, small_store, hidden):
    matrix = path_matrix(small_store, hidden)
    cov = np.cov(matrix, rowvar=False)
    corr = np.corrcoef(matrix, rowvar=False)
    got = view(warehouse, "flip_path_cov")
    assert got.height == (hidden + 1) ** 2
    i, j = got["i"].to_numpy(), got["j"].to_numpy()
    np.testing.assert_allclose(got["cov"].to_numpy(), cov[i, j], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(got["corr"].to_numpy(), corr[i, j], rtol=1e-6, atol=1e-12)


def test_flip_path_decay(warehouse, small_store, hidden):
    cov = np.cov(path_matrix(small_store, hidden), rowvar=False)
    got = view(warehouse, "flip_path_decay").sort("k")
    assert got["k"].to_list() == list(range(hidden + 1))
    k = np.arange(hidden + 1)
    np.testing.assert_allclose(got["cov_from_start"].to_numpy(), cov[0, k], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(got["cov_from_end"].to_numpy(), cov[hidden, hidden - k], rtol=1e-6, atol=1e-12)
    corr = np.corrcoef(path_matrix(small_store, hidden), rowvar=False)
    np.testing.assert_allclose(got["corr_from_start"].to_numpy(), corr[0, k], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(got["corr_from_end"].to_numpy(), corr[hidden, hidden - k], rtol=1e-6, atol=1e-12)


def test_study_comparison_rows_against_the_samples(warehouse, samples, hidden, small_store):
    rows = view(warehouse, "study_comparison")
    by_quantity = {r["quantity"]: r for r in rows.iter_rows(named=True)}
    mean = {p: samples.filter(pl.col("keep_prob") == p)["loss"].cast(pl.Float64).mean() for p in (0.25, 0.75)}
    assert by_quantity["mean loss at p = 0.25"]["ours"] == pytest.approx(mean[0.25], rel=1e-9)
    assert by_quantity["mean loss at p = 0.75"]["ours"] == pytest.approx(mean[0.75], rel=1e-9)
    difference = by_quantity["mean loss at p = 0.75 minus at p = 0.25"]
    assert difference["ours"] == pytest.approx(mean[0.75] - mean[0.25], rel=1e-9)
    # the study's own difference, from its two published means (0.584365 − 1.0277158)
    study_means = {r["quantity"]: r["study"] for r in rows.iter_rows(named=True) if r["quantity"].startswith("mean loss at")}
    assert difference["study"] == pytest.approx(study_means["mean loss at p = 0.75"] - study_means["mean loss at p = 0.25"])
    runs = read_table(small_store, "runs")
    assert by_quantity["full-network test loss"]["ours"] == pytest.approx(float(runs["test_loss"][0]))
