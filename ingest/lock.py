"""One writer per store: an OS lock (`flock`) on store/.lock, held for the whole run.

The kernel releases the lock when its holder exits, however it exits (SIGKILL included), so there is
no stale lock to detect and nothing to take over: no check of a pid, no window between a check and
an unlink. The pid written into the file is information for the refusal message only. The file is
never deleted: a process could lock a name that another has just unlinked, and both would hold "the"
lock.
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from ingest.errors import UserError

LOCK = ".lock"


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""


@contextmanager
def store_lock(store: Path):
    path = Path(store) / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise UserError(f"cannot open the lock file {path}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"store {store} is in use by another run{_holder(fd)}; "
                            f"wait for it to finish") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            try:  # while still held: the next reader never sees a finished run's pid
                os.ftruncate(fd, 0)
            except OSError:
                pass
    finally:
        os.close(fd)  # releases the lock
