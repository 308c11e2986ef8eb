"""Which folder a run may write into: a missing one, an empty one, or a Knockout store.

A Knockout store is a folder whose manifest.json carries a store id (a random UUID written when the
folder was claimed); a store written before store ids existed is recognised by its manifest's shape
and given one. Anything else — a folder of the user's files, a file, an empty path — is refused in
one line before anything in it is touched. No heavy import: this runs before torch loads.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

from ingest.config import shown
from ingest.contract import MANIFEST, MAX_MANIFEST_BYTES, read_json_capped
from ingest.errors import UserError
from ingest.lock import LOCK

# What a folder may hold and still count as empty: the lock file of a run killed before it wrote the
# manifest, and a README such as the one this repository keeps in store/.
IGNORED = {LOCK, "README.md"}
NEW = "new"
STORE = "store"


def is_store_id(value) -> bool:
    try:
        return isinstance(value, str) and uuid.UUID(hex=value).hex == value
    except ValueError:
        return False


def new_store_id() -> str:
    return uuid.uuid4().hex


def _legacy(manifest: dict) -> bool:
    """A manifest written by Knockout before store ids: its status, code version and units."""
    return (manifest.get("status") in ("running", "complete") and isinstance(manifest.get("code_version"), str)
            and isinstance(manifest.get("units"), dict))


def store_id_of(manifest) -> str | None:
    """The store id of a Knockout manifest ("" for one written before store ids); None if the
    manifest is not Knockout's."""
    if not isinstance(manifest, dict):
        return None
    if is_store_id(manifest.get("store_id")):
        return manifest["store_id"]
    if "store_id" not in manifest and _legacy(manifest):
        return ""
    return None


def classify(store: Path) -> str:
    """NEW (missing or empty: a run may claim it) or STORE (a Knockout store); anything else raises
    UserError without touching the folder."""
    store = Path(store)
    where = shown(str(store))
    if str(store) == "":
        raise UserError("--store is empty: name a folder (a new, an empty, or a Knockout store)")
    if "~" in store.absolute().parts:  # DuckDB reads a folder named exactly ~ as the home folder
        raise UserError(f"--store {where} has a folder named '~' in its path, which DuckDB cannot read "
                        "literally; choose another path")
    if store.exists() and not store.is_dir():
        raise UserError(f"--store {where} is a file, not a folder")
    if not store.exists():
        return NEW
    try:
        entries = set(p.name for p in store.iterdir())
    except OSError as exc:
        raise UserError(f"cannot read store folder {where}: {exc.strerror or exc}") from None
    if MANIFEST in entries:
        try:
            manifest = read_json_capped(store / MANIFEST, MAX_MANIFEST_BYTES)
        except (OSError, ValueError) as exc:
            raise UserError(f"{where} holds a {MANIFEST} that cannot be read ({shown(str(exc))}): not "
                            f"a Knockout store this run may write to; choose another --store") from None
        if store_id_of(manifest) is None:
            raise UserError(f"{where} holds a {MANIFEST} that is not a Knockout manifest (no store id): "
                            f"its files are left alone; choose another --store")
        return STORE
    if entries <= IGNORED:
        return NEW
    raise UserError(f"{where} is not empty and not a Knockout store (no {MANIFEST}): its files are left "
                    f"alone; give a new or empty folder as --store")


def report_outside(store: Path, report: Path) -> None:
    """The page may not land among the store's own files (say on warehouse.duckdb), on a folder, below
    a file, or in a folder that cannot be written (tried with an empty file, removed at once): refused
    before any work, so a run never ends on a page it could not write."""
    store_dir, page = Path(store).absolute().resolve(), Path(report).absolute().resolve()
    if page == store_dir or store_dir in page.parents:
        raise UserError(f"--report {shown(str(report))} is inside the store {shown(str(store))}: "
                        "write the page outside it")
    if page.is_dir():
        raise UserError(f"--report {shown(str(report))} is a folder: name a file, such as "
                        f"{shown(str(Path(report) / 'index.html'))}")
    folder = next(parent for parent in page.parents if parent.exists())  # where missing folders will start
    if not folder.is_dir():
        raise UserError(f"--report {shown(str(report))} cannot be written: {shown(str(folder))} is a file, "
                        "not a folder")
    probe = folder / f".{page.name}.{os.getpid()}.probe"  # as root, permission bits say nothing: try it
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"--report {shown(str(report))} cannot be written: {shown(str(folder))}: "
                        f"{exc.strerror or exc}") from None


def read_store_id(store: Path) -> str | None:
    """The store id in the manifest of a claimed store (under its lock); "" if it predates ids,
    None if there is no manifest yet."""
    path = Path(store) / MANIFEST
    if not path.exists():
        return None
    try:
        return store_id_of(read_json_capped(path, MAX_MANIFEST_BYTES)) or ""
    except (OSError, ValueError):
        return ""


def fresh_manifest(store_id: str, code_version: str) -> dict:
    """What a newly claimed folder holds from the first moment: the marker, nothing finished."""
    return {"status": "running", "store_id": store_id, "code_version": code_version, "units": {}}

