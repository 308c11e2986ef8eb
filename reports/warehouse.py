"""Read-only access to the store's warehouse: the report's only way into the data."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from ingest.contract import WAREHOUSE, check_warehouse
from ingest.errors import StoreError
from reports.errors import ReportError


def open_warehouse(store_dir: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse of a complete store, refused (ReportError, one line) unless
    it is the warehouse the store's last run built (the store contract: ingest/contract.py)."""
    store_dir = Path(store_dir)
    try:
        check_warehouse(store_dir)
    except StoreError as exc:
        raise ReportError(str(exc)) from None
    path = store_dir / WAREHOUSE
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ReportError(f"cannot open {path}: {str(exc).splitlines()[0]}") from None


class Warehouse:
    """Queries for one run; every query returns a Polars frame, and the same query is run once."""

    def __init__(self, con: duckdb.DuckDBPyConnection, run_id=None):
        self.con = con
        self._cache: dict[tuple, pl.DataFrame] = {}
        ids = self.frame("select run_id from runs order by run_id")["run_id"].to_list()
        if not ids:
            raise ReportError("the warehouse has no runs")
        if run_id is None:
            run_id = ids[0]
        elif run_id not in ids:
            # The CLI passes text; compare as text so integer and string run ids both work.
            by_text = {str(i): i for i in ids}
            if str(run_id) not in by_text:
                raise ReportError(f"no run {run_id!r} in the warehouse (runs: {', '.join(map(str, ids))})")
            run_id = by_text[str(run_id)]
        self.run_id = run_id
        self.run_ids = ids

    def frame(self, sql: str, params: dict | None = None) -> pl.DataFrame:
        """The rows of `sql`, its `$name` parameters from `params`."""
        params = params or {}
        # a list parameter (a set of keep probabilities) is part of the key as a tuple
        key = (sql, tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items())))
        if key not in self._cache:
            try:
                self._cache[key] = self.con.execute(sql, params).pl()
            except duckdb.CatalogException as exc:
                raise ReportError(f"the warehouse lacks a table or view the report needs: "
                                  f"{str(exc).splitlines()[0]}") from None
        return self._cache[key]

    def run_frame(self, sql: str, params: dict | None = None) -> pl.DataFrame:
        """`sql` with the parameter `$run` standing for this report's run_id."""
        return self.frame(sql, {"run": self.run_id, **(params or {})})

    def run_row(self, sql: str, params: dict | None = None) -> dict:
        """The one row of `sql` (with `$run`) as a dict; an empty dict when there is none."""
        frame = self.run_frame(sql, params)
        return frame.row(0, named=True) if len(frame) else {}
