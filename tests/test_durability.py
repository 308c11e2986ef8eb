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
