"""Before drawing anything: is this a whole Knockout store of the version this report reads?

Cheap checks, so every build can afford them: the manifest says the last run finished and wrote
the store layout this report knows, and every file it lists is present with its recorded size and
a readable Parquet footer (a truncated file fails here). `python -m ingest.verify` does the full
check with content hashes.
"""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from reports.warehouse import ReportError

# The store layout (store/README.md) this report reads; ingest writes it into manifest.json.
STORE_VERSION = 1


def check_store(store_dir: Path) -> dict:
    store_dir = Path(store_dir)
    path = store_dir / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ReportError(f"{store_dir} is not a Knockout store (no manifest.json); "
                          f"run `python -m ingest.run --store {store_dir}`") from None
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot read {path}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("status") != "complete":
        raise ReportError(f"the last run on {store_dir} did not finish; run `python -m ingest.run "
                          f"--store {store_dir}` again to complete it")
    if manifest.get("store_version") != STORE_VERSION:
        raise ReportError(f"{store_dir} was written by another version of Knockout (store version "
                          f"{manifest.get('store_version')}, this report reads {STORE_VERSION}); "
                          f"rebuild it with `python -m ingest.run --store {store_dir}`")
    for rel, meta in sorted(manifest.get("files", {}).items()):
        file = store_dir / rel
        if not file.is_file():
            raise ReportError(f"{file} is missing; check the store with `python -m ingest.verify --store {store_dir}`")
        if file.stat().st_size != meta.get("bytes"):
            raise ReportError(f"{file} is damaged (size differs from the manifest); "
                              f"check the store with `python -m ingest.verify --store {store_dir}`")
        try:
            pq.ParquetFile(file).metadata
        except Exception:  # any footer failure means a damaged file
            raise ReportError(f"{file} is not a readable Parquet file; "
                              f"check the store with `python -m ingest.verify --store {store_dir}`") from None
    return manifest
