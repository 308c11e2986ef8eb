"""F8: the covariance of log loss between steps i and j of the flip paths, over the sampled paths and
exactly (flip_path_exact: over every mask and every set of |i − j| flips)."""

from __future__ import annotations

import altair as alt
import polars as pl

from reports import fmt
from reports.sections import Section, missing
from reports.vldata import inline

SAMPLED = "sampled paths"
EXACT = "exact: every mask, every set of |i − j| flips"
PANEL = 300  # two panels and the colour legend fit a 1024 px window

QUERIES = {
    "cov": "select i, j, cov, corr from flip_path_cov where run_id = $run order by i, j",
    # steps i and j of a path are a uniform random mask and the mask |i − j| random flips away
    "exact": """
        select s.k as i, t.k as j, e.cov, e.corr
        from flip_path_exact as s
        join flip_path_exact as t using (run_id)
        join flip_path_exact as e on e.run_id = s.run_id and e.k = abs(s.k - t.k)
        where s.run_id = $run
        order by i, j
    """,
    "summary": "select * from flip_path_summary where run_id = $run",
    "exact_complement": "select cov as complement_cov from flip_path_exact where run_id = $run and k = $k",
}


def chart(ctx) -> alt.FacetChart:
    sampled = ctx.wh.run_frame(QUERIES["cov"]).with_columns(pl.lit(SAMPLED).alias("panel"))
    frames = [sampled]
    exact = ctx.wh.run_frame(QUERIES["exact"])
    if not exact.is_empty():
        frames.append(exact.select([pl.col(c).cast(sampled.schema[c]) for c in sampled.columns[:-1]])
                      .with_columns(pl.lit(EXACT).alias("panel")))
    n_paths = ctx.wh.run_row(QUERIES["summary"]).get("n_paths")
    titles = {SAMPLED: f"{n_paths:,} sampled paths" if n_paths else SAMPLED, EXACT: EXACT}
    frame = pl.concat(frames).with_columns(pl.col("panel").replace_strict(titles))
    return (
        alt.Chart(inline(frame, significant=4))
        .mark_rect()
        .encode(
            x=alt.X("j:O", title="step j along the path (flips from the start)",
                    axis=alt.Axis(labelAngle=0, labelFontSize=9)),
            y=alt.Y("i:O", title="step i along the path", axis=alt.Axis(labelFontSize=9)),
            color=alt.Color("cov:Q", title="covariance of log loss", scale=alt.Scale(scheme="viridis")),
            tooltip=["panel:N", "i:O", "j:O", alt.Tooltip("cov:Q", format=".4f"), alt.Tooltip("corr:Q", format=".3f")],
        )
        .properties(width=PANEL, height=PANEL)
        .facet(column=alt.Column("panel:N", title=None, sort=[titles[SAMPLED], titles[EXACT]],
                                 header=alt.Header(labelFontSize=12)), spacing=16)
    )


def caption(ctx) -> str:
    s = ctx.wh.run_row(QUERIES["summary"])
    e = ctx.wh.run_row(QUERIES["exact_complement"], {"k": ctx.hidden})
    exact = (f" Right: the same covariance exactly, over every starting mask and every set of |i − j| flips — it "
             f"depends on |i − j| alone, so the sampled matrix is this one plus noise; the exact complement "
             f"covariance is {fmt.fixed(e['complement_cov'])}." if e else "")
    if missing(s["mean_variance"]):  # a sample covariance divides by n − 1
        sampled = (f"With {fmt.plural(s['n_paths'], 'path')} the sample covariance is not defined (it needs at "
                   f"least two paths), so the left matrix stays empty.")
    else:
        sampled = (f"The diagonal is the variance (mean {fmt.fixed(s['mean_variance'])}); covariance fades away "
                   f"from it, but the corners (a mask against its complement) keep "
                   f"{fmt.fixed(s['complement_cov'])}.")
    return (
        f"{'Left: c' if exact else 'C'}ovariance of log loss between steps i and j of {fmt.plural(s['n_paths'], 'flip path')}: each "
        f"starts at a random mask (every node on or off with equal chance), flips the {ctx.hidden} nodes once "
        f"each in random order, and ends at the complement. {sampled}{exact}"
    )


def section(ctx) -> Section:
    return Section("f8", "F8 Covariance of log loss along flip paths", caption(ctx), chart(ctx))
