"""`python -m ingest.estimators --store DIR`: the estimator benchmark on an existing store.

It is the normal run with the estimators switched on: the store's own configuration (its manifest),
with `estimators` true, goes through ingest/pipeline.py, so the store's lock, ownership checks and
resume apply, every finished stage is reused, and only the estimators stage, the warehouse and the
page are computed. Then one JSON line per (network, target, estimator) from estimator_budget_needed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ingest import config as cfg
from ingest import signals
from ingest.errors import Parser, UserError



def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m ingest.estimators", allow_abbrev=False,
                description="Measure sampled Shapley and Banzhaf estimators against the exact values "
                            "of an existing store, and print one JSON line per estimator.")
    p.add_argument("--store", default="store", metavar="DIR", help="a complete Knockout store (default: store)")
    p.add_argument("--runs", metavar="IDS", help="comma-separated run ids (default: the store's "
                                                 "estimator_runs, run 0 unless set)")
    p.add_argument("--max-budget", metavar="MASKS", help="largest budget, a power of two ≥ 64 (default 65536)")
    p.add_argument("--repetitions", metavar="N", help="repetitions per estimator and budget (default 10)")
    p.add_argument("--report", metavar="PATH", help="where to write the page (default: where the store's "
                                                    "last run wrote it, if it did)")
    p.add_argument("--no-report", action="store_true", help="do not write the page")
    return p


def store_manifest(store: Path) -> dict:
    """The manifest of a complete Knockout store of this version; a missing, foreign or unfinished one
    is refused in one line. (An unfinished run's manifest does not yet hold its configuration: it
    is completed by `python -m ingest.run` with its flags, `--estimators` among them.)"""
    from ingest.contract import load_manifest
    from ingest.errors import StoreError
    try:
        return load_manifest(store)[0]
    except StoreError as exc:
        if "did not finish" in str(exc):
            raise StoreError(f"the last run on {store} did not finish: complete it with `python -m ingest.run "
                             f"--store {store}` and that run's flags (with --estimators if it was this "
                             f"benchmark); finished work is reused") from None
        raise


def configure(args, manifest: dict) -> cfg.Config:
    if "sweep" in manifest:  # its networks' configs differ; rerunning the base config would drop them
        raise UserError(f"{args.store} holds a sweep: measure its estimators with `python -m ingest.run --sweep "
                        "FILE.toml --estimators` and the sweep's flags (finished work is reused)")
    values = dict(manifest["config"])
    values["estimators"] = True
    for flag, name, kind in (("runs", "estimator_runs", "ints"), ("max_budget", "estimator_max_budget", "int"),
                             ("repetitions", "estimator_repetitions", "int")):
        text = getattr(args, flag)
        if text is not None:
            values[name] = cfg.coerce(name, text, kind, from_text=True)
    known = set(cfg.field_names())
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserError(f"the store's configuration has fields this version does not know ({', '.join(unknown)}); "
                        f"rebuild it with `python -m ingest.run --store {args.store}`")
    try:
        return cfg.build(values)
    except (TypeError, ValueError) as exc:  # a manifest edited by hand: its config is not one
        raise UserError(f"the configuration in {args.store}'s manifest is not valid ({cfg.shown(str(exc))}); "
                        f"rebuild it with `python -m ingest.run --store {args.store}`") from None


def report_path(args, manifest: dict) -> Path | None:
    if args.no_report:
        return None
    if args.report is not None:
        return Path(args.report)
    entry = (manifest.get("outputs") or {}).get("report")
    return Path(entry["path"]) if isinstance(entry, dict) and isinstance(entry.get("path"), str) else None


def lines(store: Path, config: cfg.Config) -> list[dict]:
    import duckdb
    con = duckdb.connect(str(store / "warehouse.duckdb"), read_only=True)
    try:
        cursor = con.execute("select * from estimator_budget_needed order by run_id, target, estimator")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()
    return [row for row in rows if row["run_id"] in config.estimator_runs]


def argv_store(argv: list[str] | None) -> str:
    args = sys.argv[1:] if argv is None else argv
    for i, arg in enumerate(args):
        if arg == "--store" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--store="):
            return arg.split("=", 1)[1]
    return "store"


def main(argv: list[str] | None = None) -> int:
    previous = signals.install()
    try:
        return _main(argv)
    finally:
        signals.restore(previous)


def _main(argv: list[str] | None) -> int:
    from ingest.run import one_line
    try:
        args = parser().parse_args(argv)
        if args.store == "":
            raise UserError("--store is empty: name a Knockout store")
        if args.report == "":
            raise UserError("--report is empty: name a file, or pass --no-report")
        args.store = Path(args.store)
        from ingest import claim
        manifest = store_manifest(args.store)
        config = configure(args, manifest)
        report = report_path(args, manifest)
        if report is not None:
            claim.report_outside(args.store, report)
        from ingest.pipeline import run
        started = time.perf_counter()
        run(config, args.store, report)
        signals.check()
        for row in lines(args.store, config):
            print(json.dumps(row))
        print(f"estimators: done in {time.perf_counter() - started:.1f} s (the run, the warehouse and the "
              "page included)", file=sys.stderr)
        return 0
    except BaseException as exc:
        signum = signals.received()
        if signum is not None:
            print(f"{signals.describe(signum)}: finished stages are kept in the store; resume with "
                  f"`python -m ingest.run --store {argv_store(argv)} --estimators` and the store's other flags",
                  file=sys.stderr)
            return signals.exit_code(signum)
        if isinstance(exc, UserError):
            print(f"error: {one_line(exc)}", file=sys.stderr)
            return 2
        raise
