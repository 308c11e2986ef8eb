"""The warehouse: store tables, seeds and the SQL objects of sql/, built into store/warehouse.duckdb.

Layers, as dbt lays them out (sql/README.md):
- sources: the store's small tables are copied in; `mask_exhaustive`, the one big table, stays in
  its Parquet files and is a view over their absolute paths, so it is never stored twice;
- seeds (sql/seeds/*.csv): the study's published numbers and the reference constants, as tables;
- staging (views), marts (tables, materialised once here), views (light, on top).
Each .sql file creates the one object it is named after; the build order comes from which objects
each file mentions, not from file names. Last, `warehouse_info` records the store id and what the
warehouse was built from, and every table's content fingerprint goes into the manifest, so
`ingest.verify` and `ingest.contract.check_warehouse` can tell this store's warehouse from a copied,
edited or damaged one. The file is built under a temporary name and renamed, so readers never see
half of it; every path DuckDB reads is written literally (`literal_path`), never as a pattern.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from ingest.contract import WAREHOUSE
from ingest.durable import replace

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
LAYERS = ("staging", "marts", "views")
# Copied into the warehouse whole: small enough that a copy is cheaper than reading Parquet later.
COPIED = ("runs", "points", "test_contribs", "weights", "mask_samples", "mask_landmarks", "flip_paths",
          "input_grid", "summary_by_size", "summary_by_node", "summary_flips", "summary_bins",
          "summary_sample_flips", "summary_spectrum", "summary_mobius", "summary_interactions",
          "estimator_benchmark")
# Left in the store's Parquet files and read through a view: the 2^N per-mask rows.
LINKED = ("mask_exhaustive",)
TABLES = COPIED + LINKED
# Kept in the store only, never read into the warehouse: the summary stage's input with
# --exhaustive-rows none (ingest/aggregate.py).
KEPT = ("exhaustive_sums", "exhaustive_targets")


@dataclass(frozen=True)
class SqlObject:
    name: str
    layer: str
    path: Path

    @property
    def kind(self) -> str:
        return "table" if self.layer == "marts" else "view"

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def seeds() -> dict[str, Path]:
    return {p.stem: p for p in sorted((SQL_DIR / "seeds").glob("*.csv"))}


def sql_objects() -> list[SqlObject]:
    """Every object of sql/, in an order where each comes after everything it reads."""
    objects = {p.stem: SqlObject(p.stem, layer, p)
               for layer in LAYERS for p in sorted((SQL_DIR / layer).glob("*.sql"))}
    known = set(objects) | set(TABLES) | set(seeds())
    graph = {}
    for obj in objects.values():
        code = re.sub(r"--[^\n]*", "", obj.text())  # names in comments are not reads
        words = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", code))
        graph[obj.name] = {w for w in words & known if w != obj.name and w in objects}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise RuntimeError(f"sql/ objects read each other in a cycle: {exc.args[1]}") from None
    return [objects[name] for name in order]


def definition_hash() -> str:
    """What the warehouse is built from besides the data: the SQL, the seeds and this builder."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in sorted(SQL_DIR.rglob("*")):
        if path.suffix in (".sql", ".csv"):
            digest.update(path.relative_to(SQL_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


GLOB_CHARACTERS = "[]*?"


def literal_path(path: Path) -> str:
    """An absolute file path as a SQL string DuckDB reads as that one file.

    DuckDB expands glob patterns in every path it is given, list entries included, so a store named
    `g[1]` would read `g1/`'s files and `m*` every store beside it. Each glob character is written as
    a character class holding only itself (`[` → `[[]`), which matches exactly that character."""
    text = str(Path(path).absolute())
    return _literal("".join(f"[{ch}]" if ch in GLOB_CHARACTERS else ch for ch in text))


def _file_list(store: Path, files: list[str]) -> str:
    """The files (paths relative to the store) as a DuckDB list of literal absolute paths."""
    return "[" + ", ".join(literal_path(store / rel) for rel in files) + "]"


def _table_files(files: dict[str, dict]) -> dict[str, list[str]]:
    """{table: its recorded files in name order}: the warehouse reads only what the manifest lists,
    never whatever else lies in a table folder."""
    out: dict[str, list[str]] = {table: [] for table in TABLES + KEPT}
    for rel in sorted(files):
        out[rel.split("/")[0]].append(rel)
    return out


INFO = "warehouse_info"  # one row: which store the warehouse belongs to and what it was built from


def fingerprints(con) -> tuple[dict[str, dict], str]:
    """A content fingerprint of every table in the warehouse, {name: {rows, hash}}, and one hash of
    every definition (views, macros, the columns of every object).

    A table's hash is the sum and the XOR of DuckDB's 64-bit hash of each row: independent of row
    order (no sort), and changed by any edited, added or removed row. ~0.1 s for the default run."""
    tables = {}
    names = con.execute("select table_name from duckdb_tables() where not internal order by table_name").fetchall()
    for (name,) in names:
        rows, total, xor = con.execute(
            f'select count(*), coalesce(sum(hash(knockout_row)), 0)::varchar, '
            f'coalesce(bit_xor(hash(knockout_row)), 0)::varchar from "{name}" as knockout_row').fetchone()
        tables[name] = {"rows": rows, "hash": f"{total}:{xor}"}
    digest = hashlib.sha256()
    for query in ("select view_name, sql from duckdb_views() where not internal order by view_name",
                  "select function_name, function_type, macro_definition from duckdb_functions() "
                  "where not internal and function_type in ('macro', 'table_macro') order by all",
                  "select table_name, column_index, column_name, data_type from duckdb_columns() "
                  "where not internal order by table_name, column_index"):
        digest.update(repr(con.execute(query).fetchall()).encode())
    return tables, digest.hexdigest()[:16]


def build(store: Path, files: dict[str, dict], info: dict, threads: int | None = None,
          run_configs: dict[int, str] | None = None) -> dict:
    """(Re)build the warehouse from the store's recorded Parquet files.

    `files` is the manifest's {path: {rows, …}}; `info` the row of warehouse_info (store_id,
    built_from, store_version, config). The whole configuration the stored units were made with is
    also every runs row's `config` (the Parquet runs rows hold only what training read). Returns the
    row counts per store table, the fingerprint of every table, and the definitions' hash. A sweep's
    networks each have their own configuration: `run_configs` {run_id: JSON} gives each runs row its own."""
    import duckdb

    store = Path(store)
    final = store / WAREHOUSE
    tmp = store / f".{WAREHOUSE}.tmp"
    # DuckDB takes a "?" in a database path for the start of options and writes its log elsewhere:
    # under such a store the file is built in a private temporary folder and copied in.
    scratch = Path(tempfile.mkdtemp(prefix="knockout-warehouse-")) if "?" in str(tmp.absolute()) else None
    built = scratch / WAREHOUSE if scratch else tmp
    leftovers = (tmp, Path(f"{tmp}.wal"))
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    counts = {}
    try:
        con = duckdb.connect(str(built))
        try:
            con.execute("set enable_progress_bar = false")
            if threads:
                con.execute(f"set threads = {int(threads)}")
            by_table = _table_files(files)
            for table in COPIED:
                extra = f", {_literal(info['config'])} as config" if table == "runs" else ""
                if table == "runs" and run_configs:
                    cases = " ".join(f"when {int(r)} then {_literal(c)}" for r, c in sorted(run_configs.items()))
                    extra = f", case run_id {cases} end as config"
                con.execute(f"create table {table} as select *{extra} from read_parquet({_file_list(store, by_table[table])})")
            for table in LINKED:
                con.execute(f"create view {table} as select * from read_parquet({_file_list(store, by_table[table])})")
            for table in TABLES:
                counts[table] = con.execute(f"select count(*) from {table}").fetchone()[0]
                recorded = sum(files[rel]["rows"] for rel in by_table[table])
                if counts[table] != recorded:  # a path read as a pattern, or a file changed under us
                    raise RuntimeError(f"the warehouse read {counts[table]} rows of {table}, its files "
                                       f"hold {recorded}")
            for name, path in seeds().items():
                con.execute(f"create table {name} as select * from read_csv({literal_path(path)}, header = true, "
                            "auto_detect = true, sample_size = -1)")
            for obj in sql_objects():
                con.execute(obj.text())
            con.execute(f"create table {INFO} as select " + ", ".join(
                f"{_literal(str(value))} as {key}" if isinstance(value, str) else f"{int(value)} as {key}"
                for key, value in info.items()))
            con.execute("checkpoint")
        finally:
            con.close()
        # Fingerprinted as a reader will see it: DuckDB writes a view's SQL back differently once
        # the file is reopened (quoted type names), so the definitions are hashed from a reopened file.
        con = duckdb.connect(str(built), read_only=True)
        try:
            tables, definitions = fingerprints(con)
        finally:
            con.close()
        if scratch:
            shutil.copyfile(built, tmp)
        replace(tmp, final)
    except BaseException:
        for leftover in leftovers:  # a full disk or an interruption leaves no half-built file behind
            leftover.unlink(missing_ok=True)
        raise
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return {"row_counts": counts, "tables": tables, "definitions": definitions}
