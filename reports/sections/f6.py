"""F6: at the keep probability nearest ½, ∂ln(loss)/∂on_i split by whether node i is off or on."""

from __future__ import annotations

import altair as alt

from reports import density_charts, fmt, theme
from reports.density import density_table
from reports.sections import Section
from reports.vldata import inline

QUERIES = {
    "grads": "select node_on, grad_log from sample_node_grads where run_id = $run and keep_prob = $keep_prob",
    "split": "select * from on_off_split where run_id = $run and keep_prob = $keep_prob order by node_on",
}


def chart(ctx) -> alt.LayerChart:
    grads = ctx.wh.run_frame(QUERIES["grads"], {"keep_prob": ctx.p_half})
    curves = density_charts.on_off(density_table(grads, "grad_log", ["node_on"], ctx.kernel_width))
    lines = (
        alt.Chart(inline(curves))
        .mark_line(strokeWidth=1.6)
        .encode(
            x=alt.X("x:Q", title=theme.GRAD_LOG, scale=alt.Scale(zero=False, nice=False)),
            y=alt.Y("density:Q", title=theme.DENSITY),
            color=density_charts.on_off_colour(),
        )
        .properties(width=theme.WIDE, height=theme.TALL)
    )
    return alt.layer(lines, density_charts.zero_rule())


def side(row: dict, state: str) -> str:
    """The mean gradient of one side (node off or on), or why it does not exist: no sampled mask at
    this p has any node in that state (one mask per p, or a keep probability near 0 or 1)."""
    if row.get("mean_grad_log") is None:
        return f"not defined when {state} (no sampled mask at this p has a node {state})"
    return f"{fmt.signed(row['mean_grad_log'], 3)} when {state}"


def caption(ctx) -> str:
    split = {r["node_on"]: r for r in ctx.wh.run_frame(QUERIES["split"], {"keep_prob": ctx.p_half}).iter_rows(named=True)}
    off, on = split.get(0, {}), split.get(1, {})
    shares = [f"{fmt.pct(row['share_negative'])} of the {state} cases" for row, state in ((off, "off"), (on, "on"))
              if row.get("share_negative") is not None]
    negative = (f"; the gradient is negative, so more of the node would help, in {fmt.join(shares)}" if shares
                else "")
    return (
        f"At p = {fmt.prob(ctx.p_half)}, ∂ln(loss)/∂on_i split by whether node i is off (0: would the network "
        f"gain from 1% of it?) or on (1: from 101%?). Mean {side(off, 'off')} and {side(on, 'on')}{negative}."
    )


def section(ctx) -> Section:
    return Section("f6", f"F6 Is that node on? (p = {fmt.prob(ctx.p_half)})", caption(ctx), chart(ctx))
