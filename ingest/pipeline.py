"""A run's work in order: train, every later stage for each network, the warehouse, the report.

A unit of work (a stage of one network, or one shard of its exhaustive table) is reused when the
ledger holds it under the same fingerprint: the values of the config fields its stage declares
(ingest/stages.py), its network's training fingerprint, and the code version (ingest/ledger.py).
"""
from __future__ import annotations

import errno
import functools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import pyarrow.parquet as pq

from ingest import catalog, outputs, progress, signals, stages
from ingest.claim import classify, fresh_manifest, new_store_id, read_store_id
from ingest.contract import MANIFEST, STORE_VERSION
from ingest.durable import make_dirs
from ingest.errors import UserError
from ingest.ledger import Ledger, code_version, fingerprint, write_json
from ingest.lock import store_lock
from ingest.manifest import package_versions


class Timings:
    """Seconds and rows per stage, summed over networks, for the closing table and the manifest."""

    def __init__(self):
        self.stages: dict[str, dict] = {}

    def add(self, stage: str, seconds: float, rows: dict[str, int], reused: bool) -> None:
        record = self.stages.setdefault(stage, {"stage": stage, "seconds": 0.0, "rows": {}, "reused": 0})
        record["seconds"] = round(record["seconds"] + seconds, 3)
        for table, n in rows.items():
            record["rows"][table] = record["rows"].get(table, 0) + n
        record["reused"] += int(reused)


def count(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


def run(config, store: Path, report: Path | None) -> dict:
    store = claim(store)
    with store_lock(store):
        ledger = None
        try:
            if read_store_id(store) is None:  # a folder claimed just now: the marker goes in first
                write_json(store / MANIFEST, fresh_manifest(new_store_id(), code_version()))
            ledger = Ledger(store)
            return _run(config, store, report, ledger)
        except UserError as exc:
            if ledger is None or ledger.complete:  # nothing begun, or only the report failed
                raise
            if not ledger.changed:
                raise UserError(f"{exc} (no results were written to the store)") from None
            raise UserError(f"{exc} (the work finished before is kept in the store; run again to "
                            "resume)") from None
        except Exception as exc:
            if disk_full(exc):
                raise UserError(f"no space left on the device of the store {store} ({first_line(exc)}); "
                                "temporary files were removed: free some space and run the same command "
                                "again to resume") from None
            raise


def claim(store: Path) -> Path:
    """The store folder, created if missing; refused (one line, nothing touched) if it is not a
    missing, empty or Knockout folder (ingest/claim.py), or cannot be written."""
    store = Path(store)
    classify(store)
    try:
        make_dirs(store)
        probe = store / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"cannot write to store {store}: {exc.strerror or exc}") from None
    return store


def disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)  # pyarrow and DuckDB report it in their own exception types
    return "No space left on device" in text or "Disk quota exceeded" in text


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:160] if lines else type(exc).__name__


def _run(config, store: Path, report: Path | None, ledger: Ledger) -> dict:
    timings = Timings()

    def unit(stage: str, key: str, fp: str, work) -> bool:
        """Reuses or does one unit of work; True if it was reused."""
        start = time.perf_counter()
        if ledger.reusable(key, fp):
            timings.add(stage, time.perf_counter() - start, ledger.rows(key), reused=True)
            return True
        rows = ledger.record(key, fp, work())
        timings.add(stage, time.perf_counter() - start, rows, reused=False)
        return False

    train_fps = {run_id: fingerprint("train", stages.STAGES["train"].inputs(config, run_id))
                 for run_id in range(len(config.train_seeds))}
    trained = train(config, store, ledger, timings, unit, train_fps)

    for stage in stages.after_training():
        signals.check()
        parts = stage.parts(config) if stage.parts else [None]
        size = sum(hi - lo for lo, hi in parts) if stage.parts else 1
        what = count(len(trained), "network") + (f", {count(size, 'mask')} each" if stage.parts else "")
        with progress.step(stage.name, what, total=len(trained) * size,
                           unit="mask" if stage.parts else "network") as bar:
            reused = 0
            todo = []  # (key, fingerprint, work, progress step) of every unit of this stage
            for run_id, t in trained.items():
                values = stage.inputs(config, run_id)
                for i, part in enumerate(parts):
                    key = f"{stage.name}/{run_id}" + (f"/{i}" if part else "")
                    args = (i, *part) if part else ()
                    fp = fingerprint(stage.name, train_fps[run_id], values, *(part or ()))
                    todo.append((key, fp, functools.partial(stage.work, config, store, t, *args),
                                 part[1] - part[0] if part else 1))
            if stage.threads > 1:
                reused += concurrent_units(stage, todo, ledger, timings, bar)
            else:
                for key, fp, work, step in todo:
                    reused += unit(stage.name, key, fp, work)
                    bar.update(step)
            if reused:
                bar.note = f"reused {reused} of {count(len(trained) * len(parts), 'file')}"

    signals.check()
    remove_stale(store, ledger)
    previous = ledger.outputs  # what the last complete run built, if the code is the same
    warehouse = store / catalog.WAREHOUSE
    files = ledger.files()
    config_values = json.loads(config.to_json())
    warehouse_fp = outputs.warehouse_fingerprint(store, files, config_values, ledger.store_id)
    built = {}
    start = time.perf_counter()
    if outputs.is_current(previous.get("warehouse"), warehouse, warehouse_fp):
        counts = previous["warehouse"]["row_counts"]
        built["warehouse"] = previous["warehouse"]
        progress.log(f"warehouse: unchanged, {warehouse} kept")
        timings.add("warehouse", time.perf_counter() - start, {}, reused=True)
    else:
        info = {"store_id": ledger.store_id, "built_from": warehouse_fp, "store_version": STORE_VERSION,
                "duckdb_version": metadata.version("duckdb"), "config": config.to_json()}
        with progress.step("warehouse", f"{len(catalog.TABLES)} tables and the SQL of sql/ → {catalog.WAREHOUSE}"):
            content = catalog.build(store, files, info)
        counts = content["row_counts"]
        built["warehouse"] = {**outputs.record(warehouse, warehouse_fp), **content, "store_id": ledger.store_id,
                              "duckdb_version": info["duckdb_version"]}
        timings.add("warehouse", time.perf_counter() - start, {"objects": len(catalog.sql_objects())}, reused=False)

    runs = pq.read_table([str(store / rel) for rel in sorted(files) if rel.startswith("runs/")],
                         columns=["run_id", "train_seed", "test_loss", "test_accuracy"])
    manifest = {
        "config": config_values,
        "packages": package_versions(),
        "runs": runs.sort_by("run_id").to_pylist(),
        "stages": list(timings.stages.values()),
        "row_counts": counts,
        "outputs": dict(built),
    }
    ledger.finish(manifest)  # the store is complete: the report (a reader) may now open it

    signals.check()
    if report is not None:
        report = Path(report)
        report_fp = outputs.report_fingerprint(warehouse_fp, report)
        start = time.perf_counter()
        if outputs.is_current(previous.get("report"), report, report_fp):
            built["report"] = previous["report"]
            progress.log(f"report: unchanged, {report} kept")
            timings.add("report", time.perf_counter() - start, {}, reused=True)
        else:
            from reports.build import build_report
            from reports.errors import ReportError
            with progress.step("report", f"the page → {report}"):
                try:
                    page = build_report(store, report)
                except ReportError as exc:
                    raise UserError(f"the store is complete but the report failed: {exc}") from None
            built["report"] = outputs.record(report, report_fp)
            timings.add("report", time.perf_counter() - start, {"page_bytes": page["bytes"]}, reused=False)
        manifest["stages"] = list(timings.stages.values())
        manifest["outputs"] = dict(built)
        ledger.finish(manifest)
    return manifest


def train(config, store: Path, ledger: Ledger, timings: Timings, unit, train_fps: dict[int, str]) -> dict:
    """Every network trained (or rebuilt from its stored weights), {run_id: stages.Trained}."""
    seeds = dict(enumerate(config.train_seeds))
    # Train every network before writing anything, so a diverged one leaves the store untouched.
    pending = {run_id: seed for run_id, seed in seeds.items()
               if not ledger.reusable(f"train/{run_id}", train_fps[run_id])}
    if pending:
        what = f"{count(len(pending), 'network')}, {count(config.epochs, 'epoch')}"
        if len(pending) < len(seeds):
            what += f" (reusing {len(seeds) - len(pending)} trained before)"
    else:
        what = f"reusing {count(len(seeds), 'trained network')}"
    fitted, trained = {}, {}
    with progress.step("train", what, total=config.epochs if pending else None, unit="epoch") as bar:
        if pending:
            start = time.perf_counter()
            fitted = stages.fit_all(config, pending, progress=bar)
            timings.add("train", time.perf_counter() - start, {}, reused=False)
        for run_id in seeds:
            trained[run_id] = (fitted[run_id].trained if run_id in fitted
                               else stages.load_trained(config, store, run_id))  # rebuilt from its weights
            # a grid the network cannot evaluate is refused now, not after the other stages wrote
            stages.check_grid(config, trained[run_id])
        for run_id in seeds:
            unit("train", f"train/{run_id}", train_fps[run_id], lambda: stages.write_training(store, fitted[run_id]))
    return trained


def concurrent_units(stage, todo: list, ledger: Ledger, timings: Timings, bar) -> int:
    """The stage's units that cannot be reused, worked on `stage.threads` at a time; each is recorded
    by this thread as it finishes, so the ledger is written by one thread only. Returns how many
    were reused."""
    reused, pending = 0, []
    for key, fp, work, step in todo:
        if ledger.reusable(key, fp):
            timings.add(stage.name, 0.0, ledger.rows(key), reused=True)
            reused += 1
            bar.update(step)
        else:
            pending.append((key, fp, work, step))
    if not pending:
        return reused

    start = time.perf_counter()
    pool = ThreadPoolExecutor(stage.threads)
    try:
        futures = [(key, fp, step, pool.submit(work)) for key, fp, work, step in pending]
        for key, fp, step, future in futures:
            timings.add(stage.name, 0.0, ledger.record(key, fp, future.result()), reused=False)
            bar.update(step)
    except BaseException:
        # Ctrl-C or a failed unit: units not yet started are dropped, and the run does not wait for
        # the running ones (whose files appear whole or not at all; a rerun redoes them)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    # units worked on together overlap: the stage's wall time is what counts
    timings.add(stage.name, time.perf_counter() - start, {}, reused=False)
    return reused


def remove_stale(store: Path, ledger: Ledger) -> None:
    """Files an earlier run recorded that this run does not use (another seed list, another shard
    size) must not be read as ours. Only files the manifest recorded are deleted, and the temporary
    files of a killed run; anything else in the folder stays where it is."""
    stale = [store / rel for rel in ledger.stale() if (store / rel).exists()]
    leftovers = [path for table in catalog.TABLES + catalog.KEPT for path in (store / table).glob(".*.parquet.tmp")]
    if stale:
        ledger.begin_change()
    for path in stale + leftovers:
        path.unlink(missing_ok=True)
