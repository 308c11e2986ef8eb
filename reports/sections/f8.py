"""F8: the covariance of log loss between steps i and j of the flip paths."""

from __future__ import annotations

import altair as alt

from reports import fmt
from reports.sections import Section
from reports.vldata import inline

QUERIES = {
    "cov": "select i, j, cov, corr from flip_path_cov where run_id = $run order by i, j",
    "summary": "select * from flip_path_summary where run_id = $run",
}


def chart(ctx) -> alt.Chart:
    return (
        alt.Chart(inline(ctx.wh.run_frame(QUERIES["cov"]), significant=4))
        .mark_rect()
        .encode(
            x=alt.X("j:O", title="step j along the path (flips from the start)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("i:O", title="step i along the path"),
            color=alt.Color("cov:Q", title="covariance of log loss", scale=alt.Scale(scheme="viridis")),
            tooltip=["i:O", "j:O", alt.Tooltip("cov:Q", format=".4f"), alt.Tooltip("corr:Q", format=".3f")],
        )
        .properties(width=380, height=380)
    )


def caption(ctx) -> str:
    s = ctx.wh.run_row(QUERIES["summary"])
    return (
        f"Covariance of log loss between steps i and j of {s['n_paths']:,} flip paths: each starts at a random "
        f"mask (every node on or off with equal chance), flips the {ctx.hidden} nodes once each in random order, "
        f"and ends at the complement. The diagonal is the variance (mean {fmt.fixed(s['mean_variance'])}); "
        f"covariance fades away from it, but the corners (a mask against its complement) keep "
        f"{fmt.fixed(s['complement_cov'])}."
    )


def section(ctx) -> Section:
    return Section("f8", "F8 Covariance of log loss along flip paths", caption(ctx), chart(ctx))
