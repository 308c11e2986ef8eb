"""Exact vs sampled: E[loss] and E[log loss] over every p (exact_moments) with the sampled means on
them, and T3, the sampled means and standard deviations beside the exact ones (sampled_vs_exact)."""

from __future__ import annotations

import altair as alt
import polars as pl

from reports import fmt, theme
from reports.sections import Section, missing
from reports.tables import table, titled
from reports.vldata import inline

PANEL_WIDTH, PANEL_HEIGHT = 380, 250

QUERIES = {
    "moments": "select * from exact_moments where run_id = $run order by keep_prob",
    "compared": "select * from sampled_vs_exact where run_id = $run order by keep_prob",
    "summary": "select * from expected_loss_summary where run_id = $run",
}


def panel(ctx, name: str, title: str) -> alt.LayerChart:
    moments = ctx.wh.run_frame(QUERIES["moments"])
    compared = ctx.wh.run_frame(QUERIES["compared"])
    curve = moments.select(
        "keep_prob",
        pl.col(f"mean_{name}").alias("mean"),
        (pl.col(f"mean_{name}") - pl.col(f"std_{name}")).alias("low"),
        (pl.col(f"mean_{name}") + pl.col(f"std_{name}")).alias("high"),
    )
    points = compared.select(
        "keep_prob",
        pl.col(f"mean_{name}_sampled").alias("mean"),
        # ± 2 standard errors of a mean of n independent masks
        (pl.col(f"mean_{name}_sampled") - 2 * pl.col(f"std_{name}_sampled") / pl.col("n").sqrt()).alias("low"),
        (pl.col(f"mean_{name}_sampled") + 2 * pl.col(f"std_{name}_sampled") / pl.col("n").sqrt()).alias("high"),
    ).with_columns(pl.col("keep_prob").map_elements(theme.p_label, return_dtype=pl.String).alias("p"))
    x = alt.X("keep_prob:Q", title="p, each node kept with probability", scale=alt.Scale(domain=[0, 1]))
    base = alt.Chart(inline(curve)).encode(x=x)
    band = base.mark_area(opacity=0.15, color=theme.FULL_NETWORK_GREY).encode(
        y=alt.Y("low:Q", title=title, scale=alt.Scale(zero=False)), y2="high:Q")
    line = base.mark_line(color="#333", strokeWidth=1.6).encode(
        y="mean:Q", tooltip=[alt.Tooltip("keep_prob:Q", format=".2f"), alt.Tooltip("mean:Q", format=".4f")]
    )
    dots = alt.Chart(inline(points)).encode(x=x, color=ctx.p_colour(orient="bottom"))
    bars = dots.mark_rule(strokeWidth=2).encode(y="low:Q", y2="high:Q")
    marks = dots.mark_point(filled=True, size=60, opacity=1).encode(
        y="mean:Q", tooltip=["p:N", alt.Tooltip("mean:Q", format=".4f")]
    )
    return alt.layer(band, line, bars, marks).properties(width=PANEL_WIDTH, height=PANEL_HEIGHT)


def chart(ctx) -> alt.HConcatChart:
    """E[loss] and E[log loss] over p (line, ± one standard deviation shaded), sampled means as dots."""
    return alt.hconcat(panel(ctx, "loss", "E[loss]"), panel(ctx, "log_loss", "E[log loss]"), spacing=30)


def z_text(values: list) -> str:
    """The gaps in standard errors per p; a standard error needs two sampled masks whose values differ."""
    if all(missing(v) for v in values):
        return "not defined at any p (one mask per p, or masks that all lose alike, have no standard error)"
    return fmt.join("not defined" if missing(v) else fmt.signed(v, 1) for v in values)


def caption(ctx) -> str:
    compared = ctx.wh.run_frame(QUERIES["compared"])
    s = ctx.wh.run_row(QUERIES["summary"])
    z, zl = z_text(compared["z_mean_loss"].to_list()), z_text(compared["z_mean_log_loss"].to_list())
    peak = (
        f"More neurons are not always better: on the exact grid of p, E[loss] is highest at p = "
        f"{fmt.prob(s['peak_keep_prob'])} ({fmt.fixed(s['peak_mean_loss'])}), above the {fmt.fixed(s['empty_loss'])} "
        f"of the empty network (output biases only)."
        if s["peak_mean_loss"] > s["empty_loss"] else
        f"On the exact grid of p, E[loss] is highest at p = {fmt.prob(s['peak_keep_prob'])} "
        f"({fmt.fixed(s['peak_mean_loss'])}); the empty network (output biases only) loses "
        f"{fmt.fixed(s['empty_loss'])}."
    )
    pinned = (f"{s['n_masks']:,} masks pin the mean loss down to about ±{fmt.fixed(s['mean_loss_two_se'])} (the "
              f"error bars are hardly wider than the dots)" if not missing(s["mean_loss_two_se"]) else
              f"how closely {fmt.plural(s['n_masks'], 'mask')} pin the mean loss down is not defined (a standard "
              f"error needs two masks whose loss differs)")
    return (
        f"The exact expected loss and log loss when each node is kept with probability p (line; the band is "
        f"± one standard deviation of the distribution over masks), with the sampled means (dots, ± 2 standard "
        f"errors). Sampled minus exact mean loss, in standard errors: {z}; log loss: {zl} "
        f"(p = {fmt.probs(compared['keep_prob'])}). Within 2 standard errors of the exact mean: the sampled mean "
        f"loss at {s['n_within_two_se']} of the {s['n_keep_probs']} keep probabilities, the sampled mean log loss "
        f"at {s['n_within_two_se_log_loss']} of {s['n_keep_probs']}; the largest gap in mean loss is "
        f"{fmt.fixed(s['largest_mean_loss_gap'], 4)}: {pinned}. {peak}"
    )


def t3(ctx):
    rows = [
        [fmt.prob(r["keep_prob"]), r["n"], fmt.num(r["mean_loss_sampled"]), fmt.num(r["mean_loss_exact"]),
         fmt.num(r["z_mean_loss"], 2, sign=True), fmt.num(r["std_loss_sampled"]), fmt.num(r["std_loss_exact"]),
         fmt.num(r["mean_log_loss_sampled"]), fmt.num(r["mean_log_loss_exact"]),
         fmt.num(r["z_mean_log_loss"], 2, sign=True), fmt.num(r["mean_grad_sampled"]), fmt.num(r["mean_grad_exact"])]
        for r in ctx.wh.run_frame(QUERIES["compared"]).iter_rows(named=True)
    ]
    columns = ["p", "masks", "mean loss, sampled", "exact", "z", "std loss, sampled", "exact",
               "mean log loss, sampled", "exact", "z", "mean ∂loss/∂on_i, sampled", "exact"]
    return table(columns, rows, table_id="t3", numeric=range(12))


def section(ctx) -> Section | None:
    if not ctx.has_exhaustive:
        return None
    return Section("exact-means", "Exact vs sampled: expected loss and log loss at every p", caption(ctx), chart(ctx),
                   after=titled("T3 Sampled vs exact, per keep probability", t3(ctx)), nav="E[loss]")
