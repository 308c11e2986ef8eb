"""Writing the store: each table is a folder of Parquet files, replaced whole and atomically."""
from __future__ import annotations

import os
import shutil
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
    offsets = np.arange(0, m.size + 1, m.shape[1] if m.ndim == 2 and m.shape[1] else 1, dtype=np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(m.ravel()))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class TableWriter:
    """Streams one table's files into a hidden folder; `commit` swaps it in place of the old one."""

    def __init__(self, store: Path, name: str):
        self.store, self.name = store, name
        self.final = store / name
        self.staging = store / f".staging-{name}"
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir()
        self.rows = 0
        self._writers: dict[str, pq.ParquetWriter] = {}

    def write(self, table: pa.Table, file: str = "run-0") -> None:
        writer = self._writers.get(file)
        if writer is None:
            writer = pq.ParquetWriter(self.staging / f"{file}.parquet", table.schema, compression="zstd")
            self._writers[file] = writer
        writer.write_table(table)
        self.rows += table.num_rows

    def commit(self) -> int:
        for file, writer in self._writers.items():
            writer.close()
            _fsync(self.staging / f"{file}.parquet")
        _fsync(self.staging)
        old = self.store / f".old-{self.name}"
        shutil.rmtree(old, ignore_errors=True)
        if self.final.exists():
            self.final.rename(old)
        self.staging.rename(self.final)
        _fsync(self.store)
        shutil.rmtree(old, ignore_errors=True)
        return self.rows

    def abort(self) -> None:
        for writer in self._writers.values():
            writer.close()
        shutil.rmtree(self.staging, ignore_errors=True)


def write_table(store: Path, name: str, table: pa.Table, file: str = "run-0") -> int:
    writer = TableWriter(store, name)
    try:
        writer.write(table, file)
    except BaseException:
        writer.abort()
        raise
    return writer.commit()
