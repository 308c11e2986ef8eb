"""`python -m reports.build --store DIR --out PATH`: the report page from an existing store.

Reads the warehouse read-only and recomputes nothing from the network: the warehouse's views give the
numbers, reports.density smooths them for the charts, Vega-Lite and heatmap.js draw them. The page is
written whole or not at all (a hidden temporary beside it, fsynced and renamed), never among the
store's own files; a page that cannot be written, Ctrl-C and SIGTERM each end the build in one line
with the store untouched (exit 2, 130, 143).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

from ingest import signals
from ingest.claim import report_outside
from ingest.durable import make_dirs, write_atomic
from ingest.errors import UserError
from reports import page
from reports.context import load_context
from reports.errors import ReportError
from reports import snapshots, sweep
from reports.warehouse import Warehouse, open_warehouse


def check_out(store_dir: Path, out_path: Path) -> None:
    """Refuse, before any work, a page path that can never be written: empty, a folder, among the
    store's files (say on warehouse.duckdb), or below a file (ingest/claim.py says why, for --report)."""
    if str(out_path) in ("", "."):
        raise ReportError("--out is empty: name a file such as reports/index.html")
    try:
        report_outside(store_dir, out_path)
    except UserError as exc:
        raise ReportError(str(exc).replace("--report", "the page path", 1)) from None


def write_page(out_path: Path, text: str) -> None:
    """The page, durably and whole; its folder created if missing. One line if it cannot be written."""
    try:
        make_dirs(out_path.parent)
        write_atomic(out_path, text)
    except OSError as exc:  # a folder that cannot be written, a full disk: the temporary file is gone
        reason = exc.strerror or (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ReportError(f"cannot write the page {out_path}: {reason}") from None


@contextmanager
def interruptible(con: duckdb.DuckDBPyConnection):
    """Let SIGINT and SIGTERM stop a DuckDB query of `con` at once.

    A signal's Python handler runs only when the main thread returns to Python, and inside a long
    query DuckDB does not reliably give it the chance: the build would go on for minutes. So the
    signal is also written to a pipe (signal.set_wakeup_fd) that a thread watches, and the thread
    interrupts the query; the query then fails in the main thread, where the handler runs."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread gets signals
        yield
        return
    read, write = os.pipe()
    os.set_blocking(write, False)
    previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)

    def watch():
        while os.read(read, 64):
            con.interrupt()
    watcher = threading.Thread(target=watch, name="interrupt-query", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        os.close(write)  # the watcher reads end of file and returns
        watcher.join(timeout=5)
        os.close(read)


def build_report(store_dir: Path, out_path: Path, *, run_id=None, write_snapshots: bool = False) -> dict:
    """Write the page (and with `write_snapshots` PNGs of the headline figures beside it); returns what
    was written, for the run summary."""
    start = time.perf_counter()
    store_dir, out_path = Path(store_dir), Path(out_path)
    check_out(store_dir, out_path)
    con = open_warehouse(store_dir)
    try:
        with interruptible(con):
            swept = sweep.render(con, out_path.name)[0] if sweep.is_sweep(con) else None
            text, built, ctx = draw(con, run_id, sweep.page_path(out_path).name if swept else "")
        write_page(out_path, text)  # readers never see half a page
        if swept is not None:
            write_page(sweep.page_path(out_path), swept)
        pngs = snapshots.write_snapshots(ctx, out_path.parent) if write_snapshots else []
    finally:
        con.close()
    return {
        "path": str(out_path),
        "bytes": out_path.stat().st_size,
        "sections": len(built),
        "charts": sum(1 for s in built if s.chart is not None),
        "snapshots": [str(p) for p in pngs],
        "seconds": round(time.perf_counter() - start, 2),
    }


def draw(con, run_id, sweep_page: str = ""):
    """The page's text, its sections and the context they were drawn from."""
    ctx = load_context(Warehouse(con, run_id))
    ctx.sweep_page = sweep_page
    text, built = page.render(ctx)
    return text, built, ctx


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2, not the usage block
        raise ReportError(f"{message} (see --help)")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m reports.build", description=__doc__.splitlines()[0], allow_abbrev=False)
    p.add_argument("--store", type=Path, default=Path("store"), help="the store folder (default: store)")
    p.add_argument("--out", default="reports/index.html",
                   help="the page to write, outside the store (default: reports/index.html)")
    p.add_argument("--run-id", default=None, help="which run to show (default: the first)")
    p.add_argument("--snapshots", action="store_true",
                   help="also write PNG snapshots of the headline figures beside the page (a few seconds)")
    return p


_told: list[int] = []


def interrupted(signum: int) -> int:
    """One line, once, for the signal that ended the build; its exit code."""
    if not _told:
        _told.append(signum)
        print(f"{signals.describe(signum)}: no page was written; the store is unchanged", file=sys.stderr)
    return signals.exit_code(signum)


def main(argv: list[str] | None = None) -> int:
    previous = signals.install()
    _told.clear()
    try:
        return _main(argv)
    except KeyboardInterrupt:  # the signal's own exception, raised while an error it caused was handled
        return interrupted(signals.received() or signal.SIGINT)
    finally:
        signals.restore(previous)


def _main(argv: list[str] | None) -> int:
    try:
        args = parser().parse_args(argv)
        if args.out == "":
            raise ReportError("--out is empty: name a file such as reports/index.html")
        result = build_report(args.store, Path(args.out), run_id=args.run_id, write_snapshots=args.snapshots)
        signals.check()  # a signal whose KeyboardInterrupt was swallowed on the way still ends the build
    except BaseException as exc:
        signum = signals.received()
        if signum is not None:  # whatever unwound the build: KeyboardInterrupt, DuckDB's "interrupted"
            return interrupted(signum)
        if isinstance(exc, ReportError):
            print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
            return 2
        raise
    print(f"wrote {result['path']} ({result['bytes'] / 1e6:.2f} MB, {result['sections']} sections, "
          f"{result['charts']} charts, {len(result['snapshots'])} PNG snapshots) in {result['seconds']} s")
    return 0


def exit_with(code: int) -> None:
    """Exit; after a signal at once, so DuckDB's worker threads cannot hold the exit up."""
    sys.stdout.flush()
    sys.stderr.flush()
    if signals.received() is not None:
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    exit_with(main())
