"""How small can the network get (loss against the number of nodes kept, the best subnetworks drawn
as F1-style maps), and the complement and balance questions the study left open (F9)."""

from __future__ import annotations

import altair as alt
import polars as pl

from reports import theme
from reports.data import ReportData
from reports.exact_data import ExactData
from reports.figures_maps import _cell_chart, circle
from reports.vldata import inline

CURVES = [
    ("worst_loss", "worst mask", "#d62728"),
    ("median_loss", "median", "#9467bd"),
    ("mean_loss", "mean (exact)", "#333333"),
    ("best_loss", "best mask", "#2ca02c"),
]


def loss_by_size(data: ReportData, exact: ExactData) -> alt.LayerChart:
    """Best, worst, median and mean loss over all masks with k nodes on; log scale."""
    long = pl.concat([
        exact.best.select("k", pl.lit(title).alias("over the masks with k nodes on"), pl.col(column).alias("loss"))
        for column, title, _ in CURVES
    ])
    colour = alt.Color("over the masks with k nodes on:N", sort=[t for _, t, _ in CURVES],
                       scale=alt.Scale(domain=[t for _, t, _ in CURVES], range=[c for _, _, c in CURVES]))
    lines = (
        alt.Chart(inline(long))
        .mark_line(point=alt.OverlayMarkDef(size=22), strokeWidth=1.6)
        .encode(
            x=alt.X("k:Q", title="k, number of nodes on", axis=alt.Axis(tickMinStep=1), scale=alt.Scale(domain=[0, data.hidden])),
            y=alt.Y("loss:Q", title=theme.LOSS, scale=alt.Scale(type="log")),
            color=colour,
            tooltip=["over the masks with k nodes on:N", "k:Q", alt.Tooltip("loss:Q", format=".4f")],
        )
    )
    full = float(data.run["test_loss"])
    rule_data = alt.Chart(inline(pl.DataFrame({"y": [full], "label": [f"full network {full:.3f}"]})))
    rule = rule_data.mark_rule(color=theme.FULL_NETWORK_GREY, strokeDash=[4, 3]).encode(y="y:Q")
    text = rule_data.mark_text(align="left", dx=4, dy=-6, fontSize=11, color=theme.FULL_NETWORK_GREY).encode(
        x=alt.value(4), y="y:Q", text="label:N")
    return alt.layer(lines, rule, text).properties(width=theme.WIDE, height=theme.TALL)


def mask_nodes(mask: int, hidden: int) -> list[int]:
    return [i for i in range(hidden) if (int(mask) >> i) & 1]


def best_maps(data: ReportData, exact: ExactData) -> alt.HConcatChart:
    """The best k-node network's p(outside) over the plane, F1's colours and circle."""
    scale = alt.Scale(scheme="viridis", domain=[0, 1], reverse=True)
    panels = []
    for k in sorted(exact.best_maps["k"].unique().to_list()):
        rows = exact.best_maps.filter(pl.col("k") == k)
        nodes = ", ".join(str(i) for i in mask_nodes(rows["mask"][0], data.hidden))
        cells = _cell_chart(data, "p_outside", "p(outside)", scale, 250,
                            source=inline(rows.select("grid_i", "grid_j", "p_outside"), significant=3),
                            axis=alt.Axis(tickCount=5, labelFontSize=9))
        title = alt.TitleParams(f"best {k} nodes: loss {float(rows['best_loss'][0]):.3f}",
                                subtitle=f"nodes {nodes}", fontSize=12, subtitleFontSize=10)
        panels.append(alt.layer(cells, circle(float(data.run["radius"]))).properties(title=title))
    return alt.hconcat(*panels, spacing=16).resolve_scale(color="shared")


def size_figure(data: ReportData, exact: ExactData) -> alt.TopLevelMixin:
    if exact.best_maps.is_empty():  # a network with fewer than 4 nodes has no map to draw
        return loss_by_size(data, exact)
    return alt.vconcat(loss_by_size(data, exact), best_maps(data, exact), spacing=28)


def informative_sizes(exact: ExactData) -> pl.DataFrame:
    """balance_conjecture per k, without sizes whose imbalance cannot vary: a mask whose only
    cutting node is on is always fully unbalanced (mean imbalance 1), and k = N is one mask."""
    return exact.balance_by_size.filter(
        pl.col("k").is_not_null() & (pl.col("n_masks") >= 3) & (pl.col("mean_imbalance") < 0.999)
        & pl.col("corr_imbalance_log_loss").is_not_nan()
    )


COMPLEMENT = "log loss of a mask vs log loss of its complement"
BALANCE = "imbalance of a mask vs its log loss"


def correlations_by_size(exact: ExactData) -> alt.LayerChart:
    """Per k: corr(log loss of a mask, of its complement) and corr(imbalance, log loss)."""
    comp = exact.complements.filter(
        pl.col("k").is_not_null() & pl.col("corr").is_not_nan() & (pl.col("n_masks") >= 3)
    ).select("k", pl.col("corr"), pl.lit(COMPLEMENT).alias("correlation of"))
    bal = informative_sizes(exact).select(
        "k", pl.col("corr_imbalance_log_loss").alias("corr"), pl.lit(BALANCE).alias("correlation of"))
    long = pl.concat([comp, bal])
    lines = alt.Chart(inline(long)).mark_line(point=True, strokeWidth=1.6).encode(
        x=alt.X("k:Q", title="k, number of nodes on in the mask", axis=alt.Axis(tickMinStep=1),
                scale=alt.Scale(domain=[0, exact.hidden])),
        y=alt.Y("corr:Q", title="correlation among masks with k nodes on", scale=alt.Scale(domain=[-1, 1])),
        color=alt.Color("correlation of:N", scale=alt.Scale(domain=[COMPLEMENT, BALANCE],
                                                           range=[theme.FROM_END_COLOUR, "#4c78a8"]),
                        legend=alt.Legend(orient="bottom", columns=1, labelLimit=400)),
        tooltip=["correlation of:N", "k:Q", alt.Tooltip("corr:Q", format=".3f")],
    )
    zero = alt.Chart(inline(pl.DataFrame({"y": [0.0]}))).mark_rule(color=theme.FULL_NETWORK_GREY).encode(y="y:Q")
    return alt.layer(zero, lines).properties(width=420, height=280)


def balance_scatter(data: ReportData, exact: ExactData, keep_prob: float) -> alt.LayerChart:
    """The study's masks at p = ½: imbalance against log loss relative to masks of the same size."""
    frame = exact.balance_samples.filter(pl.col("keep_prob") == keep_prob).select(
        "imbalance", "log_loss_vs_size", "n_on", "n_cutters_on")
    dots = alt.Chart(inline(frame)).mark_circle(size=14, opacity=0.5, color="#4c78a8").encode(
        x=alt.X("imbalance:Q", title="imbalance of the mask's cutting nodes (0 balanced, 1 one-sided)",
                scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("log_loss_vs_size:Q", title="log loss minus the mean for masks of its size"),
        tooltip=["n_on:Q", "n_cutters_on:Q", alt.Tooltip("imbalance:Q", format=".3f"),
                 alt.Tooltip("log_loss_vs_size:Q", format=".3f")],
    )
    fit = dots.transform_regression("imbalance", "log_loss_vs_size").mark_line(color="#e45756", strokeWidth=2)
    return alt.layer(dots, fit).properties(width=420, height=280)


def complement_figure(data: ReportData, exact: ExactData, keep_prob: float) -> alt.HConcatChart:
    return alt.hconcat(correlations_by_size(exact), balance_scatter(data, exact, keep_prob), spacing=30)

