"""Exact vs sampled: the study's densities (F2–F4) beside the exact ones over all 2^N masks, and the
exact E[loss] and E[log loss] as curves over p with the sampled means on them."""

from __future__ import annotations

import altair as alt
import numpy as np
import polars as pl

from reports import theme
from reports.data import ReportData
from reports.density import density_grid, density_table, gaussian_density
from reports.exact_data import ExactData
from reports.vldata import inline

# The exact curve is drawn where all but this share of the probability lies (a heavy tail of
# masks with a chance of 1e-12 would otherwise stretch the axis).
TAIL_MASS = 1e-4
PANEL = 300
SAMPLED = "sampled masks (the study's)"
EXACT = "all masks, exact"


def exact_curve(exact: ExactData, quantity: str, keep_prob: float, width: float) -> pl.DataFrame:
    """The exact density of `quantity` at p: every histogram row weighs n · p^k (1−p)^(N−k)."""
    rows = (
        exact.histogram.filter(pl.col("quantity") == quantity)
        .with_columns((pl.col("n") * exact.probability_weights(keep_prob)).alias("w"))
        .filter(pl.col("w") > 0)
        .sort("mean_value")
    )
    values = rows["mean_value"].to_numpy().astype(np.float64)
    weights = rows["w"].to_numpy().astype(np.float64)
    share = np.cumsum(weights) / weights.sum()
    lo = values[np.searchsorted(share, TAIL_MASS)]
    hi = values[min(np.searchsorted(share, 1 - TAIL_MASS), len(values) - 1)]
    span = np.array([lo, hi])
    grid = density_grid(span, width)
    return pl.DataFrame({"x": grid, "density": gaussian_density(values, width, grid, weights=weights)})


def _sampled_values(data: ReportData, quantity: str) -> pl.DataFrame:
    source = data.node_grads if quantity == "grad" else data.samples
    return source.select("keep_prob", pl.col(quantity).alias("value"))


def density_frame(data: ReportData, exact: ExactData, quantity: str, width: float) -> pl.DataFrame:
    sampled = density_table(_sampled_values(data, quantity), "value", ["keep_prob"], width)
    parts = [sampled.with_columns(pl.lit(SAMPLED).alias("source"))]
    for p in data.keep_probs:
        parts.append(exact_curve(exact, quantity, p, width).with_columns(
            pl.lit(p).alias("keep_prob"), pl.lit(EXACT).alias("source")))
    frame = pl.concat([part.select("keep_prob", "x", "density", "source") for part in parts])
    return frame.with_columns(pl.col("keep_prob").map_elements(theme.p_label, return_dtype=pl.String).alias("p"))


def _density_panel(frame: pl.DataFrame, data: ReportData, x_title: str) -> alt.LayerChart:
    dash = alt.StrokeDash(
        "source:N", title=None,
        scale=alt.Scale(domain=[SAMPLED, EXACT], range=[[1, 0], [5, 3]]),
        legend=alt.Legend(orient="bottom", symbolStrokeWidth=2, symbolSize=300, labelLimit=300),
    )
    base = alt.Chart(inline(frame.drop("keep_prob"), significant=4)).encode(
        x=alt.X("x:Q", title=x_title, scale=alt.Scale(zero=False, nice=False)),
        y=alt.Y("density:Q", title=theme.DENSITY),
        color=theme.p_colour(data.keep_probs).legend(orient="bottom"),
        strokeDash=dash,
    )
    # the exact curve a little heavier, so the dashes read against the sample's wiggles
    layers = [
        base.transform_filter(alt.datum.source == source).mark_line(strokeWidth=stroke)
        for source, stroke in ((SAMPLED, 1.3), (EXACT, 2.2))
    ]
    return alt.layer(*layers).properties(width=PANEL, height=230)


def exact_densities(data: ReportData, exact: ExactData, width: float) -> alt.HConcatChart:
    """F2, F3, F4 again: each study curve (solid) beside the exact density at its p (dashed)."""
    titles = {"loss": theme.LOSS, "log_loss": theme.LOG_LOSS, "grad": theme.GRAD}
    panels = [_density_panel(density_frame(data, exact, q, width), data, titles[q]) for q in titles]
    return alt.hconcat(*panels, spacing=18).resolve_scale(color="shared", strokeDash="shared")


def _expectation_panel(moments: pl.DataFrame, sampled: pl.DataFrame, data: ReportData, name: str,
                       title: str) -> alt.LayerChart:
    curve = moments.select(
        "keep_prob",
        pl.col(f"mean_{name}").alias("mean"),
        (pl.col(f"mean_{name}") - pl.col(f"std_{name}")).alias("low"),
        (pl.col(f"mean_{name}") + pl.col(f"std_{name}")).alias("high"),
    )
    points = sampled.select(
        "keep_prob",
        pl.col(f"mean_{name}_sampled").alias("mean"),
        # ± 2 standard errors of a mean of n independent masks
        (pl.col(f"mean_{name}_sampled") - 2 * pl.col(f"std_{name}_sampled") / pl.col("n").sqrt()).alias("low"),
        (pl.col(f"mean_{name}_sampled") + 2 * pl.col(f"std_{name}_sampled") / pl.col("n").sqrt()).alias("high"),
    ).with_columns(pl.col("keep_prob").map_elements(theme.p_label, return_dtype=pl.String).alias("p"))
    x = alt.X("keep_prob:Q", title="p, each node kept with probability", scale=alt.Scale(domain=[0, 1]))
    base = alt.Chart(inline(curve)).encode(x=x)
    band = base.mark_area(opacity=0.15, color=theme.FULL_NETWORK_GREY).encode(y=alt.Y("low:Q", title=title), y2="high:Q")
    line = base.mark_line(color="#333", strokeWidth=1.6).encode(
        y="mean:Q", tooltip=[alt.Tooltip("keep_prob:Q", format=".2f"), alt.Tooltip("mean:Q", format=".4f")]
    )
    dots = alt.Chart(inline(points)).encode(x=x, color=theme.p_colour(data.keep_probs).legend(orient="bottom"))
    bars = dots.mark_rule(strokeWidth=2).encode(y="low:Q", y2="high:Q")
    marks = dots.mark_point(filled=True, size=60, opacity=1).encode(
        y="mean:Q", tooltip=["p:N", alt.Tooltip("mean:Q", format=".4f")]
    )
    return alt.layer(band, line, bars, marks).properties(width=420, height=250)


def expectation_curves(data: ReportData, exact: ExactData) -> alt.HConcatChart:
    """E[loss] and E[log loss] over p (line, ± one standard deviation shaded), sampled means as dots."""
    return alt.hconcat(
        _expectation_panel(exact.moments, exact.sampled_vs_exact, data, "loss", "E[loss]"),
        _expectation_panel(exact.moments, exact.sampled_vs_exact, data, "log_loss", "E[log loss]"),
        spacing=30,
    )

