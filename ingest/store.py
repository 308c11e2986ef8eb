"""Writing the store: `store/<table>/<file>.parquet`, each file written whole or not at all.

A file is streamed to a hidden temporary name in its table folder, fsynced, then renamed over
the final name (and the folder fsynced: ingest/durable.py), so a reader only ever sees complete
files, whatever moment a run is killed at; a run that fails (a full disk) removes its temporary.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.durable import make_dirs, replace


def list_column(matrix: np.ndarray) -> pa.ListArray:
    """A B × N float matrix as a Parquet list<float32> column, without a Python loop."""
    m = np.ascontiguousarray(matrix, dtype=np.float32)
    offsets = np.arange(len(m) + 1, dtype=np.int32) * m.shape[1]
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(m.ravel()))


class FileWriter:
    """Streams Arrow tables into `store/<table>/<name>.parquet`; `commit` makes the file appear."""

    def __init__(self, store: Path, table: str, name: str, dictionary: bool | list[str] = True):
        folder = Path(store) / table
        make_dirs(folder)
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
        writer, self._writer = self._writer, None
        writer.close()
        replace(self.tmp, self.final)
        return self.final

    def abort(self) -> None:
        """Leave nothing behind: on a full disk, closing the writer fails too, and the partial
        temporary file must go all the same."""
        writer, self._writer = self._writer, None
        try:
            if writer is not None:
                writer.close()
        except Exception:
            pass
        finally:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is not None:
            self.abort()
        elif self._writer is not None:
            try:
                self.commit()
            except BaseException:
                self.abort()
                raise


def write_file(store: Path, table: str, name: str, data: pa.Table) -> Path:
    with FileWriter(store, table, name) as writer:
        writer.write(data)
    return writer.final
