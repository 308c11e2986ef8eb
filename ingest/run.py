"""`python -m ingest.run`: train, evaluate masks, write store/ and store/warehouse.duckdb, then the report.

Flags are read and checked before torch, pyarrow or duckdb load, so `--help` and a mistyped flag
answer at once; so are the store folder (ingest/claim.py) and the sizes against the machine
(ingest/budget.py). The work itself is ingest/pipeline.py. Ctrl-C and SIGTERM end a run in one line
at any point, with a store the same command resumes (ingest/signals.py).
"""
from __future__ import annotations

import os
import sys
import time

from ingest import budget, claim, cli, data, executor, model_file, signals
from ingest.errors import UserError
from ingest.manifest import print_summary


def one_line(text: str) -> str:
    return " ".join(str(text).split()) if "\n" in str(text) or "\r" in str(text) else str(text)


def main(argv: list[str] | None = None) -> int:
    previous = signals.install()
    try:
        return _main(argv)
    finally:
        executor.discard()
        signals.restore(previous)


def _main(argv: list[str] | None) -> int:
    try:
        data.forget_files()  # each run reads its points and model files once, from the start
        model_file.forget_files()
        config, args = cli.parse(argv)
        claim.classify(args.store)
        if not args.no_report:
            claim.report_outside(args.store, args.report)
        budget.check(config, args.store, args.plan)
        executor.prestart(config)  # Ray, if asked for, starts while the libraries below load
        from ingest.pipeline import run  # the heavy libraries load here, after the flags are known
        started = time.perf_counter()
        manifest = run(args.plan, args.store, None if args.no_report else args.report)
        signals.check()  # a signal whose KeyboardInterrupt was swallowed still ends the run as one
        print_summary(manifest, time.perf_counter() - started, args.store)
        return 0
    except BaseException as exc:
        signum = signals.received()
        if signum is not None:  # whatever unwound the run (KeyboardInterrupt, DuckDB's "interrupted")
            print(f"{signals.describe(signum)}: finished stages are kept in the store; run the same "
                  "command again to resume from there", file=sys.stderr)
            return signals.exit_code(signum)
        if isinstance(exc, UserError):
            print(f"error: {one_line(exc)}", file=sys.stderr)
            return 2
        if isinstance(exc, MemoryError):
            print("error: out of memory: choose smaller sizes (finished stages are kept in the store)",
                  file=sys.stderr)
            return 2
        raise


def exit_with(code: int) -> None:
    """Exit the process. After a signal, at once: worker threads still finishing a block of masks
    or a summary must not hold the exit up, and what they leave is temporary files a rerun
    replaces."""
    sys.stdout.flush()
    sys.stderr.flush()
    if signals.received() is not None:
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    exit_with(main())
