"""The report's sections beyond the study: the weighted density behind the exact curves, the exact curve
of the small run against numpy, captions against numbers computed here, the replication verdicts on a
hand-made table, and a store without exhaustive masks."""
from __future__ import annotations

import html
import itertools
import math
import re

import numpy as np
import polars as pl
import pytest

from reports import replication
from reports.build import build_report
from reports.density import density_grid, gaussian_density
from reports.exact_data import load_exact
from reports.figures_exact import exact_curve
from reports.warehouse import Warehouse
from tests import oracle
from tests.conftest import SMALL_ARGS, read_table, run_cli

BEYOND = ["exact-densities", "exact-means", "importance", "gradient-vs-knockout", "sizes", "complements", "replication"]


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
def exact(warehouse):
    return load_exact(Warehouse(warehouse, 0), int(warehouse.execute("select hidden from runs where run_id = 0").fetchone()[0]))


@pytest.fixture(scope="module")
def masks(small_store):
    table = read_table(small_store, "mask_exhaustive").sort("mask")
    n = int(read_table(small_store, "runs")["hidden"][0])
    return {"n": n, "loss": table["loss"].to_numpy().astype(np.float64),
            "size": oracle.bits(range(2**n), n).sum(axis=1)}


@pytest.mark.parametrize("p", [0.25, 0.5, 0.75])
def test_exact_curve_is_the_weighted_distribution_of_the_loss(exact, masks, p):
    curve = exact_curve(exact, "loss", p, 0.03)
    x, dens = curve["x"].to_numpy(), curve["density"].to_numpy()
    w = p ** masks["size"] * (1 - p) ** (masks["n"] - masks["size"])
    assert np.trapezoid(dens, x) == pytest.approx(1.0, abs=2e-3)
    # 0.002-wide bins and a cut of 1e-4 of the probability in the tails move the mean by far less than this
    assert np.trapezoid(x * dens, x) == pytest.approx(np.sum(w * masks["loss"]), abs=5e-3)
    want = direct_weighted_kde(masks["loss"], w, 0.03, x)
    assert np.max(np.abs(dens - want)) < 0.02 * want.max()


@pytest.fixture(scope="module")
def page(small_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("beyond") / "index.html"
    build_report(small_store, out, write_snapshots=False)
    return out.read_text(encoding="utf-8")


def caption(page: str, anchor: str) -> str:
    section = re.search(rf'<section id="{anchor}">(.*?)</section>', page, re.S).group(1)
    return html.unescape(re.search(r'<p class="caption">(.*?)</p>', section, re.S).group(1))


def test_captions_quote_numbers_computed_here(page, masks):
    loss, n = masks["loss"], masks["n"]
    phi = np.zeros(n)
    for order in itertools.permutations(range(n)):
        mask = 0
        for node in order:
            phi[node] += loss[mask | (1 << node)] - loss[mask]
            mask |= 1 << node
    top = np.lexsort((np.arange(n), phi))[:3]
    assert f"Shapley top 3: nodes {top[0]}, {top[1]} and {top[2]}" in caption(page, "importance")
    best4 = loss[masks["size"] == 4].min()
    assert f"4 nodes {best4:.3f}" in caption(page, "sizes")
    full = 2**n - 1
    comp = np.corrcoef(np.log(loss), np.log(loss[np.arange(2**n) ^ full]))[0, 1]
    assert f"pooled {comp:+.3f}" in caption(page, "complements")


def test_replication_table_has_a_column_per_network(page, small_store):
    runs = read_table(small_store, "runs", None).sort("run_id")
    header = re.search(r'<table id="replication-table"><thead><tr>(.*?)</tr>', page).group(1)
    names = [html.unescape(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", header)]
    assert names[2:-1] == [f"run {r} (seed {s})" for r, s in zip(runs["run_id"], runs["train_seed"])]
    rows = re.search(r'<table id="replication-table">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    seed_row = [r for r in re.findall(r"<tr>(.*?)</tr>", rows) if "full-network test loss" in r][0]
    cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", seed_row)]
    assert cells[2:2 + runs.height] == [f"{v:.4f}" for v in runs["test_loss"]]


def test_verdicts_count_the_networks_where_a_finding_holds():
    summary = pl.DataFrame({
        "run_id": [0, 1, 2], "train_seed": [0, 1, 2],
        "kurt_grad_p50": [0.5, -0.2, 1.0],  # heavy tails in 2 of 3
        "complement_corr_paths": [0.3, 0.4, 0.1],  # positive in all
        "cheapest_knockout_increase": [0.2, 0.3, 0.4],  # near-free knockout in none
    })
    assert replication.verdicts(summary) == {
        "kurt_grad_p50": (2, 3), "complement_corr_paths": (3, 3), "cheapest_knockout_increase": (0, 3)}
    text = replication.sentence(summary)
    every, some, none = text.index("Holds for every"), text.index("Holds for some"), text.index("Fails for every")
    assert every < text.index("complement's") < some < text.index("heavier-tailed than a normal (2 of 3)") < none
    assert text.index("almost for free") > none
    table = replication.replication_table(summary)
    assert "holds in 2 of 3" in table and "holds in all 3" in table and "fails in all 3" in table


def test_a_store_without_exhaustive_masks_gets_a_note_not_a_crash(tmp_path):
    store = tmp_path / "store"
    run_cli("--store", str(store), *SMALL_ARGS, "--no-exhaustive", "--no-report", check=True)
    out = tmp_path / "index.html"
    build_report(store, out, write_snapshots=False)
    text = out.read_text(encoding="utf-8")
    sections = re.findall(r'<section id="([^"]+)"', text)
    assert sections[-1] == "exact" and not set(BEYOND) & set(sections)
    assert "--no-exhaustive" in caption(text, "exact")
