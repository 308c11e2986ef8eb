"""Which neurons matter: exact Shapley and Banzhaf values beside the cheap scores, their rank
agreement, and the mask gradient against the true effect of a flip."""

from __future__ import annotations

import altair as alt
import polars as pl

from reports.exact_data import ExactData
from reports.vldata import inline

# (column of importance_scores, panel title, sign that turns it into "loss change from switching
# the node on": the single-knockout effect is measured the other way round)
# Panel titles: "|" starts a new line of the header.
SCORES = [
    ("shapley", "Shapley value|(exact)", 1),
    ("banzhaf", "Banzhaf value|(exact)", 1),
    ("mean_grad_exact", "mean ∂loss/∂on_i|over all masks", 1),
    ("mean_grad_sampled", "mean ∂loss/∂on_i|over the study's masks", 1),
    ("grad_full", "∂loss/∂on_i of the|full network", 1),
    ("knockout_effect", "single knockout|(switched on last)", -1),
]
SHORT = {
    "shapley": "Shapley",
    "banzhaf": "Banzhaf",
    "mean_grad_exact": "mean gradient, all masks",
    "mean_grad_sampled": "mean gradient, study's masks",
    "grad_full": "gradient, full network",
    "knockout_effect": "single knockout",
}
HELPS = "lowers the loss"
HURTS = "raises the loss"
SIGN_COLOURS = alt.Scale(domain=[HELPS, HURTS], range=["#3b6fb6", "#e08a2c"])


def node_order(exact: ExactData) -> list[int]:
    """Nodes from the most helpful (most negative Shapley value) to the most harmful."""
    return exact.importance.sort("shapley", "node")["node"].to_list()


def importance_bars(exact: ExactData) -> alt.FacetChart:
    """One panel per score, every score as the loss change from switching the node on."""
    long = pl.concat([
        exact.importance.select(
            "node",
            pl.lit(title).alias("score"),
            (sign * pl.col(column)).alias("value"),
        )
        for column, title, sign in SCORES
    ]).drop_nulls("value").with_columns(
        pl.when(pl.col("value") < 0).then(pl.lit(HELPS)).otherwise(pl.lit(HURTS)).alias("switching the node on")
    )
    order = node_order(exact)
    return (
        alt.Chart(inline(long))
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title=None, axis=alt.Axis(tickCount=3, format="~g")),
            y=alt.Y("node:O", sort=order, title="node (most helpful by Shapley value first)"),
            color=alt.Color("switching the node on:N", scale=SIGN_COLOURS, legend=alt.Legend(orient="bottom")),
            tooltip=["score:N", "node:O", alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(width=118, height=max(120, 14 * exact.hidden))
        .facet(column=alt.Column("score:N", sort=[t for _, t, _ in SCORES], title=None,
                                 header=alt.Header(labelFontSize=10, labelExpr="split(datum.value, '|')")),
                spacing=10)
        .resolve_scale(x="independent")
        .properties(title=alt.TitleParams("change in test loss from switching the node on (negative = the node helps)",
                                          fontSize=12, fontWeight="normal", color="#444"))
    )


def rank_corr_matrix(exact: ExactData) -> alt.LayerChart:
    """Spearman rank correlation of every pair of scores (lower triangle)."""
    order = [SHORT[c] for c, _, _ in SCORES]
    frame = exact.rank_corr.select(
        pl.col("score_a").replace_strict(SHORT).alias("a"),
        pl.col("score_b").replace_strict(SHORT).alias("b"),
        "spearman",
    )
    base = alt.Chart(inline(frame)).encode(
        x=alt.X("a:N", sort=order[:-1], title=None, axis=alt.Axis(labelAngle=-30, labelLimit=170)),
        y=alt.Y("b:N", sort=order[1:], title=None, axis=alt.Axis(labelLimit=170)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("spearman:Q", title="Spearman ρ", scale=alt.Scale(scheme="blueorange", domain=[-1, 1], reverse=True)),
        tooltip=["a:N", "b:N", alt.Tooltip("spearman:Q", format=".3f")],
    )
    text = base.mark_text(fontSize=12).encode(
        text=alt.Text("spearman:Q", format=".2f"),
        color=alt.condition("abs(datum.spearman) > 0.7", alt.value("white"), alt.value("#222")),
    )
    return alt.layer(cells, text).properties(width=330, height=250)


def _scatter_panel(frame: pl.DataFrame, grad: str, title: str, bound: str) -> alt.LayerChart:
    points = frame.select(
        pl.col(grad).alias("gradient"),
        "effect",
        "node",
        pl.when((pl.col(grad) > 0) == (pl.col("effect") > 0))
        .then(pl.lit("same sign")).otherwise(pl.lit("opposite sign")).alias("gradient vs effect"),
    )
    lo = float(min(points["gradient"].min(), points["effect"].min()))
    hi = float(max(points["gradient"].max(), points["effect"].max()))
    scale = alt.Scale(domain=[lo, hi], nice=False)
    dots = alt.Chart(inline(points, significant=4)).mark_circle(size=9, opacity=0.45).encode(
        x=alt.X("gradient:Q", title=title, scale=scale),
        y=alt.Y("effect:Q", title="true effect: loss(node on) − loss(node off)", scale=scale),
        color=alt.Color("gradient vs effect:N", scale=alt.Scale(domain=["same sign", "opposite sign"],
                                                                range=["#4c78a8", "#e45756"]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=["node:O", alt.Tooltip("gradient:Q", format=".4f"), alt.Tooltip("effect:Q", format=".4f")],
    )
    diagonal = alt.Chart(inline(pl.DataFrame({"v": [lo, hi]}))).mark_line(
        color="#333", strokeDash=[4, 3], strokeWidth=1).encode(x="v:Q", y="v:Q")
    label = alt.Chart(inline(pl.DataFrame({"v": [lo], "text": [bound]}))).mark_text(
        align="left", baseline="top", dx=4, dy=4, fontSize=11, color="#333").encode(
        x=alt.value(0), y=alt.value(0), text="text:N")
    return alt.layer(dots, diagonal, label).properties(width=330, height=330)


def flip_scatter(exact: ExactData) -> alt.HConcatChart:
    """Each (mask, node) pair: the true effect of switching the node on against the mask gradient
    at the off end (a lower bound, by convexity) and at the on end (an upper bound)."""
    frame = exact.flip_samples
    return alt.hconcat(
        _scatter_panel(frame, "grad_off", "∂loss/∂on_i with the node off", "effect ≥ gradient: above the line"),
        _scatter_panel(frame, "grad_on", "∂loss/∂on_i with the node on", "effect ≤ gradient: below the line"),
        spacing=30,
    ).resolve_scale(color="shared")


SHARES = [
    ("share_lower_tight", "off-end gradient within 10% of the effect"),
    ("share_upper_tight", "on-end gradient within 10% of the effect"),
    ("share_misled", "on-end gradient has the wrong sign"),
]


def flip_shares(exact: ExactData, order: list[int]) -> alt.Chart:
    """Per node, over all 2^(N−1) pairs: how often each bound is tight and how often the sign misleads."""
    long = pl.concat([
        exact.flip_effects.select("node", pl.lit(title).alias("share of pairs"), pl.col(column).alias("share"))
        for column, title in SHARES
    ])
    return (
        alt.Chart(inline(long))
        .mark_bar()
        .encode(
            x=alt.X("node:O", sort=order, title="node (most helpful by Shapley value first)", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("share of pairs:N", sort=[t for _, t in SHARES]),
            y=alt.Y("share:Q", title="share of (mask, node) pairs", axis=alt.Axis(format="%")),
            color=alt.Color("share of pairs:N", sort=[t for _, t in SHARES], title=None,
                            scale=alt.Scale(range=["#72b7b2", "#54a24b", "#e45756"]),
                            legend=alt.Legend(orient="bottom", columns=1, labelLimit=400)),
            tooltip=["node:O", "share of pairs:N", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(width=max(300, 40 * exact.hidden), height=200)
    )


def gradient_vs_knockout(exact: ExactData) -> alt.VConcatChart:
    return alt.vconcat(flip_scatter(exact), flip_shares(exact, node_order(exact)), spacing=24).resolve_scale(
        color="independent")


def importance_figure(exact: ExactData) -> alt.VConcatChart:
    return alt.vconcat(importance_bars(exact), rank_corr_matrix(exact), spacing=24).resolve_scale(
        color="independent")
