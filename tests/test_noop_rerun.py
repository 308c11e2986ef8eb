"""A rerun that changes nothing rebuilds nothing: the warehouse and the page stay the very files they
were; a moved store, or a changed flag, rebuilds the warehouse and it answers from its new place."""
from __future__ import annotations

import json
import shutil
import time

import duckdb

from tests.conftest import SMALL_ARGS, run_cli

ARGS = [a for a in SMALL_ARGS]
ARGS[ARGS.index("--train-seeds") + 1] = "0"


def stamp(path):
    info = path.stat()
    return info.st_ino, info.st_mtime_ns, info.st_size


def test_a_rerun_that_changes_nothing_rebuilds_nothing(tmp_path):
    store, page = tmp_path / "store", tmp_path / "page" / "index.html"
    started = time.perf_counter()
    run_cli("--store", str(store), "--report", str(page), *ARGS, check=True)
    wall = time.perf_counter() - started
    # each stage's recorded seconds lie within the run's own time (the closing table prints them)
    stages = json.loads((store / "manifest.json").read_text())["stages"]
    assert {"train", "warehouse", "report"} <= {s["stage"] for s in stages}
    assert all(0 <= s["seconds"] <= wall for s in stages), stages
    before = {p: stamp(p) for p in (store / "warehouse.duckdb", page)}
    again = run_cli("--store", str(store), "--report", str(page), *ARGS, check=True)
    assert {p: stamp(p) for p in before} == before
    assert "warehouse: unchanged" in again.stderr and "report: unchanged" in again.stderr

    # a flag that changes the stored numbers rebuilds both
    changed = run_cli("--store", str(store), "--report", str(page), *ARGS, "--grid-size", "11", check=True)
    assert "unchanged" not in changed.stderr
    assert stamp(store / "warehouse.duckdb") != before[store / "warehouse.duckdb"]
    assert stamp(page) != before[page]

    # a damaged page is rebuilt, not trusted
    page.write_text("not the page")
    run_cli("--store", str(store), "--report", str(page), *ARGS, "--grid-size", "11", check=True)
    assert "knockout" in page.read_text().lower() and len(page.read_text()) > 1000


def test_a_moved_store_rebuilds_its_warehouse(tmp_path):
    store = tmp_path / "store"
    run_cli("--store", str(store), *ARGS, "--no-report", check=True)
    moved = tmp_path / "moved"
    shutil.move(store, moved)
    proc = run_cli("--store", str(moved), *ARGS, "--no-report", check=True)
    assert "warehouse: unchanged" not in proc.stderr
    con = duckdb.connect(str(moved / "warehouse.duckdb"), read_only=True)
    assert con.execute("select count(*) from mask_exhaustive").fetchone()[0] == 2 ** 6
    con.close()
