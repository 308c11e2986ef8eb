"""Datasets from flag to page: `--dataset xor|gauss|spiral|csv` runs end to end, their points are the
generators' (regenerated here independently of the run) or the CSV files' (read here by Python's csv
module), bad CSV files are refused in one line before the store is touched, an edited CSV retrains,
and the default circle run draws the study's points and fingerprints exactly as before."""
from __future__ import annotations

import hashlib
import json
import math
import re
from html import unescape
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from ingest import cli, data, datasets, points, stages
from ingest import config as cfg
from tests.oracle import read_points
from tests.conftest import read_table, run_cli

TINY = ["--hidden", "6", "--train-seeds", "0", "--train-points", "300", "--epochs", "2", "--test-points", "120",
        "--samples-per-prob", "20", "--flip-paths", "10", "--grid-size", "11"]


def store_bytes(store: Path) -> dict[str, bytes]:
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()}


def runs_row(store: Path) -> dict:
    con = duckdb.connect(str(store / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("select * from runs where run_id = 0").pl().to_dicts()[0]
    finally:
        con.close()


def stored_points(store: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    rows = read_table(store, "points").filter(pl.col("split") == split).sort("point_id")
    return rows.select("x0", "x1").to_numpy(), rows["label"].to_numpy()


# --- xor, end to end with its page --------------------------------------------------------------------

@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("xor")
    run_cli("--store", str(root / "store"), "--report", str(root / "index.html"), "--dataset", "xor", *TINY,
            check=True)
    return root


def test_xor_run_records_its_dataset(xor_run):
    row = runs_row(xor_run / "store")
    assert (row["dataset"], row["boundary"]) == ("xor", "axes")
    assert row["label_rule"] is None and row["radius"] is None  # the label rule is the circle's only
    assert row["train_data_sha256"] is None and row["test_data_sha256"] is None
    assert json.loads(row["train_config"])["dataset"] == "xor"
    assert "label_rule" not in json.loads(row["train_config"])


def test_xor_points_are_the_generators(xor_run):
    x, y = stored_points(xor_run / "store", "test")
    # regenerated here: the test seed 23, the training seed 0, xor's own stream
    rng = np.random.default_rng([23, 3, 1])
    a, b = rng.uniform(-1, 1, 120), rng.uniform(-1, 1, 120)
    a, b = a + 0.06 * np.sign(a), b + 0.06 * np.sign(b)
    np.testing.assert_array_equal(x, np.stack([a, b], axis=1))
    np.testing.assert_array_equal(y, (a * b >= 0).astype(int))
    gx, gy = datasets.generate("xor", 120, 23, "test")
    np.testing.assert_array_equal(x, gx)
    tx, ty = stored_points(xor_run / "store", "train")
    np.testing.assert_array_equal(tx, datasets.generate("xor", 300, 0, "train")[0])
    np.testing.assert_array_equal(ty, datasets.generate("xor", 300, 0, "train")[1])


def test_xor_grid_covers_the_data_and_is_labelled_by_quadrant(xor_run):
    grid = read_table(xor_run / "store", "input_grid")
    x = grid.select("x0", "x1").to_numpy()
    tx, _ = stored_points(xor_run / "store", "train")
    sx, _ = stored_points(xor_run / "store", "test")
    reach = np.abs(np.concatenate([tx, sx])).max()
    # the data's extent with a margin of its own half-width, rounded up to a tenth: about twice its reach
    assert 2 * reach - 0.05 <= x.max() <= 2 * reach + 0.15 and x.min() == -x.max()
    assert grid["label"].to_list() == [int(a * b >= 0) for a, b in x]


def test_xor_page_draws_the_axes_not_a_circle(xor_run):
    html = unescape((xor_run / "index.html").read_text(encoding="utf-8"))
    payload = json.loads(re.search(r'<script type="application/json" id="f1-data">(.*?)</script>', html, re.S)[1])
    assert payload["boundary"] == {"kind": "axes"} and payload["points"] is None
    assert "<title>Knockout report: 2→6→2 ReLU on xor</title>" in html
    assert "<h1>Knockout: 2→6→2 ReLU on xor, with neurons switched off</h1>" in html
    assert "The study's numbers do not apply to this run" in html and 'id="study-vs-run"' not in html
    captions = re.findall(r'<p class="caption">(.*?)</p>', html, re.S)
    f1 = next(c for c in captions if "Switch neurons off" in c)
    assert "the two axes, are the label boundary" in f1
    assert not [c for c in captions if "circle" in c and "study" not in c]


# --- your own points: csv -----------------------------------------------------------------------------

def write_points(path: Path, seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.3, 1.5, (n, 2))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0.3).astype(int)
    path.write_text("x0,x1,label\n" + "".join(f"{float(a)!r},{float(b)!r},{c}\n" for (a, b), c in zip(x, y)))


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("csv")
    write_points(root / "a.csv", 1, 150)
    write_points(root / "b.csv", 2, 80)
    proc = run_cli("--store", str(root / "store"), "--no-report", "--dataset", "csv", "--train-data",
                   str(root / "a.csv"), "--test-data", str(root / "b.csv"), *TINY, check=True)
    assert "train: reusing" not in proc.stderr
    return root


def test_a_csv_runs_page_names_its_training_file(csv_run, tmp_path):
    """The page's header gives the training points' count and the first 12 hex digits of the file's
    sha256, computed here from the file itself."""
    from reports.build import build_report
    out = tmp_path / "index.html"
    build_report(csv_run / "store", out, write_snapshots=False)
    header = unescape(re.sub(r"<[^>]+>", " ", re.search(r"<header>(.*?)</header>", out.read_text(), re.S).group(1)))
    n = len(read_points(csv_run / "a.csv")[1])
    digest = hashlib.sha256((csv_run / "a.csv").read_bytes()).hexdigest()[:12]
    assert f"{n:,} points (file sha256 {digest}…)" in " ".join(header.split())


def test_csv_run_uses_exactly_the_files_points(csv_run):
    for split, name in (("train", "a.csv"), ("test", "b.csv")):
        x, y = stored_points(csv_run / "store", split)
        fx, fy = read_points(csv_run / name)
        np.testing.assert_array_equal(x, fx)
        np.testing.assert_array_equal(y, fy)
    row = runs_row(csv_run / "store")
    assert row["dataset"] == "csv" and row["boundary"] is None and row["label_rule"] is None
    assert row["train_data_sha256"] == hashlib.sha256((csv_run / "a.csv").read_bytes()).hexdigest()
    assert row["test_data_sha256"] == hashlib.sha256((csv_run / "b.csv").read_bytes()).hexdigest()
    grid = read_table(csv_run / "store", "input_grid")
    fx = np.concatenate([read_points(csv_run / "a.csv")[0], read_points(csv_run / "b.csv")[0]])
    assert grid["x0"].max() >= np.abs(fx).max()  # the grid reaches past the data (centred on 0)


BAD = {
    "extra column": "x0,x1,label,w\n0.1,0.2,1,3\n0.3,0.4,0,3\n",
    "missing column": "x0,x1\n0.1,0.2\n",
    "text in a number": "x0,x1,label\n0.1,abc,1\n0.3,0.4,0\n",
    "NaN": "x0,x1,label\n0.1,nan,1\n0.3,0.4,0\n",
    "infinite": "x0,x1,label\n0.1,0.2,1\n-inf,0.4,0\n",
    "label 2": "x0,x1,label\n0.1,0.2,2\n0.3,0.4,0\n",
    "empty": "",
    "single class": "x0,x1,label\n0.1,0.2,1\n0.3,0.4,1\n",
    "header only": "x0,x1,label\n",
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_csv_is_one_line_and_leaves_the_store_untouched(csv_run, tmp_path, case):
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD[case])
    before = store_bytes(csv_run / "store")
    proc = run_cli("--store", str(csv_run / "store"), "--no-report", "--dataset", "csv", "--train-data", str(bad),
                   "--test-data", str(csv_run / "b.csv"), *TINY)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ") and str(bad) in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert store_bytes(csv_run / "store") == before


@pytest.mark.parametrize("flags, words", [
    (["--dataset", "xor", "--train-data", "a.csv"], "go with --dataset csv"),
    (["--dataset", "csv", "--train-data", "a.csv"], "needs both"),
    (["--dataset", "moons"], "must be one of circle, xor, gauss, spiral, csv"),
    (["--dataset", "spiral", "--label-rule", "intent"], "--label-rule applies to the circle only"),
    (["--dataset", "xor", "--label-rule", "code"], "--label-rule applies to the circle only"),
])
def test_dataset_flag_mistakes_are_one_line(tmp_path, flags, words):
    proc = run_cli("--store", str(tmp_path / "store"), *flags, *TINY, cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 2 and words in proc.stderr and proc.stderr.count("\n") == 1
    assert not (tmp_path / "store").exists()


def test_an_edited_csv_retrains_and_a_moved_one_does_not(csv_run, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    for rel, content in store_bytes(csv_run / "store").items():
        (store / rel).parent.mkdir(parents=True, exist_ok=True)
        (store / rel).write_bytes(content)
    moved = tmp_path / "moved.csv"
    moved.write_bytes((csv_run / "a.csv").read_bytes())
    args = ["--store", str(store), "--no-report", "--dataset", "csv", "--test-data", str(csv_run / "b.csv"), *TINY]
    assert "train: reusing 1 trained network" in run_cli(*args, "--train-data", str(moved), check=True).stderr
    lines = moved.read_text().splitlines()
    lines[1] = lines[1][:-1] + ("0" if lines[1].endswith("1") else "1")  # one label flipped
    moved.write_text("\n".join(lines) + "\n")
    proc = run_cli(*args, "--train-data", str(moved), check=True)
    assert "train: reusing" not in proc.stderr
    x, y = stored_points(store, "train")
    fx, fy = read_points(moved)
    np.testing.assert_array_equal(x, fx)
    np.testing.assert_array_equal(y, fy)
    assert runs_row(store)["train_data_sha256"] == hashlib.sha256(moved.read_bytes()).hexdigest()


# --- the default circle, unchanged --------------------------------------------------------------------

def test_the_default_run_draws_the_studys_points_and_fingerprints():
    config, _ = cli.parse([])
    assert (config.dataset, config.grid_extent, config.grid_size) == ("circle", 2.0, 81)
    x, y = data.test_set(config)
    legacy = np.random.RandomState(23).uniform(-1, 1, [1000, 2])
    np.testing.assert_array_equal(x, legacy)
    np.testing.assert_array_equal(y, (legacy[:, 0] ** 2 + legacy[:, 1] ** 2 > math.sqrt(2 / math.pi)).astype(int))
    tx, ty = data.train_set(config, 3)
    np.testing.assert_array_equal(tx, np.random.default_rng([3, 2]).uniform(-1, 1, [10_000, 2]))
    np.testing.assert_array_equal(ty, points.label(tx, "code"))
    # the train stage's inputs are the fields it read before datasets existed, nothing more
    assert json.loads(stages.train_config(config, 0)) == {
        "hidden": 20, "label_rule": "code", "train_points": 10_000, "epochs": 20, "batch_size": 32,
        "learning_rate": 1e-3, "rho": 0.9, "epsilon": 1e-7, "train_seed": 0, "test_points": 1_000, "test_seed": 23}
    assert stages.STAGES["grid"].inputs(config, 0) == {"hidden": 20, "label_rule": "code", "grid_size": 81,
                                                      "grid_extent": 2.0}
    assert cfg.DATASETS == datasets.DATASETS


def test_the_small_circle_store_records_the_circle(small_store):
    row = read_table(small_store, "runs").to_dicts()[0]
    assert (row["dataset"], row["boundary"], row["label_rule"]) == ("circle", "circle", "code")
    assert row["radius"] == pytest.approx((2 / math.pi) ** 0.25)
    x, y = stored_points(small_store, "test")
    legacy = np.random.RandomState(23).uniform(-1, 1, [200, 2])
    np.testing.assert_array_equal(x, legacy)
    np.testing.assert_array_equal(y, (np.hypot(legacy[:, 0], legacy[:, 1]) ** 2 > math.sqrt(2 / math.pi)).astype(int))
