"""The views beyond the study (sql/71–80) against the same numbers computed here in numpy from the
Parquet files of the small run (N = 6, two networks), by brute force over all 64 masks."""
from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest

from tests import oracle
from tests.conftest import read_table, read_view

RUNS = (0, 1)
SCORES = ("shapley", "banzhaf", "mean_grad_exact", "mean_grad_sampled", "grad_full", "knockout_effect")


class Run:
    """One network's stored tables as float64 numpy arrays, indexed by mask."""

    def __init__(self, store, run_id: int):
        self.run_id = run_id
        self.row = read_table(store, "runs", run_id).row(0, named=True)
        self.hidden = n = int(self.row["hidden"])
        table = read_table(store, "mask_exhaustive", run_id).sort("mask")
        assert table["mask"].to_list() == list(range(2**n))
        self.loss = table["loss"].to_numpy().astype(np.float64)
        self.log_loss = table["log_loss"].to_numpy().astype(np.float64)
        self.grad = np.stack(table["grad"].to_numpy()).astype(np.float64)
        self.bits = oracle.bits(range(2**n), n)
        self.size = self.bits.sum(axis=1).astype(int)
        self.samples = read_table(store, "mask_samples", run_id)
        self.weights = oracle.weights_from_rows(read_table(store, "weights", None), run_id)

    def mask_weights(self, p: float) -> np.ndarray:
        return p**self.size * (1 - p) ** (self.hidden - self.size)

    def bias_like(self) -> np.ndarray:
        # Active on the whole training square: the pre-activation is positive at its four corners.
        corners = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]])
        return np.all(corners @ self.weights["hidden.weight"].T + self.weights["hidden.bias"] > 0, axis=0)

    def imbalance(self) -> np.ndarray:
        """Length of the mean unit direction of the on cutting nodes; nan with none on."""
        w = self.weights["hidden.weight"]
        unit = w / np.linalg.norm(w, axis=1, keepdims=True)
        cut = ~self.bias_like()
        on = self.bits[:, cut]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.linalg.norm(on @ unit[cut], axis=1) / on.sum(axis=1)

    def shapley(self) -> np.ndarray:
        n, phi = self.hidden, np.zeros(self.hidden)
        for order in itertools.permutations(range(n)):
            mask = 0
            for node in order:
                phi[node] += self.loss[mask | (1 << node)] - self.loss[mask]
                mask |= 1 << node
        return phi / math.factorial(n)

    def banzhaf(self) -> np.ndarray:
        masks = np.arange(2**self.hidden)
        out = []
        for node in range(self.hidden):
            off = masks[(masks >> node) & 1 == 0]
            out.append(np.mean(self.loss[off | (1 << node)] - self.loss[off]))
        return np.array(out)


@pytest.fixture(scope="module")
def runs(small_store):
    return {run_id: Run(small_store, run_id) for run_id in RUNS}


def weighted_shape(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Population skewness and excess kurtosis of values x with probabilities w."""
    w = w / w.sum()
    mean = np.sum(w * x)
    var = np.sum(w * (x - mean) ** 2)
    return np.sum(w * (x - mean) ** 3) / var**1.5, np.sum(w * (x - mean) ** 4) / var**2 - 3


def midranks(x: np.ndarray) -> np.ndarray:
    """1 = smallest; tied values share the mean of the ranks they span."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    for value in np.unique(x):
        tied = x == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def keep_prob_grid(small_store) -> list[float]:
    sampled = read_table(small_store, "mask_samples", None)["keep_prob"].unique().to_list()
    return sorted({round(i / 20, 12) for i in range(1, 20)} | set(sampled))


def test_exhaustive_histogram_counts_every_value_in_its_bin(warehouse, runs):
    for run_id, run in runs.items():
        got = read_view(warehouse, "exhaustive_histogram", run_id)
        values = {
            "loss": (run.size, run.loss),
            "log_loss": (run.size, run.log_loss),
            "grad": (np.repeat(run.size, run.hidden), run.grad.ravel()),
            "grad_log": (np.repeat(run.size, run.hidden), (run.grad / run.loss[:, None]).ravel()),
        }
        assert sorted(got["quantity"].unique().to_list()) == sorted(values)
        assert set(got["bin_width"].to_list()) == {0.002}
        for quantity, (size, value) in values.items():
            want = (
                pl.DataFrame({"n_on": size, "bin": np.floor(value / 0.002).astype(np.int64), "value": value})
                .group_by("n_on", "bin").agg(pl.len().alias("n"), pl.col("value").mean().alias("mean_value"))
                .sort("n_on", "bin")
            )
            have = got.filter(pl.col("quantity") == quantity).sort("n_on", "bin")
            assert have["n_on"].to_list() == want["n_on"].to_list()
            assert have["bin"].to_list() == want["bin"].to_list()
            assert have["n"].to_list() == want["n"].to_list()
            np.testing.assert_allclose(have["mean_value"].to_numpy(), want["mean_value"].to_numpy(), rtol=1e-12)


def test_exact_shape_matches_weighted_enumeration(warehouse, runs, small_store):
    grid = keep_prob_grid(small_store)
    for run_id, run in runs.items():
        got = read_view(warehouse, "exact_shape", run_id).sort("keep_prob")
        assert got["keep_prob"].to_list() == pytest.approx(grid)
        for row in got.iter_rows(named=True):
            w = run.mask_weights(row["keep_prob"])
            for name, x, weights in (("loss", run.loss, w), ("log_loss", run.log_loss, w),
                                     ("grad", run.grad.ravel(), np.repeat(w, run.hidden))):
                skew, kurt = weighted_shape(x, weights)
                assert row[f"skew_{name}"] == pytest.approx(skew, rel=1e-6, abs=1e-9), (name, row["keep_prob"])
                assert row[f"kurt_{name}"] == pytest.approx(kurt, rel=1e-6, abs=1e-9), (name, row["keep_prob"])


def test_sampled_vs_exact(warehouse, runs):
    for run_id, run in runs.items():
        got = read_view(warehouse, "sampled_vs_exact", run_id).sort("keep_prob")
        assert got["keep_prob"].to_list() == sorted(run.samples["keep_prob"].unique().to_list())
        for row in got.iter_rows(named=True):
            p = row["keep_prob"]
            at = run.samples.filter(pl.col("keep_prob") == p)
            sampled = at["loss"].to_numpy().astype(np.float64)
            w = run.mask_weights(p)
            exact_mean = np.sum(w * run.loss)
            exact_std = math.sqrt(np.sum(w * (run.loss - exact_mean) ** 2))
            assert row["n"] == len(sampled)
            assert row["mean_loss_sampled"] == pytest.approx(sampled.mean(), rel=1e-9)
            assert row["mean_loss_exact"] == pytest.approx(exact_mean, rel=1e-9)
            assert row["std_loss_exact"] == pytest.approx(exact_std, rel=1e-6)
            assert row["z_mean_loss"] == pytest.approx((sampled.mean() - exact_mean) / (exact_std / math.sqrt(len(sampled))),
                                                       rel=1e-5, abs=1e-6)
            log_sampled = at["log_loss"].to_numpy().astype(np.float64)
            exact_log = np.sum(w * run.log_loss)
            assert row["mean_log_loss_exact"] == pytest.approx(exact_log, rel=1e-9)
            assert row["std_log_loss_sampled"] == pytest.approx(log_sampled.std(), rel=1e-6)
            grads = np.stack(at["grad"].to_numpy()).astype(np.float64)
            assert row["mean_grad_sampled"] == pytest.approx(grads.mean(), rel=1e-9)
            assert row["mean_grad_exact"] == pytest.approx(np.sum(w[:, None] * run.grad) / run.hidden, rel=1e-9)


def expected_scores(run: Run, small_store) -> dict[str, np.ndarray]:
    full = 2**run.hidden - 1
    half = run.samples.filter(pl.col("keep_prob") == 0.5)
    landmarks = read_table(small_store, "mask_landmarks", run.run_id)
    full_grad = np.array(landmarks.filter(pl.col("mask") == full)["grad"][0], dtype=np.float64)
    return {
        "shapley": run.shapley(),
        "banzhaf": run.banzhaf(),
        "mean_grad_exact": run.grad.mean(axis=0),
        "mean_grad_sampled": np.stack(half["grad"].to_numpy()).astype(np.float64).mean(axis=0),
        "grad_full": full_grad,
        "knockout_effect": np.array([run.loss[full ^ (1 << i)] - run.loss[full] for i in range(run.hidden)]),
    }


def test_importance_scores_and_ranks(warehouse, runs, small_store):
    for run_id, run in runs.items():
        got = read_view(warehouse, "importance_scores", run_id).sort("node")
        assert got["node"].to_list() == list(range(run.hidden))
        for name, want in expected_scores(run, small_store).items():
            np.testing.assert_allclose(got[name].to_numpy(), want, rtol=1e-6, atol=1e-9, err_msg=name)
            # rank 1 = the most helpful node: the most negative value, or the largest knockout effect
            helpful_first = -want if name == "knockout_effect" else want
            np.testing.assert_array_equal(got[f"rank_{name}"].to_numpy(), midranks(helpful_first), err_msg=name)


def test_midranks_share_tied_ranks():
    # the reference itself, on a case worked by hand
    np.testing.assert_array_equal(midranks(np.array([0.3, 0.1, 0.3, 0.2])), [3.5, 1, 3.5, 2])


def test_importance_rank_corr_is_spearman(warehouse, runs, small_store):
    for run_id, run in runs.items():
        scores = expected_scores(run, small_store)
        ranks = {name: midranks(-v if name == "knockout_effect" else v) for name, v in scores.items()}
        got = read_view(warehouse, "importance_rank_corr", run_id)
        assert [(r["score_a"], r["score_b"]) for r in got.iter_rows(named=True)] == list(itertools.combinations(SCORES, 2))
        for row in got.iter_rows(named=True):
            assert row["n_nodes"] == run.hidden
            want = np.corrcoef(ranks[row["score_a"]], ranks[row["score_b"]])[0, 1]
            assert row["spearman"] == pytest.approx(want, abs=1e-9), (row["score_a"], row["score_b"])


def test_flip_effect_samples_are_pairs_through_the_study_masks(warehouse, runs):
    for run_id, run in runs.items():
        got = read_view(warehouse, "flip_effect_samples", run_id).sort("sample_id", "node")
        half = run.samples.filter(pl.col("keep_prob") == 0.5).sort("sample_id")
        assert got.height == half.height * run.hidden
        assert set(got["keep_prob"].to_list()) == {0.5}
        masks = np.repeat(half["mask"].to_numpy(), run.hidden)
        nodes = np.tile(np.arange(run.hidden), half.height)
        off, on = masks & ~(1 << nodes), masks | (1 << nodes)
        np.testing.assert_array_equal(got["sample_id"].to_numpy(), np.repeat(half["sample_id"].to_numpy(), run.hidden))
        np.testing.assert_array_equal(got["off_mask"].to_numpy(), off)
        np.testing.assert_array_equal(got["node_on_in_sample"].to_numpy(), (masks >> nodes) & 1)
        np.testing.assert_array_equal(got["n_on_off"].to_numpy(), run.size[off])
        np.testing.assert_allclose(got["effect"].to_numpy(), run.loss[on] - run.loss[off], rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(got["grad_off"].to_numpy(), run.grad[off, nodes])
        np.testing.assert_array_equal(got["grad_on"].to_numpy(), run.grad[on, nodes])


def test_balance_samples(warehouse, runs):
    for run_id, run in runs.items():
        imbalance = run.imbalance()
        mean_by_size = {k: run.log_loss[run.size == k].mean() for k in range(run.hidden + 1)}
        got = read_view(warehouse, "balance_samples", run_id).sort("keep_prob", "sample_id")
        samples = run.samples.sort("keep_prob", "sample_id")
        assert got.height == samples.height
        masks = samples["mask"].to_numpy()
        np.testing.assert_array_equal(got["mask"].to_numpy(), masks)
        has = np.isfinite(imbalance[masks])
        np.testing.assert_allclose(got["imbalance"].to_numpy()[has], imbalance[masks][has], rtol=1e-9)
        assert got["imbalance"].is_null().to_numpy()[~has].all()
        want = run.log_loss[masks] - np.array([mean_by_size[k] for k in run.size[masks]])
        np.testing.assert_allclose(got["log_loss_vs_size"].to_numpy(), want, rtol=1e-9, atol=1e-12)


def test_best_subnetwork_maps_are_the_best_masks_over_the_grid(warehouse, runs, small_store):
    for run_id, run in runs.items():
        got = read_view(warehouse, "best_subnetwork_maps", run_id)
        assert sorted(got["k"].unique().to_list()) == [k for k in (4, 6, 8) if k <= run.hidden]
        grid = read_table(small_store, "input_grid", run_id).sort("grid_j", "grid_i")
        x = grid.select("x0", "x1").to_numpy().astype(np.float64)
        for k in got["k"].unique().to_list():
            idx = np.flatnonzero(run.size == k)
            best = int(idx[np.argmin(run.loss[idx])])
            rows = got.filter(pl.col("k") == k).sort("grid_j", "grid_i")
            assert set(rows["mask"].to_list()) == {best}
            assert rows.height == grid.height
            # The masked network itself over the grid points, from its weights (not the stored contributions).
            h = np.maximum(x @ run.weights["hidden.weight"].T + run.weights["hidden.bias"], 0) * run.bits[best]
            logits = h @ run.weights["output.weight"].T + run.weights["output.bias"]
            p_outside = 1 / (1 + np.exp(logits[:, 0] - logits[:, 1]))
            np.testing.assert_allclose(rows["p_outside"].to_numpy(), p_outside, atol=2e-5)


def balance_numbers(run: Run) -> dict:
    imbalance = run.imbalance()
    has = np.isfinite(imbalance)
    x, y, size = imbalance[has], run.log_loss[has], run.size[has]
    cutters = (run.bits[:, ~run.bias_like()].sum(axis=1))[has]

    def within(groups: np.ndarray) -> float:
        dx, dy = x.copy(), y.copy()
        for g in np.unique(groups):
            sel = groups == g
            dx[sel] -= x[sel].mean()
            dy[sel] -= y[sel].mean()
        return np.sum(dx * dy) / math.sqrt(np.sum(dx * dx) * np.sum(dy * dy))

    sizes = [k for k in np.unique(size) if np.sum(size == k) >= 3 and x[size == k].var() > 1e-12]
    corr_by_size = [np.corrcoef(x[size == k], y[size == k])[0, 1] for k in sizes]
    return {
        "n_masks": int(has.sum()),
        "corr_pooled": np.corrcoef(x, y)[0, 1],
        "corr_within_size": within(size),
        "corr_within_size_and_cutters": within(size * 100 + cutters),
        "n_sizes": len(sizes),
        "n_sizes_positive": sum(c > 0 for c in corr_by_size),
    }


def test_balance_summary(warehouse, runs):
    for run_id, run in runs.items():
        got = read_view(warehouse, "balance_summary", run_id).row(0, named=True)
        for name, want in balance_numbers(run).items():
            assert got[name] == pytest.approx(want, rel=1e-6, abs=1e-9), name


def test_replication_summary(warehouse, runs, small_store):
    got = read_view(warehouse, "replication_summary", None).sort("run_id")
    assert got["run_id"].to_list() == list(RUNS)
    paths = read_table(small_store, "flip_paths", None)
    for run_id, run in runs.items():
        row = got.filter(pl.col("run_id") == run_id).row(0, named=True)
        n, full = run.hidden, 2**run.hidden - 1
        assert row["train_seed"] == run.row["train_seed"]
        assert row["test_loss"] == pytest.approx(run.row["test_loss"])
        for p, name in ((0.25, "exact_mean_loss_p25"), (0.75, "exact_mean_loss_p75")):
            assert row[name] == pytest.approx(np.sum(run.mask_weights(p) * run.loss), rel=1e-9)
        uniform = np.ones(2**n)
        assert row["skew_loss_p50"] == pytest.approx(weighted_shape(run.loss, uniform)[0], rel=1e-6)
        skew, kurt = weighted_shape(run.log_loss, uniform)
        assert row["skew_log_loss_p50"] == pytest.approx(skew, rel=1e-6, abs=1e-9)
        assert row["kurt_log_loss_p50"] == pytest.approx(kurt, rel=1e-6, abs=1e-9)
        assert row["kurt_grad_p50"] == pytest.approx(weighted_shape(run.grad.ravel(), np.ones(run.grad.size))[1], rel=1e-6)
        # the study's sanity check, sampled and exact: N (p_high − p_low) × mean gradient at ½ over the loss change
        mean_of = {p: run.samples.filter(pl.col("keep_prob") == p) for p in (0.25, 0.5, 0.75)}
        sampled_grad = np.stack(mean_of[0.5]["grad"].to_numpy()).astype(np.float64).mean()
        sampled_change = mean_of[0.75]["loss"].mean() - mean_of[0.25]["loss"].mean()
        assert row["sanity_ratio"] == pytest.approx(0.5 * n * sampled_grad / sampled_change, rel=1e-6)
        exact_change = np.sum(run.mask_weights(0.75) * run.loss) - np.sum(run.mask_weights(0.25) * run.loss)
        assert row["sanity_ratio_exact"] == pytest.approx(0.5 * n * run.grad.mean() / exact_change, rel=1e-9)
        # flip paths: correlation of log loss at the start with k flips on, across paths
        steps = paths.filter(pl.col("run_id") == run_id).sort("path_id", "step")
        n_paths = steps["path_id"].n_unique()
        log_loss = steps["log_loss"].to_numpy().astype(np.float64).reshape(n_paths, n + 1)
        corr = [np.corrcoef(log_loss[:, 0], log_loss[:, k])[0, 1] for k in range(n + 1)]
        below = [k for k in range(n + 1) if abs(corr[k]) < 2 / math.sqrt(n_paths)]
        assert row["decay_length"] == (below[0] if below else None)
        assert row["complement_corr_paths"] == pytest.approx(corr[n], rel=1e-6)
        masks = np.arange(2**n)
        assert row["complement_corr"] == pytest.approx(np.corrcoef(run.log_loss, run.log_loss[masks ^ full])[0, 1], rel=1e-9)
        assert row["n_bias_like"] == int(run.bias_like().sum())
        order = np.lexsort((np.arange(n), run.shapley()))
        assert row["top_node"] == order[0]
        assert list(row["top3_nodes"]) == order[:3].tolist()
        best = np.array([run.loss[run.size == k].min() for k in range(n + 1)])
        # the middle of the map sizes 4, 6, 8 that the network has room for (the lower middle)
        fits = [k for k in (4, 6, 8) if k <= n]
        map_k = fits[(len(fits) - 1) // 2]
        assert row["map_k"] == map_k
        assert row["best_loss_map_k"] == pytest.approx(best[map_k])
        assert row["cheapest_knockout_increase"] == pytest.approx(best[n - 1] / best[n] - 1, rel=1e-6)
        assert row["best_loss_rises"] == int(np.sum(np.diff(best) > 0))
        means = [np.sum(run.mask_weights(p) * run.loss) for p in keep_prob_grid(small_store)]
        assert row["mean_loss_rises"] == int(np.sum(np.diff(means) > 0))
        scores = expected_scores(run, small_store)
        shapley_ranks = midranks(scores["shapley"])
        for name, column in (("mean_grad_sampled", "spearman_shapley_mean_grad_sampled"),
                             ("grad_full", "spearman_shapley_grad_full"),
                             ("knockout_effect", "spearman_shapley_knockout")):
            ranks = midranks(-scores[name] if name == "knockout_effect" else scores[name])
            assert row[column] == pytest.approx(np.corrcoef(shapley_ranks, ranks)[0, 1], abs=1e-9), column
        balance = balance_numbers(run)
        assert row["balance_corr_within_size"] == pytest.approx(balance["corr_within_size"], rel=1e-6)
        assert row["balance_n_sizes_positive"] == balance["n_sizes_positive"]
