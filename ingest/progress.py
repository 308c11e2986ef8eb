"""What a run shows while it works: a bar on a terminal, a start and an end line when stderr is piped.

A piped run (CI, `… 2>&1 | tee log`) cannot redraw a bar, and silence for a minute looks like a
hang; so there each step says what it starts and how long it took, one line each. Everything goes to
stderr: stdout keeps only the closing table.
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager

PREFIX = "[knockout]"


def log(message: str) -> None:
    print(f"{PREFIX} {message}", file=sys.stderr, flush=True)


class Step:
    """What a step's body reports: work done (moves the bar) and a note for the end line."""

    def __init__(self, bar=None):
        self.bar = bar
        self.note = ""

    def update(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)


@contextmanager
def step(name: str, what: str, total: int | None = None, unit: str = "it"):
    """Run the body as step `name` doing `what`. With a `total` and a terminal, a bar counts `unit`s;
    otherwise a start line and, if the body finishes, an end line with its time."""
    if total is not None and sys.stderr.isatty():
        from tqdm import tqdm  # only a terminal needs it
        with tqdm(total=total, desc=f"{name}: {what}", unit=unit, unit_scale=total >= 10_000,
                  leave=False, file=sys.stderr, dynamic_ncols=True) as bar:
            yield Step(bar)
        return
    start = time.perf_counter()
    log(f"{name}: {what} …")
    body = Step()
    yield body
    note = f" ({body.note})" if body.note else ""
    log(f"{name}: done in {time.perf_counter() - start:.1f} s{note}")
