"""The report's sections beyond the study: the weighted density behind the exact curves, the exact curve
of the small run against numpy, the summary views of the exact sections against numbers computed here
from all 2^N masks, the replication verdicts on a hand-made table, and a store without exhaustive masks."""
from __future__ import annotations

import math
import re

import numpy as np
import polars as pl
import pytest

from reports.build import build_report
from reports.density import density_grid, gaussian_density
from reports.sections import replication
from reports.sections.exact_densities import exact_curve
from tests import oracle
from tests.conftest import SMALL_ARGS, read_table, read_view

BEYOND = ["exact-densities", "exact-means", "importance", "interactions", "gradient-vs-knockout", "sizes", "complements",
          "replication"]


def direct_weighted_kde(values, weights, width, x):
    out = np.zeros_like(x)
    for v, w in zip(values, weights):
        out += w * np.exp(-((x - v) ** 2) / (2 * width**2))
    return out / (np.sum(weights) * width * math.sqrt(2 * math.pi))


def test_weighted_density_matches_a_direct_weighted_sum():
    rng = np.random.default_rng(5)
    values = rng.normal(0.4, 0.3, 400)
    weights = rng.exponential(1.0, 400)
    grid = density_grid(values, 0.03)
    got = gaussian_density(values, 0.03, grid, weights=weights)
    want = direct_weighted_kde(values, weights, 0.03, grid)
    assert np.max(np.abs(got - want)) < 2e-3 * want.max()
    # integer weights are the same as repeating the values
    counts = rng.integers(1, 4, 400)
    np.testing.assert_allclose(gaussian_density(values, 0.03, grid, weights=counts),
                               gaussian_density(np.repeat(values, counts), 0.03, grid), rtol=1e-9, atol=1e-12)


@pytest.fixture(scope="module")
def masks(small_store):
    table = read_table(small_store, "mask_exhaustive").sort("mask")
    n = int(read_table(small_store, "runs")["hidden"][0])
    return {"n": n, "loss": table["loss"].to_numpy().astype(np.float64),
            "grad": np.stack(table["grad"].to_numpy()).astype(np.float64),
            "size": oracle.bits(range(2**n), n).sum(axis=1)}


@pytest.fixture(scope="module")
def histogram(warehouse):
    return warehouse.execute("select quantity, n_on, n, mean_value from exhaustive_histogram where run_id = 0").pl()


@pytest.mark.parametrize("p", [0.25, 0.5, 0.75])
def test_exact_curve_is_the_weighted_distribution_of_the_loss(histogram, masks, p):
    curve = exact_curve(histogram, "loss", p, masks["n"], 0.03)
    x, dens = curve["x"].to_numpy(), curve["density"].to_numpy()
    w = p ** masks["size"] * (1 - p) ** (masks["n"] - masks["size"])
    assert np.trapezoid(dens, x) == pytest.approx(1.0, abs=2e-3)
    # 0.002-wide bins and a cut of 1e-4 of the probability in the tails move the mean by far less than this
    assert np.trapezoid(x * dens, x) == pytest.approx(np.sum(w * masks["loss"]), abs=5e-3)
    want = direct_weighted_kde(masks["loss"], w, 0.03, x)
    assert np.max(np.abs(dens - want)) < 0.02 * want.max()


def shapley(loss: np.ndarray, n: int) -> np.ndarray:
    """By the permutation definition, over every order of the n nodes."""
    import itertools
    phi = np.zeros(n)
    orders = list(itertools.permutations(range(n)))
    for order in orders:
        mask = 0
        for node in order:
            phi[node] += loss[mask | (1 << node)] - loss[mask]
            mask |= 1 << node
    return phi / len(orders)


def test_importance_summary(warehouse, masks):
    n, loss = masks["n"], masks["loss"]
    phi = shapley(loss, n)
    s = read_view(warehouse, "importance_summary").row(0, named=True)
    assert s["top3_nodes"] == np.lexsort((np.arange(n), phi))[:3].tolist()
    assert s["shapley_sum"] == pytest.approx(phi.sum(), abs=1e-6)
    assert s["loss_all_on_minus_all_off"] == pytest.approx(loss[-1] - loss[0], abs=1e-6)
    assert s["n_raise_loss"] == int((phi > 0).sum())
    bias = set(read_view(warehouse, "node_directions").filter(pl.col("bias_like"))["node"].to_list())
    assert s["n_bias_like"] == len(bias)
    assert s["n_raise_loss_bias_like"] == sum(1 for i in np.flatnonzero(phi > 0) if i in bias)
    rho = read_view(warehouse, "importance_rank_corr").filter(
        (pl.col("score_a") == "shapley") & pl.col("score_b").is_in(["mean_grad_sampled", "grad_full", "knockout_effect"]))
    best = rho.sort("spearman", descending=True).row(0, named=True)
    assert (s["best_cheap_score"], s["best_cheap_spearman"]) == (best["score_b"], pytest.approx(best["spearman"]))


def test_size_summary(warehouse, masks):
    n, loss, size = masks["n"], masks["loss"], masks["size"]
    best = np.array([loss[size == k].min() for k in range(n + 1)])
    s = read_view(warehouse, "size_summary").row(0, named=True)
    assert s["full_loss"] == pytest.approx(loss[-1])
    one_less = np.flatnonzero(size == n - 1)[np.argmin(loss[size == n - 1])]
    assert s["one_less_node_off"] == int(np.log2((2**n - 1) ^ one_less))
    assert s["one_less_change"] == pytest.approx(best[n - 1] / best[n] - 1, rel=1e-6)
    assert s["rising_sizes"] == [k for k in range(1, n + 1) if best[k] > best[k - 1]]


def test_complement_summary(warehouse, masks):
    n, loss, size = masks["n"], np.log(masks["loss"]), masks["size"]
    complement = loss[np.arange(2**n) ^ (2**n - 1)]
    s = read_view(warehouse, "complement_summary").row(0, named=True)
    assert s["pooled_corr"] == pytest.approx(np.corrcoef(loss, complement)[0, 1], rel=1e-5)
    per_k = {k: np.corrcoef(loss[size == k], complement[size == k])[0, 1] for k in range(n + 1) if (size == k).sum() >= 3}
    lowest = min(per_k, key=lambda k: (per_k[k], min(k, n - k)))
    assert s["lowest_corr"] == pytest.approx(per_k[lowest], rel=1e-5)
    assert s["lowest_k"] == min(lowest, n - lowest)


def test_flip_effect_summary(warehouse, masks):
    n, loss, grad = masks["n"], masks["loss"], masks["grad"]
    misled, pairs = [], 0
    for node in range(n):
        off = np.flatnonzero(((np.arange(2**n) >> node) & 1) == 0)
        on = off | (1 << node)
        effect = loss[on] - loss[off]
        misled.append(np.mean(np.sign(grad[on, node]) != np.sign(effect)))
        pairs += len(off)
    s = read_view(warehouse, "flip_effect_summary").row(0, named=True)
    assert s["n_pairs"] == pairs
    assert s["mean_share_misled"] == pytest.approx(np.mean(misled), abs=1e-9)
    assert s["most_misled_node"] == int(np.argmax(misled))


def test_expected_loss_summary(warehouse, masks):
    n, loss, size = masks["n"], masks["loss"], masks["size"]
    moments = read_view(warehouse, "exact_moments")
    s = read_view(warehouse, "expected_loss_summary").row(0, named=True)
    expected = {p: np.sum(p**size * (1 - p) ** (n - size) * loss) for p in moments["keep_prob"]}
    peak = max(expected, key=expected.get)
    assert s["peak_keep_prob"] == pytest.approx(peak) and s["peak_mean_loss"] == pytest.approx(expected[peak], rel=1e-6)
    assert s["empty_loss"] == pytest.approx(loss[0])
    z = read_view(warehouse, "sampled_vs_exact")["z_mean_loss"].to_numpy()
    assert s["n_within_two_se"] == int((np.abs(z) < 2).sum())


def test_sampled_exact_gap_is_half_the_area_between_the_curves(warehouse, small_store, masks):
    """Against direct kernel sums: the sampled masks' losses, and every mask's loss weighted by its chance."""
    width = float(warehouse.execute("select value from study_reference where key = 'kernel_width'").fetchone()[0])
    gap = read_view(warehouse, "sampled_exact_gap")
    assert set(gap["quantity"]) == {"loss", "log_loss", "grad"}
    samples = read_table(small_store, "mask_samples")
    n, size = masks["n"], masks["size"]
    for p in (0.25, 0.5, 0.75):
        sampled = samples.filter(pl.col("keep_prob") == p)["loss"].to_numpy().astype(np.float64)
        x = np.linspace(min(sampled.min(), masks["loss"].min()) - 6 * width,
                        max(sampled.max(), masks["loss"].max()) + 6 * width, 4000)
        exact = direct_weighted_kde(masks["loss"], p**size * (1 - p) ** (n - size), width, x)
        ours = direct_weighted_kde(sampled, np.ones_like(sampled), width, x)
        want = 0.5 * np.trapezoid(np.abs(ours - exact), x)
        got = gap.filter((pl.col("keep_prob") == p) & (pl.col("quantity") == "loss"))["share_misplaced"][0]
        assert got == pytest.approx(want, abs=5e-3)


def test_replication_ranges_span_the_networks(warehouse):
    summary = read_view(warehouse, "replication_summary", None)
    r = warehouse.execute("select * from replication_ranges").pl().row(0, named=True)
    assert r["n_runs"] == summary.height
    assert (r["min_decay_length"], r["max_decay_length"]) == (summary["decay_length"].min(), summary["decay_length"].max())
    assert r["top_nodes"] == summary.sort("run_id")["top_node"].to_list()


def test_study_findings_derive_the_study_numbers():
    import duckdb
    from ingest import catalog
    con = duckdb.connect()
    for name, path in catalog.seeds().items():
        con.execute(f"create table {name} as select * from read_csv('{path}', header = true, auto_detect = true)")
    con.execute((catalog.SQL_DIR / "staging" / "study_keep_probs.sql").read_text())
    con.execute((catalog.SQL_DIR / "views" / "study_findings.sql").read_text())
    rows = {r["finding"]: r for r in con.execute("select * from study_findings").pl().iter_rows(named=True)}
    assert rows["sanity_ratio"]["study_value"] == pytest.approx(-0.4751453 / (0.584365 - 1.0277158))
    assert rows["cheapest_knockout_increase"]["study_value"] == pytest.approx(0.119 / 0.117 - 1)
    assert (rows["decay_length"]["study_value"], rows["decay_length"]["study_value_high"]) == (5, 6)
    assert rows["exact_mean_loss_p25"]["keep_prob"] == 0.25 and rows["skew_loss_p50"]["keep_prob"] == 0.5


def test_verdicts_count_the_networks_where_a_finding_holds():
    summary = pl.DataFrame({
        "run_id": [0, 1, 2], "train_seed": [0, 1, 2],
        "kurt_grad_p50": [0.5, -0.2, 1.0],  # heavy tails in 2 of 3
        "complement_corr_paths": [0.3, 0.4, 0.1],  # positive in all
        "cheapest_knockout_increase": [0.2, 0.3, 0.4],  # near-free knockout in none
    })
    listed = [
        replication.Finding("kurt_grad_p50", "kurtosis", claim=lambda v: v > 0, claim_text="heavy tails"),
        replication.Finding("complement_corr_paths", "complement", claim=lambda v: v > 0, claim_text="complement"),
        replication.Finding("cheapest_knockout_increase", "cheapest", claim=lambda v: v < 0.05, claim_text="for free"),
    ]
    assert replication.verdicts(summary, listed) == {
        "kurt_grad_p50": (2, 3), "complement_corr_paths": (3, 3), "cheapest_knockout_increase": (0, 3)}
    text = replication.sentence(summary, listed)
    every, some, none = text.index("Holds for every"), text.index("Holds for some"), text.index("Fails for every")
    assert every < text.index("complement") < some < text.index("heavy tails (2 of 3)") < none < text.index("for free")
    table = replication.replication_table(summary, listed)
    assert "holds in 2 of 3" in table and "holds in all 3" in table and "fails in all 3" in table


def test_a_store_without_exhaustive_masks_gets_a_note_not_a_crash(tmp_path, shared_store):
    store = shared_store(*SMALL_ARGS, "--no-exhaustive")  # also read by test_cli
    out = tmp_path / "index.html"
    build_report(store, out)
    text = out.read_text(encoding="utf-8")
    sections = re.findall(r'<section id="([^"]+)"', text)
    assert sections[-1] == "exact" and not set(BEYOND) & set(sections)
    note = re.search(r'<section id="exact">.*?<p class="caption">(.*?)</p>', text, re.S).group(1)
    assert "--no-exhaustive" in note
