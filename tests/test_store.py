"""The stored tables of a small real run against independent recomputation."""
from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest

from tests import oracle
from tests.conftest import read_table


@pytest.fixture(scope="module")
def tables(small_store):
    names = ("runs", "points", "weights", "mask_samples", "mask_exhaustive", "mask_landmarks",
             "flip_paths", "input_grid", "test_contribs")
    return {name: read_table(small_store, name) for name in names}


@pytest.fixture(scope="module")
def config(small_store):
    """The configuration every stored unit was made with (the manifest's; the warehouse's runs rows
    carry the same, tests/test_config_rows.py)."""
    return json.loads((small_store / "manifest.json").read_text())["config"]


@pytest.fixture(scope="module")
def test_set(tables):
    test = tables["points"].filter(pl.col("split") == "test").sort("point_id")
    return test.select("x0", "x1").to_numpy(), test["label"].to_numpy().astype(np.int64)


@pytest.fixture(scope="module")
def weights(tables):
    return oracle.weights_from_rows(tables["weights"])


def test_test_points_are_the_study_stream(tables, config, test_set):
    np.random.seed(23)
    expected = np.random.uniform(-1, 1, size=[config["test_points"], 2])
    x, y = test_set
    np.testing.assert_array_equal(x, expected)
    # The study's code rule: outside iff x0² + x1² > √(2/π).
    np.testing.assert_array_equal(y, (np.sum(expected * expected, 1) > math.sqrt(2 / math.pi)).astype(int))


def test_sampled_masks_are_the_study_stream(tables, config):
    np.random.seed(17)
    hidden = config["hidden"]
    expected = []
    for prob in [0.25, 0.5, 0.75]:
        for _ in range(config["samples_per_prob"]):
            on_nodes = (np.random.rand(hidden) < prob).astype(int)
            expected.append((prob, sum(int(b) << i for i, b in enumerate(on_nodes))))
    stored = tables["mask_samples"].sort("keep_prob", "sample_id")
    assert list(zip(stored["keep_prob"], stored["mask"])) == expected


def test_default_masks_reproduce_the_studys_counts():
    # NOTES.md: at p = ¾ the study's 1,000 masks hold 5 all-on masks and 952 distinct ones.
    from ingest.config import Config
    from ingest.masks import sampled
    probs, _, masks = sampled(Config())
    at_three_quarters = masks[probs == 0.75]
    assert (at_three_quarters == (1 << 20) - 1).sum() == 5
    assert len(np.unique(at_three_quarters)) == 952


def test_exhaustive_table_matches_brute_force(tables, config, test_set, weights):
    hidden = config["hidden"]
    x, y = test_set
    stored = tables["mask_exhaustive"].sort("mask")
    assert stored["mask"].to_list() == list(range(2 ** hidden))
    assert stored["n_on"].to_list() == [bin(m).count("1") for m in range(2 ** hidden)]
    loss, grad = oracle.loss_and_grad(weights, x, y, oracle.bits(range(2 ** hidden), hidden))
    np.testing.assert_allclose(stored["loss"].to_numpy(), loss, rtol=1e-5)
    np.testing.assert_allclose(stored["log_loss"].to_numpy(), np.log(loss), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.stack(stored["grad"].to_numpy()), grad, rtol=1e-4, atol=1e-6)


def test_every_mask_table_agrees_with_the_exhaustive_one(tables):
    exhaustive = tables["mask_exhaustive"].select("mask", pl.col("loss").alias("exact"))
    for name in ("mask_samples", "mask_landmarks", "flip_paths"):
        joined = tables[name].join(exhaustive, on="mask", how="left")
        assert joined["exact"].null_count() == 0
        assert (joined["loss"] == joined["exact"]).all(), name


def test_runs_row_matches_the_oracle(tables, test_set, weights):
    x, y = test_set
    p_outside, point_loss, _ = oracle.pointwise(weights, x, y)
    run = tables["runs"].row(0, named=True)
    assert run["test_loss"] == pytest.approx(point_loss.mean(), rel=1e-5)
    assert run["test_accuracy"] == pytest.approx(np.mean((p_outside > 0.5) == (y == 1)))
    assert run["logit_bias"] == pytest.approx(weights["output.bias"][1] - weights["output.bias"][0], abs=1e-6)
    assert run["radius"] == pytest.approx((2 / math.pi) ** 0.25)


def test_flip_paths_flip_every_node_once(tables, config):
    hidden = config["hidden"]
    paths = tables["flip_paths"].sort("path_id", "step")
    assert paths.height == config["flip_paths"] * (hidden + 1)
    for _, path in paths.group_by("path_id"):
        masks = path["mask"].to_list()
        nodes = path["flipped_node"].to_list()
        assert nodes[0] is None
        assert sorted(nodes[1:]) == list(range(hidden))
        for k in range(1, hidden + 1):
            assert masks[k] ^ masks[k - 1] == 1 << nodes[k]
        assert masks[-1] == masks[0] ^ ((1 << hidden) - 1)


def test_flip_path_starts_are_fair_coins(tables, config):
    # Bernoulli(½) starts: the mean number of nodes on is N/2 within a few standard errors.
    starts = tables["flip_paths"].filter(pl.col("step") == 0)
    hidden = config["hidden"]
    se = math.sqrt(hidden / 4 / starts.height)
    assert abs(starts["n_on"].mean() - hidden / 2) < 5 * se


def test_grid_matches_the_oracle(tables, config, weights):
    grid = tables["input_grid"].sort("grid_j", "grid_i")
    size, extent = config["grid_size"], config["grid_extent"]
    assert grid.height == size * size
    axis = np.linspace(-extent, extent, size)
    np.testing.assert_allclose(grid["x0"].to_numpy(), np.tile(axis, size))
    np.testing.assert_allclose(grid["x1"].to_numpy(), np.repeat(axis, size))
    x = grid.select("x0", "x1").to_numpy()
    y = (np.sum(x * x, 1) > math.sqrt(2 / math.pi)).astype(int)
    assert grid["label"].to_list() == y.tolist()
    p_outside, point_loss, h = oracle.pointwise(weights, x, y)
    np.testing.assert_allclose(grid["p_outside"].to_numpy(), p_outside, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grid["loss"].to_numpy(), point_loss, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.stack(grid["hidden"].to_numpy()), h, rtol=1e-5, atol=1e-6)
    w_diff = weights["output.weight"][1] - weights["output.weight"][0]
    contrib = np.stack(grid["contrib"].to_numpy())
    np.testing.assert_allclose(contrib, h * w_diff, rtol=1e-5, atol=1e-6)
    # Pointwise ∂loss/∂on_i from the mask gradient of a one-point "test set".
    node_grad = np.stack(grid["node_grad"].to_numpy())
    for k in (0, size * size // 2, size * size - 1):
        _, g = oracle.loss_and_grad(weights, x[k:k + 1], y[k:k + 1], np.ones((1, config["hidden"])))
        np.testing.assert_allclose(node_grad[k], g[0], rtol=1e-4, atol=1e-6)


def test_test_contribs_rebuild_the_output(tables, test_set, weights):
    x, y = test_set
    contribs = tables["test_contribs"].sort("point_id")
    bias = tables["runs"]["logit_bias"][0]
    d = np.stack(contribs["contrib"].to_numpy()).sum(axis=1) + bias
    p_outside, _, _ = oracle.pointwise(weights, x, y)
    np.testing.assert_allclose(1 / (1 + np.exp(-d)), p_outside, rtol=1e-5, atol=1e-6)


def test_weights_round_trip_through_the_store(tables, small_store):
    from ingest.network import from_weights_table
    import pyarrow.parquet as pq
    net = from_weights_table(pq.read_table(small_store / "weights"), run_id=0)
    w = oracle.weights_from_rows(tables["weights"])
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value.numpy().astype(np.float64), w[name])
