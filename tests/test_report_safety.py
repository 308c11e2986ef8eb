"""The page never damages anything and never trusts a warehouse it has not checked.

- A page path that cannot be written — a folder, below a file, in a folder nothing can be created in,
  the store's warehouse, any file inside the store, the store itself, empty — is refused by
  `python -m reports.build --out` and by `python -m ingest.run --report` in one line, exit 2, with
  no temporary file left and the store byte for byte as it was. A write that fails half way (a full
  disk) leaves no temporary file and no page.
- Ctrl-C and SIGTERM while reports.build queries DuckDB, renders the page or writes it give one line,
  exit 130 or 143, no page, no temporary file and an unchanged store.
- reports.build refuses, in one line with exit 2 and without writing a page, a warehouse copied in
  from another store, one edited with SQL, one with flipped bytes, one missing, and one unreadable.
"""
from __future__ import annotations

import errno
import hashlib
import random
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from ingest import contract, durable, progress
from reports.build import build_report
from reports.errors import ReportError
from tests.conftest import ROOT, run_cli, run_main

TINY = ["--hidden", "4", "--train-points", "200", "--epochs", "1", "--test-points", "50",
        "--samples-per-prob", "10", "--flip-paths", "5", "--grid-size", "5", "--train-seed", "0", "--no-report"]


def build_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reports.build", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file below `folder` (the lock file aside: its pid line is information) and its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def temporaries(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob(".*.tmp")]


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line and not line.startswith(progress.PREFIX)]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.fixture(scope="module")
def twins(tmp_path_factory) -> Path:
    """Two stores of the same config and network: the same numbers, different store ids. (A copied
    store would not do: its warehouse was built for another place, and the report refuses it.)"""
    root = tmp_path_factory.mktemp("twins")
    for name in ("a", "b"):
        run_cli("--store", str(root / name), *TINY, check=True)
    return root


@pytest.fixture(scope="module")
def pristine(twins) -> bytes:
    return (twins / "a" / "warehouse.duckdb").read_bytes()


@pytest.fixture
def store(twins, pristine) -> Path:
    """Store a with the warehouse its run built (a test that damages it is undone before the next)."""
    path = twins / "a" / "warehouse.duckdb"
    if path.is_dir():
        path.rmdir()
    path.write_bytes(pristine)
    return twins / "a"


# ---------------------------------------------------------------------------------------------------
# page paths

def page_paths(store: Path, tmp: Path) -> dict[str, tuple[str, str]]:
    """A page path that cannot be written, and a word of the one line that refuses it."""
    (tmp / "a-file").write_text("mine")
    (tmp / "a-folder").mkdir()
    return {
        "a folder": (str(tmp / "a-folder"), "is a folder"),
        "below a file": (str(tmp / "a-file" / "index.html"), "is a file, not a folder"),
        # nothing can be created in /proc or /sys, not even by root (for whom permission bits say nothing)
        "an unwritable folder": ("/sys/knockout-page.html", "cannot be written"),
        "a missing folder below an unwritable one": ("/proc/knockout/index.html", "cannot be written"),
        "the warehouse": (str(store / "warehouse.duckdb"), "inside the store"),
        "a file in the store": (str(store / "runs" / "index.html"), "inside the store"),
        "the store itself": (str(store), "inside the store"),
        "empty": ("", "empty"),
    }


CASES = ["a folder", "below a file", "an unwritable folder", "a missing folder below an unwritable one",
         "the warehouse", "a file in the store", "the store itself", "empty"]


@pytest.mark.parametrize("command", ["reports.build --out", "ingest.run --report"])
@pytest.mark.parametrize("case", CASES)
def test_a_page_path_that_cannot_be_written_is_one_line(case, command, store, tmp_path):
    path, word = page_paths(store, tmp_path)[case]
    before, around = fingerprint(store), fingerprint(tmp_path)
    if command.startswith("reports.build"):  # in this process, so that mutation testing sees the check
        from reports.build import main
        proc = run_main("reports.build", main, "--store", str(store), "--out", path)
    else:
        proc = run_cli("--store", str(store), *TINY[:-1], "--report", path)
    assert proc.returncode == 2, proc.stderr
    assert word in one_line(proc.stderr)
    assert fingerprint(store) == before
    assert fingerprint(tmp_path) == around  # the folder and the file it names are left as they were
    assert not temporaries(store, tmp_path)
    assert not list(tmp_path.glob("*.probe")) and not list(tmp_path.glob(".*.probe"))


def test_a_write_that_fails_half_way_leaves_nothing(store, tmp_path, monkeypatch):
    """A full disk as the page is renamed into place: one line (ReportError), no page, no temporary."""
    def full(tmp, final):
        assert Path(tmp).exists()  # the temporary was written, then the disk filled
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(durable, "replace", full)
    before = fingerprint(store)
    out = tmp_path / "site" / "index.html"
    with pytest.raises(ReportError) as info:
        build_report(store, out)
    assert "No space left on device" in str(info.value) and "\n" not in str(info.value)
    assert not out.exists() and not temporaries(tmp_path, store)
    assert fingerprint(store) == before


# ---------------------------------------------------------------------------------------------------
# signals

LONG = 10.0  # seconds a slowed phase lasts: far longer than the test waits before it signals
# Run reports.build as `python -m reports.build` does, with one phase held long enough to be hit:
# query, a DuckDB query that runs for minutes (the signal arrives inside DuckDB); render, Python code
# drawing the page; write, the page written to its temporary file and not yet renamed.
HARNESS = """
import sys, time
phase = sys.argv[1]
def marker():
    print(f"[harness] {phase}", file=sys.stderr, flush=True)
from ingest import durable
from reports import build, context, page
if phase == "query":
    real_load = context.load_context
    def load_context(wh):
        marker()
        wh.con.execute("select sum(i * i % 7) from range(100000000000) t(i)").fetchall()
        return real_load(wh)
    build.load_context = load_context
elif phase == "render":
    real_render = page.render
    def render(ctx):
        marker()
        end = time.time() + LONG
        while time.time() < end:
            sum(i * i for i in range(10000))
        return real_render(ctx)
    build.page.render = render
elif phase == "write":
    real_replace = durable.replace
    def replace(tmp, final):
        marker()
        time.sleep(LONG)
        return real_replace(tmp, final)
    durable.replace = replace
if sys.argv[2] == "ingest.run":  # the report phase of a whole run, on a complete store
    from ingest import run
    run.exit_with(run.main(sys.argv[3:]))
build.exit_with(build.main(sys.argv[3:]))
""".replace("LONG", repr(LONG))
WORDS = {signal.SIGINT: "interrupted:", signal.SIGTERM: "stopped by SIGTERM:"}


def signal_in_phase(phase: str, sig: int, command: list[str]) -> tuple[int, list[str]]:
    proc = subprocess.Popen([sys.executable, "-c", HARNESS, phase, *command],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines, reached = [], threading.Event()

    def read():
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if line.startswith(f"[harness] {phase}"):
                reached.set()
    reader = threading.Thread(target=read)
    reader.start()
    assert reached.wait(120), lines
    threading.Event().wait(0.3)  # well inside the phase
    proc.send_signal(sig)
    code = proc.wait(timeout=60)
    reader.join(timeout=10)
    return code, lines


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("phase", ["query", "render", "write"])
def test_a_signal_during_the_build_is_one_line_and_leaves_nothing(phase, sig, store, tmp_path):
    before = fingerprint(store)
    out = tmp_path / "index.html"
    code, lines = signal_in_phase(phase, sig, ["reports.build", "--store", str(store), "--out", str(out)])
    assert code == 128 + sig, lines
    said = [line for line in lines if not line.startswith("[harness]")]
    assert len(said) == 1 and said[0].startswith(WORDS[sig]) and "no page was written" in said[0], lines
    assert not out.exists() and not temporaries(tmp_path, store)
    assert fingerprint(store) == before


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("phase", ["query", "render"])
def test_a_signal_in_the_report_phase_of_a_run_is_one_line(phase, sig, store, tmp_path):
    """`ingest.run` on a complete store, stopped while it draws the page: its own one line and exit
    code, the store still complete and checked, no page and no temporary file."""
    out = tmp_path / "index.html"
    code, lines = signal_in_phase(phase, sig, ["ingest.run", "--store", str(store), *TINY[:-1], "--report", str(out)])
    assert code == 128 + sig, lines
    said = [line for line in lines if not line.startswith(("[harness]", progress.PREFIX))]
    assert len(said) == 1 and said[0].startswith(WORDS[sig]), lines
    assert not out.exists() and not temporaries(tmp_path, store)
    contract.check_warehouse(store)  # complete, and its warehouse the one the manifest records


# ---------------------------------------------------------------------------------------------------
# warehouses that must not be trusted

def test_the_twin_stores_render(twins, store, tmp_path):
    """Each undamaged twin renders: the refusals below are of the damage, not of the store."""
    for name in ("a", "b"):
        proc = build_cli("--store", str(twins / name), "--out", str(tmp_path / f"{name}.html"))
        assert proc.returncode == 0, proc.stderr


def flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in random.Random(13).sample(range(len(data)), 64):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def edit_with_sql(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("update exhaustive_by_size set sum_loss = sum_loss * 2")
    con.close()


DAMAGE = {
    "another store's": (lambda store, twins: shutil.copyfile(twins / "b" / "warehouse.duckdb",
                                                               store / "warehouse.duckdb"),
                        "belongs to another store"),
    "edited with SQL": (lambda store, twins: edit_with_sql(store / "warehouse.duckdb"),
                        "has changed since the run built it"),
    "flipped bytes": (lambda store, twins: flip_bytes(store / "warehouse.duckdb"), "warehouse.duckdb"),
    "missing": (lambda store, twins: (store / "warehouse.duckdb").unlink(), "is missing"),
    "overwritten with HTML": (lambda store, twins: (store / "warehouse.duckdb").write_text(
        "<!doctype html><title>Knockout</title>" + "x" * 5000), "cannot open"),
    "empty": (lambda store, twins: (store / "warehouse.duckdb").write_bytes(b""), "warehouse.duckdb"),
    "a folder in its place": (lambda store, twins: ((store / "warehouse.duckdb").unlink(),
                                                    (store / "warehouse.duckdb").mkdir()), "is missing"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_an_untrusted_warehouse_is_refused_in_one_line(damage, twins, store, tmp_path):
    harm, word = DAMAGE[damage]
    harm(store, twins)
    before = fingerprint(store)
    out = tmp_path / "index.html"
    proc = build_cli("--store", str(store), "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    line = one_line(proc.stderr)
    assert line.startswith("error: ") and word in line, line
    assert not out.exists() and not temporaries(tmp_path, store)
    assert fingerprint(store) == before
