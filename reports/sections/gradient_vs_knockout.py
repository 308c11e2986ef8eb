"""The mask gradient against the true effect of a flip: the pairs through the sampled masks at the p
nearest ½ (flip_effect_samples), and per node over all pairs how often each convexity bound is tight
and how often the gradient's sign misleads (flip_effects)."""

from __future__ import annotations

import math

import altair as alt
import polars as pl

from reports import fmt
from reports.sections import Section, missing
from reports.sections.importance import node_order
from reports.vldata import inline

# Points in the scatter: the N pairs through each of the first sampled masks.
SCATTER_POINTS = 3000
SHARES = [
    ("share_lower_tight", "off-end gradient within 10% of the effect"),
    ("share_upper_tight", "on-end gradient within 10% of the effect"),
    ("share_misled", "on-end gradient has the wrong sign"),
]

QUERIES = {
    "pairs": """
        select keep_prob, sample_id, node, effect, grad_off, grad_on from flip_effect_samples
        where run_id = $run and sample_id < $samples order by sample_id, node
    """,
    "effects": "select * from flip_effects where run_id = $run order by node",
    "summary": "select * from flip_effect_summary where run_id = $run",
}


def pairs(ctx) -> pl.DataFrame:
    return ctx.wh.run_frame(QUERIES["pairs"], {"samples": max(1, math.ceil(SCATTER_POINTS / ctx.hidden))})


def scatter_panel(frame: pl.DataFrame, grad: str, title: str, bound: str) -> alt.LayerChart:
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
    label = alt.Chart(inline(pl.DataFrame({"text": [bound]}))).mark_text(
        align="left", baseline="top", dx=4, dy=4, fontSize=11, color="#333").encode(
        x=alt.value(0), y=alt.value(0), text="text:N")
    return alt.layer(dots, diagonal, label).properties(width=330, height=330)


def scatter(ctx) -> alt.HConcatChart:
    """Each (mask, node) pair: the true effect of switching the node on against the mask gradient at the
    off end (a lower bound, by convexity) and at the on end (an upper bound)."""
    frame = pairs(ctx)
    return alt.hconcat(
        scatter_panel(frame, "grad_off", "∂loss/∂on_i with the node off", "effect ≥ gradient: above the line"),
        scatter_panel(frame, "grad_on", "∂loss/∂on_i with the node on", "effect ≤ gradient: below the line"),
        spacing=30,
    ).resolve_scale(color="shared")


def shares(ctx) -> alt.Chart:
    """Per node, over all 2^(N−1) pairs: how often each bound is tight and how often the sign misleads."""
    effects = ctx.wh.run_frame(QUERIES["effects"])
    long = pl.concat([
        effects.select("node", pl.lit(title).alias("share of pairs"), pl.col(column).alias("share"))
        for column, title in SHARES
    ])
    return (
        alt.Chart(inline(long))
        .mark_bar()
        .encode(
            x=alt.X("node:O", sort=node_order(ctx), title="node (most helpful by Shapley value first)",
                    axis=alt.Axis(labelAngle=0, **ctx.node_axis())),
            xOffset=alt.XOffset("share of pairs:N", sort=[t for _, t in SHARES]),
            y=alt.Y("share:Q", title="share of (mask, node) pairs", axis=alt.Axis(format="%")),
            color=alt.Color("share of pairs:N", sort=[t for _, t in SHARES], title=None,
                            scale=alt.Scale(range=["#72b7b2", "#54a24b", "#e45756"]),
                            legend=alt.Legend(orient="bottom", columns=1, labelLimit=400)),
            tooltip=["node:O", "share of pairs:N", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(width=max(300, 40 * ctx.hidden), height=200)
    )


def chart(ctx) -> alt.VConcatChart:
    return alt.vconcat(scatter(ctx), shares(ctx), spacing=24).resolve_scale(color="independent")


def caption(ctx) -> str:
    frame = pairs(ctx)
    s = ctx.wh.run_row(QUERIES["summary"])
    violations = int(s["bound_violations"])
    keep_prob = fmt.probs(frame["keep_prob"].unique())
    if missing(s["min_corr_grad_on"]):  # no node whose effect and gradient both vary over its pairs
        corr = ("Correlation of the true effect with the on-end gradient is not defined for any node: over its "
                "pairs the effect or the gradient never varies")
    else:
        corr = (f"Correlation of the true effect with the on-end gradient "
                f"{fmt.span(s['min_corr_grad_on'], s['max_corr_grad_on'])} per node")
    return (
        f"Each dot is a pair of masks that differ only in node i: the {ctx.hidden} pairs through each of the "
        f"first {frame['sample_id'].n_unique():,} masks sampled at p = {keep_prob}, {frame.height:,} in all. Top: "
        f"the true loss change from switching node i on against ∂loss/∂on_i at the off end (left) and at the on "
        f"end (right); red where the gradient's sign is wrong. The loss is convex in each mask entry, so the "
        f"off-end gradient is a lower bound and the on-end gradient an upper bound: "
        f"{'none' if violations == 0 else f'{violations:,}'} of all {int(s['n_pairs']):,} pairs "
        f"{'breaks' if violations in (0, 1) else 'break'} a bound (beyond float rounding). {corr}; the gradient is within 10% of the effect in {fmt.pct(s['mean_share_lower_tight'])} (off end) "
        f"and {fmt.pct(s['mean_share_upper_tight'])} (on end) of pairs, and the on-end gradient's sign is wrong in "
        f"{fmt.pct(s['mean_share_misled'])} of pairs (bars, per node) — from {fmt.pct(s['least_misled_share'])} for "
        f"{ctx.named(s['least_misled_node'])} to {fmt.pct(s['most_misled_share'])} for {ctx.named(s['most_misled_node'])}."
    )


def section(ctx) -> Section | None:
    if not ctx.has_exhaustive:
        return None
    return Section("gradient-vs-knockout", "The mask gradient against the true effect of a flip", caption(ctx),
                   chart(ctx), nav="gradient")
