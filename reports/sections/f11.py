"""F11: the full network's pointwise loss over the input plane."""

from __future__ import annotations

import altair as alt

from reports import dataset, fmt, maps
from reports.sections import Section, missing
from reports.vldata import inline

QUERIES = {
    "grid": "select grid_i, grid_j, loss from input_grid where run_id = $run",
    "boundary": "select * from boundary_loss where run_id = $run",
}


def chart(ctx) -> alt.LayerChart:
    source = inline(ctx.wh.run_frame(QUERIES["grid"]), significant=3)
    grid = maps.grid_of(ctx)
    cells = maps.cell_chart(grid, "loss", "pointwise loss", alt.Scale(scheme="viridis"), 420, source=source)
    return alt.layer(cells, maps.overlay(ctx, grid))


def caption(ctx) -> str:
    b = ctx.wh.run_row(QUERIES["boundary"])
    intro = f"Loss of the full network at each point of the plane; {dataset.overlay_words(ctx)}."
    if dataset.boundary(ctx) is None:
        return (f"{intro} A point of the plane is labelled as its nearest test point, since this data has no "
                f"label rule of its own.")
    if not b:  # a coarse grid over a wide extent can miss [-1, 1]² altogether
        return (f"{intro} No point of this run's input grid lies inside the training square, so where in the "
                f"square the loss lies is not defined here (a larger --grid-size puts points inside it).")
    if missing(b["share_loss_in_band"]):
        return (f"{intro} Inside the training square the network's pointwise loss sums to zero at the grid's "
                f"points, so the share of it near the boundary is not defined.")
    return (
        f"{intro} Inside the "
        f"training square, {fmt.pct(b['share_loss_in_band'])} of the summed pointwise loss lies within "
        f"{b['band_width']:g} of {dataset.boundary_noun(ctx)}, a band covering {fmt.pct(b['share_area_in_band'])} of the square: "
        f"the network is unsure only near the boundary."
    )


def section(ctx) -> Section:
    return Section("f11", "F11 Pointwise loss over the plane", caption(ctx), chart(ctx))
