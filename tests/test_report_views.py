"""The report's views (sql/views/) against the same numbers computed here from the Parquet files with numpy
(and the SQL kernel density against a direct sum of Gaussians)."""
from __future__ import annotations

import json

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


@pytest.fixture(scope="module")
def samples(small_store):
    return run_rows(small_store, "mask_samples").sort("keep_prob", "sample_id")


@pytest.fixture(scope="module")
def node_grads(samples, run):
    """(keep_prob, sample, node) rows: ∂loss/∂on_i, ∂ln(loss)/∂on_i and whether the node is on."""
    n = run["hidden"]
    grad = np.stack(samples["grad"].to_numpy()).astype(np.float64)
    loss = samples["loss"].to_numpy().astype(np.float64)
    masks = samples["mask"].to_numpy()
    return {
        "keep_prob": np.repeat(samples["keep_prob"].to_numpy(), n),
        "node": np.tile(np.arange(n), len(samples)),
        "node_on": ((masks[:, None] >> np.arange(n)) & 1).ravel(),
        "grad": grad.ravel(),
        "grad_log": (grad / loss[:, None]).ravel(),
    }


def shape(values: np.ndarray) -> tuple[float, float]:
    """Population skewness and excess kurtosis."""
    d = values - values.mean()
    m2 = (d**2).mean()
    return float((d**3).mean() / m2**1.5), float((d**4).mean() / m2**2 - 3)


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


def test_knockout_summary(warehouse, run, landmarks):
    s = read_view(warehouse, "knockout_summary").row(0, named=True)
    by_mask = dict(zip(landmarks["mask"].to_list(), landmarks["loss"].to_list()))
    effect = only_off_losses(landmarks, run["hidden"]) - by_mask[2 ** run["hidden"] - 1]
    assert s["n_nodes"] == run["hidden"] and s["n_raise_loss"] == int((effect > 0).sum())
    assert (s["most_harmful_node"], s["least_harmful_node"]) == (int(effect.argmax()), int(effect.argmin()))
    assert s["most_harmful_effect"] == pytest.approx(effect.max(), abs=1e-6)
    assert s["loss_all_off"] == pytest.approx(by_mask[0])


def test_study_comparison(warehouse, small_store, run, landmarks, samples):
    got = {r["quantity"]: r for r in read_view(warehouse, "study_comparison").iter_rows(named=True)}
    low = samples.filter(pl.col("keep_prob") == 0.25)["loss"].to_numpy().astype(np.float64)
    high = samples.filter(pl.col("keep_prob") == 0.75)["loss"].to_numpy().astype(np.float64)
    mid = samples.filter(pl.col("keep_prob") == 0.5)
    assert got["full-network test loss"]["ours"] == pytest.approx(run["test_loss"])
    assert got["full-network test loss"]["study"] == pytest.approx(0.117)
    assert got["mean loss at p = 0.25"]["ours"] == pytest.approx(low.mean(), rel=1e-9)
    assert got["mean loss at p = 0.75"]["ours"] == pytest.approx(high.mean(), rel=1e-9)
    assert got["mean loss at p = 0.75 minus at p = 0.25"]["ours"] == pytest.approx(high.mean() - low.mean(), rel=1e-6)
    # the study's sanity check at the study's p: N × (0.75 − 0.25) × the mean gradient at 0.5
    scale = run["hidden"] * 0.5
    mean_grad = np.stack(mid["grad"].to_numpy()).astype(np.float64).mean()
    assert got[f"{scale:g} × the mean gradient at p = 0.5"]["ours"] == pytest.approx(scale * mean_grad, rel=1e-5)
    # the small run draws 100 masks per p, the study 1,000: counts among the samples are not compared
    assert not [q for q in got if "among the" in q]
    assert "loss with only node 14 off" not in got  # this small run has no node 14
    off = only_off_losses(landmarks, run["hidden"])
    least = got["least harmful single knockout: loss"]
    assert least["ours"] == pytest.approx(off.min(), rel=1e-6) and least["note"] == f"node {int(off.argmin())}"


def test_grid_node_grads_is_input_grid_long(warehouse, small_store, run):
    grid = run_rows(small_store, "input_grid").sort("grid_j", "grid_i")
    got = read_view(warehouse, "grid_node_grads").sort("grid_j", "grid_i", "node")
    hidden = run["hidden"]
    assert got.height == grid.height * hidden
    assert got["node"].to_list() == list(range(hidden)) * grid.height
    want = np.stack(grid["node_grad"].to_numpy()).astype(np.float64).ravel()
    np.testing.assert_array_equal(got["node_grad"].to_numpy().astype(np.float64), want)
    np.testing.assert_array_equal(got["x0"].to_numpy(), np.repeat(grid["x0"].to_numpy(), hidden))


def test_sample_shape(warehouse, samples, node_grads):
    got = read_view(warehouse, "sample_shape").sort("keep_prob")
    for row in got.iter_rows(named=True):
        p = row["keep_prob"]
        at = samples.filter(pl.col("keep_prob") == p)
        grads = {k: v[node_grads["keep_prob"] == p] for k, v in node_grads.items()}
        for name, values in (("loss", at["loss"]), ("log_loss", at["log_loss"]), ("grad", grads["grad"]),
                             ("grad_log", grads["grad_log"])):
            skew, kurt = shape(np.asarray(values, dtype=np.float64))
            assert row[f"skew_{name}"] == pytest.approx(skew, rel=1e-5, abs=1e-5), (p, name)  # float32 inputs
            assert row[f"kurt_{name}"] == pytest.approx(kurt, rel=1e-5, abs=1e-5), (p, name)


def test_on_off_split_and_node_spread(warehouse, node_grads):
    split = read_view(warehouse, "on_off_split")
    for row in split.iter_rows(named=True):
        pick = (node_grads["keep_prob"] == row["keep_prob"]) & (node_grads["node_on"] == row["node_on"])
        values = node_grads["grad_log"][pick]
        assert row["n"] == len(values)
        assert row["mean_grad_log"] == pytest.approx(values.mean(), rel=1e-6)
        assert row["share_negative"] == pytest.approx((values < 0).mean())
    spread = read_view(warehouse, "node_spread")
    for p in spread["keep_prob"].unique():
        rows = spread.filter(pl.col("keep_prob") == p).sort("node")
        want = [node_grads["grad_log"][(node_grads["keep_prob"] == p) & (node_grads["node"] == i)].std(ddof=1)
                for i in rows["node"]]
        np.testing.assert_allclose(rows["std_grad_log"].to_numpy(), want, rtol=1e-6)
        assert rows.filter(pl.col("widest_rank") == 1)["node"][0] == int(np.argmax(want))
        assert rows.filter(pl.col("narrowest_rank") == 1)["node"][0] == int(np.argmin(want))


def direct_kde(values: np.ndarray, width: float, x: np.ndarray) -> np.ndarray:
    """(1/n) Σ_v φ((x − v)/width)/width, one Gaussian per value, no binning."""
    z = (x[:, None] - values[None, :]) / width
    return np.exp(-0.5 * z**2).sum(axis=1) / (len(values) * width * np.sqrt(2 * np.pi))


def test_density_curves_and_the_trough_against_a_direct_kernel_sum(warehouse, node_grads):
    """The SQL kernel density (linear binning, then the sampled kernel) against one Gaussian per value, and
    grad_log_trough as read off that curve."""
    width = float(warehouse.execute("select value from study_reference where key = 'kernel_width'").fetchone()[0])
    curves = warehouse.execute("select keep_prob, bin, x, density from density_curves where run_id = 0"
                               " and quantity = 'grad_log' and source = 'sampled' order by keep_prob, bin").pl()
    trough = read_view(warehouse, "grad_log_trough")
    for row in trough.iter_rows(named=True):
        curve = curves.filter(pl.col("keep_prob") == row["keep_prob"])
        values = node_grads["grad_log"][node_grads["keep_prob"] == row["keep_prob"]]
        want = direct_kde(values, width, curve["x"].to_numpy())
        # linear binning at a fifth of the width: the error is a small share of the peak
        assert np.max(np.abs(curve["density"].to_numpy() - want)) < 5e-3 * want.max()
        assert row["density_at_zero"] == pytest.approx(direct_kde(values, width, np.zeros(1))[0], rel=5e-3)
        assert row["peak_below_zero"] == pytest.approx(curve.filter(pl.col("bin") < 0)["density"].max())
        assert row["peak_above_zero"] == pytest.approx(curve.filter(pl.col("bin") > 0)["density"].max())
        assert row["has_trough"] == (row["density_at_zero"] < min(row["peak_below_zero"], row["peak_above_zero"]))


def test_density_curves_integrate_to_one(warehouse):
    sums = warehouse.execute("select quantity, keep_prob, source, sum(density * step) as mass from density_curves"
                             " where run_id = 0 group by all").pl()
    np.testing.assert_allclose(sums["mass"].to_numpy(), 1.0, atol=1e-9)
    assert set(sums["source"]) == {"sampled", "exact"}


def test_flip_path_summary(warehouse, small_store, run):
    paths = run_rows(small_store, "flip_paths").sort("path_id", "step")
    n = run["hidden"]
    log_loss = paths["log_loss"].to_numpy().astype(np.float64).reshape(-1, n + 1)
    cov = np.cov(log_loss, rowvar=False)
    corr = np.corrcoef(log_loss, rowvar=False)
    s = read_view(warehouse, "flip_path_summary").row(0, named=True)
    assert s["n_paths"] == log_loss.shape[0]
    assert s["noise_level"] == pytest.approx(2 / np.sqrt(log_loss.shape[0]))
    assert s["mean_variance"] == pytest.approx(np.diag(cov).mean(), rel=1e-6)
    assert s["complement_cov"] == pytest.approx(cov[0, n], rel=1e-6)
    assert s["complement_corr"] == pytest.approx(corr[0, n], rel=1e-6)
    ks = np.arange(n + 1)
    assert s["max_start_end_gap"] == pytest.approx(np.abs(cov[0, ks] - cov[n, n - ks]).max(), rel=1e-6, abs=1e-12)
    quiet = np.flatnonzero(np.abs(corr[0]) < s["noise_level"])
    assert s["decay_length"] == (int(quiet[0]) if len(quiet) else None)


def test_boundary_loss(warehouse, small_store, run):
    grid = run_rows(small_store, "input_grid")
    inside = grid.filter((pl.col("x0").abs() <= 1) & (pl.col("x1").abs() <= 1))
    r = np.hypot(inside["x0"].to_numpy(), inside["x1"].to_numpy())
    loss = inside["loss"].to_numpy().astype(np.float64)
    s = read_view(warehouse, "boundary_loss").row(0, named=True)
    band = np.abs(r - run["radius"]) < s["band_width"]
    assert s["share_loss_in_band"] == pytest.approx(loss[band].sum() / loss.sum(), rel=1e-6)
    assert s["share_area_in_band"] == pytest.approx(band.mean())


def test_sanity_vs_study_compares_only_the_study_probabilities(warehouse):
    s = read_view(warehouse, "sanity_vs_study").row(0, named=True)
    check = read_view(warehouse, "sanity_check").row(0, named=True)
    assert s["ratio"] == pytest.approx(check["ratio"])
    assert s["same_probs_as_study"] is True  # the small run samples the study's 0.25, 0.5, 0.75
    assert s["study_ratio"] == pytest.approx(-0.4751453 / (0.584365 - 1.0277158))


def test_study_setup_reads_the_config(warehouse, small_store):
    s = read_view(warehouse, "study_setup").row(0, named=True)
    config = json.loads((small_store / "manifest.json").read_text())["config"]
    assert s["same_keep_probs"] is (sorted(config["keep_probs"]) == [0.25, 0.5, 0.75])
    assert s["same_samples_per_prob"] is (config["samples_per_prob"] == 1000)
