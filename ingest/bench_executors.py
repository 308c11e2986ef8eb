"""`python -m ingest.bench_executors`: the same run with the local executor and with Ray, one after
the other in one invocation, each into a fresh store: wall time of each (the whole `python -m
ingest.run`, Ray's start and stop included), their ratio against the floor, and whether the two
stores' Parquet files are identical (sha256 of every file the manifests record).

    python -m ingest.bench_executors                      # the default run, page included (floor: Ray ≤ 1.25 × local)
    python -m ingest.bench_executors -- --no-report       # the same without the page (Ray's fixed ~5 s weighs more)
    python -m ingest.bench_executors --sweep sweep.toml   # a sweep, no pages (floor: each ≤ 300 s)
    python -m ingest.bench_executors -- --hidden 16       # flags for ingest.run after --

Also prints each executor's per-shard seconds of the exhaustive stage (the manifest's stage time
over its shards) — the figure a projection to larger N and more workers starts from.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RATIO_FLOOR = 1.25
SWEEP_FLOOR_SECONDS = 300


def run(args: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ingest.run", *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"ingest.run {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return wall


def hashes(store: Path) -> dict[str, str]:
    manifest = json.loads((store / "manifest.json").read_text())
    return {rel: meta["sha256"] for unit in manifest["units"].values() for rel, meta in unit["files"].items()}


def shard_seconds(store: Path) -> float | None:
    manifest = json.loads((store / "manifest.json").read_text())
    stage = next((s for s in manifest["stages"] if s["stage"] == "exhaustive"), None)
    shards = sum(1 for key in manifest["units"] if key.startswith("exhaustive/"))
    return round(stage["seconds"] / shards, 3) if stage and shards else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.bench_executors", description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", type=Path, default=None, help="time this sweep file instead of the default run")
    parser.add_argument("--keep", type=Path, default=None, help="build the stores here and keep them")
    parser.add_argument("run_args", nargs="*", help="flags for ingest.run after --")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="knockout-executors-")) if args.keep is None else args.keep
    base = [*(["--sweep", str(args.sweep), "--no-report"] if args.sweep else []), *args.run_args]
    figures = {}
    for name in ("local", "ray"):
        store = folder / name
        page = [] if args.sweep or "--no-report" in base else ["--report", str(folder / f"{name}.html")]
        figures[name] = {"seconds": round(run(["--store", str(store), "--executor", name, *page, *base]), 2),
                         "exhaustive_seconds_per_shard": shard_seconds(store),
                         "files": len(hashes(store))}
    same = hashes(folder / "local") == hashes(folder / "ray")
    ratio = round(figures["ray"]["seconds"] / figures["local"]["seconds"], 2)
    print(f"{'executor':<8} {'seconds':>9} {'s/shard':>9}")
    for name in ("local", "ray"):
        print(f"{name:<8} {figures[name]['seconds']:>9} {figures[name]['exhaustive_seconds_per_shard'] or '—':>9}")
    if args.sweep:
        verdict = all(figures[n]["seconds"] <= SWEEP_FLOOR_SECONDS for n in figures)
        print(f"sweep floor: each ≤ {SWEEP_FLOOR_SECONDS} s: {'ok' if verdict else 'ABOVE'}")
    else:
        print(f"ray / local = {ratio} (floor ≤ {RATIO_FLOOR}): {'ok' if ratio <= RATIO_FLOOR else 'ABOVE'}")
    print(f"identical Parquet files: {same} ({figures['local']['files']} files)")
    print(json.dumps({"executors": figures, "ray_over_local": ratio, "identical_files": same,
                      "sweep": str(args.sweep) if args.sweep else None,
                      "floors": {"ray_over_local": RATIO_FLOOR, "sweep_seconds": SWEEP_FLOOR_SECONDS}}))
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
