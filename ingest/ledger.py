"""What a run has finished, so a killed run resumes where it stopped.

Every finished unit of work (a stage of one trained network, or one shard of its exhaustive table)
is recorded in store/manifest.json with a fingerprint — the config fields it depends on, the code
version and its inputs — and the content hash and row count of each file it wrote. A later run
reuses a unit only when its fingerprint matches and its files are present with those hashes.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pyarrow.parquet as pq

INGEST_DIR = Path(__file__).resolve().parent
# The layout and columns of the store (store/README.md); readers refuse any other.
STORE_VERSION = 1


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def code_version() -> str:
    """Hash of the ingest code: a change to how numbers are made invalidates what was stored."""
    digest = hashlib.sha256()
    for path in sorted(INGEST_DIR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        f.write(json.dumps(data, indent=2) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Ledger:
    def __init__(self, store: Path):
        self.store = Path(store)
        self.path = self.store / "manifest.json"
        self.version = code_version()
        self.done: dict[str, dict] = {}
        try:
            previous = json.loads(self.path.read_text())
            if isinstance(previous, dict) and previous.get("code_version") == self.version:
                self.done = dict(previous.get("units", {}))
        except (OSError, ValueError):
            pass  # no usable record: everything is recomputed
        self.used: set[str] = set()

    def reusable(self, key: str, fp: str) -> bool:
        entry = self.done.get(key)
        if not entry or entry.get("fingerprint") != fp:
            return False
        for rel, meta in entry["files"].items():
            path = self.store / rel
            if not path.exists() or sha256(path) != meta["sha256"]:
                return False
        self.used.add(key)
        return True

    def record(self, key: str, fp: str, files: list[Path]) -> dict[str, int]:
        entry = {"fingerprint": fp, "files": {}}
        for path in files:
            rel = path.relative_to(self.store).as_posix()
            entry["files"][rel] = {"sha256": sha256(path), "bytes": path.stat().st_size,
                                   "rows": pq.ParquetFile(path).metadata.num_rows}
        self.done[key] = entry
        self.used.add(key)
        write_json(self.path, {"status": "running", "code_version": self.version, "units": self.done})
        return {rel.split("/")[0]: meta["rows"] for rel, meta in entry["files"].items()}

    def rows(self, key: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for rel, meta in self.done[key]["files"].items():
            out[rel.split("/")[0]] = out.get(rel.split("/")[0], 0) + meta["rows"]
        return out

    def files(self) -> dict[str, dict]:
        """Every file of the units this run used, for the final manifest and `ingest.verify`."""
        out = {}
        for key in sorted(self.used):
            out.update(self.done[key]["files"])
        return out

    def finish(self, manifest: dict) -> None:
        units = {key: self.done[key] for key in sorted(self.used)}
        write_json(self.path, {"status": "complete", "store_version": STORE_VERSION,
                               "code_version": self.version, **manifest,
                               "files": self.files(), "units": units})
