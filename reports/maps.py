"""The pieces of every map over the input plane (F1's snapshot, F10, F11, the best subnetworks):
cells centred on the input grid's points, and over them the data's true boundary (the dashed label
circle, or xor's axes) or, for data without one, the test points coloured by label (`overlay`)."""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import numpy as np
import polars as pl

from reports import dataset, theme
from reports.vldata import inline

CIRCLE_POINTS = 121


@dataclass(frozen=True)
class Grid:
    """The input grid's first coordinate, its step and the plotted extent (cell edges)."""
    first: float
    step: float
    extent: tuple[float, float]
    side: int


def grid_of(ctx) -> Grid:
    xs = ctx.wh.run_frame("select distinct x0 from input_grid where run_id = $run order by x0")["x0"].to_numpy()
    step = float(xs[1] - xs[0]) if len(xs) > 1 else 1.0
    return Grid(float(xs[0]), step, (float(xs[0] - step / 2), float(xs[-1] + step / 2)), len(xs))


def cell_chart(grid: Grid, field: str, title, scale: alt.Scale, size: int, *, axis: alt.Axis | None = None,
               legend: alt.Legend | None = None, source: alt.InlineData | None = None, stride: int = 1) -> alt.Chart:
    """Rectangles centred on the grid points, `stride` grid steps wide (rows: grid_i, grid_j, `field`)."""
    position = alt.Scale(domain=list(grid.extent), nice=False, zero=False)
    axis = axis or alt.Axis(tickCount=5)
    # Each cell reaches ~0.6 px into its neighbours: abutting rectangles on a canvas leave pale
    # anti-aliased seams between them, overlapping ones do not (a later cell covers the overlap).
    half = stride / 2 + 0.6 / (size / (grid.extent[1] - grid.extent[0]) * grid.step)
    first, step = grid.first, grid.step
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


def p_outside_scale() -> alt.Scale:
    """F1's colours: yellow = sure the point is inside, navy = sure it is outside, as in the study."""
    return alt.Scale(scheme="viridis", domain=[0, 1], reverse=True)


TEST_POINTS = "select x0, x1, label from points where run_id = $run and split = 'test' order by point_id"
LABEL_FILL = {1: "black", 0: "white"}  # the test points' colours, outlined in the other


def axes(extent: tuple[float, float], colour: str = "white") -> alt.Chart:
    """xor's label boundary, the lines x0 = 0 and x1 = 0, dashed across the plotted extent."""
    lo, hi = extent
    frame = pl.DataFrame({"a0": [lo, 0.0], "b0": [hi, 0.0], "a1": [0.0, lo], "b1": [0.0, hi]})
    return alt.Chart(inline(frame)).mark_rule(color=colour, strokeWidth=1.5, strokeDash=[4, 2]).encode(
        x="a0:Q", x2="b0:Q", y="a1:Q", y2="b1:Q")


def test_points(ctx, size: float = 14) -> alt.LayerChart:
    """The test points, black label 1 and white label 0 (for data without a boundary line)."""
    frame = ctx.wh.run_frame(TEST_POINTS)
    layers = []
    for label, fill in LABEL_FILL.items():
        rows = frame.filter(pl.col("label") == label).select("x0", "x1")
        layers.append(alt.Chart(inline(rows, significant=4)).mark_point(
            filled=True, size=size, fill=fill, stroke=LABEL_FILL[1 - label], strokeWidth=0.8 if label else 0.4,
            opacity=0.9, clip=True).encode(x="x0:Q", y="x1:Q"))
    return alt.layer(*layers)


def overlay(ctx, grid: Grid, size: float = 14) -> alt.Chart | alt.LayerChart:
    """What a map draws over its cells: the true boundary, or the labelled test points."""
    b = dataset.boundary(ctx)
    if b is None:
        return test_points(ctx, size)
    if b["kind"] == "axes":
        return axes(grid.extent)
    return circle(b["radius"])
