"""`python -m reports.build --store DIR --out PATH`: the report page from an existing store.

Reads the warehouse read-only and recomputes nothing from the network: views give the numbers,
reports.density smooths them, Vega-Lite and heatmap.js draw them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from reports import (captions, captions_exact, figures_densities, figures_exact, figures_importance, figures_maps,
                     figures_paths, figures_subnetworks, heatmap, replication, tables)
from reports.data import ReportData, load
from reports.exact_data import ExactData, load_exact
from reports.density import DEFAULT_WIDTH
from reports.header import header
from reports.page import Section, render
from reports.snapshots import write_png
from reports.warehouse import ReportError, Warehouse, open_warehouse


def sections(data: ReportData, width: float, exact: ExactData | None = None) -> list[Section]:
    half = figures_densities.half_prob(data)
    return study_sections(data, width, half) + beyond_sections(data, width, half, exact)


def study_sections(data: ReportData, width: float, half: float) -> list[Section]:
    return [
        Section("f1", "F1 The network with neurons switched off", captions.f1(data), body=heatmap.html(data)),
        Section("f2", "F2 Probability density of the loss", captions.f2(data, width),
                figures_densities.loss_densities(data, width)),
        Section("f3", "F3 Probability density of the log loss", captions.f3(data),
                figures_densities.log_loss_densities(data, width),
                after="<h3>T1 Loss and log loss per keep probability</h3>" + tables.t1_log_loss(data)),
        Section("f4", "F4 Gradient of the loss with respect to each neuron's switch", captions.f4(data),
                figures_densities.grad_densities(data, width),
                after="<h3>T2 Gradients per keep probability</h3>" + tables.t2_gradients(data)
                + tables.sanity_check(data)),
        Section("f5", "F5 Gradient of the log loss", captions.f5(data, width),
                figures_densities.grad_log_densities(data, width)),
        Section("f6", f"F6 Is that node on? (p = {half:g})", captions.f6(data),
                figures_densities.split_densities(data, width)),
        Section("f7", "F7 Is that node on? Per neuron", captions.f7(data),
                figures_densities.node_split_densities(data, width)),
        Section("f8", "F8 Covariance of log loss along flip paths", captions.f8(data),
                figures_paths.covariance_map(data)),
        Section("f9", "F9 How fast the covariance decays, and the complement", captions.f9(data),
                figures_paths.decay_curves(data)),
        Section("f10", "F10 Gradient of the pointwise loss for each neuron", captions.f10(data),
                figures_maps.node_gradient_maps(data)),
        Section("f11", "F11 Pointwise loss over the plane", captions.f11(data),
                figures_maps.pointwise_loss_map(data)),
        Section("knockouts", "Single knockouts: each neuron alone off, alone on", captions.knockouts(data),
                body=tables.single_knockouts(data)),
    ]


def beyond_sections(data: ReportData, width: float, half: float, exact: ExactData | None) -> list[Section]:
    """Exact answers from all 2^N masks, and the replication across networks (issue 5)."""
    if exact is None:
        note = ("<p class=\"caption\">This store holds no exhaustive masks for this run (built with "
                "--no-exhaustive), so the exact sections are left out.</p>")
        return [Section("exact", "Beyond the study: exact answers from all masks", body=note)]
    return [
        Section("exact-densities", f"Exact vs sampled: the densities of F2–F4 over all {2 ** data.hidden:,} masks",
                captions_exact.exact_densities(data, exact, width),
                figures_exact.exact_densities(data, exact, width)),
        Section("exact-means", "Exact vs sampled: expected loss and log loss at every p",
                captions_exact.expectation_curves(data, exact),
                figures_exact.expectation_curves(data, exact),
                after="<h3>T3 Sampled vs exact, per keep probability</h3>" + tables.sampled_vs_exact(exact)),
        Section("importance", "Which neurons matter: Shapley and Banzhaf values against cheap scores",
                captions_exact.importance(exact), figures_importance.importance_figure(exact)),
        Section("gradient-vs-knockout", "The mask gradient against the true effect of a flip",
                captions_exact.gradient_vs_knockout(exact), figures_importance.gradient_vs_knockout(exact)),
        Section("sizes", "How small can the network get? Loss against the number of nodes kept",
                captions_exact.sizes(data, exact), figures_subnetworks.size_figure(data, exact)),
        Section("complements", "Complements and the balance conjecture",
                captions_exact.complements(data, exact, half),
                figures_subnetworks.complement_figure(data, exact, half)),
        Section("replication", "Replication: which findings hold for every network",
                captions_exact.replication_caption(exact.replication),
                after=replication.replication_table(exact.replication)),
    ]


def snapshots(data: ReportData, width: float, folder: Path, exact: ExactData | None = None) -> list[Path]:
    """The headline figures as PNG, for the README and for readers without a browser."""
    wanted = [
        ("f1_network_output.png", "F1 p(outside) of the full network", figures_maps.output_map(data)),
        ("f2_loss_density.png", "F2 Probability density of the loss", figures_densities.loss_densities(data, width)),
        ("f3_log_loss_density.png", "F3 Density of log loss, normal fits dotted", figures_densities.log_loss_densities(data, width)),
        ("f9_flip_path_decay.png", "F9 Covariance of log loss along flip paths", figures_paths.decay_curves(data)),
        ("f10_node_gradients.png", "F10 ∂ pointwise loss / ∂on_i per neuron", figures_maps.node_gradient_maps(data)),
    ]
    if exact is not None:
        wanted += [
            ("importance.png", "Shapley and Banzhaf values beside the cheap scores",
             figures_importance.importance_bars(exact)),
            ("loss_by_size.png", "Loss against the number of nodes kept",
             figures_subnetworks.loss_by_size(data, exact)),
        ]
    return [write_png(chart, title, folder / name) for name, title, chart in wanted]


def build_report(store_dir: Path, out_path: Path, *, run_id=None, kernel_width: float | None = None,
                 write_snapshots: bool = True) -> dict:
    """Write the page (and PNG snapshots beside it); returns what was written, for the run summary."""
    start = time.perf_counter()
    con = open_warehouse(Path(store_dir))
    try:
        wh = Warehouse(con, run_id)
        data = load(wh)
        exact = load_exact(wh, data.hidden)
    finally:
        con.close()
    width = float(kernel_width or data.config.get("kernel_width") or DEFAULT_WIDTH)
    if width <= 0:
        raise ReportError(f"the kernel width must be positive, got {width:g}")
    parts = sections(data, width, exact)
    page = render(
        "Knockout report",
        header(data, width),
        parts,
        scripts=[heatmap.script()],
    )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out_path)  # readers never see half a page
    pngs = snapshots(data, width, out_path.parent, exact) if write_snapshots else []
    return {
        "path": str(out_path),
        "bytes": out_path.stat().st_size,
        "figures": sum(1 for s in parts if s.nav_label != s.anchor),
        "charts": sum(1 for s in parts if s.chart is not None),
        "snapshots": [str(p) for p in pngs],
        "seconds": round(time.perf_counter() - start, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports.build", description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("store"), help="the store folder (default: store)")
    parser.add_argument("--out", type=Path, default=Path("reports/index.html"), help="the page to write (default: reports/index.html)")
    parser.add_argument("--run-id", default=None, help="which run to show (default: the first)")
    parser.add_argument("--kernel-width", type=float, default=None,
                        help=f"Gaussian kernel width of the density curves (default: the run's config, else {DEFAULT_WIDTH})")
    parser.add_argument("--no-snapshots", action="store_true", help="do not write the PNG snapshots")
    args = parser.parse_args(argv)
    try:
        result = build_report(args.store, args.out, run_id=args.run_id, kernel_width=args.kernel_width,
                              write_snapshots=not args.no_snapshots)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {result['path']} ({result['bytes'] / 1e6:.2f} MB, {result['figures']} figures, "
          f"{len(result['snapshots'])} PNG snapshots) in {result['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
