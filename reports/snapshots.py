"""PNG snapshots of the headline figures for the README and for readers without a browser (rendered by
vl-convert, no browser); opt-in with `python -m reports.build --snapshots`, as they take seconds."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import vl_convert as vlc

from reports import theme
from reports.sections import f1, f2, f3, f9, f10, importance, sizes

SCALE = 2  # device pixels per CSS pixel: sharp on high-density screens and in a README


def wanted(ctx) -> list[tuple[str, str, object]]:
    """(file name, title, the function drawing the chart) for each snapshot."""
    study = [
        ("f1_network_output.png", "F1 p(outside) of the full network", f1.snapshot_chart),
        ("f2_loss_density.png", "F2 Probability density of the loss", f2.chart),
        ("f3_log_loss_density.png", "F3 Density of log loss, normal fits dotted", f3.chart),
        ("f9_flip_path_decay.png", "F9 Covariance of log loss along flip paths", f9.chart),
        ("f10_node_gradients.png", "F10 ∂ pointwise loss / ∂on_i per neuron", f10.chart),
    ]
    beyond = [
        ("importance.png", "Shapley and Banzhaf values beside the cheap scores", importance.snapshot_chart),
        ("loss_by_size.png", "Loss against the number of nodes kept", sizes.snapshot_chart),
    ]
    return study + (beyond if ctx.has_exhaustive else [])


def write_png(chart: alt.TopLevelMixin, title: str, path: Path) -> Path:
    png = vlc.vegalite_to_png(theme.spec(chart.properties(title=title)), scale=SCALE)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(png)
    tmp.replace(path)
    return path


def write_snapshots(ctx, folder: Path) -> list[Path]:
    return [write_png(draw(ctx), title, Path(folder) / name) for name, title, draw in wanted(ctx)]
