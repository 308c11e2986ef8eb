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


def run(plan, store: Path, report: Path | None) -> dict:
    """Run a plan (ingest/plan.py), or a config's plain plan, into the store."""
    from ingest import plan as plans
    if not isinstance(plan, plans.Plan):
        plan = plans.plain(plan)
    store = claim(store)
    with store_lock(store):
        ledger = None
        try:
            if read_store_id(store) is None:  # a folder claimed just now: the marker goes in first
                write_json(store / MANIFEST, fresh_manifest(new_store_id(), code_version()))
            ledger = Ledger(store)
            return _run(plans.assign_ids(plan, ledger.trained(), train_identity), store, report, ledger)
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


def train_identity(net) -> str:
    """What a network is made of: its training fingerprint (a sweep's networks keep their run ids
    by it, ingest/plan.py)."""
    return fingerprint("train", stages.STAGES["train"].inputs(net.config, 0))


def _run(plan, store: Path, report: Path | None, ledger: Ledger) -> dict:
    from ingest import executor as executors
    runner = executors.make(plan.config)
    try:
        return _run_with(plan, store, report, ledger, runner)
    finally:
        runner.close()


def _run_with(plan, store: Path, report: Path | None, ledger: Ledger, runner) -> dict:
    timings = Timings()
    config = plan.config
    nets = plan.by_id()

    def unit(stage: str, key: str, fp: str, work) -> bool:
        """Reuses or does one unit of work; True if it was reused."""
        start = time.perf_counter()
        if ledger.reusable(key, fp):
            timings.add(stage, time.perf_counter() - start, ledger.rows(key), reused=True)
            return True
        rows = ledger.record(key, fp, work())
        timings.add(stage, time.perf_counter() - start, rows, reused=False)
        return False

    train_fps = {run_id: train_identity(net) for run_id, net in nets.items()}
    trained = train(plan, store, ledger, timings, unit, train_fps, runner)

    for stage in stages.after_training():
        signals.check()
        parts = {run_id: stage.parts(net.config) if stage.parts else [None] for run_id, net in nets.items()}
        sizes = {run_id: sum(hi - lo for lo, hi in p) if stage.parts else 1 for run_id, p in parts.items()}
        if not stage.parts:
            what = count(len(trained), "network")
        elif len(set(sizes.values())) == 1:
            what = count(len(trained), "network") + f", {count(next(iter(sizes.values())), 'mask')} each"
        else:
            what = count(len(trained), "network") + f", {count(sum(sizes.values()), 'mask')} in all"
        with progress.step(stage.name, what, total=sum(sizes.values()),
                           unit="mask" if stage.parts else "network") as bar:
            reused = 0
            todo = []  # (key, fingerprint, work, progress step) of every unit of this stage
            for run_id, t in trained.items():
                net_config = nets[run_id].config
                values = stage.inputs(net_config, 0)
                for i, part in enumerate(parts[run_id]):
                    key = f"{stage.name}/{run_id}" + (f"/{i}" if part else "")
                    args = (i, *part) if part else ()
                    fp = fingerprint(stage.name, train_fps[run_id], values, *(part or ()))
                    work = (functools.partial(runner.submit_unit, stage.name, net_config, store, run_id, args)
                            if runner.remote else functools.partial(stage.work, net_config, store, t, *args))
                    todo.append((key, fp, work, part[1] - part[0] if part else 1))
            if runner.remote:
                reused += remote_units(stage, todo, ledger, timings, bar, runner)
            elif stage.threads > 1:
                reused += concurrent_units(stage, todo, ledger, timings, bar)
            else:
                for key, fp, work, step in todo:
                    reused += unit(stage.name, key, fp, work)
                    bar.update(step)
            if reused:
                bar.note = f"reused {reused} of {count(len(todo), 'file')}"
        if stage.done is not None:
            stage.done(store)

    runner.release()  # every unit is done: the rest happens in this process
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
            content = catalog.build(store, files, info, run_configs=plan.run_configs() if plan.is_sweep else None)
        counts = content["row_counts"]
        built["warehouse"] = {**outputs.record(warehouse, warehouse_fp), **content, "store_id": ledger.store_id,
                              "duckdb_version": info["duckdb_version"]}
        timings.add("warehouse", time.perf_counter() - start, {"objects": len(catalog.sql_objects())}, reused=False)

    runs = pq.read_table([str(store / rel) for rel in sorted(files) if rel.startswith("runs/")],
                         columns=["run_id", "train_seed", "test_loss", "test_accuracy"])
    manifest = {
        "config": config_values,  # a sweep's base; each network's own is in the warehouse's runs.config
        **({"sweep": json.loads(plan.describe())} if plan.is_sweep else {}),
        "packages": package_versions(),
        "runs": [{**row, **({"network": describe_net(nets[row["run_id"]])} if plan.is_sweep else {})}
                 for row in runs.sort_by("run_id").to_pylist()],
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


def train(plan, store: Path, ledger: Ledger, timings: Timings, unit, train_fps: dict[int, str], runner) -> dict:
    """Every network trained (or rebuilt from its stored weights), {run_id: stages.Trained}.
    Networks that differ only in their seed train together (network.train_many); a sweep's other
    networks train group after group."""
    nets = plan.by_id()
    # Train every network before writing anything, so a diverged one leaves the store untouched.
    pending = [run_id for run_id in nets if not ledger.reusable(f"train/{run_id}", train_fps[run_id])]
    groups: dict[str, dict[int, int]] = {}  # one config but the seed: {run_id: seed}
    for run_id in pending:
        shape = nets[run_id].config.to_json(seeds=False)
        groups.setdefault(shape, {})[run_id] = nets[run_id].seed
    epochs = sum(nets[next(iter(g))].config.epochs for g in groups.values())
    model = plan.config.model
    if pending and model:
        what = f"loading the network of {model} (not trained here)"
    elif pending:
        what = f"{count(len(pending), 'network')}, {count(plan.config.epochs, 'epoch')}"
        if len(groups) > 1:
            what += f" ({count(len(groups), 'group')} trained one after another)"
        if len(pending) < len(nets):
            what += f" (reusing {len(nets) - len(pending)} trained before)"
    else:
        what = f"reusing {count(len(nets), 'trained network')}"
    fitted, trained = {}, {}
    total = epochs if pending and not runner.remote and not model else None  # Ray tasks report no epochs
    with progress.step("train", what, total=total, unit="epoch") as bar:
        if pending and runner.remote:
            start = time.perf_counter()
            # networks train alike alone or together (network.train_many), so a group is split over
            # the cluster's CPUs: one task per share
            refs = {runner.submit_training(nets[next(iter(share))].config, share): share
                    for g in groups.values() for share in split(g, runner.cpus())}
            waiting = list(refs)
            try:
                while waiting:
                    ref, tables = runner.wait_one(waiting)
                    waiting.remove(ref)
                    for run_id, out in tables.items():
                        fitted[run_id] = stages.fitted_from_tables(nets[run_id].config, run_id, out)
            except BaseException:
                runner.cancel(waiting)
                raise
            timings.add("train", time.perf_counter() - start, {}, reused=False)
        elif pending:
            start = time.perf_counter()
            for group in groups.values():
                signals.check()
                first = nets[next(iter(group))].config
                fitted.update(stages.fit_all(first, group, progress=bar))
            timings.add("train", time.perf_counter() - start, {}, reused=False)
        for run_id, net in nets.items():
            trained[run_id] = (fitted[run_id].trained if run_id in fitted
                               else stages.load_trained(net.config, store, run_id))  # rebuilt from its weights
            # a grid the network cannot evaluate is refused now, not after the other stages wrote
            stages.check_grid(net.config, trained[run_id])
        for run_id in nets:
            unit("train", f"train/{run_id}", train_fps[run_id], lambda: stages.write_training(store, fitted[run_id]))
    return trained


def concurrent_units(stage, todo: list, ledger: Ledger, timings: Timings, bar) -> int:
    """The stage's units that cannot be reused, worked on `stage.threads` at a time; each is recorded
    by this thread as it finishes, so the ledger is written by one thread only. Returns how many
    were reused."""
    reused, pending = reusable_first(stage, todo, ledger, timings, bar)
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


def reusable_first(stage, todo: list, ledger: Ledger, timings: Timings, bar) -> tuple[int, list]:
    """The units of `todo` the ledger can reuse, counted as done (how many), and the others, in order."""
    reused, pending = 0, []
    for key, fp, work, step in todo:
        if ledger.reusable(key, fp):
            timings.add(stage.name, 0.0, ledger.rows(key), reused=True)
            reused += 1
            bar.update(step)
        else:
            pending.append((key, fp, work, step))
    return reused, pending


def describe_net(net) -> dict:
    """A sweep network's values of the swept fields, as the flags write them."""
    return {k: (",".join(map(str, v)) if isinstance(v, (tuple, list)) else v) for k, v in net.params.items()}


def split(group: dict[int, int], parts: int) -> list[dict[int, int]]:
    """A {run_id: seed} group in at most `parts` shares of near-equal size, in order."""
    items = list(group.items())
    size = -(-len(items) // max(1, min(parts, len(items))))
    return [dict(items[i:i + size]) for i in range(0, len(items), size)]


def remote_units(stage, todo: list, ledger: Ledger, timings: Timings, bar, runner) -> int:
    """The stage's units that cannot be reused, as Ray tasks all submitted at once; each is recorded
    by this (the driver's) thread as it finishes, in whatever order. Returns how many were reused."""
    start = time.perf_counter()
    reused, todo = reusable_first(stage, todo, ledger, timings, bar)
    pending = {submit(): (key, fp, step) for key, fp, submit, step in todo}
    waiting = list(pending)
    try:
        while waiting:
            signals.check()
            ref, files = runner.wait_one(waiting)
            waiting.remove(ref)
            key, fp, step = pending[ref]
            timings.add(stage.name, 0.0, ledger.record(key, fp, [Path(f) for f in files]), reused=False)
            bar.update(step)
    except BaseException:
        runner.cancel(waiting)  # a failed unit or Ctrl-C: the others' files appear whole or not at all
        raise
    if pending:
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
