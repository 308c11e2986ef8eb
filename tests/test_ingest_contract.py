"""One store contract for writer and readers: what the ledger writes, check_complete_store accepts,
and every other state of a store folder is refused with one line."""
from __future__ import annotations

import json

import pytest

from ingest import contract
from ingest.errors import StoreError, UserError
from ingest.ledger import Ledger
from ingest.verify import main as verify_main


def finished_store(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    Ledger(store).finish({"config": {"hidden": 6}})
    return store


def test_what_a_run_writes_is_a_complete_store(tmp_path):
    manifest = contract.check_complete_store(finished_store(tmp_path))
    assert manifest["status"] == "complete" and manifest["store_version"] == contract.STORE_VERSION
    assert manifest["config"] == {"hidden": 6} and manifest["files"] == {}


def edit(store, **changes):
    path = store / contract.MANIFEST
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


REFUSED = {
    "missing folder": (lambda s: s.rename(s.with_name("elsewhere")), "no store at"),
    "no manifest": (lambda s: (s / contract.MANIFEST).unlink(), "is not a Knockout store (no manifest.json)"),
    "bad json": (lambda s: (s / contract.MANIFEST).write_text("{"), "cannot read"),
    "not a dict": (lambda s: (s / contract.MANIFEST).write_text("[1, 2]"), "is not a Knockout manifest"),
    "running": (lambda s: edit(s, status="running"), "did not finish"),
    "other version": (lambda s: edit(s, store_version=contract.STORE_VERSION + 1), "written by another version"),
    "no files": (lambda s: edit(s, files=None), "no files or config section"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_anything_else_is_refused_in_one_line(case, tmp_path):
    store = finished_store(tmp_path)
    damage, message = REFUSED[case]
    damage(store)
    with pytest.raises(StoreError) as info:
        contract.check_complete_store(store)
    assert isinstance(info.value, UserError)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_verify_uses_the_contract(tmp_path, capsys):
    store = finished_store(tmp_path)
    edit(store, status="running")
    assert verify_main(["--store", str(store)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "did not finish" in err[0]
