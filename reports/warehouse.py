"""Read-only access to the store's warehouse: the report's only way into the data."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl


class ReportError(Exception):
    """A problem the user can fix (no store, no warehouse, an unknown run): printed as one line."""


def open_warehouse(store_dir: Path) -> duckdb.DuckDBPyConnection:
    store_dir = Path(store_dir)
    if not store_dir.is_dir():
        raise ReportError(f"no store at {store_dir} (run `python -m ingest.run --store {store_dir}` first)")
    path = store_dir / "warehouse.duckdb"
    if not path.is_file():
        raise ReportError(f"the store {store_dir} has no warehouse.duckdb (run `python -m ingest.run --store {store_dir}`)")
    from reports.store_check import check_store  # here, not at the top: it imports ReportError

    check_store(store_dir)
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ReportError(f"cannot open {path}: {str(exc).splitlines()[0]}") from None


class Warehouse:
    """Queries for one run; every method returns a Polars frame."""

    def __init__(self, con: duckdb.DuckDBPyConnection, run_id=None):
        self.con = con
        runs = self.frame("select run_id from runs order by run_id")
        if runs.is_empty():
            raise ReportError("the warehouse has no runs")
        ids = runs["run_id"].to_list()
        if run_id is None:
            run_id = ids[0]
        elif run_id not in ids:
            # The CLI passes text; compare as text so integer and string run ids both work.
            by_text = {str(i): i for i in ids}
            if str(run_id) not in by_text:
                raise ReportError(f"no run {run_id!r} in the warehouse (runs: {', '.join(map(str, ids))})")
            run_id = by_text[str(run_id)]
        self.run_id = run_id

    def frame(self, sql: str, params: list | None = None) -> pl.DataFrame:
        try:
            return self.con.execute(sql, params or []).pl()
        except duckdb.CatalogException as exc:
            raise ReportError(f"the warehouse lacks a table or view the report needs: {str(exc).splitlines()[0]}") from None

    def run_frame(self, sql: str, params: list | None = None) -> pl.DataFrame:
        """`sql` with `$run` standing for this report's run_id."""
        return self.frame(sql.replace("$run", "?"), [self.run_id] * sql.count("$run") + (params or []))

    def has(self, name: str) -> bool:
        found = self.con.execute(
            "select count(*) from information_schema.tables where table_name = ?", [name]
        ).fetchone()
        return bool(found and found[0])
