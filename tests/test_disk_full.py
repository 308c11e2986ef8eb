"""A full disk: one line, no temporary file left behind, and a later run with space resumes to the
same store a clean run makes. Simulated (ENOSPC raised mid-write, in Parquet and in DuckDB), and for
real on a tiny tmpfs where the machine lets a test mount one."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from ingest.run import main
from ingest.verify import verify
from tests.conftest import ROOT, run_cli

TINY = ["--hidden", "4", "--train-points", "200", "--epochs", "1", "--test-points", "50",
        "--samples-per-prob", "10", "--flip-paths", "5", "--grid-size", "5", "--train-seed", "0", "--no-report"]


def harness(mode: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "tests" / "harness.py"), mode, "--", *flags],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def temporaries(store) -> list[str]:
    return [p.name for p in store.rglob(".*tmp*")]


def file_hashes(store) -> dict:
    return {rel: meta["sha256"] for rel, meta in json.loads((store / "manifest.json").read_text())["files"].items()}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    store = tmp_path_factory.mktemp("clean") / "store"
    run_cli("--store", str(store), *TINY, check=True)
    return store


def full_disk_line(proc) -> str:
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("[")]
    assert proc.returncode == 2 and len(errors) == 1, proc.stderr
    assert errors[0].startswith("error: no space left") and "run the same command again" in errors[0]
    return errors[0]


def test_a_full_disk_while_writing_parquet(clean, tmp_path, capsys):
    store = tmp_path / "store"
    full_disk_line(harness("enospc", "--store", str(store), *TINY))
    assert temporaries(store) == []
    assert main(["--store", str(store), *TINY]) == 0  # space again: resumes
    assert "reused" in capsys.readouterr().out
    assert file_hashes(store) == file_hashes(clean) and verify(store) == []


def test_a_full_disk_while_building_the_warehouse(clean, tmp_path, capsys):
    store = tmp_path / "store"
    shutil.copytree(clean, store)
    full_disk_line(harness("enospc-warehouse", "--store", str(store), *TINY))  # a moved store: rebuilt
    assert temporaries(store) == []
    assert main(["--store", str(store), *TINY]) == 0
    capsys.readouterr()
    assert verify(store) == []


def can_mount_tmpfs() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not can_mount_tmpfs(), reason="no user namespace to mount a small tmpfs in")
@pytest.mark.parametrize("size", ["40k", "3m"], ids=["parquet", "warehouse"])
def test_a_real_full_disk(size, tmp_path):
    """In a private mount namespace: a tmpfs too small for the store (the up-front estimate is
    switched off, as if it had been too low), then more space and the same command again."""
    mount, store = tmp_path / "disk", tmp_path / "disk" / "store"
    mount.mkdir()
    flags = " ".join(f"'{f}'" for f in ["--store", str(store), *TINY])
    script = f"""
        mount -t tmpfs -o size={size} tmpfs '{mount}' || exit 90
        '{sys.executable}' tests/harness.py no-budget -- {flags} 2>&1 | grep -v '^\\[knockout\\]'
        find '{store}' -name '.*tmp*'
        mount -o remount,size=64m '{mount}' || exit 91
        '{sys.executable}' -m ingest.run {flags} > /dev/null 2>&1 || exit 92
        '{sys.executable}' -m ingest.verify --store '{store}' || exit 93
    """
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(lines) == 2, lines  # the one error line, no temporary file, then verify's OK
    assert lines[0].startswith("error: no space left on the device of the store"), lines
    assert lines[1] == f"OK: {store}"
