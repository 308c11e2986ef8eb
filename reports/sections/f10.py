"""F10: for each neuron of the full network, ∂(pointwise loss)/∂on_i over the input plane."""

from __future__ import annotations

import math

import altair as alt

from reports import dataset, fmt, maps, theme
from reports.sections import Section
from reports.vldata import inline

# N small maps: more grid points a side than this add bytes, not information.
MAX_SMALL_MAP_SIDE = 41
# Gradients are heavy-tailed over the plane: a colour scale up to this quantile of |∂loss/∂on_i|
# keeps most of each map readable; larger values are drawn at the end colour.
GRAD_SCALE_QUANTILE = 0.99

QUERIES = {
    "maps": """
        select node, grid_i, grid_j, node_grad from grid_node_grads
        where run_id = $run and grid_i % $stride = 0 and grid_j % $stride = 0
    """,
    "limit": """
        select quantile_cont(abs(node_grad), $quantile) as limit from grid_node_grads
        where run_id = $run and grid_i % $stride = 0 and grid_j % $stride = 0
    """,
    "bias_like": "select node from node_directions where run_id = $run and bias_like order by node",
}


def stride(grid: maps.Grid) -> int:
    """Every stride-th grid point a side, so a small map has at most MAX_SMALL_MAP_SIDE a side."""
    return max(1, math.ceil((grid.side - 1) / (MAX_SMALL_MAP_SIDE - 1)))


def scale_limit(ctx, step: int) -> float:
    """The colour scale's end, rounded up to two significant digits so the legend's labels are short."""
    limit = ctx.wh.run_row(QUERIES["limit"], {"quantile": GRAD_SCALE_QUANTILE, "stride": step})["limit"] or 1.0
    digits = 1 - math.floor(math.log10(limit))
    return math.ceil(limit * 10**digits) / 10**digits


def chart(ctx) -> alt.FacetChart:
    grid = maps.grid_of(ctx)
    step = stride(grid)
    limit = scale_limit(ctx, step)
    scale = alt.Scale(scheme="blueorange", domain=[-limit, limit], domainMid=0, clamp=True)
    cells = maps.cell_chart(grid, "node_grad", ["∂ pointwise loss", "/ ∂on_i"], scale, theme.SMALL,
                            axis=alt.Axis(tickCount=5, labelFontSize=9),
                            legend=alt.Legend(format=".2~f", gradientLength=220), stride=step)
    source = inline(ctx.wh.run_frame(QUERIES["maps"], {"stride": step}), significant=3)
    return (
        alt.layer(cells, *boundary_layers(ctx, grid, step), data=source)
        .facet(facet=alt.Facet("node:O", title=None, header=alt.Header(labelExpr=ctx.facet_label())),
               columns=theme.facet_columns(ctx.hidden))
    )


def boundary_layers(ctx, grid: maps.Grid, step: int) -> list[alt.Chart]:
    """The true boundary, drawn from each facet's own rows (a facet's layers share its data); none
    for data without one (the test points would hide these small maps)."""
    b = dataset.boundary(ctx)
    line = {"color": "#333", "strokeWidth": 0.8, "strokeDash": [3, 2]}
    if b is None:
        return []
    if b["kind"] == "axes":  # two rules through 0, from one row of each facet
        one = alt.Chart().transform_filter("datum.grid_i == 0 && datum.grid_j == 0")
        return [one.mark_rule(**line).encode(x=alt.datum(0.0)), one.mark_rule(**line).encode(y=alt.datum(0.0))]
    # the circle: the cells of the bottom grid row, spread around it by their column index
    radius = b["radius"]
    last = (grid.side - 1) // step * step
    return [
        alt.Chart()
        .transform_filter("datum.grid_j == 0")
        .transform_calculate(
            cx=f"{radius} * cos(2 * PI * datum.grid_i / {last})",
            cy=f"{radius} * sin(2 * PI * datum.grid_i / {last})",
        )
        .mark_line(**line)
        .encode(x="cx:Q", y="cy:Q", order="grid_i:Q")
    ]


def inside_outside(ctx) -> str:
    return " (one colour inside the circle, the other just outside it)" if dataset.is_study(ctx) else ""


def caption(ctx) -> str:
    grid = maps.grid_of(ctx)
    step = stride(grid)
    biases = ctx.wh.run_frame(QUERIES["bias_like"])["node"].to_list()
    bias_text = (
        "Whether a unit is active over the whole training square (bias-like) is a one-layer notion, not "
        "defined for this network; units are labelled layer·unit (L1·0 is layer 1's unit 0)." if not ctx.one_layer else
        f"{'Nodes' if len(biases) > 1 else 'Node'} {fmt.join(biases)} {'are' if len(biases) > 1 else 'is'} active "
        f"over the whole training square and act{'' if len(biases) > 1 else 's'} as "
        f"{'biases' if len(biases) > 1 else 'a bias'}{inside_outside(ctx)}; the rest are zero on part of the square and slice an edge off it." if biases
        else "No node is active over the whole training square; each slices off part of it."
    )
    side = (grid.side - 1) // step + 1
    sampling = f" Drawn on a {side}×{side} subsample of the {grid.side}×{grid.side} grid." if step > 1 else ""
    overlay = f" The dashed {'circle is' if (dataset.boundary(ctx) or {}).get('kind') == 'circle' else 'lines are'} " \
        f"the label boundary." if dataset.boundary(ctx) else ""
    return (
        f"For each node i of the full network, ∂(pointwise loss)/∂on_i over the plane: blue where more of node i "
        f"lowers the loss at that point, orange where it raises it; one colour scale for all panels, centred at 0 "
        f"and clipped at ±{scale_limit(ctx, step):.2g} ({100 * GRAD_SCALE_QUANTILE:.0f}th percentile of |value|). "
        f"{bias_text}{overlay}{sampling}"
    )


def section(ctx) -> Section:
    return Section("f10", "F10 Gradient of the pointwise loss for each neuron", caption(ctx), chart(ctx))
