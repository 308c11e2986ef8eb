"""What a config will need, memory and disk, estimated before anything is computed or written.

A size that passes validation can still be far beyond the machine (`--test-points 10^12`), and
would fail minutes later with a MemoryError, half-way through writing the store. So the run is
refused up front when the estimate exceeds what the machine has, with the estimate in the message.
The estimates count the big arrays of each stage (bytes per row × rows, from the code that makes
them); they are meant to be right within a factor of about two, and they err high.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

from ingest.errors import UserError

WAREHOUSE_OVERHEAD = 12e6  # DuckDB's blocks for ~40 tables and marts, however few their rows
BASELINE = 600e6  # the interpreter with torch, pyarrow and duckdb loaded, and the kernel's tables
TABLE_ROWS = 1 << 20  # the kernel's A table holds at most this many floats (kernel.TABLE_FLOATS)
EXHAUSTIVE_BLOCK = 1 << 18  # masks per exhaustive row group (stages.EXHAUSTIVE_ROWS)


def _sizes(c) -> dict:
    """E: the per-mask rows kept (none with --exhaustive-rows none); U: masks a unit holds at once
    in aggregate-only enumeration (a mirror pair of shards, ingest/aggregate.py)."""
    aggregate = c.exhaustive and not c.keeps_rows
    return {"R": len(c.train_seeds), "N": c.nodes, "T": c.train_points, "P": c.test_points,
            "S": c.samples_per_prob * len(c.keep_probs), "F": c.flip_paths * (c.nodes + 1),
            "G": c.grid_size ** 2, "E": 2 ** c.nodes if c.exhaustive and c.keeps_rows else 0,
            "U": 2 * min(2 ** c.nodes, 1 << max(c.shard_masks.bit_length() - 1, (c.nodes + 1) // 2))
            if aggregate else 0}


def memory_by_stage(c) -> dict[str, float]:
    """Peak bytes of each stage's own arrays (stages run one after another)."""
    z = _sizes(c)
    R, N, T, P, S, F, G, E = (z[k] for k in "RNTPSFGE")
    kernel = 36 * N  # bytes per point of a MaskKernel: G, its float64 and padded copies, activations
    return {
        # data and labels of every network at once, a kernel on each training set, the test kernels
        # and the tables held until every network has trained
        "training": 80 * R * T + kernel * T + R * (kernel * P + 40 * P + 8 * N * P + 12e6),
        "the sampled masks": S * (20 * N + 40),
        "the flip paths": F * (8 * N + 80),
        "the input grid": G * (64 * N + 120) + 12e6,
        # one row group of masks at a time
        "the exhaustive table": 24 * (N + 1) * min(E, EXHAUSTIVE_BLOCK),
        # a whole run's losses and gradients indexed by mask, two runs at once
        "the summary of all masks": min(R, 2) * (E * (8 * N + 150) + 40 * S * N),
        # two units at once, each its masks' float32 loss and gradients, their sizes and sort order
        "the aggregate units": 2 * z["U"] * (4 * N + 60) + 2 * 3 * (1 << 13) * N * 8,
    }


def disk_bytes(c) -> float:
    """The store's Parquet (uncompressed: floats barely compress) and the warehouse, which copies all
    but the exhaustive table, once more while a new one is built beside the old."""
    z = _sizes(c)
    R, N, T, P, S, F, G, E = (z[k] for k in "RNTPSFGE")
    exhaustive = R * E * (4 * N + 24)
    copied = R * (30 * (T + P) + P * (8 * N + 13) + S * (4 * N + 30) + 30 * F
                  + G * (12 * N + 40) + 40 * S * N + 1e6)
    return exhaustive + 3 * copied + WAREHOUSE_OVERHEAD


def available_memory() -> float | None:
    """Bytes this process may still use: MemAvailable, or a smaller cgroup limit."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit.isdigit() and used.isdigit():
            found.append(int(limit) - int(used))
    except OSError:
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    return float(min(found))


def _existing(path: Path) -> Path:
    path = Path(path).absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _store_bytes(store: Path) -> int:
    """What the store holds now: a rerun replaces it, so it counts as room."""
    total = 0
    for root, _, files in os.walk(store):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e8 else f"{n / 1e6:,.0f} MB"


def check(c, store: Path, plan=None) -> None:
    """Refuse, in one line with the estimate, a config (or a sweep's networks) this machine cannot hold.
    A sweep's networks are worked on one after another (memory: the largest network's, training
    every network of the sweep at once as the worst case) and all stored (disk: their sum)."""
    if plan is not None and plan.is_sweep:
        nets = [net.config for net in plan.nets]
        peaks = [(stage, bytes_) for net in nets for stage, bytes_ in memory_by_stage(net).items()]
        biggest = max(nets, key=lambda n: (n.train_points, n.nodes))
        everyone = memory_by_stage(replace(biggest, train_seeds=tuple(range(len(nets)))))["training"]
        stage, peak = max([*peaks, ("training", everyone)], key=lambda item: item[1])
        need = sum(disk_bytes(net) for net in nets) - (len(nets) - 1) * WAREHOUSE_OVERHEAD
    else:
        stage, peak = max(memory_by_stage(c).items(), key=lambda item: item[1])
        need = disk_bytes(c)
    have = available_memory()
    if have is not None and BASELINE + peak > have:
        raise UserError(f"this config needs about {gb(BASELINE + peak)} of memory (most for {stage}), "
                        f"and this machine has {gb(have)} available; choose smaller sizes")
    try:
        usage = shutil.disk_usage(_existing(store))
    except OSError:
        return
    if usage.total == 0:  # a pseudo file system (/proc): whether it takes files is found by writing
        return
    free = usage.free
    room = free + (_store_bytes(store) if Path(store).is_dir() else 0)
    if need > room:
        raise UserError(f"this config needs about {gb(need)} of disk for the store and its warehouse, "
                        f"and {_existing(store)} has {gb(room)} free; choose smaller sizes or another --store")
