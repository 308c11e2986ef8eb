"""Ctrl-C (SIGINT) and SIGTERM: one line, exit 128 + signal, and a store a rerun resumes.

Python turns SIGINT into KeyboardInterrupt only where Python code runs; inside DuckDB the same signal
surfaces as DuckDB's own "Query interrupted" error, and SIGTERM would kill the process without any
cleanup at all. So both signals get one handler that remembers which signal came and raises
KeyboardInterrupt; the CLI then treats *whatever* exception unwinds the run after a signal as the
interruption (`received`). A second signal while the first unwinds is noted and ignored, so the
cleanup (temporary files removed, the DuckDB file closed) finishes.
"""
from __future__ import annotations

import signal
import sys

HANDLED = (signal.SIGINT, signal.SIGTERM)
_received: list[int] = []


def _handler(signum, frame):
    first = not _received
    _received.append(signum)
    if first:
        raise KeyboardInterrupt


def _unraisable(hook):
    """sys.unraisablehook that keeps quiet about our own KeyboardInterrupt when Python cannot raise
    it (a signal landing in a finaliser, e.g. a Parquet writer's __del__): the signal is noted and
    `check` ends the run at its next step, in one line."""
    def quiet(info):
        if _received and isinstance(info.exc_value, KeyboardInterrupt):
            return
        hook(info)
    quiet.wraps = hook
    return quiet


def install() -> dict:
    """Handle SIGINT and SIGTERM from now on, except one the caller chose to ignore (`nohup`, a
    background job): that choice stands. Returns the handlers replaced, for `restore`."""
    _received.clear()
    previous = {}
    for sig in HANDLED:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            previous[sig] = signal.signal(sig, _handler)
    previous["unraisablehook"] = sys.unraisablehook
    sys.unraisablehook = _unraisable(sys.unraisablehook)
    return previous


def restore(previous: dict) -> None:
    for sig, handler in previous.items():
        if sig == "unraisablehook":
            sys.unraisablehook = handler
        else:
            signal.signal(sig, handler)


def received() -> int | None:
    """The first signal that arrived since `install`, if any."""
    return _received[0] if _received else None


def check() -> None:
    """Raise KeyboardInterrupt if a signal came but its exception was swallowed on the way (Python
    ignores an exception raised inside some callbacks, e.g. during an import): called between the
    steps of a run, so a signal always stops it."""
    if _received:
        raise KeyboardInterrupt


def exit_code(signum: int) -> int:
    return 128 + signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


def describe(signum: int) -> str:
    return "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
