"""Whether the warehouse and the page already match what they are built from, so a rerun that
changed nothing rebuilds nothing.

The warehouse is a function of the store's files (their hashes, in the manifest), the SQL and seeds
of sql/ with the code that builds them, the store's id and configuration, and the store's absolute
path (mask_exhaustive is a view over absolute file paths). The page is a function of the warehouse, the report's own code and
where it is written. Each output is recorded in the manifest with that fingerprint and its own
size and hash; it is reused only when both still match.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from ingest.ledger import fingerprint, sha256

REPORTS_DIR = Path(__file__).resolve().parent.parent / "reports"


def code_hash(folder: Path, suffixes: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.suffix in suffixes and "__pycache__" not in path.parts:
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def warehouse_fingerprint(store: Path, files: dict[str, dict], config: dict, store_id: str) -> str:
    """What the warehouse is built from: the store's files, its place, its id, the configuration
    its units were made with (every runs row carries it), the SQL and the DuckDB release (whose row
    hashes the content fingerprints use)."""
    from importlib import metadata

    from ingest import catalog

    hashes = {rel: meta["sha256"] for rel, meta in sorted(files.items())}
    return fingerprint("warehouse", str(Path(store).resolve()), store_id, config, catalog.definition_hash(),
                       metadata.version("duckdb"), hashes)


def report_fingerprint(warehouse_fp: str, page: Path) -> str:
    return fingerprint("report", warehouse_fp, str(Path(page).resolve()),
                       code_hash(REPORTS_DIR, (".py", ".js", ".css", ".j2", ".html")))


def record(path: Path, fp: str) -> dict:
    """What the manifest keeps of a built output."""
    return {"path": str(path), "fingerprint": fp, "bytes": path.stat().st_size, "sha256": sha256(path)}


def is_current(entry: dict | None, path: Path, fp: str) -> bool:
    """The output recorded in `entry` is `path`, built from `fp`, and still holds what was built."""
    if not isinstance(entry, dict) or entry.get("fingerprint") != fp or entry.get("path") != str(path):
        return False
    try:
        return path.stat().st_size == entry.get("bytes") and sha256(path) == entry.get("sha256")
    except OSError:
        return False
