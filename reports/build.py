"""`python -m reports.build --store DIR --out PATH`: the report page from an existing store.

Reads the warehouse read-only and recomputes nothing from the network: the warehouse's views give the
numbers, reports.density smooths them for the charts, Vega-Lite and heatmap.js draw them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from reports import page
from reports.context import load_context
from reports.errors import ReportError
from reports import snapshots
from reports.warehouse import Warehouse, open_warehouse


def build_report(store_dir: Path, out_path: Path, *, run_id=None, write_snapshots: bool = False) -> dict:
    """Write the page (and with `write_snapshots` PNGs of the headline figures beside it); returns what
    was written, for the run summary."""
    start = time.perf_counter()
    con = open_warehouse(Path(store_dir))
    try:
        ctx = load_context(Warehouse(con, run_id))
        text, built = page.render(ctx)
        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_path.with_name(f".{out_path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_path)  # readers never see half a page
        pngs = snapshots.write_snapshots(ctx, out_path.parent) if write_snapshots else []
    finally:
        con.close()
    return {
        "path": str(out_path),
        "bytes": out_path.stat().st_size,
        "sections": len(built),
        "charts": sum(1 for s in built if s.chart is not None),
        "snapshots": [str(p) for p in pngs],
        "seconds": round(time.perf_counter() - start, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports.build", description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("store"), help="the store folder (default: store)")
    parser.add_argument("--out", type=Path, default=Path("reports/index.html"),
                        help="the page to write (default: reports/index.html)")
    parser.add_argument("--run-id", default=None, help="which run to show (default: the first)")
    parser.add_argument("--snapshots", action="store_true",
                        help="also write PNG snapshots of the headline figures beside the page (a few seconds)")
    args = parser.parse_args(argv)
    try:
        result = build_report(args.store, args.out, run_id=args.run_id, write_snapshots=args.snapshots)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {result['path']} ({result['bytes'] / 1e6:.2f} MB, {result['sections']} sections, "
          f"{result['charts']} charts, {len(result['snapshots'])} PNG snapshots) in {result['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
