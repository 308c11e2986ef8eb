"""manifest.json is read through a schema: a malformed entry is reported in one line, a malformed unit
is redone, and no path in the manifest leads out of the store."""
from __future__ import annotations

import json
import shutil

import pytest

from ingest import contract, schema
from ingest.errors import StoreError
from ingest.run import main
from ingest.verify import main as verify_main
from tests.conftest import run_cli

TINY = ["--hidden", "4", "--train-points", "200", "--epochs", "1", "--test-points", "50",
        "--samples-per-prob", "10", "--flip-paths", "5", "--grid-size", "5", "--train-seed", "0", "--no-report"]


@pytest.fixture(scope="module")
def complete(tmp_path_factory):
    store = tmp_path_factory.mktemp("schema") / "store"
    run_cli("--store", str(store), *TINY, check=True)
    return store


@pytest.fixture
def store(complete, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(complete, copy)
    return copy


def edit(store, change) -> None:
    path = store / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def entry(manifest: dict) -> dict:
    return next(iter(manifest["files"].values()))


def test_a_malformed_unit_is_redone_not_a_crash(store, capsys):
    edit(store, lambda m: m["units"].__setitem__("train/0", "oops"))
    assert main(["--store", str(store), *TINY]) == 0
    err = capsys.readouterr().err.splitlines()
    notes = [line for line in err if "manifest:" in line]
    assert notes == ["[knockout] manifest: ignoring units['train/0']: not an object; that work is redone"]
    assert "train: 1 network" in "\n".join(err)  # retrained, not reused
    manifest = json.loads((store / "manifest.json").read_text())
    assert isinstance(manifest["units"]["train/0"], dict)
    assert verify_main(["--store", str(store)]) == 0


@pytest.mark.parametrize("damage,line", [
    (lambda m: m["units"]["samples/0"].__setitem__("files", "x"), "manifest.json units['samples/0']: no files"),
    (lambda m: m["units"].__setitem__("../x", m["units"]["samples/0"]), "manifest.json units['../x']: not a unit name"),
    (lambda m: m["files"].__setitem__("../../etc/hostname", entry(m)),
     "manifest.json files['../../etc/hostname']: not a Parquet file of a table folder inside the store"),
    (lambda m: m["files"].__setitem__("/etc/hostname", entry(m)),
     "manifest.json files['/etc/hostname']: not a Parquet file of a table folder inside the store"),
    (lambda m: m["files"].__setitem__("runs/run-0.parquet", {"sha256": 5}), "manifest.json files['runs/run-0.parquet']: no SHA-256"),
    (lambda m: m["outputs"].__setitem__("warehouse", []), "manifest.json outputs['warehouse']: not an object"),
])
def test_verify_reports_malformed_entries_one_line_each(store, damage, line, capsys):
    edit(store, damage)
    assert verify_main(["--store", str(store)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert line in out, out
    assert not any("hostname" in o and o != line for o in out)  # never opened, never hashed
    with pytest.raises(StoreError) as info:
        contract.check_complete_store(store)
    assert "malformed entry" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("section", ["files", "config"])
def test_a_wrongly_typed_section_is_one_line_exit_2(store, section, capsys):
    edit(store, lambda m: m.__setitem__(section, "oops"))
    assert verify_main(["--store", str(store)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "no files or config section" in err[0]


def test_paths_must_stay_in_a_table_folder():
    good = ["runs/run-0.parquet", "mask_exhaustive/run-1-part-003.parquet"]
    bad = ["../runs/run-0.parquet", "runs/../../x.parquet", "/etc/hostname", "runs/.hidden.parquet",
           "nosuch/run-0.parquet", "runs/sub/run-0.parquet", "runs\\run-0.parquet", "runs/run-0.parquet\n", 7]
    assert all(schema.file_path_ok(p) for p in good)
    assert not any(schema.file_path_ok(p) for p in bad)
