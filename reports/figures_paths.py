"""F8–F9: covariance of log loss along flip paths (start mask → its complement, one flip a step)."""

from __future__ import annotations

import math

import altair as alt
import polars as pl

from reports import theme
from reports.data import ReportData
from reports.vldata import inline


def noise_level(n_paths: int) -> float:
    """|correlation| below 2/√n is within the ±2 standard errors of zero for n independent paths."""
    return 2.0 / math.sqrt(n_paths) if n_paths > 0 else float("nan")


def first_insignificant_step(data: ReportData) -> int | None:
    """The first k where corr(start, step k) falls within noise of zero (the study: ~5–6 flips)."""
    level = noise_level(data.n_paths)
    small = data.flip_decay.filter(pl.col("corr_from_start").abs() < level)
    return int(small["k"].min()) if len(small) else None


def covariance_map(data: ReportData) -> alt.Chart:
    """F8: the (N+1)×(N+1) covariance of log loss between steps i and j of a flip path."""
    return (
        alt.Chart(inline(data.flip_cov.select("i", "j", "cov", "corr"), significant=4))
        .mark_rect()
        .encode(
            x=alt.X("j:O", title="step j along the path (flips from the start)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("i:O", title="step i along the path"),
            color=alt.Color("cov:Q", title="covariance of log loss", scale=alt.Scale(scheme="viridis")),
            tooltip=["i:O", "j:O", alt.Tooltip("cov:Q", format=".4f"), alt.Tooltip("corr:Q", format=".3f")],
        )
        .properties(width=380, height=380)
    )


def decay_curves(data: ReportData) -> alt.LayerChart:
    """F9: cov(start, k flips on) in turquoise and cov(end, k flips back) in pink."""
    long = pl.concat(
        [
            data.flip_decay.select("k", pl.col("cov_from_start").alias("cov"), pl.col("corr_from_start").alias("corr"))
            .with_columns(pl.lit("start vs k flips from the start").alias("measured from")),
            data.flip_decay.select("k", pl.col("cov_from_end").alias("cov"), pl.col("corr_from_end").alias("corr"))
            .with_columns(pl.lit("end vs k flips back from the end").alias("measured from")),
        ]
    )
    colour = alt.Color(
        "measured from:N",
        scale=alt.Scale(
            domain=["start vs k flips from the start", "end vs k flips back from the end"],
            range=[theme.FROM_START_COLOUR, theme.FROM_END_COLOUR],
        ),
        title="covariance of log loss at",
    )
    lines = (
        alt.Chart(inline(long))
        .mark_line(point=True, strokeWidth=1.6)
        .encode(
            x=alt.X("k:Q", title="number of flips k", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("cov:Q", title="covariance of log loss"),
            color=colour,
            tooltip=["measured from:N", "k:Q", alt.Tooltip("cov:Q", format=".4f"), alt.Tooltip("corr:Q", format=".3f")],
        )
        .properties(width=theme.WIDE, height=theme.TALL)
    )
    zero = alt.Chart(inline(pl.DataFrame({"y": [0.0]}))).mark_rule(color=theme.FULL_NETWORK_GREY).encode(y="y:Q")
    return alt.layer(zero, lines)
