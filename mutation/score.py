"""`python -m mutation.score`: mutmut's mutants of ingest/ and reports/, run on a copy of the
repository, and their score per module: killed / total and the survivors.

    python -m mutation.score --run 'ingest.paths*' 'ingest.verify*'   # copy, then mutmut run (slow)
    python -m mutation.score                                          # the score of what has run
    python -m mutation.score --diff                                   # … with each survivor's diff
    python -m mutation.score --recheck                                # survivors against whole test files
    python -m mutation.score --run --sample 200 --seed 1 'ingest.*'    # a random sample of the mutants

A full run over ingest/ and reports/ is about 25,000 mutants, days on two cores. `--sample K` picks,
for each pattern, K of the mutants not yet checked, uniformly at random (seeded) among those it names,
and runs only them; the score of a sample is an estimate, printed with its 95% (Wilson) interval, and its
survivors are listed like any others.

mutmut ([tool.mutmut] in pyproject.toml) writes its mutated tree to ./mutants of the folder it runs
in; here that folder is a copy (default /tmp/knockout-mutmut), so the working tree is never touched
and an interrupted run resumes where it stopped. A pattern names mutants as mutmut does
(`module.x_function__mutmut_N`). Every mutant that was checked counts in the total (the column "of" is
how many mutants the module has: fewer checked means a partial run); "no tests"
(no test of the selection reached the function in-process), timeouts and suspicious ones are not
kills. Runs at `nice -n 10` with two workers. Not part of CI: a full run over ingest/ and reports/
takes hours on two cores.

mutmut credits a function to the one test during which it ran, so code run only while a shared
(module or session) fixture is built, such as a store or a page, is credited to the first test that
used the fixture and its mutants run against that test alone. `--recheck` runs each survivor again
against the whole files of the tests mutmut chose for it (with mutmut's MUTANT_UNDER_TEST) and
records the outcome in WORKDIR/recheck.json; the table then shows "killed by its files" beside
mutmut's own count, and only mutants that survive both remain listed as survivors. `--recheck --tests
FILE…` first copies the working tree's tests/ into the mutated tree (the code must be the run's), checks
that FILE… pass there unmutated, and runs them too, also for the mutants no test reached: a survivor
against the tests written since the run.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

from mutation.common import ROOT, copy_repository

DEFAULT_WORKDIR = Path("/tmp/knockout-mutmut")
EQUIVALENT = Path(__file__).with_name("equivalent.toml")
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 35: "suspicious",
          36: "timeout", 37: "caught by type check", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout",
          -11: "segfault", -9: "segfault", None: "not checked"}  # mutmut's own meaning of its exit codes


def refresh(workdir: Path) -> Path:
    """The repository copied into workdir/repo, keeping mutmut's ./mutants (its cache) if present."""
    repo = workdir / "repo"
    mutants = repo / "mutants"
    keep = workdir / "mutants.keep"
    if mutants.exists():
        mutants.rename(keep)
    if repo.exists():
        shutil.rmtree(repo)
    copy_repository(repo)
    if keep.exists():
        keep.rename(mutants)
    return repo


def not_mutated(repo: Path) -> list[str]:
    """The do_not_mutate patterns of the copy's pyproject.toml: files outside the score."""
    import tomllib
    config = repo / "pyproject.toml"
    if not config.exists():
        return []
    return tomllib.loads(config.read_text())["tool"].get("mutmut", {}).get("do_not_mutate", [])


def results(repo: Path) -> tuple[dict[str, dict[str, str]], dict[str, int]]:
    """({module: {mutant: status}} of the mutants checked, {module: how many mutants it has}), from
    mutmut's .meta files; a file do_not_mutate names (mutated by an earlier run) is left out."""
    by_module: dict[str, dict[str, str]] = {}
    generated: dict[str, int] = {}
    skipped = not_mutated(repo)
    for meta in sorted((repo / "mutants").glob("**/*.py.meta")):
        rel = meta.relative_to(repo / "mutants").with_suffix("").with_suffix("")
        if any(fnmatch(rel.with_suffix(".py").as_posix(), pattern) for pattern in skipped):
            continue
        module = ".".join(rel.parts)
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        checked = {key: STATUS.get(code, "suspicious") for key, code in codes.items() if code is not None}
        if checked:
            by_module[module] = checked
            generated[module] = len(codes)
    return by_module, generated


def recheck(repo: Path, survivors: list[str], done: dict[str, bool], extra: list[str] = (),
            extra_only: bool = False) -> None:
    """Each survivor against the whole test files of the tests mutmut ran it against, and the `extra`
    files (with `extra_only`, those alone); `done` records {mutant: killed} as each finishes (an
    interrupted recheck keeps what it has)."""
    stats = json.loads((repo / "mutants" / "mutmut-stats.json").read_text())["tests_by_mangled_function_name"]
    if extra:  # the control: the added files pass on the unmutated tree, or a kill would mean nothing
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *extra],
                              cwd=repo / "mutants", capture_output=True, text=True,
                              env={**os.environ, "MUTANT_UNDER_TEST": ""})
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(extra)} fail on the unmutated tree:\n{proc.stdout[-2000:]}")
    for key in survivors:
        if key in done:
            continue
        files = sorted(set(extra) | (set() if extra_only else
                                     {test.split("::")[0] for test in stats.get(key.partition("__mutmut_")[0], [])}))
        if not files:
            continue
        proc = subprocess.run(["nice", "-n", "10", sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                               *files], cwd=repo / "mutants", capture_output=True,
                              env={**os.environ, "MUTANT_UNDER_TEST": key})
        done[key] = proc.returncode not in (0, 5)
        print(f"{'killed  ' if done[key] else 'SURVIVED'} {key}  ({' '.join(files)})", flush=True)
        record(repo.parent / "recheck.json", key, done[key])


def record(path: Path, key: str, killed: bool) -> None:
    """Add one outcome to the recheck file, under a lock: rechecks of other patterns may run at once."""
    import fcntl
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = json.loads(path.read_text()) if path.exists() else {}
        saved[key] = killed
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(saved, indent=1))
        tmp.replace(path)


def draw(repo: Path, patterns: list[str], k: int, seed: int, workdir: Path) -> list[str]:
    """K mutant names from each pattern, drawn without replacement among the unchecked mutants it names. mutmut
    makes its mutants (and the record of which tests reach which function) on its first run, so a
    run that matches no mutant comes first when none are there yet. The draw is kept in
    workdir/sample-<seed>.json."""
    import random
    if not any((repo / "mutants").glob("**/*.py.meta")):
        subprocess.run(["nice", "-n", "10", sys.executable, "-m", "mutmut", "run", "--max-children", "2",
                        "no_mutant_is_named_this"], cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    unchecked = sorted(key for meta in (repo / "mutants").glob("**/*.py.meta")
                       for key, code in json.loads(meta.read_text())["exit_code_by_key"].items() if code is None)
    rng = random.Random(seed)
    names: list[str] = []
    of = {}
    for pattern in patterns:  # K from each pattern's own mutants, so each package has its own estimate
        pool = [key for key in unchecked if fnmatch(key, pattern) and key not in names]
        of[pattern] = len(pool)
        names += rng.sample(pool, min(k, len(pool)))
    names = sorted(names)
    (workdir / f"sample-{seed}.json").write_text(json.dumps({"patterns": patterns, "of": of, "names": names},
                                                            indent=1))
    return names


def judged(path: Path | None = None) -> dict[str, str]:
    """{mutant: why it cannot change what the code does}, read by hand from its diff and kept in
    mutation/equivalent.toml; such a mutant is left out of the second score line. A name there that
    does not survive is not left out (the list is a judgement on survivors only)."""
    import tomllib
    path = path or EQUIVALENT
    if not path.exists():
        return {}
    return {key: " ".join(entry["why"].split()) for key, entry in tomllib.loads(path.read_text()).items()}


def wilson(killed: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson interval of a proportion killed / n."""
    if n == 0:
        return 0.0, 1.0
    p = killed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation.score", description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*", help="mutant name patterns for --run or --recheck, e.g. 'ingest.paths*'")
    parser.add_argument("--run", action="store_true", help="copy the repository and run mutmut on the patterns")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help=f"default {DEFAULT_WORKDIR}")
    parser.add_argument("--diff", action="store_true", help="print each survivor's diff (mutmut show)")
    parser.add_argument("--recheck", action="store_true", help="run each survivor against its tests' whole files")
    parser.add_argument("--tests", nargs="+", default=[], metavar="FILE",
                        help="with --recheck: the working tree's tests/ first copied into the mutated tree, and "
                             "these files run too, also for mutants no test reached (a test written since)")
    parser.add_argument("--tests-only", action="store_true",
                        help="with --tests: run those files alone, not the whole files of the tests mutmut chose")
    parser.add_argument("--sample", type=int, default=0, metavar="K",
                        help="with --run: K unchecked mutants drawn at random among those each pattern names")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0)")
    args = parser.parse_args(argv)
    repo = args.workdir / "repo"
    if args.run:
        if not args.patterns:
            parser.error("--run needs at least one pattern (a full run takes hours)")
        repo = refresh(args.workdir)
        names = args.patterns
        if args.sample:
            names = draw(repo, args.patterns, args.sample, args.seed, args.workdir)
            if not names:
                print("no unchecked mutant matches the patterns", file=sys.stderr)
                return 2
        cmd = ["nice", "-n", "10", sys.executable, "-m", "mutmut", "run", "--max-children", "2", *names]
        with open(args.workdir / "mutmut.log", "w") as log:
            subprocess.run(cmd, cwd=repo, stdout=log, stderr=subprocess.STDOUT)
    if not (repo / "mutants").is_dir():
        print(f"no mutmut results in {repo}: run with --run PATTERN first", file=sys.stderr)
        return 2
    by_module, generated = results(repo)
    rechecked_file = args.workdir / "recheck.json"
    rechecked = json.loads(rechecked_file.read_text()) if rechecked_file.exists() else {}
    if args.recheck:
        wanted = {"survived", "no tests"} if args.tests else {"survived"}
        if args.tests:  # the tests as they are now: a survivor against a test written since the run
            shutil.copytree(ROOT / "tests", repo / "mutants" / "tests", dirs_exist_ok=True)
        recheck(repo, [k for s in by_module.values() for k, status in s.items() if status in wanted
                       and (not args.patterns or any(fnmatch(k, pattern) for pattern in args.patterns))],
                rechecked, args.tests, args.tests_only)
    for statuses in by_module.values():
        for key, status in statuses.items():
            if status in ("survived", "no tests") and rechecked.get(key):
                statuses[key] = "killed by its files"
    total = Counter()
    survivors = []
    # "total" counts the mutants checked; "of" is how many the module has (fewer checked: a partial run)
    print(f"{'module':<28} {'killed':>7} {'total':>6} {'score':>6} {'of':>6}  not killed")
    for module, statuses in by_module.items():
        counts = Counter(statuses.values())
        total.update(counts)
        n = sum(counts.values())
        others = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()) if k != "killed")
        killed = counts["killed"] + counts["killed by its files"]
        print(f"{module:<28} {killed:>7} {n:>6} {100 * killed / n:>5.0f}% {generated[module]:>6}  {others}")
        survivors += [(key, status) for key, status in statuses.items() if not status.startswith("killed")]
    n = sum(total.values())
    killed = total["killed"] + total["killed by its files"]
    print(f"{'total':<28} {killed:>7} {n:>6} {100 * killed / max(n, 1):>5.0f}% {sum(generated.values()):>6}")
    equivalent = judged()
    for package in ("ingest", "reports"):
        here = {key: status for module, statuses in by_module.items() if module.split(".")[0] == package
                for key, status in statuses.items()}
        k = sum(status.startswith("killed") for status in here.values())
        if here:  # a sample of the package's mutants estimates its score within this interval
            lo, hi = wilson(k, len(here))
            print(f"{package + '/':<28} {k:>7} {len(here):>6} {100 * k / len(here):>5.0f}%  "
                  f"95% interval {100 * lo:.0f}–{100 * hi:.0f}%")
            same = sum(key in equivalent and not status.startswith("killed") for key, status in here.items())
            if same:  # the score among the mutants that change what the code does
                n = len(here) - same
                lo, hi = wilson(k, n)
                print(f"{package + '/ but equivalent':<28} {k:>7} {n:>6} {100 * k / n:>5.0f}%  "
                      f"95% interval {100 * lo:.0f}–{100 * hi:.0f}%  ({same} equivalent, {EQUIVALENT.name})")
    for key, status in survivors:
        print(f"{status}: {key}" + (f"  [equivalent: {equivalent[key]}]" if key in equivalent else ""))
        if args.diff:
            shown = subprocess.run([sys.executable, "-m", "mutmut", "show", key], cwd=repo, capture_output=True, text=True)
            print("    " + "\n    ".join(line for line in shown.stdout.splitlines()[1:] if line.startswith(("+", "-"))
                                         and not line.startswith(("+++", "---"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
