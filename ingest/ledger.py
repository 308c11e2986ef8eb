"""What a run has finished, so a killed run resumes where it stopped.

Every finished unit of work (a stage of one trained network, or one shard of its exhaustive table)
is recorded in store/manifest.json with a fingerprint — the config fields it depends on, the code
version and its inputs — and the content hash and row count of each file it wrote. A later run
reuses a unit only when its fingerprint matches and its files are present with those hashes. The
manifest is read through a schema (ingest/schema.py): a malformed unit counts as missing and is
redone. Every manifest written carries the store's id, the marker that the folder is Knockout's.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ingest import progress
from ingest.claim import new_store_id, store_id_of
from ingest.contract import MANIFEST, MAX_MANIFEST_BYTES, STORE_VERSION, read_json_capped
from ingest.durable import write_atomic
from ingest.schema import parse, recorded_files

INGEST_DIR = Path(__file__).resolve().parent


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def code_version() -> str:
    """Hash of the ingest code, Python and C: a change to how numbers are made invalidates what was stored."""
    digest = hashlib.sha256()
    for path in sorted([*INGEST_DIR.glob("*.py"), *INGEST_DIR.glob("*.c")]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def write_json(path: Path, data: dict) -> None:
    write_atomic(path, json.dumps(data, indent=2) + "\n")


class Ledger:
    def __init__(self, store: Path):
        self.store = Path(store)
        self.path = self.store / MANIFEST
        self.version = code_version()
        self.done: dict[str, dict] = {}
        self.outputs: dict[str, dict] = {}  # the warehouse and page the last complete run built
        self.recorded: set[str] = set()  # every file the manifest says a run wrote, any code version
        self.store_id = ""
        self.changed = False  # whether this run has changed the store yet
        self.complete = False  # whether this run has written its complete manifest
        try:
            previous = read_json_capped(self.path, MAX_MANIFEST_BYTES)
        except (OSError, ValueError):
            previous = None  # no usable record: everything is recomputed
        if isinstance(previous, dict) and store_id_of(previous) is not None:
            self.store_id = store_id_of(previous)
            manifest, problems = parse(previous)
            if problems:
                more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
                progress.log(f"manifest: ignoring {problems[0]}{more}; that work is redone")
            self.recorded = recorded_files(manifest)
            if manifest.get("code_version") == self.version:
                self.done = dict(manifest["units"])
                if manifest.get("status") == "complete":
                    self.outputs = dict(manifest["outputs"])
        # A store from before store ids gets one with the first manifest this run writes.
        self.store_id = self.store_id or new_store_id()
        self.used: set[str] = set()

    def reusable(self, key: str, fp: str) -> bool:
        entry = self.done.get(key)
        if not entry or entry.get("fingerprint") != fp:
            return False
        for rel, meta in entry["files"].items():
            path = self.store / rel
            if not path.is_file() or sha256(path) != meta["sha256"]:
                return False
        self.used.add(key)
        return True

    def begin_change(self) -> None:
        """Mark the store running before the first file of this run changes it: from here until
        `finish`, the manifest does not claim a complete store."""
        if not self.changed:
            self.changed = True
            self._write_running()

    def _write_running(self) -> None:
        # Files of units this code no longer reuses stay listed until a finished run removes them.
        current = {rel for unit in self.done.values() for rel in unit["files"]}
        write_json(self.path, {"status": "running", "store_id": self.store_id, "code_version": self.version,
                               "units": self.done, "earlier_files": sorted(self.recorded - current)})

    def record(self, key: str, fp: str, files: list[Path]) -> dict[str, int]:
        import pyarrow.parquet as pq

        entry = {"fingerprint": fp, "files": {}}
        for path in files:
            rel = path.relative_to(self.store).as_posix()
            entry["files"][rel] = {"sha256": sha256(path), "bytes": path.stat().st_size,
                                   "rows": pq.ParquetFile(path).metadata.num_rows}
        self.done[key] = entry
        self.used.add(key)
        self.recorded.update(entry["files"])
        self.changed = True
        self._write_running()
        return {rel.split("/")[0]: meta["rows"] for rel, meta in entry["files"].items()}

    def rows(self, key: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for rel, meta in self.done[key]["files"].items():
            out[rel.split("/")[0]] = out.get(rel.split("/")[0], 0) + meta["rows"]
        return out

    def trained(self) -> dict[str, int]:
        """{training fingerprint: run id} of the networks the store holds (for a sweep's stable run ids)."""
        out = {}
        for key, entry in self.done.items():
            parts = key.split("/")
            if len(parts) == 2 and parts[0] == "train" and parts[1].isdigit():
                out.setdefault(entry["fingerprint"], int(parts[1]))
        return out

    def files(self) -> dict[str, dict]:
        """Every file of the units this run used, for the final manifest and `ingest.verify`."""
        out = {}
        for key in sorted(self.used):
            out.update(self.done[key]["files"])
        return out

    def stale(self) -> list[str]:
        """Files an earlier run recorded that this run does not use (another seed list, another
        shard size): the only files a run ever deletes."""
        return sorted(self.recorded - set(self.files()))

    def finish(self, manifest: dict) -> None:
        self.complete = True
        units = {key: self.done[key] for key in sorted(self.used)}
        write_json(self.path, {"status": "complete", "store_version": STORE_VERSION, "store_id": self.store_id,
                               "code_version": self.version, **manifest,
                               "files": self.files(), "units": units})
