"""`python -m ingest.verify [--store DIR]`: re-read every stored file and check it against the manifest.

Checks content hashes and row counts recorded by the run, that every Parquet file reads completely,
and the mask invariants: per run the exhaustive masks are 0 … 2^N−1 each exactly once, and every flip
path flips exactly one node per step, each node once. Prints OK, or one line per problem (exit 1).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ingest.errors import UserError
from ingest.ledger import STORE_VERSION, sha256


def load_manifest(store: Path) -> dict:
    if not store.is_dir():
        raise UserError(f"no store at {store}")
    path = store / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{store} is not a Knockout store (no manifest.json); run python -m ingest.run") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("status") == "running":
        raise UserError(f"the last run on {store} did not finish; run python -m ingest.run again to complete it")
    if "files" not in manifest or "config" not in manifest:
        raise UserError(f"{path} is not a Knockout manifest (no files or config section)")
    if manifest.get("store_version") != STORE_VERSION:
        raise UserError(f"{store} was written by another version of Knockout (store version "
                        f"{manifest.get('store_version')}, this one reads {STORE_VERSION}); run python -m ingest.run again")
    return manifest


def check_files(store: Path, manifest: dict) -> list[str]:
    problems = []
    recorded = manifest["files"]
    present = {p.relative_to(store).as_posix() for p in store.glob("*/*.parquet")}
    for extra in sorted(present - set(recorded)):
        problems.append(f"{extra}: not recorded in the manifest")
    for rel, meta in sorted(recorded.items()):
        path = store / rel
        if not path.exists():
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


def check_invariants(store: Path, manifest: dict) -> list[str]:
    problems = []
    hidden = manifest["config"]["hidden"]
    try:
        runs = pq.read_table(store / "runs").column("run_id").to_pylist()
    except Exception as exc:
        return [f"runs: unreadable ({type(exc).__name__})"]
    for run_id in runs:
        if manifest["config"].get("exhaustive", True):
            try:
                masks = pq.read_table(store / "mask_exhaustive", columns=["run_id", "mask"],
                                      filters=[("run_id", "=", run_id)]).column("mask").to_numpy()
            except Exception as exc:
                problems.append(f"mask_exhaustive: unreadable ({type(exc).__name__})")
                masks = None
            if masks is not None and not (len(masks) == 2 ** hidden
                                          and np.array_equal(np.sort(masks), np.arange(2 ** hidden))):
                problems.append(f"mask_exhaustive run {run_id}: masks are not 0 … 2^{hidden}−1 each once")
        try:
            paths = pq.read_table(store / "flip_paths", columns=["run_id", "path_id", "step", "mask", "flipped_node"],
                                  filters=[("run_id", "=", run_id)]).sort_by([("path_id", "ascending"),
                                                                              ("step", "ascending")])
        except Exception as exc:
            problems.append(f"flip_paths: unreadable ({type(exc).__name__})")
            continue
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


def verify(store: Path) -> list[str]:
    manifest = load_manifest(store)
    return check_files(store, manifest) + check_invariants(store, manifest)


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
