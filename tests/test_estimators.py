"""The estimator benchmark: the estimators against brute-force Shapley and Banzhaf values, the metrics
against scipy, the stage (opt-in, the default run's files unchanged), the views against polars over
the Parquet rows, and the command's error paths."""
from __future__ import annotations

import itertools
import json
import math
import shutil
import subprocess
import sys

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy import stats

from ingest import estimator_bench as eb
from ingest import estimators as est
from ingest.config import Config
from tests.conftest import ROOT, run_main

N = 8
BENCH_BUDGET = 128
BENCH_REPS = 3


def random_game(seed: int = 3, n: int = N) -> np.ndarray:
    """A loss table with interactions of every order: the hardest case for a sampler."""
    return np.random.default_rng(seed).random(1 << n)


def brute_force_permutations(loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every permutation's marginal contributions (n! × n), straight from the definition."""
    n = loss.size.bit_length() - 1
    rows = []
    for order in itertools.permutations(range(n)):
        mask, row = 0, np.empty(n)
        for node in order:
            row[node] = loss[mask | (1 << node)] - loss[mask]
            mask |= 1 << node
        rows.append(row)
    return np.array(rows), np.array(rows).mean(axis=0)


@pytest.fixture(scope="module")
def game():
    loss = random_game()
    contributions, shapley = brute_force_permutations(loss)
    return {"loss": loss, "shapley": shapley, "sigma": contributions.std(axis=0)}


# --- exact values --------------------------------------------------------------------------------

def test_exact_shapley_is_the_permutation_definition(game):
    assert np.allclose(est.exact_shapley(game["loss"]), game["shapley"], atol=1e-12)
    # efficiency: the values add up to v(all on) − v(all off)
    assert math.isclose(game["shapley"].sum(), game["loss"][-1] - game["loss"][0], abs_tol=1e-12)


def test_exact_banzhaf_is_the_mean_over_subsets(game):
    loss, n = game["loss"], N
    expected = [np.mean([loss[m | (1 << i)] - loss[m] for m in range(1 << n) if not m >> i & 1]) for i in range(n)]
    assert np.allclose(est.exact_banzhaf(loss), expected, atol=1e-12)


# --- metrics against scipy -----------------------------------------------------------------------

def test_spearman_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = rng.integers(0, 4, 7).astype(float)  # many ties
        b = rng.normal(size=7)
        expected = stats.spearmanr(a, b).statistic
        got = est.spearman(a, b)
        assert (got is None and np.isnan(expected)) or math.isclose(got, expected, abs_tol=1e-12)
    assert est.spearman(np.ones(5), np.arange(5.0)) is None  # a constant estimate has no ranking


def test_top3_precision_and_errors_against_an_independent_count():
    rng = np.random.default_rng(1)
    for _ in range(50):
        exact, estimate = rng.normal(size=9), rng.normal(size=9)
        truth = set(np.argsort(exact)[:3].tolist())  # no ties among normal draws
        found = set(np.argsort(estimate)[:3].tolist())
        assert est.top_precision(estimate, exact) == len(truth & found) / 3
        scores = eb._scores(estimate, exact)
        assert math.isclose(scores["mae"], float(np.mean(np.abs(estimate - exact))))
        assert math.isclose(scores["max_abs_error"], float(np.max(np.abs(estimate - exact))))
    # ties go to the lower node, as importance_summary ranks them
    assert est.top_nodes(np.array([0.0, -1.0, -1.0, -1.0, -1.0])) == {1, 2, 3}


# --- the estimators against the truth ------------------------------------------------------------

@pytest.mark.parametrize("name", ["shapiq_kernelshap", "shapiq_unbiased_kernelshap", "shapiq_svarm",
                                  "shapiq_regression_banzhaf"])
def test_shapiq_is_exact_once_the_budget_covers_every_mask(game, name):
    """shapiq evaluates every coalition when the budget allows: any slip in turning its coalitions
    into masks (bit order, the empty and full network) shows as an error here."""
    estimate, evaluations, _ = est.run_one(game["loss"], name, 1 << N, seed=5)
    exact = est.exact_banzhaf(game["loss"]) if est.BY_NAME[name].index == "banzhaf" else game["shapley"]
    assert evaluations <= 1 << N
    assert np.allclose(estimate, exact, atol=1e-9)


# Permutations each estimator finished, from the evaluations it used: captum evaluates the baseline
# once, then N masks per permutation; shapiq's permutation sampling and TMC evaluate the empty and the
# full network once, then N − 1 masks per (untruncated) permutation.
PERMUTATIONS = {"captum_shapley_sampling": lambda e: (e - 1) / N, "shapiq_permutation": lambda e: (e - 2) / (N - 1),
                "tmc_zero": lambda e: (e - 2) / (N - 1)}


@pytest.mark.parametrize("name", sorted(PERMUTATIONS))
def test_permutation_estimators_lie_within_their_standard_error(game, name):
    """A permutation estimate is the mean of P marginal contributions drawn from the node's exact
    distribution over permutations (brute force): its standard error is σ_i/√P. Six standard errors:
    by Chebyshev at most 1/36 per node for any distribution, ~2e-9 for a normal mean."""
    budget = 4096
    if name == "tmc_zero":
        g = est.LossGame(game["loss"])
        estimate = est.tmc_shapley(g, budget, seed=11, tolerance=0.0)
        evaluations = g.evaluations
    else:
        estimate, evaluations, _ = est.run_one(game["loss"], name, budget, seed=11)
    assert evaluations <= budget
    permutations = PERMUTATIONS[name](evaluations)
    assert permutations == int(permutations) and permutations > 100
    bound = 6 * game["sigma"] / math.sqrt(permutations)
    assert np.all(np.abs(estimate - game["shapley"]) <= bound), (estimate - game["shapley"]) / bound


@pytest.mark.parametrize("name", ["shapiq_stratified", "shapiq_unbiased_kernelshap", "shapiq_svarm"])
def test_unbiased_samplers_average_to_the_exact_values(game, name):
    """Unbiased samplers whose variance has no closed form: over R seeded repetitions at a budget below
    2^N, the mean estimate lies within 5 sample standard errors of the exact value (Student t, R − 1
    degrees of freedom: ~1e-4 per node)."""
    runs = np.array([est.run_one(game["loss"], name, 192, seed=s)[0] for s in range(20)])
    mean, error = runs.mean(axis=0), runs.std(axis=0, ddof=1) / math.sqrt(len(runs))
    assert np.all(error > 0)  # sampled, not exact
    assert np.all(np.abs(mean - game["shapley"]) <= 5 * error + 1e-12)


def owen_expectation(loss: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """What Owen sampling averages to with equal draws at each anchor q: the mean over the anchors of
    E[v(S ∪ i) − v(S)], S holding each other node with probability q, by enumeration."""
    n = loss.size.bit_length() - 1
    out = np.zeros(n)
    for i in range(n):
        without = [m for m in range(1 << n) if not m >> i & 1]
        sizes = np.array([bin(m).count("1") for m in without])
        delta = np.array([loss[m | (1 << i)] - loss[m] for m in without])
        out[i] = np.mean([np.sum(q ** sizes * (1 - q) ** (n - 1 - sizes) * delta) for q in anchors])
    return out


def test_owen_sampling_averages_to_its_quadrature_not_the_shapley_value(game):
    """shapiq's Owen sampling draws marginal contributions at 10 anchors q = 0, 1/9, … 1 of Owen's
    integral φ_i = ∫ E_q[Δ_i] dq and averages them: an unbiased estimate of that mean over anchors,
    which is not the integral. With equal draws per (node, anchor) (budget 1 + 2·N·10·k), the mean over
    seeds lies within 5 standard errors of the anchors' mean — and here away from the Shapley value."""
    runs = np.array([est.run_one(game["loss"], "shapiq_owen", 1 + 2 * N * 10 * 3, seed=s)[0] for s in range(20)])
    mean, error = runs.mean(axis=0), runs.std(axis=0, ddof=1) / math.sqrt(len(runs))
    target = owen_expectation(game["loss"], np.linspace(0.0, 1.0, 10))
    assert np.all(np.abs(mean - target) <= 5 * error + 1e-12)
    assert np.max(np.abs(target - game["shapley"])) > 0.01  # the quadrature's bias on this game


def test_tmc_without_truncation_is_efficient_and_unbiased(game):
    """Each untruncated permutation's contributions add up to v(N) − v(∅), so every estimate does; and
    the mean over seeds is the exact value within its standard error (σ_i / √(total permutations))."""
    total = game["loss"][-1] - game["loss"][0]
    estimates = []
    for seed in range(10):
        g = est.LossGame(game["loss"])
        estimates.append(est.tmc_shapley(g, 1024, seed=seed, tolerance=0.0))
        assert math.isclose(estimates[-1].sum(), total, abs_tol=1e-9)
    permutations = 10 * ((1024 - 2) // (N - 1))
    assert np.all(np.abs(np.mean(estimates, axis=0) - game["shapley"]) <= 6 * game["sigma"] / math.sqrt(permutations))


def test_tmc_truncates_once_the_running_value_is_near_the_full_network():
    """A game where node 0 takes the loss from 1 to within the tolerance of the full network's, and
    every other node then adds 1e-4 (and nothing before node 0 joins): every permutation is cut right
    after node 0, so the others get exactly 0; without truncation they get their small share."""
    n = 5
    masks = np.arange(1 << n)
    loss = np.where(masks & 1, 0.1 + 1e-4 * est.popcount(masks >> 1), 1.0)
    cut = est.tmc_shapley(est.LossGame(loss), 1000, seed=0, tolerance=0.01)
    assert cut[0] < -0.85 and np.all(cut[1:] == 0)
    whole = est.tmc_shapley(est.LossGame(loss), 1000, seed=0, tolerance=0.0)
    assert np.all(whole[1:] > 0) and math.isclose(whole.sum(), loss[-1] - loss[0], abs_tol=1e-12)


def test_seeds_make_every_estimate_reproducible(game):
    for e in est.ESTIMATORS:
        a = est.run_one(game["loss"], e.name, 64, seed=9)
        b = est.run_one(game["loss"], e.name, 64, seed=9)
        assert np.array_equal(a[0], b[0]) and a[1] == b[1] <= 64, e.name


# --- the stage, the table and the views ----------------------------------------------------------

def test_the_stage_is_off_by_default():
    config = Config()
    assert config.estimators is False and config.estimator_runs == (0,)
    assert config.estimator_max_budget == 1 << 16 and config.estimator_repetitions == 10


@pytest.fixture(scope="module")
def bench_run(small_store, tmp_path_factory):
    """A copy of the small store (estimators off), then the command on it: run 0 only, budgets 64
    and 128, three repetitions."""
    store = tmp_path_factory.mktemp("bench") / "store"
    shutil.copytree(small_store, store)
    proc = estimators_cli("--store", str(store), "--max-budget", str(BENCH_BUDGET), "--repetitions",
                          str(BENCH_REPS), "--no-report")
    assert proc.returncode == 0, proc.stderr
    return store, proc


@pytest.fixture(scope="module")
def bench_store(bench_run):
    return bench_run[0]


def manifest_files(store) -> dict:
    return json.loads((store / "manifest.json").read_text())["files"]


def test_default_run_has_an_empty_table_and_the_same_other_files(small_store, bench_store):
    off, on = manifest_files(small_store), manifest_files(bench_store)
    empty = {rel: meta for rel, meta in off.items() if rel.startswith("estimator_benchmark/")}
    assert sorted(empty) == ["estimator_benchmark/run-0.parquet", "estimator_benchmark/run-1.parquet"]
    assert all(meta["rows"] == 0 for meta in empty.values())
    others = {rel: meta["sha256"] for rel, meta in off.items() if rel not in empty}
    assert others == {rel: meta["sha256"] for rel, meta in on.items() if not rel.startswith("estimator_benchmark/")}
    assert on["estimator_benchmark/run-1.parquet"]["rows"] == 0  # not in estimator_runs
    con = duckdb.connect(str(small_store / "warehouse.duckdb"), read_only=True)
    try:
        for view in ("estimator_error_curve", "estimator_budget_needed"):
            assert con.execute(f"select count(*) from {view}").fetchone()[0] == 0
    finally:
        con.close()


@pytest.fixture(scope="module")
def bench(bench_store) -> pl.DataFrame:
    return pl.read_parquet(bench_store / "estimator_benchmark" / "*.parquet")


def test_table_rows_and_scores_against_the_exact_marts(bench_store, bench):
    con = duckdb.connect(str(bench_store / "warehouse.duckdb"), read_only=True)
    try:
        exact = {"shapley": con.execute("select shapley from shapley_values where run_id = 0 order by node").fetchnumpy()["shapley"],
                 "banzhaf": con.execute("select banzhaf from banzhaf_values where run_id = 0 order by node").fetchnumpy()["banzhaf"]}
    finally:
        con.close()
    budgets = [64, 128]
    sampled = bench.filter(pl.col("library") != "warehouse")
    assert sorted(set(sampled["budget"])) == budgets
    assert len(sampled) == len(est.ESTIMATORS) * len(budgets) * BENCH_REPS
    assert set(bench.filter(pl.col("library") == "warehouse")["estimator"]) == set(est.PROXIES)
    assert (bench["run_id"] == 0).all() and (bench["evaluations"] <= bench["budget"]).all()
    for row in bench.iter_rows(named=True):
        estimate, truth = np.array(row["estimate"]), exact[row["target"]]
        assert math.isclose(row["mae"], float(np.mean(np.abs(estimate - truth))), rel_tol=1e-6, abs_tol=1e-9)
        rho = stats.spearmanr(estimate, truth).statistic
        assert (row["spearman"] is None) == bool(np.isnan(rho))
        if row["spearman"] is not None:
            assert math.isclose(row["spearman"], rho, abs_tol=1e-9)
        top = len(set(np.argsort(estimate, kind="stable")[:3]) & set(np.argsort(truth, kind="stable")[:3])) / 3
        assert row["top3_precision"] == top
        assert math.isclose(row["kernel_seconds"], bench["kernel_seconds"][0] / bench["evaluations"][0] * row["evaluations"],
                            rel_tol=1e-9)


def test_proxies_are_the_warehouse_scores(bench_store, bench):
    con = duckdb.connect(str(bench_store / "warehouse.duckdb"), read_only=True)
    try:
        scores = con.execute("select mean_grad_exact, knockout_effect, grad_full from importance_scores "
                             "where run_id = 0 order by node").pl()
    finally:
        con.close()
    proxies = {r["estimator"]: np.array(r["estimate"]) for r in bench.filter(pl.col("library") == "warehouse").iter_rows(named=True)}
    assert np.allclose(proxies["mean_grad_exact"], scores["mean_grad_exact"].to_numpy(), atol=1e-9)
    assert np.allclose(proxies["knockout"], -scores["knockout_effect"].to_numpy(), atol=1e-6)
    assert np.allclose(proxies["grad_full"], scores["grad_full"].to_numpy(), atol=1e-7)


def test_error_curve_view_against_polars(bench_store, bench):
    expected = (bench.group_by(["run_id", "target", "estimator", "budget"]).agg(
        pl.len().alias("repetitions"), pl.col("evaluations").mean().alias("evaluations_mean"),
        pl.col("evaluations").max().alias("evaluations_max"), pl.col("mae").mean().alias("mae_mean"),
        pl.col("mae").std(ddof=0).alias("mae_std"), pl.col("mae").min().alias("mae_min"),
        pl.col("mae").max().alias("mae_max"), pl.col("max_abs_error").mean().alias("max_abs_error_mean"),
        pl.col("spearman").mean().alias("spearman_mean"), pl.col("spearman").min().alias("spearman_min"),
        pl.col("top3_precision").mean().alias("top3_precision_mean"),
        (pl.col("spearman") >= 0.95).sum().alias("n_rho_reached"),
        (pl.col("top3_precision") == 1).sum().alias("n_top3_reached"),
        pl.col("wall_seconds").mean().alias("wall_seconds_mean"),
        pl.col("kernel_seconds").mean().alias("kernel_seconds_mean"),
        pl.col("library").first()).sort(["run_id", "target", "estimator", "budget"]))
    con = duckdb.connect(str(bench_store / "warehouse.duckdb"), read_only=True)
    try:
        got = con.execute("select * from estimator_error_curve order by run_id, target, estimator, budget").pl()
    finally:
        con.close()
    assert sorted(got.columns) == sorted(expected.columns)
    assert len(got) == len(expected)
    for column in expected.columns:
        a, b = got[column].to_list(), expected[column].to_list()
        for x, y in zip(a, b):
            assert (x is None and y is None) or x == y or math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12), column


def test_budget_needed_view_against_polars(bench_store, bench):
    con = duckdb.connect(str(bench_store / "warehouse.duckdb"), read_only=True)
    try:
        got = {(r["target"], r["estimator"]): r for r in
               con.execute("select * from estimator_budget_needed where run_id = 0").pl().iter_rows(named=True)}
    finally:
        con.close()
    assert len(got) == len(est.ESTIMATORS) + len(est.PROXIES)
    for (target, name), rows in bench.partition_by(["target", "estimator"], as_dict=True).items():
        r = got[(target, name)]
        per_budget = {}
        for budget, group in rows.group_by("budget"):
            rho = group["spearman"].drop_nulls()
            per_budget[budget[0]] = (len(rho) == len(group) and rho.mean() >= 0.95, (group["top3_precision"] == 1).all())
        first = lambda test: min((b for b, flags in per_budget.items() if test(flags)), default=None)  # noqa: E731
        assert r["budget_rho"] == first(lambda f: f[0])
        assert r["budget_top3"] == first(lambda f: f[1])
        assert r["budget_both"] == first(lambda f: f[0] and f[1])
        top = rows.filter(pl.col("budget") == rows["budget"].max())
        assert r["max_budget"] == rows["budget"].max()
        assert math.isclose(r["final_mae"], top["mae"].mean(), rel_tol=1e-9, abs_tol=1e-15)
        assert math.isclose(r["final_top3_precision"], top["top3_precision"].mean())
        assert math.isclose(r["total_wall_seconds"], rows["wall_seconds"].sum(), rel_tol=1e-9)
        assert math.isclose(r["total_kernel_seconds"], rows["kernel_seconds"].sum(), rel_tol=1e-9)
        assert r["total_evaluations"] == rows["evaluations"].sum()


# --- the command ---------------------------------------------------------------------------------

def estimators_subprocess(*args):
    return subprocess.run([sys.executable, "-m", "ingest.estimators", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def estimators_cli(*args):
    """`python -m ingest.estimators ARGS` in this process (conftest's run_main); test_the_command_itself
    runs the real command."""
    from ingest.estimator_cli import main
    return run_main("ingest.estimators", main, *args)


def test_the_command_itself_refuses_a_bad_flag_in_one_line(tmp_path):
    proc = estimators_subprocess("--store", str(tmp_path / "nope"), "--bogus")
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--bogus" in lines[0], proc.stderr


@pytest.mark.parametrize("args", [
    ["--bogus"],
    ["--store", "{missing}"],
    ["--store", "{foreign}"],
    ["--store", "{small}", "--max-budget", "100"],
    ["--store", "{small}", "--repetitions", "0"],
    ["--store", "{small}", "--runs", "5"],
    ["--store", "{small}", "--runs", "x"],
    ["--store", "{small}", "--report", "{small}/page.html"],
])
def test_command_errors_are_one_line_and_touch_nothing(args, small_store, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    before = (small_store / "manifest.json").read_bytes()
    filled = [a.format(missing=tmp_path / "nope", foreign=foreign, small=small_store) for a in args]
    proc = estimators_cli(*filled)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert (small_store / "manifest.json").read_bytes() == before
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]


def test_command_prints_one_json_line_per_estimator(bench_run):
    """Only the estimators stage and the warehouse are computed; every other unit is reused."""
    store, proc = bench_run
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted((r["target"], r["estimator"]) for r in rows) == sorted(
        [(e.index, e.name) for e in est.ESTIMATORS] + [("shapley", p) for p in est.PROXIES])
    assert all(r["run_id"] == 0 and r["max_budget"] <= max(BENCH_BUDGET, 2 ** 6 + 1) for r in rows
               if r["library"] != "warehouse")
    manifest = json.loads((store / "manifest.json").read_text())
    stages = {s["stage"]: s for s in manifest["stages"]}
    assert all(s["reused"] == 2 for name, s in stages.items() if name not in ("estimators", "warehouse"))
    assert manifest["files"]["estimator_benchmark/run-1.parquet"]["rows"] == 0  # run 1 is not measured
    assert manifest["config"]["estimators"] is True and manifest["config"]["estimator_repetitions"] == BENCH_REPS


# --- the page section ----------------------------------------------------------------------------

def section_of(store):
    from reports.context import load_context
    from reports.sections import estimators as section
    from reports.warehouse import Warehouse
    con = duckdb.connect(str(store / "warehouse.duckdb"), read_only=True)
    try:
        return section.section(load_context(Warehouse(con, 0))), con.execute(
            "select * from estimator_budget_needed where run_id = 0").pl()
    finally:
        con.close()


def test_section_is_left_out_without_a_benchmark(small_store):
    assert section_of(small_store)[0] is None


def test_section_caption_quotes_the_budget_view(bench_store):
    built, needed = section_of(bench_store)
    assert built is not None and built.chart is not None
    sampled = needed.filter((pl.col("target") == "shapley") & (pl.col("library") != "warehouse"))
    for column, lead in (("budget_rho", "Mean ρ ≥ 0.95 is first reached at: "),
                         ("budget_top3", f"The exact top 3 in every one of the {BENCH_REPS} repetitions: ")):
        reached = sampled.filter(pl.col(column).is_not_null()).sort([column, "estimator"])
        if len(reached):
            assert lead + "; ".join(f"{r['estimator']} {r[column]:,}" for r in reached.iter_rows(named=True)) \
                in built.caption
    assert f"ran {BENCH_REPS} times" in built.caption and "from 64 to 128 masks" in built.caption
    # every row of the view is a row of the table under the figure
    assert str(built.after).count("<tr") == len(needed) + 1


def test_the_sections_chart_explains_itself(bench_store):
    """The checks every chart of the page passes (tests/chart_specs.py), on the estimators' chart."""
    from reports import theme
    from tests import chart_specs
    built, _ = section_of(bench_store)
    specs = {built.anchor: theme.spec(built.chart)}
    assert chart_specs.fields_in_data(specs) >= 5
    assert chart_specs.formats_d3_reads(specs) >= 1
    assert chart_specs.tooltips_say_how_they_round(specs) >= 1
    chart_specs.listed_values_drawn(specs)
    assert chart_specs.axes_titled_in_words(specs) >= 2
