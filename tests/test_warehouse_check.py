"""The warehouse is checked, not trusted: `ingest.verify` and `ingest.contract.check_warehouse` refuse
another store's warehouse copied in, values edited with SQL, flipped bytes and a warehouse overwritten
with HTML; and what the warehouse says about the configuration is that of the units stored."""
from __future__ import annotations

import json
import random
import shutil

import duckdb
import pytest

from ingest import contract
from ingest.errors import StoreError
from ingest.verify import verify
from tests.conftest import run_cli

TINY = ["--hidden", "4", "--train-points", "200", "--epochs", "1", "--test-points", "50",
        "--samples-per-prob", "10", "--flip-paths", "5", "--grid-size", "5", "--no-report"]


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """Two stores of the same config and network: the same numbers, different store ids."""
    root = tmp_path_factory.mktemp("checked")
    for name in ("a", "b"):
        run_cli("--store", str(root / name), *TINY, "--train-seed", "0", check=True)
    return root


@pytest.fixture(scope="module")
def pristine(stores):
    return (stores / "a" / "warehouse.duckdb").read_bytes()


@pytest.fixture
def store(stores, pristine):
    """Store a, with the warehouse its run built (each test damages it its own way)."""
    (stores / "a" / "warehouse.duckdb").write_bytes(pristine)
    assert verify(stores / "a") == []
    contract.check_warehouse(stores / "a")
    return stores / "a"


def refused(store, *verify_lines: str, check: str) -> None:
    problems = verify(store)
    for expected in verify_lines:
        assert any(expected in line for line in problems), problems
    with pytest.raises(StoreError) as info:
        contract.check_warehouse(store)
    assert check in str(info.value) and "\n" not in str(info.value)


def test_a_clean_warehouse_records_what_it_is(store):
    manifest = json.loads((store / "manifest.json").read_text())
    entry = manifest["outputs"]["warehouse"]
    con = duckdb.connect(str(store / "warehouse.duckdb"), read_only=True)
    info = con.execute("select store_id, built_from, store_version from warehouse_info").fetchall()
    assert info == [(manifest["store_id"], entry["fingerprint"], contract.STORE_VERSION)]
    for table, fp in entry["tables"].items():
        assert con.execute(f'select count(*) from "{table}"').fetchone()[0] == fp["rows"]
    con.close()
    assert {"runs", "points", "exhaustive_by_size", "warehouse_info", "study_reference"} <= set(entry["tables"])


def test_another_stores_warehouse_copied_in(stores, store):
    shutil.copyfile(stores / "b" / "warehouse.duckdb", store / "warehouse.duckdb")
    refused(store, "belongs to another store", check="belongs to another store")


def test_values_edited_with_sql(store):
    con = duckdb.connect(str(store / "warehouse.duckdb"))
    con.execute("update exhaustive_by_size set sum_loss = sum_loss * 2")
    con.close()
    refused(store, "table exhaustive_by_size: content differs", "content hash differs",
            check="has changed since the run built it")


def test_rows_deleted_with_sql(store):
    con = duckdb.connect(str(store / "warehouse.duckdb"))
    con.execute("delete from points where point_id < 10")
    con.close()
    refused(store, "table points: 230 rows, manifest says 250", check="table points has 230 rows")


def test_flipped_bytes(store):
    path = store / "warehouse.duckdb"
    data = bytearray(path.read_bytes())
    rng = random.Random(13)
    for i in rng.sample(range(len(data)), 64):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    refused(store, "warehouse.duckdb", check="warehouse.duckdb")


def test_overwritten_with_html(store):
    (store / "warehouse.duckdb").write_text("<!doctype html><title>Knockout</title>" + "x" * 5000)
    refused(store, "warehouse.duckdb: unreadable", check="cannot open")


def test_reruns_repair_a_damaged_warehouse(store, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    (copy / "warehouse.duckdb").write_text("<!doctype html>")
    proc = run_cli("--store", str(copy), *TINY, "--train-seed", "0", check=True)
    assert "warehouse: unchanged" not in proc.stderr
    assert verify(copy) == []


def test_config_rows_describe_the_stored_units(stores, tmp_path):
    """A rerun that reuses training keeps the runs row; what the warehouse says about samples, paths
    and the grid must still be this run's (the page header reads it)."""
    store = tmp_path / "store"
    shutil.copytree(stores / "a", store)
    proc = run_cli("--store", str(store), *TINY, "--train-seed", "0",
                   "--flip-paths", "7", "--path-seed", "5", "--grid-size", "7", check=True)
    assert "train: reusing" in proc.stderr
    manifest = json.loads((store / "manifest.json").read_text())
    con = duckdb.connect(str(store / "warehouse.duckdb"), read_only=True)
    configs = {json.loads(c) == manifest["config"] for (c,) in con.execute("select config from runs").fetchall()}
    assert configs == {True}
    config = json.loads(con.execute("select config from warehouse_info").fetchone()[0])
    assert (config["flip_paths"], config["path_seed"], config["grid_size"]) == (7, 5, 7)
    assert con.execute("select count(distinct path_id) from flip_paths").fetchone()[0] == 7
    # the Parquet runs row says only what training read, so it cannot go stale
    trained = json.loads(con.execute("select train_config from runs").fetchone()[0])
    con.close()
    assert trained["train_seed"] == 0 and trained["hidden"] == 4
    assert not {"flip_paths", "path_seed", "grid_size", "samples_per_prob", "train_seeds"} & set(trained)
