"""Files that survive a crash or a power cut: fsync the data, rename, then fsync the folder.

A rename is only durable once the folder that holds the name is fsynced too; without that, a power
cut after the rename can bring back the old manifest beside new files (or no file at all). Every
file ingest writes goes through here, and the report's page should too (`replace`, `write_atomic`).
No heavy import: the report and the CLI use it before torch, pyarrow or duckdb load.
"""
from __future__ import annotations

import os
from pathlib import Path


def fsync_path(path: Path) -> None:
    """fsync a file or a folder by name."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace(tmp: Path, final: Path) -> None:
    """Make the complete file `tmp` appear as `final`, durably: data, then name."""
    fsync_path(tmp)
    os.replace(tmp, final)
    fsync_path(Path(final).parent)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write `path` whole or not at all (a hidden temporary beside it, removed if anything fails)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def make_dirs(path: Path) -> None:
    """Create `path` and any missing parents, each new name fsynced into its parent."""
    path = Path(path)
    missing = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        fsync_path(folder.parent)
