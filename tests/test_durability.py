"""Every file a run writes is fsynced before it is renamed into place, and its folder after: watched on
a whole real run (Parquet files, the manifest, the warehouse), and checked in the source."""
from __future__ import annotations

import os
import re
from pathlib import Path

from ingest import durable
from ingest.run import main
from tests.conftest import ROOT

TINY = ["--hidden", "4", "--train-points", "200", "--epochs", "1", "--test-points", "50",
        "--samples-per-prob", "10", "--flip-paths", "5", "--grid-size", "5", "--train-seed", "0", "--no-report"]


def test_every_rename_of_a_run_is_fsynced_on_both_sides(tmp_path, monkeypatch, capsys):
    events = []
    real_fsync, real_replace = durable.fsync_path, os.replace

    def fsync_path(path):
        events.append(("fsync", Path(path).resolve()))
        real_fsync(path)

    def replace(src, dst):
        events.append(("replace", Path(src).resolve(), Path(dst).resolve()))
        real_replace(src, dst)

    monkeypatch.setattr(durable, "fsync_path", fsync_path)
    monkeypatch.setattr(os, "replace", replace)
    store = tmp_path / "store"
    assert main(["--store", str(store), *TINY]) == 0
    capsys.readouterr()
    renames = [i for i, e in enumerate(events) if e[0] == "replace" and store.resolve() in e[2].parents]
    finals = {events[i][2].name for i in renames}
    assert {"manifest.json", "warehouse.duckdb", "run-0.parquet"} <= finals
    for i in renames:
        _, src, dst = events[i]
        assert events[i - 1] == ("fsync", src), (events[i - 1], src)  # the data first
        assert events[i + 1] == ("fsync", dst.parent), (events[i + 1], dst)  # then its name


def test_no_rename_in_ingest_bypasses_durable():
    for path in sorted((ROOT / "ingest").glob("*.py")):
        if path.name in ("durable.py", "native.py"):  # native.py renames a compiled cache, not a store file
            continue
        code = path.read_text()
        assert not re.search(r"os\.(replace|rename)\(|shutil\.move\(|\.rename\(", code), path.name


def test_a_store_file_appears_whole_or_not_at_all(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pytest

    from ingest.store import FileWriter

    table = pa.table({"x": [1, 2, 3]})
    folder = tmp_path / "t"
    with pytest.raises(RuntimeError):  # a run that fails midway leaves neither the file nor its temporary
        with FileWriter(tmp_path, "t", "a") as writer:
            writer.write(table)
            raise RuntimeError("killed midway")
    assert list(folder.iterdir()) == []
    with pytest.raises(RuntimeError):  # failing before the first row: the caller sees its own error
        with FileWriter(tmp_path, "t", "a"):
            raise RuntimeError("failed before writing")
    assert list(folder.iterdir()) == []
    with pytest.raises(ValueError):  # nothing written: no empty file pretends to be a table
        FileWriter(tmp_path, "t", "b").commit()
    assert list(folder.iterdir()) == []

    # a failing close (a full disk) still removes the temporary, and the error reaches the caller
    real_close, failed = pq.ParquetWriter.close, []

    def full_disk(self):
        real_close(self)
        if not failed:  # once: a later close (the writer's own __del__) finds it closed
            failed.append(True)
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        with FileWriter(tmp_path, "t", "c") as writer:
            writer.write(table)
            monkeypatch.setattr(pq.ParquetWriter, "close", full_disk)
    monkeypatch.undo()
    assert list(folder.iterdir()) == []

    with FileWriter(tmp_path, "t", "d") as writer:
        writer.write(table)
        writer.write(table)
    assert [p.name for p in folder.iterdir()] == ["d.parquet"] and writer.rows == 6
    assert pq.read_table(folder / "d.parquet").column("x").to_pylist() == [1, 2, 3, 1, 2, 3]
