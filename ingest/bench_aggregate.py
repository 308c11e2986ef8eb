"""`python -m ingest.bench_aggregate`: aggregate-only enumeration against the per-mask path, one run each.

Runs `python -m ingest.run` on one network twice into fresh temporary stores, `--exhaustive-rows none`
and then the baseline `--exhaustive-rows all` (unless --no-baseline), with the same config, and prints
per run: wall time, CPU time and peak RSS of the run's process (os.wait4's rusage of that child), the
store's size on disk, and the time of each exhaustive stage from its manifest; then one JSON line.
The machine may be shared: the load average before each run is printed beside it.

`--hidden 28 --shard-masks 1048576 --no-baseline` is the issue's floor (2^28 masks, 1,000 test
points); the baseline at N = 28 would write ~37 GB and is refused without --force-exhaustive.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ingest.errors import Parser, UserError

STAGES = ("exhaustive", "exhaustive_targets", "exhaustive_regrouped", "summary", "transforms")



def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m ingest.bench_aggregate",
                description="Time aggregate-only enumeration (--exhaustive-rows none) against the per-mask path.")
    p.add_argument("--hidden", type=int, default=22, help="N, one hidden layer (default: 22)")
    p.add_argument("--test-points", type=int, default=1000, help="test points (default: 1000)")
    p.add_argument("--shard-masks", type=int, default=1 << 20, help="masks per shard (default: 1048576)")
    p.add_argument("--no-baseline", action="store_true", help="skip the --exhaustive-rows all run")
    p.add_argument("--keep", type=Path, default=None, help="build the stores under this folder and keep them")
    return p


def store_bytes(store: Path) -> int:
    return sum(p.stat().st_size for p in store.rglob("*") if p.is_file())


def run(store: Path, rows: str, args) -> dict:
    cmd = [sys.executable, "-m", "ingest.run", "--store", str(store), "--hidden", str(args.hidden),
           "--train-seeds", "0", "--test-points", str(args.test_points), "--shard-masks", str(args.shard_masks),
           "--exhaustive-rows", rows, "--force-exhaustive", "--no-report"]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise UserError(f"ingest.run --exhaustive-rows {rows} failed: {err.strip().splitlines()[-1] if err.strip() else status}")
    manifest = json.loads((store / "manifest.json").read_text())
    stages = {r["stage"]: r.get("seconds") for r in manifest.get("stages", []) if r.get("stage") in STAGES}
    return {"rows": rows, "load_before": round(load, 2), "wall_s": round(wall, 1),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "store_mb": round(store_bytes(store) / 1e6, 1), "stage_s": stages}


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        root = args.keep or Path(tempfile.mkdtemp(prefix="knockout-bench-aggregate-"))
        results = []
        try:
            for rows in ("none",) + (() if args.no_baseline else ("all",)):
                store = root / f"n{args.hidden}-{rows}"
                shutil.rmtree(store, ignore_errors=True)
                results.append(run(store, rows, args))
                r = results[-1]
                print(f"--exhaustive-rows {rows:4} N = {args.hidden}, {args.test_points:,} test points: "
                      f"wall {r['wall_s']:.1f} s, CPU {r['cpu_s']:.1f} s, peak RSS {r['peak_rss_mb']:,} MB, "
                      f"store {r['store_mb']:,.1f} MB (load {r['load_before']} before); stages "
                      + ", ".join(f"{k} {v:.1f} s" for k, v in r["stage_s"].items() if v is not None), flush=True)
        finally:
            if args.keep is None:
                shutil.rmtree(root, ignore_errors=True)
        if len(results) == 2:
            none, full = results
            print(f"aggregate-only / per-mask: wall {none['wall_s'] / full['wall_s']:.2f}, "
                  f"store {none['store_mb'] / max(full['store_mb'], 1e-9):.3f}, "
                  f"peak RSS {none['peak_rss_mb'] / full['peak_rss_mb']:.2f}")
        print(json.dumps({"hidden": args.hidden, "test_points": args.test_points, "runs": results}))
        return 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
