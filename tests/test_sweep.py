"""Sweeps (`--sweep FILE.toml`): many networks in one store, each the network a plain run of its own
config makes; a grown sweep computes only its new networks; run_summary and sweep_trends checked
against numpy and polars over the stored rows; bad sweep files refused in one line."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from tests.conftest import read_table, run_cli

BASE = """epochs = 2
train_points = 300
test_points = 120
samples_per_prob = 20
flip_paths = 10
grid_size = 11
"""
SWEEP = BASE + """[sweep]
hidden = ["3", "5"]
dataset = ["circle", "xor"]
train_seed = [0, 1]
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def query(store: Path, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(store / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).pl()
    finally:
        con.close()


@pytest.fixture(scope="module")
def sweep_store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sweep")
    run_cli("--sweep", str(write(root / "sweep.toml", SWEEP)), "--store", str(root / "store"), "--report",
            str(root / "index.html"), check=True)
    return root / "store"


def test_one_runs_row_per_network_with_its_parameters(sweep_store):
    runs = query(sweep_store, "select run_id, hidden, dataset, train_seed, config from runs order by run_id")
    got = [(r["hidden"], r["dataset"], r["train_seed"]) for r in runs.iter_rows(named=True)]
    # product order, the last key fastest
    assert got == [(h, d, s) for h in (3, 5) for d in ("circle", "xor") for s in (0, 1)]
    assert runs["run_id"].to_list() == list(range(8))
    for r in runs.iter_rows(named=True):  # each row's config is its own network's
        config = json.loads(r["config"])
        assert (config["hidden"], config["dataset"], config["train_seeds"]) == (r["hidden"], r["dataset"],
                                                                                [r["train_seed"]])
    # the manifest names each network by its swept values, as the sweep file wrote them
    manifest = json.loads((sweep_store / "manifest.json").read_text())
    shown = [m["network"] for m in sorted(manifest["runs"], key=lambda m: m["run_id"])]
    assert shown == [{"hidden": h, "dataset": d, "train_seed": t} for h, d, t in got]
    # layer widths are written as the --hidden flag takes them
    from types import SimpleNamespace

    from ingest.pipeline import describe_net
    assert describe_net(SimpleNamespace(params={"hidden": (4, 3), "dataset": "xor"})) == {"hidden": "4,3",
                                                                                         "dataset": "xor"}


def test_a_sweep_network_is_the_network_its_own_plain_run_makes(sweep_store, tmp_path):
    """Network (5, xor, seed 1) of the sweep against a plain run of that config: same weights, same
    loss of every mask."""
    store = tmp_path / "plain"
    run_cli("--config", str(write(tmp_path / "c.toml", BASE)), "--hidden", "5", "--dataset", "xor",
            "--train-seed", "1", "--store", str(store), "--no-report", check=True)
    run_id = query(sweep_store, "select run_id from runs where hidden = 5 and dataset = 'xor' and train_seed = 1")
    run_id = run_id.item()
    for table, key in (("weights", ["tensor", "row", "col"]), ("mask_exhaustive", ["mask"]),
                       ("mask_samples", ["keep_prob", "sample_id"]), ("input_grid", ["grid_i", "grid_j"])):
        ours = read_table(sweep_store, table, run_id).drop("run_id").sort(key)
        theirs = read_table(store, table, 0).drop("run_id").sort(key)
        assert ours.equals(theirs), table


def test_a_grown_sweep_computes_only_its_new_networks(sweep_store, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    for path in sweep_store.rglob("*"):
        if path.is_file():
            (store / path.relative_to(sweep_store)).parent.mkdir(parents=True, exist_ok=True)
            (store / path.relative_to(sweep_store)).write_bytes(path.read_bytes())
    before = {p.relative_to(store): p.read_bytes() for p in store.rglob("*.parquet")}
    grown = SWEEP.replace('hidden = ["3", "5"]', 'hidden = ["2", "3", "5"]')
    run_cli("--sweep", str(write(tmp_path / "grown.toml", grown)), "--store", str(store), "--no-report", check=True)
    manifest = json.loads((store / "manifest.json").read_text())
    train = next(s for s in manifest["stages"] if s["stage"] == "train")
    assert train["reused"] == 8 and train["rows"]["runs"] == 12
    after = {p.relative_to(store): p.read_bytes() for p in store.rglob("*.parquet")}
    assert all(after[rel] == data for rel, data in before.items())  # every old file kept as it was
    runs = query(store, "select run_id, hidden, dataset, train_seed from runs order by run_id")
    old = query(sweep_store, "select run_id, hidden, dataset, train_seed from runs order by run_id")
    assert runs.filter(pl.col("run_id") < 8).equals(old)  # the old networks keep their run ids
    assert sorted(runs.filter(pl.col("run_id") >= 8)["hidden"].to_list()) == [2, 2, 2, 2]


def gini(x: np.ndarray) -> float:
    """Mean absolute difference over all ordered pairs, over twice the mean."""
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean()))


def test_run_summary_against_the_stored_rows(sweep_store):
    summary = query(sweep_store, "select * from run_summary order by run_id")
    runs = read_table(sweep_store, "runs", None)
    assert summary.height == runs.height == 8
    shapley = query(sweep_store, "select run_id, node, shapley from shapley_values")
    best = query(sweep_store, "select run_id, k, best_loss from best_subnetworks")
    for row in summary.iter_rows(named=True):
        r = row["run_id"]
        run = runs.filter(pl.col("run_id") == r).row(0, named=True)
        n = run["hidden"]
        ex = read_table(sweep_store, "mask_exhaustive", r)
        assert ex.height == 2 ** n
        loss = ex["loss"].to_numpy().astype(np.float64)
        # p = ½: every mask equally likely
        assert row["exact_mean_loss_half"] == pytest.approx(loss.mean(), rel=1e-6)
        assert row["exact_mean_log_loss_half"] == pytest.approx(np.log(loss).mean(), rel=1e-6, abs=1e-9)
        z = (loss - loss.mean()) / loss.std()
        assert row["skew_loss_half"] == pytest.approx((z ** 3).mean(), rel=1e-4, abs=1e-6)
        # the complement's log loss, pooled over all masks
        masks = ex["mask"].to_numpy()
        log_loss = np.empty(2 ** n)
        log_loss[masks] = ex["log_loss"].to_numpy()  # the stored float32 ln(loss), as the marts read it
        assert row["complement_corr"] == pytest.approx(np.corrcoef(log_loss, log_loss[::-1])[0, 1], abs=1e-6)
        phi = np.abs(shapley.filter(pl.col("run_id") == r).sort("node")["shapley"].to_numpy())
        assert row["shapley_top3_share"] == pytest.approx(np.sort(phi)[-3:].sum() / phi.sum(), rel=1e-9)
        assert row["shapley_gini"] == pytest.approx(gini(phi), rel=1e-9, abs=1e-12)
        n_on = np.array([bin(int(m)).count("1") for m in masks])
        best_by_k = np.array([loss[n_on == k].min() for k in range(n + 1)])
        ratios = best_by_k / run["test_loss"]
        np.testing.assert_allclose(row["best_loss_ratio"], ratios, rtol=1e-6)
        assert row["smallest_k_within_10pct"] == int(np.argmax(ratios <= 1.1))
        assert best.filter(pl.col("run_id") == r).height == n + 1
        assert (row["dataset"], row["n_units"], row["train_seed"], row["depth"]) == (
            run["dataset"], n, run["train_seed"], 1)
        directions = query(sweep_store, f"select count(*) filter (where bias_like) as b from node_directions "
                                        f"where run_id = {r}").item()
        assert row["n_bias_like"] == directions


def test_sweep_trends_is_run_summary_grouped(sweep_store):
    summary = query(sweep_store, "select * from run_summary")
    trends = query(sweep_store, "select * from sweep_trends")
    for stat in ("complement_corr", "shapley_gini", "exact_mean_loss_half", "sanity_ratio"):
        expected = (summary.group_by("dataset", "n_units")
                    .agg(pl.col(stat).mean().alias("mean"), pl.col(stat).std().alias("std"),
                         pl.col(stat).min().alias("lowest"), pl.col(stat).max().alias("highest"),
                         pl.col(stat).count().alias("n_networks"))
                    .sort("dataset", "n_units"))
        got = trends.filter(pl.col("statistic") == stat).sort("dataset", "n_units")
        assert got["n_networks"].to_list() == expected["n_networks"].to_list() == [2, 2, 2, 2]
        for col in ("mean", "std", "lowest", "highest"):
            np.testing.assert_allclose(got[col].to_numpy(), expected[col].to_numpy(), rtol=1e-9, err_msg=stat)


@pytest.mark.parametrize("sweep, words", [
    ('[sweep]\nwidth = [4, 8]\n', "sweep key 'width'"),
    ('[sweep]\nkeep_probs = [[0.5], [0.25]]\n', "does not define a network"),
    ('[sweep]\nhidden = []\n', "is an empty list"),
    ('[sweep]\nhidden = 4\n', "must be a list"),
    ('[sweep]\n', "[sweep] table"),
    ('hidden = 4\n', "no [sweep] table"),
    ('hidden = 4\n[sweep]\nhidden = ["4", "5"]\n', "both swept"),
    ('[sweep]\ntrain_seed = ' + str(list(range(101))) + '\nhidden = ' + str(list(range(1, 101))) + '\n',
     "makes 10,100 networks, more than 10,000: split it into several stores"),
    ('[sweep]\nhidden = ["4", "4,4"]\nmask_layers = [[2]]\n', "sweep point hidden = 4, mask_layers"),
    ('[sweep]\nhidden = ["4", "x"]\n', "hidden"),
])
def test_bad_sweep_files_are_one_line_and_touch_nothing(tmp_path, sweep, words):
    proc = run_cli("--sweep", str(write(tmp_path / "s.toml", sweep)), "--store", str(tmp_path / "store"),
                   "--no-report")
    assert proc.returncode == 2 and words in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert not (tmp_path / "store").exists()


def test_config_and_sweep_together_are_refused(tmp_path):
    proc = run_cli("--sweep", str(write(tmp_path / "s.toml", SWEEP)), "--config", str(tmp_path / "s.toml"),
                   "--store", str(tmp_path / "store"))
    assert proc.returncode == 2 and "not both" in proc.stderr and proc.stderr.count("\n") == 1


def test_a_sweep_file_given_as_config_points_to_sweep(tmp_path):
    proc = run_cli("--config", str(write(tmp_path / "s.toml", SWEEP)), "--store", str(tmp_path / "store"))
    assert proc.returncode == 2 and "run it with --sweep" in proc.stderr and proc.stderr.count("\n") == 1
    assert not (tmp_path / "store").exists()


def test_sweep_findings_judge_run_summary(sweep_store):
    """Each finding's rule applied in polars to run_summary, counted per kind and width."""
    summary = query(sweep_store, "select * from run_summary")
    seed = pl.read_csv(Path(__file__).resolve().parent.parent / "sql" / "seeds" / "study_reference.csv")
    low, high = (seed.filter(pl.col("key") == k)["value"].item() for k in ("sanity_ratio_low", "sanity_ratio_high"))
    assert (low, high) == (0.8, 1.25)  # the band the page states in words
    rules = {
        "right_skew": pl.col("skew_loss_half") > 0,
        "log_normal": pl.col("skew_log_loss_half").abs() < pl.col("skew_loss_half").abs(),
        "sanity": pl.col("sanity_ratio").is_between(low, high),
        "decay": pl.col("decay_length_exact") <= 6,  # the study's "5–6 flips"
        "complement": pl.col("complement_corr") > 0,
        "bias_like": pl.col("n_bias_like") > 0,
    }
    findings = query(sweep_store, "select * from sweep_findings")
    assert set(findings["finding"].unique()) == set(rules)
    for finding, rule in rules.items():
        expected = (summary.with_columns(rule.alias("holds"))
                    .group_by("dataset", "activation", "depth", "n_units")
                    .agg(pl.len().alias("n_networks"), pl.col("holds").count().alias("n_judged"),
                         pl.col("holds").sum().alias("n_holding"))
                    .sort("dataset", "activation", "depth", "n_units"))
        got = (findings.filter(pl.col("finding") == finding)
               .select("dataset", "activation", "depth", "n_units", "n_networks", "n_judged", "n_holding")
               .sort("dataset", "activation", "depth", "n_units"))
        assert got.to_dicts() == expected.with_columns(pl.col("n_holding").cast(got["n_holding"].dtype),
                                                       pl.col("n_judged").cast(got["n_judged"].dtype),
                                                       pl.col("n_networks").cast(got["n_networks"].dtype)).to_dicts()


def page_text(path: Path) -> str:
    text = re.sub(r"<script.*?</script>", " ", path.read_text(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def test_the_sweep_page_shows_the_warehouse_counts(sweep_store):
    page = sweep_store.parent / "sweep.html"
    raw = page.read_text()
    findings = query(sweep_store, "select * from sweep_findings")
    # the findings table: one row per (finding, kind), a cell n_holding/n_judged per width
    table = re.search(r'<table[^>]*id="sweep-findings".*?</table>', raw, flags=re.S).group(0)
    rows = [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)]
            for r in re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)]
    header, body = rows[0], rows[1:]
    assert header[2:] == ["N = 3", "N = 5"]
    assert len(body) == 6 * 2  # six findings × two kinds (circle and xor, one layer of ReLUs)
    names = {"right skew (F2)": "right_skew", "log-normal (F3)": "log_normal", "sanity check (F4)": "sanity",
             "path decay (F9)": "decay", "complement (F9)": "complement", "bias-like units (F10)": "bias_like"}
    finding = None
    for row in body:
        finding = names[row[0]] if row[0] else finding
        dataset = row[1].split(" · ")[0]
        for width, cell in zip((3, 5), row[2:]):
            r = findings.filter((pl.col("finding") == finding) & (pl.col("dataset") == dataset)
                                & (pl.col("n_units") == width)).row(0, named=True)
            assert cell == f"{r['n_holding']}/{r['n_judged']}", (finding, dataset, width)
    text = page_text(page)
    assert "8 networks in one store" in text
    assert "The gradient predicts the change of mean loss, ratio within 0.8–1.25 (F4)" in text
    assert "circle · 1 layer · relu: 4 networks (N = 3 and 5, 2 seeds each)" in text
    for word in ("nan", "NaN", "None", "undefined"):
        assert not re.search(rf"\b{word}\b", text), word
    # every chart's data comes from sweep_trends: the spec holds each mean
    specs = json.loads(re.search(r'<script[^>]*id="vega-specs"[^>]*>(.*?)</script>', raw, flags=re.S).group(1))
    assert len(specs) == 1
    import csv
    import io
    spec = next(iter(specs.values()))
    (csv_text,) = spec["datasets"].values()
    drawn = list(csv.DictReader(io.StringIO(csv_text)))
    trends = query(sweep_store, "select * from sweep_trends where statistic = 'shapley_gini'")
    gini_rows = [r for r in drawn if r["title"] == "Shapley Gini"]
    assert len(gini_rows) == trends.height == 4
    for r in gini_rows:
        t = trends.filter((pl.col("dataset") == r["network"].split(" · ")[0])
                          & (pl.col("n_units") == int(r["n_units"]))).row(0, named=True)
        for col in ("mean", "lowest", "highest"):
            assert float(r[col]) == pytest.approx(t[col], rel=1e-5), col
    main = page_text(sweep_store.parent / "index.html")
    assert "They are a sweep, compared on the sweep page, sweep.html." in main


def test_a_plain_store_has_no_sweep_page(small_store, tmp_path):
    from reports.build import build_report
    build_report(small_store, tmp_path / "index.html")
    assert (tmp_path / "index.html").exists() and not (tmp_path / "sweep.html").exists()


def test_verify_checks_each_sweep_network_with_its_own_size(sweep_store):
    """ingest.verify reads each network's N from its runs row: the sweep's 3- and 5-unit networks
    pass, and a manifest that claims one N for all of them does not."""
    from ingest import verify
    from ingest.contract import load_manifest
    manifest = load_manifest(sweep_store)[0]
    assert verify.check_invariants(sweep_store, manifest) == []
    plain = {k: v for k, v in manifest.items() if k != "sweep"}  # as if every network had the base's N
    problems = verify.check_invariants(sweep_store, plain)
    assert problems and all("run" in p for p in problems)


def test_the_estimator_command_refuses_a_sweep_store(sweep_store):
    from ingest import estimator_cli
    before = {p: p.stat().st_mtime_ns for p in sweep_store.rglob("*") if p.is_file()}
    assert estimator_cli.main(["--store", str(sweep_store), "--no-report"]) == 2
    assert {p: p.stat().st_mtime_ns for p in sweep_store.rglob("*") if p.is_file()} == before


def test_finding_sentences_name_the_widths_where_a_finding_holds_fails_or_is_undefined():
    """The sentence for one finding of one kind of network, from a made-up sweep_findings: every seed
    at N = 4, some at 8, none at 12, undefined at 16."""
    from reports import sweep
    rows = [(4, 3, 3), (8, 3, 1), (12, 3, 0), (16, 0, 0)]
    findings = pl.DataFrame({"finding": ["decay"] * 4, "dataset": ["xor"] * 4, "depth": [2] * 4,
                             "activation": ["tanh"] * 4, "n_units": [w for w, _, _ in rows],
                             "n_networks": [3] * 4, "n_judged": [j for _, j, _ in rows],
                             "n_holding": [h for _, _, h in rows]})
    limits = {"sanity_ratio_low": 0.8, "sanity_ratio_high": 1.25}
    sentence = next(s for s in sweep.finding_sentences(findings, limits) if "path correlation" in s)
    assert sentence.endswith("— xor · 2 layers · tanh: holds for every seed at N = 4 and for some seeds at "
                             "N = 8, for none at N = 12 (not defined at N = 16).")
    everywhere = findings.with_columns(pl.col("n_judged").alias("n_holding"))
    sentence = next(s for s in sweep.finding_sentences(everywhere, limits) if "path correlation" in s)
    assert sentence.endswith("holds for every network at every width where it is defined (not defined at N = 16).")


def test_the_sweep_pages_charts_explain_themselves(sweep_store):
    """The checks every chart of the run's page passes (tests/chart_specs.py), on the sweep page as it
    was written."""
    from tests import chart_specs
    specs = chart_specs.page_specs((sweep_store.parent / "sweep.html").read_text())
    assert specs
    assert chart_specs.fields_in_data(specs) >= 5
    assert chart_specs.formats_d3_reads(specs) >= 1
    chart_specs.tooltips_say_how_they_round(specs)
    assert chart_specs.listed_values_drawn(specs) >= 1
    assert chart_specs.axes_titled_in_words(specs) >= 2
