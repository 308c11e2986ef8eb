"""The report's chart-level views (sql/3N_*.sql) against the same numbers computed from the Parquet files."""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests.conftest import read_table, read_view

RUN = 0  # the run the views are read for (read_view's default); the store holds several


def run_rows(store, table: str) -> pl.DataFrame:
    return read_table(store, table).filter(pl.col("run_id") == RUN)


@pytest.fixture(scope="module")
def run(small_store):
    return run_rows(small_store, "runs").row(0, named=True)


@pytest.fixture(scope="module")
def landmarks(small_store):
    return run_rows(small_store, "mask_landmarks")


def only_off_losses(landmarks: pl.DataFrame, hidden: int) -> np.ndarray:
    full = 2**hidden - 1
    by_mask = dict(zip(landmarks["mask"].to_list(), landmarks["loss"].to_list()))
    return np.array([by_mask[full ^ (1 << i)] for i in range(hidden)], dtype=np.float64)


def test_knockout_ranking(warehouse, run, landmarks):
    hidden = run["hidden"]
    got = read_view(warehouse, "knockout_ranking").sort("node")
    off = only_off_losses(landmarks, hidden)
    by_mask = dict(zip(landmarks["mask"].to_list(), landmarks["loss"].to_list()))
    np.testing.assert_allclose(got["loss_only_off"].to_numpy(), off, rtol=1e-6)
    np.testing.assert_allclose(got["loss_only_on"].to_numpy(), [by_mask[1 << i] for i in range(hidden)], rtol=1e-6)
    np.testing.assert_allclose(got["solo_effect"].to_numpy(),
                               [by_mask[0] - by_mask[1 << i] for i in range(hidden)], rtol=1e-5, atol=1e-7)
    # harm_rank 1 = the node whose removal costs most
    want_rank = (-off).argsort().argsort() + 1
    assert got["harm_rank"].to_list() == want_rank.tolist()


def test_study_comparison(warehouse, small_store, run, landmarks):
    got = {r["position"]: r for r in read_view(warehouse, "study_comparison").iter_rows(named=True)}
    assert sorted(got) == list(range(1, 11))
    samples = run_rows(small_store, "mask_samples")
    hidden = run["hidden"]
    full = 2**hidden - 1
    low = samples.filter(pl.col("keep_prob") == 0.25)["loss"].to_numpy().astype(np.float64)
    high_samples = samples.filter(pl.col("keep_prob") == 0.75)
    high = high_samples["loss"].to_numpy().astype(np.float64)
    assert got[1]["ours"] == pytest.approx(run["test_loss"])
    assert got[1]["study"] == pytest.approx(0.117)
    assert got[2]["ours"] == pytest.approx(low.mean(), rel=1e-9)
    assert got[3]["ours"] == pytest.approx(high.mean(), rel=1e-9)
    assert got[5]["ours"] == pytest.approx(high.mean() - low.mean(), rel=1e-6)
    assert got[6]["ours"] == int((high_samples["mask"] == full).sum())
    assert got[7]["ours"] == high_samples["mask"].n_unique()
    assert got[8]["ours"] is None  # this small run has no node 14
    off = only_off_losses(landmarks, hidden)
    least = int(off.argmin())
    assert got[9]["ours"] == pytest.approx(off[least], rel=1e-6)
    assert got[9]["note"] == f"node {least}"
    assert got[10]["ours"] == int((high_samples["mask"] == full ^ (1 << least)).sum())


def test_grid_node_grads_is_input_grid_long(warehouse, small_store, run):
    grid = run_rows(small_store, "input_grid").sort("grid_j", "grid_i")
    got = read_view(warehouse, "grid_node_grads").sort("grid_j", "grid_i", "node")
    hidden = run["hidden"]
    assert got.height == grid.height * hidden
    assert got["node"].to_list() == list(range(hidden)) * grid.height
    want = np.stack(grid["node_grad"].to_numpy()).astype(np.float64).ravel()
    np.testing.assert_array_equal(got["node_grad"].to_numpy().astype(np.float64), want)
    np.testing.assert_array_equal(got["x0"].to_numpy(), np.repeat(grid["x0"].to_numpy(), hidden))
