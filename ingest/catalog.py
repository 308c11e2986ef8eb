"""The warehouse: every store table loaded into store/warehouse.duckdb, plus the views of sql/.

Tables are copied in (not views over Parquet paths) so the file answers from any working
directory; the file is built under a temporary name and renamed, so readers never see half of it.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
TABLES = ("runs", "points", "test_contribs", "weights", "mask_samples", "mask_exhaustive",
          "mask_landmarks", "flip_paths", "input_grid")
WAREHOUSE = "warehouse.duckdb"


def sql_files() -> list[Path]:
    """View files in the order they build on each other (numbered prefixes)."""
    return sorted(SQL_DIR.glob("*.sql"))


def apply_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    names = []
    for path in sql_files():
        con.execute(path.read_text())
        names.append(path.stem.split("_", 1)[1])
    return names


def build(store: Path, threads: int | None = None) -> dict[str, int]:
    """(Re)build the warehouse from the Parquet folders; returns row counts per table."""
    store = Path(store)
    final = store / WAREHOUSE
    tmp = store / f".{WAREHOUSE}.tmp"
    for leftover in (tmp, Path(f"{tmp}.wal")):
        leftover.unlink(missing_ok=True)
    counts = {}
    con = duckdb.connect(str(tmp))
    try:
        con.execute("set enable_progress_bar = false")
        if threads:
            con.execute(f"set threads = {int(threads)}")
        for table in TABLES:
            pattern = (store / table / "*.parquet").as_posix().replace("'", "''")
            con.execute(f"create table {table} as select * from read_parquet('{pattern}')")
            counts[table] = con.execute(f"select count(*) from {table}").fetchone()[0]
        apply_views(con)
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(tmp, final)
    return counts
