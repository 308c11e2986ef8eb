"""A run writes only into a folder that is new, empty or a Knockout store, deletes only files its
manifest recorded, and reads every store path literally: a store named `g[1]` or `m*` is built from
its own files only."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest import claim
from ingest.errors import UserError
from ingest.verify import verify
from tests.conftest import ROOT, run_cli

TINY = ["--hidden", "4", "--train-points", "200", "--epochs", "1", "--test-points", "50",
        "--samples-per-prob", "10", "--flip-paths", "5", "--grid-size", "5", "--no-report"]


def snapshot(folder: Path) -> dict:
    """Every file under `folder` (hidden ones too) with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_error_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_a_folder_of_the_users_files_is_refused_and_left_alone(tmp_path):
    data = tmp_path / "data"
    (data / "points").mkdir(parents=True)
    pq.write_table(pa.table({"a": [1]}), data / "points" / "mine.parquet")
    (data / "manifest.json").write_text('{"mine": true}')  # a manifest.json that is not Knockout's
    (data / "warehouse.duckdb").write_text("my notes")
    before = snapshot(data)
    line = one_error_line(run_cli("--store", str(data), *TINY, "--train-seed", "0"))
    assert "not a Knockout manifest" in line
    (data / "manifest.json").unlink()
    before = snapshot(data)
    line = one_error_line(run_cli("--store", str(data), *TINY, "--train-seed", "0"))
    assert "not empty and not a Knockout store" in line
    assert snapshot(data) == before and not (data / ".lock").exists()


def test_an_empty_store_path_is_refused(tmp_path):
    before = snapshot(tmp_path)
    line = one_error_line(run_cli("--store", "", *TINY, "--train-seed", "0", cwd=tmp_path))
    assert "--store is empty" in line
    assert snapshot(tmp_path) == before


def test_what_a_run_may_claim():
    assert claim.classify(ROOT / "no-such-folder") == claim.NEW
    assert claim.classify(ROOT / "store") in (claim.NEW, claim.STORE)  # the repository's store/ holds a README


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    store = tmp_path_factory.mktemp("owned") / "store"
    run_cli("--store", str(store), *TINY, "--train-seeds", "0,1", check=True)
    return store


def test_only_files_the_manifest_recorded_are_deleted(two_runs, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(two_runs, store)
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["store_id"] and claim.is_store_id(manifest["store_id"])
    mine = store / "points" / "mine.parquet"  # the user's own file dropped into a table folder
    pq.write_table(pa.table({"a": [1]}), mine)
    run_cli("--store", str(store), *TINY, "--train-seed", "0", check=True)  # run 1 is no longer wanted
    assert mine.exists()
    assert not (store / "points" / "run-1.parquet").exists()
    after = json.loads((store / "manifest.json").read_text())
    assert after["store_id"] == manifest["store_id"]
    assert not any(rel.endswith("run-1.parquet") for rel in after["files"])
    con = duckdb.connect(str(store / "warehouse.duckdb"), read_only=True)
    # the warehouse reads the recorded files only: 250 points of run 0, not the user's row
    assert con.execute("select count(*), count(distinct run_id) from points").fetchone() == (250, 1)
    con.close()


def test_a_store_written_before_store_ids_is_adopted(two_runs, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(two_runs, store)
    manifest = json.loads((store / "manifest.json").read_text())
    del manifest["store_id"]
    (store / "manifest.json").write_text(json.dumps(manifest))
    assert claim.classify(store) == claim.STORE
    run_cli("--store", str(store), *TINY, "--train-seeds", "0,1", check=True)
    assert claim.is_store_id(json.loads((store / "manifest.json").read_text())["store_id"])


def test_the_report_may_not_land_in_the_store(two_runs):
    before = snapshot(two_runs)
    args = [a for a in TINY if a != "--no-report"]
    for report in (two_runs / "warehouse.duckdb", two_runs / "runs" / "page.html", two_runs):
        line = one_error_line(run_cli("--store", str(two_runs), *args, "--train-seeds", "0,1",
                                      "--report", str(report)))
        assert "inside the store" in line
    assert snapshot(two_runs) == before


def built_from_own_files(store: Path, seed: int) -> None:
    con = duckdb.connect(str(store / "warehouse.duckdb"), read_only=True)
    assert con.execute("select list(train_seed) from runs").fetchone()[0] == [seed]
    assert con.execute("select count(*) from mask_exhaustive").fetchone()[0] == 16
    assert con.execute("select count(*) from points").fetchone()[0] == 250
    con.close()
    assert verify(store) == []


def test_glob_characters_in_a_store_path_are_literal(tmp_path):
    # Beside each store lies a folder its name matches as a pattern: g[1] matches g1, m* matches m1
    # and m2. The neighbours hold another network (seed 1); each store must read only its own (seed 0).
    run_cli("--store", str(tmp_path / "g1"), *TINY, "--train-seed", "1", check=True)
    for neighbour in ("m1", "m2", "q1 it's \"x\" é ü"):
        shutil.copytree(tmp_path / "g1", tmp_path / neighbour)
    for name in ("g[1]", "m*", "q? it's \"x\" é ü"):  # "?" also trips DuckDB's database paths
        store = tmp_path / name
        run_cli("--store", str(store), *TINY, "--train-seed", "0", check=True)
        built_from_own_files(store, 0)


def test_a_folder_named_tilde_is_refused_not_misread(tmp_path):
    with pytest.raises(UserError, match="named '~'"):
        claim.classify(tmp_path / "~" / "store")
