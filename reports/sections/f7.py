"""F7: the split of F6 for each neuron separately, one small multiple each with its own axes."""

from __future__ import annotations

import altair as alt

from reports import density_charts, fmt, theme
from reports.density import density_table
from reports.sections import Section
from reports.vldata import inline

QUERIES = {
    "grads": "select node, node_on, grad_log from sample_node_grads where run_id = $run and keep_prob = $keep_prob",
    "spread": """
        select node, std_grad_log, widest_rank, narrowest_rank from node_spread
        where run_id = $run and keep_prob = $keep_prob and (widest_rank = 1 or narrowest_rank = 1)
    """,
}


def chart(ctx) -> alt.FacetChart:
    grads = ctx.wh.run_frame(QUERIES["grads"], {"keep_prob": ctx.p_half})
    curves = density_charts.on_off(density_table(grads, "grad_log", ["node", "node_on"], ctx.kernel_width))
    return (
        alt.Chart(inline(curves.drop("node_on"), significant=4))
        .mark_line(strokeWidth=1.2)
        .encode(
            x=alt.X("x:Q", title=None, scale=alt.Scale(zero=False, nice=False), axis=alt.Axis(tickCount=4, labelFontSize=9)),
            # A fixed label gutter keeps the panels aligned whatever their y ranges.
            y=alt.Y("density:Q", title=None, axis=alt.Axis(tickCount=4, labelFontSize=9, minExtent=26, maxExtent=26)),
            color=density_charts.on_off_colour(orient="top"),
        )
        .properties(width=theme.SMALL, height=90)
        .facet(facet=alt.Facet("node:O", title=None, header=alt.Header(labelExpr=ctx.facet_label())),
               columns=theme.facet_columns(ctx.hidden))
        .resolve_scale(x="independent", y="independent")
        # One axis title for all panels instead of one per panel.
        .properties(title=alt.TitleParams(
            f"each panel: x = {theme.GRAD_LOG}, y = {theme.DENSITY}", fontSize=12, fontWeight="normal", color="#444",
        ))
    )


def caption(ctx) -> str:
    spread = ctx.wh.run_frame(QUERIES["spread"], {"keep_prob": ctx.p_half})
    wide = spread.filter(spread["widest_rank"] == 1).row(0, named=True)
    calm = spread.filter(spread["narrowest_rank"] == 1).row(0, named=True)
    if wide["std_grad_log"] is None:  # a sample standard deviation needs two masks
        spreads = (f"which neuron spreads most is not defined: only one mask was sampled at p = "
                   f"{fmt.prob(ctx.p_half)}, and a standard deviation needs two")
    elif wide["std_grad_log"] == calm["std_grad_log"]:
        spreads = f"every neuron spreads alike (standard deviation {fmt.fixed(wide['std_grad_log'])})"
    else:
        spreads = (f"{ctx.named(wide['node'])} has the widest spread (standard deviation "
                   f"{fmt.fixed(wide['std_grad_log'])}), {ctx.named(calm['node'])} the narrowest "
                   f"({fmt.fixed(calm['std_grad_log'])})")
    return (
        f"One panel per neuron: the density of ∂ln(loss)/∂on_i at p = {fmt.prob(ctx.p_half)} over the masks with "
        f"that neuron off and over those with it on, the split of F6 neuron by neuron. Each panel has its own "
        f"axes, so read the axes before comparing shapes: {spreads}. The kernel width is the same in every "
        f"panel, so a narrow neuron's curve looks smoother than a wide one's."
    )


def section(ctx) -> Section:
    return Section("f7", "F7 Is that node on? Per neuron", caption(ctx), chart(ctx))
