"""store/manifest.json (config, package versions, stage timings, row counts) and the closing table."""
from __future__ import annotations

import json
import os
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


def write_manifest(store: Path, manifest: dict) -> None:
    path = Path(store) / "manifest.json"
    tmp = path.with_name(".manifest.json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, path)


def print_summary(manifest: dict, wall: float, store: Path) -> None:
    print(f"{'stage':<12} {'seconds':>8}  rows written")
    for record in manifest["stages"]:
        rows = ", ".join(f"{k} {v:,}" for k, v in record["rows"].items())
        print(f"{record['stage']:<12} {record['seconds']:>8.2f}  {rows}")
    print(f"{'total':<12} {wall:>8.2f}  full-network test loss {manifest['test_loss']:.4f}")
    print(f"store: {store}/ (warehouse.duckdb, manifest.json)")
