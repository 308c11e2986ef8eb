"""Package versions for the manifest, and the closing table a run prints."""
from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

PACKAGES = ("torch", "numpy", "polars", "pyarrow", "duckdb", "duckdb-cli", "altair", "vl-convert-python")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def print_summary(manifest: dict, wall: float, store: Path, test_losses: dict | None = None) -> None:
    width = max([12, *(len(record["stage"]) for record in manifest["stages"])])
    print(f"{'stage':<{width}} {'seconds':>8}  rows written")
    for record in manifest["stages"]:
        rows = ", ".join(f"{k} {v:,}" for k, v in record["rows"].items())
        reused = f" (reused {record['reused']})" if record.get("reused") else ""
        print(f"{record['stage']:<{width}} {record['seconds']:>8.2f}  {rows}{reused}")
    print(f"{'total':<{width}} {wall:>8.2f}")
    for run in manifest["runs"]:
        if run.get("network"):
            what = ", ".join(f"{k} {v}" for k, v in run["network"].items())
        else:
            what = "loaded with --model" if run["train_seed"] is None else f"train seed {run['train_seed']}"
        print(f"run {run['run_id']} ({what}): full-network test loss "
              f"{run['test_loss']:.4f}, accuracy {run['test_accuracy']:.3f}")
    print(f"store: {store}/ (warehouse.duckdb, manifest.json)")
