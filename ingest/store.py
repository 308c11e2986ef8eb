"""Writing the store: `store/<table>/<file>.parquet`, each file written whole or not at all.

A file is streamed to a hidden temporary name in its table folder, fsynced, then renamed over
the final name, so a reader globbing `*.parquet` only ever sees complete files, whatever moment a
run is killed at.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.errors import UserError


def open_store(path: Path) -> Path:
    """The store folder, created if needed; a clear error if it cannot be one."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"--store {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"cannot write to store {path}: {exc.strerror or exc}") from None
    return path


def list_column(matrix: np.ndarray) -> pa.ListArray:
    """A B × N float matrix as a Parquet list<float32> column, without a Python loop."""
    m = np.ascontiguousarray(matrix, dtype=np.float32)
    offsets = np.arange(len(m) + 1, dtype=np.int32) * m.shape[1]
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(m.ravel()))


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileWriter:
    """Streams Arrow tables into `store/<table>/<name>.parquet`; `commit` makes the file appear."""

    def __init__(self, store: Path, table: str, name: str, dictionary: bool | list[str] = True):
        folder = Path(store) / table
        folder.mkdir(exist_ok=True)
        self.final = folder / f"{name}.parquet"
        self.tmp = folder / f".{name}.parquet.tmp"
        self.rows = 0
        self.dictionary = dictionary
        self._writer: pq.ParquetWriter | None = None

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.tmp, table.schema, compression="zstd",
                                            use_dictionary=self.dictionary)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def commit(self) -> Path:
        if self._writer is None:
            raise ValueError(f"nothing written to {self.final}")
        self._writer.close()
        self._writer = None
        fsync_path(self.tmp)
        os.replace(self.tmp, self.final)
        fsync_path(self.final.parent)
        return self.final

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is not None:
            self.abort()
        elif self._writer is not None:
            self.commit()


def write_file(store: Path, table: str, name: str, data: pa.Table) -> Path:
    with FileWriter(store, table, name) as writer:
        writer.write(data)
    return writer.final
