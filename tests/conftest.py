"""Shared fixtures: one small real run of the CLI into a temporary store, reused by many tests."""
from __future__ import annotations

import ctypes
import io
import os
import subprocess
import sys
import tempfile
import traceback
import warnings
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

ROOT = Path(__file__).resolve().parent.parent

# Small enough for seconds, big enough that every table and view has real content.
SMALL_ARGS = ["--train-seeds", "0,1", "--hidden", "6", "--train-points", "500", "--epochs", "3", "--test-points", "200",
              "--samples-per-prob", "100", "--flip-paths", "50", "--grid-size", "21"]


@dataclass
class CliResult:
    """What a finished command (`python -m ingest.run`, …) gives back: subprocess.CompletedProcess's fields."""
    args: list[str]
    returncode: int
    stdout: str
    stderr: str


@contextmanager
def _inside(folder: Path):
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


@contextmanager
def _warnings_to(stream: io.StringIO):
    """Warnings raised during the run land in its stderr, as a fresh interpreter would print them
    (its default filters), instead of in pytest's warning summary where no assertion sees them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()  # then the interpreter's own default filters, first match wins
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__", append=True)
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=category, append=True)
        try:
            yield
        finally:
            for w in caught:
                stream.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line))


@contextmanager
def _descriptors_to(out: io.StringIO, err: io.StringIO):
    """What is written to file descriptors 1 and 2 directly (C code, a child process) during the run
    is added to its stdout and stderr, so "nothing else on stderr" is checked as for a real process."""
    libc = ctypes.CDLL(None)
    libc.fflush(None)
    saved, files = {}, {}
    for fd in (1, 2):
        files[fd] = tempfile.TemporaryFile()
        saved[fd] = os.dup(fd)
        os.dup2(files[fd].fileno(), fd)
    try:
        yield
    finally:
        libc.fflush(None)
        for fd, stream in ((1, out), (2, err)):
            os.dup2(saved[fd], fd)
            os.close(saved[fd])
            files[fd].seek(0)
            stream.write(files[fd].read().decode("utf-8", "replace"))
            files[fd].close()


def _exit_status(exc: SystemExit, stderr: io.StringIO) -> int:
    """The exit code the interpreter gives a SystemExit that reaches the top."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=stderr)
    return 1


def _as_a_new_process() -> None:
    """Forget what ingest keeps for the life of a process and a new process would not have: the points
    files read (ingest.data reads each once per process, so an edited file between two runs would go
    unseen). The compiled C loops (ingest.native, ingest.deep) stay loaded: they are the same code."""
    from ingest import data
    data._files.clear()


def run_main(command: str, main, *args: str, cwd: Path = ROOT, check: bool = False) -> CliResult:
    """`python -m COMMAND ARGS` in this process: the command's `main`, run from `cwd`, with its stdout
    and stderr captured. What escapes `main` ends as it would end the process: SystemExit gives its
    code, any other exception exit code 1 with its traceback on stderr (so a test asserting "one line,
    no traceback" still sees it). In-process, mutation testing sees the command's code; tests that
    signal a run or check the process itself (start-up time, imports) run the real command."""
    from ingest import signals
    _as_a_new_process()
    out, err = io.StringIO(), io.StringIO()
    with _inside(cwd), _descriptors_to(out, err), redirect_stdout(out), redirect_stderr(err), _warnings_to(err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = _exit_status(exc, err)
        except Exception:  # what would reach the top of a real process
            traceback.print_exc(file=err)
            code = 1
    if signals.received() is not None:  # Ctrl-C on the test run itself: stop pytest as it would
        raise KeyboardInterrupt
    proc = CliResult([command, *args], code, out.getvalue(), err.getvalue())
    if check and proc.returncode != 0:
        raise AssertionError(f"{command} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def run_cli(*args: str, cwd: Path = ROOT, check: bool = False) -> CliResult:
    """`python -m ingest.run ARGS` in this process (run_main); `run_cli_subprocess` runs the real one."""
    from ingest.run import main
    return run_main("ingest.run", main, *args, cwd=cwd, check=check)


def run_cli_subprocess(*args: str, cwd: Path = ROOT, check: bool = False) -> subprocess.CompletedProcess:
    """`python -m ingest.run ARGS` as its own process: for what only a real process shows (its exit
    code and stderr from the interpreter's top level, signals, start-up)."""
    proc = subprocess.run([sys.executable, "-m", "ingest.run", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"ingest.run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def small_store(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("store")
    run_cli("--store", str(store), *SMALL_ARGS, "--no-report", check=True)
    return store


def small_args(**flags: str) -> list[str]:
    """SMALL_ARGS with some flags set (`train_seeds="0"` → --train-seeds 0), in place or appended."""
    args = list(SMALL_ARGS)
    for name, value in flags.items():
        flag = "--" + name.replace("_", "-")
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    return args


@pytest.fixture(scope="session")
def shared_store(tmp_path_factory):
    """`shared_store(*args)`: the store `ingest.run --no-report` builds from these flags, built once per
    session and shared by every test that asks for the same flags. Only for tests that read the store
    (a read-only connection, a page written elsewhere): a test that runs into it or edits it builds its own."""
    built: dict[tuple[str, ...], Path] = {}

    def build(*args: str) -> Path:
        if args not in built:
            store = tmp_path_factory.mktemp("shared")
            run_cli("--store", str(store), *args, "--no-report", check=True)
            built[args] = store
        return built[args]

    return build


@pytest.fixture(scope="session")
def warehouse(small_store):
    con = duckdb.connect(str(small_store / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


def read_table(store: Path, name: str, run_id: int | None = 0) -> pl.DataFrame:
    """One run's rows of a stored table (all runs with run_id=None), straight from Parquet."""
    table = pl.read_parquet(store / name / "*.parquet")
    return table if run_id is None else table.filter(pl.col("run_id") == run_id)


def read_view(con, name: str, run_id: int | None = 0) -> pl.DataFrame:
    """One run's rows of a warehouse view or table."""
    where = "" if run_id is None else f" where run_id = {int(run_id)}"
    return con.execute(f"select * from {name}{where}").pl()
