"""How small can the network get: loss against the number of nodes kept (best_subnetworks), and the
best subnetworks of the map sizes (map_sizes) drawn over the plane as in F1 (best_subnetwork_maps)."""

from __future__ import annotations

import altair as alt
import polars as pl

from reports import dataset, fmt, maps, theme
from reports.sections import Section
from reports.vldata import inline

CURVES = [
    ("worst_loss", "worst mask", "#d62728"),
    ("median_loss", "median", "#9467bd"),
    ("mean_loss", "mean (exact)", "#333333"),
    ("best_loss", "best mask", "#2ca02c"),
]
MAP_SIZE = 220  # three maps and their legend fit a 1024 px window
# Knockout's yardstick: a node whose removal costs less than this share of the loss is all but free.
NEARLY_FREE = 0.05

QUERIES = {
    "best": "select * from best_subnetworks where run_id = $run order by k",
    "maps": """
        select k, mask, best_loss, grid_i, grid_j, p_outside from best_subnetwork_maps
        where run_id = $run order by k, grid_j, grid_i
    """,
    "at_map_sizes": """
        select b.* from best_subnetworks as b join map_sizes as m using (run_id, k)
        where b.run_id = $run order by b.k
    """,
    "summary": "select * from size_summary where run_id = $run",
}


def loss_by_size(ctx) -> alt.LayerChart:
    """Best, worst, median and mean loss over all masks with k nodes on; log scale."""
    best = ctx.wh.run_frame(QUERIES["best"])
    long = pl.concat([
        best.select("k", pl.lit(title).alias("over the masks with k nodes on"), pl.col(column).alias("loss"))
        for column, title, _ in CURVES
    ])
    colour = alt.Color("over the masks with k nodes on:N", sort=[t for _, t, _ in CURVES],
                       scale=alt.Scale(domain=[t for _, t, _ in CURVES], range=[c for _, _, c in CURVES]))
    lines = (
        alt.Chart(inline(long))
        .mark_line(point=alt.OverlayMarkDef(size=22), strokeWidth=1.6)
        .encode(
            x=alt.X("k:Q", title="k, number of nodes on", axis=alt.Axis(tickMinStep=1),
                    scale=alt.Scale(domain=[0, ctx.hidden])),
            y=alt.Y("loss:Q", title=theme.LOSS, scale=alt.Scale(type="log")),
            color=colour,
            tooltip=["over the masks with k nodes on:N", "k:Q", alt.Tooltip("loss:Q", format=".4f")],
        )
    )
    full = float(ctx.run["test_loss"])
    rule_data = alt.Chart(inline(pl.DataFrame({"y": [full], "label": [f"full network {full:.3f}"]})))
    rule = rule_data.mark_rule(color=theme.FULL_NETWORK_GREY, strokeDash=[4, 3]).encode(y="y:Q")
    text = rule_data.mark_text(align="left", dx=4, dy=-6, fontSize=11, color=theme.FULL_NETWORK_GREY).encode(
        x=alt.value(4), y="y:Q", text="label:N")
    return alt.layer(lines, rule, text).properties(width=theme.WIDE, height=theme.TALL)


def best_maps(ctx) -> alt.HConcatChart:
    """The best k-node network's p(outside) over the plane, in F1's colours with F1's overlay."""
    frame = ctx.wh.run_frame(QUERIES["maps"])
    grid = maps.grid_of(ctx)
    panels = []
    for k in frame["k"].unique(maintain_order=True).to_list():
        rows = frame.filter(pl.col("k") == k)
        cells = maps.cell_chart(grid, "p_outside", dataset.p_title(ctx), maps.p_outside_scale(), MAP_SIZE,
                                source=inline(rows.select("grid_i", "grid_j", "p_outside"), significant=3),
                                axis=alt.Axis(tickCount=5, labelFontSize=9))
        title = alt.TitleParams(f"best {k} nodes: loss {float(rows['best_loss'][0]):.3f}",
                                subtitle=f"nodes on: {', '.join(map(str, fmt.nodes(rows['mask'][0], ctx.hidden)))}",
                                fontSize=12, subtitleFontSize=10)
        panels.append(alt.layer(cells, maps.overlay(ctx, grid, size=4)).properties(title=title))
    return alt.hconcat(*panels, spacing=14).resolve_scale(color="shared")


def chart(ctx) -> alt.TopLevelMixin:
    if ctx.wh.run_frame(QUERIES["maps"]).is_empty():  # a network too small for any map size
        return loss_by_size(ctx)
    return alt.vconcat(loss_by_size(ctx), best_maps(ctx), spacing=28)


def caption(ctx) -> str:
    s = ctx.wh.run_row(QUERIES["summary"])
    at_sizes = ctx.wh.run_frame(QUERIES["at_map_sizes"])
    n, full = ctx.hidden, s["full_loss"]
    parts = [f"{r['k']} nodes {fmt.fixed(r['best_loss'])} (median {fmt.fixed(r['median_loss'])}, "
             f"{fmt.plural(r['n_within_10pct'], 'mask')} within 10% of the best)" for r in at_sizes.iter_rows(named=True)]
    change, off = s["one_less_change"], s["one_less_node_off"]
    if change is None:
        near = ""
    elif change > NEARLY_FREE:
        near = (f" Even the best {n - 1}-node network ({ctx.named(off)} off) loses {fmt.pct(change)} more than the full "
                f"network's {fmt.fixed(full)}: no neuron is free to remove (under {fmt.pct(NEARLY_FREE)} more loss).")
    elif change >= 0:
        near = (f" The best {n - 1}-node network ({ctx.named(off)} off) loses {fmt.pct(change, 1, sign=True)} against the "
                f"full network's {fmt.fixed(full)}: that neuron is all but free to remove.")
    else:
        near = (f" The best {n - 1}-node network ({ctx.named(off)} off) loses {fmt.pct(-change, 1)} less than the full "
                f"network's {fmt.fixed(full)}: removing {ctx.named(off)} helps.")
    rises = s["rising_sizes"] or []
    rise_text = (f" The best loss is not monotone in k: it rises at k = {fmt.join(rises)}." if rises
                 else " The best loss falls with every node added.")
    maps_text = ""
    if at_sizes.height and not ctx.one_layer:
        nodes = "; ".join(f"{r['k']}: {', '.join(ctx.unit_label(i) for i in fmt.nodes(r['best_mask'], n))}"
                          for r in at_sizes.iter_rows(named=True))
        maps_text = (f" Maps of the best subnetworks are drawn for one hidden layer only (from the stored per-unit "
                     f"contributions, which a deeper network does not have); they keep the units {nodes}.")
    elif at_sizes.height:
        sizes = fmt.join(f"{k}-" for k in at_sizes["k"]) + "node"
        nodes = "; ".join(f"{r['k']}: nodes {', '.join(map(str, fmt.nodes(r['best_mask'], n)))}"
                          for r in at_sizes.iter_rows(named=True))
        maps_text = (f" Below, the best {sizes} networks over the plane, coloured as F1 ({dataset.p_title(ctx)}; "
                     f"{dataset.overlay_words(ctx)}) — {nodes}.")
    best_text = f" Best subnetworks: {fmt.join(parts)}." if parts else ""
    return (f"Over all masks with k nodes on: the lowest, median, mean and highest test loss (log scale)."
            f"{best_text}{near}{rise_text}{maps_text}")


def snapshot_chart(ctx) -> alt.LayerChart:
    return loss_by_size(ctx)


def section(ctx) -> Section | None:
    if not ctx.has_exhaustive:
        return None
    return Section("sizes", "How small can the network get? Loss against the number of nodes kept", caption(ctx),
                   chart(ctx), nav="sizes")
