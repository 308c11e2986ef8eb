"""The store lock is mutually exclusive: several processes taking it thousands of times never hold it
together, and a holder killed with SIGKILL frees it at once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.conftest import ROOT

# Each worker takes the lock until it has held it ACQUISITIONS times (a busy lock is refused at once,
# as a second run is, and the worker tries again). Inside, it claims a marker file with O_EXCL: if
# another holder were inside too, the claim would fail and count as an overlap.
WORKER = r"""
import os, sys, time
sys.path.insert(0, sys.argv[3])
from ingest.errors import UserError
from ingest.lock import store_lock
store, wanted = sys.argv[1], int(sys.argv[2])
held = refused = overlaps = 0
inside = os.path.join(store, "inside")
while held < wanted:
    try:
        with store_lock(store):
            try:
                fd = os.open(inside, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                overlaps += 1
            else:
                os.close(fd)
                os.unlink(inside)
            held += 1
    except UserError:
        refused += 1
print(held, refused, overlaps)
"""
WORKERS = 4
ACQUISITIONS = 5000


def test_many_processes_never_hold_the_lock_together(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), str(ACQUISITIONS), str(ROOT)],
                              stdout=subprocess.PIPE, text=True) for _ in range(WORKERS)]
    results = [tuple(map(int, p.communicate(timeout=120)[0].split())) for p in procs]
    held = sum(r[0] for r in results)
    refused = sum(r[1] for r in results)
    overlaps = sum(r[2] for r in results)
    print(f"lock stress: {held} acquisitions by {WORKERS} processes, {refused} refusals while busy, "
          f"{overlaps} overlaps")
    assert held == WORKERS * ACQUISITIONS and overlaps == 0
    assert refused > 0  # they did contend


def test_a_killed_holder_frees_the_lock_at_once(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, sys.argv[2]); from ingest.lock import store_lock\n"
        "with store_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)"), str(tmp_path), str(ROOT)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    sys.path.insert(0, str(ROOT))
    from ingest.errors import UserError
    from ingest.lock import store_lock
    try:
        with store_lock(tmp_path):
            raise AssertionError("took a lock another process holds")
    except UserError as exc:
        assert f"pid {holder.pid}" in str(exc)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    start = time.time()
    with store_lock(tmp_path):
        assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"
    assert time.time() - start < 1


def test_a_lock_file_that_holds_no_pid_is_refused_without_naming_one(tmp_path):
    # flock locks belong to an open file, so a second open of the same file in this process is
    # refused as another run would be. Whatever the holder left in the file (here bytes that are not
    # ASCII, as a damaged or foreign file might hold), the refusal is the one plain line.
    import fcntl

    from ingest.errors import UserError
    from ingest.lock import store_lock

    for content in (b"\xff\xfe not a pid \x80\n", b"12ab\n", b""):
        (tmp_path / ".lock").write_bytes(content)
        fd = os.open(tmp_path / ".lock", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            try:
                with store_lock(tmp_path):
                    raise AssertionError("took a lock this process holds through another file")
            except UserError as exc:
                assert str(exc) == f"store {tmp_path} is in use by another run; wait for it to finish"
            assert (tmp_path / ".lock").read_bytes() == content  # a refused run does not touch the file
        finally:
            os.close(fd)
