"""What the mutation commands share: a textual mutant, applied to a temporary copy of the repository
(the working tree is never edited), and the tests run there.

The copy leaves out the virtual environment, git's folder and caches; Python reads the copy's
ingest/ and reports/ (PYTHONPATH and the working directory point at it, ahead of the editable
install), and the compiled kernel in ingest/__pycache__ is copied along so it is not rebuilt.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".venv", ".git", ".hypothesis", ".pytest_cache", "mutants", "knockout.egg-info", "node_modules"}


@dataclass(frozen=True)
class Mutant:
    path: str  # file to change, relative to the repository
    old: str  # text that occurs exactly once in it
    new: str  # what it becomes
    what: str  # the bug, in words
    tests: tuple[str, ...]  # pytest arguments: the files (or node ids) that should catch it


def copy_repository(dest: Path) -> Path:
    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in SKIP}
        if Path(folder).resolve() == ROOT / "store":  # a user's store: only its README belongs to the code
            skipped |= {n for n in names if n != "README.md"}
        return skipped
    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    return dest


def check(mutant: Mutant) -> None:
    """Refuses a mutant whose text does not occur exactly once (it would test nothing)."""
    text = (ROOT / mutant.path).read_text(encoding="utf-8")
    found = text.count(mutant.old)
    if found != 1:
        raise SystemExit(f"{mutant.path}: the text to mutate occurs {found} times: {mutant.old!r}")


def run(mutant: Mutant, keep_output: bool = False) -> tuple[bool, float, str]:
    """(killed, seconds, the tail of pytest's output). Killed means pytest did not pass: a failed test,
    or a mutant the tests cannot even import. Collecting no test at all is an error in the mutant list."""
    check(mutant)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="knockout-mutant-") as tmp:
        copy = copy_repository(Path(tmp) / "repo")
        target = copy / mutant.path
        target.write_text(target.read_text(encoding="utf-8").replace(mutant.old, mutant.new), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *mutant.tests],
                              cwd=copy, env=env, capture_output=True, text=True)
    if proc.returncode == 5:
        raise SystemExit(f"{mutant.path}: no tests collected by {' '.join(mutant.tests)}")
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
    return proc.returncode != 0, time.perf_counter() - start, tail


def main(mutants: list[Mutant], argv: list[str] | None, prog: str, description: str) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--only", default=None, help="run the mutants whose file contains this text")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the end of pytest's output per mutant")
    args = parser.parse_args(argv)
    chosen = [m for m in mutants if args.only is None or args.only in m.path]
    for mutant in chosen:
        check(mutant)
    # The control: each set of tests must pass on an unmutated copy, or a kill would mean nothing.
    for tests in dict.fromkeys(m.tests for m in chosen):
        control = Mutant(chosen[0].path, chosen[0].old, chosen[0].old, "control", tests)
        failed, seconds, tail = run(control)
        if failed:
            print(f"control FAILED {seconds:6.1f} s  {' '.join(tests)} fails on the unmutated copy:\n{tail}")
            return 1
        print(f"control passed {seconds:6.1f} s  {' '.join(tests)}", flush=True)
    survivors = []
    for i, mutant in enumerate(chosen, 1):
        killed, seconds, tail = run(mutant)
        print(f"[{i}/{len(chosen)}] {'killed  ' if killed else 'SURVIVED'} {seconds:6.1f} s  {mutant.path}: {mutant.what}",
              flush=True)
        if args.verbose:
            print("    " + tail.replace("\n", "\n    "), flush=True)
        if not killed:
            survivors.append(mutant)
    killed = len(chosen) - len(survivors)
    print(f"score: {killed}/{len(chosen)} killed ({100 * killed / max(len(chosen), 1):.0f}%)")
    for mutant in survivors:
        print(f"survivor: {mutant.path}: {mutant.what} ({mutant.old!r} → {mutant.new!r})")
    return 0
