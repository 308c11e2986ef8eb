"""manifest.json read through a schema: every entry checked before anything trusts it.

`parse` returns the manifest with its malformed entries left out, and one short line per entry it
left out. Writers and readers then decide: a run recomputes a unit whose entry was malformed (it
counts as missing); `ingest.verify` prints the lines; the report refuses the store. Every file path
must name a Parquet file directly inside one of the store's table folders, so no entry can lead a
reader out of the store (`../../etc/hostname`) or onto a file a run did not write.
"""
from __future__ import annotations

import re

from ingest.catalog import KEPT, TABLES
from ingest.config import shown

FILE_PATH = re.compile(r"(?P<table>[a-z_]+)/[A-Za-z0-9][A-Za-z0-9_.-]*\.parquet")
UNIT_KEY = re.compile(r"[a-z_]+/[0-9]+(/[0-9]+)?")
SHA256 = re.compile(r"[0-9a-f]{64}")
SQL_NAME = re.compile(r"[a-z_][a-z0-9_]*")
STATUSES = ("running", "complete")


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _text(value) -> bool:
    return isinstance(value, str) and value != ""


def file_path_ok(rel) -> bool:
    match = FILE_PATH.fullmatch(rel) if isinstance(rel, str) else None
    return bool(match) and match["table"] in TABLES + KEPT


def _file_problem(rel, meta) -> str | None:
    if not file_path_ok(rel):
        return "not a Parquet file of a table folder inside the store"
    if not isinstance(meta, dict):
        return "not an object"
    if not (isinstance(meta.get("sha256"), str) and SHA256.fullmatch(meta["sha256"])):
        return "no SHA-256"
    if not (_count(meta.get("bytes")) and _count(meta.get("rows"))):
        return "no byte or row count"
    return None


def _files(section, where: str, problems: list[str]) -> dict:
    out = {}
    for rel, meta in section.items():
        problem = _file_problem(rel, meta)
        if problem:
            problems.append(f"{where}[{shown(rel)}]: {problem}")
        else:
            out[rel] = meta
    return out


def _unit_problem(key, unit) -> str | None:
    if not (isinstance(key, str) and UNIT_KEY.fullmatch(key)):
        return "not a unit name"
    if not isinstance(unit, dict):
        return "not an object"
    if not _text(unit.get("fingerprint")):
        return "no fingerprint"
    files = unit.get("files")
    if not isinstance(files, dict) or not files:
        return "no files"
    for rel, meta in files.items():
        problem = _file_problem(rel, meta)
        if problem:
            return f"file {shown(rel)}: {problem}"
    return None


def _output_problem(name: str, entry) -> str | None:
    if not isinstance(entry, dict):
        return "not an object"
    if not (_text(entry.get("path")) and _text(entry.get("fingerprint")) and _count(entry.get("bytes"))
            and isinstance(entry.get("sha256"), str) and SHA256.fullmatch(entry["sha256"])):
        return "no path, fingerprint, size or SHA-256"
    if name == "warehouse":
        tables = entry.get("tables")
        if not (isinstance(tables, dict) and tables and all(
                isinstance(t, str) and SQL_NAME.fullmatch(t) and isinstance(v, dict) and _count(v.get("rows")) and _text(v.get("hash"))
                for t, v in tables.items())):
            return "no fingerprint of its tables"
        if not (_text(entry.get("definitions")) and _text(entry.get("store_id"))):
            return "no definitions hash or store id"
    return None


def parse(manifest: dict) -> tuple[dict, list[str]]:
    """The manifest without its malformed entries, and a line for each entry left out."""
    problems: list[str] = []
    clean = dict(manifest)
    if clean.get("status") not in STATUSES:
        problems.append(f"status: {shown(clean.get('status'))} is neither running nor complete")
        clean["status"] = "running"  # nothing in it may be taken as finished
    units = clean.get("units", {})
    if not isinstance(units, dict):
        problems.append("units: not an object")
        units = {}
    clean["units"] = {}
    for key, unit in units.items():
        problem = _unit_problem(key, unit)
        if problem:
            problems.append(f"units[{shown(key)}]: {problem}")
        else:
            clean["units"][key] = unit
    if "files" in clean:
        if isinstance(clean["files"], dict):
            clean["files"] = _files(clean["files"], "files", problems)
        else:
            problems.append("files: not an object")
            del clean["files"]
    earlier = clean.get("earlier_files", [])
    if not isinstance(earlier, list):
        problems.append("earlier_files: not a list")
        earlier = []
    clean["earlier_files"] = []
    for rel in earlier:
        if file_path_ok(rel):
            clean["earlier_files"].append(rel)
        else:
            problems.append(f"earlier_files[{shown(rel)}]: not a Parquet file of a table folder inside the store")
    if "config" in clean and not isinstance(clean["config"], dict):
        problems.append("config: not an object")
        del clean["config"]
    outputs = clean.get("outputs", {})
    if not isinstance(outputs, dict):
        problems.append("outputs: not an object")
        outputs = {}
    clean["outputs"] = {}
    for name, entry in outputs.items():
        problem = _output_problem(name, entry)
        if problem:
            problems.append(f"outputs[{shown(name)}]: {problem}")
        else:
            clean["outputs"][name] = entry
    return clean, problems


def recorded_files(manifest: dict) -> set[str]:
    """Every file path the (parsed) manifest records: the files a run may treat as its own."""
    paths = set(manifest.get("files", {})) | set(manifest.get("earlier_files", []))
    for unit in manifest.get("units", {}).values():
        paths.update(unit["files"])
    return paths
