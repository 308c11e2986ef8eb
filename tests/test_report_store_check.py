"""reports.build refuses a store it cannot trust (the store contract, ingest/contract.py): one line on
stderr, exit 2, no traceback, no page written."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def build(store, out):
    return subprocess.run([sys.executable, "-m", "reports.build", "--store", str(store), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture
def store_copy(small_store, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(small_store, copy)
    return copy


def edit_manifest(store, **changes):
    path = store / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def assert_refused(proc, message):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_store_of_another_version_is_refused(store_copy, tmp_path):
    edit_manifest(store_copy, store_version=0)
    assert_refused(build(store_copy, tmp_path / "out.html"), "written by another version")
    assert not (tmp_path / "out.html").exists()


def test_unfinished_store_is_refused(store_copy, tmp_path):
    edit_manifest(store_copy, status="running")
    assert_refused(build(store_copy, tmp_path / "out.html"), "did not finish")


def test_unreadable_manifest_is_refused(store_copy, tmp_path):
    (store_copy / "manifest.json").write_text("{ not json")
    assert_refused(build(store_copy, tmp_path / "out.html"), "cannot read")


def test_damaged_warehouse_is_refused(store_copy, tmp_path):
    (store_copy / "warehouse.duckdb").write_bytes(b"not a database")
    assert_refused(build(store_copy, tmp_path / "out.html"), "cannot open")
    assert not (tmp_path / "out.html").exists()


def test_folder_without_manifest_is_refused(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "warehouse.duckdb").write_bytes(b"")
    assert_refused(build(tmp_path / "s", tmp_path / "out.html"), "not a Knockout store")
