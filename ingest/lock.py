"""One writer per store: a lock file holding the owner's pid; a dead owner's lock is taken over."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from ingest.errors import UserError

LOCK = ".lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _owner(path: Path) -> int | None:
    try:
        return int(path.read_text().strip() or "0") or None
    except (OSError, ValueError):
        return None


@contextmanager
def store_lock(store: Path):
    path = Path(store) / LOCK
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid = _owner(path)
            if pid is not None and pid != os.getpid() and _alive(pid):
                raise UserError(f"store {store} is in use by another run (pid {pid}); "
                                f"wait for it to finish") from None
            path.unlink(missing_ok=True)  # stale: its owner is gone
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}\n")
        break
    else:
        raise UserError(f"could not take the lock {path}")
    try:
        yield
    finally:
        if _owner(path) == os.getpid():
            path.unlink(missing_ok=True)
