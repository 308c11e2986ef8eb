"""F10–F11 (and a static F1 for the snapshot): maps over input space of the full network."""

from __future__ import annotations

import altair as alt
import numpy as np
import polars as pl

from reports import theme
from reports.data import ReportData
from reports.vldata import inline

CIRCLE_POINTS = 121
# Gradients are heavy-tailed over the plane: a scale up to this quantile of |∂loss/∂on_i| keeps
# most of each map readable; larger values are drawn at the end colour.
GRAD_SCALE_QUANTILE = 0.99


def _geometry(data: ReportData) -> tuple[float, float, list[float]]:
    """The first grid coordinate, the grid step, and the plotted extent (cell edges)."""
    xs = np.unique(data.grid["x0"].to_numpy())
    step = float(xs[1] - xs[0]) if len(xs) > 1 else 1.0
    return float(xs[0]), step, [float(xs[0] - step / 2), float(xs[-1] + step / 2)]


def _cell_chart(data: ReportData, field: str, title, scale: alt.Scale, size: int, *, axis: alt.Axis | None = None,
                legend: alt.Legend | None = None, source: alt.InlineData | None = None, stride: int = 1) -> alt.Chart:
    """Rectangles centred on the grid points, `stride` grid steps wide (rows: grid_i, grid_j, `field`)."""
    first, step, extent = _geometry(data)
    position = alt.Scale(domain=extent, nice=False, zero=False)
    axis = axis or alt.Axis(tickCount=5)
    # Each cell reaches ~0.6 px into its neighbours: abutting rectangles on a canvas leave pale
    # anti-aliased seams between them, overlapping ones do not (a later cell covers the overlap).
    half = stride / 2 + 0.6 / (size / (extent[1] - extent[0]) * step)
    return (
        (alt.Chart(source) if source is not None else alt.Chart())
        .transform_calculate(
            a0=f"{first} + (datum.grid_i - {half}) * {step}",
            b0=f"{first} + (datum.grid_i + {half}) * {step}",
            a1=f"{first} + (datum.grid_j - {half}) * {step}",
            b1=f"{first} + (datum.grid_j + {half}) * {step}",
        )
        .mark_rect(clip=True)
        .encode(
            x=alt.X("a0:Q", title=theme.X0, scale=position, axis=axis),
            x2="b0:Q",
            y=alt.Y("a1:Q", title=theme.X1, scale=position, axis=axis),
            y2="b1:Q",
            color=alt.Color(f"{field}:Q", title=title, scale=scale, legend=legend or alt.Undefined),
        )
        .properties(width=size, height=size)
    )


def circle(radius: float) -> alt.Chart:
    """The label circle (outside = label 1), drawn as a closed dashed line."""
    t = np.linspace(0, 2 * np.pi, CIRCLE_POINTS)
    frame = pl.DataFrame({"order": np.arange(CIRCLE_POINTS), "cx": radius * np.cos(t), "cy": radius * np.sin(t)})
    return alt.Chart(inline(frame)).mark_line(color="white", strokeWidth=1.5, strokeDash=[4, 2]).encode(
        x="cx:Q", y="cy:Q", order="order:Q"
    )


def output_map(data: ReportData) -> alt.LayerChart:
    """Static F1 for the PNG snapshot: p(outside) of the full network, yellow = inside as in the study."""
    scale = alt.Scale(scheme="viridis", domain=[0, 1], reverse=True)
    source = inline(data.grid.select("grid_i", "grid_j", "p_outside"), significant=3)
    cells = _cell_chart(data, "p_outside", "p(outside)", scale, 420, source=source)
    return alt.layer(cells, circle(float(data.run["radius"])))


def pointwise_loss_map(data: ReportData) -> alt.LayerChart:
    """F11: the loss of the full network at each point of the plane."""
    source = inline(data.grid.select("grid_i", "grid_j", "loss"), significant=3)
    cells = _cell_chart(data, "loss", "pointwise loss", alt.Scale(scheme="viridis"), 420, source=source)
    return alt.layer(cells, circle(float(data.run["radius"])))


def grad_scale_limit(data: ReportData) -> float:
    values = np.abs(data.node_grad_maps["node_grad"].to_numpy())
    limit = float(np.quantile(values, GRAD_SCALE_QUANTILE)) or 1.0
    # Rounded up to two significant digits so the legend's end labels are short.
    digits = 1 - int(np.floor(np.log10(limit)))
    return float(np.ceil(limit * 10**digits) / 10**digits)


def node_gradient_maps(data: ReportData) -> alt.FacetChart:
    """F10: per node, ∂ pointwise loss / ∂on_i over the plane, one shared colour scale centred at 0."""
    limit = grad_scale_limit(data)
    scale = alt.Scale(scheme="blueorange", domain=[-limit, limit], domainMid=0, clamp=True)
    axis = alt.Axis(tickCount=5, labelFontSize=9)
    maps = data.node_grad_maps
    # Subsampled maps keep every stride-th grid point; the cells are stride grid steps wide.
    stride = int(np.unique(maps["grid_i"].to_numpy())[1]) if maps["grid_i"].n_unique() > 1 else 1
    cells = _cell_chart(data, "node_grad", ["∂ pointwise loss", "/ ∂on_i"], scale, theme.SMALL, axis=axis,
                        legend=alt.Legend(format=".2~f", gradientLength=220), stride=stride)
    radius = float(data.run["radius"])
    # The circle is drawn from each facet's own rows (a facet's layers share its data): the cells
    # of the bottom grid row, spread around the circle by their column index.
    last = int(maps["grid_i"].max())
    circle_layer = (
        alt.Chart()
        .transform_filter("datum.grid_j == 0")
        .transform_calculate(
            cx=f"{radius} * cos(2 * PI * datum.grid_i / {last})",
            cy=f"{radius} * sin(2 * PI * datum.grid_i / {last})",
        )
        .mark_line(color="#333", strokeWidth=0.8, strokeDash=[3, 2])
        .encode(x="cx:Q", y="cy:Q", order="grid_i:Q")
    )
    source = inline(maps.select("node", "grid_i", "grid_j", "node_grad"), significant=3)
    return (
        alt.layer(cells, circle_layer, data=source)
        .facet(facet=alt.Facet("node:O", title=None, header=alt.Header(labelExpr="'node ' + datum.value")),
               columns=theme.facet_columns(data.hidden))
    )
