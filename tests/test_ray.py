"""`--executor ray`: the same store as the local executor, file for file (sha256), from a local Ray
instance of 2 CPUs started and shut down by the run; and its mistakes refused in one line before
anything is touched."""
from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from ingest import executor
from ingest.errors import UserError
from tests.conftest import SMALL_ARGS, run_cli


def file_hashes(store: Path) -> dict[str, str]:
    manifest = json.loads((store / "manifest.json").read_text())
    return {rel: meta["sha256"] for unit in manifest["units"].values() for rel, meta in unit["files"].items()}


def test_a_ray_run_writes_the_local_runs_files(small_store, tmp_path):
    import ray
    store = tmp_path / "store"
    proc = run_cli("--store", str(store), *SMALL_ARGS, "--no-report", "--executor", "ray")
    assert proc.returncode == 0, proc.stderr
    assert not ray.is_initialized()  # the run shut its instance down
    assert not [t for t in threading.enumerate() if t.name == "knockout-ray"]  # and its starting thread ended
    assert "SIGTERM handler" not in proc.stderr  # Ray's remark about its start in a thread is not shown
    local, remote = file_hashes(small_store), file_hashes(store)
    assert len(local) > 20 and remote == local
    # and the warehouse answers the same exact numbers
    import duckdb
    for path in (small_store, store):
        con = duckdb.connect(str(path / "warehouse.duckdb"), read_only=True)
        values = con.execute("select run_id, node, shapley from shapley_values order by all").fetchall()
        con.close()
        if path == small_store:
            expected = values
    assert values == expected


def test_a_run_that_stops_before_it_begins_shuts_its_early_ray_down(tmp_path, monkeypatch):
    """Ray starts before the store is locked (its start-up overlaps the imports): a run refused after
    that, here by a store another run holds, still shuts it down."""
    import ray

    from ingest import pipeline

    def held(*args, **kwargs):
        raise UserError("store is in use by another run")
    monkeypatch.setattr(pipeline, "run", held)
    proc = run_cli("--store", str(tmp_path / "store"), *SMALL_ARGS, "--no-report", "--executor", "ray")
    assert proc.returncode == 2 and proc.stderr.strip() == "error: store is in use by another run"
    assert not ray.is_initialized()
    assert not [t for t in threading.enumerate() if t.name == "knockout-ray"]
    assert not executor._prestarted


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("flags, words", [
    (["--executor", "dask"], "must be one of local, ray"),
    (["--ray-address", "127.0.0.1:6379"], "--ray-address goes with --executor ray"),
    (["--executor", "ray", "--ray-address", "nowhere"], "must be HOST:PORT"),
    # the system's reason in its own words, then what to do
    (["--executor", "ray", "--ray-address", f"127.0.0.1:{free_port()}"],
     ["nothing answers at 127.0.0.1:", " (Connection refused); start the cluster (ray start --head) or drop"]),
])
def test_executor_mistakes_are_one_line_and_touch_nothing(tmp_path, flags, words):
    proc = run_cli("--store", str(tmp_path / "store"), *SMALL_ARGS, *flags)
    words = [words] if isinstance(words, str) else words
    assert proc.returncode == 2 and all(w in proc.stderr for w in words) and proc.stderr.count("\n") == 1, proc.stderr
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("address, parsed", [
    ("10.0.0.2:6379", ("10.0.0.2", 6379)), ("ray://head:10001", ("head", 10001)), ("[::1]:1", ("::1", 1)),
    ("h:65535", ("h", 65535)), ("h:0", None), ("h:65536", None), (":6379", None), ("h:", None), ("h:-1", None),
    ("h:63x", None), ("head", None),
])
def test_a_ray_address_is_a_host_and_a_port_from_1_to_65535(address, parsed):
    if parsed is None:
        with pytest.raises(UserError, match="must be HOST:PORT"):
            executor.parse_address(address)
    else:
        assert executor.parse_address(address) == parsed


def test_ray_missing_says_how_to_install(monkeypatch):
    monkeypatch.setattr(executor, "installed", lambda: False)
    with pytest.raises(UserError, match=r"needs Ray, which is not installed: pip install -e '\.\[ray\]'"):
        executor.check("ray", "")
    executor.check("local", "")  # the local executor never needs it
