"""The exact interactions and spectrum: fast transforms against their definitions by brute force over
subsets (N = 6), against the shapiq library's exact computer (N = 8), and the warehouse's marts
against the same definitions on the small run."""
from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest

from ingest import transforms
from tests.conftest import read_table, read_view

N = 6


def subsets(mask: int):
    """Every subset of the set bits of `mask`, as mask integers."""
    sub = mask
    while True:
        yield sub
        if sub == 0:
            return
        sub = (sub - 1) & mask


@pytest.fixture(scope="module")
def table():
    return np.random.default_rng(7).normal(size=2 ** N)


def test_walsh_coefficients_match_their_definition(table):
    got = transforms.walsh(table)
    for s in range(2 ** N):
        want = np.mean([table[m] * (-1) ** bin(m & s).count("1") for m in range(2 ** N)])
        assert got[s] == pytest.approx(want, abs=1e-12)
    assert np.sum(got ** 2) == pytest.approx(np.mean(table ** 2))  # Parseval


def test_mobius_coefficients_match_their_definition(table):
    got = transforms.mobius(table)
    for t in range(2 ** N):
        want = sum((-1) ** (bin(t).count("1") - bin(s).count("1")) * table[s] for s in subsets(t))
        assert got[t] == pytest.approx(want, abs=1e-12)
    # and they add back up to the game: v(S) = Σ_{T ⊆ S} m(T)
    for s in range(2 ** N):
        assert sum(got[t] for t in subsets(s)) == pytest.approx(table[s], abs=1e-12)


def shapley_interaction(v: np.ndarray, n: int, i: int, j: int) -> float:
    """Grabisch's definition: Σ_{S ⊆ N∖{i,j}} |S|! (n−|S|−2)! / (n−1)! · Δ_ij v(S)."""
    others = [k for k in range(n) if k not in (i, j)]
    total = 0.0
    for size in range(len(others) + 1):
        weight = math.factorial(size) * math.factorial(n - size - 2) / math.factorial(n - 1)
        for chosen in itertools.combinations(others, size):
            s = sum(1 << k for k in chosen)
            bi, bj = 1 << i, 1 << j
            total += weight * (v[s | bi | bj] - v[s | bi] - v[s | bj] + v[s])
    return total


def test_pairwise_interactions_match_their_definition(table):
    _, interactions = transforms.mobius_and_interactions(0, table)
    rows = interactions.to_pylist()
    assert len(rows) == N * (N - 1) // 2
    for row in rows:
        assert row["value"] == pytest.approx(shapley_interaction(table, N, row["i"], row["j"]), abs=1e-12)


def test_shapley_values_are_the_mobius_coefficients_shared_out(table):
    m = transforms.mobius(table)
    for i in range(N):
        phi = sum(m[t] / bin(t).count("1") for t in range(2 ** N) if (t >> i) & 1)
        others = [k for k in range(N) if k != i]
        want = sum(math.factorial(len(c)) * math.factorial(N - len(c) - 1) / math.factorial(N)
                   * (table[sum(1 << k for k in c) | 1 << i] - table[sum(1 << k for k in c)])
                   for size in range(N) for c in itertools.combinations(others, size))
        assert phi == pytest.approx(want, abs=1e-12)


def test_against_shapiq_exact_computer():
    import shapiq  # the estimators extra, installed with the test extra
    n = 8
    values = np.random.default_rng(3).normal(size=2 ** n)

    def game(coalitions):
        coalitions = np.asarray(coalitions, dtype=np.int64)
        return values[(coalitions << np.arange(n)).sum(axis=1)]

    computer = shapiq.ExactComputer(game=game, n_players=n)
    sii = computer(index="SII", order=2)
    moebius = computer(index="Moebius", order=n)
    mobius_rows, interactions = transforms.mobius_and_interactions(0, values)
    for row in interactions.to_pylist():
        assert row["value"] == pytest.approx(sii[(row["i"], row["j"])], abs=1e-10)
    for row in mobius_rows.to_pylist():
        players = tuple(k for k in range(n) if (row["mask"] >> k) & 1)
        assert row["value"] == pytest.approx(moebius[players], abs=1e-10)


@pytest.fixture(scope="module")
def run0(small_store):
    table = read_table(small_store, "mask_exhaustive").sort("mask")
    hidden = int(read_table(small_store, "runs")["hidden"][0])
    return hidden, table["loss"].to_numpy().astype(np.float64), table["log_loss"].to_numpy().astype(np.float64)


def test_spectrum_by_order_splits_the_variance(warehouse, run0):
    n, loss, log_loss = run0
    got = read_view(warehouse, "spectrum_by_order")
    for name, f in (("loss", loss), ("log_loss", log_loss)):
        part = got.filter(pl.col("quantity") == name).sort("order")
        assert part["order"].to_list() == list(range(1, n + 1))
        assert part["energy"].sum() == pytest.approx(f.var(), rel=1e-9)
        assert part["share"].sum() == pytest.approx(1.0)
        # order 1: the best additive fit's variance, Σ_i (half the mean difference on/off of node i)²
        masks = np.arange(2 ** n)
        additive = sum(((f[(masks >> i) & 1 == 1].mean() - f[(masks >> i) & 1 == 0].mean()) / 2) ** 2 for i in range(n))
        assert part["energy"][0] == pytest.approx(additive, rel=1e-9)


def test_flip_path_exact_matches_every_pair_at_distance_k(warehouse, run0):
    n, _, log_loss = run0
    got = read_view(warehouse, "flip_path_exact").sort("k")
    assert got["k"].to_list() == list(range(n + 1))
    masks = np.arange(2 ** n)
    centred = log_loss - log_loss.mean()
    for row in got.iter_rows(named=True):
        flips = [sum(1 << i for i in c) for c in itertools.combinations(range(n), row["k"])]
        cov = np.mean([np.mean(centred * centred[masks ^ d]) for d in flips])
        assert row["cov"] == pytest.approx(cov, rel=1e-9, abs=1e-12)
        assert row["corr"] == pytest.approx(cov / centred.var(), rel=1e-9, abs=1e-12)


def test_shapley_interactions_and_mobius_terms_in_the_warehouse(warehouse, run0):
    n, loss, _ = run0
    pairs = read_view(warehouse, "shapley_interactions")
    assert pairs.height == n * (n - 1)
    for row in pairs.filter(pl.col("i") < pl.col("j")).iter_rows(named=True):
        assert row["value"] == pytest.approx(shapley_interaction(loss, n, row["i"], row["j"]), rel=1e-9, abs=1e-12)
        mirror = pairs.filter((pl.col("i") == row["j"]) & (pl.col("j") == row["i"]))["value"][0]
        assert mirror == row["value"]
    terms = read_view(warehouse, "mobius_terms")
    assert terms.height == n + math.comb(n, 2) + math.comb(n, 3)
    for row in terms.iter_rows(named=True):
        nodes = list(row["nodes"])
        assert sum(1 << k for k in nodes) == row["mask"] and len(nodes) == row["order"]
        want = sum((-1) ** (row["order"] - bin(s).count("1")) * loss[s] for s in subsets(row["mask"]))
        assert row["value"] == pytest.approx(want, rel=1e-9, abs=1e-12)
    for order, part in terms.group_by("order"):
        ranked = part.sort("rank_in_order")["value"].abs().to_list()
        assert ranked == sorted(ranked, reverse=True)
