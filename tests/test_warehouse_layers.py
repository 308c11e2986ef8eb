"""The warehouse's shape: layers, build order, seeds as the one home of the study's numbers, every
object documented and answered by the `duckdb` command, and views that answer for any keep_probs."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from ingest import catalog
from tests.conftest import ROOT, small_args

OBJECTS = catalog.sql_objects()
NAMES = [obj.name for obj in OBJECTS]
MACROS = {"cutter_bits", "mask_imbalance", "binomial", "corr_of"}


def test_every_object_is_documented_in_store_readme():
    readme = (ROOT / "store" / "README.md").read_text()
    missing = [name for name in NAMES + list(catalog.TABLES) + list(catalog.seeds()) + [catalog.INFO]
               if f"`{name}`" not in readme]
    assert not missing


def test_each_file_creates_the_object_it_is_named_after_and_says_its_grain():
    for obj in OBJECTS:
        text = obj.text()
        assert text.startswith("-- "), obj.path
        kind = "macro" if obj.name in MACROS else obj.kind
        assert re.search(rf"create or replace {kind} {obj.name}\b", text), obj.path


def test_build_order_puts_every_object_after_what_it_reads():
    position = {name: i for i, name in enumerate(NAMES)}
    for obj in OBJECTS:
        code = re.sub(r"--[^\n]*", "", obj.text())
        for other in set(re.findall(r"\b[a-z_][a-z0-9_]*\b", code)) & set(position):
            if other != obj.name:
                assert position[other] < position[obj.name], f"{obj.name} reads {other} but is built first"


def test_a_cycle_between_sql_files_is_refused(tmp_path, monkeypatch):
    for layer in catalog.LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "views" / "a.sql").write_text("-- one row\ncreate or replace view a as select * from b\n")
    (tmp_path / "views" / "b.sql").write_text("-- one row\ncreate or replace view b as select * from a\n")
    monkeypatch.setattr(catalog, "SQL_DIR", tmp_path)
    with pytest.raises(RuntimeError, match="cycle"):
        catalog.sql_objects()


def test_marts_are_tables_and_the_exhaustive_rows_are_not_copied(small_store, warehouse):
    kinds = dict(warehouse.execute(
        "select table_name, table_type from information_schema.tables").fetchall())
    for obj in OBJECTS:
        if obj.name in MACROS:
            continue
        assert kinds[obj.name] == ("BASE TABLE" if obj.layer == "marts" else "VIEW"), obj.name
    assert kinds["mask_exhaustive"] == "VIEW"
    for table in catalog.COPIED + tuple(catalog.seeds()):
        assert kinds[table] == "BASE TABLE", table
    parquet = sum(p.stat().st_size for p in (small_store / "mask_exhaustive").glob("*.parquet"))
    rows = warehouse.execute("select count(*) from mask_exhaustive").fetchone()[0]
    assert rows == 2 * 2 ** 6 and parquet > 0


# Numbers the study publishes (sql/seeds/study_reference.csv), as they would be written elsewhere.
STUDY_NUMBERS = ["0.117", "1.0277158", "1.028", "0.584365", "0.584", "0.4751", "0.4434", "0.4433508", "952",
                 "0.119", "1.072", "0.0475"]


def test_the_study_numbers_live_only_in_the_seed_file():
    seed = (ROOT / "sql" / "seeds" / "study_reference.csv").read_text()
    for number in ("0.117", "1.0277158", "0.584365", "-0.4751453", "952", "0.119"):
        assert number in seed
    files = list((ROOT / "sql").rglob("*.sql")) + list((ROOT / "reports").rglob("*.py"))
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for number in STUDY_NUMBERS:
            if re.search(rf"(?<![\d.]){re.escape(number)}(?!\d)", text):
                found.append(f"{path.relative_to(ROOT)}: {number}")
    assert not found


def test_the_duckdb_command_answers_every_object_from_another_directory(small_store, tmp_path):
    cli = shutil.which("duckdb")
    assert cli is not None, "the duckdb command (duckdb-cli) must be installed with the project"
    queries = "".join(f"select '{name}', count(*) from {name};\n" for name in NAMES + list(catalog.TABLES)
                      if name not in MACROS)
    proc = subprocess.run([cli, "-readonly", "-csv", "-noheader", str((small_store / "warehouse.duckdb").resolve())],
                          input=queries, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    answered = {line.split(",")[0] for line in proc.stdout.splitlines() if line}
    assert answered == set(NAMES + list(catalog.TABLES)) - MACROS


@pytest.fixture(scope="module", params=["0.3,0.6", "0.5", "0.1,0.25,0.4,0.6,0.75,0.9"])
def keep_prob_store(request, shared_store):
    store = shared_store(*small_args(train_seeds="0", keep_probs=request.param))  # also read by test_page_keep_probs
    con = duckdb.connect(str(store / "warehouse.duckdb"), read_only=True)
    yield [float(p) for p in request.param.split(",")], con
    con.close()


def test_keep_prob_roles_follow_the_sampled_probabilities(keep_prob_store):
    probs, con = keep_prob_store
    roles = con.execute("select * from keep_prob_roles order by keep_prob").pl()
    assert roles["keep_prob"].to_list() == sorted(probs)
    assert roles.filter(pl.col("is_lowest"))["keep_prob"].to_list() == [min(probs)]
    assert roles.filter(pl.col("is_highest"))["keep_prob"].to_list() == [max(probs)]
    nearest = min(sorted(probs), key=lambda p: abs(p - 0.5))
    assert roles.filter(pl.col("is_nearest_half"))["keep_prob"].to_list() == [nearest]
    assert roles.filter(pl.col("in_study"))["keep_prob"].to_list() == [p for p in sorted(probs) if p in (0.25, 0.5, 0.75)]


def test_study_comparison_labels_only_sampled_probabilities(keep_prob_store):
    probs, con = keep_prob_store
    rows = con.execute("select * from study_comparison").pl()
    assert rows["study"].null_count() == 0 and rows["ours"].null_count() == 0
    for quantity in rows["quantity"].to_list():
        for p in re.findall(r"p = ([0-9.]+)", quantity):
            assert float(p) in probs, quantity
    study = set(probs) >= {0.25, 0.5, 0.75}
    assert any("minus at p" in q for q in rows["quantity"].to_list()) == study


def test_sanity_check_needs_two_probabilities_and_names_them(keep_prob_store):
    probs, con = keep_prob_store
    rows = con.execute("select * from sanity_check").pl()
    if len(probs) < 2:
        assert rows.is_empty()
        return
    row = rows.row(0, named=True)
    assert (row["p_low"], row["p_high"]) == (min(probs), max(probs))
    assert row["p_half"] == min(sorted(probs), key=lambda p: abs(p - 0.5))
    assert row["ratio"] is not None


def test_every_object_answers_for_any_keep_probs(keep_prob_store):
    _, con = keep_prob_store
    for name in NAMES:
        if name in MACROS:
            continue
        frame = con.execute(f"select * from {name}").pl()
        # the estimator views answer only for a store that ran the opt-in estimators (tests/test_estimators.py)
        assert frame.height > 0 or name in ("sanity_check", "estimator_error_curve", "estimator_budget_needed"), name


def test_node_directions_bias_like_rule_on_many_random_units():
    """A unit is bias-like when its ReLU is on over the whole training square: positive at all four
    corners. Checked on 400 random units, many near the edge of the rule, by running the view's own
    SQL over a weights table made here."""
    rng = np.random.default_rng(11)
    n = 400
    w = rng.normal(size=(n, 2))
    bias = np.abs(w).sum(axis=1) * rng.uniform(0.5, 1.5, size=n)  # around |w0| + |w1|
    rows = [("hidden.weight", i, c, float(w[i, c])) for i in range(n) for c in range(2)]
    rows += [("hidden.bias", i, 0, float(bias[i])) for i in range(n)]
    rows += [("output.weight", r, i, float(v)) for i in range(n) for r, v in enumerate(rng.normal(size=2))]
    con = duckdb.connect()
    con.execute("create table weights (run_id integer, tensor varchar, row integer, col integer, value double)")
    con.executemany("insert into weights values (0, ?, ?, ?, ?)", rows)
    # runs 1 and 2: the same first layer in a 2-layer network, layer 1 masked in run 2 only
    deep = [(t.replace("hidden.", "layers.0.").replace("output.weight", "layers.2.weight"), r, c, v)
            for t, r, c, v in rows]
    con.executemany("insert into weights values (1, ?, ?, ?, ?)", deep)
    con.executemany("insert into weights values (2, ?, ?, ?, ?)", deep)
    con.execute("create table runs (run_id integer, layer_sizes integer[], activation varchar, mask_layers integer[])")
    con.execute(f"insert into runs values (0, [{n}], 'relu', [1]), (1, [{n}, 2], 'relu', [2]), "
                f"(2, [{n}, 2], 'relu', [1, 2])")
    con.execute((ROOT / "sql" / "staging" / "node_directions.sql").read_text())
    # a one-layer notion: the deep network with layer 1 masked gets layer 1's rows, without bias_like
    # or w_out_diff; with layer 1 unmasked, none
    deep_rows = con.execute("select run_id, count(*), count(bias_like), count(w_out_diff) from node_directions "
                            "where run_id > 0 group by run_id").fetchall()
    assert deep_rows == [(2, n, 0, 0)]
    got = con.execute("select node, bias_like, angle_deg from node_directions where run_id = 0 order by node").pl()
    corners = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]])
    expected = np.all(corners @ w.T + bias > 0, axis=0)
    assert 50 < expected.sum() < n - 50  # both kinds, many close to the edge
    assert got["bias_like"].to_list() == expected.tolist()
    np.testing.assert_allclose(got["angle_deg"].to_numpy(), np.degrees(np.arctan2(w[:, 1], w[:, 0])), atol=1e-9)
