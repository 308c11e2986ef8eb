"""F9: how the covariance of log loss with the start (and with the end) decays along the flip paths,
beside the exact curve (flip_path_exact), and the rule that says when a correlation is noise applied
to both sides alike (flip_path_significance, decay_comparison)."""

from __future__ import annotations

import altair as alt
import polars as pl

from reports import dataset, fmt, theme
from reports.sections import Section, missing
from reports.vldata import inline

QUERIES = {
    "decay": "select * from flip_path_decay where run_id = $run order by k",
    "exact": "select k, cov, corr from flip_path_exact where run_id = $run order by k",
    "significance": """
        select k, min_paths, max_paths from flip_path_significance
        where run_id = $run and min_paths is not null order by k
    """,
    "summary": "select * from flip_path_summary where run_id = $run",
    "comparison": "select * from decay_comparison where run_id = $run",
}
FROM_START = "start vs k flips from the start"
FROM_END = "end vs k flips back from the end"
EXACT = "exact: every mask, every set of k flips"
EXACT_COLOUR = "#444444"
STUDY_COLOUR = "#ff7f0e"
LEFT_WIDTH, RIGHT_WIDTH, HEIGHT = 430, 300, 280


def covariance(ctx) -> alt.LayerChart:
    decay = ctx.wh.run_frame(QUERIES["decay"])
    long = pl.concat([
        decay.select("k", pl.col("cov_from_start").alias("cov"), pl.col("corr_from_start").alias("corr"),
                     pl.lit(FROM_START).alias("measured from")),
        decay.select("k", pl.col("cov_from_end").alias("cov"), pl.col("corr_from_end").alias("corr"),
                     pl.lit(FROM_END).alias("measured from")),
    ])
    exact = ctx.wh.run_frame(QUERIES["exact"]).with_columns(
        pl.col("k").cast(pl.Int64), pl.lit(EXACT).alias("measured from"))
    domain = [FROM_START, FROM_END] + ([EXACT] if not exact.is_empty() else [])
    colour = alt.Color(
        "measured from:N",
        scale=alt.Scale(domain=domain, range=[theme.FROM_START_COLOUR, theme.FROM_END_COLOUR, EXACT_COLOUR][:len(domain)]),
        title="covariance of log loss at",
        legend=alt.Legend(orient="bottom", columns=1, labelLimit=400),
    )
    x = alt.X("k:Q", title="number of flips k", axis=alt.Axis(tickMinStep=1), scale=alt.Scale(domain=[0, ctx.hidden]))
    tooltip = ["measured from:N", "k:Q", alt.Tooltip("cov:Q", format=".4f"), alt.Tooltip("corr:Q", format=".3f")]
    sampled = alt.Chart(inline(long)).mark_line(point=alt.OverlayMarkDef(size=24), strokeWidth=1.3).encode(
        x=x, y=alt.Y("cov:Q", title="covariance of log loss"), color=colour, tooltip=tooltip)
    zero = alt.Chart(inline(pl.DataFrame({"y": [0.0]}))).mark_rule(color=theme.FULL_NETWORK_GREY).encode(y="y:Q")
    layers = [zero]
    if not exact.is_empty():
        # drawn first and wide, so the sampled points read against it
        layers.append(alt.Chart(inline(exact.select("k", "cov", "corr", "measured from"))).mark_line(
            strokeWidth=3.5, opacity=0.55).encode(x=x, y="cov:Q", color=colour, tooltip=tooltip))
    return alt.layer(*layers, sampled).properties(width=LEFT_WIDTH, height=HEIGHT)


def noise_rule(ctx, c: dict) -> alt.LayerChart | None:
    """The exact curve's first insignificant k against the number of paths n (|r| < 2/√n), with the study's
    range as a band and this run's n as a rule."""
    steps = ctx.wh.run_frame(QUERIES["significance"])
    if steps.is_empty() or c.get("decay_length_exact") is None:
        return None
    n_paths = int(c["n_paths"])
    low, high = int(steps["min_paths"].min()), max(10 * n_paths, 1000)
    steps = steps.with_columns((pl.col("max_paths") + 1).clip(upper_bound=high).alias("until")).filter(
        pl.col("min_paths") <= high)
    x = alt.X("paths:Q", title="number of paths n (log scale)",
              scale=alt.Scale(type="log", domain=[low, high], nice=False), axis=alt.Axis(format="~s"))
    y = alt.Y("k:Q", title="first k with |exact r| < 2/√n", scale=alt.Scale(domain=[0, int(steps["k"].max()) + 1]),
              axis=alt.Axis(tickMinStep=1))
    stairs = alt.Chart(inline(steps.rename({"min_paths": "paths"}))).mark_rule(
        color=EXACT_COLOUR, strokeWidth=3).encode(
        x=x, x2="until:Q", y=y,
        tooltip=["k:Q", alt.Tooltip("paths:Q", title="from n"), alt.Tooltip("max_paths:Q", title="to n")])
    band = alt.Chart(inline(pl.DataFrame({"low": [c["study_low"] - 0.35], "high": [c["study_high"] + 0.35],
                                          "label": [f"the study: {c['study_low']}–{c['study_high']}"]})))
    study = [band.mark_rect(color=STUDY_COLOUR, opacity=0.18).encode(y="low:Q", y2="high:Q"),
             band.mark_text(align="left", dx=4, dy=-4, color=STUDY_COLOUR, fontSize=11, baseline="bottom").encode(
                 x=alt.value(0), y="high:Q", text="label:N")] if dataset.is_study_setting(ctx) else []
    curves, title = ["sampled curve", "exact curve"], f"first k with |r| < 2/√{n_paths}"
    marks = pl.DataFrame({
        "paths": [float(n_paths), float(n_paths)],
        "k": [c["decay_length_sampled"], c["decay_length_exact"]],
        "curve": curves,
    }).drop_nulls("k")
    here = alt.Chart(inline(pl.DataFrame({"paths": [float(n_paths)], "label": [f"this run: {n_paths:,} paths"]})))
    this_run = [here.mark_rule(color=theme.FULL_NETWORK_GREY, strokeDash=[3, 3]).encode(x="paths:Q"),
                here.mark_text(align="right", dx=-4, dy=4, baseline="top", color=theme.FULL_NETWORK_GREY,
                               fontSize=11).encode(x="paths:Q", y=alt.value(0), text="label:N")]
    # one legend for shape and colour: the same field and title merge them
    dots = alt.Chart(inline(marks)).mark_point(filled=True, opacity=0.9).encode(
        x="paths:Q", y="k:Q",
        # the sampled dot larger, so an exact diamond on the same k shows inside it
        size=alt.condition(alt.datum.curve == curves[0], alt.value(190), alt.value(60)),
        shape=alt.Shape("curve:N", scale=alt.Scale(domain=curves, range=["circle", "diamond"]), title=title,
                        legend=alt.Legend(orient="bottom")),
        color=alt.Color("curve:N", scale=alt.Scale(domain=curves, range=[theme.FROM_START_COLOUR, EXACT_COLOUR]),
                        title=title, legend=alt.Legend(orient="bottom")),
        tooltip=["curve:N", "k:Q"])
    return alt.layer(*study, stairs, *this_run, dots).properties(width=RIGHT_WIDTH, height=HEIGHT)


def chart(ctx) -> alt.HConcatChart | alt.LayerChart:
    right = noise_rule(ctx, ctx.wh.run_row(QUERIES["comparison"]))
    left = covariance(ctx)
    return alt.hconcat(left, right, spacing=40).resolve_scale(color="independent", shape="independent") \
        if right is not None else left


def rule_text(ctx, s: dict, c: dict) -> str:
    """The noise rule, applied to the sampled curve, the exact curve and the study's number alike."""
    n = s["n_paths"]
    noise = "|r| < 2/√n, n the number of paths (two standard errors of a zero correlation)"
    sampled = (f"first at k = {s['decay_length']}" if s["decay_length"] is not None
               else "not at all: with one path there is no sample correlation" if n < 2 else "never")
    if c.get("decay_length_exact") is None:
        return (f" One rule says when a correlation is noise: {noise}. With this run's n = {n:,} "
                f"(2/√{n} = {fmt.fixed(s['noise_level'])}) the correlation with the start falls within it "
                f"{sampled}.")
    study = f"{c['study_low']}–{c['study_high']}"
    needed = ("min_paths_study", "min_paths_study_low", "max_paths_study_low", "min_paths_study_high",
              "max_paths_study_high", "max_paths_study")
    if not dataset.is_study_setting(ctx):  # the study's number is about its circle's network
        implied = ""
    elif all(c.get(key) is not None for key in needed):
        implied = (
            f"The study saw {study}: under the same rule the exact curve gives {c['study_low']} with "
            f"{c['min_paths_study_low']:,}–{c['max_paths_study_low']:,} paths and {c['study_high']} with "
            f"{c['min_paths_study_high']:,}–{c['max_paths_study_high']:,} (a cut-off |r| between "
            f"{fmt.fixed(c['cut_off_study_low'], 2)} and {fmt.fixed(c['cut_off_study_high'], 2)}); the exact "
            f"correlation is {fmt.fixed(c['corr_exact_study_low'], 2)} at k = {c['study_low']} and "
            f"{fmt.fixed(c['corr_exact_study_high'], 2)} at k = {c['study_high']}, far outside the noise of "
            f"{n:,} paths. So the study's {study} implies it drew about {c['min_paths_study']:,}–"
            f"{c['max_paths_study']:,} paths (or judged by a looser cut-off): it measures the study's sample "
            f"size, not a faster decay."
        )
    else:
        implied = f"The study saw {study}; no number of paths makes the exact curve's first insignificant k {study}."
    return (
        f" One rule says when a correlation is noise, on every side: {noise}. With this run's n = {n:,} "
        f"(2/√{n} = {fmt.fixed(s['noise_level'])}) the sampled correlation with the start falls within it "
        f"{sampled}, the exact one at k = {c['decay_length_exact']}. {implied + ' ' if implied else ''}Right: the "
        f"exact curve's first "
        f"insignificant k for every n."
    )


def caption(ctx) -> str:
    s = ctx.wh.run_row(QUERIES["summary"])
    c = ctx.wh.run_row(QUERIES["comparison"])
    corr = s["complement_corr"]
    good = not missing(corr) and corr > s["noise_level"]
    exact = (" The thick grey line is the exact covariance over every starting mask and every set of k flips, "
             "which both sampled curves estimate." if c.get("decay_length_exact") is not None else "")
    if missing(s["max_start_end_gap"]):  # sample covariances divide by n − 1
        sampled = (f"over {fmt.plural(s['n_paths'], 'sampled path')}, too few for a sample covariance (it needs "
                   f"two paths), so both are not defined.")
    else:
        sampled = (f"over {fmt.plural(s['n_paths'], 'sampled path')}; path reversal makes them equal in "
                   f"distribution, and they differ by at most {fmt.fixed(s['max_start_end_gap'])}.")
    if missing(corr):
        meets = (f"At k = {ctx.hidden} the mask meets its complement; their correlation over the sampled paths is "
                 f"not defined ({'one path' if s['n_paths'] < 2 else 'no spread in log loss'}).")
    else:
        meets = (f"At k = {ctx.hidden} the mask meets its complement with correlation {fmt.signed(corr, 3)}"
                 f"{' — a good pruned network tends to have a good complement' if good else ''}.")
    return (
        f"{'Left: c' if exact else 'C'}ovariance of log loss at the start with log loss k flips on (turquoise), "
        f"and at the end with k "
        f"flips back (pink), {sampled}{exact} {meets}"
        + rule_text(ctx, s, c)
    )


def section(ctx) -> Section:
    return Section("f9", "F9 How fast the covariance decays, and the complement", caption(ctx), chart(ctx))
