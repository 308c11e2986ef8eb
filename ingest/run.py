"""`python -m ingest.run`: train, evaluate masks, write store/ and store/warehouse.duckdb, then the report."""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
from tqdm import tqdm

from ingest import catalog, cli, stages
from ingest.errors import UserError
from ingest.ledger import Ledger, fingerprint
from ingest.lock import store_lock
from ingest.manifest import package_versions, print_summary
from ingest.store import open_store

# Config fields each unit depends on, beyond those of training (which every unit depends on).
TRAINING = ("hidden", "label_rule", "train_points", "epochs", "batch_size", "learning_rate", "rho",
            "epsilon", "test_points", "test_seed")
DEPENDS = {
    "samples": ("mask_seed", "samples_per_prob", "keep_probs"),
    "landmarks": (),
    "exhaustive": ("exhaustive", "shard_masks"),
    "flip_paths": ("flip_paths", "path_seed"),
    "grid": ("grid_size", "grid_extent"),
}


def _bar(total: int, desc: str, unit: str):
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False,
                disable=None, file=sys.stderr, dynamic_ncols=True)


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


def run(config, store: Path, report: Path | None) -> dict:
    store = open_store(store)
    with store_lock(store):
        return _run(config, store, report)


def _run(config, store: Path, report: Path | None) -> dict:
    ledger = Ledger(store)
    timings = Timings()
    fields = dataclasses.asdict(config)

    def unit(stage: str, key: str, fp: str, work) -> None:
        start = time.perf_counter()
        if ledger.reusable(key, fp):
            timings.add(stage, time.perf_counter() - start, ledger.rows(key), reused=True)
            return
        rows = ledger.record(key, fp, work())
        timings.add(stage, time.perf_counter() - start, rows, reused=False)

    train_fps = {run_id: fingerprint("train", seed, {k: fields[k] for k in TRAINING})
                 for run_id, seed in enumerate(config.train_seeds)}
    # Train every network before writing anything, so a diverged one leaves the store untouched.
    pending = {run_id: seed for run_id, seed in enumerate(config.train_seeds)
               if not ledger.reusable(f"train/{run_id}", train_fps[run_id])}
    fitted = {}
    if pending:
        start = time.perf_counter()
        with _bar(config.epochs, f"train {len(pending)} network(s)", "epoch") as bar:
            fitted = stages.fit_all(config, pending, progress=bar)
        timings.add("train", time.perf_counter() - start, {}, reused=False)

    for run_id, seed in enumerate(config.train_seeds):
        train_fp = train_fps[run_id]
        unit("train", f"train/{run_id}", train_fp, lambda: stages.write_training(store, fitted[run_id]))
        trained = (fitted[run_id].trained if run_id in fitted
                   else stages.load_trained(config, store, run_id))  # reused: rebuilt from its weights

        def fp(stage, *extra):
            return fingerprint(stage, train_fp, {k: fields[k] for k in DEPENDS[stage]}, *extra)

        unit("samples", f"samples/{run_id}", fp("samples"),
             lambda: stages.samples(config, store, trained))
        unit("landmarks", f"landmarks/{run_id}", fp("landmarks"),
             lambda: stages.landmarks(config, store, trained))
        shards = stages.exhaustive_shards(config)
        with _bar(2 ** config.hidden if config.exhaustive else 0, f"exhaustive run {run_id}", "mask") as bar:
            for part, (lo, hi) in enumerate(shards):
                unit("exhaustive", f"exhaustive/{run_id}/{part}", fp("exhaustive", lo, hi),
                     lambda: stages.exhaustive_shard(config, store, trained, part, lo, hi, progress=bar))
        unit("flip_paths", f"flip_paths/{run_id}", fp("flip_paths"),
             lambda: stages.flip_paths(config, store, trained))
        unit("grid", f"grid/{run_id}", fp("grid"), lambda: stages.input_grid(config, store, trained))

    remove_stale(store, ledger)
    start = time.perf_counter()
    counts = catalog.build(store)
    timings.add("warehouse", time.perf_counter() - start, {"views": len(catalog.sql_files())}, reused=False)

    runs = pq.read_table(store / "runs", columns=["run_id", "train_seed", "test_loss", "test_accuracy"])
    manifest = {
        "config": json.loads(config.to_json()),
        "packages": package_versions(),
        "runs": runs.sort_by("run_id").to_pylist(),
        "stages": list(timings.stages.values()),
        "row_counts": counts,
    }
    ledger.finish(manifest)  # the store is complete: the report (a reader) may now open it

    if report is not None:
        start = time.perf_counter()
        from reports.build import build_report
        from reports.warehouse import ReportError
        try:
            built = build_report(store, report)
        except ReportError as exc:
            raise UserError(f"the store is complete but the report failed: {exc}") from None
        timings.add("report", time.perf_counter() - start, {"page_bytes": built["bytes"]}, reused=False)
        manifest["stages"] = list(timings.stages.values())
        manifest["report"] = str(report)
        ledger.finish(manifest)
    return manifest


def remove_stale(store: Path, ledger: Ledger) -> None:
    """Files of an earlier config (another seed list, another shard size) must not be read as ours."""
    keep = set(ledger.files())
    for table in catalog.TABLES:
        for path in (store / table).glob("*.parquet"):
            if path.relative_to(store).as_posix() not in keep:
                path.unlink()


def main(argv: list[str] | None = None) -> int:
    try:
        config, args = cli.parse(argv)
        started = time.perf_counter()
        manifest = run(config, args.store, None if args.no_report else args.report)
        print_summary(manifest, time.perf_counter() - started, args.store)
        return 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished stages are kept in the store; run the same command again to "
              "resume from there", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
