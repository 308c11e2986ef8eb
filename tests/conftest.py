"""Shared fixtures: one small real run of the CLI into a temporary store, reused by many tests."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

ROOT = Path(__file__).resolve().parent.parent

# Small enough for seconds, big enough that every table and view has real content.
SMALL_ARGS = ["--train-seeds", "0,1", "--hidden", "6", "--train-points", "500", "--epochs", "3", "--test-points", "200",
              "--samples-per-prob", "100", "--flip-paths", "50", "--grid-size", "21"]


def run_cli(*args: str, cwd: Path = ROOT, check: bool = False) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "ingest.run", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"ingest.run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def small_store(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("store")
    run_cli("--store", str(store), *SMALL_ARGS, "--no-report", check=True)
    return store


@pytest.fixture(scope="session")
def warehouse(small_store):
    con = duckdb.connect(str(small_store / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


def read_table(store: Path, name: str, run_id: int | None = 0) -> pl.DataFrame:
    """One run's rows of a stored table (all runs with run_id=None), straight from Parquet."""
    table = pl.read_parquet(store / name / "*.parquet")
    return table if run_id is None else table.filter(pl.col("run_id") == run_id)


def read_view(con, name: str, run_id: int | None = 0) -> pl.DataFrame:
    """One run's rows of a warehouse view or table."""
    where = "" if run_id is None else f" where run_id = {int(run_id)}"
    return con.execute(f"select * from {name}{where}").pl()
