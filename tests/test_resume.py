"""A store you can trust: killed runs leave only complete files and resume to the same store."""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingest import progress
from tests.conftest import ROOT, run_cli, run_cli_subprocess

# Ten nodes in eight exhaustive shards, two networks: many units to be killed between.
ARGS = ["--train-seeds", "0,1", "--hidden", "10", "--train-points", "600", "--epochs", "2",
        "--test-points", "300", "--samples-per-prob", "50", "--flip-paths", "40", "--grid-size", "15",
        "--shard-masks", "128", "--block-masks", "64", "--no-report"]


def units_done(store: Path) -> int:
    try:
        return len(json.loads((store / "manifest.json").read_text()).get("units", {}))
    except (OSError, ValueError):
        return 0


def start(store: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ingest.run", "--store", str(store), *ARGS],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_after_units(store: Path, units: int, sig=signal.SIGKILL) -> subprocess.Popen:
    proc = start(store)
    deadline = time.time() + 120
    while units_done(store) < units and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    return proc


def all_parquet_complete(store: Path) -> list[str]:
    names = []
    for path in store.glob("*/*.parquet"):
        pq.read_table(path)  # raises on a partial file
        names.append(path.relative_to(store).as_posix())
    return names


def file_hashes(store: Path) -> dict[str, str]:
    return {rel: meta["sha256"] for rel, meta in json.loads((store / "manifest.json").read_text())["files"].items()}


@pytest.fixture(scope="module")
def clean_store(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("clean")
    run_cli("--store", str(store), *ARGS, check=True)
    return store


def test_same_config_gives_identical_files(clean_store, tmp_path):
    again = tmp_path / "again"
    run_cli("--store", str(again), *ARGS, check=True)
    assert file_hashes(again) == file_hashes(clean_store)


def test_sigkill_then_resume_gives_the_clean_store(clean_store, tmp_path):
    store = tmp_path / "killed"
    total = units_done(clean_store)
    for units in (1, 4, total // 2, total - 2):
        proc = kill_after_units(store, units)
        assert proc.returncode == -signal.SIGKILL or proc.returncode == 0
        all_parquet_complete(store)
        assert not list(store.glob("*/.*.tmp")) or proc.returncode != 0  # leftovers only from a kill
    proc = run_cli("--store", str(store), *ARGS, check=True)
    assert "reused" in proc.stdout  # finished units were not redone
    assert file_hashes(store) == file_hashes(clean_store)
    assert sorted(all_parquet_complete(store)) == sorted(file_hashes(clean_store))
    assert not list(store.glob("*/.*.tmp"))
    assert subprocess.run([sys.executable, "-m", "ingest.verify", "--store", str(store)],
                          cwd=ROOT, capture_output=True).returncode == 0


def test_ctrl_c_says_how_to_resume(tmp_path):
    store = tmp_path / "interrupted"
    proc = kill_after_units(store, 2, sig=signal.SIGINT)
    _, err = proc.communicate()
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("interrupted:") and "run the same command again" in lines[-1]
    assert "Traceback" not in err
    all_parquet_complete(store)


def test_a_second_run_on_the_same_store_is_refused(tmp_path):
    store = tmp_path / "locked"
    store.mkdir()
    with open(store / ".lock", "w") as held:  # this live process holds the OS lock
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write(f"{os.getpid()}\n")
        held.flush()
        proc = run_cli_subprocess("--store", str(store), *ARGS)  # a second run is another process
    assert proc.returncode == 2 and "in use by another run" in proc.stderr
    assert f"(pid {os.getpid()})" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert (store / ".lock").read_text() == f"{os.getpid()}\n"


def test_a_dead_or_unrelated_pid_in_the_lock_file_blocks_nothing(tmp_path):
    """The pid is information only: a lock file left by a dead run, or naming a live process that
    does not hold the lock (a reused pid), never blocks the store."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for pid in (dead.pid, os.getpid()):
        store = tmp_path / f"stale-{pid}"
        store.mkdir()
        (store / ".lock").write_text(f"{pid}\n")
        # its own process: a run in this one would be the live pid itself
        run_cli_subprocess("--store", str(store), *ARGS, "--no-exhaustive", check=True)
        assert (store / ".lock").read_text() == ""  # released, and no pid left behind


def verify(store: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest.verify", "--store", str(store)],
                          cwd=ROOT, capture_output=True, text=True)


def test_verify_catches_damage(clean_store, tmp_path):
    import shutil
    store = tmp_path / "damaged"
    shutil.copytree(clean_store, store)
    # a copied store's warehouse still reads the original's exhaustive files until a run rebuilds it
    assert verify(store).stdout.splitlines() == [
        "warehouse.duckdb: built for other files, another place or other SQL than the store now has "
        "(rebuild it: python -m ingest.run)"]
    shard = store / "mask_exhaustive" / "run-1-part-003.parquet"
    shard.write_bytes(shard.read_bytes()[:-100])  # truncated
    (store / "flip_paths" / "run-0.parquet").unlink()
    result = verify(store)
    assert result.returncode == 1
    assert "mask_exhaustive/run-1-part-003.parquet: content hash differs" in result.stdout
    assert "unreadable Parquet" in result.stdout
    assert "flip_paths/run-0.parquet: missing" in result.stdout


def test_verify_refuses_a_foreign_folder(tmp_path):
    result = verify(tmp_path)
    assert result.returncode == 2 and "not a Knockout store" in result.stderr


def test_diverged_training_leaves_the_store_untouched(clean_store, tmp_path):
    import shutil
    store = tmp_path / "diverge"
    shutil.copytree(clean_store, store)
    before = {p.relative_to(store): p.read_bytes() for p in store.rglob("*") if p.is_file()}
    proc = run_cli("--store", str(store), *ARGS, "--learning-rate", "1e38")
    assert proc.returncode == 2
    # the progress log may precede it; the error itself is one line, and the last
    errors = [line for line in proc.stderr.splitlines() if not line.startswith(progress.PREFIX)]
    assert errors == ["error: training diverged (non-finite loss); lower --learning-rate (no results were written to the store)"]
    after = {p.relative_to(store): p.read_bytes() for p in store.rglob("*") if p.is_file()}
    assert after == before
