"""`python -m ingest.verify [--store DIR]`: re-read every stored file and check it against the manifest.

Checks the manifest's entries (ingest/schema.py), content hashes and row counts recorded by the run,
that every Parquet file reads completely, and the mask invariants: per run the exhaustive masks are
0 … 2^N−1 each exactly once, and every flip path flips exactly one node per step, each node once.
Then the warehouse: that it is the file the run built, that it belongs to this store and was built
from its files, and that every table and mart holds the rows and content the run fingerprinted.
Only files the manifest lists are read, each by its own literal path. Prints OK, or one line per
problem (exit 1).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest.config import ROWS_UP_TO
from ingest.contract import WAREHOUSE, load_manifest
from ingest.errors import UserError
from ingest.ledger import sha256


def check_files(store: Path, manifest: dict) -> list[str]:
    problems = []
    recorded = manifest["files"]
    present = {p.relative_to(store).as_posix() for p in store.glob("*/*.parquet")}
    for extra in sorted(present - set(recorded)):
        problems.append(f"{extra}: not recorded in the manifest")
    for rel, meta in sorted(recorded.items()):
        path = store / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
            continue
        if sha256(path) != meta["sha256"]:
            problems.append(f"{rel}: content hash differs from the manifest")
        try:
            rows = pq.read_table(path).num_rows
        except Exception as exc:  # any reader failure means the file is damaged
            problems.append(f"{rel}: unreadable Parquet ({type(exc).__name__}: {str(exc).splitlines()[0]})")
            continue
        if rows != meta["rows"]:
            problems.append(f"{rel}: {rows} rows, manifest says {meta['rows']}")
    return problems


def read_recorded(store: Path, manifest: dict, table: str, columns: list[str]) -> pa.Table:
    """The table's recorded files, each read by its own path (never the folder, never a pattern)."""
    files = [store / rel for rel in sorted(manifest["files"]) if rel.split("/")[0] == table]
    parts = [pq.read_table(path, columns=columns) for path in files]
    return pa.concat_tables(parts) if parts else pa.table({c: [] for c in columns})


def masked_units(config: dict) -> int | None:
    """N, the masked units, from a manifest's config (hidden: a size or a list of sizes; mask_layers:
    1-based layers, empty or absent for all), or None if that is not a network."""
    sizes = config.get("hidden")
    sizes = [sizes] if isinstance(sizes, int) else sizes
    layers = config.get("mask_layers") or range(1, len(sizes or []) + 1)
    if (not isinstance(sizes, list) or not sizes
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in sizes)
            or not all(isinstance(m, int) and 1 <= m <= len(sizes) for m in layers)):
        return None
    n = sum(sizes[m - 1] for m in layers)
    return n if 0 < n <= 62 else None


def check_invariants(store: Path, manifest: dict) -> list[str]:
    problems = []
    hidden = masked_units(manifest["config"])
    if hidden is None:
        return [f"manifest config: hidden is {str(manifest['config'].get('hidden'))[:20]!r}, not a node count"]
    try:
        table = read_recorded(store, manifest, "runs", ["run_id", "hidden"])
        runs = table.column("run_id").to_pylist()
        # a sweep's networks differ in N: each run's own, as its runs row records it
        units = dict(zip(runs, table.column("hidden").to_pylist())) if "sweep" in manifest else {}
    except Exception as exc:
        return [f"runs: unreadable ({type(exc).__name__})"]
    try:
        # with --exhaustive-rows none (or auto above N = 22) the per-mask rows are not kept
        rows = manifest["config"].get("exhaustive_rows", "all")
        kept = rows == "all" or (rows == "auto" and hidden <= ROWS_UP_TO)
        exhaustive = (read_recorded(store, manifest, "mask_exhaustive", ["run_id", "mask"])
                      if manifest["config"].get("exhaustive", True) and kept else None)
    except Exception as exc:
        problems.append(f"mask_exhaustive: unreadable ({type(exc).__name__})")
        exhaustive = None
    try:
        all_paths = read_recorded(store, manifest, "flip_paths", ["run_id", "path_id", "step", "mask", "flipped_node"])
    except Exception as exc:
        return problems + [f"flip_paths: unreadable ({type(exc).__name__})"]
    base = hidden
    for run_id in runs:
        hidden = units.get(run_id, base)
        if not isinstance(hidden, int) or not 0 < hidden <= 62:
            problems.append(f"runs run {run_id}: hidden is {hidden!r}, not a node count")
            continue
        if exhaustive is not None:
            masks = exhaustive.filter(pc.equal(exhaustive["run_id"], run_id)).column("mask").to_numpy()
            if not (len(masks) == 2 ** hidden and np.array_equal(np.sort(masks), np.arange(2 ** hidden))):
                problems.append(f"mask_exhaustive run {run_id}: masks are not 0 … 2^{hidden}−1 each once")
        paths = all_paths.filter(pc.equal(all_paths["run_id"], run_id)).sort_by(
            [("path_id", "ascending"), ("step", "ascending")])
        steps = hidden + 1
        if paths.num_rows % steps:
            problems.append(f"flip_paths run {run_id}: {paths.num_rows} rows is not a whole number of paths")
            continue
        m = paths.column("mask").to_numpy().reshape(-1, steps)
        nodes = paths.column("flipped_node").to_numpy(zero_copy_only=False).reshape(-1, steps)
        diff = m[:, 1:] ^ m[:, :-1]
        flipped = nodes[:, 1:].astype(np.int64)
        if not np.array_equal(diff, np.left_shift(1, flipped)):
            problems.append(f"flip_paths run {run_id}: a step does not flip exactly its flipped_node")
        elif not np.array_equal(np.sort(flipped, axis=1), np.tile(np.arange(hidden), (len(m), 1))):
            problems.append(f"flip_paths run {run_id}: a path does not flip every node once")
    return problems


def check_warehouse(store: Path, manifest: dict) -> list[str]:
    """The warehouse against what the run recorded when it built it: its bytes, its store id, what
    it was built from, and every table's rows and content hash."""
    import duckdb

    from ingest import catalog
    from ingest.outputs import warehouse_fingerprint

    entry = manifest["outputs"].get("warehouse")
    path = store / WAREHOUSE
    if entry is None:
        return [f"{WAREHOUSE}: not recorded in the manifest"]
    if not path.is_file():
        return [f"{WAREHOUSE}: missing"]
    problems = []
    if sha256(path) != entry["sha256"]:
        problems.append(f"{WAREHOUSE}: content hash differs from the manifest")
    expected = warehouse_fingerprint(store, manifest["files"], manifest["config"], manifest["store_id"])
    if entry["fingerprint"] != expected:
        problems.append(f"{WAREHOUSE}: built for other files, another place or other SQL than the store "
                        "now has (rebuild it: python -m ingest.run)")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        return problems + [f"{WAREHOUSE}: unreadable ({str(exc).splitlines()[0][:160]})"]
    try:
        info = con.execute(f"select store_id, built_from from {catalog.INFO}").fetchall()
        if len(info) != 1:
            problems.append(f"{WAREHOUSE}: {catalog.INFO} does not hold one row")
        elif info[0][0] != manifest["store_id"]:
            problems.append(f"{WAREHOUSE}: belongs to another store (store id {str(info[0][0])[:32]}, "
                            f"this store is {manifest['store_id']})")
        elif info[0][1] != entry["fingerprint"]:
            problems.append(f"{WAREHOUSE}: not the warehouse the last run built")
        tables, definitions = catalog.fingerprints(con)
    except duckdb.Error as exc:
        return problems + [f"{WAREHOUSE}: unreadable ({str(exc).splitlines()[0][:160]})"]
    finally:
        con.close()
    for name, recorded in sorted(entry["tables"].items()):
        found = tables.get(name)
        if found is None:
            problems.append(f"{WAREHOUSE} table {name}: missing")
        elif found["rows"] != recorded["rows"]:
            problems.append(f"{WAREHOUSE} table {name}: {found['rows']:,} rows, manifest says {recorded['rows']:,}")
        elif found["hash"] != recorded["hash"]:
            problems.append(f"{WAREHOUSE} table {name}: content differs from the manifest")
    for name in sorted(set(tables) - set(entry["tables"])):
        problems.append(f"{WAREHOUSE} table {name}: not recorded in the manifest")
    if definitions != entry["definitions"]:
        problems.append(f"{WAREHOUSE}: its views, macros or columns differ from those the run built")
    return problems


def verify(store: Path) -> list[str]:
    store = Path(store)
    manifest, problems = load_manifest(store)
    problems = [f"manifest.json {line}" for line in problems]
    return problems + check_files(store, manifest) + check_invariants(store, manifest) + check_warehouse(store, manifest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.verify", description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("store"), help="store folder (default: store)")
    args = parser.parse_args(argv)
    try:
        problems = verify(args.store)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if problems:
        for line in problems:
            print(line)
        return 1
    print(f"OK: {args.store}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
