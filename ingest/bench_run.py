"""`python -m ingest.bench_run`: the whole default pipeline, timed end to end against its own kernel.

In one invocation:
1. `python -m ingest.run` (default config unless flags follow `--`) into a fresh temporary store and
   report, in a child process: wall time, the stage timings it records, its peak RSS;
2. the same command again on the finished store: a no-op rerun;
3. the exhaustive kernel alone (MaskKernel over all 2^N masks of every trained network, loss and
   N gradients each, nothing written), measured here on the same machine a moment later, as the
   baseline the pipeline's total is compared with;
4. `python -m ingest.run --help`.
Prints a table, then one JSON line: total_seconds, kernel_seconds, total_over_kernel,
warehouse_seconds, report_seconds, peak_rss_mb, store_mb, noop_rerun_seconds, help_seconds, and
the floors of issue 9 beside them.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOORS = {"total_seconds": 25, "total_over_kernel": 12, "report_seconds": 5, "warehouse_seconds": 5,
          "peak_rss_mb": 1200, "store_mb": 600, "noop_rerun_seconds": 5, "help_seconds": 1}


def _child(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB) of `python -m ingest.run ARGS`; raises on failure."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ingest.run", *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"ingest.run {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    # RUSAGE_CHILDREN holds the largest peak of any child waited for so far
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def kernel_seconds(store: Path) -> float:
    """All 2^N masks of every stored network through the kernel alone (nothing written)."""
    from ingest import config as cfg
    from ingest import stages
    from ingest.contract import check_complete_store

    manifest = check_complete_store(store)
    config = cfg.build(manifest["config"])
    total = 0.0
    for run_id in range(len(config.train_seeds)):
        kernel = stages.load_trained(config, store, run_id).kernel
        start = time.perf_counter()
        for lo in range(0, 1 << config.nodes, config.shard_masks):
            kernel.evaluate_range(lo, min(lo + config.shard_masks, 1 << config.nodes))
        total += time.perf_counter() - start
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.bench_run", description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, default=None, help="build the store here and keep it")
    parser.add_argument("run_args", nargs="*", help="flags for ingest.run after --, e.g. -- --hidden 16")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="knockout-bench-")) if args.keep is None else args.keep
    store, page = folder / "store", folder / "report" / "index.html"
    run_args = ["--store", str(store), "--report", str(page), *args.run_args]

    total, peak = _child(run_args)
    manifest = json.loads((store / "manifest.json").read_text())
    stage = {s["stage"]: s["seconds"] for s in manifest["stages"]}
    store_mb = _size_mb(store)
    noop, _ = _child(run_args)
    kernel = kernel_seconds(store)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ingest.run", "--help"], capture_output=True, check=True)
    help_seconds = time.perf_counter() - start

    figures = {
        "total_seconds": round(total, 2),
        "kernel_seconds": round(kernel, 2),
        "total_over_kernel": round(total / kernel, 1),
        "warehouse_seconds": stage.get("warehouse"),
        "report_seconds": stage.get("report"),
        "peak_rss_mb": peak,
        "store_mb": round(store_mb, 1),
        "noop_rerun_seconds": round(noop, 2),
        "help_seconds": round(help_seconds, 2),
        "stages": stage,
        "cores": len(os.sched_getaffinity(0)),
    }
    print(f"{'figure':<22} {'measured':>10} {'floor':>8}")
    for name, floor in FLOORS.items():
        value = figures[name]
        mark = "" if value is None else ("ok" if value <= floor else "ABOVE")
        print(f"{name:<22} {value if value is not None else '—':>10} {floor:>8}  {mark}")
    print(f"{'kernel_seconds':<22} {figures['kernel_seconds']:>10}")
    print(json.dumps({**figures, "floors": FLOORS}))
    if args.keep is None:
        import shutil
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
