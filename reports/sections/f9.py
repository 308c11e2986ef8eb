"""F9: how the covariance of log loss with the start (and with the end) decays along the flip paths."""

from __future__ import annotations

import altair as alt
import polars as pl

from reports import fmt, theme
from reports.sections import Section
from reports.vldata import inline

QUERIES = {
    "decay": "select * from flip_path_decay where run_id = $run order by k",
    "summary": "select * from flip_path_summary where run_id = $run",
}
FROM_START = "start vs k flips from the start"
FROM_END = "end vs k flips back from the end"


def chart(ctx) -> alt.LayerChart:
    decay = ctx.wh.run_frame(QUERIES["decay"])
    long = pl.concat([
        decay.select("k", pl.col("cov_from_start").alias("cov"), pl.col("corr_from_start").alias("corr"),
                     pl.lit(FROM_START).alias("measured from")),
        decay.select("k", pl.col("cov_from_end").alias("cov"), pl.col("corr_from_end").alias("corr"),
                     pl.lit(FROM_END).alias("measured from")),
    ])
    colour = alt.Color(
        "measured from:N",
        scale=alt.Scale(domain=[FROM_START, FROM_END], range=[theme.FROM_START_COLOUR, theme.FROM_END_COLOUR]),
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


def caption(ctx) -> str:
    s = ctx.wh.run_row(QUERIES["summary"])
    noise = f"|r| < 2/√{s['n_paths']} = {fmt.fixed(s['noise_level'])}"  # a formula: no thousands comma
    decay = (f"the correlation first falls within noise ({noise}) after {fmt.plural(s['decay_length'], 'flip')}"
             if s["decay_length"] is not None else f"the correlation never falls within noise ({noise})")
    corr = s["complement_corr"]
    good = corr is not None and corr > s["noise_level"]
    return (
        f"Covariance of log loss at the start with log loss k flips on (turquoise), and at the end with k flips "
        f"back (pink); path reversal makes them equal in distribution, and they differ by at most "
        f"{fmt.fixed(s['max_start_end_gap'])}. From the start {decay}; at k = {ctx.hidden} the mask meets its "
        f"complement with correlation {fmt.signed(corr, 3)}"
        f"{' — a good pruned network tends to have a good complement' if good else ''}."
    )


def section(ctx) -> Section:
    return Section("f9", "F9 How fast the covariance decays, and the complement", caption(ctx), chart(ctx))
