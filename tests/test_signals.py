"""Ctrl-C (SIGINT) and SIGTERM in every phase of a run — training, the kernel, writing a file, the
warehouse build inside DuckDB — give one line, exit 130 or 143, and a store the same command
resumes to a verified, complete store. tests/harness.py holds each phase long enough to be hit."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading

import pytest

from ingest import claim, progress
from ingest.run import main
from ingest.verify import verify
from tests.conftest import ROOT

TINY = ["--hidden", "4", "--train-points", "200", "--epochs", "1", "--test-points", "50",
        "--samples-per-prob", "10", "--flip-paths", "5", "--grid-size", "5", "--train-seed", "0", "--no-report"]
# the kernel phase on 2^12 masks, so its worker threads are busy in the C loop when the signal comes
PHASES = {"train": TINY, "kernel": [*TINY, "--hidden", "12"], "write": TINY, "warehouse": TINY}
WORDS = {signal.SIGINT: "interrupted:", signal.SIGTERM: "stopped by SIGTERM:"}


def signal_in_phase(store, phase: str, sig: int) -> tuple[int, list[str]]:
    """Run the CLI through the harness, send `sig` once `phase` is under way; its exit code and stderr."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "harness.py"), phase, "--",
                             "--store", str(store), *PHASES[phase]],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines, reached = [], threading.Event()

    def read():
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if line.startswith(f"[harness] {phase}"):
                reached.set()
    reader = threading.Thread(target=read)
    reader.start()
    assert reached.wait(60), lines
    threading.Event().wait(0.3)  # well inside the phase
    proc.send_signal(sig)
    code = proc.wait(timeout=60)
    reader.join(timeout=10)
    return code, lines


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("phase", PHASES)
def test_a_signal_in_every_phase_is_one_line_and_resumable(phase, sig, tmp_path, capsys):
    store = tmp_path / "store"
    code, lines = signal_in_phase(store, phase, sig)
    assert code == 128 + sig, lines
    said = [line for line in lines if not line.startswith((progress.PREFIX, "[harness]"))]
    assert len(said) == 1 and said[0].startswith(WORDS[sig]) and "run the same command again" in said[0], lines
    assert claim.classify(store) == claim.STORE  # still a Knockout store, the lock released
    assert not list(store.glob(".warehouse.duckdb.tmp*"))
    assert main(["--store", str(store), *PHASES[phase]]) == 0
    capsys.readouterr()
    assert verify(store) == []
    assert not [p for p in store.rglob(".*.tmp")]


def test_a_signal_inside_a_finaliser_is_kept_quiet_and_still_ends_the_run():
    """A signal whose KeyboardInterrupt lands in a __del__ (a Parquet writer's) cannot be raised
    there: Python hands it to sys.unraisablehook, which would print a traceback. After `install` the
    hook stays quiet about that one interrupt (any other error still reaches the old hook), and
    `check` raises it at the next step."""
    import types
    from ingest import signals
    seen = []
    old = sys.unraisablehook
    sys.unraisablehook = seen.append
    previous = signals.install()
    try:
        signals._received.append(signal.SIGTERM)
        sys.unraisablehook(types.SimpleNamespace(exc_value=KeyboardInterrupt()))
        assert seen == []
        other = types.SimpleNamespace(exc_value=ValueError("boom"))
        sys.unraisablehook(other)
        assert seen == [other]
        with pytest.raises(KeyboardInterrupt):
            signals.check()
    finally:
        signals.restore(previous)
        signals._received.clear()
        assert sys.unraisablehook == seen.append
        sys.unraisablehook = old
